"""What the users pages need beyond the user API: a searchable list with keyset paging, the forms' own
checks (password confirmation, email shape), and what deleting or disabling a user would stop."""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from peewee import Tuple

from webapp.clock import now_ms
from webapp.errors import DomainError, NotFound, ValidationFailed
from webapp.model import ApiKey, User, UserRole
from webapp.security import privileges
from webapp.security.passwords import PasswordError, check_password_rules
from webapp.security.subject import Subject
from webapp.services.access.proxy_roles import effective_roles
from webapp.services.access.rights import require
from webapp.services.admin import roles_page, users

PAGE_SIZES = (25, 50, 100)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
PASSWORDS_DIFFER = "The two passwords don't match."
EMAIL_PROBLEM = "Enter an email address such as alice@example.com, or leave it empty."



@dataclass(frozen=True)
class UserRow:
    """A user with the names of the roles they hold."""

    user: object
    roles: list


@dataclass(frozen=True)
class UserPage:
    rows: list
    total: int
    size: int
    next_after: int | None
    first_page: bool
    can_manage: bool = False  # the actor may create, change and delete users


def user_page(subject: Subject, *, search: str = "", role: str = "", after: int | None = None,
              size: int = 25) -> "UserPage":
    """One page of users (every realm) ordered by username and realm; keyset paging continues after the user
    with id `after`, so a page deep in a long list costs what the first one does."""
    require(subject, privileges.USER_GET)
    size = size if size in PAGE_SIZES else PAGE_SIZES[0]
    query = User.select()
    search = (search or "").strip()[:200]
    if search:
        query = query.where(User.username.contains(search) | User.full_name.contains(search)
                            | User.email.contains(search))
    if role:
        query = query.where(User.id.in_(UserRole.select(UserRole.user).where(UserRole.role_name == role[:507])))
    total = query.count()
    if after is not None and 0 < after < 2**63:
        last = User.select(User.username, User.realm).where(User.id == after).first()
        if last is not None:  # a row-value comparison walks the unique (username, realm) index
            query = query.where(Tuple(User.username, User.realm) > Tuple(last.username, last.realm))
    found = list(query.order_by(User.username, User.realm).limit(size + 1))
    more = len(found) > size
    found = found[:size]
    roles = users.roles_by_user(found)
    return UserPage(rows=[UserRow(user, roles[user.id]) for user in found], total=total, size=size,
                    next_after=found[-1].id if more else None, first_page=after is None,
                    can_manage=subject.may_any(*privileges.MANAGE_SECURITY))


@dataclass(frozen=True)
class UserDetail:
    """One user as the user page shows it, and what the actor may do to them."""

    user: object
    roles: list
    active_keys: int
    is_self: bool
    can_manage: bool = False  # the actor may change this page's user (profile, status, password, delete)
    role_sources: tuple = ()  # (role, [where it came from]) each: assigned, or via a role mapping (proxy realm)

    @property
    def editable(self) -> bool:
        """Name, email and roles can be changed (native users only)."""
        return self.user.realm == "native"

    @property
    def has_password(self) -> bool:
        return self.user.realm in users.PASSWORD_REALMS

    @property
    def protected(self) -> bool:
        """Can't be disabled or deleted: the reserved user, or the actor's own account."""
        return self.user.realm == "reserved" or self.is_self


def find(username: str, realm: str) -> User:
    """The user with this username in this realm; NotFound otherwise."""
    user = User.get_or_none((User.username == (username or "")) & (User.realm == (realm or "")))
    if user is None:
        raise NotFound(f"user [{username}] not found")
    return user


def user_detail(subject: Subject, username: str, realm: str) -> "UserDetail":
    """A user, their roles, and how many of their API keys are active; NotFound when there is none."""
    require(subject, privileges.USER_GET)
    user = find(username, realm)
    now = now_ms()
    active = ApiKey.select().where(
        (ApiKey.owner_username == user.username) & (ApiKey.owner_realm == user.realm)
        & (ApiKey.invalidated == False)  # noqa: E712 (SQL)
        & (ApiKey.expiration.is_null() | (ApiKey.expiration > now))).count()
    roles = users.roles_by_user([user])[user.id]
    return UserDetail(user=user, roles=roles, active_keys=active,
                      is_self=subject.owns(user.username, user.realm),
                      can_manage=subject.may_any(*privileges.MANAGE_SECURITY),
                      role_sources=tuple(effective_roles(user.id, user.realm, roles)))


