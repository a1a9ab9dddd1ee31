"""The API keys pages (HTML, htmx partials)."""

from flask import Blueprint, render_template

from webapp.guard import requires

bp = Blueprint("keys", __name__, url_prefix="/keys")

VIEW_KEYS = ("manage_own_api_key", "manage_api_key", "read_security")


@bp.get("/")
@requires(*VIEW_KEYS)
def index():
    """The keys page (keys/index.html)."""
    return render_template("keys/index.html")
