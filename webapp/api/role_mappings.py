"""Role mapping endpoints: create or replace, get, delete (services.admin.role_mappings decides)."""

from webapp.api.blueprint import bp
from webapp.api.named import delete_by_name, get_by_names
from webapp.api.negotiation import answer
from webapp.api.parsing import check_params, json_body, refresh_param
from webapp.services.admin import role_mappings
from webapp.web.guard import current_subject, requires


@bp.route("/_security/role_mapping/<name>", methods=["PUT", "POST"])
@requires()
def put_role_mapping(name):
    """200 with {role_mapping: {created: true|false}}."""
    check_params("refresh")
    refresh_param()
    created = role_mappings.put_role_mapping(current_subject(), name, json_body(required=True))
    return answer({"role_mapping": {"created": created}})


@bp.get("/_security/role_mapping")
@bp.get("/_security/role_mapping/<names>")
@requires()
def get_role_mappings(names=None):
    """200 with {name: mapping}; 404 with {} when mappings were named and none exists."""
    return get_by_names(role_mappings.get_role_mappings, names)


@bp.delete("/_security/role_mapping/<name>")
@requires()
def delete_role_mapping(name):
    """200 with {found: true}, or 404 with {found: false}."""
    return delete_by_name(role_mappings.delete_role_mapping, name)
