"""The role mappings pages' data: the list, and the editor (a rule builder of one `any`/`all` group of field
rules, or the whole mapping as JSON), both saved through services.admin.role_mappings."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from webapp.errors import DomainError, NotFound, ValidationFailed
from webapp.security import limits, privileges
from webapp.security.role_mapping_rules import summary
from webapp.security.subject import Subject
from webapp.services.admin import role_mappings

BUILDER_FIELDS = ("username", "groups", "dn", "realm.name")
MAX_RULE_ROWS = 100


@dataclass(frozen=True)
class MappingRow:
    name: str
    enabled: bool
    roles: str
    rules: str


@dataclass(frozen=True)
class MappingList:
    rows: list
    total: int
    can_manage: bool


def mapping_list(subject: Subject, search: str = "") -> MappingList:
    """Every mapping (they are few), filtered by a substring of the name, a role or the rules."""
    found = role_mappings.get_role_mappings(subject)
    rows, needle = [], search.strip().lower()
    for name, body in found.items():
        roles = ", ".join(body.get("roles") or []) or "from templates: " + ", ".join(
            item["template"]["source"] for item in body.get("role_templates") or [])
        row = MappingRow(name=name, enabled=body.get("enabled", False), roles=roles,
                         rules=summary(body.get("rules")))
        if not needle or needle in f"{name} {roles} {row.rules}".lower():
            rows.append(row)
    return MappingList(rows=rows, total=len(found), can_manage=subject.may_any(*privileges.MANAGE_SECURITY))


@dataclass
class MappingForm:
    """What the editor shows; `mode` is "form" (the builder) or "json"."""

    name: str = ""
    enabled: bool = True
    roles: str = ""
    match: str = "any"
    rows: list = field(default_factory=lambda: [("groups", "")])
    metadata: dict = field(default_factory=dict)
    mode: str = "form"
    json: str = ""
    representable: bool = True


@dataclass
class MappingEditor:
    form: MappingForm
    creating: bool
    can_manage: bool = True
    errors: dict = field(default_factory=dict)
    status: int = 200
    saved: bool = False
    focus: str = ""

    @property
    def field_choices(self):
        extra = [f for f, _ in self.form.rows if f not in BUILDER_FIELDS]
        return list(BUILDER_FIELDS) + list(dict.fromkeys(extra))


def form_from_fields(fields: Mapping) -> MappingForm:
    """The editor's posted fields as a MappingForm."""
    try:
        count = min(int(fields.get("rule_rows") or 0), MAX_RULE_ROWS)
    except ValueError:
        count = 0
    rows = [(str(fields.get(f"field_{n}", "groups")), str(fields.get(f"value_{n}", ""))) for n in range(count)]
    try:
        metadata = limits.loads(fields.get("metadata") or "{}")
    except ValueError:
        metadata = {}
    return MappingForm(name=str(fields.get("name", "")).strip(), enabled=fields.get("enabled") == "on",
                       roles=str(fields.get("roles", "")), match="all" if fields.get("match") == "all" else "any",
                       rows=rows, metadata=metadata if isinstance(metadata, dict) else {},
                       mode="json" if fields.get("mode") == "json" else "form",
                       json=str(fields.get("mapping_json", "")))


def _builder_rules(rules):
    """[(field, value)] and the group kind when `rules` fits the builder, else None."""
    if not isinstance(rules, dict) or len(rules) != 1:
        return None
    (kind, inner), = rules.items()
    if kind == "field":
        kind, inner = "any", [rules]
    if kind not in ("any", "all") or not isinstance(inner, list):
        return None
    rows = []
    for rule in inner:
        field_rule = rule.get("field") if isinstance(rule, dict) and len(rule) == 1 else None
        if not isinstance(field_rule, dict) or len(field_rule) != 1:
            return None
        (name, value), = field_rule.items()
        if not isinstance(value, str):
            return None
        rows.append((name, value))
    return kind, rows


