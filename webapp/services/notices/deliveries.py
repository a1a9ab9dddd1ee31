"""The record of notices sent: one row per notice and address, the newest listed on the Settings page."""

from webapp.clock import DAY_MS
from webapp.model import NoticeDelivery
from webapp.security import privileges
from webapp.security.subject import Subject
from webapp.services.access.rights import require

RECENT = 50  # rows the Settings page lists
KEEP_MS = 30 * DAY_MS
KEEP_ROWS = 1000


def record_delivery(*, time: int, key_id: str, key_name: str, channel: str, notice: str, event: str, target: str,
                    attempts: int, status: int | None, error: str | None, delivered: bool) -> NoticeDelivery:
    """Store one delivery (called inside the transaction that settles its claim)."""
    return NoticeDelivery.create(time=time, key_id=key_id, key_name=key_name[:256], channel=channel, notice=notice,
                                 event=event, target=target[:2048], attempts=attempts, status=status,
                                 error=error[:1000] if error else None,
                                 outcome="delivered" if delivered else "failed")


def recent_deliveries(subject: Subject, limit: int = RECENT) -> list[NoticeDelivery]:
    """The newest deliveries, newest first (read_security and above)."""
    require(subject, privileges.NOTICES_READ, privileges.READ_SECURITY)
    return list(NoticeDelivery.select().order_by(NoticeDelivery.time.desc(), NoticeDelivery.id.desc()).limit(limit))


def prune_deliveries(now: int) -> int:
    """Delete deliveries older than KEEP_MS, and all but the newest KEEP_ROWS; the number deleted."""
    deleted = NoticeDelivery.delete().where(NoticeDelivery.time < now - KEEP_MS).execute()
    boundary = (NoticeDelivery.select(NoticeDelivery.id).order_by(NoticeDelivery.id.desc())
                .offset(KEEP_ROWS - 1).limit(1).scalar())
    if boundary is not None:
        deleted += NoticeDelivery.delete().where(NoticeDelivery.id < boundary).execute()
    return deleted
