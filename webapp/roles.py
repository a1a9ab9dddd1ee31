"""Role administration pages."""

from flask import Blueprint, render_template

from webapp.guard import requires

bp = Blueprint("roles", __name__, url_prefix="/roles")


@bp.get("/")
@requires("read_security", "manage_security")
def index():
    """The roles list (roles/index.html)."""
    return render_template("roles/index.html")
