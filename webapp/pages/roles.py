"""Role administration pages: the list, the role editor (form and "Edit as JSON"), and deleting a role."""

from flask import Blueprint, request, url_for

from webapp.errors import NotFound
from webapp.pages.forms import checked
from webapp.security import privileges
from webapp.services.admin import role_forms
from webapp.services.admin import roles_page as role_admin
from webapp.services.admin.users import SelfLockout
from webapp.web.guard import current_subject, requires
from webapp.web.htmx import local_url, navigate, render, wants_partial

bp = Blueprint("roles", __name__, url_prefix="/roles")


# ---------------------------------------------------------------- the list
def list_filters():
    """The list's search, reserved toggle, sort and paging from the query string."""
    args = request.args
    shown = args.getlist("reserved")
    size = args.get("size", 25, type=int)
    return {
        "search": args.get("search", "")[:200],
        "show_reserved": "show" in shown or not shown,
        "sort": args.get("sort", "name") if args.get("sort") in role_admin.SORTS else "name",
        "order": "desc" if args.get("order") == "desc" else "asc",
        "page": max(1, args.get("page", 1, type=int) or 1),
        "size": size if size in role_admin.PAGE_SIZES else role_admin.PAGE_SIZES[0],
    }


def _sort_links(query):
    """{column: (URL, aria-sort value)} for the sortable headers: a click sorts by it, a second reverses."""
    links = {}
    for column in role_admin.SORTS:
        active = query["sort"] == column
        next_order = "desc" if active and query["order"] == "asc" else "asc"
        url = url_for("roles.index", **{k: v for k, v in {**query, "sort": column, "order": next_order}.items()
                                        if v is not None})
        state = ("ascending" if query["order"] == "asc" else "descending") if active else None
        links[column] = (url, state)
    return links


@bp.get("/")
@requires(*privileges.READ_SECURITY)
def index():
    """The roles list (roles/index.html); to htmx, the table (roles/_table.html → #role-table)."""
    filters = list_filters()
    page = role_admin.role_page(current_subject(), **filters)
    query = {"search": filters["search"] or None, "reserved": None if filters["show_reserved"] else "hide",
             "sort": filters["sort"], "order": filters["order"], "size": filters["size"]}
    return render("roles/index.html", "roles/_table.html", page=page, filters=filters, query=query,
                  sort_links=_sort_links(query), can_manage=page.can_manage,
                  here=request.full_path if request.query_string else request.path)


# ---------------------------------------------------------------- the editor
def _editor(editor):
    action = url_for("roles.create") if editor.creating else url_for("roles.update", name=editor.form.name)
    return render("roles/editor.html", "roles/_editor.html", editor.status, editor=editor, form=editor.form,
                  creating=editor.creating, errors=editor.errors, action=action)


@bp.get("/new")
@requires(*privileges.MANAGE_SECURITY)
def create_form():
    """The empty role editor, or a copy of `?clone=<name>` with the name cleared (roles/editor.html)."""
    return _editor(role_admin.new_role_editor(current_subject(), request.args.get("clone")))


@bp.get("/edit")
@requires(*privileges.READ_SECURITY)
def edit():
    """The role editor (roles/editor.html), or the read-only view (roles/view.html) for a reserved role or
    a reader without manage_security."""
    shown = role_admin.role_page_of(current_subject(), request.args.get("name", ""))
    if isinstance(shown, role_admin.RoleView):
        return render("roles/view.html", "roles/_view.html", view=shown, detail=shown.detail)
    return _editor(shown)


@bp.post("/new")
@requires(*privileges.MANAGE_SECURITY)
def create():
    """Handle the editor's buttons for a new role; "Save role" creates it and returns to the list."""
    return _submit(role_forms.form_from_fields(request.form), creating=True)


@bp.post("/edit")
@requires(*privileges.MANAGE_SECURITY)
def update():
    """Handle the editor's buttons for an existing role (its name comes from the URL and never changes)."""
    form = role_forms.form_from_fields(request.form)
    form.name = request.args.get("name", "")
    return _submit(form, creating=False)


def _submit(form, *, creating):
    """Add/remove an index row, switch between form and JSON, or save; re-renders #role-editor on a problem."""
    editor = role_admin.submit_role_editor(current_subject(), form, request.form.get("intent", "save"),
                                           creating=creating, confirmed=checked("confirm_lockout"))
    if not editor.saved:
        return _editor(editor)
    if editor.lost_security_admin:  # the roles pages are closed to you now
        return navigate(url_for("account.index"), f"Saved role {form.name}. You no longer administer security.")
    return navigate(url_for("roles.index"), f"Saved role {form.name}.")


# ---------------------------------------------------------------- deleting
def _deletion(status=200, errors=None):
    preview = role_admin.deletion_preview(current_subject(), request.values.get("name", ""))
    back = local_url(request.values.get("next"), url_for("roles.index"))
    return render("roles/delete.html", "roles/_delete.html", status, preview=preview, next=back,
                  errors=errors or {}, in_dialog=wants_partial())


@bp.get("/delete")
@requires(*privileges.MANAGE_SECURITY)
def confirm_delete():
    """The warning before deleting: how many users hold the role (roles/delete.html; to htmx roles/_delete.html
    → #role-delete, inside the page's dialog)."""
    return _deletion()


@bp.post("/delete")
@requires(*privileges.MANAGE_SECURITY)
def delete():
    """Delete the role and return to the list; a role that is the actor's route to manage_security needs the
    confirmation box ticked."""
    name = request.form.get("name", "")
    try:
        found = role_admin.delete_role(current_subject(), name, confirmed=checked("confirm_lockout"))
    except SelfLockout as error:
        return _deletion(422, {"confirm_lockout": error.reason})
    if not found:
        raise NotFound(f"role [{name}] not found")
    if checked("confirm_lockout"):
        return navigate(url_for("account.index"), f"Deleted role {name}. You no longer administer security.")
    back = local_url(request.form.get("next"), url_for("roles.index"))
    return navigate(back, f"Deleted role {name}.")
