"""What the roles pages need beyond the role API: a searchable, sortable list with user counts, and saves
and deletes that refuse to lock the acting administrator out of security administration unconfirmed."""

import math
from dataclasses import dataclass, field

from peewee import JOIN, fn

from webapp.errors import DomainError, NotFound
from webapp.model import Role, User, UserRole
from webapp.security import privileges
from webapp.security.permissions import Permission
from webapp.security.subject import Subject
from webapp.services.access.rights import require
from webapp.services.admin import role_forms, roles
from webapp.services.admin.role_form_applications import ApplicationRow
from webapp.services.admin.users import SelfLockout

PAGE_SIZES = (25, 50, 100)
SORTS = ("name", "users")
LOCKOUT_MESSAGE = ("You hold this role, and without it you would lose the manage_security privilege: you could no "
                   "longer manage users, roles or settings. Confirm to go ahead.")



@dataclass(frozen=True)
class RoleRow:
    """One row of the roles list."""

    name: str
    description: str
    reserved: bool
    deprecated_reason: str | None
    disabled: bool
    holders: int

    @property
    def deprecated(self) -> bool:
        return self.deprecated_reason is not None


@dataclass(frozen=True)
class RolePage:
    rows: list
    total: int
    page: int
    size: int
    can_manage: bool = False  # the actor may create, edit and delete roles

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def first_shown(self) -> int:
        return 0 if not self.rows else (self.page - 1) * self.size + 1

    @property
    def last_shown(self) -> int:
        return (self.page - 1) * self.size + len(self.rows)


def role_row(name: str, descriptor: dict, reserved: bool, holders: int) -> RoleRow:
    """A RoleRow from a stored role: badges from its metadata and transient metadata."""
    metadata = descriptor.get("metadata") or {}
    deprecated = None
    if metadata.get("_deprecated"):
        deprecated = str(metadata.get("_deprecated_reason") or "")
    return RoleRow(name=name, description=descriptor.get("description") or "", reserved=bool(reserved),
                   deprecated_reason=deprecated, holders=holders,
                   disabled=(descriptor.get("transient_metadata") or {}).get("enabled") is False)


def role_page(subject: Subject, *, search: str = "", show_reserved: bool = True, sort: str = "name",
              order: str = "asc", page: int = 1, size: int = 25) -> RolePage:
    """One page of roles matching `search` (name or anything in the definition), with how many users hold each."""
    require(subject, privileges.ROLE_GET)
    size = size if size in PAGE_SIZES else PAGE_SIZES[0]
    sort = sort if sort in SORTS else "name"
    descending = order == "desc"
    query = Role.select(Role.name, Role.descriptor, Role.reserved)
    search = (search or "").strip()[:200]
    if search:
        # The definition is searched as stored text (cast, so the JSON field doesn't encode the pattern).
        query = query.where(Role.name.contains(search) | Role.descriptor.cast("TEXT").contains(search))
    if not show_reserved:
        query = query.where(Role.reserved == False)  # noqa: E712 (SQL)
    total = query.count()
    page = max(1, min(int(page or 1), max(1, math.ceil(total / size))))
    name_order = Role.name.desc() if descending else Role.name.asc()
    if sort == "users":
        counts = (UserRole.select(UserRole.role_name, fn.COUNT(UserRole.id).alias("holders"))
                  .group_by(UserRole.role_name).alias("counts"))
        holders = fn.COALESCE(counts.c.holders, 0)
        query = (query.select_extend(holders.alias("holders"))
                 .join(counts, JOIN.LEFT_OUTER, on=(counts.c.role_name == Role.name))
                 .order_by(holders.desc() if descending else holders.asc(), Role.name.asc()))
    else:
        query = query.order_by(name_order)
    found = list(query.paginate(page, size))
    counts_by_name = roles.users_holding([row.name for row in found]) if found else {}
    rows = [role_row(row.name, row.descriptor, row.reserved, counts_by_name.get(row.name, 0)) for row in found]
    return RolePage(rows=rows, total=total, page=page, size=size,
                    can_manage=subject.may_any(*privileges.MANAGE_SECURITY))


@dataclass(frozen=True)
class RoleDetail:
    name: str
    descriptor: dict
    reserved: bool
    holders: int

    @property
    def row(self) -> RoleRow:
        return role_row(self.name, self.descriptor, self.reserved, self.holders)


