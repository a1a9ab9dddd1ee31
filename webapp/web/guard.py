"""Who is calling (a Subject from the session, Basic or ApiKey header) and the @requires route guard."""

import functools

import flask_login
from flask import current_app, flash, g, request, url_for

from webapp.errors import unauthorized
from webapp.security import privileges
from webapp.security.privileges import ACTIONS
from webapp.security.subject import VIA_SESSION, Subject
from webapp.services.access import sessions
from webapp.services.access.authentication import (
    MISSING_CREDENTIALS,
    authenticate_api_key,
    authenticate_basic,
    authentication_failed,
    subject_for_user,
)
from webapp.web.errors import html_error, wants_json
from webapp.web.extensions import tuning
from webapp.web.htmx import redirect_to
from webapp.web.key_limits import check as key_rate_limit
from webapp.web.proxy import subject_from_proxy_header

login_manager = flask_login.LoginManager()


class SessionUser(flask_login.UserMixin):
    """What flask-login keeps in the session: the user's id, generation and creation time, and the session's
    token (services/access/sessions.py). The creation time tells a re-used row id (SQLite re-uses a deleted
    user's) from the old user. Without `token`, the current request's session continues (a password change
    keeps this session going at the new generation)."""

    def __init__(self, user, token=None):
        self.user = user
        self.token = token if token is not None else session_token()

    def get_id(self):
        return sessions.session_id(self.user, self.token)


def session_lifetime() -> sessions.Lifetime:
    """This app's session lifetime: PERMANENT_SESSION_LIFETIME since sign-in, KEYDESK_SESSION_IDLE_MINUTES idle."""
    return sessions.Lifetime(absolute_ms=int(current_app.permanent_session_lifetime.total_seconds() * 1000),
                             idle_ms=int(current_app.config["KEYDESK_SESSION_IDLE_MINUTES"]) * 60_000)


def session_token() -> str:
    """The token of the signed-in session of this request ("" when there is none)."""
    return getattr(flask_login.current_user, "token", "")


@login_manager.user_loader
def _load_session_user(session_id):
    if g.get("keydesk_database_down"):  # drawing the outage page: nobody is signed in for it
        return None
    # Signed out (here or on another instance), disabled, password changed, idle or too old: no session.
    resumed = sessions.resume_session(session_id, session_lifetime())
    if resumed.user is None:
        g.keydesk_session_refused = resumed.refused
        return None
    return SessionUser(resumed.user, resumed.token)


def _session_ended_message():
    refused = g.get("keydesk_session_refused")
    if refused == sessions.IDLE:
        minutes = int(current_app.config["KEYDESK_SESSION_IDLE_MINUTES"])
        return f"Your session ended after {minutes} minutes without activity; sign in again."
    if refused == sessions.EXPIRED:
        hours = round(current_app.permanent_session_lifetime.total_seconds() / 3600, 1)
        return f"Your session ended {hours:g} hours after you signed in; sign in again."
    return None


def client_address():
    return request.remote_addr


def api_key_subject(value: str, address: str | None, gate, admit=None) -> Subject | None:
    """The Subject of an ApiKey credential, checked with this app's settings and the key's own rate limit
    (`admit`: see authenticate_api_key)."""
    tuned = tuning()
    return authenticate_api_key(value, address, flush_seconds=tuned.last_used_flush_seconds, gate=gate,
                                rate_limit=key_rate_limit, usage_retention_ms=tuned.usage_retention_ms, admit=admit)


def _subject_from_authorization():
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "apikey":
        # The address's throttling limits, when they are read with the key (webapp/web/throttle.py).
        return api_key_subject(value, client_address(), g.get("keydesk_gate"))
    if scheme == "basic":
        return authenticate_basic(value, client_address(), cache_seconds=tuning().basic_cache_seconds)
    if header:
        raise authentication_failed()
    raise authentication_failed(MISSING_CREDENTIALS)


def current_subject():
    """The acting Subject, or None when nobody is signed in (HTML routes only; the API raises 401)."""
    if "subject" not in g:
        if wants_json():
            g.subject = _subject_from_authorization()
        else:
            g.subject = subject_from_proxy_header(client_address())
            session_user = flask_login.current_user
            if g.subject is None and session_user.is_authenticated:
                g.subject = subject_for_user(session_user.user, VIA_SESSION, client_address())
    return g.subject


def _not_signed_in():
    if wants_json():
        raise authentication_failed(MISSING_CREDENTIALS)
    here = request.full_path if request.query_string else request.path
    target = url_for("auth.login", next=request.script_root + here)
    message = _session_ended_message()
    if message:
        flask_login.logout_user()  # forget the ended session, so the sign-in page doesn't look it up again
        flash(message, "info")
    return redirect_to(target, 302, htmx_status=401)


def _forbidden(subject, action, needed):
    if wants_json():
        granted_by = ACTIONS.get(action, needed) if action else needed
        raise unauthorized(subject, action or "cluster:admin/keydesk", granted_by)
    message = (
        "Your roles don't grant any of the privileges this page needs: "
        + ", ".join(needed)
        + ". Ask an administrator if you need access."
    )
    return html_error(403, "You don't have permission", message)


def requires(*privileges, action=None):
    """Route guard: the caller must be authenticated and hold any one of `privileges`.

    `action` names the Elasticsearch action for the 403 message of the JSON API; objects are checked in
    the services (is this key yours?), not here.
    """

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            subject = current_subject()
            if subject is None:
                return _not_signed_in()
            if privileges and not subject.may_any(*privileges):
                return _forbidden(subject, action, privileges)
            return view(*args, **kwargs)

        guarded.required_privileges = privileges
        return guarded

    return decorate


def signed_in(view):
    """Route guard for pages every signed-in user may see (no privilege needed)."""
    return requires()(view)


def init_app(app):
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # "basic" marks the session non-fresh on a changed address/agent; "strong" would sign people out
    # whenever a proxy or mobile network changes their address.
    login_manager.session_protection = "basic"

    @app.context_processor
    def _inject_subject():
        # The 503 page for a database outage is drawn without asking the database who is signed in.
        if wants_json() or g.get("keydesk_database_down"):
            return {"subject": None, "privileges": privileges}
        return {"subject": current_subject(), "privileges": privileges}
