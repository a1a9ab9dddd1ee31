"""The keys list service on a real database: criteria, visibility, filters, sorting, keyset paging, totals."""

from dataclasses import replace

import pytest
from peewee import fn

from webapp.clock import DAY_MS, now_ms
from webapp.errors import FeatureDisabled, Unauthorized, ValidationFailed
from webapp.model import ApiKey, Setting
from webapp.model.db import database, is_sqlite
from webapp.services.access.proxy_users import proxy_subject
from webapp.services.access.system import system_subject
from webapp.services.admin import license, settings
from webapp.services.api_keys import commands as api_keys
from webapp.services.api_keys import listing as key_search
from webapp.services.api_keys import retention, visibility
from webapp.services.schema import upgrade as schema

# ---- criteria -----------------------------------------------------------------------------------------


@pytest.fixture
def subjects(db, make_user, subject_of):
    """elastic (superuser), alice@native (own keys), alice@proxy (own keys), reader (read_security)."""
    from webapp.model import User

    return {
        "elastic": subject_of(User.get((User.username == "elastic") & (User.realm == "reserved"))),
        "alice": subject_of(make_user("alice", ["api_key_user"])),
        "proxy_alice": proxy_subject("alice", ["api_key_user"]),
        "bob": subject_of(make_user("bob", ["api_key_user"])),
        "reader": subject_of(make_user("reader", ["security_viewer"])),
        "nobody": subject_of(make_user("nobody", [])),
    }


@pytest.mark.parametrize("arguments, field, message", [
    ({"type": "robot"}, "type", "Choose Personal, Cross-cluster or Managed."),
    ({"status": "asleep"}, "status", "Choose Active, Expiring within 7 days, Expiring within 30 days or Expired."),
    ({"owners": ["alice"]}, "owner", '"alice" is not an owner; owners are written username@realm.'),
    ({"sort": "colour"}, "sort", "The list can't be sorted that way."),
    ({"sort": "name", "direction": "up"}, "sort", "The list can be sorted ascending (asc) or descending (desc) only."),
    ({"size": "7"}, "size", "Show 25, 50 or 100 keys per page."),
    ({"q": "bad:term"}, "q", None),
])
def test_criteria_name_the_control_that_is_wrong(subjects, arguments, field, message):
    with pytest.raises(ValidationFailed) as caught:
        key_search.build_criteria(subjects["elastic"], **arguments)
    assert field in caught.value.fields
    if message:
        assert caught.value.fields[field] == message


def test_invalidated_is_only_for_those_who_see_every_key(subjects):
    assert key_search.build_criteria(subjects["reader"], status="invalidated").status == "invalidated"
    for arguments in ({"status": "invalidated"}, {"q": "status:invalidated"}):
        with pytest.raises(ValidationFailed) as caught:
            key_search.build_criteria(subjects["alice"], **arguments)
        assert "Invalidated keys are listed only" in caught.value.fields["status"]


def test_defaults(subjects):
    criteria = key_search.build_criteria(subjects["alice"])
    assert (criteria.sort, criteria.direction, criteria.size) == ("created", "desc", 25)
    assert key_search.build_criteria(subjects["alice"], sort="name").direction == "asc"


# ---- visibility ---------------------------------------------------------------------------------------

def _names(page):
    return [key.name for key in page.keys]


def _search(subject, **arguments):
    return key_search.search_keys(subject, key_search.build_criteria(subject, **arguments))


def test_who_sees_which_keys(subjects):
    api_keys.create_api_key(subjects["alice"], name="native-alice-key")
    api_keys.create_api_key(subjects["proxy_alice"], name="proxy-alice-key")
    api_keys.create_api_key(subjects["bob"], name="bob-key")
    assert set(_names(_search(subjects["elastic"]))) == {"native-alice-key", "proxy-alice-key", "bob-key"}
    assert set(_names(_search(subjects["reader"]))) == {"native-alice-key", "proxy-alice-key", "bob-key"}
    # Ownership is username and realm: alice@native doesn't see alice@proxy's key, nor its count.
    native = _search(subjects["alice"])
    assert _names(native) == ["native-alice-key"] and native.total.label == "1 API key"
    assert _names(_search(subjects["proxy_alice"])) == ["proxy-alice-key"]
    assert _names(_search(subjects["alice"], q="proxy")) == []
    assert _search(subjects["alice"], owners=["bob@native"]).keys == []
    with pytest.raises(Unauthorized):
        _search(subjects["nobody"])


