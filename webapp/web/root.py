"""Whether a request outside the API's paths is an Elasticsearch client's. `/` is two things: the pages' landing
redirect and Elasticsearch's cluster-info endpoint (`GET /`, the clients' first probe). And a path no route
serves (`GET /my-index/_doc/1`, `POST /` ...) gets the HTML "Not found" page in a browser but Elasticsearch's
JSON answer in a client. One rule tells them apart; errors, sessions, throttling and the API's answer shaping
all ask it, and the API hands the pages and errors its views for these through `app.extensions` (pages and API
never import each other)."""

from flask import current_app, request
from werkzeug.exceptions import MethodNotAllowed, NotFound

_JSON_MEDIA_TYPES = ("application/json", "application/vnd.elasticsearch+json")
ROOT_VIEW = "keydesk_elasticsearch_root"  # app.extensions key: the API's view for `/`
OFF_ROUTE_VIEW = "keydesk_elasticsearch_off_route"  # app.extensions key: the API's answer where no route is


def elasticsearch_client():
    """Does this request come from an Elasticsearch client rather than a browser? Yes when it carries an
    Authorization header (the pages never read one), its Accept header rates a JSON type above text/html, or
    its body is JSON (the pages post forms); a bare `*/*` or no Accept at all stays with the pages."""
    environ = request.environ
    if environ.get("HTTP_AUTHORIZATION"):
        return True
    content_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type in _JSON_MEDIA_TYPES:
        return True
    accept = environ.get("HTTP_ACCEPT")
    return bool(accept) and _quality(accept, _JSON_MEDIA_TYPES) > _quality(accept, ("text/html",))


def elasticsearch_at_root():
    """Is this request for `/` an Elasticsearch client's (cluster info) rather than a browser's (the landing
    redirect)?"""
    return request.path == "/" and elasticsearch_client()


def elasticsearch_off_route():
    """Is this an Elasticsearch client's request that no route serves (an unknown path, or a method the path
    doesn't take)? It gets Elasticsearch's JSON answer (webapp/api/off_route.py), a browser the HTML page.
    Known once the URL has been matched, so not while the session is opened."""
    return (request.url_rule is None and isinstance(request.routing_exception, NotFound | MethodNotAllowed)
            and elasticsearch_client())


def _quality(accept, media_types):
    """The highest quality an Accept header gives any of `media_types` (their parameters left aside)."""
    best = 0.0
    for entry in accept.split(","):
        base, *params = (part.strip() for part in entry.split(";"))
        base = base.lower()
        kind = base.split("/")[0]
        if not (base in media_types or base == "*/*" or any(base == f"{kind}/*" and t.startswith(kind + "/")
                                                             for t in media_types)):
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        best = max(best, quality)
    return best


def elasticsearch_root_view():
    """The API's view answering `/` for an Elasticsearch client, when the API is registered."""
    return current_app.extensions.get(ROOT_VIEW)


def elasticsearch_off_route_view():
    """The API's answer to an Elasticsearch client's request that no route serves, when the API is registered."""
    return current_app.extensions.get(OFF_ROUTE_VIEW)