def role_detail(subject: Subject, name: str) -> "RoleDetail":
    """A role with whether it is reserved and how many users hold it; NotFound when there is none."""
    descriptor = roles.get_role(subject, name)
    reserved = Role.select(Role.reserved).where(Role.name == name).scalar()
    return RoleDetail(name=name, descriptor=descriptor, reserved=bool(reserved),
                      holders=roles.users_holding([name]).get(name, 0))


def locks_out(subject: Subject, role_name: str, new_descriptor: dict | None) -> bool:
    """True when giving the role `new_descriptor` (None: deleting it) takes manage_security from the actor."""
    if subject.is_api_key or role_name not in subject.roles or not subject.may("manage_security"):
        return False
    descriptors = dict(subject.role_descriptors)
    if new_descriptor is None:
        descriptors.pop(role_name, None)
    else:
        descriptors[role_name] = new_descriptor
    return not Permission.of_roles(descriptors).check_cluster("manage_security")


def save_role(subject: Subject, name: str, body: object, *, creating: bool, confirmed: bool = False) -> dict:
    """Create (never overwriting) or update a role from the editor; returns the stored descriptor.

    Raises DomainError with `field` set for the form, SelfLockout when the change would take the actor's
    own manage_security away and `confirmed` is false.
    """
    if creating:
        roles.put_role(subject, name, body, create_only=True)
    else:
        existing = Role.get_or_none(Role.name == name)
        if existing is None:
            raise NotFound(f"role [{name}] not found")
        if existing.reserved:
            raise DomainError(f"Role [{name}] is reserved and may not be used.", field="name")
        descriptor = roles.parse_role(name, body)
        if not confirmed and locks_out(subject, name, descriptor):
            raise SelfLockout(LOCKOUT_MESSAGE, field="confirm_lockout")
        roles.put_role(subject, name, body)
    return roles.get_role(subject, name)


@dataclass(frozen=True)
class DeletionPreview:
    """What deleting a role would do: who holds it, and whether the actor loses manage_security."""

    name: str
    holders: int
    sample: list
    locks_out: bool


def deletion_preview(subject: Subject, name: str, sample_size: int = 10) -> "DeletionPreview":
    """The warning shown before a role is deleted; NotFound for a missing role, DomainError for a reserved one."""
    require(subject, privileges.ROLE_DELETE)
    role = Role.get_or_none(Role.name == name)
    if role is None:
        raise NotFound(f"role [{name}] not found")
    if role.reserved:
        raise DomainError(f"role [{name}] is reserved and cannot be deleted")
    holders = roles.users_holding([name]).get(name, 0)
    sample = [f"{user.username}@{user.realm}" for user in (
        User.select(User.username, User.realm).join(UserRole, JOIN.INNER, on=(UserRole.user == User.id))
        .where(UserRole.role_name == name).order_by(User.username, User.realm).limit(sample_size))]
    return DeletionPreview(name=name, holders=holders, sample=sample, locks_out=locks_out(subject, name, None))


def delete_role(subject: Subject, name: str, *, confirmed: bool = False) -> bool:
    """Delete a role from the roles page; SelfLockout unless confirmed when it is the actor's route to
    manage_security. Returns whether it existed."""
    require(subject, privileges.ROLE_DELETE)
    if not confirmed and locks_out(subject, name, None):
        raise SelfLockout(LOCKOUT_MESSAGE, field="confirm_lockout")
    return roles.delete_role(subject, name)


def role_names(subject: Subject) -> list[tuple[str, bool]]:
    """(name, reserved) of every role, for the users form's role choices (names only)."""
    require(subject, privileges.ROLE_GET)
    return [(row.name, row.reserved) for row in Role.select(Role.name, Role.reserved).order_by(Role.name)]


# ---------------------------------------------------------------- the editor
@dataclass
class RoleEditor:
    """The role editor as it is to be shown: the form, problems by field, the field to focus, the choices
    it offers (from the form's values), and whether the role was saved (then the page is left)."""

    form: role_forms.RoleForm
    creating: bool
    errors: dict = field(default_factory=dict)
    focus: str | None = None
    lockout: bool = False
    saved: bool = False
    lost_security_admin: bool = False  # saved with the actor's own manage_security taken away, as confirmed
    cluster_choices: list = field(default_factory=list)
    index_choices: list = field(default_factory=list)  # per index row

    def __post_init__(self) -> None:
        self.cluster_choices = role_forms.cluster_choices(self.form.cluster)
        self.index_choices = [role_forms.index_choices(row.privileges) for row in self.form.indices]

    @property
    def status(self) -> int:
        return 422 if self.errors else 200


