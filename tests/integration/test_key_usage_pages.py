"""Usage on the keys pages over HTTP: the details' Usage section (chart, tables, states), the list's "Not used for
90 days" filter, and "Delete unused keys" with its confirmation, rights and audit rows."""

import html as markup
import re

import pytest

from tests.conftest import USER_PASSWORD
from webapp.clock import DAY_MS, now_ms
from webapp.model import ApiKey, AuditEvent
from webapp.model.db import database
from webapp.services.access.authentication import last_used
from webapp.services.api_keys import commands as api_keys

HTMX = {"HX-Request": "true"}


@pytest.fixture
def app_config():
    return {"KEYDESK_LAST_USED_FLUSH_SECONDS": 3600}


def _text(response):
    """The body as it reads: entities decoded, runs of white space as one space."""
    return re.sub(r"\s+", " ", markup.unescape(response.get_data(as_text=True)))


def _token(client):
    html = client.get("/account/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _post(client, path, data, htmx=True):
    return client.post(path, data={"csrf_token": _token(client), **data}, headers=HTMX if htmx else {})


def _age(key_id, created_days_ago, used_days_ago=None):
    now = now_ms()
    ApiKey.update(creation=now - created_days_ago * DAY_MS,
                  last_used=None if used_days_ago is None else now - used_days_ago * DAY_MS).where(
        ApiKey.id == key_id).execute()


@pytest.fixture
def alice(db, make_user, subject_of):
    return subject_of(make_user("alice", ["api_key_user"]))


@pytest.fixture
def bob(db, make_user, subject_of):
    return subject_of(make_user("bob", ["api_key_user"]))


@pytest.fixture
def aged(alice, bob):
    """Alice's and Bob's keys at known ages: {name: id}. Unused for 90 days: a-old-never, a-old-used, b-old."""
    ages = {"a-old-never": (alice, 120, None), "a-old-used": (alice, 200, 95), "a-recent-use": (alice, 120, 10),
            "a-new-never": (alice, 5, None), "b-old": (bob, 300, None)}
    ids = {}
    for name, (owner, created, used) in ages.items():
        ids[name] = api_keys.create_api_key(owner, name=name).id
        _age(ids[name], created, used)
    return ids


def _listed(response):
    return re.findall(r'<tr id="key-([^"]+)"', response.get_data(as_text=True))


# ---- details ------------------------------------------------------------------------------------------

def test_details_show_the_usage_counted_from_verifications(client, auth, alice):
    created = api_keys.create_api_key(alice, name="busy")
    for i in range(5):
        answer = client.get("/_security/_authenticate", headers={"Authorization": f"ApiKey {created.encoded}"},
                            environ_base={"REMOTE_ADDR": f"10.9.0.{i % 2}"})
        assert answer.status_code == 200
    with database.connection_context():
        last_used.flush()
    auth.login("alice", USER_PASSWORD)
    for headers in (HTMX, {}):
        html = _text(client.get(f"/keys/{created.id}", headers=headers))
        assert '<h3 id="key-usage-title">Usage</h3>' in html
        assert 'data-usage-days-total="5"' in html and "5 requests in the last 30 days" in html
        assert html.count('class="usage-bar"') == 30 + 48
        today = re.search(r"<title>(\d{4}-\d\d-\d\d): 5 requests</title>", html)
        assert today, "the bar of today names its requests"
        assert f"<tr><td>{today.group(1)}</td><td>5</td></tr>" in html  # the table of days
        assert re.search(r'<svg id="usage-days-chart" [^>]*role="img" aria-labelledby="usage-days-chart-title', html)
        assert '<code>10.9.0.0</code></td><td data-label="Requests">3</td>' in html
        assert '<code>10.9.0.1</code></td><td data-label="Requests">2</td>' in html
        assert "2 addresses in the last 90 days" in html and "Never used" not in html


def test_details_say_never_used_and_not_used_for_90_days(client, auth, alice):
    fresh = api_keys.create_api_key(alice, name="fresh")
    old = api_keys.create_api_key(alice, name="old")
    idle = api_keys.create_api_key(alice, name="idle")
    _age(old.id, 120)
    _age(idle.id, 200, 100)
    auth.login("alice", USER_PASSWORD)
    html = _text(client.get(f"/keys/{fresh.id}", headers=HTMX))
    assert 'data-usage-state="never"' in html and "Never used." in html and "usage-chart" not in html
    html = _text(client.get(f"/keys/{old.id}", headers=HTMX))
    assert "Not used for 90 days." in html and "created 120 days ago and has never been used" in html
    html = _text(client.get(f"/keys/{idle.id}", headers=HTMX))
    assert 'data-usage-state="unused"' in html and "last used 100 days ago" in html
    assert "No requests in the last 30 days." in html


# ---- the filter ---------------------------------------------------------------------------------------

def test_the_filter_lists_keys_unused_for_90_days(client, auth, aged):
    auth.login()
    response = client.get("/keys/?unused=1", headers=HTMX)
    assert response.status_code == 200
    assert set(_listed(response)) == {aged["a-old-never"], aged["a-old-used"], aged["b-old"]}
    assert "<strong>3 API keys</strong>" in response.get_data(as_text=True)
    page = client.get("/keys/?unused=1").get_data(as_text=True)
    assert re.search(r'<input type="checkbox" name="unused" value="1"[^>]*checked', page)
    by_use = client.get("/keys/?unused=1&sort=last_used&dir=asc", headers=HTMX)
    assert _listed(by_use) == [aged["b-old"], aged["a-old-never"], aged["a-old-used"]]  # never used, oldest first
    mine = client.get("/keys/?unused=1&owner=alice@native&q=never", headers=HTMX)
    assert _listed(mine) == [aged["a-old-never"]]
    assert _listed(client.get("/keys/?unused=1&status=expired", headers=HTMX)) == []
    assert set(_listed(client.get("/keys/", headers=HTMX))) == set(aged.values())


def test_the_filter_pages_through_many_keys(client, auth, alice):
    ids = [api_keys.create_api_key(alice, name=f"old-{n:02d}").id for n in range(30)]
    for n, key_id in enumerate(ids):
        _age(key_id, 100 + n)
    api_keys.create_api_key(alice, name="new")
    auth.login("alice", USER_PASSWORD)
    first = client.get("/keys/?unused=1", headers=HTMX)
    assert _listed(first) == ids[:25] and "<strong>30 API keys</strong>" in first.get_data(as_text=True)
    cursor = re.search(r'after=([^"&]+)', first.get_data(as_text=True)).group(1)
    assert _listed(client.get(f"/keys/?unused=1&after={cursor}", headers=HTMX)) == ids[25:]


def test_a_bad_filter_value_is_explained(client, auth, alice):
    auth.login("alice", USER_PASSWORD)
    response = client.get("/keys/?unused=yes", headers=HTMX)
    assert response.status_code == 422 and "The Not used for 90 days filter is either on (1) or off." in _text(response)


# ---- delete unused keys -------------------------------------------------------------------------------

def test_delete_unused_keys_confirms_with_the_count_then_deletes_them(client, auth, aged):
    auth.login()  # elastic may delete everyone's keys
    table = client.get("/keys/?unused=1", headers=HTMX).get_data(as_text=True)
    assert "data-delete-unused" in table and "Delete unused keys" in table
    assert "data-delete-unused" not in client.get("/keys/", headers=HTMX).get_data(as_text=True)
    confirm = client.get("/keys/delete?unused=1", headers=HTMX)
    html = _text(confirm)
    assert confirm.status_code == 200 and "Delete 3 unused API keys?" in html
    assert "These keys have not been used for 90 days" in html
    posted = re.findall(r'name="ids" value="([^"]+)"', html)
    assert posted == [aged["b-old"], aged["a-old-never"], aged["a-old-used"]]  # unused longest first
    assert '<input type="hidden" name="unused" value="1">' in html
    done = _post(client, "/keys/delete", {"ids": posted, "unused": "1", "confirmed": "1"})
    assert done.status_code == 200 and "Deleted 3 API keys." in _text(done)
    invalidated = {key.id for key in ApiKey.select().where(ApiKey.invalidated == True)}  # noqa: E712
    assert invalidated == set(posted)
    audited = AuditEvent.select().where(AuditEvent.action == "api_key.invalidate")
    assert {event.target_id for event in audited} == set(posted)


def test_a_key_used_after_the_confirmation_is_kept(client, auth, aged):
    auth.login()
    html = _text(client.get("/keys/delete?unused=1&owner=alice@native", headers=HTMX))
    posted = re.findall(r'name="ids" value="([^"]+)"', html)
    assert set(posted) == {aged["a-old-never"], aged["a-old-used"]}
    ApiKey.update(last_used=now_ms()).where(ApiKey.id == aged["a-old-used"]).execute()
    done = _text(_post(client, "/keys/delete", {"ids": posted, "unused": "1", "confirmed": "1"}))
    assert "Deleted API key 'a-old-never'. Could not delete 'a-old-used': it was used in the last 90 days." in done
    assert not ApiKey.get_by_id(aged["a-old-used"]).invalidated


def test_users_who_manage_their_own_keys_delete_only_their_own(client, auth, make_user, aged):
    make_user("viewer", ["security_viewer", "api_key_user"])  # sees every key, deletes only its own
    auth.login("alice", USER_PASSWORD)
    html = _text(client.get("/keys/delete?unused=1", headers=HTMX))
    assert set(re.findall(r'name="ids" value="([^"]+)"', html)) == {aged["a-old-never"], aged["a-old-used"]}
    forged = _text(_post(client, "/keys/delete", {"ids": [aged["b-old"]], "unused": "1", "confirmed": "1"}))
    assert f"Could not delete '{aged['b-old']}': no such API key." in forged
    assert not ApiKey.get_by_id(aged["b-old"]).invalidated
    auth.logout()
    auth.login("viewer", USER_PASSWORD)
    refused = client.get("/keys/delete?unused=1", headers=HTMX)
    assert refused.status_code == 422 and "No API key you may delete has gone unused for 90 days." in _text(refused)


def test_read_only_callers_get_no_button_and_a_403(client, auth, make_user, aged):
    make_user("reader", ["security_viewer"])
    auth.login("reader", USER_PASSWORD)
    assert "data-delete-unused" not in client.get("/keys/?unused=1", headers=HTMX).get_data(as_text=True)
    assert client.get("/keys/delete?unused=1", headers=HTMX).status_code == 403
    assert _post(client, "/keys/delete", {"ids": [aged["b-old"]], "unused": "1", "confirmed": "1"}).status_code == 403


def test_delete_unused_keys_without_javascript(client, auth, aged):
    auth.login("alice", USER_PASSWORD)
    confirm = _post(client, "/keys/delete", {"unused": "1", "return_to": "unused=1&sort=name"}, htmx=False)
    html = _text(confirm)
    assert confirm.status_code == 200 and "<html" in html and "Delete 2 unused API keys?" in html
    assert 'href="/keys/?sort=name&unused=1"' in html or 'href="/keys/?unused=1&sort=name"' in html
    posted = re.findall(r'name="ids" value="([^"]+)"', html)
    done = _post(client, "/keys/delete", {"ids": posted, "unused": "1", "confirmed": "1",
                                          "return_to": "unused=1&sort=name"}, htmx=False)
    assert done.status_code == 303
    assert "Deleted 2 API keys." in _text(client.get(done.headers["Location"]))


def test_nothing_to_delete_and_the_filter_off_are_explained(client, auth, alice):
    api_keys.create_api_key(alice, name="fresh")
    auth.login("alice", USER_PASSWORD)
    nothing = client.get("/keys/delete?unused=1", headers=HTMX)
    assert nothing.status_code == 422 and "No API key you may delete has gone unused for 90 days." in _text(nothing)
    off = _post(client, "/keys/delete", {"unused": "1", "return_to": "q=fresh"})
    assert off.status_code == 422 and "Choose the Not used for 90 days filter first." in _text(off)


@pytest.mark.parametrize("sort", ["name", "type", "owner", "realm", "created", "status", "last_used"])
def test_every_sort_order_finds_the_same_unused_keys_few_or_many(client, auth, alice, bob, sort):
    """A few unused keys among many are collected and sorted, many are found walking the sort order, and an
    owner's through the owner's index: each plan must find exactly the unused keys, in the order asked."""
    recent = [api_keys.create_api_key(alice, name=f"recent-{n:03d}").id for n in range(120)]  # 2 x 50 < 122
    for n, key_id in enumerate(recent):
        _age(key_id, 30 + n % 50, 1 + n % 20 if n % 3 else None)
    few = {api_keys.create_api_key(owner, name=name).id for owner, name in ((alice, "idle-a"), (bob, "idle-b"))}
    for n, key_id in enumerate(sorted(few)):
        _age(key_id, 150 + n, 100 if n else None)
    auth.login()
    for direction in ("asc", "desc"):
        assert set(_listed(client.get(f"/keys/?unused=1&sort={sort}&dir={direction}", headers=HTMX))) == few
    for key_id in recent[:40]:  # now most keys are unused
        _age(key_id, 200, 95)
    many = few | set(recent[:40])
    pages = []
    for direction in ("asc", "desc"):
        listed, cursor = [], ""
        while True:
            body = client.get(f"/keys/?unused=1&sort={sort}&dir={direction}{cursor}", headers=HTMX)
            listed += _listed(body)
            found = re.search(r'after=([^"&]+)', body.get_data(as_text=True))
            if not found:
                break
            cursor = f"&after={found.group(1)}"
        assert len(listed) == len(set(listed)) and set(listed) == many
        pages.append(listed)
    assert pages[0] == pages[1][::-1]
    auth.logout()
    auth.login("alice", USER_PASSWORD)
    mine = _listed(client.get(f"/keys/?unused=1&sort={sort}&size=100", headers=HTMX))
    assert set(mine) == {key_id for key_id in many if ApiKey.get_by_id(key_id).owner_username == "alice"}
