"""A key's usage: GET /_keydesk/api_key/{id}/_usage (Keydesk's shape; the same visibility as GET
/_keydesk/api_key/{id})."""

from webapp.api.blueprint import bp
from webapp.api.negotiation import answer
from webapp.api.parsing import check_params
from webapp.services.api_keys import usage
from webapp.web.extensions import tuning
from webapp.web.guard import current_subject, requires


@bp.get("/_keydesk/api_key/<key_id>/_usage")
@requires()
def keydesk_api_key_usage(key_id):
    """200 {id, retention_days, days: [{date, requests}] (30, oldest first), hours: [{hour, requests}] (48),
    addresses: [{address, requests, last_seen}] (up to 10, newest first), distinct_addresses, last_used,
    last_used_address, never_used, unused_days, unused} for a key the caller sees (404 otherwise)."""
    check_params()
    return answer(usage.key_usage(current_subject(), key_id, tuning().usage_retention_ms).to_json())
