"""The list: search, filters, sort and paging, as a page or as the #key-table partial."""

from urllib.parse import parse_qsl, urlparse

from flask import render_template, request, url_for
from werkzeug.datastructures import MultiDict

from webapp.errors import FeatureDisabled
from webapp.pages.keys.blueprint import bp
from webapp.pages.keys.forms import create_defaults
from webapp.security import privileges
from webapp.services.api_keys.page import KeyListPage, key_page
from webapp.web.guard import current_subject, requires
from webapp.web.htmx import render, wants_partial

LIST_FIELDS = ("q", "type", "status", "sort", "dir", "size", "unused")


def list_values(args):
    """The list's query parameters (search, filters, sort, size) as the form shows them."""
    values = {name: args.get(name, "")[:1000] for name in LIST_FIELDS}
    values["owner"] = args.getlist("owner")[:200]
    return values


def values_from_current_url():
    """The list parameters of the page an htmx request came from (HX-Current-URL), for re-rendering it."""
    current = request.headers.get("HX-Current-URL", "")
    parsed = urlparse(current)
    if not parsed.path.rstrip("/").endswith(url_for("keys.index").rstrip("/")):
        return list_values(MultiDict())
    return list_values(MultiDict(parse_qsl(parsed.query)))


@bp.app_template_global()
def keys_url(values, **changes):
    """The list's URL for `values` with `changes` applied; empty parameters are left out."""
    params = {k: v for k, v in {**values, **changes}.items() if v not in ("", None, [], ())}
    return url_for("keys.index", **params)


@bp.app_template_global()
def sort_link(values, column):
    """(URL, aria-sort value) for a column header: a click sorts by it, a second click reverses."""
    current = values.get("sort") or "created"
    direction = values.get("dir") or ("desc" if current == "created" else "asc")
    if current == column:
        next_direction = "asc" if direction == "desc" else "desc"
        state = "ascending" if direction == "asc" else "descending"
    else:
        next_direction, state = ("desc" if column == "created" else "asc"), None
    return keys_url(values, sort=column, dir=next_direction), state


def page_context(keys: KeyListPage, **extra):
    """The template variables of the keys page (or its table) for `keys`, with a fresh create form."""
    form = create_defaults(keys.own_descriptors) if keys.rights.may_create else None
    return {**keys.context(), "form": form, "form_errors": {}, **extra}


@bp.get("/")
@requires(*privileges.SEE_KEYS)
def index():
    """The keys page (keys/index.html); to htmx, the table partial (keys/_table.html → #key-table)."""
    keys = key_page(current_subject(), list_values(request.args), after=request.args.get("after"),
                    before=request.args.get("before"))
    return render("keys/index.html", "keys/_table.html", 422 if keys.errors else 200, **page_context(keys))


@bp.errorhandler(FeatureDisabled)
def api_keys_disabled(error):
    """API keys are switched off: keys/disabled.html, or to htmx its content (keys/_disabled.html → #keys-page)."""
    if wants_partial():
        return render("keys/disabled.html", "keys/_disabled.html", retarget="#keys-page", reswap="outerHTML")
    return render_template("keys/disabled.html"), 200
