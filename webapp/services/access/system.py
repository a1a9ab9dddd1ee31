"""The Subject that command-line operations act as (audited as `keydesk-cli`), and the installation's identity."""

import base64
import uuid

from webapp.model import User
from webapp.security.permissions import Permission
from webapp.security.subject import Subject

SUPERUSER_DESCRIPTOR = {"cli": {"cluster": ["all"], "indices": [], "applications": [], "run_as": []}}


def system_subject(name: str = "keydesk-cli") -> Subject:
    return Subject(username=name, realm="cli", realm_type="cli", roles=("superuser",),
                   permission=Permission.of_roles(SUPERUSER_DESCRIPTOR), via="cli")


def installation_uuid() -> str:
    """The installation's UUID in Elasticsearch's form (22 URL-safe base64 characters; `GET /` reports it as
    `cluster_uuid`). Derived from when `init-db` created the `elastic` superuser, so every instance and restart
    agree without storing anything."""
    elastic = User.by_username("elastic", "reserved")
    seed = elastic.created if elastic is not None else 0
    raw = uuid.uuid5(uuid.NAMESPACE_URL, f"keydesk:cluster:{seed}").bytes
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
