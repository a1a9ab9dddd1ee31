"""The JSON API that speaks Elasticsearch's security API (/_security/..., /_license)."""

from flask import Blueprint

bp = Blueprint("api", __name__)

# The official Elasticsearch clients refuse any answer that lacks this header.
PRODUCT_HEADER = ("X-Elastic-Product", "Elasticsearch")


@bp.after_request
def _product_header(response):
    response.headers[PRODUCT_HEADER[0]] = PRODUCT_HEADER[1]
    return response


from webapp.api import security  # noqa: E402,F401  (routes register themselves on bp)
