"""The role editor's "Application privileges" rows ↔ a descriptor's `applications` entries.

One row is one entry: the application (a name or a pattern such as `kibana-*`), its privileges (names or
action patterns) and its resources, each list separated by commas or new lines as the editor's other lists
are. Pure functions, no database; role_forms uses them.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

MAX_APPLICATION_ROWS = 100
PREFIX = "applications-"
_ROW_FIELD = re.compile(r"^applications\[(\d+)\]\.?([a-z]*)")
_ROW_KEYS = {"application": "application", "privileges": "privileges", "resources": "resources"}


@dataclass
class ApplicationRow:
    """One "Application privileges" row as the form shows it."""

    application: str = ""
    privileges: str = ""
    resources: str = ""

    @property
    def is_blank(self) -> bool:
        return not (self.application.strip() or self.privileges.strip() or self.resources.strip())


def split_list(text: str) -> list[str]:
    """`read, write` or one per line → ["read", "write"] (blanks dropped, each once)."""
    return list(dict.fromkeys(item.strip() for item in re.split(r"[,\n]", text or "") if item.strip()))


def _representable(items):
    return bool(items) and len(set(items)) == len(items) and all(
        isinstance(item, str) and item and item == item.strip() and not re.search(r"[,\n]", item) for item in items)


def rows_from_descriptor(descriptor: Mapping) -> tuple[list[ApplicationRow], bool]:
    """The rows showing a descriptor's `applications`, and whether the form can show them unchanged."""
    rows, representable = [], True
    for entry in descriptor.get("applications") or []:
        privileges, resources = entry.get("privileges") or [], entry.get("resources") or []
        application = entry.get("application") or ""
        representable = (representable and _representable(privileges) and _representable(resources)
                         and bool(application) and application == application.strip())
        rows.append(ApplicationRow(application=application, privileges=", ".join(privileges),
                                   resources=", ".join(resources)))
    return rows, representable


def rows_from_fields(fields: Mapping) -> list[ApplicationRow]:
    """The rows of posted fields (`application_rows` of them, each `applications-N-application` ...)."""
    try:
        count = max(0, min(int(fields.get("application_rows") or 0), MAX_APPLICATION_ROWS))
    except ValueError:
        count = 0
    return [ApplicationRow(application=fields.get(f"{PREFIX}{number}-application", ""),
                           privileges=fields.get(f"{PREFIX}{number}-privileges", ""),
                           resources=fields.get(f"{PREFIX}{number}-resources", ""))
            for number in range(count)]


def filled_rows(rows: list[ApplicationRow]) -> list[ApplicationRow]:
    """The rows that aren't blank: the form keeps only these once it is saved, so that row N is entry
    `applications[N]` and Elasticsearch's messages about an entry land beside its row."""
    return [row for row in rows if not row.is_blank]


def entries_from_rows(rows: list[ApplicationRow], problems: dict) -> list[dict]:
    """The `applications` entries of `rows` (filled ones, see filled_rows); what a row lacks is added to
    `problems` by form field."""
    entries = []
    for number, row in enumerate(rows):
        prefix = f"{PREFIX}{number}-"
        entry = {"application": row.application.strip(), "privileges": split_list(row.privileges),
                 "resources": split_list(row.resources)}
        if not entry["application"]:
            problems[prefix + "application"] = "Enter the application's name, such as myapp or kibana-*."
        if not entry["privileges"]:
            problems[prefix + "privileges"] = "Enter at least one privilege or action, such as read or data:read/*."
        if not entry["resources"]:
            problems[prefix + "resources"] = "Enter at least one resource, such as * or space:default."
        entries.append(entry)
    return entries


def field_for_path(path: str) -> str | None:
    """The form field of an Elasticsearch field path such as `applications[0].privileges`, or None."""
    match = _ROW_FIELD.match(path)
    if not match:
        return None
    return f"{PREFIX}{match.group(1)}-{_ROW_KEYS.get(match.group(2), 'application')}"
