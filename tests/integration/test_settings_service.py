"""Settings services: license levels and the one-time trial, the API keys switch (keys stop, nothing is
deleted), the retention period as an Elasticsearch time value, and the audit trail of each change."""

import pytest

from webapp.clock import DAY_MS, now_ms
from webapp.errors import FeatureDisabled, Unauthorized, ValidationFailed
from webapp.model import ApiKey, AuditEvent
from webapp.services.admin import license as licenses
from webapp.services.admin import settings
from webapp.services.api_keys import commands as api_keys


@pytest.fixture
def admin(db, make_user, subject_of):
    return subject_of(make_user("admin", ["security_admin"]))


def test_license_starts_basic_and_the_trial_runs_30_days_once(admin):
    assert settings.license_state()["type"] == "basic"
    state = licenses.set_license(admin, "trial")
    assert state["type"] == "trial" and settings.trial_days_left(state) == 30
    assert settings.trial_days_left(state, now=state["trial_started"] + 29 * DAY_MS + 1) == 1
    assert settings.license_state(now=state["trial_started"] + 30 * DAY_MS)["type"] == "basic"
    licenses.set_license(admin, "basic")
    with pytest.raises(ValidationFailed, match="Trial was already activated."):
        licenses.set_license(admin, "trial")
    assert licenses.set_license(admin, "enterprise")["type"] == "enterprise"
    assert settings.trial_days_left(settings.license_state()) is None
    assert settings.cross_cluster_licensed()


def test_unknown_levels_and_non_admins_are_refused(admin, make_user, subject_of):
    with pytest.raises(ValidationFailed, match="unknown license type"):
        licenses.set_license(admin, "platinum")
    viewer = subject_of(make_user("viewer", ["security_viewer"]))
    with pytest.raises(Unauthorized):
        licenses.set_license(viewer, "enterprise")
    with pytest.raises(Unauthorized):
        settings.update_api_key_settings(viewer, enabled=False)


def test_api_keys_switched_off_stop_authenticating_and_come_back(app, admin, make_user, subject_of):
    owner = subject_of(make_user("owner", ["api_key_user"]))
    key = api_keys.create_api_key(owner, name="k")
    client = app.test_client()
    header = {"Authorization": f"ApiKey {key.encoded}"}
    assert client.get("/_security/_authenticate", headers=header).status_code == 200
    settings.update_api_key_settings(admin, enabled=False)
    assert not settings.api_keys_enabled()
    assert client.get("/_security/_authenticate", headers=header).status_code == 401
    with pytest.raises(FeatureDisabled, match="api keys are not enabled"):
        api_keys.create_api_key(owner, name="another")
    assert ApiKey.select().count() == 1  # nothing deleted
    settings.update_api_key_settings(admin, enabled=True)
    assert client.get("/_security/_authenticate", headers=header).status_code == 200


@pytest.mark.parametrize("text, ms", [("7d", 7 * DAY_MS), ("12h", 12 * 3_600_000), (" 30m ", 30 * 60_000),
                                      ("0s", 0), ("1500ms", 1500)])
def test_retention_takes_elasticsearch_time_values(admin, text, ms):
    settings.update_api_key_settings(admin, retention=text)
    assert settings.retention_ms() == ms
    assert settings.api_key_settings()["retention"] == text.strip()


@pytest.mark.parametrize("text, message", [
    ("7", "failed to parse setting [retention] with value [7] as a time value"),
    ("seven days", "failed to parse setting [retention] with value [seven days] as a time value"),
    ("-1d", "as a time value"), ("", "as a time value"),
    ("99999999999999999999d", "at most 36500d"),
])
def test_bad_retention_periods_are_refused_beside_the_field(admin, text, message):
    with pytest.raises(ValidationFailed) as caught:
        settings.update_api_key_settings(admin, enabled=False, retention=text)
    assert message in caught.value.fields["retention"]
    assert settings.api_keys_enabled() and settings.retention_ms() == 7 * DAY_MS  # nothing half-applied


def test_retention_defaults_to_seven_days(db):
    assert settings.api_key_settings() == {"enabled": True, "retention": "7d"}


def test_settings_changes_are_audited_once_with_before_and_after(admin):
    settings.update_api_key_settings(admin, enabled=False, retention="3d")
    settings.update_api_key_settings(admin, enabled=False, retention="3d")  # no change, no event
    licenses.set_license(admin, "enterprise")
    events = list(AuditEvent.select().where(AuditEvent.action.in_(["settings.update", "license.set"]))
                  .order_by(AuditEvent.id))
    assert [(e.action, e.before, e.after) for e in events] == [
        ("settings.update", {"enabled": True, "retention": "7d"}, {"enabled": False, "retention": "3d"}),
        ("license.set", {"type": "basic"}, {"type": "enterprise"}),
    ]
    assert events[0].actor_username == "admin"


def test_trial_days_left_rounds_up(admin):
    start = now_ms()
    state = {"type": "trial", "expiry_ms": start + DAY_MS + 1}
    assert settings.trial_days_left(state, now=start) == 2
    assert settings.trial_days_left({"type": "trial", "expiry_ms": start}, now=start + 5) == 0
