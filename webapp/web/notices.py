"""Expiry notices in a running app: the Transport read from the configuration (checked when the app is built),
and, when KEYDESK_NOTIFY_INTERVAL is set, a background thread in each process running the pass.

The thread starts with the first request a process serves, not when the app is built: `flask init-db` and the
other commands build the app too, and must not start sending. It runs a pass at once, then one per interval;
several processes and instances doing so is safe, since each notice is claimed in the database first.
"""

import logging
import random
import threading
from urllib.parse import urlsplit

from flask import Flask

from webapp.config import ConfigurationError
from webapp.model.db import database
from webapp.security.subject import Subject
from webapp.services.admin.settings import parse_duration_ms
from webapp.services.notices.mail import parse_smtp_url
from webapp.services.notices.notify import Transport, run_notices
from webapp.services.notices.page import NoticesPage, notices_page

EXTENSION = "keydesk.notices"
ON_REQUEST = EXTENSION + ".on_request"  # called by requests answered outside Flask (webapp/api/fast_verify)
MIN_INTERVAL_MS = 60_000
log = logging.getLogger("keydesk.notices")


def _setting(app, name):
    return app.config.get(f"KEYDESK_{name}")


def transport_from_config(app: Flask) -> Transport:
    """The Transport the KEYDESK_SMTP_*, KEYDESK_BASE_URL and KEYDESK_NOTICE_* settings describe, or
    ConfigurationError naming the setting that can't be used."""
    smtp = None
    if url := (_setting(app, "SMTP_URL") or "").strip():
        try:
            smtp = parse_smtp_url(url)
        except ValueError as error:
            raise ConfigurationError(f"KEYDESK_SMTP_URL can't be used: {error}") from None
    sender = str(_setting(app, "SMTP_FROM") or "").strip()
    if "@" not in sender or not sender.isprintable() or len(sender) > 320:
        raise ConfigurationError(f"KEYDESK_SMTP_FROM must be an email address such as keydesk@example.com, "
                                 f"got {sender!r}")
    base_url = str(_setting(app, "BASE_URL") or "").strip()
    if base_url and (urlsplit(base_url).scheme not in ("http", "https") or not urlsplit(base_url).netloc):
        raise ConfigurationError(f"KEYDESK_BASE_URL must start with http:// or https://, got {base_url!r}")
    limits = {"NOTICE_ATTEMPTS": (1, 10), "NOTICE_RETRY_MS": (0, 600_000), "NOTICE_TIMEOUT_SECONDS": (1, 300)}
    numbers = {}
    for name, (low, high) in limits.items():
        value = _setting(app, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigurationError(f"KEYDESK_{name} must be a whole number from {low} to {high}, got {value!r}")
        numbers[name] = value
    return Transport(smtp=smtp, sender=sender, base_url=base_url, attempts=numbers["NOTICE_ATTEMPTS"],
                     retry_ms=numbers["NOTICE_RETRY_MS"], timeout=float(numbers["NOTICE_TIMEOUT_SECONDS"]))


def interval_ms(app: Flask) -> int | None:
    """KEYDESK_NOTIFY_INTERVAL in milliseconds, None when unset; ConfigurationError when it can't be used."""
    text = str(_setting(app, "NOTIFY_INTERVAL") or "").strip()
    if not text:
        return None
    try:
        interval = parse_duration_ms(text, "KEYDESK_NOTIFY_INTERVAL")
    except ValueError as error:
        raise ConfigurationError(f"KEYDESK_NOTIFY_INTERVAL must be a time such as 15m or 1h: {error}") from None
    if interval < MIN_INTERVAL_MS:
        raise ConfigurationError(f"KEYDESK_NOTIFY_INTERVAL must be at least 1m, got {text!r}")
    return interval


def transport(app: Flask) -> Transport:
    return app.extensions[EXTENSION]


def page_data(app: Flask, subject: Subject, **extra) -> NoticesPage:
    """What Settings › Expiry notices and GET /_keydesk/notices show `subject`, with how this app sends."""
    sending = transport(app)
    return notices_page(subject, mail_server=sending.smtp.describe() if sending.smtp else None,
                        sender=sending.sender, interval=_setting(app, "NOTIFY_INTERVAL") or "", **extra)


class NoticeTimer(threading.Thread):
    """Runs the pass now and then every `interval_ms` (each wait a little shortened at random, so that the
    processes of a deployment don't all start at the same moment) until stopped."""

    def __init__(self, transport_: Transport, interval: int):
        super().__init__(name="keydesk-notices", daemon=True)
        self.transport, self.interval = transport_, interval
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            try:
                with database.connection_context():
                    summary = run_notices(self.transport)
                log.info("%s", summary.line())
            except Exception:  # a pass that fails (database away) is logged; the next one tries again
                log.exception("expiry notice pass failed")
            self.stopped.wait(self.interval * random.uniform(0.9, 1.0) / 1000)


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = transport_from_config(app)
    interval = interval_ms(app)
    if interval is None:
        return
    lock, started = threading.Lock(), []

    @app.before_request
    def start_notice_timer():
        if started:
            return
        with lock:
            if not started:
                timer = NoticeTimer(app.extensions[EXTENSION], interval)
                timer.start()
                started.append(timer)
                app.extensions[EXTENSION + ".timer"] = timer

    app.extensions[ON_REQUEST] = start_notice_timer
