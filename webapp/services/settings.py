"""Stored settings: license level and trial, whether API keys are enabled, key retention."""

import re

from webapp.models import Setting
from webapp.services.clock import DAY_MS, now_ms

LICENSE_LEVELS = ("basic", "trial", "enterprise")
TRIAL_DAYS = 30
_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d)\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": DAY_MS}


def get_setting(name, default=None):
    row = Setting.get_or_none(Setting.name == name)
    return default if row is None else row.value


def set_setting(name, value):
    Setting.insert(name=name, value=value).on_conflict(
        conflict_target=[Setting.name], update={Setting.value: value}
    ).execute()


def parse_duration_ms(text):
    """Milliseconds in an Elasticsearch time value such as `7d`, `12h`, `30m`, `1000ms`; ValueError if not one."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"failed to parse setting [retention] with value [{text}] as a time value")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def license_state(now=None):
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


def cross_cluster_licensed(now=None):
    """Cross-cluster keys need an enterprise license or an active trial."""
    return license_state(now)["type"] in {"trial", "enterprise"}


def api_keys_enabled():
    return bool(get_setting("api_keys.enabled", True))


def retention_ms():
    return parse_duration_ms(get_setting("api_keys.retention", "7d"))
