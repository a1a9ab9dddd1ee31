"""The role editor's fields ↔ an Elasticsearch role descriptor, and ES's errors mapped onto those fields.

Pure functions, no database: the views turn the posted form into a RoleForm, and a RoleForm into the body
of `PUT /_security/role/{name}` (application privilege rows: role_form_applications). Parts of a descriptor
the form has no inputs for (global and remote privileges) travel through the form untouched in a hidden field,
so saving from the form never drops them. Lists keep their order: checked privileges come first, as the role has them.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from webapp.security import limits
from webapp.security.descriptors.roles import DescriptorError, parse_role_descriptor, role_name_problem
from webapp.security.privileges import (
    CLUSTER_PRIVILEGES,
    INDEX_PRIVILEGES,
    describe_cluster_privilege,
    describe_index_privilege,
    implied_cluster_privileges,
    implied_index_privileges,
)
from webapp.services.admin import role_form_applications as app_rows

# Descriptor parts the form keeps as they are (edited only as JSON).
KEPT_PARTS = ("global", "remote_indices", "remote_cluster")
MAX_INDEX_ROWS = 100
_ROW_FIELD = re.compile(r"^indices\[(\d+)\]\.?([a-z_]*)")
_ROW_KEYS = {"names": "names", "privileges": "privileges", "field_security": "field_security",
             "query": "query", "allow_restricted_indices": "allow_restricted"}


@dataclass
class IndexRow:
    """One "Index privileges" row as the form shows it."""

    names: str = ""
    privileges: list = field(default_factory=list)
    privileges_other: str = ""
    grant: str = ""
    except_: str = ""
    query: str = ""
    allow_restricted: bool = False

    @property
    def is_blank(self) -> bool:
        return not (self.names.strip() or self.privileges or self.privileges_other.strip() or self.grant.strip()
                    or self.except_.strip() or self.query.strip() or self.allow_restricted)

    @property
    def has_field_or_document_security(self) -> bool:
        return bool(self.grant.strip() or self.except_.strip() or self.query.strip())


@dataclass
class RoleForm:
    """Everything the role editor shows; `mode` is "form" or "json" (the "Edit as JSON" view)."""

    name: str = ""
    description: str = ""
    cluster: list = field(default_factory=list)
    cluster_other: str = ""
    run_as: str = ""
    metadata: str = ""
    indices: list = field(default_factory=list)
    applications: list = field(default_factory=list)  # role_form_applications.ApplicationRow
    kept: dict = field(default_factory=dict)
    mode: str = "form"
    json: str = ""
    # False when a value can't be shown in the form without changing it (e.g. a name with a comma).
    representable: bool = True


class FormProblems(ValueError):
    """Input the form can't turn into a descriptor: {form field: message}."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(fields.values()))
        self.fields = fields


# ---------------------------------------------------------------- lists in text inputs
def split_list(text: str) -> list[str]:
    """`a, b` or one per line → ["a", "b"] (blanks dropped)."""
    return [item.strip() for item in re.split(r"[,\n]", text or "") if item.strip()]


def join_list(items: list) -> str:
    """["a", "b"] → `a, b`, as a text input shows a list."""
    return ", ".join(items)


def _list_is_representable(items):
    return all(isinstance(item, str) and item == item.strip() and item and "," not in item and "\n" not in item
               for item in items)


# ---------------------------------------------------------------- descriptor → form
def form_from_descriptor(name: str, descriptor: dict, *, mode: str = "form") -> "RoleForm":
    """The form showing `descriptor` (a canonical descriptor, as stored)."""
    metadata = descriptor.get("metadata") or {}
    form = RoleForm(
        name=name or "",
        description=descriptor.get("description") or "",
        cluster=list(descriptor.get("cluster") or []),
        run_as=join_list(descriptor.get("run_as") or []),
        metadata=json.dumps(metadata, indent=2, ensure_ascii=False) if metadata else "",
        kept={part: descriptor[part] for part in KEPT_PARTS if descriptor.get(part)},
        mode=mode,
    )
    lists = [descriptor.get("run_as") or []]
    for entry in descriptor.get("indices") or []:
        security = entry.get("field_security") or {}
        form.indices.append(IndexRow(
            names=join_list(entry.get("names") or []),
            privileges=list(entry.get("privileges") or []),
            grant=join_list(security.get("grant") or []),
            except_=join_list(security.get("except") or []),
            query=entry.get("query") or "",
            allow_restricted=bool(entry.get("allow_restricted_indices")),
        ))
        lists += [entry.get("names") or [], security.get("grant") or [], security.get("except") or []]
        if "except" in security and not security["except"]:
            form.representable = False  # an explicit empty `except` has no input of its own
        if "grant" in security and not security["grant"]:
            form.representable = False
    form.applications, applications_representable = app_rows.rows_from_descriptor(descriptor)
    form.representable = (form.representable and applications_representable
                          and all(_list_is_representable(items) for items in lists))
    form.json = descriptor_json(descriptor)
    return form


