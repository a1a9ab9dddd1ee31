"""Keydesk's own endpoints beside the Elasticsearch ones (/_keydesk/...): same credentials, media types,
error envelope and privilege rules; answers in Keydesk's shapes, which Elasticsearch's endpoints never carry."""

from webapp.api.blueprint import bp
from webapp.api.negotiation import answer
from webapp.api.parsing import STRING, check_params, json_body, parse_object
from webapp.api.security import ALL_METHODS, no_handler
from webapp.services.api_keys import rotation
from webapp.web.caching import keep_out_of_caches
from webapp.web.guard import current_subject, requires

ROTATE_FIELDS = {"grace_period": STRING}


@bp.post("/_keydesk/api_key/<key_id>/_rotate")
@requires()
def rotate_api_key(key_id):
    """200 with the successor {id, name, expiration?, api_key, encoded, rotated_from, previous_key: {id,
    replaced_by, expiration}}: the only time its secret is shown (no-store)."""
    check_params()
    fields = parse_object(json_body(), "rotate_api_key_request", ROTATE_FIELDS)
    rotated = rotation.rotate_api_key(current_subject(), key_id, grace_period=fields.get("grace_period"))
    return keep_out_of_caches(answer(rotated.to_json()))


# An unknown path below /_keydesk gets the answer an unknown /_security path gets.
bp.add_url_rule("/_keydesk/<path:rest>", endpoint="no_handler", view_func=no_handler, methods=ALL_METHODS)
