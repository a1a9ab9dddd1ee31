"""Reading the audit trail: filters, keyset paging, and export rows. Never more than a page in memory."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from webapp.errors import ValidationFailed
from webapp.model import AuditEvent
from webapp.model.db import UNSTORABLE
from webapp.security import privileges
from webapp.security.subject import Subject
from webapp.services.access.rights import require

PAGE_SIZES = (25, 50, 100)
EXPORT_FIELDS = ("id", "time", "actor", "realm", "api_key_id", "address", "action", "target_type", "target_id",
                 "outcome", "count", "detail", "before", "after")


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    action: str = ""
    target: str = ""
    outcome: str = ""
    since: int | None = None  # epoch ms, inclusive
    until: int | None = None  # epoch ms, exclusive

    @property
    def is_empty(self) -> bool:
        return not (self.actor or self.action or self.target or self.outcome or self.since or self.until)


def parse_day(text: str, field: str, end: bool = False) -> int | None:
    """`YYYY-MM-DD` (UTC) → epoch ms at the start of that day (or of the next day when `end`)."""
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as error:
        raise ValidationFailed([f"{field} must be a date like 2026-01-31"],
                               fields={field: "Enter a date like 2026-01-31."}) from error
    return int(day.timestamp() * 1000) + (86_400_000 if end else 0)


@dataclass(frozen=True)
class AuditPage:
    """Everything the audit page shows: one page of events, or the filter's field errors."""

    values: Mapping[str, str]  # the filter as typed, for the form
    size: int
    events: list[AuditEvent] = field(default_factory=list)
    next_before: int | None = None  # the id to continue from, None on the last page
    errors: dict[str, str] = field(default_factory=dict)
    first_page: bool = True

    @property
    def export_query(self) -> dict[str, str]:
        """The filter's non-empty values, for the export links."""
        return {name: value for name, value in self.values.items() if value}


def build_filter(actor: str = "", action: str = "", target: str = "", outcome: str = "", since: str = "",
                 until: str = "") -> AuditFilter:
    """An AuditFilter from form/query values; ValidationFailed naming the field on a bad date or outcome, or on
    text no stored event can hold (checked here, before an export starts streaming)."""
    for name, value in (("actor", actor), ("action", action), ("target", target)):
        if UNSTORABLE.search(value):
            unheld = "the NUL character or an unpaired surrogate"
            raise ValidationFailed([f"{name} contains {unheld}, which no event holds"],
                                   fields={name: f"No event holds {unheld}: remove it."})
    if outcome not in ("", "success", "failure"):
        raise ValidationFailed(["outcome must be success or failure"], fields={"outcome": "Choose success or failure."})
    return AuditFilter(actor=actor.strip()[:200], action=action.strip()[:64], target=target.strip()[:200],
                       outcome=outcome, since=parse_day(since, "since"), until=parse_day(until, "until", end=True))


def _query(subject, criteria):
    require(subject, privileges.AUDIT_READ, privileges.READ_SECURITY)
    query = AuditEvent.select()
    if criteria.actor:
        name, _, realm = criteria.actor.partition("@")
        query = query.where(AuditEvent.actor_username == name)
        if realm:
            query = query.where(AuditEvent.actor_realm == realm)
    if criteria.action:
        query = query.where(AuditEvent.action.startswith(criteria.action))
    if criteria.target:
        query = query.where(AuditEvent.target_id == criteria.target)
    if criteria.outcome:
        query = query.where(AuditEvent.outcome == criteria.outcome)
    if criteria.since is not None:
        query = query.where(AuditEvent.timestamp >= criteria.since)
    if criteria.until is not None:
        query = query.where(AuditEvent.timestamp < criteria.until)
    return query


def audit_page_of(subject: Subject, values: Mapping[str, str], *, size: int | None = None,
                  before_id: int | None = None) -> AuditPage:
    """The audit page for the filter values as typed (actor, action, target, outcome, since, until)."""
    size = size or 50
    try:
        criteria = build_filter(**values)
    except ValidationFailed as error:
        return AuditPage(values=values, size=size, errors=error.fields)
    events, next_before = audit_page(subject, criteria, size=size, before_id=before_id)
    return AuditPage(values=values, size=size, events=events, next_before=next_before,
                     first_page=before_id is None)


def audit_page(subject: Subject, criteria: AuditFilter, *, size: int = 50,
               before_id: int | None = None) -> tuple[list[AuditEvent], int | None]:
    """(events newest first, id to continue from or None): keyset paging on the id, works at any depth."""
    size = size if size in PAGE_SIZES else 50
    query = _query(subject, criteria)
    if before_id is not None:  # clamped to a database integer: "before" a larger id is before every id
        query = query.where(AuditEvent.id < max(min(before_id, 2**63 - 1), -(2**63)))
    rows = list(query.order_by(AuditEvent.id.desc()).limit(size + 1))
    more = len(rows) > size
    rows = rows[:size]
    return rows, (rows[-1].id if more and rows else None)


def export_rows(subject: Subject, values: Mapping[str, str], batch: int = 500) -> Iterator[dict]:
    """Every event matching the filter values as a dict, oldest first, fetched in batches (for CSV / JSON
    lines). The filter is checked (ValidationFailed) and the privilege too, before anything is streamed."""
    return _batches(_query(subject, build_filter(**values)), batch)


def _batches(query, batch):
    after = 0
    while True:
        rows = list(query.where(AuditEvent.id > after).order_by(AuditEvent.id).limit(batch))
        for event in rows:
            yield event_row(event)
        if len(rows) < batch:
            return
        after = rows[-1].id


def event_row_time(timestamp_ms: int) -> str:
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def event_row(event: AuditEvent) -> dict:
    return {
        "id": event.id,
        "time": event_row_time(event.timestamp),
        "actor": event.actor_username, "realm": event.actor_realm, "api_key_id": event.actor_api_key_id,
        "address": event.address, "action": event.action, "target_type": event.target_type,
        "target_id": event.target_id, "outcome": event.outcome, "count": event.count, "detail": event.detail,
        "before": event.before, "after": event.after,
    }
