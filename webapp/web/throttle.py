"""Throttling of failed sign-ins and failed API authentications (Flask-Limiter).

Only failures count (`deduct_when`), so people and scripts with good credentials are never slowed; once a
credential or an address has failed too often, every attempt with it waits out the window (429 with
Retry-After). Counters live in memory, or in Redis (KEYDESK_RATELIMIT_STORAGE_URL) so that several
instances share them.
"""

import logging
import time

from flask import g, request
from flask_limiter import Limiter
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

from webapp.errors import AuthenticationFailed
from webapp.security.credentials import CredentialFormatError, decode_credential
from webapp.services.access.authentication import parse_basic

log = logging.getLogger(__name__)

limiter = Limiter(key_func=lambda: request.remote_addr or "unknown", default_limits=[])

LOGIN_MESSAGE = "Too many failed sign-in attempts. Wait a moment before trying again."
API_MESSAGE = "too many failed authentication attempts; retry later"


def credential_key():
    """Who the request claims to be, without checking it: `key:<id>`, `user:<name>`, or `none`."""
    if request.method == "POST" and request.endpoint == "auth.login":
        return "user:" + request.form.get("username", "")[:200]
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    try:
        if scheme.lower() == "apikey":
            return "key:" + decode_credential(value)[0][:100]
        if scheme.lower() == "basic":
            return "user:" + parse_basic(value)[0][:200]
    except (CredentialFormatError, AuthenticationFailed):
        return "malformed"
    return "none"


def _failed(response):
    return response.status_code == 401


def retry_after_seconds():
    """Seconds until the limit that refused this request resets (at least 1)."""
    if "keydesk_retry_after" in g:
        return g.keydesk_retry_after
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, int(current.reset_at - time.time()))


def init_app(app):
    """Bind the limiter; limit failures on the sign-in form (POST) and on the whole JSON API."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["KEYDESK_RATELIMIT_STORAGE_URL"])
    # Flask-Limiter would otherwise inherit "enabled" from the previous app bound to the same limiter.
    app.config.setdefault("RATELIMIT_ENABLED", True)
    # With the counters' store (Redis) down, throttling pauses (logged) rather than refusing everyone:
    # credentials are still checked in full on every request.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter.init_app(app)
    per_credential = app.config["KEYDESK_AUTH_FAILURES_PER_CREDENTIAL"]
    per_address = app.config["KEYDESK_AUTH_FAILURES_PER_ADDRESS"]

    login = app.view_functions["auth.login"]
    limits = ((per_credential, credential_key, "login-credential"), (per_address, None, "login-address"))
    for limit, key, scope in limits:
        login = limiter.limit(limit, key_func=key, deduct_when=_failed, methods=["POST"],
                              error_message=LOGIN_MESSAGE, scope=scope)(login)
    app.view_functions["auth.login"] = login

    api = app.blueprints["api"]
    limiter.exempt(api)
    hooks = app.before_request_funcs.get(None, [])
    for number, hook in enumerate(hooks):
        if getattr(hook, "__func__", None) is Limiter._check_request_limit:
            hooks[number] = _outside(api.name, hook)
    hooks = app.after_request_funcs.get(None, [])
    for number, hook in enumerate(hooks):
        if getattr(hook, "args", None) == (limiter,):  # Flask-Limiter's response-header hook
            hooks[number] = _outside(api.name, hook, passthrough=True)
    hooks = app.teardown_request_funcs.get(None, [])
    for number, hook in enumerate(hooks):
        if getattr(hook, "__self__", None) is limiter:  # resets a context the API never used
            hooks[number] = _outside(api.name, hook)
    limits = [(item, key, scope) for text, key, scope in ((per_credential, credential_key, "api-credential"),
                                                           (per_address, _address, "api-address"))
              for item in parse_many(text)]
    app.before_request_funcs.setdefault(api.name, []).insert(0, lambda: _refuse_throttled(limits))
    app.after_request_funcs.setdefault(api.name, []).append(lambda response: _count_failure(limits, response))


# The API checks its two failure limits directly against the limiter's storage and strategy: Flask-Limiter's
# per-request machinery cost a third of a verified request. Same limits, storage (memory or Redis) and 429.
def _outside(blueprint, hook, passthrough=False):
    """A Flask-Limiter hook, skipped on a blueprint it has nothing to do on (after-request hooks pass the
    response through)."""

    def skipped(*args):
        if request.blueprint != blueprint:
            return hook(*args)
        return args[0] if passthrough else None

    return skipped


def _address():
    return request.remote_addr or "unknown"


def _refuse_throttled(limits):
    if not limiter.enabled:
        return
    for item, key, scope in limits:
        identifiers = (key(), scope)
        try:
            allowed = limiter.limiter.test(item, *identifiers)
            reset_at = None if allowed else limiter.limiter.get_window_stats(item, *identifiers)[0]
        except Exception as error:  # the store is unreachable: see init_app
            log.warning("throttle store unavailable, not throttling: %s", error)
            return
        if not allowed:
            g.keydesk_retry_after = max(1, int(reset_at - time.time()) + 1)
            raise TooManyRequests(API_MESSAGE)


def _count_failure(limits, response):
    if limiter.enabled and _failed(response):
        try:
            for item, key, scope in limits:
                limiter.limiter.hit(item, key(), scope)
        except Exception as error:  # the store is unreachable: see init_app
            log.warning("throttle store unavailable, failure not counted: %s", error)
    return response
