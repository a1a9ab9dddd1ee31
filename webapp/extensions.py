"""Flask extensions, created once and bound to the app in create_app."""

from flask import request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx

from webapp.security import passwords

csrf = CSRFProtect()
htmx = Htmx()


class MountedSessionInterface(SecureCookieSessionInterface):
    """Scope the session cookie to the path Keydesk is mounted at (e.g. /keydesk/ behind a proxy)."""

    def get_cookie_path(self, app):
        if app.config.get("SESSION_COOKIE_PATH"):
            return app.config["SESSION_COOKIE_PATH"]
        return (request.script_root or "") + "/"


def init_app(app):
    app.session_interface = MountedSessionInterface()
    htmx.init_app(app)
    csrf.init_app(app)
    if app.config.get("KEYDESK_PASSWORD_HASH_ROUNDS"):
        passwords.set_rounds(app.config["KEYDESK_PASSWORD_HASH_ROUNDS"])

    @app.after_request
    def _vary_on_htmx(response):
        # The same URL answers a partial to htmx and a page to the browser: caches must tell them apart.
        response.vary.add("HX-Request")
        return response
