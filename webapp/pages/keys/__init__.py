"""The API keys pages (HTML, htmx partials): list, create, details and update, delete."""

from flask import Blueprint

bp = Blueprint("keys", __name__, url_prefix="/keys")

from webapp.pages.keys import create, delete, details, format, listing  # noqa: E402  (routes register on bp)

format.init_app(bp)

__all__ = ["bp", "create", "delete", "details", "listing"]
