"""The stored settings of expiry notices: how many days before expiry they go out, the webhook's URL and the
secret that signs its requests. The secret is shown once, when it is made or entered, and never recorded."""

import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from webapp.clock import now_ms
from webapp.errors import ValidationFailed
from webapp.model import Setting
from webapp.model.db import database
from webapp.security import privileges
from webapp.security.subject import Subject
from webapp.services.access.rights import require
from webapp.services.admin.settings import get_setting, set_setting
from webapp.services.audit import trail as audit

DEFAULT_DAYS = (14, 1)
MAX_DAYS = 365
MAX_NOTICES_BEFORE = 5
MAX_URL_LENGTH = 2048
SECRET_LENGTHS = (16, 256)
_SECRET = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII without spaces: it goes into an HMAC as UTF-8

DAYS_HELP = 'Enter whole numbers of days from 1 to 365, separated by commas, for example "14, 1".'


@dataclass(frozen=True)
class NoticeSettings:
    days_before: tuple[int, ...]  # largest first; empty: only the notice that a key has expired
    webhook_url: str | None
    secret_set: int | None  # when the webhook secret was made or entered (ms); None while there is none

    def audited(self) -> dict:
        """What the audit trail records: never the secret, only when it was set."""
        return {"days_before": list(self.days_before), "webhook_url": self.webhook_url,
                "webhook_secret_set": self.secret_set}


@dataclass(frozen=True)
class Saved:
    settings: NoticeSettings
    new_secret: str | None = None  # a secret made by this save, shown this once


def notice_settings() -> NoticeSettings:
    """The settings in force (the defaults until some are saved)."""
    days = get_setting("notices.days_before", list(DEFAULT_DAYS))
    return NoticeSettings(days_before=tuple(sorted(days, reverse=True)), webhook_url=get_setting("notices.webhook_url"),
                          secret_set=get_setting("notices.webhook_secret_set"))


def webhook_target() -> tuple[str, str] | None:
    """(URL, secret) when a webhook is set; the pass signs with the secret."""
    url, secret = get_setting("notices.webhook_url"), get_setting("notices.webhook_secret")
    return (url, secret) if url and secret else None


def parse_days(text: object) -> tuple[int, ...]:
    """(14, 1) from "14, 1" (commas or spaces; any order; largest first); ValueError with the page's words."""
    words = [w for w in re.split(r"[\s,;]+", text if isinstance(text, str) else "") if w]
    days = []
    for word in words:
        if not word.isascii() or not word.isdigit() or len(word) > 3 or not 1 <= int(word) <= MAX_DAYS:
            raise ValueError(f'"{word[:20]}" is not a number of days from 1 to {MAX_DAYS}. {DAYS_HELP}')
        if int(word) not in days:
            days.append(int(word))
    if len(days) > MAX_NOTICES_BEFORE:
        raise ValueError(f"Send at most {MAX_NOTICES_BEFORE} notices before a key expires.")
    return tuple(sorted(days, reverse=True))


def webhook_url_problem(url: str) -> str | None:
    """Why `url` can't be the webhook's address, or None."""
    example = "for example https://hooks.example.com/keydesk"
    if len(url) > MAX_URL_LENGTH:
        return f"The address may be at most {MAX_URL_LENGTH} characters long."
    if not url.isprintable() or any(c.isspace() for c in url):
        return f"The address can't contain spaces or control characters; {example}."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that isn't one)
    except ValueError:
        return f"That is not a web address; {example}."
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return f"Enter an address that starts with http:// or https://, {example}."
    if parts.username is not None or parts.password is not None:
        return "Leave the user name and password out of the address: the secret below proves requests are ours."
    return None


def secret_problem(secret: str) -> str | None:
    low, high = SECRET_LENGTHS
    if not low <= len(secret) <= high or not _SECRET.match(secret):
        return f"A secret is {low} to {high} letters, digits or punctuation marks, without spaces."
    return None


def new_secret() -> str:
    """256 random bits, URL-safe base64: easy to paste into the receiving system's configuration."""
    return secrets.token_urlsafe(32)


def update_notice_settings(subject: Subject, *, days: str, webhook_url: str, secret: str = "") -> Saved:
    """Save the days and the webhook; `secret` (optional) replaces the webhook secret. A webhook saved without
    any secret gets a new one, returned in Saved.new_secret to be shown once. One audit event when anything
    changed; ValidationFailed naming each wrong field (days, webhook_url, webhook_secret)."""
    require(subject, privileges.SETTINGS_UPDATE, privileges.MANAGE_SECURITY)
    problems = {}
    try:
        parsed_days = parse_days(days)
    except ValueError as error:
        problems["days"] = str(error)
    url = (webhook_url or "").strip()
    if url and (problem := webhook_url_problem(url)):
        problems["webhook_url"] = problem
    secret = (secret or "").strip()
    if secret and (problem := secret_problem(secret)):
        problems["webhook_secret"] = problem
    if problems:
        raise ValidationFailed(list(problems.values()), fields=problems)
    with database.atomic():
        before = notice_settings()
        made = new_secret() if url and not secret and not get_setting("notices.webhook_secret") else None
        set_setting("notices.days_before", list(parsed_days))
        if url:
            set_setting("notices.webhook_url", url)
        else:
            Setting.delete().where(Setting.name == "notices.webhook_url").execute()
        if secret or made:
            _store_secret(secret or made)
        after = notice_settings()
        if after != before:
            audit.record(subject, "settings.update", target_type="settings", target_id="notices",
                         before=before.audited(), after=after.audited(),
                         detail="webhook secret replaced" if after.secret_set != before.secret_set else None)
    return Saved(after, made)


def replace_webhook_secret(subject: Subject) -> Saved:
    """Make a new webhook secret (the old one stops signing at once); returned to be shown once. Audited."""
    require(subject, privileges.SETTINGS_UPDATE, privileges.MANAGE_SECURITY)
    made = new_secret()
    with database.atomic():
        before = notice_settings()
        _store_secret(made)
        after = notice_settings()
        audit.record(subject, "settings.update", target_type="settings", target_id="notices",
                     before=before.audited(), after=after.audited(), detail="webhook secret replaced")
    return Saved(after, made)


def _store_secret(secret):
    set_setting("notices.webhook_secret", secret)
    previous = get_setting("notices.webhook_secret_set") or 0
    set_setting("notices.webhook_secret_set", max(now_ms(), previous + 1))  # always moves: the audit shows it
