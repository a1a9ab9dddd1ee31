"""init-db's seeding of role mappings from KEYDESK_PROXY_GROUP_ROLES (`group=role1+role2;other=role3`)."""

from webapp.services.access.proxy_users import parse_group_roles
from webapp.services.admin.role_mappings import seed_from_group_roles


def seed_group_mappings(text: str | None) -> list[str]:
    """One mapping per group, named after it, unless a mapping of that name exists; the names created."""
    return seed_from_group_roles(parse_group_roles(text))