@dataclass(frozen=True)
class UserForm:
    """The create or edit form of a user: the user (None while creating) and the roles to choose from."""

    detail: UserDetail | None
    role_choices: list[tuple[str, bool]]  # (name, reserved) of every role


def user_form(subject: Subject, username: str | None = None, realm: str = "") -> UserForm:
    """The form for a new user (no `username`) or for an existing one (NotFound when there is none)."""
    detail = user_detail(subject, username, realm) if username is not None else None
    return UserForm(detail=detail, role_choices=roles_page.role_names(subject))


def _form_problems(*, password=None, confirm_password=None, email=None):
    fields = {}
    if password is not None and password != confirm_password:
        fields["confirm_password"] = PASSWORDS_DIFFER
    if email and not _EMAIL.match(email):
        fields["email"] = EMAIL_PROBLEM
    return fields


def create_user(subject: Subject, *, username: str, password: str, confirm_password: str, full_name: str = "",
                email: str = "", roles: Sequence[str] = ()) -> User:
    """Create a native user from the "Create user" form; ValidationFailed names every field at fault."""
    require(subject, privileges.USER_PUT)
    fields = users.new_user_problems(username, password, full_name or None, email or None, roles)
    fields.update(_form_problems(password=password, confirm_password=confirm_password, email=email))
    if fields:
        raise ValidationFailed(list(fields.values()), fields=fields)
    return users.create_native_user(subject, username, password, list(roles), full_name=full_name or None,
                                    email=email or None)


def update_user(subject: Subject, username: str, realm: str, *, full_name: str = "", email: str = "",
                roles: Sequence[str] = (), confirmed: bool = False) -> User:
    """Change a native user's name, email and roles; SelfLockout when the actor would lose manage_security."""
    require(subject, privileges.USER_PUT)
    user = find(username, realm)
    if user.realm == "reserved":
        raise DomainError(f"user [{username}] is reserved and only the password can be changed")
    if user.realm != "native":
        raise DomainError(f"user [{username}] signs in through the [{user.realm}] realm, which supplies their "
                          "roles; only enabling, disabling and deleting apply here")
    fields = _form_problems(email=email)
    if fields:
        raise ValidationFailed(list(fields.values()), fields=fields)
    users.put_user(subject, username, roles=list(roles), full_name=full_name, email=email, confirmed=confirmed)
    return find(username, realm)


def reset_password(subject: Subject, username: str, realm: str, password: str, confirm_password: str) -> None:
    """Set a user's password (ending their sessions); ValidationFailed beside the field at fault."""
    require(subject, privileges.USER_CHANGE_PASSWORD)
    user = find(username, realm)
    fields = _form_problems(password=password, confirm_password=confirm_password)
    try:
        check_password_rules(password)
    except PasswordError as error:
        fields = {"password": str(error), **fields}
    if fields:
        raise ValidationFailed(list(fields.values()), fields=fields)
    return users.set_password(subject, user.username, password, realm=user.realm)


def change_own_password(subject: Subject, current_password: str, password: str, confirm_password: str) -> User:
    """The account page's "Change password": current password, new one twice."""
    fields = _form_problems(password=password, confirm_password=confirm_password)
    if fields:
        raise ValidationFailed(list(fields.values()), fields=fields)
    try:
        return users.change_own_password(subject, current_password, password)
    except ValidationFailed as error:
        if error.fields:
            raise
        raise ValidationFailed(error.messages, fields={"password": " ".join(error.messages)}) from error


def set_enabled(subject: Subject, username: str, realm: str, enabled: bool) -> None:
    """Enable or disable a user; disabling ends their sessions and stops their API keys at once."""
    require(subject, privileges.USER_SET_ENABLED)
    user = find(username, realm)
    return users.set_enabled(subject, user.username, enabled, realm=user.realm)


def deletion_preview(subject: Subject, username: str, realm: str) -> "UserDetail":
    """The user about to be deleted, with their active key count; DomainError when they can't be deleted."""
    require(subject, privileges.USER_DELETE)
    detail = user_detail(subject, username, realm)
    if detail.user.realm == "reserved":
        raise DomainError(f"user [{username}] is reserved and cannot be deleted")
    if detail.is_self:
        raise DomainError("users may not delete their own account")
    return detail


def delete_user(subject: Subject, username: str, realm: str) -> bool:
    """Delete a user; their sessions end and their API keys stop authenticating."""
    require(subject, privileges.USER_DELETE)
    user = find(username, realm)
    return users.delete_user(subject, user.username, realm=user.realm)
