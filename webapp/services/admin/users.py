"""Users: create, change password, look up. Each operation takes the acting Subject."""

import secrets
from collections.abc import Iterable, Sequence

from peewee import IntegrityError

from webapp.clock import now_ms
from webapp.errors import DomainError, NotFound, ValidationFailed
from webapp.model import Role, User, UserRole
from webapp.model.db import database
from webapp.security import limits, privileges
from webapp.security.descriptors.roles import ROLE_NAME_MAX_LENGTH
from webapp.security.passwords import PasswordError, check_password_rules, hash_password
from webapp.security.permissions import Permission
from webapp.security.subject import Subject
from webapp.services.access.authentication import basic_cache, check_password, role_descriptors_for
from webapp.services.access.rights import require
from webapp.services.audit import trail as audit

RESERVED_USERNAMES = {"elastic", "kibana", "kibana_system", "logstash_system", "beats_system",
                      "apm_system", "remote_monitoring_user", "_system", "_xpack", "_async_search"}
USERNAME_RULE = (
    "Validation Failed: 1: Usernames must be at least 1 and no more than 507 characters. They can contain "
    "alphanumeric characters (a-z, A-Z, 0-9), spaces, punctuation, and printable symbols in the Basic "
    "Latin (ASCII) block. Leading or trailing whitespace is not allowed.;"
)


def username_problem(username: object) -> str | None:
    """ES's message when `username` breaks the naming rule, else None."""
    if (not isinstance(username, str) or not 1 <= len(username) <= 507
            or username != username.strip()
            or any(not (32 <= ord(c) <= 126) for c in username)):
        return USERNAME_RULE.removeprefix("Validation Failed: 1: ").removesuffix(";")
    return None


PASSWORD_REALMS = ("reserved", "native")



def unknown_roles(role_names: list[str]) -> list[str]:
    """The names among `role_names` that no role has, in their order."""
    existing = Role.existing_names(role_names)
    return [name for name in role_names if name not in existing]


PROFILE_MAX_LENGTH = 1024  # the full_name and email columns


def profile_problems(full_name: str | None = None, email: str | None = None) -> dict[str, str]:
    """{field: message} for a full name or email the user table can't hold."""
    problems = {}
    for name, value in (("full_name", full_name), ("email", email)):
        if value is not None and (not isinstance(value, str) or len(value) > PROFILE_MAX_LENGTH):
            problems[name] = f"{name} must be a string of at most {PROFILE_MAX_LENGTH} characters"
    return problems


def roles_problem(roles: list[str]) -> str | None:
    """The message when a user can't hold these roles (too many, or a name no role can have), else None."""
    names = list(dict.fromkeys(roles))
    if (too_many := limits.roles_count_problem(len(names))):
        return too_many
    if any(len(name) > ROLE_NAME_MAX_LENGTH for name in names):
        return f"role names may not be more than {ROLE_NAME_MAX_LENGTH} characters long"
    return None


def _first_generation():
    # A fresh user starts at a random generation, so a session or cached credential of a deleted user
    # whose row id the database hands out again can't match the new user.
    return secrets.randbelow(2**30) + 1


def new_user_problems(username: str, password: str, full_name: str | None = None, email: str | None = None,
                      roles: Sequence[str] = ()) -> dict[str, str]:
    """{field: ES's message} for every reason a native user can't be created with these values."""
    fields = {}
    if message := username_problem(username):
        fields["username"] = message
    elif username in RESERVED_USERNAMES:
        fields["username"] = f"Username [{username}] is reserved and may not be used."
    elif User.by_username(username, "native"):
        fields["username"] = f"user [{username}] already exists"
    try:
        check_password_rules(password)
    except PasswordError as error:
        fields["password"] = str(error)
    fields.update(profile_problems(full_name, email))
    if (problem := roles_problem(roles)):
        fields["roles"] = problem
    return fields


def create_native_user(subject: Subject, username: str, password: str, roles: Sequence[str] = (),
                       full_name: str | None = None, email: str | None = None, enabled: bool = True) -> User:
    """Create a native user and return it."""
    require(subject, privileges.USER_PUT)
    fields = new_user_problems(username, password, full_name, email, roles)
    if fields:
        raise ValidationFailed(list(fields.values()), fields=fields)
    exists = f"user [{username}] already exists"
    now = now_ms()
    try:
        with database.atomic():
            user = User.create(username=username, realm="native", full_name=full_name, email=email,
                               enabled=enabled, password_hash=hash_password(password), metadata={},
                               generation=_first_generation(), created=now, updated=now)
            for role_name in dict.fromkeys(roles):
                UserRole.create(user=user, role_name=role_name)
            audit.record(subject, "user.create", target_type="user", target_id=f"{username}@native",
                         after={"username": username, "roles": list(roles), "full_name": full_name,
                                "email": email, "enabled": enabled})
    except IntegrityError as error:  # a concurrent request created the same user first
        raise ValidationFailed([exists], fields={"username": exists}) from error
    return user


