"""Deleting keys (Elasticsearch's invalidate): one or many, confirmed, in one statement scoped by rights."""

from urllib.parse import parse_qsl

from flask import flash, render_template, request
from werkzeug.datastructures import MultiDict

from webapp.errors import ValidationFailed
from webapp.pages.keys.blueprint import bp
from webapp.pages.keys.listing import keys_url, list_values, page_context, values_from_current_url
from webapp.security import privileges
from webapp.services.api_keys import page as key_pages
from webapp.web.errors import html_error
from webapp.web.guard import current_subject, requires
from webapp.web.htmx import redirect_to, render, respond, wants_partial


@bp.app_template_global()
def list_query(values):
    """The list's parameters as a query string (carried through the delete confirmation)."""
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


def _selected(values):
    """The ids a delete button sent: its own (`one`), or the ticked boxes (`ids`)."""
    return [values["one"]] if values.get("one") else values.getlist("ids")


def _unused(values):
    """Whether the request is "Delete unused keys": the keys the list's Not used for 90 days filter shows."""
    return values.get("unused") == "1"


def _confirmation(ids, return_values, unused=False):
    try:
        keys = (key_pages.unused_keys_to_delete(current_subject(), return_values) if unused
                else key_pages.keys_to_delete(current_subject(), ids))
    except ValidationFailed as error:
        return html_error(422, "Nothing to delete", " ".join(error.messages))
    return render("keys/confirm_delete.html", "keys/_delete_confirm.html", keys=keys, unused=unused,
                  return_to=list_query(return_values), in_dialog=wants_partial())


@bp.get("/delete")
@requires(*privileges.MANAGE_OWN_KEYS)
def confirm_delete():
    """The confirmation listing the selected keys (with `unused=1`, the keys the list's parameters in the query
    show): a page (keys/confirm_delete.html), or to htmx the partial (keys/_delete_confirm.html → #delete-keys,
    inside the page's dialog)."""
    if _unused(request.args):
        return _confirmation([], list_values(request.args), unused=True)
    return _confirmation(_selected(request.args), values_from_current_url())


@bp.post("/delete")
@requires(*privileges.MANAGE_OWN_KEYS)
def delete():
    """Delete the posted keys (with `unused=1`, those of them still unused for 90 days). Unconfirmed (the list's
    form without JavaScript): the confirmation page. Confirmed, to htmx: the table (keys/_table.html →
    #key-table) with the outcome in #page-message out of band; without htmx: redirect (303) back to the list."""
    ids = _selected(request.form)
    return_values = list_values(MultiDict(parse_qsl(request.form.get("return_to", "")[:2000])))
    unused = _unused(request.form)
    if not request.form.get("confirmed"):
        return _confirmation(ids, return_values, unused)
    partial = wants_partial()
    deleting = key_pages.delete_unused_keys if unused else key_pages.delete_keys
    try:
        deletion = deleting(current_subject(), ids, values_from_current_url() if partial else None)
    except ValidationFailed as error:
        return html_error(422, "Nothing to delete", " ".join(error.messages))
    message, ok = outcome_message(deletion.outcome)
    if not partial:
        flash(message, "message" if ok else "error")
        return redirect_to(keys_url(return_values))
    body = render_template("keys/_table.html", **page_context(deletion.listing)) + render_template(
        "keys/_delete_outcome.html", message=message, ok=ok)
    return respond(body, trigger="api-keys-deleted")
