"""The API's blueprint and what every answer gets: media-type checks and Elasticsearch's product header."""

from flask import Blueprint

from webapp.api import negotiation

bp = Blueprint("api", __name__)

# The official Elasticsearch clients refuse any answer that lacks this header.
PRODUCT_HEADER = ("X-Elastic-Product", "Elasticsearch")


@bp.before_request
def _check_media_types():
    negotiation.check_request()


@bp.after_request
def _product_header(response):
    response.headers.add(*PRODUCT_HEADER)
    return negotiation.shape_response(response)
