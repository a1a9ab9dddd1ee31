"""One pass of expiry notices: find what is due, claim it, send it, record it (`flask notify`, or the in-process
timer). Safe to run on several instances at once: each notice is sent by the instance that claimed it."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from webapp.clock import now_ms
from webapp.model.db import database
from webapp.services.access.system import system_subject
from webapp.services.audit import trail as audit
from webapp.services.notices import deliveries, due, preferences
from webapp.services.notices.mail import DeliveryFailed, SmtpServer, build_message, send_mail
from webapp.services.notices.messages import DueNotice, email_subject, email_text, webhook_body
from webapp.services.notices.webhook import post

NOTIFIER = "keydesk-notices"  # the audit trail's actor


@dataclass(frozen=True)
class Transport:
    """How notices leave (from KEYDESK_SMTP_URL, KEYDESK_SMTP_FROM, KEYDESK_BASE_URL and KEYDESK_NOTICE_*)."""

    smtp: SmtpServer | None = None  # no mail without it
    sender: str = "keydesk@localhost"
    base_url: str = ""
    attempts: int = 3  # per notice and pass
    retry_ms: int = 1000  # the wait before the second attempt; it doubles before each further one
    timeout: float = 10.0  # seconds, per connection


@dataclass
class Summary:
    sent: int = 0
    failed: int = 0
    skipped: int = 0  # due, but another instance claimed it first, or its owner has no email address
    channels: tuple = ()
    failures: list = field(default_factory=list)  # (key id, notice, channel, error)

    def line(self) -> str:
        if not self.channels:
            return ("Expiry notices: nothing to send with. Set KEYDESK_SMTP_URL for mail, or a webhook URL "
                    "in Settings.")
        return (f"Expiry notices: {self.sent} sent, {self.failed} failed, {self.skipped} skipped "
                f"(by {' and '.join(self.channels)}).")


def run_notices(transport: Transport, now: int | None = None) -> Summary:
    """Send every notice due at `now` (default: the clock) that no instance has claimed; prune old records."""
    now = now_ms() if now is None else now
    settings, hook = preferences.notice_settings(), preferences.webhook_target()
    channels = tuple(name for name, ready in (("email", transport.smtp is not None), ("webhook", hook is not None))
                     if ready)
    summary = Summary(channels=channels)
    for window in due.windows(settings.days_before, now) if channels else ():
        for channel in channels:
            after = None
            while batch := due.due_notices(window, channel, now, after):
                after = batch[-1].expiration, batch[-1].key_id
                for notice in batch:
                    _one(notice, transport, hook, settings.days_before, now, summary)
    with database.atomic():
        due.prune_claims(now)
        deliveries.prune_deliveries(now)
    return summary


def _one(notice: DueNotice, transport, hook, days_before, now, summary):
    if notice.channel == "email" and not notice.email:
        summary.skipped += 1
        return
    claim_id = due.claim(notice, now_ms())
    if claim_id is None:
        summary.skipped += 1
        return
    delivery = f"{notice.key_id}.{notice.notice}.{notice.expiration}"  # the same for every try of one notice
    if notice.channel == "email":
        target = notice.email

        def send():
            message = build_message(transport.sender, notice.email, email_subject(notice, now),
                                    email_text(notice, now, transport.base_url, days_before))
            return send_mail(transport.smtp, message, transport.timeout)
    else:
        target, secret = hook
        body = webhook_body(notice, now, transport.base_url, delivery)

        def send():
            return post(target, secret, body, event=notice.event, delivery=delivery, timeout=transport.timeout)

    attempts, status, error = _with_retries(send, transport)
    delivered = error is None
    with database.atomic():
        due.settle(claim_id, delivered)
        deliveries.record_delivery(time=now_ms(), key_id=notice.key_id, key_name=notice.name, channel=notice.channel,
                                   notice=notice.notice, event=notice.event, target=target, attempts=attempts,
                                   status=status, error=error, delivered=delivered)
        outcome = "delivered" if delivered else f"failed: {error}"
        audit.record(system_subject(NOTIFIER), "api_key.notice", target_type="api_key", target_id=notice.key_id,
                     outcome="success" if delivered else "failure",
                     after={"notice": notice.notice, "channel": notice.channel, "to": target, "attempts": attempts,
                            "status": status, "try": due.tries_of(claim_id)},
                     detail=f"expiry notice {notice.notice} by {notice.channel}: {outcome}")
    if delivered:
        summary.sent += 1
    else:
        summary.failed += 1
        summary.failures.append((notice.key_id, notice.notice, notice.channel, error))


def _with_retries(send: Callable[[], int], transport: Transport) -> tuple[int, int | None, str | None]:
    """(attempts made, last status, error or None): up to transport.attempts tries with doubling waits."""
    status, error = None, None
    for attempt in range(1, max(1, transport.attempts) + 1):
        try:
            return attempt, send(), None
        except DeliveryFailed as failure:
            status, error = failure.status, str(failure)
            if failure.permanent:
                return attempt, status, error
        except ValueError as failure:  # a message that can't be built (an address with a line break): no retry
            return attempt, None, f"the notice could not be written: {failure}"
        if attempt < transport.attempts:
            time.sleep(transport.retry_ms * 2 ** (attempt - 1) / 1000)
    return max(1, transport.attempts), status, error
