"""The roles of a proxy-realm user: KEYDESK_PROXY_DEFAULT_ROLES plus what the enabled role mappings give the
user's name and groups (realm name `proxy`), recomputed at every request so a changed mapping counts at once,
on every instance."""

from collections.abc import Iterable

from webapp.model import MappedRoles
from webapp.security.subject import Subject
from webapp.services.access.proxy_users import PROXY_REALM, proxy_subject
from webapp.services.admin.role_mappings import mapped_roles

DEFAULT_SOURCE = "default"
MAPPING_SOURCE = "mapping:"


def role_sources(username: str, groups: Iterable[str], default_roles: Iterable[str]) -> dict[str, list[str]]:
    """{role: [sources]} sorted by role: `default`, then `mapping:<name>` for each mapping giving it."""
    sources: dict[str, list[str]] = {role: [DEFAULT_SOURCE] for role in default_roles}
    for role, names in mapped_roles(username, PROXY_REALM, groups).items():
        sources.setdefault(role, []).extend(MAPPING_SOURCE + name for name in names)
    return dict(sorted(sources.items()))


def mapped_proxy_subject(username: str, groups: Iterable[str], default_roles: Iterable[str],
                         address: str | None = None) -> Subject | None:
    """proxy_subject with the roles the defaults and the role mappings give the user."""
    username = username.strip()
    sources = role_sources(username, [group for group in groups if group], default_roles)
    return proxy_subject(username, list(sources), address, sources)


def effective_roles(user_id: int, realm: str, roles: Iterable[str]) -> list[tuple[str, list[str]]]:
    """[(role, [where it came from, in words])] for the users page: a proxy user's roles name the role
    mappings (or the default-roles setting) that gave them at the user's last request; others are assigned."""
    sources = {}
    if realm == PROXY_REALM:
        row = MappedRoles.get_or_none(MappedRoles.user_id == user_id)
        sources = row.sources if row is not None else {}
    shown = []
    for role in roles:
        words = [f"via role mapping {source[len(MAPPING_SOURCE):]}" if source.startswith(MAPPING_SOURCE)
                 else "default proxy role (KEYDESK_PROXY_DEFAULT_ROLES)" for source in sources.get(role, ())]
        shown.append((role, words or ["assigned"]))
    return shown