def form_from_mapping(name: str, body: dict) -> MappingForm:
    """A stored mapping in the editor: the builder when it fits, else the JSON view."""
    text = json.dumps(body, indent=2, ensure_ascii=False)
    built = _builder_rules(body.get("rules"))
    fits = built is not None and bool(body.get("roles")) and all("," not in r for r in body["roles"])
    if not fits:
        return MappingForm(name=name, mode="json", json=text, representable=False)
    kind, rows = built
    return MappingForm(name=name, enabled=body.get("enabled", True), roles=", ".join(body["roles"]), match=kind,
                       rows=rows or [("groups", "")], metadata=body.get("metadata") or {}, json=text)


def body_from_form(form: MappingForm) -> dict:
    """The PUT body the builder describes; for the JSON view, the parsed text (DomainError if it isn't JSON)."""
    if form.mode == "json":
        try:
            return limits.loads(form.json)
        except ValueError as error:
            raise DomainError(f"The JSON is not valid: {error}", field="mapping_json") from error
    rules = [{"field": {name: value}} for name, value in form.rows if value.strip()]
    return {"enabled": form.enabled, "roles": [r.strip() for r in form.roles.split(",") if r.strip()],
            "rules": {form.match: rules}, "metadata": form.metadata}


def editor_for(subject: Subject, name: str) -> MappingEditor:
    """The editor of mapping `name` (read-only for a reader without manage_security); NotFound if none."""
    found = role_mappings.get_role_mappings(subject, [name])
    if name not in found:
        raise NotFound(f"role mapping [{name}] not found")
    return MappingEditor(form=form_from_mapping(name, found[name]), creating=False,
                         can_manage=subject.may_any(*privileges.MANAGE_SECURITY))


def new_editor() -> MappingEditor:
    return MappingEditor(form=MappingForm(), creating=True)


def _move_errors(error: DomainError, form: MappingForm) -> dict:
    fields = dict(getattr(error, "fields", None) or {}) or {error.field or "general": error.detail}
    if form.mode == "json":  # every message belongs beside the one text area, except the name's
        moved = {"name": fields.pop("name")} if "name" in fields else {}
        if fields:
            moved["mapping_json"] = " ".join(fields.values())
        return moved
    moved = {}
    for key, message in fields.items():
        moved[{"role_templates": "roles", "metadata": "general", "json": "general"}.get(key, key)] = message
    return moved


def submit(subject: Subject, form: MappingForm, intent: str, *, creating: bool) -> MappingEditor:
    """Add or remove a rule row, switch between builder and JSON, or save."""
    editor = MappingEditor(form=form, creating=creating)
    if intent == "add-rule":
        if len(form.rows) < MAX_RULE_ROWS:
            form.rows.append(("groups", ""))
        editor.focus = f"value-{len(form.rows) - 1}"
        return editor
    if intent.startswith("remove-rule-"):
        index = intent.removeprefix("remove-rule-")
        if index.isdigit() and int(index) < len(form.rows):
            del form.rows[int(index)]
        editor.focus = "add-rule"
        return editor
    try:
        body = body_from_form(form)
        if intent == "to-json":
            form.json, form.mode = json.dumps(body, indent=2, ensure_ascii=False), "json"
            editor.focus = "mapping-json"
            return editor
        if intent == "to-form":
            mapping = role_mappings.parse_role_mapping(form.name or "mapping", body)
            shown = form_from_mapping(form.name, mapping)
            if shown.mode == "json":
                raise DomainError("The builder shows one any or all group of field rules with text values, "
                                  "and a list of role names; edit this mapping as JSON.", field="mapping_json")
            editor.form = shown
            return editor
        role_mappings.put_role_mapping(subject, form.name, body, create_only=creating)
    except (DomainError, ValidationFailed) as error:
        if error.status == 403:
            raise
        editor.errors, editor.status = _move_errors(error, form), 422
        editor.focus = "name" if "name" in editor.errors else ""
        return editor
    editor.saved = True
    return editor
