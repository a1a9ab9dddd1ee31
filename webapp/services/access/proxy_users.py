"""The proxy realm: users asserted by a trusted reverse proxy, provisioned on first sight."""

from collections.abc import Iterable

from webapp.clock import now_ms
from webapp.model import MappedRoles, User, UserRole
from webapp.model.db import database
from webapp.security.subject import Subject
from webapp.services.access.authentication import role_names_of, subject_for_user
from webapp.services.admin.users import username_problem
from webapp.services.audit import trail as audit

PROXY_REALM = "proxy"


def parse_group_roles(text: str | None) -> dict[str, list[str]]:
    """`group=role1+role2;other=role3` → {"group": ["role1", "role2"], "other": ["role3"]}."""
    mapping = {}
    for part in (text or "").split(";"):
        group, _, roles = part.partition("=")
        if group.strip() and roles.strip():
            mapping[group.strip()] = [r.strip() for r in roles.split("+") if r.strip()]
    return mapping


def roles_for(default_roles: Iterable[str], groups: Iterable[str], group_roles: dict[str, list[str]]) -> list[str]:
    """Default roles plus the roles mapped from each group the proxy sent, without duplicates, sorted."""
    roles = set(default_roles)
    for group in groups:
        roles.update(group_roles.get(group, ()))
    return sorted(roles)


def record_untrusted_header(username: str, address: str | None, header: str) -> None:
    """Audit a user header that came from an address not trusted to assert identities."""
    audit.record(None, "proxy.untrusted_header", target_type="user", target_id=username[:200], outcome="failure",
                 address=address, detail=f"{header} header from an untrusted address")


def proxy_subject(username: str, roles: list[str], address: str | None = None,
                  sources: dict[str, list[str]] | None = None) -> Subject | None:
    """The Subject for a proxy-asserted user; creates the user, or brings its roles up to date. `sources`
    ({role: [where it came from]}, services/access/proxy_roles.py) is kept for the users page.

    Returns None when the name is unusable or the user was disabled by an administrator.
    """
    if username_problem(username):
        return None
    user = User.by_username(username, PROXY_REALM)
    if user is None:
        now = now_ms()
        with database.atomic():
            user = User.create(username=username, realm=PROXY_REALM, enabled=True, metadata={},
                               created=now, updated=now)
            _set_roles(user, roles)
            audit.record(None, "user.provision", target_type="user", target_id=f"{username}@{PROXY_REALM}",
                         after={"roles": roles}, address=address)
    elif not user.enabled:
        return None
    elif list(role_names_of(user)) != list(roles):
        with database.atomic():
            UserRole.delete().where(UserRole.user == user).execute()
            _set_roles(user, roles)
    if sources is not None:
        _record_sources(user, sources)
    return subject_for_user(user, "proxy", address)


def _record_sources(user, sources):
    row = MappedRoles.get_or_none(MappedRoles.user_id == user.id)
    if row is None or row.sources != sources:
        MappedRoles.insert(user_id=user.id, sources=sources).on_conflict(
            conflict_target=[MappedRoles.user_id], update={MappedRoles.sources: sources}).execute()


def _set_roles(user, roles):
    if roles:
        UserRole.insert_many([{"user": user.id, "role_name": r} for r in roles]).execute()
