"""Grant API key: a caller holding `grant_api_key` creates a key on behalf of another user, who proves it with
their password (Elasticsearch's `POST /_security/api_key/grant`).

The key belongs to the granted user (their realm) and is limited by their roles, exactly as if they had
created it; the audit row names the granter as the actor. The password is checked by the same code as a
sign-in or a Basic header (`authentication.check_password`: bcrypt, same cost for unknown users), after the
web layer's throttling of password failures has had its say (`before_password_check`).
"""

from collections.abc import Callable
from dataclasses import dataclass

from webapp.clock import now_ms
from webapp.errors import Unauthorized, ValidationFailed
from webapp.model.db import database
from webapp.security import privileges
from webapp.security.subject import VIA_BASIC, Subject
from webapp.services.access.authentication import (
    authentication_failed,
    check_password,
    find_password_user,
    subject_for_user,
)
from webapp.services.access.rights import require
from webapp.services.api_keys import checks
from webapp.services.api_keys.commands import CreatedKey, audit_view, store_new_key
from webapp.services.audit import trail as audit

PASSWORD_GRANT = "password"
ACCESS_TOKEN_GRANT = "access_token"
NO_TOKENS = ("grant_type [access_token] is not supported: Keydesk has no token service, so there are no access "
             "tokens to grant with; use grant_type [password]")


@dataclass(frozen=True)
class Grant:
    """Who the key is for, as the request says (nothing checked yet)."""

    grant_type: object = None
    username: object = None
    password: object = None
    access_token: object = None
    run_as: object = None
    client_authentication: object = None


def _given(value) -> bool:
    return value is not None and value != ""


def grant_problems(grant: Grant) -> list[str]:
    """Elasticsearch's validation messages for the grant part of the request, in its order."""
    kind = grant.grant_type
    if kind is None:
        return ["[grant_type] is required"]
    if kind == PASSWORD_GRANT:
        problems = [f"[{name}] is required for grant_type [{kind}]"
                    for name, value in (("username", grant.username), ("password", grant.password))
                    if not _given(value)]
        if _given(grant.access_token):
            problems.append(f"[access_token] is not supported for grant_type [{kind}]")
        if grant.client_authentication is not None:
            problems.append(f"[client_authentication] is not supported for grant_type [{kind}]")
        return problems
    if kind == ACCESS_TOKEN_GRANT:
        return [NO_TOKENS]
    return [f"grant_type [{kind}] is not supported"]


def grant_api_key(subject: Subject, grant: Grant, *, name: object, role_descriptors: object = None,
                  expiration: str | None = None, metadata: object = None,
                  before_password_check: Callable[[str], None] | None = None) -> CreatedKey:
    """Create a REST key owned by the user `grant` authenticates (or whom they run as); returns CreatedKey.

    Order: API keys enabled, the caller's privilege, the request's problems (the key's first, then the
    grant's, as ES lists them), role descriptors and expiry; only then the password (401 when it doesn't
    authenticate an enabled user), then run-as (403 unless the granted user may run as that user).
    """
    checks.ensure_enabled()
    require(subject, privileges.API_KEY_GRANT)
    problems = checks.name_problems(name) + checks.metadata_problems(metadata) + grant_problems(grant)
    if problems:
        raise ValidationFailed(problems)
    descriptors = checks.descriptors(role_descriptors)
    now = now_ms()
    expires = checks.expiration_ms(expiration, now)
    owner = _authenticate(grant, subject.address, before_password_check)
    if _given(grant.run_as):
        owner = _run_as(owner, grant.run_as)
    with database.atomic():
        created, key = store_new_key(owner, name=name, key_type="rest", descriptors=descriptors,
                                     limited_by=checks.owner_snapshot(owner), access=None, metadata=metadata,
                                     creation=now, expiration=expires)
        audit.record(subject, "api_key.grant", target_type="api_key", target_id=key.id, after=audit_view(key),
                     detail=f"granted for {owner.display}", address=subject.address)
    return created


def _authenticate(grant: Grant, address: str | None, before_password_check) -> Subject:
    """The Subject of the user whose password the grant carries; 401 as Elasticsearch answers otherwise."""
    username, password = grant.username, grant.password
    if before_password_check is not None:
        before_password_check(username)
    user = check_password(username, password)
    if user is None:
        raise authentication_failed(
            f"unable to authenticate user [{username}] for action [{privileges.API_KEY_GRANT}]")
    return subject_for_user(user, VIA_BASIC, address)


def _run_as(authenticated: Subject, target: str) -> Subject:
    """The user `authenticated` runs as: their roles must allow it and the user must exist and be enabled.
    Elasticsearch answers a refused run-as and an unknown user alike (403 on the authenticate action)."""
    user = find_password_user(target) if authenticated.permission.check_run_as(target) else None
    if user is None or not user.enabled:
        raise Unauthorized(
            f"action [{privileges.USER_AUTHENTICATE}] is unauthorized for user [{authenticated.username}] with "
            f"effective roles [{','.join(sorted(authenticated.roles))}], because user "
            f"[{authenticated.username}] is unauthorized to run as [{target}]")
    return subject_for_user(user, VIA_BASIC, authenticated.address)
