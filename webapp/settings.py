"""Settings page: license, API keys on/off, key retention."""

from flask import Blueprint, render_template

from webapp.guard import requires

bp = Blueprint("settings", __name__, url_prefix="/settings")


@bp.get("/")
@requires("manage_security")
def index():
    """The settings page (settings/index.html)."""
    return render_template("settings/index.html")
