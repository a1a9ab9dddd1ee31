"""Rotating keys from the keys pages over HTTP: from a key's details and in bulk from the list, as htmx fragments
and as full pages, with the messages a person reads and the show-once, no-store answers."""

import base64
import html as markup
import re
from urllib.parse import unquote

import pytest

from tests.conftest import USER_PASSWORD
from tests.integration.test_key_rotation import move_clock
from webapp.model import ApiKey, AuditEvent
from webapp.services.api_keys import commands as api_keys
from webapp.services.api_keys import rotation

HTMX = {"HX-Request": "true"}
NO_STORE = "no-store"


def _text(response):
    return markup.unescape(response.get_data(as_text=True))


def _post(client, path, data, htmx=True):
    html = client.get("/account/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return client.post(path, data={"csrf_token": token, **data}, headers=HTMX if htmx else {})


@pytest.fixture
def alice(make_user, subject_of, auth):
    subject = subject_of(make_user("alice", ["api_key_user"]))
    auth.login("alice", USER_PASSWORD)
    return subject


def _credential(html):
    return re.search(r'id="credential-value"[^>]*value="([^"]+)"', html).group(1)


def test_details_offer_rotation_to_the_owner_only(client, auth, alice, make_user, subject_of):
    key = api_keys.create_api_key(alice, name="mine")
    html = _text(client.get(f"/keys/{key.id}", headers=HTMX))
    assert 'id="rotate-key-form"' in html and "Old key keeps working for" in html
    assert '<option value="24h" selected>24 hours</option>' in html
    auth.logout()
    make_user("viewer", ["security_viewer"])
    auth.login("viewer", USER_PASSWORD)
    assert "rotate-key-form" not in _text(client.get(f"/keys/{key.id}"))
    assert _post(client, f"/keys/{key.id}/rotate", {}).status_code == 403


def test_rotating_from_the_details_shows_the_new_key_once(client, alice):
    key = api_keys.create_api_key(alice, name="deploy", expiration="5d")
    response = _post(client, f"/keys/{key.id}/rotate", {"grace_period": "1h"})
    html = _text(response)
    assert response.status_code == 200 and response.headers["Cache-Control"] == NO_STORE
    assert response.headers["HX-Retarget"] == "#created-key" and "keys-changed" in response.headers["HX-Trigger"]
    assert "api-key-rotated" in response.headers["HX-Trigger"] and "<html" not in html
    successor = ApiKey.get(ApiKey.rotated_from == key.id)
    assert "Rotated API key 'deploy'" in html and f"replaces <code>{key.id}</code>" in html
    assert "keeps working until" in html and re.search(r"\(in (59 minutes|1 hour)\)", html)
    decoded = base64.b64decode(_credential(html)).decode()
    assert decoded.startswith(successor.id + ":") and ApiKey.get_by_id(key.id).replaced_by == successor.id
    # The old key's details come along out of band, now linked to the successor.
    assert '<article id="key-details" aria-labelledby="key-details-title" hx-swap-oob="true">' in html
    assert re.search(r"Replaced by</dt><dd data-replaced-by><a href=\"/keys/" + successor.id, html)
    assert "stops working at" in html and "rotate-key-form" not in html.split("key-details")[1]
    # The successor's details link back.
    successor_html = _text(client.get(f"/keys/{successor.id}"))
    assert "Rotated from" in successor_html and f'href="/keys/{key.id}"' in successor_html
    assert "which stops working at" in successor_html and 'id="rotate-key-form"' in successor_html


def test_rotating_without_htmx_shows_the_details_page_with_the_panel(client, alice):
    key = api_keys.create_api_key(alice, name="plain")
    response = _post(client, f"/keys/{key.id}/rotate", {"grace_period": "0"}, htmx=False)
    html = _text(response)
    assert response.status_code == 200 and response.headers["Cache-Control"] == NO_STORE and "<html" in html
    assert "Rotated API key 'plain'" in html and "has stopped working" in html and _credential(html)
    assert "this key has stopped working" in html


@pytest.mark.parametrize("htmx", [True, False])
def test_refusals_are_messages_in_the_page(client, alice, htmx):
    key = api_keys.create_api_key(alice, name="twice")
    rotation.rotate_api_key(alice, key.id)
    response = _post(client, f"/keys/{key.id}/rotate", {}, htmx=htmx)
    html = _text(response)
    assert response.status_code == 422 and ("<html" in html) != htmx
    assert "This key has already been rotated; rotate its successor instead." in html
    assert "credential-value" not in html and "no-store" not in response.headers.get("Cache-Control", "")
    fresh = api_keys.create_api_key(alice, name="fresh")
    bad = _post(client, f"/keys/{fresh.id}/rotate", {"grace_period": "45d"}, htmx=htmx)
    assert bad.status_code == 422 and "Enter a time such as 24h, 30m or 0 (at most 30d)." in _text(bad)
    assert 'aria-invalid="true"' in _text(bad) and ApiKey.get_by_id(fresh.id).replaced_by is None
    gone = api_keys.create_api_key(alice, name="gone")
    api_keys.invalidate_api_keys(alice, ids=[gone.id], owner=True)
    refused = _post(client, f"/keys/{gone.id}/rotate", {}, htmx=htmx)
    assert refused.status_code == 422
    assert "This key has been invalidated and can no longer be changed." in _text(refused)
    assert _post(client, "/keys/AAAAAAAAAAAAAAAAAAAA/rotate", {}, htmx=htmx).status_code == 404


def test_the_list_says_rotating_on_both_rows_while_the_window_is_open(client, alice, monkeypatch):
    key = api_keys.create_api_key(alice, name="pair")
    api_keys.create_api_key(alice, name="bystander")
    rotated = rotation.rotate_api_key(alice, key.id, grace_period="3h")
    move_clock(monkeypatch, -1)  # so that the window reads as exactly three hours
    html = _text(client.get("/keys/", headers=HTMX))
    rows = {row_id: row for row_id, row in re.findall(r'<tr id="key-([^"]+)"(.*?)</tr>', html, re.S)}
    for row_id in (key.id, rotated.created.id):
        assert "Rotating — old key stops in" in rows[row_id] and re.search(r"stops in [23] hours", rows[row_id])
    assert "Rotating" not in "".join(row for row_id, row in rows.items() if row_id not in (key.id, rotated.created.id))
    # The old key can't be rotated again: its box is for deleting only.
    assert f'value="{rotated.created.id}" aria-label="Select pair" data-rotatable' in html
    assert f'value="{key.id}" aria-label="Select pair">' in html
    move_clock(monkeypatch, 3 * 3_600_000 + 2)
    html = _text(client.get("/keys/", headers=HTMX))
    assert "Rotating" not in html


def test_bulk_rotation_confirms_then_shows_every_new_key_once(client, alice, bob_key):
    keys = [api_keys.create_api_key(alice, name=f"job-{n}") for n in range(3)]
    done = api_keys.create_api_key(alice, name="done")
    rotation.rotate_api_key(alice, done.id)
    ids = [k.id for k in keys] + [done.id, bob_key]
    confirm = client.get("/keys/rotate", query_string={"ids": ids}, headers=HTMX)
    html = _text(confirm)
    assert confirm.status_code == 200 and html.lstrip().startswith('<div id="rotate-keys" data-open-dialog>')
    assert "Rotate 3 API keys?" in html and html.count('type="hidden" name="ids"') == 3
    assert "'done': This key has already been rotated; rotate its successor instead." in html
    assert "bobs" not in html  # another user's key isn't even named
    response = _post(client, "/keys/rotate", {"ids": ids, "confirmed": "1", "grace_period": "7d"})
    html = _text(response)
    assert response.status_code == 200 and response.headers["Cache-Control"] == NO_STORE
    assert response.headers["HX-Retarget"] == "#created-key" and response.headers["HX-Trigger"] == "api-keys-rotated"
    assert "Rotated 3 API keys" in html and "2 keys weren't rotated:" in html
    assert "'done': This key has already been rotated; rotate its successor instead." in html
    assert f"'{bob_key}': no such API key." in html
    successors = {k.rotated_from: k for k in ApiKey.select().where(ApiKey.rotated_from.in_([k.id for k in keys]))}
    assert set(successors) == {k.id for k in keys}
    # Each credential shown, and all of them in the CSV the download link carries (made from this answer only).
    for successor in successors.values():
        encoded = re.search(r'value="([^"]+)"[^>]*>\s*<button[^>]*aria-label="Copy the key for ' + successor.name,
                            html).group(1)
        assert base64.b64decode(encoded).decode().startswith(successor.id + ":")
    link = re.search(r'href="data:text/csv;charset=utf-8,([^"]+)" download="rotated-api-keys.csv"', html).group(1)
    lines = unquote(link).strip().splitlines()
    assert lines[0] == "name,id,encoded,id:api_key,replaces,old_key_stops" and len(lines) == 4
    for line in lines[1:]:
        name, new_id, encoded, beats, old_id, stops = line.split(",")
        assert successors[old_id].id == new_id and base64.b64decode(encoded).decode() == beats
        assert stops.endswith("UTC")
    # The table comes along out of band; one audit row per rotated key.
    assert '<section id="key-table"' in html and 'hx-swap-oob="true"' in html
    assert AuditEvent.select().where(AuditEvent.action == "api_key.rotate").count() == 4


@pytest.fixture
def bob_key(make_user, subject_of):
    return api_keys.create_api_key(subject_of(make_user("bob", ["api_key_user"])), name="bobs").id


def test_bulk_rotation_without_htmx_and_its_refusals(client, alice):
    key = api_keys.create_api_key(alice, name="solo")
    unconfirmed = _post(client, "/keys/rotate", {"ids": [key.id]}, htmx=False)
    assert unconfirmed.status_code == 200 and "Rotate API key 'solo'?" in _text(unconfirmed)
    assert "<html" in _text(unconfirmed) and ApiKey.get_by_id(key.id).replaced_by is None
    bad = _post(client, "/keys/rotate", {"ids": [key.id], "confirmed": "1", "grace_period": "never"})
    assert bad.status_code == 422 and "Enter a time such as 24h, 30m or 0" in _text(bad)
    assert ApiKey.get_by_id(key.id).replaced_by is None
    for ids, message in (([], "Select at least one API key to rotate."), (["bad id"], "That isn't an API key id."),
                         ([f"{n:020d}" for n in range(101)], "Rotate at most 100 API keys at a time.")):
        refused = _post(client, "/keys/rotate", {"ids": ids, "confirmed": "1"})
        assert refused.status_code == 422 and message in _text(refused)
        assert client.get("/keys/rotate", query_string={"ids": ids}).status_code == 422
    response = _post(client, "/keys/rotate", {"ids": [key.id], "confirmed": "1", "grace_period": "1h"}, htmx=False)
    html = _text(response)
    assert response.status_code == 200 and "<html" in html and response.headers["Cache-Control"] == NO_STORE
    assert "Rotated API key 'solo'" in html and "Download all as CSV" in html
    assert "Rotating — old key stops in" in html  # the list below the panel shows the pair


def test_a_name_cannot_become_a_spreadsheet_formula_in_the_download(client, alice):
    key = api_keys.create_api_key(alice, name="=HYPERLINK(1)")
    html = _text(_post(client, "/keys/rotate", {"ids": [key.id], "confirmed": "1"}))
    link = re.search(r'href="data:text/csv;charset=utf-8,([^"]+)"', html).group(1)
    assert unquote(link).splitlines()[1].startswith("'=HYPERLINK(1)")
