"""Settings page: license level, API keys on/off, key retention."""

from flask import Blueprint, current_app, render_template, request, url_for

from webapp.errors import ValidationFailed
from webapp.security import privileges
from webapp.services.admin import license as licenses
from webapp.services.admin import settings
from webapp.web.errors import wants_partial
from webapp.web.guard import current_subject, requires
from webapp.web.htmx import checked, field_errors, navigate, render

bp = Blueprint("settings", __name__, url_prefix="/settings")

# What each license level adds, in the page's words.
LEVELS = (
    ("basic", "Basic", "Users, roles, REST API keys, the audit log and the Elasticsearch-compatible API."),
    ("trial", "Trial", "Everything, including cross-cluster API keys, for 30 days; it can be started once."),
    ("enterprise", "Enterprise", "Everything, including cross-cluster API keys, with no end date."),
)


def license_context(**extra):
    """Everything settings/_license.html needs."""
    state = settings.license_state()
    return {"license": state, "days_left": settings.trial_days_left(state), "levels": LEVELS, **extra}


def api_key_context(values=None, errors=None, **extra):
    """Everything settings/_api_keys.html needs; `values` keeps what was typed when it was refused."""
    return {"api_keys": values or settings.api_key_settings(_configured_retention()), "api_key_errors": errors or {},
            **extra}


def _configured_retention():
    """KEYDESK_API_KEY_RETENTION: the period in force until one is saved here."""
    return current_app.config.get("KEYDESK_API_KEY_RETENTION") or settings.DEFAULT_RETENTION


@bp.get("/")
@requires(*privileges.MANAGE_SECURITY)
def index():
    """The settings page (settings/index.html: the license and API key partials)."""
    return render_template("settings/index.html", **license_context(), **api_key_context())


@bp.post("/license")
@requires(*privileges.MANAGE_SECURITY)
def set_license():
    """Start the trial, or switch to enterprise or basic; to htmx settings/_license.html → #license-settings
    with `license-changed`, else back to the page."""
    level = request.form.get("level", "")
    try:
        state = licenses.set_license(current_subject(), level)
    except ValidationFailed as error:
        return render("settings/index.html", "settings/_license.html", 422,
                      **license_context(license_error=" ".join(error.messages)), **api_key_context())
    message = f"The license is now {state['type']}."
    if not wants_partial():
        return navigate(url_for("settings.index"), message)
    return render("settings/index.html", "settings/_license.html", trigger="license-changed",
                  **license_context(license_message=message), **api_key_context())


@bp.post("/api-keys")
@requires(*privileges.MANAGE_SECURITY)
def update_api_keys():
    """Switch API keys on or off and set the retention period; to htmx settings/_api_keys.html →
    #api-key-settings with `settings-changed`, else back to the page. A bad period: 422 beside its field."""
    enabled = checked("enabled")
    retention = request.form.get("retention", "")
    try:
        settings.update_api_key_settings(current_subject(), enabled=enabled, retention=retention,
                                         default_retention=_configured_retention())
    except ValidationFailed as error:
        values = {"enabled": enabled, "retention": retention}
        return render("settings/index.html", "settings/_api_keys.html", 422, **license_context(),
                      **api_key_context(values, field_errors(error, "retention")))
    message = "Saved. API keys are " + ("enabled." if enabled else "disabled: existing keys stop authenticating.")
    if not wants_partial():
        return navigate(url_for("settings.index"), message)
    return render("settings/index.html", "settings/_api_keys.html", trigger="settings-changed",
                  **license_context(), **api_key_context(api_key_message=message))