def find_user(username: str, realm: str | None = None) -> User:
    """The user by name (in `realm`, else reserved, then native, then proxy); NotFound if none."""
    query = User.select().where(User.username == username)
    if realm:
        query = query.where(User.realm == realm)
    order = {"reserved": 0, "native": 1, "proxy": 2}
    users = sorted(query, key=lambda u: order.get(u.realm, 3))
    if not users:
        raise NotFound(f"user [{username}] not found")
    return users[0]


def set_password(subject: Subject, username: str, password: str, realm: str | None = None) -> None:
    """Change a reserved/native user's password; ends their sessions and cached credentials."""
    # An API key acts for its owner but may not change the owner's password on its own (as in ES). The
    # privilege is checked before the lookup, so an unprivileged caller can't probe which users exist.
    if subject.is_api_key or username != subject.username:
        require(subject, privileges.USER_CHANGE_PASSWORD)
    user = find_user(username, realm)
    if not subject.owns(user.username, user.realm):
        require(subject, privileges.USER_CHANGE_PASSWORD)
    if user.realm not in ("reserved", "native"):
        raise ValidationFailed([f"user [{username}] has no password in realm [{user.realm}]"])
    try:
        check_password_rules(password)
    except PasswordError as error:
        raise ValidationFailed([str(error)]) from error
    with database.atomic():
        User.update(password_hash=hash_password(password), generation=User.generation + 1,
                    updated=now_ms()).where(User.id == user.id).execute()
        audit.record(subject, "user.password", target_type="user", target_id=user.owner)
    basic_cache.clear()
    return user


def user_to_json(user: User, roles: Sequence[str]) -> dict:
    """A user as GET /_security/user returns it."""
    return {"username": user.username, "roles": list(roles), "full_name": user.full_name,
            "email": user.email, "metadata": user.metadata or {}, "enabled": user.enabled}


def roles_by_user(users: Iterable[User]) -> dict[int, list[str]]:
    """{user id: [role names]} for several users in one query, in the order they were given (as ES keeps them)."""
    found = {user.id: [] for user in users}
    if found:
        for link in UserRole.select().where(UserRole.user.in_(list(found))).order_by(UserRole.id):
            found[link.user_id].append(link.role_name)
    return found


def get_users(subject: Subject, names: list[str] | None = None) -> dict[str, dict]:
    """{username: user json} of reserved and native users (all when `names` is None)."""
    require(subject, privileges.USER_GET)
    query = User.select().where(User.realm.in_(PASSWORD_REALMS)).order_by(User.username)
    if names:
        query = query.where(User.username.in_(list(names)))
    users = list(query)
    roles = roles_by_user(users)
    return {user.username: user_to_json(user, roles[user.id]) for user in users}


def _metadata_problem(metadata):
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        return "metadata must be an object"
    if any(str(k).startswith("_") for k in metadata):
        return "metadata keys may not start with [_]"
    return limits.metadata_size_problem(metadata, "user metadata")


def would_lose_manage_security(subject: Subject, user: User, new_roles: Iterable[str]) -> bool:
    """True when giving `user` the roles `new_roles` takes `manage_security` away from the actor themself."""
    if not subject.owns(user.username, user.realm):
        return False
    return subject.may("manage_security") and not Permission.of_roles(role_descriptors_for(new_roles)).check_cluster(
        "manage_security")


class SelfLockout(DomainError):
    """The change would remove the actor's own access to security administration; needs confirmation."""


def _guard_self(subject, user, confirmed, **change):
    if would_lose_manage_security(subject, user, **change) and not confirmed:
        raise SelfLockout("This change removes your own manage_security privilege; confirm to go ahead.")


