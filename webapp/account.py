"""The signed-in user's own account page."""

from flask import Blueprint, render_template

from webapp.guard import signed_in

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.get("/")
@signed_in
def index():
    """Who you are and what you may do (account/index.html)."""
    return render_template("account/index.html")