def descriptor_json(descriptor: dict) -> str:
    """The descriptor as the "Edit as JSON" view shows it."""
    return json.dumps(descriptor, indent=2, ensure_ascii=False)


# ---------------------------------------------------------------- posted fields → form
def form_from_fields(fields: Mapping) -> "RoleForm":
    """A RoleForm from posted fields (any mapping with `get` and `getlist`, e.g. request.form)."""
    try:
        rows = max(0, min(int(fields.get("index_rows") or 0), MAX_INDEX_ROWS))
    except ValueError:
        rows = 0
    try:
        kept = limits.loads(fields.get("kept") or "{}")
    except ValueError:
        kept = {}
    form = RoleForm(
        name=fields.get("name", ""),
        description=_text(fields, "description"),
        cluster=_unique(fields.getlist("cluster")),
        cluster_other=fields.get("cluster_other", ""),
        run_as=fields.get("run_as", ""),
        metadata=_text(fields, "metadata"),
        kept={part: kept[part] for part in KEPT_PARTS if isinstance(kept, dict) and part in kept},
        mode="json" if fields.get("mode") == "json" else "form",
        json=_text(fields, "descriptor_json"),
        applications=app_rows.rows_from_fields(fields),
    )
    for number in range(rows):
        prefix = f"indices-{number}-"
        form.indices.append(IndexRow(
            names=fields.get(prefix + "names", ""),
            privileges=_unique(fields.getlist(prefix + "privileges")),
            privileges_other=fields.get(prefix + "privileges_other", ""),
            grant=fields.get(prefix + "grant", ""),
            except_=fields.get(prefix + "except", ""),
            query=_text(fields, prefix + "query"),
            allow_restricted=fields.get(prefix + "allow_restricted") in ("on", "true", "1"),
        ))
    return form


def _text(fields, name):
    """A textarea's value with the browser's CRLF line ends turned back into LF."""
    return (fields.get(name) or "").replace("\r\n", "\n")


def _unique(items):
    return list(dict.fromkeys(item for item in items if item))


# ---------------------------------------------------------------- form → request body
def form_body(form: RoleForm) -> dict:
    """The body of `PUT /_security/role/{name}` the form stands for; FormProblems for input it can't use."""
    problems = {}
    body = {"cluster": _unique(form.cluster + split_list(form.cluster_other))}
    if form.description:
        body["description"] = form.description
    indices = []
    for number, row in enumerate(form.indices):
        if row.is_blank:
            continue
        entry, row_problems = _row_entry(row, f"indices-{number}-")
        problems.update(row_problems)
        indices.append(entry)
    body["indices"] = indices
    form.applications = app_rows.filled_rows(form.applications)
    body["applications"] = app_rows.entries_from_rows(form.applications, problems)
    body["run_as"] = split_list(form.run_as)
    metadata = _json_object(form.metadata, "metadata", problems,
                            'Enter the metadata as a JSON object, for example {"team": "ops"}.')
    body["metadata"] = metadata if metadata is not None else {}
    for part, value in form.kept.items():
        body[part] = value
    if problems:
        raise FormProblems(problems)
    return body


def _row_entry(row, prefix):
    problems = {}
    names = split_list(row.names)
    privileges = _unique(row.privileges + split_list(row.privileges_other))
    if not names:
        problems[prefix + "names"] = "Enter at least one index name or pattern."
    if not privileges:
        problems[prefix + "privileges"] = "Choose at least one privilege for these indices."
    entry = {"names": names, "privileges": privileges}
    grant, denied = split_list(row.grant), split_list(row.except_)
    if grant or denied:
        entry["field_security"] = {"grant": grant} if grant else {}
        if denied:
            entry["field_security"]["except"] = denied
    if row.query.strip():
        query_problem = 'Enter the document query as a JSON object, for example {"term": {"team": "ops"}}.'
        if _json_object(row.query, prefix + "query", problems, query_problem) is not None:
            entry["query"] = row.query
    entry["allow_restricted_indices"] = row.allow_restricted
    return entry, problems


def _json_object(text, field_name, problems, message):
    if not text or not text.strip():
        return None
    try:
        value = limits.loads(text)
    except limits.NestingTooDeep as error:
        problems[field_name] = (f"The JSON is nested more than {error.limit} levels deep (line {error.lineno}, "
                                f"column {error.colno}); Keydesk accepts at most {error.limit} levels of objects "
                                "and arrays.")
        return None
    except ValueError as error:
        problems[field_name] = f"{message} ({error.msg} at line {error.lineno}, column {error.colno})"
        return None
    if not isinstance(value, dict):
        problems[field_name] = message
        return None
    return value


def json_body(form: RoleForm) -> dict:
    """The body typed into the "Edit as JSON" view; FormProblems when it isn't a JSON object."""
    problems = {}
    text = form.json if form.json.strip() else "{}"
    body = _json_object(text, "descriptor_json", problems,
                        "Enter the role as a JSON object, in the shape Elasticsearch's role API takes.")
    if problems:
        raise FormProblems(problems)
    return body


