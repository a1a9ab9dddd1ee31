"""Keydesk's own view of a key (GET /_keydesk/api_key/{id}) and setting its rate limit (PUT .../_rate_limit).

Who sees a key is who sees it in the Get API (`visibility.get_visible_key`); who may change its limit is who may
update it under Elasticsearch's update rule (`commands.check_updater`, `commands.load_for_update`). A change
bumps the key's version (so its cached Subject is rebuilt) and writes one `api_key.rate_limit` audit row.
"""

from webapp.clock import now_ms
from webapp.model import ApiKey
from webapp.model.db import database
from webapp.security.subject import Subject
from webapp.services.api_keys import request_limit, visibility
from webapp.services.api_keys.commands import check_updater, load_for_update
from webapp.services.audit import trail as audit


def keydesk_view(key: ApiKey) -> dict:
    """Keydesk's shape of a key: Elasticsearch's identifying fields plus Keydesk's own (never the secret)."""
    body = {"id": key.id, "name": key.name, "type": key.type, "creation": key.creation,
            "invalidated": bool(key.invalidated), "username": key.owner_username, "realm": key.owner_realm,
            "rate_limit": key.rate_limit, "rotated_from": key.rotated_from, "replaced_by": key.replaced_by}
    if key.expiration is not None:
        body["expiration"] = key.expiration
    return body


def get_key(subject: Subject, key_id: object) -> dict:
    """Keydesk's view of a key the subject may see (404 otherwise, as the Get API answers)."""
    return keydesk_view(visibility.get_visible_key(subject, key_id))


def set_rate_limit(subject: Subject, key_id: object, value: object) -> tuple[bool, dict]:
    """Set (or, with None, remove) the rate limit of a key the subject may update: (changed, the key's view)."""
    check_updater(subject, "rest")
    limit = request_limit.stored(value)  # a bad value is refused before anything is read
    with database.atomic():
        key = load_for_update(subject, key_id, None, now_ms())
        if key.type == "cross_cluster":
            check_updater(subject, "cross_cluster")
        if key.rate_limit == limit:
            return False, keydesk_view(key)
        before = key.rate_limit
        ApiKey.update(rate_limit=limit, version=ApiKey.version + 1).where(ApiKey.id == key.id).execute()
        key.rate_limit = limit
        audit.record(subject, "api_key.rate_limit", target_type="api_key", target_id=key.id,
                     before={"name": key.name, "rate_limit": before}, after={"name": key.name, "rate_limit": limit})
    return True, keydesk_view(key)
