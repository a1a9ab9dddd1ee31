"""Sign in and out (reserved and native users), and the landing redirect."""


import flask_login
from flask import Blueprint, redirect, render_template, request, session, url_for

from webapp.pages import links
from webapp.services.access import sessions
from webapp.services.schema.health import check_database
from webapp.web.guard import SessionUser, client_address, current_subject, session_lifetime, session_token
from webapp.web.htmx import local_url
from webapp.web.root import elasticsearch_at_root, elasticsearch_root_view

bp = Blueprint("auth", __name__)
links.init_app(bp)  # the site's root blueprint, always registered: its template globals serve every page

LOGIN_FAILED = "Wrong username or password, or the account is disabled."


def safe_next(target):
    """`target` when it is a path on this site, else the keys page (no open redirects)."""
    return local_url(target, url_for("keys.index"))


@bp.get("/")
def index():
    """Redirect a browser to the keys page; answer an Elasticsearch client with the cluster info (an
    Authorization header, or an Accept header that prefers JSON: webapp/web/root.py decides)."""
    api_view = elasticsearch_root_view()
    response = api_view() if api_view and elasticsearch_at_root() else redirect(url_for("keys.index"))
    response.vary.update(("Accept", "Authorization"))  # one URL, two kinds of answer: caches must tell them apart
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in page (auth/login.html); on success, a new session and a redirect to `next`."""
    next_url = request.values.get("next", "")
    if request.method == "GET":
        if current_subject() is not None:
            return redirect(safe_next(next_url))
        return render_template("auth/login.html", next=next_url, error=None, username="")

    username = request.form.get("username", "")
    password = request.form.get("password", "")
    signed_in = sessions.sign_in(username, password, client_address(), session_lifetime(), session_token())
    if signed_in is None:
        return render_template("auth/login.html", next=next_url, error=LOGIN_FAILED, username=username), 401

    # A fresh session on sign-in: nothing from before (fixation) survives, and a new CSRF token is issued.
    # The session's row in the database (services/access/sessions.py) is what sign-out deletes.
    session.clear()
    flask_login.login_user(SessionUser(*signed_in))
    return redirect(safe_next(next_url))


@bp.post("/logout")
def logout():
    """End the session on the server (a kept copy of its cookie opens nothing, on any instance) and go back to
    the sign-in page."""
    sessions.sign_out(current_subject(), session_token())
    flask_login.logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.get("/healthz")
def healthz():
    """200 when the process is up and the database answers."""
    check_database()
    return {"status": "ok"}