# ---------------------------------------------------------------- checking and switching views
def check(name: str, body: dict, *, check_name: bool = True) -> dict:
    """The canonical descriptor for `body`, or FormProblems with ES's messages beside the form's fields."""
    problems = {}
    name_problem = role_name_problem(name) if check_name else None
    if name_problem:
        problems["name"] = name_problem
    descriptor = None
    try:
        descriptor = parse_role_descriptor(message_name(name), body)
    except DescriptorError as error:
        problems.update(errors_by_field(error))
    if problems:
        raise FormProblems(problems)
    return descriptor


def message_name(name: str) -> str:
    """The name ES's messages quote: the role's own when it is a valid name, else a stand-in."""
    return name if role_name_problem(name) is None else "role"


def errors_by_field(error: DescriptorError, *, json_mode: bool = False) -> dict[str, str]:
    """{form field: message} for a DescriptorError (every problem of a validation failure)."""
    found = {}
    for path, message in error.errors:
        key = "descriptor_json" if json_mode else form_field(path)
        if key in found:
            found[key] += " " + message
        else:
            found[key] = message
    return found


def form_field(path: str) -> str:
    """The form field an ES field path (`indices[0].names`) belongs to; `kept` for parts edited as JSON."""
    if not path:
        return "general"
    match = _ROW_FIELD.match(path)
    if match:
        return f"indices-{match.group(1)}-{_ROW_KEYS.get(match.group(2), 'names')}"
    if (application_field := app_rows.field_for_path(path)):
        return application_field
    top = path.split(".")[0].split("[")[0]
    if top in ("name", "description", "cluster", "run_as", "metadata"):
        return top
    return "kept"


def to_json_view(form: RoleForm) -> RoleForm:
    """The same role in the "Edit as JSON" view; FormProblems when the form's input can't be used."""
    try:
        descriptor = parse_role_descriptor(message_name(form.name), form_body(form), validate=False)
    except DescriptorError as error:
        raise FormProblems(errors_by_field(error)) from error
    return form_from_descriptor(form.name, descriptor, mode="json")


def to_form_view(form: RoleForm) -> RoleForm:
    """The JSON typed so far, back in the form; FormProblems (beside the JSON) when it isn't a valid role."""
    body = json_body(form)
    try:
        descriptor = parse_role_descriptor(message_name(form.name), body, validate=False)
    except DescriptorError as error:
        raise FormProblems(errors_by_field(error, json_mode=True)) from error
    switched = form_from_descriptor(form.name, descriptor)
    if not switched.representable:
        raise FormProblems({"descriptor_json": "Some names in this role contain commas or surrounding spaces, "
                                               "which the form can't show; keep editing it as JSON."})
    return switched


def validated_body(form: RoleForm, *, check_name: bool = True) -> dict:
    """The body to save from whichever view is in use, checked as Elasticsearch checks it; FormProblems with
    every problem found (the name's too, even when the rest of the form can't be read yet)."""
    problems = {}
    if check_name and (name_problem := role_name_problem(form.name)):
        problems["name"] = name_problem
    try:
        body = submitted_body(form)
        check(form.name, body, check_name=check_name)
    except FormProblems as error:
        raise FormProblems({**problems, **error.fields}) from error
    if problems:
        raise FormProblems(problems)
    return body


def submitted_body(form: RoleForm) -> dict:
    """The body to save: from the JSON view or from the form, whichever the person is using."""
    return json_body(form) if form.mode == "json" else form_body(form)


# ---------------------------------------------------------------- choices for the template
def cluster_choices(held: list[str]) -> list[tuple]:
    """(name, checked, description, implies) for the cluster checkboxes: held ones first, in their order.

    `implies` is a short text: the privileges the name includes, or "every other cluster privilege".
    """
    chosen = [(name, True) for name in held]
    rest = [(name, False) for name in CLUSTER_PRIVILEGES if name not in held]
    return [(name, checked, describe_cluster_privilege(name),
             _implies_text(_implied(implied_cluster_privileges(name), name), len(CLUSTER_PRIVILEGES) - 2))
            for name, checked in chosen + rest]


def _implies_text(implied, everything_else):
    if not implied:
        return ""
    if len(implied) >= everything_else:
        return "every other cluster privilege"
    if len(implied) > 12:
        return ", ".join(implied[:12]) + f" and {len(implied) - 12} more"
    return ", ".join(implied)


def index_choices(held: list[str]) -> list[tuple]:
    """(name, checked, description, implies) for one row's index privilege checkboxes."""
    chosen = [(name, True) for name in held]
    rest = [(name, False) for name in INDEX_PRIVILEGES if name not in held]
    return [(name, checked, describe_index_privilege(name), _implied(implied_index_privileges(name), name))
            for name, checked in chosen + rest]


def _implied(names, itself):
    return sorted(name for name in names if name not in (itself, "none"))


def clone_descriptor(descriptor: dict) -> dict:
    """A copy to start a new role from: reserved markers (`_`-prefixed metadata) left out."""
    copy = json.loads(json.dumps(descriptor))
    copy["metadata"] = {k: v for k, v in (copy.get("metadata") or {}).items() if not str(k).startswith("_")}
    return copy
