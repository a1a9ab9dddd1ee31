"""First-run set-up: schema, the reserved roles, and the reserved superuser `elastic`."""

import secrets

from webapp.clock import now_ms
from webapp.model import Role, User, UserRole
from webapp.model.db import database
from webapp.security.builtin_roles import BUILTIN_ROLES
from webapp.security.passwords import check_password_rules, hash_password
from webapp.services.schema.upgrade import upgrade_schema

SUPERUSER = "elastic"


def install_builtin_roles() -> None:
    """Insert the reserved roles, or bring their definitions up to date; user roles are not touched."""
    now = now_ms()
    for name, descriptor in BUILTIN_ROLES.items():
        existing = Role.by_name(name)
        if existing is None:
            Role.create(name=name, descriptor=descriptor, reserved=True, created=now, updated=now)
        elif existing.descriptor != descriptor or not existing.reserved:
            existing.descriptor, existing.reserved, existing.updated = descriptor, True, now
            existing.save()


def initialise(bootstrap_password: str | None = None) -> str | None:
    """Idempotent set-up. Returns the generated `elastic` password when one was made, else None."""
    upgrade_schema()
    generated = None
    with database.atomic():
        install_builtin_roles()
        if User.by_username(SUPERUSER, "reserved") is None:
            password = bootstrap_password
            if password:
                check_password_rules(password)
            else:
                password = generated = secrets.token_urlsafe(15)
            now = now_ms()
            user = User.create(
                username=SUPERUSER,
                realm="reserved",
                full_name="Built-in superuser",
                enabled=True,
                password_hash=hash_password(password),
                metadata={"_reserved": True},
                created=now,
                updated=now,
            )
            UserRole.create(user=user, role_name="superuser")
    return generated
