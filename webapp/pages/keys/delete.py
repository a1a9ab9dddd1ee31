"""Deleting keys (Elasticsearch's invalidate): one or many, confirmed, in one statement scoped by rights."""

from urllib.parse import parse_qsl

from flask import flash, redirect, render_template, request
from htmx_flask import make_response
from werkzeug.datastructures import MultiDict

from webapp.errors import ValidationFailed
from webapp.pages.keys import bp
from webapp.pages.keys.listing import key_table_context, keys_url, list_values, values_from_current_url
from webapp.security import privileges
from webapp.services.api_keys import details as key_details
from webapp.web.errors import html_error, wants_partial
from webapp.web.guard import current_subject, requires


@bp.app_template_global()
def list_query(values):
    """The list's parameters as a query string (carried through the no-JavaScript delete confirmation)."""
    url = keys_url(values)
    return url.partition("?")[2]


def outcome_message(outcome):
    """(text, ok): "Deleted 3 API keys", and for each failure which key and why."""
    parts = []
    if len(outcome.deleted) == 1:
        parts.append(f"Deleted API key '{outcome.deleted[0][1]}'.")
    elif outcome.deleted:
        parts.append(f"Deleted {len(outcome.deleted)} API keys.")
    for _, name, reason in outcome.failed:
        parts.append(f"Could not delete '{name}': {reason}.")
    return " ".join(parts), not outcome.failed


@bp.post("/delete")
@requires(*privileges.MANAGE_OWN_KEYS)
def delete():
    """Delete the posted keys. Unconfirmed: a confirmation page (keys/confirm_delete.html). Confirmed, to htmx:
    the table (keys/_table.html → #key-table) with the outcome in #page-message out of band; without htmx:
    redirect (303) back to the list."""
    subject = current_subject()
    ids = [request.form["one"]] if request.form.get("one") else request.form.getlist("ids")
    return_values = list_values(MultiDict(parse_qsl(request.form.get("return_to", "")[:2000])))
    try:
        if not request.form.get("confirmed"):
            keys = key_details.keys_to_delete(subject, ids)
            return render_template("keys/confirm_delete.html", keys=keys, return_to=list_query(return_values))
        outcome = key_details.delete_keys(subject, ids)
    except ValidationFailed as error:
        return html_error(422, "Nothing to delete", " ".join(error.messages))
    message, ok = outcome_message(outcome)
    if not wants_partial():
        flash(message, "message" if ok else "error")
        return redirect(keys_url(return_values), 303)
    context = key_table_context(values_from_current_url())
    body = render_template("keys/_table.html", **context) + render_template(
        "keys/_delete_outcome.html", message=message, ok=ok)
    return make_response(body, 200, trigger="api-keys-deleted")
