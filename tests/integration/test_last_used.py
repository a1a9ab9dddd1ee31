"""Last-used times are buffered: verifying a key doesn't write, and the write lands within the interval."""

import pytest
from peewee import fn

from webapp.model import ApiKey, ApiKeyUsageHour
from webapp.model.db import database
from webapp.services.access.authentication import LastUsedBuffer, authenticate_api_key, last_used
from webapp.services.api_keys import commands as api_keys


def test_verification_does_not_write_until_the_flush(db, make_user, subject_of, monkeypatch):
    buffer = LastUsedBuffer(interval=3600)
    monkeypatch.setattr("webapp.services.access.authentication.last_used", buffer)
    created = api_keys.create_api_key(subject_of(make_user("u1", ["api_key_user"])), name="k")
    authenticate_api_key(created.encoded, address="10.1.2.3", now=1_000_000)
    authenticate_api_key(created.encoded, address="10.1.2.4", now=2_000_000)
    assert ApiKey.get_by_id(created.id).last_used is None  # nothing written yet
    assert buffer.flush() == 1
    key = ApiKey.get_by_id(created.id)
    assert (key.last_used, key.last_used_address) == (2_000_000, "10.1.2.4")


def test_flush_happens_by_itself_once_the_interval_passed(db, make_user, subject_of, monkeypatch):
    buffer = LastUsedBuffer(interval=0)
    monkeypatch.setattr("webapp.services.access.authentication.last_used", buffer)
    created = api_keys.create_api_key(subject_of(make_user("u2", ["api_key_user"])), name="k")
    authenticate_api_key(created.encoded, address="10.9.9.9", now=5_000)
    assert ApiKey.get_by_id(created.id).last_used == 5_000


def test_an_older_time_never_overwrites_a_newer_one(db, make_user, subject_of):
    created = api_keys.create_api_key(subject_of(make_user("u3", ["api_key_user"])), name="k")
    ApiKey.update(last_used=9_000).where(ApiKey.id == created.id).execute()
    buffer = LastUsedBuffer(interval=3600)
    buffer.note(created.id, 8_000, "10.0.0.1")
    buffer.flush()
    assert ApiKey.get_by_id(created.id).last_used == 9_000


def test_intervals_come_from_each_apps_configuration(tmp_path):
    from webapp import create_app
    from webapp.services.access.authentication import basic_cache
    from webapp.web.extensions import Tuning

    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    tuned = create_app({"SECRET_KEY": "k", "KEYDESK_DATABASE_URL": url,
                        "KEYDESK_LAST_USED_FLUSH_SECONDS": 7, "KEYDESK_BASIC_AUTH_CACHE_SECONDS": 11})
    plain = create_app({"SECRET_KEY": "k", "KEYDESK_DATABASE_URL": url})
    assert tuned.extensions["keydesk"] == Tuning(basic_cache_seconds=11, last_used_flush_seconds=7)
    assert plain.extensions["keydesk"] == Tuning(basic_cache_seconds=60, last_used_flush_seconds=60)
    assert (last_used.interval, basic_cache.ttl) == (60, 60)  # building apps leaves the process's objects alone


@pytest.fixture
def app_config():
    return {"KEYDESK_LAST_USED_FLUSH_SECONDS": 0}


def test_an_app_that_flushes_at_once_writes_the_time_on_the_request(client, make_user, subject_of):
    created = api_keys.create_api_key(subject_of(make_user("u4", ["api_key_user"])), name="k")
    answer = client.get("/_security/_authenticate", headers={"Authorization": f"ApiKey {created.encoded}"},
                        environ_base={"REMOTE_ADDR": "10.4.4.4"})
    assert answer.status_code == 200
    with database.connection_context():
        key = ApiKey.get_by_id(created.id)
    assert key.last_used is not None and key.last_used_address == "10.4.4.4"


def test_a_write_that_fails_keeps_the_uses_and_the_request_goes_on(db, make_user, subject_of, monkeypatch):
    """The usage table away (renamed) when the flush comes due: the key check still answers, nothing buffered
    is lost, and the next flush writes it all."""
    buffer = LastUsedBuffer(interval=0)
    monkeypatch.setattr("webapp.services.access.authentication.last_used", buffer)
    created = api_keys.create_api_key(subject_of(make_user("u4", ["api_key_user"])), name="k")
    database.execute_sql("ALTER TABLE api_key_usage_hour RENAME TO api_key_usage_hour_away")
    try:
        subject = authenticate_api_key(created.encoded, address="10.4.4.4", now=7_000)
    finally:
        database.execute_sql("ALTER TABLE api_key_usage_hour_away RENAME TO api_key_usage_hour")
    assert subject.api_key_id == created.id
    assert ApiKey.get_by_id(created.id).last_used is None and buffer.pending == 1
    assert buffer.flush() == 1
    assert ApiKey.get_by_id(created.id).last_used == 7_000
    assert ApiKeyUsageHour.select(fn.SUM(ApiKeyUsageHour.requests)).where(
        ApiKeyUsageHour.key_id == created.id).scalar() == 1
