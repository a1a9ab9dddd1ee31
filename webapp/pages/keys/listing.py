"""The list: search, filters, sort and paging, as a page or as the #key-table partial."""

from urllib.parse import parse_qsl, urlparse

from flask import get_flashed_messages, render_template, request, url_for
from htmx_flask import make_response
from werkzeug.datastructures import MultiDict

from webapp.clock import now_ms
from webapp.errors import FeatureDisabled, ValidationFailed
from webapp.pages.keys import bp
from webapp.pages.keys.forms import create_defaults
from webapp.security import privileges
from webapp.services.api_keys import commands as api_keys
from webapp.services.api_keys import listing as key_search
from webapp.services.api_keys.details import rights_of
from webapp.web.errors import wants_partial
from webapp.web.guard import current_subject, requires

LIST_FIELDS = ("q", "type", "status", "sort", "dir", "size")
COLUMNS = (("name", "Name"), ("type", "Type"), ("owner", "Owner"), ("realm", "Realm"), ("created", "Created"),
           ("status", "Status"), ("last_used", "Last used"))


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


def key_table_context(values, *, after=None, before=None, created_id=None):
    """Everything keys/_table.html (and the page around it) needs, for the page and the fragment alike."""
    subject = current_subject()
    context = {"values": values, "columns": COLUMNS, "created_id": created_id, "now": now_ms(), "errors": {},
               "page": None, "deletable": set()}
    try:
        criteria = key_search.build_criteria(subject, q=values["q"], type=values["type"], status=values["status"],
                                             owners=values["owner"], sort=values["sort"], direction=values["dir"],
                                             size=values["size"] or None)
        page = key_search.search_keys(subject, criteria, after=after or None, before=before or None)
    except ValidationFailed as error:
        context.update(errors=error.fields, rights=rights_of(subject),
                       owner_choices=key_search.owner_choices(subject))
        return context
    context.update(page=page, rights=page.rights, owner_choices=page.owner_choices,
                   deletable={key.id for key in page.keys if api_keys.may_invalidate(subject, key)})
    return context


def render_list(context, status=None):
    """The page, or the table alone for an htmx swap (keys/_table.html → #key-table)."""
    status = status or (422 if context["errors"] else 200)
    if wants_partial():
        return render_template("keys/_table.html", **context), status
    form = create_defaults(current_subject()) if context["rights"].may_create else None
    return render_template("keys/index.html", messages=get_flashed_messages(with_categories=True), form=form,
                           form_errors={}, **context), status


@bp.get("/")
@requires(*privileges.SEE_KEYS)
def index():
    """The keys page (keys/index.html); to htmx, the table partial (keys/_table.html → #key-table)."""
    context = key_table_context(list_values(request.args), after=request.args.get("after"),
                                before=request.args.get("before"))
    return render_list(context)


@bp.errorhandler(FeatureDisabled)
def api_keys_disabled(error):
    """API keys are switched off: keys/disabled.html, or to htmx its content (keys/_disabled.html → #keys-page)."""
    if wants_partial():
        return make_response(render_template("keys/_disabled.html"), 200, retarget="#keys-page",
                             reswap="outerHTML")
    return render_template("keys/disabled.html"), 200
