"""The user and role Query APIs: `GET/POST /_security/_query/user` and `/_security/_query/role`
(services.admin.queries; the DSL, paging and sort rules are the API key Query API's)."""

from webapp.api.blueprint import bp
from webapp.api.negotiation import answer
from webapp.api.parsing import ANY, ARRAY, INT, OBJECT, bool_param, check_params, json_body, parse_object
from webapp.services.admin import queries
from webapp.web.guard import current_subject, requires

QUERY_FIELDS = {"query": OBJECT, "from": INT, "size": INT, "sort": ANY, "search_after": ARRAY}


def _arguments(parser):
    fields = parse_object(json_body(), parser, QUERY_FIELDS)
    return {"query": fields.get("query"), "from_": fields.get("from"), "size": fields.get("size"),
            "sort": fields.get("sort"), "search_after": fields.get("search_after")}


@bp.route("/_security/_query/user", methods=["GET", "POST"])
@requires()
def query_users():
    """200 with {total, count, users}; `with_profile_uid` is accepted (Keydesk has no user profiles)."""
    check_params("with_profile_uid")
    arguments = _arguments("query_user_request_payload")
    bool_param("with_profile_uid")
    return answer(queries.query_users(current_subject(), **arguments))


@bp.route("/_security/_query/role", methods=["GET", "POST"])
@requires()
def query_roles():
    """200 with {total, count, roles}."""
    check_params()
    return answer(queries.query_roles(current_subject(), **_arguments("query_role_request_payload")))
