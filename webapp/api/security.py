"""Identity endpoints (who is calling, which privileges exist), the API key cache, and unknown routes."""

from flask import current_app, request
from werkzeug.routing import Map, Rule

from webapp.api import cluster, off_route
from webapp.api.blueprint import bp
from webapp.api.negotiation import answer
from webapp.api.parsing import bad_request, check_params, list_param
from webapp.errors import DomainError, from_descriptor_error
from webapp.security import privileges
from webapp.security.descriptors.roles import DescriptorError
from webapp.security.permissions import has_privileges
from webapp.security.privileges import CLUSTER_PRIVILEGES, INDEX_PRIVILEGES, REMOTE_CLUSTER_PRIVILEGES
from webapp.security.subject import Subject
from webapp.web.guard import current_subject, requires

ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


def authenticate_body(subject: Subject) -> dict:
    """ES's _authenticate answer for a user or an API key."""
    if subject.is_api_key:
        realm = {"name": "_es_api_key", "type": "_es_api_key"}
    else:
        realm = {"name": subject.realm, "type": subject.realm_type}
    body = {
        "username": subject.username,
        "roles": [] if subject.is_api_key else list(subject.roles),
        "full_name": subject.full_name,
        "email": subject.email,
        "metadata": subject.metadata,
        "enabled": True,
        "authentication_realm": realm,
        "lookup_realm": realm,
        "authentication_type": "api_key" if subject.is_api_key else "realm",
    }
    if subject.is_api_key:
        # Keydesk's keys are all its own: never `cloud`-managed. No `token` field: no token authentication.
        body["api_key"] = {"id": subject.api_key_id, "name": subject.api_key_name, "managed_by": "elasticsearch"}
    return body


@bp.get("/_security/_authenticate")
@requires()
def authenticate():
    """200 with the caller's identity (any authenticated caller may ask).

    Also the target of a reverse proxy's `auth_request`: the identity comes back in X-Keydesk-* headers,
    and `?privilege=` (cluster) or `?index=...&index_privilege=...` make it answer 403 unless the caller
    holds them, so the proxy can demand a privilege without parsing JSON.
    """
    check_params(*CHECK_PARAMS)
    subject = current_subject()
    required = required_privileges(request.args)
    try:
        granted = holds(subject, required)
    except DescriptorError as error:
        raise from_descriptor_error(error) from error
    if not granted:
        wanted = ", ".join(required["cluster"] + [f"{p} on {i}" for e in required["index"] for i in e["names"]
                                                  for p in e["privileges"]])
        raise DomainError(f"the credentials do not grant the privileges this check requires: [{wanted}]",
                          type="security_exception", status=403)
    response = answer(authenticate_body(subject))
    response.headers.extend(identity_headers(subject))
    return response


# The query parameters of `_authenticate` as a check (besides Elasticsearch's response parameters).
CHECK_PARAMS = ("privilege", "index", "index_privilege")


def identity_headers(subject: Subject) -> list[tuple[str, str]]:
    """Who the caller is, for a proxy's `auth_request` to hand on: X-Keydesk-User, -Realm and -Api-Key-Id."""
    headers = [("X-Keydesk-User", subject.username), ("X-Keydesk-Realm", subject.realm)]
    if subject.api_key_id:
        headers.append(("X-Keydesk-Api-Key-Id", subject.api_key_id))
    return headers


def holds(subject: Subject, required: dict | None) -> bool:
    """Whether the caller holds the privileges `required_privileges` read (always, when it read none)."""
    return required is None or has_privileges(subject.permission, **required)["has_all_requested"]


def required_privileges(args) -> dict | None:
    """The privileges the query string (`args`) asks `_authenticate` to require, or None when it asks none."""
    cluster = args.getlist("privilege")
    indices = args.getlist("index")
    index_privileges = args.getlist("index_privilege")
    if not (cluster or indices or index_privileges):
        return None
    if bool(indices) != bool(index_privileges):
        raise bad_request("[index] and [index_privilege] must be given together")
    index = [{"names": indices, "privileges": index_privileges}] if indices else []
    return {"cluster": cluster, "index": index}


@bp.get("/_security/privilege/_builtin")
@requires(*privileges.READ_SECURITY, action=privileges.BUILTIN_PRIVILEGES_GET)
def builtin_privileges():
    """The privilege names Keydesk knows (cluster, index, remote cluster)."""
    check_params()
    return answer({
        "cluster": sorted(CLUSTER_PRIVILEGES),
        "index": sorted(INDEX_PRIVILEGES),
        "remote_cluster": sorted(REMOTE_CLUSTER_PRIVILEGES),
    })


@bp.post("/_security/api_key/<ids>/_clear_cache")
@requires(*privileges.ACTIONS[privileges.SECURITY_CACHE_CLEAR], action=privileges.SECURITY_CACHE_CLEAR)
def clear_api_key_cache(ids):
    """200 with {_nodes, cluster_name, nodes}: nothing to evict, as every request reads its key's row afresh
    (the Subjects kept per process are keyed by the rows' versions), but the call succeeds as in Elasticsearch."""
    check_params()
    if not list_param(ids):
        raise bad_request("the API key ids to clear from the cache must not be empty")
    return answer(cluster.cache_cleared())


def _allowed_methods(path):
    """Methods the API's real routes take for `path` (the catch-all routes below left out)."""
    routes = current_app.extensions.get("keydesk_api_routes")
    if routes is None:
        rules = [Rule(rule.rule, methods=rule.methods, endpoint=rule.endpoint)
                 for rule in current_app.url_map.iter_rules()
                 if rule.endpoint.startswith("api.") and rule.endpoint != "api.no_handler"]
        routes = current_app.extensions["keydesk_api_routes"] = Map(rules)
    return sorted(set(routes.bind("localhost").allowed_methods(path)) - {"HEAD", "OPTIONS"})


@bp.route("/_license/<path:rest>", methods=ALL_METHODS)
@bp.route("/_cluster/<path:rest>", methods=ALL_METHODS)
@bp.route("/_xpack/<path:rest>", methods=ALL_METHODS)
@bp.route("/_security/<path:rest>", methods=ALL_METHODS)
@bp.route("/_security", methods=ALL_METHODS)
def no_handler(rest=None):
    """ES's answers for a path it doesn't serve (400) or a method the path doesn't take (405), once the
    credentials authenticate (401 before that, as in ES: api.off_route)."""
    off_route.authenticate_first()
    raise off_route.refusal(_allowed_methods(request.path))
