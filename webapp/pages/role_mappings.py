"""Role mapping pages: the list, the editor (rule builder or JSON), and deleting a mapping."""

from flask import Blueprint, request, url_for

from webapp.errors import NotFound
from webapp.security import privileges
from webapp.services.admin import role_mappings
from webapp.services.admin import role_mappings_page as mapping_admin
from webapp.web.guard import current_subject, requires
from webapp.web.htmx import local_url, navigate, render, wants_partial

bp = Blueprint("role_mappings", __name__, url_prefix="/role-mappings")


@bp.get("/")
@requires(*privileges.READ_SECURITY)
def index():
    """The list (role_mappings/index.html); to htmx, the table (role_mappings/_table.html → #mapping-table)."""
    search = request.args.get("search", "")[:200]
    listing = mapping_admin.mapping_list(current_subject(), search)
    return render("role_mappings/index.html", "role_mappings/_table.html", listing=listing, search=search,
                  can_manage=listing.can_manage, here=request.full_path if request.query_string else request.path)


def _editor(editor):
    action = (url_for("role_mappings.create") if editor.creating
              else url_for("role_mappings.update", name=editor.form.name))
    return render("role_mappings/editor.html", "role_mappings/_editor.html", editor.status, editor=editor,
                  form=editor.form, creating=editor.creating, errors=editor.errors, action=action)


@bp.get("/new")
@requires(*privileges.MANAGE_SECURITY)
def create_form():
    """The empty editor."""
    return _editor(mapping_admin.new_editor())


@bp.get("/edit")
@requires(*privileges.READ_SECURITY)
def edit():
    """The editor of `?name=`; read-only without manage_security."""
    return _editor(mapping_admin.editor_for(current_subject(), request.args.get("name", "")))


@bp.post("/new")
@requires(*privileges.MANAGE_SECURITY)
def create():
    return _submit(mapping_admin.form_from_fields(request.form), creating=True)


@bp.post("/edit")
@requires(*privileges.MANAGE_SECURITY)
def update():
    form = mapping_admin.form_from_fields(request.form)
    form.name = request.args.get("name", "")  # a mapping's name never changes
    return _submit(form, creating=False)


def _submit(form, *, creating):
    editor = mapping_admin.submit(current_subject(), form, request.form.get("intent", "save"), creating=creating)
    if not editor.saved:
        return _editor(editor)
    return navigate(url_for("role_mappings.index"), f"Saved role mapping {form.name}.")


@bp.get("/delete")
@requires(*privileges.MANAGE_SECURITY)
def confirm_delete():
    """The confirmation (role_mappings/delete.html; to htmx role_mappings/_delete.html → #mapping-delete)."""
    name = request.values.get("name", "")
    mapping_admin.editor_for(current_subject(), name)  # NotFound when there is none
    back = local_url(request.values.get("next"), url_for("role_mappings.index"))
    return render("role_mappings/delete.html", "role_mappings/_delete.html", name=name, next=back,
                  in_dialog=wants_partial())


@bp.post("/delete")
@requires(*privileges.MANAGE_SECURITY)
def delete():
    name = request.form.get("name", "")
    if not role_mappings.delete_role_mapping(current_subject(), name):
        raise NotFound(f"role mapping [{name}] not found")
    back = local_url(request.form.get("next"), url_for("role_mappings.index"))
    return navigate(back, f"Deleted role mapping {name}.")
