"""Rotating keys: one from its details, or the list's selection; each new secret shown once (no-store)."""

import csv
import io
from urllib.parse import parse_qsl

from flask import request
from werkzeug.datastructures import MultiDict

from webapp.clock import now_ms
from webapp.errors import DomainError, FeatureDisabled, ValidationFailed
from webapp.pages.audit import csv_cell
from webapp.pages.keys.blueprint import bp
from webapp.pages.keys.create import authenticate_url
from webapp.pages.keys.delete import list_query
from webapp.pages.keys.format import exact_time
from webapp.pages.keys.forms import update_defaults
from webapp.pages.keys.listing import list_values, page_context, values_from_current_url
from webapp.security import privileges
from webapp.services.api_keys import page as key_pages
from webapp.services.api_keys.rotation import DEFAULT_GRACE_PERIOD, MAX_BULK_ROTATE
from webapp.web.errors import html_error
from webapp.web.extensions import tuning
from webapp.web.guard import current_subject, requires
from webapp.web.htmx import render, wants_partial

# The grace periods the forms offer (value, label); the service takes any time value up to 30 days.
GRACE_CHOICES = (("0", "Stop it at once"), ("1h", "1 hour"), ("24h", "24 hours"), ("7d", "7 days"),
                 ("30d", "30 days"))


@bp.context_processor
def _grace_choices():
    return {"grace_choices": GRACE_CHOICES, "default_grace": DEFAULT_GRACE_PERIOD}


@bp.app_template_global()
def rotated_csv(outcome):
    """The new credentials of a bulk rotation as CSV text, for the panel's download link. Credentials are
    written as they are (a quote before one would break it); the name, which anyone may have typed, can't
    become a spreadsheet formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(("name", "id", "encoded", "id:api_key", "replaces", "old_key_stops"))
    for done in outcome.rotated:
        writer.writerow((csv_cell(done.created.name), done.created.id, done.created.encoded, done.created.beats,
                         done.previous_id, exact_time(done.previous_stops)))
    return buffer.getvalue()


def _grace_period():
    return request.form.get("grace_period", "")[:100] or None


@bp.post("/<key_id>/rotate")
@requires(*privileges.MANAGE_OWN_KEYS)
def rotate(key_id):
    """Rotate a key from its details. To htmx: the credential panel (keys/_created.html, retargeted to
    #created-key) with the old key's details out of band (→ #key-details) and keys-changed; 422 re-renders
    the details (→ #key-details) with the message. Without htmx: the old key's details page with the panel.
    A new secret is always sent with Cache-Control: no-store."""
    outcome = key_pages.rotate_key(current_subject(), key_id, _grace_period(),
                                   usage_retention_ms=tuning().usage_retention_ms)
    details = outcome.details
    context = {"details": details, "form": update_defaults(details.key), "now": now_ms()}
    if outcome.rotated is None:
        return render("keys/details.html", "keys/_details.html", 422, form_errors=outcome.errors, **context)
    context.update(form_errors={}, created=outcome.rotated.created, rotation=outcome.rotated,
                   authenticate_url=authenticate_url())
    if wants_partial():
        return render("keys/details.html", "keys/_rotated.html", retarget="#created-key", reswap="outerHTML",
                      trigger="api-key-rotated, keys-changed", no_store=True, **context)
    return render("keys/details.html", "keys/_rotated.html", no_store=True, **context)


def _selected(values):
    return values.getlist("ids")


def _confirmation(ids, return_values, errors=None, status=200):
    try:
        keys = key_pages.keys_to_rotate(current_subject(), ids)
    except ValidationFailed as error:
        return html_error(422, "Nothing to rotate", " ".join(error.messages))
    return render("keys/confirm_rotate.html", "keys/_rotate_confirm.html", status, keys=keys,
                  return_to=list_query(return_values), in_dialog=wants_partial(), form_errors=errors or {},
                  max_keys=MAX_BULK_ROTATE)


@bp.get("/rotate")
@requires(*privileges.MANAGE_OWN_KEYS)
def confirm_rotate():
    """The confirmation of a bulk rotation, listing the selected keys and asking for the grace period: a page
    (keys/confirm_rotate.html), or to htmx the partial (keys/_rotate_confirm.html → #rotate-keys, in the
    page's dialog)."""
    return _confirmation(_selected(request.args), values_from_current_url())


@bp.post("/rotate")
@requires(*privileges.MANAGE_OWN_KEYS)
def rotate_many():
    """Rotate the posted keys. Unconfirmed: the confirmation page. Confirmed, to htmx: every new credential in
    the panel (keys/_created.html, retargeted to #created-key) with the table out of band; without htmx: the
    keys page with the panel. Both no-store; a bad grace period re-renders the confirmation (422)."""
    ids = _selected(request.form)
    return_values = list_values(MultiDict(parse_qsl(request.form.get("return_to", "")[:2000])))
    if not request.form.get("confirmed"):
        return _confirmation(ids, return_values)
    partial = wants_partial()
    try:
        done = key_pages.rotate_keys(current_subject(), ids, _grace_period(),
                                     values_from_current_url() if partial else return_values)
    except ValidationFailed as error:
        return html_error(422, "Nothing to rotate", " ".join(error.messages))
    except FeatureDisabled:
        raise
    except DomainError as error:
        return _confirmation(ids, return_values, {error.field or "rotate": error.detail}, 422)
    context = page_context(done.listing, bulk_rotation=done.outcome, authenticate_url=authenticate_url())
    if partial:
        return render("keys/index.html", "keys/_rotated_keys.html", retarget="#created-key", reswap="outerHTML",
                      trigger="api-keys-rotated", no_store=True, **context)
    return render("keys/index.html", "keys/_rotated_keys.html", no_store=True, **context)
