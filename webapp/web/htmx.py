"""Answering htmx: the one place that knows its request and response headers. Every page view and the error
handlers build their answers here: a page or its partial, events to trigger, a retarget, a redirect, no-store."""

from urllib.parse import urlsplit

from flask import Response, flash, make_response, redirect, render_template, request
from werkzeug.urls import iri_to_uri

from webapp.web.caching import keep_out_of_caches


def wants_partial() -> bool:
    """True for an htmx swap; a boosted request or a history restore (back button) needs the whole page."""
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def respond(body: str = "", status: int = 200, *, trigger: str | None = None, retarget: str | None = None,
            reswap: str | None = None, push_url: str | None = None, no_store: bool = False) -> Response:
    """A response with the htmx headers asked for: `trigger` an event (each needs a listener in static/*.js
    or an hx-trigger), `retarget`/`reswap` where the body goes, `push_url` the address bar; `no_store` keeps
    it out of every cache (a shown-once secret)."""
    response = make_response(body, status)
    headers = {"HX-Trigger": trigger, "HX-Retarget": retarget, "HX-Reswap": reswap, "HX-Push-Url": push_url}
    response.headers.update({name: value for name, value in headers.items() if value})
    return keep_out_of_caches(response) if no_store else response


def render(page: str, partial: str, /, status: int = 200, *, trigger: str | None = None,
           retarget: str | None = None, reswap: str | None = None, push_url: str | None = None,
           no_store: bool = False, **context) -> Response:
    """The partial to an htmx swap, else the full page (which includes the partial)."""
    body = render_template(partial if wants_partial() else page, **context)
    return respond(body, status, trigger=trigger, retarget=retarget, reswap=reswap, push_url=push_url,
                   no_store=no_store)


def redirect_to(url: str, status: int = 303, *, htmx_status: int = 200) -> Response:
    """Leave for `url`: to htmx (which can't follow a 3xx into a full page) HX-Redirect with `htmx_status`,
    else a `status` redirect."""
    if request.htmx:
        response = make_response("", htmx_status)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, status)


def navigate(url: str, message: str | None = None) -> Response:
    """After a change that leaves the page: the message as a flash for the next page, then redirect_to."""
    if message:
        flash(message, "success")
    return redirect_to(url)


def local_url(target: str | None, fallback: str) -> str:
    """`target` when it is a path on this site (no open redirects), else `fallback`."""
    if target:
        parts = urlsplit(target)
        # Control characters and line breaks (CR, LF, U+0085, U+2028...) would break or forge a response
        # header (Location, HX-Redirect): such a target is refused; other non-ASCII is percent-encoded.
        if (not parts.scheme and not parts.netloc and target.startswith("/") and target.isprintable()
                and not target.startswith(("//", "/\\")) and "\\" not in target):
            return iri_to_uri(target)
    return fallback
