"""Faults from outside: the database or the throttle store goes away. Callers get a clear answer in their
own language (never a 500 or a stack trace), nothing is half-written, and service resumes on recovery."""

import pytest

from tests.conftest import ELASTIC_PASSWORD, basic_header, count
from webapp.model import ApiKey, AuditEvent
from webapp.model.db import database, init_database

ELASTIC = basic_header("elastic", ELASTIC_PASSWORD)
# Nothing listens on port 1: connecting is refused at once, as when the database server is down.
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/keydesk?pool_timeout=1&connect_timeout=2"


@pytest.fixture
def outage(app):
    """Point the app at a database server that is down, then back at the real one."""
    working = app.config["KEYDESK_DATABASE_URL"]

    def begin():
        count("faults: database made unreachable under a running app")
        init_database(UNREACHABLE)

    yield begin
    init_database(working)


def _rows():
    with database.connection_context():
        return ApiKey.select().count(), AuditEvent.select().count()


def test_the_api_answers_503_in_elasticsearchs_envelope_while_the_database_is_down(app, client, outage):
    created = client.post("/_security/api_key", json={"name": "before"}, headers=ELASTIC).get_json()
    before = _rows()
    outage()
    for method, path, body in (("GET", "/_security/_authenticate", None),
                               ("POST", "/_security/api_key", {"name": "during"}),
                               ("DELETE", "/_security/api_key", {"ids": [created["id"]]})):
        response = client.open(path, method=method, json=body, headers=ELASTIC)
        assert response.status_code == 503, (method, path, response.get_data(as_text=True))
        error = response.get_json()["error"]
        assert error["reason"] == "the security store is temporarily unavailable; retry later"
        assert response.headers["Retry-After"] == "5"
        assert "127.0.0.1:1" not in response.get_data(as_text=True)  # no connection details
    # A key presented while the store is down is not taken on trust either.
    keyed = client.get("/_security/_authenticate", headers={"Authorization": f"ApiKey {created['encoded']}"})
    assert keyed.status_code == 503
    init_database(app.config["KEYDESK_DATABASE_URL"])
    assert _rows() == before  # the refused create and invalidate left nothing behind
    again = client.get("/_security/_authenticate", headers={"Authorization": f"ApiKey {created['encoded']}"})
    assert again.status_code == 200


def test_pages_and_partials_explain_the_outage(app, client, auth, outage):
    assert auth.login().status_code == 302
    outage()
    page = client.get("/keys/")
    assert page.status_code == 503
    text = page.get_data(as_text=True)
    assert "be reached right now" in text and "Traceback" not in text
    assert "<html" in text.lower()
    partial = client.get("/keys/", headers={"HX-Request": "true", "HX-Target": "keys-table"})
    assert partial.status_code == 503
    assert "<html" not in partial.get_data(as_text=True).lower()
    assert "be reached right now" in partial.get_data(as_text=True)
    assert client.get("/login").status_code == 503


def test_sign_in_and_keys_work_when_the_throttle_store_is_down(tmp_path, caplog):
    from webapp import create_app
    from webapp.services.schema import bootstrap as setup

    app = create_app({"SECRET_KEY": "k", "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "KEYDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'faults.sqlite3'}",
                      "KEYDESK_RATELIMIT_STORAGE_URL": "redis://127.0.0.1:1/0"})
    count("faults: throttle store (Redis) unreachable")
    with database.connection_context():
        setup.initialise(ELASTIC_PASSWORD)
    client = app.test_client()
    assert client.get("/_security/_authenticate", headers=ELASTIC).status_code == 200
    wrong = client.get("/_security/_authenticate", headers=basic_header("elastic", "wrong"))
    assert wrong.status_code == 401  # credentials are still checked in full
    assert "throttle store unavailable" in caplog.text
    assert client.post("/login", data={"username": "elastic", "password": "wrong"}).status_code == 401
    assert client.post("/login", data={"username": "elastic", "password": ELASTIC_PASSWORD}).status_code == 302
