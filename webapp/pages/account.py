"""The signed-in user's own account page: identity, roles, effective privileges, changing the password, and
signing out everywhere."""

import flask_login
from flask import Blueprint, request, session, url_for

from webapp.errors import ValidationFailed
from webapp.pages.forms import field_errors
from webapp.services.access import sessions
from webapp.services.access.account import account_summary
from webapp.services.admin import users_page as user_admin
from webapp.web.guard import SessionUser, current_subject, signed_in
from webapp.web.htmx import navigate, render, wants_partial

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.get("/")
@signed_in
def index():
    """Who you are and what you may do (account/index.html, with account/_password.html)."""
    return render("account/index.html", "account/index.html", account=account_summary(current_subject()), errors={})


@bp.post("/password")
@signed_in
def change_password():
    """Change your own password (the current one is required). Your other sessions end; this one continues.
    To htmx: account/_password.html → #account-password; a problem answers 422 beside the field."""
    subject = current_subject()
    try:
        user = user_admin.change_own_password(subject, request.form.get("current_password", ""),
                                              request.form.get("password", ""),
                                              request.form.get("confirm_password", ""))
    except ValidationFailed as error:
        return render("account/index.html", "account/_password.html", 422, account=account_summary(subject),
                      errors=field_errors(error, "password"))
    flask_login.login_user(SessionUser(user_admin.find(user.username, user.realm)))
    message = "Your password has been changed. Other sessions signed in as you have ended."
    if not wants_partial():
        return navigate(url_for("account.index"), message)
    return render("account/index.html", "account/_password.html", account=account_summary(subject), errors={},
                  password_message=message)


@bp.post("/sign-out-everywhere")
@signed_in
def sign_out_everywhere():
    """End every session signed in as you (every browser, this one included) on every instance; API keys keep
    working. Then the sign-in page, saying so."""
    ended = sessions.sign_out_everywhere(current_subject())
    flask_login.logout_user()
    session.clear()
    message = (f"You have been signed out everywhere: {ended} session{'s' if ended != 1 else ''} ended, this one "
               "included. Your API keys keep working.")
    return navigate(url_for("auth.login"), message)
