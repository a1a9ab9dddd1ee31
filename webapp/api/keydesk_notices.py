"""Expiry notices through the JSON API (/_keydesk/notices...): what Settings › Expiry notices shows and
changes, in Keydesk's shapes. read_security reads (never the webhook secret), manage_security changes."""

from flask import current_app

from webapp.api.blueprint import bp
from webapp.api.negotiation import answer
from webapp.api.parsing import (
    ARRAY,
    STRING,
    STRING_OR_NULL,
    X_CONTENT_PARSE,
    bad_request,
    check_params,
    json_body,
    parse_object,
)
from webapp.security import privileges
from webapp.services.notices import preferences
from webapp.web import notices as notice_plumbing
from webapp.web.caching import keep_out_of_caches
from webapp.web.guard import current_subject, requires

UPDATE_FIELDS = {"days_before": ARRAY, "webhook_url": STRING_OR_NULL, "webhook_secret": STRING}


def _settings_json(settings):
    webhook = None
    if settings.webhook_url:
        webhook = {"url": settings.webhook_url, "secret_set": settings.secret_set}
    return {"days_before": list(settings.days_before), "webhook": webhook}


def _delivery_json(row):
    return {"time": row.time, "api_key": {"id": row.key_id, "name": row.key_name}, "channel": row.channel,
            "notice": row.notice, "event": row.event, "target": row.target, "attempts": row.attempts,
            "status": row.status, "error": row.error, "outcome": row.outcome}


@bp.get("/_keydesk/notices")
@requires(*privileges.READ_SECURITY)
def get_notices():
    """200 {days_before, webhook: {url, secret_set} | null, mail: {server, from} | null, interval,
    deliveries: [...] (newest first, at most 50)}."""
    check_params()
    page = notice_plumbing.page_data(current_app, current_subject())
    mail = {"server": page.mail_server, "from": page.sender} if page.mail_server else None
    return answer({**_settings_json(page.settings), "mail": mail, "interval": page.interval or None,
                   "deliveries": [_delivery_json(row) for row in page.deliveries]})


@bp.put("/_keydesk/notices")
@bp.post("/_keydesk/notices")
@requires(*privileges.MANAGE_SECURITY)
def update_notices():
    """Body {days_before: [14, 1], webhook_url: "https://..." | null, webhook_secret?}: the whole setting (a
    field left out keeps its value). 200 {days_before, webhook, webhook_secret?}: a secret Keydesk made for a
    new webhook is in the answer this once (no-store)."""
    check_params()
    fields = parse_object(json_body(required=True), "notices_request", UPDATE_FIELDS)
    current = preferences.notice_settings()
    days = fields.get("days_before", list(current.days_before))
    if any(isinstance(day, bool) or not isinstance(day, int) for day in days):
        raise bad_request("[notices_request] days_before must be an array of whole numbers of days",
                          type=X_CONTENT_PARSE)
    saved = preferences.update_notice_settings(
        current_subject(), days=", ".join(str(day) for day in days),
        webhook_url=fields.get("webhook_url", current.webhook_url) or "", secret=fields.get("webhook_secret", ""))
    body = _settings_json(saved.settings)
    if saved.new_secret:
        body["webhook_secret"] = saved.new_secret
    return keep_out_of_caches(answer(body))


@bp.post("/_keydesk/notices/_webhook_secret")
@requires(*privileges.MANAGE_SECURITY)
def replace_webhook_secret():
    """200 {days_before, webhook, webhook_secret}: a new secret, shown this once (no-store); the old one stops
    signing at once."""
    check_params()
    saved = preferences.replace_webhook_secret(current_subject())
    return keep_out_of_caches(answer({**_settings_json(saved.settings), "webhook_secret": saved.new_secret}))
