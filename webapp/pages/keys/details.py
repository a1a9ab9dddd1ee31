"""One key: its details, and updating it (owner only, while it is neither expired nor invalidated)."""

from flask import flash, get_flashed_messages, make_response, redirect, render_template, request, url_for

from webapp.clock import now_ms
from webapp.errors import DomainError, FeatureDisabled
from webapp.pages.keys import bp
from webapp.pages.keys.forms import field_errors, form_values, parse_update, update_defaults
from webapp.security import privileges
from webapp.services.api_keys import commands as api_keys
from webapp.services.api_keys.details import key_details
from webapp.web.errors import wants_partial
from webapp.web.guard import current_subject, requires


def _render(details, form, errors, status, updated_message=None):
    context = {"details": details, "form": form, "form_errors": errors, "now": now_ms(),
               "updated_message": updated_message}
    if wants_partial():
        return render_template("keys/_details.html", **context), status
    return render_template("keys/details.html", messages=get_flashed_messages(), **context), status


@bp.get("/<key_id>")
@requires(*privileges.SEE_KEYS)
def show(key_id):
    """A key's details: a page (keys/details.html), or to htmx the partial (keys/_details.html → #key-details)."""
    details = key_details(current_subject(), key_id)
    return _render(details, update_defaults(details.key), {}, 200)


@bp.post("/<key_id>")
@requires(*privileges.MANAGE_OWN_KEYS)
def update(key_id):
    """Update a key. To htmx: the details partial (→ #key-details) with a message, and keys-changed so the
    table reloads; 422 keeps the form with messages. Without htmx: redirect (303) to the details page."""
    subject = current_subject()
    details = key_details(subject, key_id)
    values = form_values(request.form)
    changes, errors = parse_update(values, details.key)
    if not errors:
        try:
            changed = api_keys.update_api_key(subject, key_id, **changes)
        except FeatureDisabled:
            raise
        except DomainError as error:
            errors = field_errors(error)
    if errors:
        return _render(details, values, errors, 422)
    message = (f"Updated API key '{details.key.name}'." if changed
               else f"Nothing to change in API key '{details.key.name}'; its owner snapshot is current.")
    if not wants_partial():
        flash(message)
        return redirect(url_for("keys.show", key_id=key_id), 303)
    fresh = key_details(subject, key_id)
    body, status = _render(fresh, update_defaults(fresh.key), {}, 200, updated_message=message)
    response = make_response(body, status)
    response.headers["HX-Trigger"] = "keys-changed"
    return response
