"""Keydesk's view of one key and its rate limit: GET /_keydesk/api_key/{id}, GET/PUT/DELETE
/_keydesk/api_key/{id}/_rate_limit. Keydesk's shapes; Elasticsearch's endpoints never show `rate_limit`."""

from webapp.api.blueprint import bp
from webapp.api.negotiation import answer
from webapp.api.parsing import OBJECT_OR_NULL, check_params, json_body, parse_object
from webapp.services.api_keys import keydesk_view
from webapp.web.guard import current_subject, requires

RATE_LIMIT_FIELDS = {"rate_limit": OBJECT_OR_NULL}


@bp.get("/_keydesk/api_key/<key_id>")
@requires()
def keydesk_get_api_key(key_id):
    """200 {id, name, type, creation, expiration?, invalidated, username, realm, rate_limit, rotated_from,
    replaced_by} for a key the caller sees in the Get API (404 otherwise)."""
    check_params()
    return answer(keydesk_view.get_key(current_subject(), key_id))


@bp.put("/_keydesk/api_key/<key_id>/_rate_limit")
@requires()
def put_api_key_rate_limit(key_id):
    """Body {"rate_limit": {"requests": N, "per": "1m"}} or {"rate_limit": null}: 200 {updated, api_key}."""
    check_params()
    fields = parse_object(json_body(required=True), "rate_limit_request", RATE_LIMIT_FIELDS, required=("rate_limit",))
    changed, view = keydesk_view.set_rate_limit(current_subject(), key_id, fields["rate_limit"])
    return answer({"updated": changed, "api_key": view})


@bp.delete("/_keydesk/api_key/<key_id>/_rate_limit")
@requires()
def delete_api_key_rate_limit(key_id):
    """Remove the limit (as PUT with null): 200 {updated, api_key}."""
    check_params()
    changed, view = keydesk_view.set_rate_limit(current_subject(), key_id, None)
    return answer({"updated": changed, "api_key": view})
