"""Purging invalidated and expired keys once they are older than the retention period."""

from webapp.clock import now_ms
from webapp.model import ApiKey
from webapp.model.db import database
from webapp.security.subject import Subject
from webapp.services.audit import trail as audit


def purge_keys(subject: Subject, retention_ms: int, now: int | None = None) -> int:
    """Delete keys invalidated or expired more than `retention_ms` ago; returns how many went.

    One DELETE statement: running it on several instances at once deletes each row once and is harmless.
    Audit events about the keys stay.
    """
    now = now_ms() if now is None else now
    cutoff = now - retention_ms
    with database.atomic():
        deleted = ApiKey.delete().where(
            ((ApiKey.invalidated == True) & (ApiKey.invalidation < cutoff))  # noqa: E712 (SQL)
            | (ApiKey.expiration < cutoff)
        ).execute()
        if deleted:
            audit.record(subject, "api_key.purge", target_type="api_key", target_id="*",
                         after={"deleted": deleted, "older_than_ms": retention_ms})
    return deleted
