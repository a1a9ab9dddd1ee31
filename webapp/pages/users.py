"""User administration pages: the list, creating a native user, and a user's page (profile and roles,
enable/disable, password reset, delete)."""

import flask_login
from flask import Blueprint, request, url_for

from webapp.errors import DomainError, ValidationFailed
from webapp.pages.forms import checked, field_errors
from webapp.security import privileges
from webapp.services.admin import users_page as user_admin
from webapp.services.admin.users import SelfLockout
from webapp.web.guard import SessionUser, current_subject, requires
from webapp.web.htmx import local_url, navigate, render, wants_partial

bp = Blueprint("users", __name__, url_prefix="/users")


# ---------------------------------------------------------------- the list
def user_table_context():
    """Everything users/_table.html needs, for the page and the htmx fragment alike."""
    args = request.args
    subject = current_subject()
    filters = {"search": args.get("search", "")[:200], "role": args.get("role", "")[:507],
               "size": args.get("size", 25, type=int)}
    page = user_admin.user_page(subject, after=args.get("after", type=int), **filters)
    filters["size"] = page.size
    return {"page": page, "filters": filters, "can_manage": page.can_manage}


@bp.get("/")
@requires(*privileges.READ_SECURITY)
def index():
    """The users list (users/index.html); to htmx, the table (users/_table.html → #user-table)."""
    return render("users/index.html", "users/_table.html", **user_table_context())


# ---------------------------------------------------------------- creating
def _form_values():
    form = request.form
    return {"username": form.get("username", ""), "full_name": form.get("full_name", "").strip(),
            "email": form.get("email", "").strip(), "roles": [r for r in form.getlist("roles") if r]}


def _user_form(form, values, *, status=200, errors=None, lockout=False):
    context = {"values": values, "errors": errors or {}, "lockout": lockout, "role_choices": form.role_choices}
    if form.detail is None:
        return render("users/new.html", "users/_form.html", status, detail=None, **context)
    return render("users/edit.html", "users/_form.html", status, **context, **_user_page_context(form.detail))


@bp.get("/new")
@requires(*privileges.MANAGE_SECURITY)
def create_form():
    """The "Create user" form (users/new.html)."""
    return _user_form(user_admin.user_form(current_subject()), {"username": "", "full_name": "", "email": "",
                                                                 "roles": []})


@bp.post("/new")
@requires(*privileges.MANAGE_SECURITY)
def create():
    """Create a native user and open their page; on a problem, the form again (users/_form.html → #user-form,
    422) with every message beside its field."""
    values = _form_values()
    try:
        user = user_admin.create_user(current_subject(), password=request.form.get("password", ""),
                                      confirm_password=request.form.get("confirm_password", ""), **values)
    except ValidationFailed as error:
        return _user_form(user_admin.user_form(current_subject()), values, status=422,
                          errors=field_errors(error, "username"))
    return navigate(url_for("users.edit", username=user.username, realm=user.realm),
                    f"Created user {user.username}.")


# ---------------------------------------------------------------- one user's page
def _identity():
    return request.args.get("username", ""), request.args.get("realm", "")


def _user_page_context(detail, **extra):
    return {"detail": detail, "can_manage": detail.can_manage, **extra}


@bp.get("/edit")
@requires(*privileges.READ_SECURITY)
def edit():
    """A user's page (users/edit.html): the profile form for administrators of a native user, else details."""
    form = user_admin.user_form(current_subject(), *_identity())
    user = form.detail.user
    values = {"username": user.username, "full_name": user.full_name or "", "email": user.email or "",
              "roles": form.detail.roles}
    return _user_form(form, values)


@bp.post("/edit")
@requires(*privileges.MANAGE_SECURITY)
def update():
    """Save name, email and roles; removing your own manage_security needs the confirmation box ticked.
    On a problem: users/_form.html → #user-form with 422."""
    username, realm = _identity()
    values = _form_values()
    values["username"] = username
    subject = current_subject()
    try:
        user_admin.update_user(subject, username, realm, full_name=values["full_name"], email=values["email"],
                               roles=values["roles"], confirmed=checked("confirm_lockout"))
    except SelfLockout as error:
        return _user_form(user_admin.user_form(subject, username, realm), values, status=422,
                          errors={"confirm_lockout": error.reason}, lockout=True)
    except DomainError as error:
        if error.status == 404:
            raise
        return _user_form(user_admin.user_form(subject, username, realm), values, status=422,
                          errors=field_errors(error))
    if checked("confirm_lockout") and subject.owns(username, realm):  # the users pages are closed to you now
        return navigate(url_for("account.index"), f"Saved user {username}. You no longer administer security.")
    return navigate(url_for("users.edit", username=username, realm=realm), f"Saved user {username}.")


@bp.post("/enabled")
@requires(*privileges.MANAGE_SECURITY)
def set_enabled():
    """Enable or disable the user; to htmx the status block (users/_status.html → #user-status) and the
    `user-changed` event, else back to their page."""
    username, realm = _identity()
    enabled = request.form.get("enabled") == "true"
    subject = current_subject()
    user_admin.set_enabled(subject, username, realm, enabled)
    message = f"{'Enabled' if enabled else 'Disabled'} user {username}."
    if not wants_partial():
        return navigate(url_for("users.edit", username=username, realm=realm), message)
    detail = user_admin.user_detail(subject, username, realm)
    return render("users/edit.html", "users/_status.html",
                  **_user_page_context(detail, status_message=message))


@bp.route("/password", methods=["GET", "POST"])
@requires(*privileges.MANAGE_SECURITY)
def reset_password():
    """Set a user's password: the form (users/password.html, or users/_password.html → #user-password to
    htmx); saving ends the user's sessions (yours continues when it is your own)."""
    username, realm = _identity()
    subject = current_subject()
    detail = user_admin.user_detail(subject, username, realm)
    if request.method == "GET":
        return render("users/password.html", "users/_password.html", **_user_page_context(detail, errors={}))
    try:
        user_admin.reset_password(subject, username, realm, request.form.get("password", ""),
                                  request.form.get("confirm_password", ""))
    except ValidationFailed as error:
        return render("users/password.html", "users/_password.html", 422,
                      **_user_page_context(detail, errors=field_errors(error, "password")))
    if detail.is_self:
        # Keep this session going, at the password's new generation.
        flask_login.login_user(SessionUser(user_admin.find(username, realm)))
    message = f"Password changed for {username}. Their sessions have ended."
    if not wants_partial():
        return navigate(url_for("users.edit", username=username, realm=realm), message)
    return render("users/password.html", "users/_password.html",
                  **_user_page_context(detail, errors={}, password_message=message))


def _deletion():
    username = request.values.get("username", "")
    realm = request.values.get("realm", "")
    detail = user_admin.deletion_preview(current_subject(), username, realm)
    back = local_url(request.values.get("next"), url_for("users.index"))
    return render("users/delete.html", "users/_delete.html", detail=detail, next=back, in_dialog=wants_partial())


@bp.get("/delete")
@requires(*privileges.MANAGE_SECURITY)
def confirm_delete():
    """The warning before deleting a user (users/delete.html; to htmx users/_delete.html → #user-delete)."""
    return _deletion()


@bp.post("/delete")
@requires(*privileges.MANAGE_SECURITY)
def delete():
    """Delete the user and return to the list: their sessions end and their API keys stop working."""
    username, realm = request.form.get("username", ""), request.form.get("realm", "")
    user_admin.delete_user(current_subject(), username, realm)
    return navigate(url_for("users.index"), f"Deleted user {username}.")
