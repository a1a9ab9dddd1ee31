"""Throttling of failed sign-ins and failed API authentications (Flask-Limiter).

Only failures count (`deduct_when`), so people and scripts with good credentials are never slowed; once a
credential or an address has failed too often, every attempt with it waits out the window (429 with
Retry-After). Counters live in memory, or in Redis (KEYDESK_RATELIMIT_STORAGE_URL) so that several
instances share them.
"""

import time

from flask import request
from flask_limiter import Limiter

from webapp.security.credentials import CredentialFormatError, decode_credential
from webapp.services.authentication import parse_basic
from webapp.services.errors import AuthenticationFailed

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
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, int(current.reset_at - time.time()))


def init_app(app):
    """Bind the limiter; limit failures on the sign-in form (POST) and on the whole JSON API."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["KEYDESK_RATELIMIT_STORAGE_URL"])
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
    limiter.limit(per_credential, key_func=credential_key, deduct_when=_failed, error_message=API_MESSAGE,
                  scope="api-credential")(api)
    limiter.limit(per_address, deduct_when=_failed, error_message=API_MESSAGE, scope="api-address")(api)
