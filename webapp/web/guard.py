"""Who is calling (a Subject from the session, Basic or ApiKey header) and the @requires route guard."""

import functools

import flask_login
from flask import g, request, url_for

from webapp.errors import unauthorized
from webapp.model import User
from webapp.security import privileges
from webapp.security.privileges import ACTIONS
from webapp.security.subject import VIA_SESSION
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
from webapp.web.proxy import subject_from_proxy_header

login_manager = flask_login.LoginManager()


class SessionUser(flask_login.UserMixin):
    """What flask-login keeps in the session: the user's id, its creation time and the generation it was
    issued under. The creation time tells a re-used row id (SQLite re-uses a deleted user's) from the old user."""

    def __init__(self, user):
        self.user = user

    def get_id(self):
        return f"{self.user.id}:{self.user.generation}:{self.user.created}"


@login_manager.user_loader
def _load_session_user(session_id):
    if g.get("keydesk_database_down"):  # drawing the outage page: nobody is signed in for it
        return None
    user_id, _, rest = str(session_id).partition(":")
    generation, _, created = rest.partition(":")
    try:
        user = User.get_or_none(User.id == int(user_id))
    except ValueError:
        return None
    # A disabled user, or one whose password changed since sign-in, loses the session at the next request.
    if (user is None or not user.enabled or str(user.generation) != generation
            or str(user.created) != created):
        return None
    return SessionUser(user)


def client_address():
    return request.remote_addr


def _subject_from_authorization():
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "apikey":
        return authenticate_api_key(value, client_address(), flush_seconds=tuning().last_used_flush_seconds)
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
    return redirect_to(target, 302, htmx_status=401)


def _forbidden(subject, action, privileges):
    if wants_json():
        granted_by = ACTIONS.get(action, privileges) if action else privileges
        raise unauthorized(subject, action or "cluster:admin/keydesk", granted_by)
    message = (
        "Your roles don't grant any of the privileges this page needs: "
        + ", ".join(privileges)
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