def test_rights_and_owner_choices(subjects):
    api_keys.create_api_key(subjects["bob"], name="bob-key")
    page = _search(subjects["reader"])
    assert page.rights.read_only and page.rights.sees_all and page.owner_choices == [("bob", "native")]
    page = _search(subjects["alice"])
    assert page.rights.may_create and not page.rights.sees_all and page.owner_choices == []
    assert not page.any_keys


def test_disabled_api_keys(subjects):
    settings.set_setting("api_keys.enabled", False)
    with pytest.raises(FeatureDisabled):
        _search(subjects["elastic"])


# ---- filters and search -------------------------------------------------------------------------------

@pytest.fixture
def fleet(subjects):
    """Keys of every kind, owned by alice and bob."""
    alice, bob, elastic = subjects["alice"], subjects["bob"], subjects["elastic"]
    license.set_license(system_subject(), "trial")
    made = {
        "Deploy-Prod": api_keys.create_api_key(alice, name="Deploy-Prod"),
        "deploy-staging": api_keys.create_api_key(bob, name="deploy-staging", expiration="3d"),
        "metrics": api_keys.create_api_key(bob, name="metrics", expiration="30d"),
        "robot": api_keys.create_api_key(alice, name="robot", metadata={"managed": True}),
        "old": api_keys.create_api_key(alice, name="old", expiration="1d"),
        "gone": api_keys.create_api_key(bob, name="gone"),
        "remote": api_keys.create_cross_cluster_api_key(elastic, name="remote", access={"search": [{"names": ["*"]}]}),
    }
    ApiKey.update(expiration=now_ms() - DAY_MS).where(ApiKey.id == made["old"].id).execute()
    api_keys.invalidate_api_keys(elastic, ids=[made["gone"].id])
    return made


@pytest.mark.parametrize("arguments, expected", [
    ({}, {"Deploy-Prod", "deploy-staging", "metrics", "robot", "old", "remote"}),
    ({"type": "personal"}, {"Deploy-Prod", "deploy-staging", "metrics", "old"}),
    ({"type": "cross-cluster"}, {"remote"}),
    ({"type": "managed"}, {"robot"}),
    ({"status": "active"}, {"Deploy-Prod", "deploy-staging", "metrics", "robot", "remote"}),
    ({"status": "expiring"}, {"deploy-staging"}),
    ({"status": "expiring-30d"}, {"deploy-staging", "metrics"}),
    ({"status": "expired"}, {"old"}),
    ({"status": "invalidated"}, {"gone"}),
    ({"owners": ["bob@native"]}, {"deploy-staging", "metrics"}),
    ({"owners": ["bob@native", "elastic@reserved"]}, {"deploy-staging", "metrics", "remote"}),
    ({"q": "DEPLOY"}, {"Deploy-Prod", "deploy-staging"}),
    ({"q": "bob"}, {"deploy-staging", "metrics"}),
    ({"q": "name:ploy-st"}, {"deploy-staging"}),
    ({"q": "owner:ali"}, {"Deploy-Prod", "robot", "old"}),
    ({"q": "owner:bob@native deploy"}, {"deploy-staging"}),
    ({"q": "type:managed"}, {"robot"}),
    ({"q": "status:expiring", "status": "active"}, {"deploy-staging"}),
    ({"q": "status:expiring-30d", "status": "active"}, {"deploy-staging", "metrics"}),
    ({"q": "status:expiring-30d", "status": "expiring"}, {"deploy-staging"}),
    ({"q": "status:expiring-30d", "status": "expired"}, set()),
    ({"q": "type:managed", "type": "personal"}, set()),
    ({"q": "nothing-like-this"}, set()),
    ({"q": "de"}, {"Deploy-Prod", "deploy-staging"}),  # a two-letter word is searched like a longer one
])
def test_filters_and_search(subjects, fleet, arguments, expected):
    page = _search(subjects["elastic"], **arguments)
    assert set(_names(page)) == expected
    assert page.total.exact and page.total.n == len(expected)
    assert key_search.count_keys(subjects["elastic"], page.criteria).n == len(expected)


