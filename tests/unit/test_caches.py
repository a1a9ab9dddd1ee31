"""The in-process caches are bounded in size and in time."""

import time
from types import SimpleNamespace

from webapp.services.access.authentication import BasicCredentialCache


def _user(user_id, generation=1):
    return SimpleNamespace(id=user_id, generation=generation)


def test_basic_cache_remembers_only_the_exact_credential():
    cache = BasicCredentialCache(ttl=60)
    cache.put("alice", "secret1", _user(7, 3))
    assert cache.get("alice", "secret1") == (7, 3)
    assert cache.get("alice", "secret2") is None
    assert cache.get("alicE", "secret1") is None


def test_basic_cache_entries_expire_after_the_ttl():
    cache = BasicCredentialCache(ttl=0.05)
    cache.put("alice", "secret1", _user(7))
    time.sleep(0.08)
    assert cache.get("alice", "secret1") is None


def test_basic_cache_is_bounded_and_drops_the_oldest():
    cache = BasicCredentialCache(ttl=60, max_entries=3)
    for n in range(5):
        cache.put(f"user{n}", "pw", _user(n))
    assert cache.get("user0", "pw") is None and cache.get("user1", "pw") is None
    assert [cache.get(f"user{n}", "pw") for n in (2, 3, 4)] == [(2, 1), (3, 1), (4, 1)]
    assert len(cache._entries) == 3


def test_basic_cache_never_holds_the_password():
    cache = BasicCredentialCache(ttl=60)
    cache.put("alice", "very-secret-password", _user(1))
    assert all(b"very-secret-password" not in key for key in cache._entries)
