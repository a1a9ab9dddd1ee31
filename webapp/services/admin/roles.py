"""Roles: read, create or replace, delete. Reserved roles are read-only. Each write takes the acting Subject."""

from collections.abc import Iterable, Mapping

from peewee import IntegrityError, fn

from webapp.clock import now_ms
from webapp.errors import Conflict, DomainError, NotFound, ValidationFailed, from_descriptor_error
from webapp.model import Role, UserRole
from webapp.model.db import database
from webapp.security import privileges
from webapp.security.descriptors.roles import DescriptorError, parse_role_descriptor, validate_role_name
from webapp.security.subject import Subject
from webapp.services.access.rights import require
from webapp.services.audit import trail as audit


def get_roles(subject: Subject, names: list[str] | None = None) -> dict[str, dict]:
    """{name: descriptor} for `names` (all roles when None), sorted by name; unknown names are left out."""
    require(subject, privileges.ROLE_GET)
    query = Role.select(Role.name, Role.descriptor).order_by(Role.name)
    if names:
        query = query.where(Role.name.in_(list(names)))
    return {row.name: row.descriptor for row in query}


def get_role(subject: Subject, name: str) -> dict:
    """One role's descriptor; NotFound when there is none by that name."""
    roles = get_roles(subject, [name])
    if name not in roles:
        raise NotFound(f"role [{name}] not found")
    return roles[name]


def users_holding(role_names: Iterable[str]) -> dict[str, int]:
    """{role name: number of users holding it}."""
    rows = (UserRole.select(UserRole.role_name, fn.COUNT(UserRole.id).alias("n"))
            .where(UserRole.role_name.in_(list(role_names))).group_by(UserRole.role_name))
    return {row.role_name: row.n for row in rows}


def parse_role(name: str, body: object) -> dict:
    """Validate a role name and descriptor with ES's messages; returns the canonical descriptor."""
    try:
        validate_role_name(name)
        return parse_role_descriptor(name, body)
    except DescriptorError as error:
        if error.type == "action_request_validation_exception":
            raise ValidationFailed([error.reason.removeprefix("Validation Failed: 1: ").rstrip(";")],
                                   fields={error.field or "name": error.reason}) from error
        raise from_descriptor_error(error) from error


def put_role(subject: Subject, name: str, body: object, *, create_only: bool = False) -> bool:
    """Create or replace a role; returns True when it was created. Reserved roles can't be changed.

    With `create_only` an existing role is left alone and Conflict is raised (the editor's "Create role").
    """
    require(subject, privileges.ROLE_PUT)
    return _put_role(subject, name, body, create_only=create_only) == CREATED


# What a put did to a role (the bulk API reports each role under one of these).
CREATED, UPDATED, NOOP = "created", "updated", "noop"


def _put_role(subject, name, body, *, create_only=False, skip_unchanged=False):
    descriptor = parse_role(name, body)
    now = now_ms()
    try:
        return _store_role(subject, name, descriptor, now, create_only, skip_unchanged)
    except IntegrityError as error:  # created by a concurrent request between our read and our insert
        raise Conflict(f"Role [{name}] already exists and cannot be created.", field="name") from error


def _store_role(subject, name, descriptor, now, create_only, skip_unchanged=False):
    with database.atomic():
        existing = Role.by_name(name)
        if existing is not None and existing.reserved:
            raise DomainError(f"Role [{name}] is reserved and may not be used.", field="name")
        if existing is not None and create_only:
            raise Conflict(f"Role [{name}] already exists and cannot be created.", field="name")
        if existing is not None and skip_unchanged and existing.descriptor == descriptor:
            return NOOP
        if existing is None:
            Role.create(name=name, descriptor=descriptor, reserved=False, created=now, updated=now)
        else:
            before = existing.descriptor
            existing.descriptor, existing.updated = descriptor, now
            existing.save()
        audit.record(subject, "role.create" if existing is None else "role.update", target_type="role",
                     target_id=name, before=None if existing is None else before, after=descriptor)
    return CREATED if existing is None else UPDATED


def put_roles(subject: Subject, roles: Mapping[str, object]) -> dict[str, str | DomainError]:
    """Create or replace each role of {name: descriptor} on its own, as the single put does (one failing
    leaves the others done); {name: CREATED | UPDATED | NOOP, or the DomainError that refused it}. A role whose
    descriptor is unchanged is left alone (NOOP: no write, no audit row)."""
    require(subject, privileges.ROLE_BULK_PUT)
    outcomes = {}
    for name, body in roles.items():
        try:
            outcomes[name] = _put_role(subject, name, body, skip_unchanged=True)
        except DomainError as error:
            outcomes[name] = error
    return outcomes


def delete_roles(subject: Subject, names: Iterable[str]) -> dict[str, bool | DomainError]:
    """Delete each named role on its own, as the single delete does; {name: existed, or the DomainError that
    refused it (a reserved role)}."""
    require(subject, privileges.ROLE_BULK_DELETE)
    outcomes = {}
    for name in dict.fromkeys(names):  # a name given twice is deleted once
        try:
            outcomes[name] = _delete_role(subject, name)
        except DomainError as error:
            outcomes[name] = error
    return outcomes


def delete_role(subject: Subject, name: str) -> bool:
    """Delete a role; returns whether it existed. Users keep the name (it then grants nothing), keys keep
    their snapshot, as in Elasticsearch."""
    require(subject, privileges.ROLE_DELETE)
    return _delete_role(subject, name)


def _delete_role(subject, name):
    with database.atomic():
        role = Role.by_name(name)
        if role is None:
            return False
        if role.reserved:
            raise DomainError(f"role [{name}] is reserved and cannot be deleted")
        role.delete_instance()
        audit.record(subject, "role.delete", target_type="role", target_id=name, before=role.descriptor)
    return True
