"""Bulk role endpoints: `POST /_security/role` {roles: {name: descriptor}} and `DELETE /_security/role`
{names: [...]}. Each role is put or deleted by the single-role code (services.admin.roles), on its own: one
refused role is reported under `errors` and leaves the others done, as in Elasticsearch."""

from webapp.api.blueprint import bp
from webapp.api.negotiation import answer
from webapp.api.parsing import OBJECT, STRING_ARRAY, check_params, json_body, parse_object, refresh_param
from webapp.errors import DomainError, ValidationFailed
from webapp.security import limits
from webapp.services.admin import roles
from webapp.web.guard import current_subject, requires


def _checked_count(count, missing):
    if count == 0:
        raise ValidationFailed([missing])
    problem = limits.bulk_roles_count_problem(count)
    if problem:
        raise ValidationFailed([problem])


def _body(results: dict, outcomes: dict) -> dict:
    """ES's bulk roles answer: a list per outcome that happened, then {count, details} of the refused ones."""
    body = {kind: names for kind, names in results.items() if names}
    errors = {name: {"type": error.type, "reason": error.reason}
              for name, error in outcomes.items() if isinstance(error, DomainError)}
    if errors:
        body["errors"] = {"count": len(errors), "details": errors}
    return body


@bp.post("/_security/role")
@requires()
def bulk_put_roles():
    """200 with {created?, updated?, noop?, errors?: {count, details: {name: {type, reason}}}}."""
    check_params("refresh")
    refresh_param()
    fields = parse_object(json_body(required=True), "bulk_put_roles_request", {"roles": OBJECT},
                          required=("roles",))
    _checked_count(len(fields["roles"]), "roles are missing")
    outcomes = roles.put_roles(current_subject(), fields["roles"])
    results = {kind: [name for name, outcome in outcomes.items() if outcome == kind]
               for kind in (roles.CREATED, roles.UPDATED, roles.NOOP)}
    return answer(_body(results, outcomes))


@bp.delete("/_security/role")
@requires()
def bulk_delete_roles():
    """200 with {deleted?, not_found?, errors?: {count, details: {name: {type, reason}}}}."""
    check_params("refresh")
    refresh_param()
    fields = parse_object(json_body(required=True), "bulk_delete_roles_request", {"names": STRING_ARRAY},
                          required=("names",))
    _checked_count(len(fields["names"]), "role names are missing")
    outcomes = roles.delete_roles(current_subject(), fields["names"])
    results = {"deleted": [name for name, found in outcomes.items() if found is True],
               "not_found": [name for name, found in outcomes.items() if found is False]}
    return answer(_body(results, outcomes))
