"""Settings page: license level, API keys on/off, key retention; expiry notices (their own page)."""

from flask import Blueprint, current_app, request, url_for

from webapp.errors import ValidationFailed
from webapp.pages.forms import checked, field_errors
from webapp.security import privileges
from webapp.services.admin import license as licenses
from webapp.services.admin import settings
from webapp.services.admin.settings import settings_page
from webapp.services.notices import preferences as notice_preferences
from webapp.web import notices as notice_plumbing
from webapp.web.guard import current_subject, requires
from webapp.web.htmx import navigate, render, wants_partial

bp = Blueprint("settings", __name__, url_prefix="/settings")
PAGE = "settings/index.html"


def _configured_retention():
    """KEYDESK_API_KEY_RETENTION: the period in force until one is saved here."""
    return current_app.config.get("KEYDESK_API_KEY_RETENTION") or settings.DEFAULT_RETENTION


@bp.get("/")
@requires(*privileges.MANAGE_SECURITY)
def index():
    """The settings page (settings/index.html: the license and API key partials)."""
    return render(PAGE, PAGE, page=settings_page(_configured_retention()))


@bp.post("/license")
@requires(*privileges.MANAGE_SECURITY)
def set_license():
    """Start the trial, or switch to enterprise or basic; to htmx settings/_license.html → #license-settings,
    else back to the page."""
    try:
        state = licenses.set_license(current_subject(), request.form.get("level", ""))
    except ValidationFailed as error:
        return render(PAGE, "settings/_license.html", 422, page=settings_page(_configured_retention()),
                      license_error=" ".join(error.messages))
    message = f"The license is now {state['type']}."
    if not wants_partial():
        return navigate(url_for("settings.index"), message)
    return render(PAGE, "settings/_license.html", page=settings_page(_configured_retention()),
                  license_message=message)


@bp.post("/api-keys")
@requires(*privileges.MANAGE_SECURITY)
def update_api_keys():
    """Switch API keys on or off and set the retention period; to htmx settings/_api_keys.html →
    #api-key-settings, else back to the page. A bad period: 422 beside its field."""
    enabled = checked("enabled")
    retention = request.form.get("retention", "")
    try:
        settings.update_api_key_settings(current_subject(), enabled=enabled, retention=retention,
                                         default_retention=_configured_retention())
    except ValidationFailed as error:
        page = settings_page(_configured_retention(), api_keys={"enabled": enabled, "retention": retention},
                             api_key_errors=field_errors(error, "retention"))
        return render(PAGE, "settings/_api_keys.html", 422, page=page)
    message = "Saved. API keys are " + ("enabled." if enabled else "disabled: existing keys stop authenticating.")
    if not wants_partial():
        return navigate(url_for("settings.index"), message)
    return render(PAGE, "settings/_api_keys.html", page=settings_page(_configured_retention()),
                  api_key_message=message)


# ---- expiry notices: /settings/notices (read_security reads it, manage_security changes it) ----------------
NOTICES_PAGE = "settings/notices.html"


def _notices_page(**extra):
    return notice_plumbing.page_data(current_app, current_subject(), **extra)


@bp.get("/notices")
@requires(*privileges.READ_SECURITY)
def notices():
    """Expiry notice settings and recent deliveries (settings/notices.html: settings/_notices.html and
    settings/_deliveries.html); read-only below manage_security."""
    return render(NOTICES_PAGE, NOTICES_PAGE, page=_notices_page())


@bp.post("/notices")
@requires(*privileges.MANAGE_SECURITY)
def update_notices():
    """Save the days and the webhook; to htmx settings/_notices.html → #notice-settings (a new secret shown
    once, no-store), else back to the page. Wrong fields: 422 beside them, with what was typed kept."""
    values = {"days": request.form.get("days", ""), "webhook_url": request.form.get("webhook_url", "")}
    try:
        saved = notice_preferences.update_notice_settings(current_subject(), days=values["days"],
                                                          webhook_url=values["webhook_url"],
                                                          secret=request.form.get("webhook_secret", ""))
    except ValidationFailed as error:
        page = _notices_page(values=values, errors=field_errors(error, "days"))
        return render(NOTICES_PAGE, "settings/_notices.html", 422, page=page)
    message = "Saved the expiry notice settings."
    if not wants_partial() and not saved.new_secret:
        return navigate(url_for("settings.notices"), message)
    return render(NOTICES_PAGE, "settings/_notices.html", no_store=True,
                  page=_notices_page(new_secret=saved.new_secret, message=message))


@bp.post("/notices/secret")
@requires(*privileges.MANAGE_SECURITY)
def replace_webhook_secret():
    """Make a new webhook secret and show it once (no-store): to htmx settings/_notices.html → #notice-settings,
    else the page."""
    saved = notice_preferences.replace_webhook_secret(current_subject())
    message = "Made a new webhook secret. The old one no longer signs requests."
    return render(NOTICES_PAGE, "settings/_notices.html", no_store=True,
                  page=_notices_page(new_secret=saved.new_secret, message=message))
