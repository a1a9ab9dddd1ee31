"""The API's blueprint and what every answer gets: media-type checks and Elasticsearch's product header."""

from flask import Blueprint, request

from webapp.api import negotiation
from webapp.web.root import elasticsearch_at_root, elasticsearch_off_route

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


@bp.after_app_request
def _root_answers(response):
    """`/` belongs to the pages (pages/auth.py) but answers Elasticsearch clients too, as do paths no route
    serves (api/off_route.py): their answers (errors included) get what every API answer gets."""
    if request.blueprint != "api" and (elasticsearch_at_root() or elasticsearch_off_route()):
        response.vary.update(("Accept", "Authorization"))
        return _product_header(response)
    return response
