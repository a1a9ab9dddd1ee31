"""What the Settings page's *Expiry notices* part shows: the settings as the form holds them, how mail goes
out, the recent deliveries, and whether the viewer may change anything."""

from dataclasses import dataclass, field

from webapp.security import privileges
from webapp.security.subject import Subject
from webapp.services.access.rights import require
from webapp.services.notices.deliveries import recent_deliveries
from webapp.services.notices.preferences import NoticeSettings, notice_settings


@dataclass(frozen=True)
class NoticesPage:
    settings: NoticeSettings
    values: dict  # {"days": "14, 1", "webhook_url": "..."} as the form shows them (what was typed, when refused)
    deliveries: list
    may_change: bool  # manage_security: the form, the secret; read_security only reads
    mail_server: str | None  # the SMTP URL without its password; None when mail is off
    sender: str
    interval: str  # KEYDESK_NOTIFY_INTERVAL, "" when passes come from cron or a timer
    errors: dict = field(default_factory=dict)
    new_secret: str | None = None  # shown once, right after it was made or entered
    message: str | None = None


def form_values(settings: NoticeSettings) -> dict:
    return {"days": ", ".join(str(d) for d in settings.days_before), "webhook_url": settings.webhook_url or ""}


def notices_page(subject: Subject, *, mail_server: str | None, sender: str, interval: str,
                 values: dict | None = None, errors: dict | None = None, new_secret: str | None = None,
                 message: str | None = None) -> NoticesPage:
    """The page's data for `subject` (read_security or above)."""
    require(subject, privileges.NOTICES_READ, privileges.READ_SECURITY)
    settings = notice_settings()
    return NoticesPage(settings=settings, values=values or form_values(settings),
                       deliveries=recent_deliveries(subject), may_change=subject.may_any(*privileges.MANAGE_SECURITY),
                       mail_server=mail_server, sender=sender, interval=interval, errors=errors or {},
                       new_secret=new_secret, message=message)