def test_common_terms_walk_the_sort_order_and_cap_the_count(subjects, monkeypatch):
    for n in range(12):
        api_keys.create_api_key(subjects["bob"], name=f"batch-{n:02d}")
    api_keys.create_api_key(subjects["alice"], name="batch-alice")
    # Pretend the index is small, so "batch" counts as a common term and the count as large.
    monkeypatch.setattr(key_search, "CANDIDATE_LIMIT", 3)
    monkeypatch.setattr(key_search, "COUNT_CAP", 5)
    monkeypatch.setattr(key_search, "EXACT_COUNT_LIMIT", 2)
    page = _search(subjects["elastic"], q="BATCH", size="25")
    assert len(page.keys) == 13 and page.total.label == "More than 5 API keys"
    page = _search(subjects["elastic"], q="batch", owners=["alice@native"])
    assert _names(page) == ["batch-alice"] and page.total.label == "1 API key"


def test_search_index_follows_deletes_and_vacuum(subjects, fleet):
    retention.purge_keys(system_subject(), 0, now=now_ms() + 1)  # removes the invalidated and expired keys
    assert set(_names(_search(subjects["elastic"], q="o"))) >= {"robot"}
    assert _names(_search(subjects["elastic"], q="old")) == []
    if is_sqlite():
        database.execute_sql("VACUUM")
    assert set(_names(_search(subjects["elastic"], q="deploy"))) == {"Deploy-Prod", "deploy-staging"}


# ---- sorting and paging -------------------------------------------------------------------------------

