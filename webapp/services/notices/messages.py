"""What a notice says: the email's subject and text, and the webhook's JSON body."""

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from webapp.clock import DAY_MS

EXPIRING, EXPIRED = "api_key.expiring", "api_key.expired"


@dataclass(frozen=True)
class DueNotice:
    """One notice to send: which key, which notice of which expiration, by which channel, to whom."""

    key_id: str
    name: str
    owner_username: str
    owner_realm: str
    expiration: int
    notice: str  # "before:14d" | "expired"
    channel: str  # "email" | "webhook"
    email: str | None = None

    @property
    def event(self) -> str:
        return EXPIRED if self.notice == "expired" else EXPIRING


def days_left(expiration: int, now: int) -> int:
    """Whole days until `expiration`, rounded up (0 once it has passed)."""
    return max(0, math.ceil((expiration - now) / DAY_MS))


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _readable(ms):
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def key_url(base_url: str, key_id: str) -> str | None:
    """The key's details page under KEYDESK_BASE_URL, when it is set."""
    return f"{base_url.rstrip('/')}/keys/{key_id}" if base_url else None


def _one_line(text, limit=80):
    flat = "".join(c if c.isprintable() else " " for c in text).strip()
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def _in_days(days):
    return "within a day" if days <= 1 else f"in {days} days"


def email_subject(due: DueNotice, now: int) -> str:
    name = _one_line(due.name)
    if due.notice == "expired":
        return f'Your API key "{name}" has expired'
    return f'Your API key "{name}" expires {_in_days(days_left(due.expiration, now))}'


def email_text(due: DueNotice, now: int, base_url: str, days_before: tuple[int, ...]) -> str:
    name, when = _one_line(due.name, 256), _readable(due.expiration)
    if due.notice == "expired":
        lines = [f'Your API key "{name}" (id {due.key_id}) expired at {when}.',
                 "Requests made with it are now refused. If something still needs it, create a new key and put it",
                 "where the old one was used."]
    else:
        lines = [f'Your API key "{name}" (id {due.key_id}) expires at {when}, '
                 f'{_in_days(days_left(due.expiration, now))}.',
                 "After that, requests made with it are refused. To keep things working, rotate it (or create a",
                 "new key) before then and put the new key where the old one is used."]
    url = key_url(base_url, due.key_id)
    if url:
        lines += ["", f"The key's details: {url}"]
    schedule = ", ".join(str(d) for d in days_before)
    told = f"{schedule} days before a key expires and when it has expired" if days_before else "when a key expires"
    return "\n".join([f"Hello {due.owner_username},", "", *lines, "",
                      f"Keydesk sends you this because you own the key. Owners hear {told}.", ""])


def webhook_body(due: DueNotice, now: int, base_url: str, delivery: str) -> bytes:
    """The JSON body, compact UTF-8 (the exact bytes that are signed)."""
    body = {
        "event": due.event,
        "notice": due.notice,
        "delivery": delivery,
        "sent_at": iso(now),
        "api_key": {
            "id": due.key_id,
            "name": due.name,
            "owner": due.owner_username,
            "realm": due.owner_realm,
            "expiration": iso(due.expiration),
            "days_left": days_left(due.expiration, now),
            "url": key_url(base_url, due.key_id),
        },
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
