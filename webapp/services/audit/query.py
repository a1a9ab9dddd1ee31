"""Reading the audit trail: filters, keyset paging, and export rows. Never more than a page in memory."""

from dataclasses import dataclass
from datetime import UTC, datetime

from webapp.errors import ValidationFailed
from webapp.model import AuditEvent
from webapp.security import privileges
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
    def is_empty(self):
        return not (self.actor or self.action or self.target or self.outcome or self.since or self.until)


def parse_day(text, field, end=False):
    """`YYYY-MM-DD` (UTC) → epoch ms at the start of that day (or of the next day when `end`)."""
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as error:
        raise ValidationFailed([f"{field} must be a date like 2026-01-31"],
                               fields={field: "Enter a date like 2026-01-31."}) from error
    return int(day.timestamp() * 1000) + (86_400_000 if end else 0)


def build_filter(actor="", action="", target="", outcome="", since="", until=""):
    """An AuditFilter from form/query values; ValidationFailed naming the field on a bad date or outcome."""
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


def audit_page(subject, criteria, *, size=50, before_id=None):
    """(events newest first, id to continue from or None): keyset paging on the id, works at any depth."""
    size = size if size in PAGE_SIZES else 50
    query = _query(subject, criteria)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    rows = list(query.order_by(AuditEvent.id.desc()).limit(size + 1))
    more = len(rows) > size
    rows = rows[:size]
    return rows, (rows[-1].id if more and rows else None)


def export_rows(subject, criteria, batch=500):
    """Every matching event as a dict, oldest first, fetched in batches (for CSV / JSON lines).

    The privilege check happens here, before anything is streamed.
    """
    return _batches(_query(subject, criteria), batch)


def _batches(query, batch):
    after = 0
    while True:
        rows = list(query.where(AuditEvent.id > after).order_by(AuditEvent.id).limit(batch))
        for event in rows:
            yield event_row(event)
        if len(rows) < batch:
            return
        after = rows[-1].id


def event_row_time(timestamp_ms):
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def event_row(event):
    return {
        "id": event.id,
        "time": event_row_time(event.timestamp),
        "actor": event.actor_username, "realm": event.actor_realm, "api_key_id": event.actor_api_key_id,
        "address": event.address, "action": event.action, "target_type": event.target_type,
        "target_id": event.target_id, "outcome": event.outcome, "count": event.count, "detail": event.detail,
        "before": event.before, "after": event.after,
    }
