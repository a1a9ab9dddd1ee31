"""Role endpoints: create or replace, get, delete. Reserved roles are read-only (services.roles decides)."""

from webapp.api import bp
from webapp.api.negotiation import answer
from webapp.api.parsing import check_params, json_body, list_param, refresh_param
from webapp.services.admin import roles
from webapp.web.guard import current_subject, requires


@bp.route("/_security/role/<name>", methods=["PUT", "POST"])
@requires()
def put_role(name):
    """200 with {role: {created: true|false}}."""
    check_params("refresh")
    refresh_param()
    created = roles.put_role(current_subject(), name, json_body(required=True))
    return answer({"role": {"created": created}})


@bp.get("/_security/role")
@bp.get("/_security/role/<names>")
@requires()
def get_roles(names=None):
    """200 with {name: descriptor}; 404 with {} when roles were named and none exists."""
    check_params("include_implicit")
    wanted = list_param(names) or None
    found = roles.get_roles(current_subject(), wanted)
    return answer(found, 404 if wanted and not found else 200)


@bp.delete("/_security/role/<name>")
@requires()
def delete_role(name):
    """200 with {found: true}, or 404 with {found: false}."""
    check_params("refresh")
    refresh_param()
    found = roles.delete_role(current_subject(), name)
    return answer({"found": found}, 200 if found else 404)
