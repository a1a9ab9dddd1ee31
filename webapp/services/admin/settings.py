"""Stored settings: license level and trial, whether API keys are enabled, key retention; and what the
settings page shows of them."""

import math
import re
from dataclasses import dataclass, field

from webapp.clock import DAY_MS, now_ms
from webapp.errors import ValidationFailed
from webapp.model import Setting
from webapp.model.db import database
from webapp.security import privileges
from webapp.security.subject import Subject
from webapp.services.access.rights import require
from webapp.services.audit import trail as audit

LICENSE_LEVELS = ("basic", "trial", "enterprise")
TRIAL_DAYS = 30
_DURATION = re.compile(r"^\s*([0-9]+)\s*(ms|s|m|h|d)\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": DAY_MS}
MAX_DURATION_DAYS = 36_500
MAX_DURATION_MS = MAX_DURATION_DAYS * DAY_MS  # 100 years: the longest retention period or key lifetime


class DurationTooLong(ValueError):
    """A time value beyond MAX_DURATION_MS."""


def get_setting(name: str, default: object = None) -> object:
    """The stored value of setting `name`, or `default` when none is stored."""
    row = Setting.get_or_none(Setting.name == name)
    return default if row is None else row.value


def set_setting(name: str, value: object) -> None:
    """Store `value` as setting `name` (insert or replace)."""
    Setting.insert(name=name, value=value).on_conflict(
        conflict_target=[Setting.name], update={Setting.value: value}
    ).execute()


def parse_duration_ms(text: str, setting: str = "retention") -> int:
    """Milliseconds in an Elasticsearch time value such as `7d`, `12h`, `30m`, `1000ms`; ValueError if not one,
    DurationTooLong (a ValueError) beyond MAX_DURATION_MS. `setting` names it in the messages."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"failed to parse setting [{setting}] with value [{text}] as a time value")
    digits, unit = match.group(1).lstrip("0") or "0", match.group(2)
    # Compared as text first: a digit string of any length is refused without building a huge number.
    if len(digits) > 20 or int(digits) * _UNIT_MS[unit] > MAX_DURATION_MS:
        raise DurationTooLong(f"failed to parse setting [{setting}] with value [{text}] as a time value: "
                              f"durations beyond {MAX_DURATION_DAYS}d (100 years) are not supported")
    return int(digits) * _UNIT_MS[unit]


def license_state(now: int | None = None) -> dict:
    """The license in force: {type, status, trial_started, expiry_ms, trial_used}; an ended trial is basic."""
    now = now_ms() if now is None else now
    level = get_setting("license.type", "basic")
    trial_started = get_setting("license.trial_started")
    expiry = None
    if level == "trial":
        expiry = (trial_started or now) + TRIAL_DAYS * DAY_MS
        if now >= expiry:
            level = "basic"
            expiry = None
    return {
        "type": level,
        "status": "active",
        "trial_started": trial_started,
        "expiry_ms": expiry,
        "trial_used": trial_started is not None,
    }


def cross_cluster_licensed(now: int | None = None) -> bool:
    """Cross-cluster keys need an enterprise license or an active trial."""
    return license_state(now)["type"] in {"trial", "enterprise"}


def api_keys_enabled() -> bool:
    """Whether API keys are switched on (setting `api_keys.enabled`, default on)."""
    return bool(get_setting("api_keys.enabled", True))


DEFAULT_RETENTION = "7d"


def retention_ms(default: str = DEFAULT_RETENTION) -> int:
    """How long invalidated and expired keys are kept (setting `api_keys.retention`, else `default` — the
    KEYDESK_API_KEY_RETENTION configuration), in milliseconds."""
    return parse_duration_ms(get_setting("api_keys.retention", default))


def trial_days_left(state: dict, now: int | None = None) -> int | None:
    """Whole days (rounded up) until an active trial ends; None when no trial is running."""
    if state["type"] != "trial" or state["expiry_ms"] is None:
        return None
    now = now_ms() if now is None else now
    return max(0, math.ceil((state["expiry_ms"] - now) / DAY_MS))


def api_key_settings(default_retention: str = DEFAULT_RETENTION) -> dict:
    """{"enabled": bool, "retention": ES time value text} as the settings page shows them; the retention is
    the stored setting, else `default_retention` (the configured one)."""
    return {"enabled": api_keys_enabled(), "retention": get_setting("api_keys.retention", default_retention)}


def retention_problem(text: object) -> str | None:
    """Why `text` can't be the retention period, or None."""
    try:
        parse_duration_ms(text)
    except DurationTooLong:
        return f"the retention period may be at most {MAX_DURATION_DAYS}d (100 years)"
    except ValueError as error:
        return f"{error}: use a number and a unit (ms, s, m, h or d), for example 7d or 12h"
    return None


def update_api_key_settings(subject: Subject, *, enabled: bool | None = None, retention: str | None = None,
                            default_retention: str = DEFAULT_RETENTION) -> dict:
    """Switch API keys on/off and set the retention period; one audit event with before/after.

    Switching off deletes nothing: key endpoints answer that API keys are disabled and existing keys stop
    authenticating until they are switched back on. Returns the new settings.
    """
    require(subject, privileges.SETTINGS_UPDATE, privileges.MANAGE_SECURITY)
    if retention is not None:
        retention = retention.strip()
        if problem := retention_problem(retention):
            raise ValidationFailed([problem], fields={"retention": problem})
    with database.atomic():
        before = api_key_settings(default_retention)
        if enabled is not None:
            set_setting("api_keys.enabled", bool(enabled))
        if retention is not None:
            set_setting("api_keys.retention", retention)
        after = api_key_settings(default_retention)
        if after != before:
            audit.record(subject, "settings.update", target_type="settings", target_id="api_keys",
                         before=before, after=after)
    return after


# ---------------------------------------------------------------- the settings page
# What each license level adds, in the page's words.
LEVELS = (
    ("basic", "Basic", "Users, roles, REST API keys, the audit log and the Elasticsearch-compatible API."),
    ("trial", "Trial", "Everything, including cross-cluster API keys, for 30 days; it can be started once."),
    ("enterprise", "Enterprise", "Everything, including cross-cluster API keys, with no end date."),
)


@dataclass(frozen=True)
class SettingsPage:
    """Everything settings/_license.html and settings/_api_keys.html need."""

    license: dict
    days_left: int
    api_keys: dict
    levels: tuple = LEVELS
    api_key_errors: dict = field(default_factory=dict)


def settings_page(default_retention: str, *, api_keys: dict | None = None,
                  api_key_errors: dict | None = None) -> SettingsPage:
    """The page's data; `api_keys` keeps what was typed when it was refused (with `api_key_errors`)."""
    state = license_state()
    return SettingsPage(license=state, days_left=trial_days_left(state),
                        api_keys=api_keys or api_key_settings(default_retention),
                        api_key_errors=api_key_errors or {})
