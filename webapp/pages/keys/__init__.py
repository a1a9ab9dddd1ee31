"""The API keys pages (HTML, htmx partials): list, create, details and update, rotate, delete.

Importing the package registers every route on `bp` (pages.keys.blueprint).
"""

from webapp.pages.keys import create, delete, details, format, listing, rotate
from webapp.pages.keys.blueprint import bp

format.init_app(bp)

__all__ = ["bp", "create", "delete", "details", "listing", "rotate"]
