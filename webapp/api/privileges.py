"""`_has_privileges`: what the caller (for an API key, its effective privileges) may do, as ES answers it."""

from webapp.api.blueprint import bp
from webapp.api.negotiation import answer
from webapp.api.parsing import bad_request, check_params, json_body
from webapp.errors import from_descriptor_error
from webapp.security.descriptors.roles import DescriptorError, parse_has_privileges_request
from webapp.security.permissions import LimitedPermission
from webapp.services.access import privilege_checks
from webapp.web.guard import current_subject, requires

KEY_WITH_DESCRIPTORS = ("Cannot retrieve privileges for API keys with assigned role descriptors. Please use the Get "
                        "API key information API https://ela.st/es-api-get-api-key")


@bp.get("/_security/user/_privileges")
@requires()
def user_privileges_view():
    """200 with the caller's own privileges {cluster, global, indices, applications, run_as, ...}; every caller
    may ask. An API key answers with its owner's snapshot, unless it was given role descriptors (400, as in
    Elasticsearch: the key's privileges are then the intersection of two sets, which this shape can't say)."""
    check_params()
    subject = current_subject()
    if isinstance(subject.permission, LimitedPermission):
        raise bad_request(KEY_WITH_DESCRIPTORS)
    return answer(privilege_checks.privileges_of(subject))


@bp.route("/_security/user/_has_privileges", methods=["GET", "POST"])
@bp.route("/_security/user/<username>/_has_privileges", methods=["GET", "POST"])
@requires()
def has_privileges_view(username=None):
    """200 with {username, has_all_requested, cluster, index, application}: application privileges are resolved
    to their stored actions, and an API key must hold each one under its own descriptors and its owner's."""
    check_params()
    subject = current_subject()
    if username is not None and username != subject.username:
        raise bad_request("users may only check the privileges of their own account")
    try:
        checks = parse_has_privileges_request(json_body(required=True), username=subject.username)
        result = privilege_checks.has_privileges(subject, checks)
    except DescriptorError as error:
        raise from_descriptor_error(error) from error
    return answer({"username": subject.username, **result})
