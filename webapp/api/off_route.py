"""Elasticsearch's answers where Keydesk has no route: a path it doesn't serve, or a method a path doesn't take.

Elasticsearch authenticates a request before it routes it, so a client without valid credentials gets the API's
401 whatever it asks for. An authenticated client learns what Elasticsearch would say of the path:

- 405 with `Allow` for a method the path doesn't take;
- 404 `index_not_found_exception` for an index's path (`/my-index`, `/my-index/_doc/1`, `/logs-*/_search`):
  Keydesk holds no indices, and the reason says it serves only the security API;
- 400 "no handler found" for any other path (an endpoint Keydesk doesn't have: `/_cat/indices`, `/_nodes`).

Paths under the API's prefixes reach these answers through api.security.no_handler; every other path through
webapp/web/errors.py, which asks webapp/web/root.py whether the request is an Elasticsearch client's (a browser
keeps the HTML "Not found" page).
"""

from flask import request

from webapp.api.blueprint import bp
from webapp.api.parsing import bad_request
from webapp.errors import DomainError
from webapp.web.guard import current_subject
from webapp.web.root import OFF_ROUTE_VIEW

NO_INDICES = "Keydesk serves only the Elasticsearch security API (/_security/...) and holds no indices"


def _index_of(path):
    """The index an index API's path names (`/my-index`, `/my-index/_doc/1`), else None."""
    parts = path.strip("/").split("/")
    if not parts[0] or parts[0].startswith("_") or (len(parts) > 1 and not parts[1].startswith("_")):
        return None
    return parts[0]


def refusal(allowed):
    """The DomainError Elasticsearch's answer to this request's path is, given the methods the path takes."""
    uri = request.full_path.rstrip("?")
    if allowed:
        return DomainError(f"Incorrect HTTP method for uri [{uri}] and method [{request.method}], allowed: "
                           f"[{', '.join(allowed)}]", status=405, header={"Allow": ", ".join(allowed)})
    index = _index_of(request.path)
    if index is not None:
        return DomainError(f"no such index [{index}]: {NO_INDICES}", status=404, type="index_not_found_exception",
                           extra={"resource.type": "index_or_alias", "resource.id": index, "index_uuid": "_na_",
                                  "index": index})
    return bad_request(f"no handler found for uri [{uri}] and method [{request.method}]")


def authenticate_first():
    """Raise the API's 401 unless the request's credentials authenticate someone (Elasticsearch checks them
    before it looks for a handler); failures are throttled as on every API endpoint."""
    current_subject()


def off_route():
    """An Elasticsearch client's request that no route serves: 401 without valid credentials, else
    Elasticsearch's 405, 404 or 400 for it (see above). Always raises."""
    authenticate_first()
    methods = getattr(request.routing_exception, "valid_methods", None) or ()
    raise refusal(sorted(set(methods) - {"HEAD", "OPTIONS"}))


@bp.record_once
def _hand_over_unrouted_requests(state):
    state.app.extensions[OFF_ROUTE_VIEW] = off_route
