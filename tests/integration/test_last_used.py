"""Last-used times are buffered: verifying a key doesn't write, and the write lands within the interval."""

from webapp.model import ApiKey
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


def test_intervals_come_from_the_configuration(tmp_path):
    from webapp import create_app
    from webapp.services.access.authentication import basic_cache

    create_app({"SECRET_KEY": "k", "KEYDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
                "KEYDESK_LAST_USED_FLUSH_SECONDS": 7, "KEYDESK_BASIC_AUTH_CACHE_SECONDS": 11})
    try:
        assert (last_used.interval, basic_cache.ttl) == (7, 11)
    finally:
        last_used.interval, basic_cache.ttl = 60, 60
