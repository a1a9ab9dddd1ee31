"""User administration pages."""

from flask import Blueprint, render_template

from webapp.guard import requires

bp = Blueprint("users", __name__, url_prefix="/users")


@bp.get("/")
@requires("read_security", "manage_security")
def index():
    """The users list (users/index.html)."""
    return render_template("users/index.html")
