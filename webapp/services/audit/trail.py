"""The audit trail: who did what to which object, from where, and what changed. Never secrets."""

from collections.abc import Iterable

from webapp.clock import now_ms
from webapp.model import AuditEvent
from webapp.model.db import UNSTORABLE
from webapp.security.subject import Subject

# Keys removed from anything recorded, wherever they appear.
_SECRET_FIELDS = {"api_key", "encoded", "password", "password_hash", "secret_hash", "secret"}


def _scrub(value):
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if k not in _SECRET_FIELDS}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


# The longest target id the column holds; a longer one (a username typed at the sign-in form) is cut, and
# characters no database column can hold are replaced, so recording a failure never fails itself.
TARGET_ID_LENGTH = 1024


def _target(target_id):
    return None if target_id is None else UNSTORABLE.sub("\ufffd", str(target_id)[:TARGET_ID_LENGTH])


# Repeated failures from one address against one target within this window fold into one row.
AGGREGATE_WINDOW_MS = 60_000


def _row(subject, action, *, timestamp, target_type, target_id, before, after, outcome, detail, address):
    """The one place an audit row's columns are filled in."""
    return {
        "timestamp": timestamp,
        "actor_username": getattr(subject, "username", None),
        "actor_realm": getattr(subject, "realm", None),
        "actor_api_key_id": getattr(subject, "api_key_id", None),
        "address": address or getattr(subject, "address", None),
        "action": action,
        "target_type": target_type,
        "target_id": _target(target_id),
        "outcome": outcome,
        "before": _scrub(before),
        "after": _scrub(after),
        "detail": detail,
        "count": 1,
    }


def record(subject: Subject | None, action: str, *, target_type: str | None = None, target_id: object = None,
           before: object = None, after: object = None, outcome: str = "success", detail: str | None = None,
           address: str | None = None) -> AuditEvent | None:
    """Write one audit event for `subject` (None for anonymous) and return it.

    A failure repeating one already recorded in the last minute (same action, target, actor and address)
    increments that row's count instead of adding a row, so a guessing attack can't flood the trail.
    """
    row = _row(subject, action, timestamp=now_ms(), target_type=target_type, target_id=target_id, before=before,
               after=after, outcome=outcome, detail=detail, address=address)
    if outcome == "failure":
        folded = AuditEvent.update(count=AuditEvent.count + 1, timestamp=row["timestamp"]).where(
            (AuditEvent.action == action) & (AuditEvent.outcome == "failure")
            & (AuditEvent.target_id == row["target_id"]) & (AuditEvent.address == row["address"])
            & (AuditEvent.actor_username == row["actor_username"])
            & (AuditEvent.timestamp >= row["timestamp"] - AGGREGATE_WINDOW_MS)
        ).execute()
        if folded:
            return None
    return AuditEvent.create(**row)


def record_many(subject: Subject, action: str, *, target_type: str, timestamp: int,
                changes: Iterable[tuple[object, object, object]]) -> None:
    """Write one successful event per (target id, before, after) of `changes`, in one statement."""
    rows = [_row(subject, action, timestamp=timestamp, target_type=target_type, target_id=target_id,
                 before=before, after=after, outcome="success", detail=None, address=None)
            for target_id, before, after in changes]
    if rows:
        AuditEvent.insert_many(rows).execute()
