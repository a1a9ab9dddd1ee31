"""Role endpoints: create or replace, get, delete. Reserved roles are read-only (services.roles decides)."""

from webapp.api.blueprint import bp
from webapp.api.named import delete_by_name, get_by_names
from webapp.api.negotiation import answer
from webapp.api.parsing import check_params, json_body, refresh_param
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
    return get_by_names(roles.get_roles, names, "include_implicit")


@bp.delete("/_security/role/<name>")
@requires()
def delete_role(name):
    """200 with {found: true}, or 404 with {found: false}."""
    return delete_by_name(roles.delete_role, name)
