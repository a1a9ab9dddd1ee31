"""Application privilege endpoints: create or update, get, delete, clear the cache
(services.admin.application_privileges decides who may)."""

from webapp.api import cluster
from webapp.api.blueprint import bp
from webapp.api.negotiation import answer
from webapp.api.parsing import bad_request, check_params, json_body, list_param, refresh_param
from webapp.errors import ValidationFailed
from webapp.services.admin import application_privileges
from webapp.web.guard import current_subject, requires


@bp.route("/_security/privilege", methods=["PUT", "POST"])
@requires()
def put_privileges():
    """200 with {application: {name: {created: true|false}}}."""
    check_params("refresh")
    refresh_param()
    return answer(application_privileges.put_privileges(current_subject(), json_body(required=True)))


@bp.get("/_security/privilege")
@bp.get("/_security/privilege/<application>")
@bp.get("/_security/privilege/<application>/<names>")
@requires()
def get_privileges(application=None, names=None):
    """200 with {application: {name: {application, name, actions, metadata}}}; 404 with {} when privileges
    were named and none of them exists."""
    check_params()
    wanted = list_param(names)
    found = application_privileges.get_privileges(current_subject(), application, wanted)
    return answer(found, 404 if wanted and not found else 200)


@bp.delete("/_security/privilege/<application>/<names>")
@requires()
def delete_privileges(application, names):
    """200 with {application: {name: {found: true|false}}}, or 404 when none of them existed."""
    check_params("refresh")
    refresh_param()
    wanted = list_param(names)
    if not wanted:
        raise ValidationFailed(["privileges must be provided"])
    deleted = application_privileges.delete_privileges(current_subject(), application, wanted)
    found = any(outcome["found"] for outcome in deleted[application].values())
    return answer(deleted, 200 if found else 404)


@bp.post("/_security/privilege/<applications>/_clear_cache")
@requires()
def clear_privileges_cache(applications):
    """200 with {_nodes, cluster_name, nodes}: nothing to evict (every check reads the stored privileges
    afresh), but the call succeeds as in Elasticsearch."""
    check_params()
    names = list_param(applications)
    if not names:
        raise bad_request("the applications to clear from the cache must not be empty")
    application_privileges.clear_cache(current_subject(), names)
    return answer(cluster.cache_cleared())
