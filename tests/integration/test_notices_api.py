"""Expiry notices through the JSON API (/_keydesk/notices): what the Settings page reads and changes, with the
API's errors, privileges and a secret shown once."""

import pytest

from tests.conftest import ELASTIC_PASSWORD, USER_PASSWORD, basic_header
from webapp.clock import now_ms
from webapp.model import AuditEvent, Setting
from webapp.model.db import database
from webapp.services.notices import deliveries, preferences

ELASTIC = basic_header("elastic", ELASTIC_PASSWORD)
URL = "https://hooks.example.test/keydesk"


def _stored_secret():
    with database.connection_context():
        row = Setting.get_or_none(Setting.name == "notices.webhook_secret")
        return row and row.value


def test_the_defaults_read_back_before_anything_is_saved(call):
    status, body = call("GET", "/_keydesk/notices", ELASTIC)
    assert status == 200
    assert body == {"days_before": [14, 1], "webhook": None, "mail": None, "interval": None, "deliveries": []}


def test_saving_a_webhook_answers_its_new_secret_once_and_never_again(client, call):
    status, body = call("PUT", "/_keydesk/notices", ELASTIC, {"days_before": [1, 30, 7], "webhook_url": URL})
    assert status == 200, body
    assert body["days_before"] == [30, 7, 1] and body["webhook"]["url"] == URL
    secret = body["webhook_secret"]
    assert secret == _stored_secret() and len(secret) >= 40
    status, again = call("GET", "/_keydesk/notices", ELASTIC)
    assert status == 200 and secret not in str(again) and "webhook_secret" not in again
    assert again["webhook"] == {"url": URL, "secret_set": body["webhook"]["secret_set"]}
    status, kept = call("PUT", "/_keydesk/notices", ELASTIC, {"days_before": [3]})  # the webhook stays
    assert status == 200 and kept["webhook"]["url"] == URL and "webhook_secret" not in kept
    assert _stored_secret() == secret
    response = client.post("/_keydesk/notices/_webhook_secret", headers=ELASTIC)
    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
    replaced = response.get_json()["webhook_secret"]
    assert replaced != secret and replaced == _stored_secret()
    with database.connection_context():
        audited = " ".join(str([e.before, e.after, e.detail]) for e in AuditEvent.select())
    assert secret not in audited and replaced not in audited and "webhook secret replaced" in audited
    status, cleared = call("PUT", "/_keydesk/notices", ELASTIC, {"webhook_url": None})
    assert status == 200 and cleared["webhook"] is None and cleared["days_before"] == [3]


def test_a_secret_given_is_kept_and_not_echoed(call):
    status, body = call("PUT", "/_keydesk/notices", ELASTIC,
                        {"webhook_url": URL, "webhook_secret": "a-secret-of-mine-1234"})
    assert status == 200 and "webhook_secret" not in body
    assert _stored_secret() == "a-secret-of-mine-1234"


@pytest.mark.parametrize("body, kind, words", [
    ({"days_before": [400]}, "action_request_validation_exception", "is not a number of days from 1 to 365"),
    ({"days_before": [0]}, "action_request_validation_exception", "is not a number of days from 1 to 365"),
    ({"days_before": [30, 20, 10, 5, 2, 1]}, "action_request_validation_exception", "at most 5 notices"),
    ({"days_before": ["14"]}, "x_content_parse_exception", "days_before must be an array of whole numbers"),
    ({"days_before": [True]}, "x_content_parse_exception", "days_before must be an array of whole numbers"),
    ({"days_before": 14}, "x_content_parse_exception", "days_before doesn't support values of type"),
    ({"webhook_url": "ftp://example.test/x"}, "action_request_validation_exception", "http:// or https://"),
    ({"webhook_url": "https://u:p@example.test/"}, "action_request_validation_exception", "user name and password"),
    ({"webhook_url": URL, "webhook_secret": "short"}, "action_request_validation_exception", "16 to 256"),
    ({"day_before": [1]}, "x_content_parse_exception", "unknown field [day_before] did you mean [days_before]?"),
    ([], "x_content_parse_exception", "Expected START_OBJECT"),
])
def test_wrong_bodies_get_elasticsearch_errors_and_change_nothing(call, body, kind, words):
    status, answer = call("PUT", "/_keydesk/notices", ELASTIC, body)
    assert status == 400, answer
    assert answer["error"]["type"] == kind and words in answer["error"]["reason"], answer
    with database.connection_context():
        assert preferences.notice_settings() == preferences.NoticeSettings((14, 1), None, None)
    assert _stored_secret() is None


def test_a_body_is_required(client):
    response = client.put("/_keydesk/notices", headers=ELASTIC)
    assert response.status_code == 400 and response.get_json()["error"]["reason"] == "request body is required"


def test_deliveries_are_listed_newest_first(call, db):
    for n, outcome in enumerate((True, False)):
        deliveries.record_delivery(time=now_ms() + n, key_id=f"key{n}", key_name=f"name {n}", channel="webhook",
                                   notice="14d", event="api_key.expiring", target=URL, attempts=1 + n,
                                   status=200 if outcome else 503, error=None if outcome else "HTTP 503",
                                   delivered=outcome)
    status, body = call("GET", "/_keydesk/notices", ELASTIC)
    assert status == 200
    assert [(d["api_key"]["id"], d["outcome"], d["status"], d["attempts"]) for d in body["deliveries"]] == [
        ("key1", "failed", 503, 2), ("key0", "delivered", 200, 1)]
    assert body["deliveries"][0]["error"] == "HTTP 503" and body["deliveries"][0]["target"] == URL


def test_read_security_reads_and_only_manage_security_changes(call, make_user):
    make_user("viewer", ["security_viewer"])
    make_user("keyadmin", ["api_key_admin"])
    viewer, keyadmin = basic_header("viewer", USER_PASSWORD), basic_header("keyadmin", USER_PASSWORD)
    assert call("GET", "/_keydesk/notices", viewer)[0] == 200
    status, body = call("PUT", "/_keydesk/notices", viewer, {"days_before": [2]})
    assert status == 403 and body["error"]["type"] == "security_exception"
    assert call("POST", "/_keydesk/notices/_webhook_secret", viewer)[0] == 403
    assert call("GET", "/_keydesk/notices", keyadmin)[0] == 403
    with database.connection_context():
        assert preferences.notice_settings().days_before == (14, 1)
