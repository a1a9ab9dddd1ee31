"""The Subject that command-line operations act as (audited as `keydesk-cli`)."""

from webapp.security.permissions import Permission
from webapp.security.subject import Subject

SUPERUSER_DESCRIPTOR = {"cli": {"cluster": ["all"], "indices": [], "applications": [], "run_as": []}}


def system_subject(name: str = "keydesk-cli") -> Subject:
    return Subject(username=name, realm="cli", realm_type="cli", roles=("superuser",),
                   permission=Permission.of_roles(SUPERUSER_DESCRIPTOR), via="cli")
