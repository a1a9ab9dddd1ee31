"""`GET /_license` and `POST /_license/start_trial`: the license level that gates cross-cluster API keys."""

import uuid

from webapp.api.blueprint import bp
from webapp.api.negotiation import answer
from webapp.api.parsing import bad_request, bool_param, check_params, string_param
from webapp.errors import ValidationFailed
from webapp.security import privileges
from webapp.services.access.rights import require
from webapp.services.admin import license as licenses
from webapp.services.admin import settings
from webapp.services.api_keys.es_query.fields import format_date
from webapp.web.guard import current_subject, requires

ACKNOWLEDGE_MESSAGE = ("A trial turns on the enterprise features (cross-cluster API keys) for 30 days and can be "
                       "started once. Call /_license/start_trial again with acknowledge=true to start it.")


def license_body(state):
    """The `license` object of GET /_license for Keydesk's license state."""
    issued = state["trial_started"] if state["type"] == "trial" and state["trial_started"] else 0
    body = {
        "status": state["status"],
        "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"keydesk:{state['type']}:{issued}")),
        "type": state["type"],
        "issue_date": format_date(issued),
        "issue_date_in_millis": issued,
    }
    if state["expiry_ms"] is not None:
        body.update(expiry_date=format_date(state["expiry_ms"]), expiry_date_in_millis=state["expiry_ms"])
    body.update(max_nodes=1000, max_resource_units=None, issued_to="keydesk", issuer="keydesk",
                start_date_in_millis=-1)
    return body


@bp.get("/_license")
@requires(*privileges.READ_LICENSE, action=privileges.LICENSE_GET)
def get_license():
    """200 with {license: {status, uid, type, issue_date, ...}}; needs `monitor`, as in Elasticsearch."""
    check_params("accept_enterprise", "local")
    bool_param("accept_enterprise")
    bool_param("local")
    return answer({"license": license_body(settings.license_state())})


@bp.post("/_license/start_trial")
@requires()
def start_trial():
    """200 with {acknowledged, trial_was_started, type}; 403 once the trial has been used."""
    check_params("acknowledge", "type", "master_timeout", "timeout")
    kind = string_param("type") or "trial"
    if kind != "trial":
        raise bad_request(f"Cannot start trial of type [{kind}]. Valid trial types are [trial].")
    subject = current_subject()
    require(subject, privileges.LICENSE_START_TRIAL, privileges.MANAGE_SECURITY)
    if not bool_param("acknowledge"):
        return answer({"acknowledged": False, "trial_was_started": False,
                       "error_message": "Operation failed: Needs acknowledgement.",
                       "acknowledge": {"message": ACKNOWLEDGE_MESSAGE}})
    already = {"acknowledged": True, "trial_was_started": False,
               "error_message": "Operation failed: Trial was already activated."}
    if settings.license_state()["trial_used"]:
        return answer(already, 403)
    try:
        state = licenses.set_license(subject, "trial")
    except ValidationFailed:  # started by someone else a moment ago
        return answer(already, 403)
    return answer({"acknowledged": True, "trial_was_started": True, "type": state["type"]})
