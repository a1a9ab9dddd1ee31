"""Role administration pages: the list, the role editor (form and "Edit as JSON"), and deleting a role."""

from flask import Blueprint, request, url_for

from webapp.errors import DomainError, NotFound
from webapp.security import privileges
from webapp.services.admin import role_forms
from webapp.services.admin import roles_page as role_admin
from webapp.services.admin.role_forms import FormProblems, IndexRow
from webapp.services.admin.users import SelfLockout
from webapp.web.errors import wants_partial
from webapp.web.guard import current_subject, requires
from webapp.web.htmx import checked, field_errors, local_url, navigate, render

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


def role_table_context(filters):
    """Everything roles/_table.html needs, for the page and the htmx fragment alike."""
    subject = current_subject()
    page = role_admin.role_page(subject, **filters)
    query = {"search": filters["search"] or None, "reserved": None if filters["show_reserved"] else "hide",
             "sort": filters["sort"], "order": filters["order"], "size": filters["size"]}
    return {"page": page, "filters": filters, "query": query,
            "can_manage": subject.may_any(*privileges.MANAGE_SECURITY),
            "here": request.full_path if request.query_string else request.path}


@bp.get("/")
@requires(*privileges.READ_SECURITY)
def index():
    """The roles list (roles/index.html); to htmx, the table (roles/_table.html → #role-table)."""
    return render("roles/index.html", "roles/_table.html", **role_table_context(list_filters()))


# ---------------------------------------------------------------- the editor
def _editor(form, *, creating, status=200, errors=None, lockout=False, focus=None):
    return render("roles/editor.html", "roles/_editor.html", status, form=form, creating=creating,
                  errors=errors or {}, lockout=lockout, focus=focus, role_forms=role_forms,
                  action=url_for("roles.create") if creating else url_for("roles.update", name=form.name))


@bp.get("/new")
@requires(*privileges.MANAGE_SECURITY)
def create_form():
    """The empty role editor, or a copy of `?clone=<name>` with the name cleared (roles/editor.html)."""
    source = request.args.get("clone")
    if source:
        detail = role_admin.role_detail(current_subject(), source)
        form = role_forms.form_from_descriptor("", role_forms.clone_descriptor(detail.descriptor))
        form.mode = "form" if form.representable else "json"
    else:
        form = role_forms.RoleForm(indices=[IndexRow()])
    return _editor(form, creating=True)


@bp.get("/edit")
@requires(*privileges.READ_SECURITY)
def edit():
    """The role editor (roles/editor.html), or the read-only view (roles/view.html) for a reserved role or
    a reader without manage_security."""
    subject = current_subject()
    detail = role_admin.role_detail(subject, request.args.get("name", ""))
    if detail.reserved or not subject.may_any(*privileges.MANAGE_SECURITY):
        return render("roles/view.html", "roles/_view.html", detail=detail, role_forms=role_forms,
                      can_manage=subject.may_any(*privileges.MANAGE_SECURITY))
    form = role_forms.form_from_descriptor(detail.name, detail.descriptor)
    if not form.representable:
        form.mode = "json"
    return _editor(form, creating=False)


@bp.post("/new")
@requires(*privileges.MANAGE_SECURITY)
def create():
    """Handle the editor's buttons for a new role; "Save role" creates it and returns to the list."""
    form = role_forms.form_from_fields(request.form)
    return _submit(form, creating=True)


@bp.post("/edit")
@requires(*privileges.MANAGE_SECURITY)
def update():
    """Handle the editor's buttons for an existing role (its name comes from the URL and never changes)."""
    form = role_forms.form_from_fields(request.form)
    form.name = request.args.get("name", "")
    return _submit(form, creating=False)


def _submit(form, *, creating):
    """Add/remove an index row, switch between form and JSON, or save; re-renders #role-editor on a problem."""
    intent = request.form.get("intent", "save")
    if intent == "add-index":
        form.indices.append(IndexRow())
        return _editor(form, creating=creating, focus=f"indices-{len(form.indices) - 1}-names")
    if intent.startswith("remove-index-"):
        number = intent.removeprefix("remove-index-")
        if number.isdigit() and int(number) < len(form.indices):
            del form.indices[int(number)]
        return _editor(form, creating=creating, focus="add-index")
    if intent in ("to-json", "to-form"):
        try:
            switched = role_forms.to_json_view(form) if intent == "to-json" else role_forms.to_form_view(form)
        except FormProblems as problems:
            return _editor(form, creating=creating, status=422, errors=problems.fields)
        return _editor(switched, creating=creating, focus="descriptor-json" if intent == "to-json" else "name")
    return _save(form, creating)


def _save(form, creating):
    try:
        body = role_forms.validated_body(form, check_name=creating)
    except FormProblems as problems:
        return _editor(form, creating=creating, status=422, errors=_for_mode(form, problems.fields))
    try:
        role_admin.save_role(current_subject(), form.name, body, creating=creating,
                             confirmed=checked("confirm_lockout"))
    except SelfLockout as error:
        return _editor(form, creating=creating, status=422, errors={"confirm_lockout": error.reason},
                       lockout=True)
    except NotFound:
        raise
    except DomainError as error:
        return _editor(form, creating=creating, status=422, errors=_for_mode(form, field_errors(error, "name")))
    if checked("confirm_lockout"):  # the roles pages are closed to you now
        return navigate(url_for("account.index"), f"Saved role {form.name}. You no longer administer security.")
    return navigate(url_for("roles.index"), f"Saved role {form.name}.")


def _for_mode(form, fields):
    """In the JSON view, problems with the definition belong beside the JSON text."""
    if form.mode != "json":
        return fields
    moved = {}
    for key, message in fields.items():
        target = key if key in ("name", "confirm_lockout") else "descriptor_json"
        moved[target] = f"{moved[target]} {message}" if target in moved else message
    return moved


# ---------------------------------------------------------------- deleting
def _deletion(status=200, errors=None):
    name = request.values.get("name", "")
    preview = role_admin.deletion_preview(current_subject(), name)
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