def put_user(subject: Subject, username: str, *, password: str | None = None, roles: list[str] | None = None,
             full_name: str | None = None, email: str | None = None, metadata: dict | None = None,
             enabled: bool | None = None, confirmed: bool = False) -> bool:
    """Create or update a native user as PUT /_security/user does; returns True when created."""
    require(subject, privileges.USER_PUT)
    existing = User.get_or_none((User.username == username) & (User.realm.in_(PASSWORD_REALMS)))
    if existing is not None and existing.realm == "reserved":
        raise DomainError(f"user [{username}] is reserved and only the password can be changed")
    problems = []
    if existing is None and password is None:
        problems.append("password must be specified unless you are updating an existing user")
    if roles is None and existing is None:
        problems.append("roles are missing")
    if (message := _metadata_problem(metadata)):
        problems.append(message)
    profile = profile_problems(full_name, email)
    if roles is not None and (problem := roles_problem(roles)):
        profile["roles"] = problem
    problems += profile.values()
    if problems:
        raise ValidationFailed(problems, fields=profile)
    if existing is None:
        create_native_user(subject, username, password, roles or [], full_name=full_name, email=email,
                           enabled=True if enabled is None else enabled)
        if metadata:
            User.update(metadata=metadata).where((User.username == username) & (User.realm == "native")).execute()
        return True
    if password is not None:
        try:
            check_password_rules(password)
        except PasswordError as error:
            raise ValidationFailed([str(error)]) from error
    if enabled is False and subject.owns(existing.username, existing.realm):
        raise DomainError("users may not update the enabled status of their own account")
    if roles is not None:
        _guard_self(subject, existing, confirmed, new_roles=roles)
    before = user_to_json(existing, roles_by_user([existing])[existing.id])
    changes = {"updated": now_ms()}
    if full_name is not None:
        changes["full_name"] = full_name
    if email is not None:
        changes["email"] = email
    if metadata is not None:
        changes["metadata"] = metadata
    if password is not None:
        changes["password_hash"] = hash_password(password)
    if enabled is not None:
        changes["enabled"] = enabled
    if password is not None or enabled is False:
        changes["generation"] = User.generation + 1
    with database.atomic():
        User.update(**changes).where(User.id == existing.id).execute()
        if roles is not None:
            UserRole.delete().where(UserRole.user == existing).execute()
            for role_name in dict.fromkeys(roles):
                UserRole.create(user=existing, role_name=role_name)
        after_user = User.get_by_id(existing.id)
        audit.record(subject, "user.update", target_type="user", target_id=existing.owner, before=before,
                     after=user_to_json(after_user, roles_by_user([after_user])[existing.id]))
    if password is not None or enabled is False:
        basic_cache.clear()
    return False


def set_enabled(subject: Subject, username: str, enabled: bool, realm: str | None = None) -> None:
    """Enable or disable a native user; disabling ends their sessions and stops their keys at once."""
    require(subject, privileges.USER_SET_ENABLED)
    user = find_user(username, realm)
    if user.realm == "reserved" and not enabled:
        raise DomainError(f"user [{username}] is reserved and cannot be disabled")
    if subject.owns(user.username, user.realm) and not enabled:
        raise DomainError("users may not update the enabled status of their own account")
    if user.enabled == enabled:
        return user
    with database.atomic():
        update = {"enabled": enabled, "updated": now_ms()}
        if not enabled:
            update["generation"] = User.generation + 1
        User.update(**update).where(User.id == user.id).execute()
        audit.record(subject, "user.enable" if enabled else "user.disable", target_type="user",
                     target_id=user.owner, before={"enabled": user.enabled}, after={"enabled": enabled})
    basic_cache.clear()
    return User.get_by_id(user.id)


def delete_user(subject: Subject, username: str, realm: str | None = None) -> bool:
    """Delete a native (or proxy) user; returns whether one existed. Their keys stop authenticating."""
    require(subject, privileges.USER_DELETE)
    user = User.by_username(username, realm or "native")
    if user is None:
        reserved = User.by_username(username, "reserved")
        if reserved is not None:
            raise DomainError(f"user [{username}] is reserved and cannot be deleted")
        return False
    if user.realm == "reserved":
        raise DomainError(f"user [{username}] is reserved and cannot be deleted")
    if subject.owns(user.username, user.realm):
        raise DomainError("users may not delete their own account")
    with database.atomic():
        before = user_to_json(user, roles_by_user([user])[user.id])
        user.delete_instance(recursive=True)
        audit.record(subject, "user.delete", target_type="user", target_id=user.owner, before=before)
    basic_cache.clear()
    return True


def change_own_password(subject: Subject, current_password: str, new_password: str) -> None:
    """The account page's password change: the current password is required."""
    if subject.is_api_key or subject.realm not in PASSWORD_REALMS:
        raise DomainError("only reserved and native users have a password here")
    if check_password(subject.username, current_password) is None:
        raise ValidationFailed(["the current password is not correct"],
                               fields={"current_password": "The current password is not correct."})
    return set_password(subject, subject.username, new_password, realm=subject.realm)