@pytest.fixture
def many(subjects):
    """60 keys by bob: pairs share a creation time, so ties need the id to stay in order."""
    base = now_ms() - 100 * DAY_MS
    for n in range(60):
        created = api_keys.create_api_key(subjects["bob"], name=f"key-{n % 7}", expiration=f"{n % 5 + 1}d")
        ApiKey.update(creation=base + (n // 2) * 1000, last_used=None if n % 3 else base + n).where(
            ApiKey.id == created.id).execute()


def _expected(rows, column, descending):
    value = {
        "name": lambda k: (k.name, k.creation, k.id),
        "type": lambda k: (k.managed, k.type, k.creation, k.id),
        "owner": lambda k: (k.owner_username, k.owner_realm, k.creation, k.id),
        "realm": lambda k: (k.owner_realm, k.owner_username, k.creation, k.id),
        "created": lambda k: (k.creation, k.id),
        "status": lambda k: (k.expiration if k.expiration is not None else 2 ** 63 - 1, k.creation, k.id),
        "last_used": lambda k: (k.last_used or 0, k.creation, k.id),
    }[column]
    return [k.id for k in sorted(rows, key=value, reverse=descending)]


@pytest.mark.parametrize("column", key_search.SORTS)
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_every_column_sorts_with_stable_tie_breakers_and_pages_both_ways(subjects, many, column, direction):
    subject = subjects["elastic"]
    criteria = key_search.build_criteria(subject, sort=column, direction=direction, size="25")
    expected = _expected(list(ApiKey.select()), column, direction == "desc")
    first = key_search.search_keys(subject, criteria)
    second = key_search.search_keys(subject, criteria, after=first.next_cursor)
    third = key_search.search_keys(subject, criteria, after=second.next_cursor)
    seen = [k.id for page in (first, second, third) for k in page.keys]
    assert seen == expected
    assert first.prev_cursor is None and third.next_cursor is None
    back = key_search.search_keys(subject, criteria, before=third.prev_cursor)
    assert [k.id for k in back.keys] == [k.id for k in second.keys]
    assert back.next_cursor and back.prev_cursor
    again = key_search.search_keys(subject, criteria, before=back.prev_cursor)
    assert [k.id for k in again.keys] == [k.id for k in first.keys] and again.prev_cursor is None


def test_cursors_from_another_sort_or_tampered_are_refused(subjects, many):
    subject = subjects["elastic"]
    by_name = key_search.build_criteria(subject, sort="name")
    cursor = key_search.search_keys(subject, by_name).next_cursor
    for criteria, token in ((key_search.build_criteria(subject), cursor), (by_name, "not-a-cursor"),
                            (by_name, "WyJuYW1lIiwiYXNjIixbMSwyLDNdXQ")):
        with pytest.raises(ValidationFailed) as caught:
            key_search.search_keys(subject, criteria, after=token)
        assert "start again from the first page" in caught.value.fields["cursor"]


def test_page_sizes(subjects, many):
    assert len(_search(subjects["elastic"], size="50").keys) == 50
    assert len(_search(subjects["elastic"], size="100").keys) == 60


# ---- totals and the tally -----------------------------------------------------------------------------

def _tally():
    rows = database.execute_sql("SELECT owner_username, owner_realm, type, managed, invalidated, n "
                                "FROM api_key_tally WHERE n <> 0").fetchall()
    return {(r[0], r[1], r[2], bool(r[3]), bool(r[4])): r[5] for r in rows}


def _recount():
    found = {}
    for key in ApiKey.select():
        group = (key.owner_username, key.owner_realm, key.type, key.managed, key.invalidated)
        found[group] = found.get(group, 0) + 1
    return found


def test_the_tally_follows_every_write(subjects, fleet):
    assert _tally() == _recount()
    api_keys.update_api_key(subjects["alice"], fleet["Deploy-Prod"].id, metadata={"managed": True})
    api_keys.invalidate_api_keys(subjects["elastic"], ids=[fleet["metrics"].id, fleet["robot"].id])
    assert _tally() == _recount()
    retention.purge_keys(system_subject(), 0, now=now_ms() + 1)
    assert _tally() == _recount()
    page = _search(subjects["elastic"])
    assert page.total.n == ApiKey.select().where(ApiKey.invalidated == False).count()  # noqa: E712


def test_upgrading_a_version_1_database_builds_the_list_objects_without_losing_keys(subjects, fleet):
    before = {k.id: k.name for k in ApiKey.select()}
    database.execute_sql("DROP TABLE api_key_tally")
    if is_sqlite():
        database.execute_sql("DROP TABLE api_key_fts")
        database.execute_sql("DROP TABLE api_key_search")
    Setting.update(value=1).where(Setting.name == "schema.version").execute()
    assert schema.upgrade_schema() == (1, schema.SCHEMA_VERSION)
    assert {k.id: k.name for k in ApiKey.select()} == before
    assert _tally() == _recount()
    assert set(_names(_search(subjects["elastic"], q="deploy"))) == {"Deploy-Prod", "deploy-staging"}


def test_owner_states(subjects):
    from webapp.services.admin import users

    api_keys.create_api_key(subjects["alice"], name="a")
    api_keys.create_api_key(subjects["bob"], name="b")
    api_keys.create_api_key(subjects["elastic"], name="e")
    users.set_enabled(system_subject(), "alice", False, realm="native")
    users.delete_user(system_subject(), "bob", realm="native")
    states = _search(subjects["elastic"]).owner_states
    assert states == {("alice", "native"): "disabled", ("bob", "native"): "deleted",
                      ("elastic", "reserved"): "enabled"}


@pytest.mark.parametrize("share", [50, 10 ** 9])  # the second makes every filter count as selective
@pytest.mark.parametrize("column, direction", [("status", "asc"), ("last_used", "desc"), ("name", "desc"),
                                               ("created", "asc")])
@pytest.mark.parametrize("who, arguments", [("elastic", {"q": "batch"}), ("bob", {}),
                                            ("elastic", {"status": "expiring"})])
def test_paging_through_searches_and_own_keys(subjects, many, column, direction, who, arguments, share,
                                              monkeypatch):
    """The paths that filter first (index candidates, own keys, short status ranges) page like the others."""
    monkeypatch.setattr(key_search, "SELECTIVE_SHARE", share)
    for n in range(6):
        api_keys.create_api_key(subjects["alice"], name=f"batch-alice-{n}")
    ApiKey.update(name=fn.REPLACE(ApiKey.name, "key-", "batch-")).where(ApiKey.name.startswith("key-3")).execute()
    subject = subjects[who]
    criteria = key_search.build_criteria(subject, sort=column, direction=direction, **arguments)
    matching = [k for k in ApiKey.select() if k.id in {
        row.id for row in visibility.visible_keys(subject).where(ApiKey.invalidated == False)}]  # noqa: E712
    if arguments.get("q"):
        matching = [k for k in matching if "batch" in k.name]
    if arguments.get("status"):
        matching = [k for k in matching if k.expiration and k.expiration <= now_ms() + 7 * DAY_MS]
    expected = _expected(matching, column, direction == "desc")
    seen, page = [], key_search.search_keys(subject, replace(criteria, size=5))
    pages = [page]
    while True:
        seen += [k.id for k in page.keys]
        if not page.next_cursor:
            break
        page = key_search.search_keys(subject, replace(criteria, size=5), after=page.next_cursor)
        pages.append(page)
    assert seen == expected and len(expected) > 5
    back = key_search.search_keys(subject, replace(criteria, size=5), before=pages[-1].prev_cursor)
    assert [k.id for k in back.keys] == [k.id for k in pages[-2].keys]