@dataclass(frozen=True)
class RoleView:
    """A role shown read-only (reserved, or a reader without manage_security)."""

    detail: RoleDetail
    descriptor_json: str
    can_manage: bool


def new_role_editor(subject: Subject, clone: str | None = None) -> RoleEditor:
    """The empty editor, or a copy of the role `clone` with the name cleared."""
    require(subject, privileges.ROLE_PUT)
    if not clone:
        return RoleEditor(role_forms.RoleForm(indices=[role_forms.IndexRow()]), creating=True)
    detail = role_detail(subject, clone)
    form = role_forms.form_from_descriptor("", role_forms.clone_descriptor(detail.descriptor))
    form.mode = "form" if form.representable else "json"
    return RoleEditor(form, creating=True)


def role_page_of(subject: Subject, name: str) -> RoleEditor | RoleView:
    """The editor for the role `name`, or its read-only view for a reserved role or a reader without
    manage_security; NotFound when there is none."""
    detail = role_detail(subject, name)
    can_manage = subject.may_any(*privileges.MANAGE_SECURITY)
    if detail.reserved or not can_manage:
        return RoleView(detail, role_forms.descriptor_json(detail.descriptor), can_manage)
    form = role_forms.form_from_descriptor(detail.name, detail.descriptor)
    if not form.representable:
        form.mode = "json"
    return RoleEditor(form, creating=False)


def submit_role_editor(subject: Subject, form: role_forms.RoleForm, intent: str, *, creating: bool,
                       confirmed: bool = False) -> RoleEditor:
    """One press of an editor button: add or remove an index or application row, switch between form and JSON,
    or save ("save"; `confirmed` when the actor ticked that they lose security administration)."""
    if intent == "add-index":
        form.indices.append(role_forms.IndexRow())
        return RoleEditor(form, creating, focus=f"indices-{len(form.indices) - 1}-names")
    if intent.startswith("remove-index-"):
        number = intent.removeprefix("remove-index-")
        if number.isdigit() and int(number) < len(form.indices):
            del form.indices[int(number)]
        return RoleEditor(form, creating, focus="add-index")
    if intent == "add-application":
        form.applications.append(ApplicationRow())
        return RoleEditor(form, creating, focus=f"applications-{len(form.applications) - 1}-application")
    if intent.startswith("remove-application-"):
        number = intent.removeprefix("remove-application-")
        if number.isdigit() and int(number) < len(form.applications):
            del form.applications[int(number)]
        return RoleEditor(form, creating, focus="add-application")
    if intent in ("to-json", "to-form"):
        try:
            switched = role_forms.to_json_view(form) if intent == "to-json" else role_forms.to_form_view(form)
        except role_forms.FormProblems as problems:
            return RoleEditor(form, creating, errors=problems.fields)
        return RoleEditor(switched, creating, focus="descriptor-json" if intent == "to-json" else "name")
    return _save(subject, form, creating, confirmed)


def _save(subject, form, creating, confirmed):
    try:
        body = role_forms.validated_body(form, check_name=creating)
    except role_forms.FormProblems as problems:
        return RoleEditor(form, creating, errors=_for_mode(form, problems.fields))
    try:
        save_role(subject, form.name, body, creating=creating, confirmed=confirmed)
    except SelfLockout as error:
        return RoleEditor(form, creating, errors={"confirm_lockout": error.reason}, lockout=True)
    except NotFound:
        raise
    except DomainError as error:
        fields = dict(getattr(error, "fields", None) or {}) or {error.field or "name": error.detail}
        return RoleEditor(form, creating, errors=_for_mode(form, fields))
    return RoleEditor(form, creating, saved=True, lost_security_admin=confirmed)


def _for_mode(form, fields):
    """In the JSON view, problems with the definition belong beside the JSON text."""
    if form.mode != "json":
        return fields
    moved = {}
    for key, message in fields.items():
        target = key if key in ("name", "confirm_lockout") else "descriptor_json"
        moved[target] = f"{moved[target]} {message}" if target in moved else message
    return moved
