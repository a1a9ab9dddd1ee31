"""The JSON API that speaks Elasticsearch's security API (/_security/..., /_license).

The routes live in the modules below and register on the blueprint (api.blueprint) as they are imported.
"""

from webapp.api import keys, license, privileges, roles, security, users  # noqa: F401  (routes register on bp)
from webapp.api.blueprint import PRODUCT_HEADER, bp

__all__ = ["PRODUCT_HEADER", "bp"]
