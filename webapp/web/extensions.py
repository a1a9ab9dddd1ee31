"""Flask extensions, created once and bound to the app in create_app; the app's own settings for the services."""

import atexit
import functools
import logging
from dataclasses import dataclass

from flask import current_app, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from peewee import DatabaseError

from webapp.config import ConfigurationError
from webapp.model.db import database
from webapp.services.access.authentication import last_used
from webapp.services.admin.settings import DurationTooLong, parse_duration_ms
from webapp.services.api_keys.usage_counts import DEFAULT_RETENTION_MS, MIN_RETENTION_MS
from webapp.web.errors import JSON_PATHS
from webapp.web.root import elasticsearch_at_root

csrf = CSRFProtect()
htmx = Htmx()


# No inline script or style, no framing, no plugins: an injected tag can't run or restyle anything.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


_SECURITY_HEADER_ITEMS = tuple((name.lower(), name, value) for name, value in SECURITY_HEADERS.items())
# What `_headers` adds to an answer that sets neither Vary nor any security header of its own.
EVERY_ANSWER_HEADERS = (("Vary", "HX-Request"), *SECURITY_HEADERS.items())


class MountedSessionInterface(SecureCookieSessionInterface):
    """Scope the session cookie to the path Keydesk is mounted at (e.g. /keydesk/ behind a proxy)."""

    def open_session(self, app, request):
        # The JSON API takes credentials only from the Authorization header: no session to read or write there
        # (and not decoding one keeps the key-verification hot path short).
        if request.path.startswith(JSON_PATHS) or elasticsearch_at_root():
            return self.make_null_session(app)
        return super().open_session(app, request)

    def get_cookie_path(self, app):
        if app.config.get("SESSION_COOKIE_PATH"):
            return app.config["SESSION_COOKIE_PATH"]
        return (request.script_root or "") + "/"


@dataclass(frozen=True)
class Tuning:
    """This app's settings for the process's credential cache and last-used buffer (services/access/
    authentication.py), which the web layer passes to the services on each call."""

    basic_cache_seconds: int
    last_used_flush_seconds: int
    usage_retention_ms: int = DEFAULT_RETENTION_MS  # KEYDESK_USAGE_RETENTION


EXTENSION = "keydesk"


def tuning() -> Tuning:
    """The current app's Tuning."""
    return current_app.extensions[EXTENSION]


def init_app(app):
    app.session_interface = MountedSessionInterface()
    htmx.init_app(app)
    csrf.init_app(app)
    app.extensions[EXTENSION] = Tuning(basic_cache_seconds=int(app.config["KEYDESK_BASIC_AUTH_CACHE_SECONDS"]),
                                       last_used_flush_seconds=int(app.config["KEYDESK_LAST_USED_FLUSH_SECONDS"]),
                                       usage_retention_ms=usage_retention_ms(app.config["KEYDESK_USAGE_RETENTION"]))
    _flush_last_used_at_exit()

    @app.after_request
    def _headers(response):
        # The same URL answers a partial to htmx and a page to the browser: caches must tell them apart.
        # One pass over the headers instead of a lookup per name: this runs on every request.
        headers = response.headers
        present = {name.lower() for name in headers.keys()}
        if "vary" in present:
            response.vary.add("HX-Request")
        else:
            headers.add("Vary", "HX-Request")
        for lowered, name, value in _SECURITY_HEADER_ITEMS:
            if lowered not in present:
                headers.add(name, value)
        return response


def usage_retention_ms(text) -> int:
    """KEYDESK_USAGE_RETENTION in milliseconds (a time value from 1d); ConfigurationError naming it otherwise."""
    try:
        retention = parse_duration_ms(text, "KEYDESK_USAGE_RETENTION")
    except DurationTooLong as error:
        raise ConfigurationError(str(error)) from None
    except ValueError:
        raise ConfigurationError(f"KEYDESK_USAGE_RETENTION must be a time value such as 90d, got {text!r}") from None
    if retention < MIN_RETENTION_MS:
        raise ConfigurationError(f"KEYDESK_USAGE_RETENTION must be at least 1d, got {text!r}")
    return retention


@functools.cache  # once per process, however many apps it builds
def _flush_last_used_at_exit():
    atexit.register(_flush_last_used)


def _flush_last_used():
    """Write buffered last-used times when the process ends (gunicorn worker exit, CLI end)."""
    if database.obj is None or not last_used.pending:
        return
    try:
        with database.connection_context():
            last_used.flush()
    except DatabaseError as error:  # best effort: the process is ending and the times are only advisory
        logging.getLogger(__name__).warning("could not write last-used times at exit: %s", error)
