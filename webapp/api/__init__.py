"""The JSON API that speaks Elasticsearch's security API (/_security/..., /_license, and the cluster-level
/_xpack, /_cluster/health and `/` for clients: see api.cluster).

The routes live in the modules below and register on the blueprint (api.blueprint) as they are imported.
"""

from webapp.api import (  # noqa: F401  (routes register on bp)
    application_privileges,
    cluster,
    keydesk,
    keydesk_limits,
    keydesk_notices,
    keydesk_usage,
    keys,
    license,
    off_route,
    privileges,
    queries,
    role_mappings,
    roles,
    roles_bulk,
    security,
    users,
)
from webapp.api.blueprint import PRODUCT_HEADER, bp

__all__ = ["PRODUCT_HEADER", "bp"]
