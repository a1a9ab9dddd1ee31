"""One key: its details, and updating it (owner only, while it is neither expired nor invalidated)."""

from flask import flash, request, url_for

from webapp.clock import now_ms
from webapp.pages.keys.blueprint import bp
from webapp.pages.keys.forms import form_errors, form_values, parse_update, update_defaults
from webapp.security import privileges
from webapp.services.api_keys.details import key_details
from webapp.services.api_keys.page import update_key
from webapp.web.extensions import tuning
from webapp.web.guard import current_subject, requires
from webapp.web.htmx import redirect_to, render, wants_partial


def _render(details, form, errors, status=200, **extra):
    return render("keys/details.html", "keys/_details.html", status, details=details, form=form,
                  form_errors=errors, now=now_ms(), **extra)


@bp.get("/<key_id>")
@requires(*privileges.SEE_KEYS)
def show(key_id):
    """A key's details: a page (keys/details.html), or to htmx the partial (keys/_details.html → #key-details)."""
    details = key_details(current_subject(), key_id, usage_retention_ms=tuning().usage_retention_ms)
    return _render(details, update_defaults(details.key), {})


@bp.post("/<key_id>")
@requires(*privileges.MANAGE_OWN_KEYS)
def update(key_id):
    """Update a key. To htmx: the details partial (→ #key-details) with a message, and keys-changed so the
    table reloads; 422 keeps the form with messages. Without htmx: redirect (303) to the details page."""
    values = form_values(request.form)
    outcome = update_key(current_subject(), key_id, lambda key: parse_update(values, key),
                         usage_retention_ms=tuning().usage_retention_ms)
    if not outcome.done:
        errors = outcome.errors or form_errors(outcome.refusal)
        return _render(outcome.details, values, errors, 422)
    name = outcome.details.key.name
    message = (f"Updated API key '{name}'." if outcome.changed
               else f"Nothing to change in API key '{name}'; its owner snapshot is current.")
    if not wants_partial():
        flash(message)
        return redirect_to(url_for("keys.show", key_id=key_id))
    return _render(outcome.details, update_defaults(outcome.details.key), {}, updated_message=message,
                   trigger="keys-changed")
