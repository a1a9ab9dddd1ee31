"""Verifying an API key outside Flask's request pipeline: `GET /_security/_authenticate` with a key that passes.

That request is what services and nginx's `auth_request` send before every request they serve, and through
Flask it spends more time in the pipeline (request context, a dozen hooks, header objects) than in the check
itself (docs/benchmarks.md). This WSGI layer sits between the proxy handling (ProxyFix) and Flask. It answers
one kind of request: a GET without a body whose ApiKey credential passes every check (and holds the privileges
the query string names, when it names any), using the same functions as the route and its hooks, and giving
the same answer, header for header (tests/integration/test_fast_verify.py compares the two). Every other
request goes to Flask untouched.

What isn't a plain success is decided again by Flask, which answers it: a wrong or unknown key, a throttled
address, a key over its own limit, missing privileges, the database away, anything unexpected. Until a check
has passed, nothing here leaves a trace (no failure counted, no use recorded, no share of a rate limit taken:
services/access/authentication.authenticate_api_key does those last), so a request handed on is counted once.
"""

from flask import Flask

from webapp.api.blueprint import PRODUCT_HEADER
from webapp.api.negotiation import json_text, plain_request, response_media_type
from webapp.api.security import CHECK_PARAMS, authenticate_body, holds, identity_headers, required_privileges
from webapp.security.credentials import CredentialFormatError, decode_credential
from webapp.web import connections, notices, throttle
from webapp.web.extensions import EVERY_ANSWER_HEADERS
from webapp.web.guard import api_key_subject

PATH = "/_security/_authenticate"


class FastVerify:
    """The WSGI app in front of Flask's: answers a passing key check itself, hands everything else on."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        answered = self.answer(environ)
        if answered is None:
            return self.wsgi_app(environ, start_response)
        status, headers, body = answered
        start_response(status, headers)
        return [body]

    @staticmethod
    def takes(environ) -> bool:
        """Whether the request is the kind this layer may answer: worth trying, not yet checked."""
        return (environ.get("PATH_INFO") == PATH and environ.get("REQUEST_METHOD") == "GET"
                and environ.get("HTTP_AUTHORIZATION", "")[:7].lower() == "apikey " and plain_request(environ))

    def answer(self, environ) -> tuple[str, list, bytes] | None:
        """(status, headers, body) when the key passes, as the route would answer it; None to hand it to Flask."""
        if not self.takes(environ):
            return None
        with self.app.app_context():
            on_request = self.app.extensions.get(notices.ON_REQUEST)
            if on_request is not None:
                on_request()
            opened = failed = False
            try:
                opened = connections.open_for_request()
                return self._verify(environ)
            except Exception:  # noqa: BLE001 - Flask decides this request again and answers it (errors included)
                failed = True
                return None
            finally:
                connections.release(opened, failed)

    def _verify(self, environ):
        required = None
        if environ.get("QUERY_STRING"):
            args = self.app.request_class(environ).args
            if any(name not in CHECK_PARAMS for name in args):
                return None  # pretty, filter_path, a misspelt name...: the route's own handling
            required = required_privileges(args)
        value = environ["HTTP_AUTHORIZATION"].partition(" ")[2]
        try:
            key_id = decode_credential(value)[0]
        except CredentialFormatError:
            return None
        address = environ.get("REMOTE_ADDR")
        gate, limits = None, throttle.of(self.app)
        if limits.enabled:  # as throttle's hook does for an API request
            gate = throttle.gate_before(limits, "api", throttle.key_claim(key_id), throttle.address(address or ""))
        answered = []

        def admit(subject):  # before anything is recorded for the key; the answer is built here too, so that
            if required is not None and not holds(subject, required):  # nothing can fail once it is recorded
                return False  # missing privileges: the route's 403 to answer
            body = json_text(authenticate_body(subject)).encode()
            answered.append(("200 OK", [("Content-Type", response_media_type(environ)),
                                        ("Content-Length", str(len(body))), *identity_headers(subject),
                                        PRODUCT_HEADER, *EVERY_ANSWER_HEADERS], body))
            return True

        return answered[0] if api_key_subject(value, address, gate, admit) is not None else None


def init_app(app: Flask) -> None:
    """Put the layer right in front of Flask (called before anything else wraps `app.wsgi_app`)."""
    app.wsgi_app = FastVerify(app, app.wsgi_app)
