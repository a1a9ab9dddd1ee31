"""The keys pages' "Limit requests" toggle: set at creation, shown on the details, changed or removed by an update,
and bad values answered 422 beside their fields (never a 500)."""

import html as markup
import re

import pytest

from tests.conftest import USER_PASSWORD
from webapp.model import ApiKey
from webapp.services.api_keys import commands as api_keys

HTMX = {"HX-Request": "true"}


def _token(client):
    html = client.get("/account/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _post(client, path, data):
    return client.post(path, data={"csrf_token": _token(client), **data}, headers=HTMX)


def _text(response):
    return markup.unescape(response.get_data(as_text=True))


@pytest.fixture
def alice(make_user, subject_of, auth):
    subject = subject_of(make_user("alice", ["api_key_user"]))
    auth.login("alice", USER_PASSWORD)
    return subject


def test_the_forms_offer_the_toggle(client, alice):
    form = _text(client.get("/keys/new", headers=HTMX))
    assert "Limit requests" in form and 'name="rate_requests"' in form and 'name="rate_per"' in form
    key = api_keys.create_api_key(alice, name="svc")
    details = _text(client.get(f"/keys/{key.id}", headers=HTMX))
    assert "Limit requests" in details and "<dt>Rate limit</dt><dd data-rate-limit>None</dd>" in details


def test_create_with_a_limit_then_update_and_remove_it(client, alice):
    created = _post(client, "/keys/new", {"name": "limited", "limit_rate": "1", "rate_requests": "2500",
                                          "rate_per": "1h"})
    assert created.status_code == 200, _text(created)
    key = ApiKey.get(ApiKey.name == "limited")
    assert key.rate_limit == {"requests": 2500, "per": "1h"}
    details = _text(client.get(f"/keys/{key.id}", headers=HTMX))
    assert "2,500 requests per 1h" in details and 'value="2500"' in details
    updated = _post(client, f"/keys/{key.id}", {"limit_rate": "1", "rate_requests": "1", "rate_per": "1s"})
    assert updated.status_code == 200 and "1 request per 1s" in _text(updated)
    assert ApiKey.get_by_id(key.id).rate_limit == {"requests": 1, "per": "1s"}
    removed = _post(client, f"/keys/{key.id}", {"rate_requests": "1", "rate_per": "1s"})
    assert removed.status_code == 200 and ApiKey.get_by_id(key.id).rate_limit is None
    plain = _post(client, "/keys/new", {"name": "plain", "rate_requests": "0", "rate_per": "nonsense"})
    assert plain.status_code == 200 and ApiKey.get(ApiKey.name == "plain").rate_limit is None  # toggle off


@pytest.mark.parametrize(("requests", "per", "field", "message"), [
    ("0", "1m", "rate_requests", "Enter a whole number of requests from 1 to 1,000,000."),
    ("1000001", "1m", "rate_requests", "Enter a whole number of requests from 1 to 1,000,000."),
    ("ten", "1m", "rate_requests", "Enter a whole number of requests"),
    ("", "1m", "rate_requests", "Enter a whole number of requests"),
    ("9" * 5000, "1m", "rate_requests", "Enter a whole number of requests"),
    ("10", "2d", "rate_per", "Enter a time such as 1s, 30s, 1m, 1h or 1d (from 1s to 1d)."),
    ("10", "", "rate_per", "Enter a time such as"),
    ("10", "1ms", "rate_per", "Enter a time such as"),
    ("10", "1\x00m", "rate_per", "Enter a time such as"),
])
def test_bad_values_are_answered_beside_their_field(client, alice, requests, per, field, message):
    response = _post(client, "/keys/new", {"name": "bad", "limit_rate": "1", "rate_requests": requests,
                                           "rate_per": per})
    text = _text(response)
    assert response.status_code == 422, text
    assert f'id="create-{field}-error">{message}' in text
    assert not ApiKey.select().where(ApiKey.name == "bad").exists()
    key = api_keys.create_api_key(alice, name="svc")
    update = _post(client, f"/keys/{key.id}", {"limit_rate": "1", "rate_requests": requests, "rate_per": per})
    assert update.status_code == 422 and f'id="update-{field}-error">{message}' in _text(update)
    assert ApiKey.get_by_id(key.id).rate_limit is None
