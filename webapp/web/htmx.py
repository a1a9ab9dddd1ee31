"""Helpers the roles, users, settings and account pages share: navigating after a change, form errors."""

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request
from htmx_flask import make_response
from werkzeug.urls import iri_to_uri

from webapp.web.errors import wants_partial


def navigate(url, message=None):
    """After a change that leaves the page: 303 for a plain form, HX-Redirect for htmx (which can't see 3xx)."""
    if message:
        flash(message, "success")
    if request.htmx:
        return make_response("", 200, redirect=url)
    return redirect(url, 303)


def local_url(target, fallback):
    """`target` when it is a path on this site (no open redirects), else `fallback`."""
    if target:
        parts = urlsplit(target)
        # Control characters and line breaks (CR, LF, U+0085, U+2028...) would break or forge a response
        # header (Location, HX-Redirect): such a target is refused; other non-ASCII is percent-encoded.
        if (not parts.scheme and not parts.netloc and target.startswith("/") and target.isprintable()
                and not target.startswith(("//", "/\\")) and "\\" not in target):
            return iri_to_uri(target)
    return fallback


def render(page, partial, /, status=200, trigger=None, **context):
    """The partial to an htmx swap, else the full page (which includes the partial)."""
    body = render_template(partial if wants_partial() else page, **context)
    return make_response(body, status, trigger=trigger)


def field_errors(error, default_field="general"):
    """{field: message} from a DomainError: ValidationFailed's fields, else the error's own field."""
    fields = dict(getattr(error, "fields", None) or {})
    if not fields:
        fields[error.field or default_field] = error.detail
    return fields


def checked(name):
    """A checkbox's state from the posted form."""
    return request.form.get(name) in ("on", "true", "1", "yes")
