"""A secret or password never appears in logs, audit events, responses, session cookies or the database.

Every log record (all loggers at DEBUG, peewee's SQL with its parameters included), every audit row, every
response (headers, body, the session cookie it leaves) and every row of every table is collected while keys
and passwords are created, used, changed and got wrong, through the JSON API and through the pages; on SQLite
the raw bytes of the database file and its -wal/-journal files are read too. Then every secret is searched for
in all of it. Guard rails check that the same places do show the key ids, the usernames and a marker planted
in a key's metadata, so a capture that saw nothing can't pass.
"""

import base64
import json
import logging
import re
import secrets
import traceback
from pathlib import Path
from urllib.parse import quote_plus

import pytest

from tests.conftest import ELASTIC_PASSWORD, basic_header, count, database_is_sqlite
from webapp.model import ALL_MODELS, ApiKey, AuditEvent, User
from webapp.model.db import database
from webapp.security.credentials import verify_secret
from webapp.security.passwords import verify_password
from webapp.services.access.authentication import last_used

HTMX = {"HX-Request": "true"}
NO_STORE = "no-store"
_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


# ---- capturing -------------------------------------------------------------------------------------------

class LogCapture(logging.Handler):
    """Keeps every record it is handed as text: logger, level, message with its arguments, traceback, extras."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []
        self._saved = {}

    def emit(self, record):
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments don't fit its format: keep both as they are
            message = f"{record.msg!r} {record.args!r}"
        parts = [f"{record.name} {record.levelname} {message}"]
        if record.exc_info:
            parts.append("".join(traceback.format_exception(*record.exc_info)))
        if record.exc_text:
            parts.append(record.exc_text)
        if record.stack_info:
            parts.append(record.stack_info)
        extras = {name: value for name, value in vars(record).items() if name not in _RECORD_FIELDS}
        if extras:
            parts.append(repr(extras))
        self.lines.append("\n".join(parts))

    @property
    def text(self):
        return "\n".join(self.lines)

    def cover_all_loggers(self):
        """Every logger that exists now (root, Flask's app logger, werkzeug, peewee, libraries) at DEBUG,
        enabled, and reaching this handler; the settings they had are put back by `restore`."""
        names = {"webapp", "werkzeug", "peewee", "flask.app", "flask_wtf.csrf", "flask_limiter"}
        loggers = [logging.root] + [logging.getLogger(name) for name in sorted(names)]
        loggers += [item for item in logging.root.manager.loggerDict.values() if isinstance(item, logging.Logger)]
        for logger in loggers:
            if logger not in self._saved:
                self._saved[logger] = (logger.level, logger.disabled, self in logger.handlers)
            logger.setLevel(logging.DEBUG)
            logger.disabled = False
            if (logger is logging.root or not logger.propagate) and self not in logger.handlers:
                logger.addHandler(self)

    def restore(self):
        for logger, (level, disabled, had_handler) in self._saved.items():
            logger.setLevel(level)
            logger.disabled = disabled
            if not had_handler and self in logger.handlers:
                logger.removeHandler(self)
        self._saved.clear()


@pytest.fixture
def captured_logs():
    capture = LogCapture()
    capture.cover_all_loggers()
    yield capture
    capture.restore()


@pytest.fixture
def app_config(captured_logs):
    """Logging is captured before the app exists, so creating it and setting up `elastic` are covered too."""
    return {}


class Traffic:
    """A test client that keeps every exchange: status, headers, body, and the session cookie left behind."""

    def __init__(self, app, client):
        self.client = client
        self.cookie_name = app.config["SESSION_COOKIE_NAME"]
        self.serializer = app.session_interface.get_signing_serializer(app)
        self.exchanges = []

    def send(self, method, path, **kwargs):
        response = self.client.open(path, method=method, **kwargs)
        body = response.get_data(as_text=True)
        headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
        cookie = self.client.get_cookie(self.cookie_name)
        session = repr(self.serializer.loads(cookie.value)) if cookie is not None else ""
        self.exchanges.append({"what": f"{method} {path} -> {response.status_code}", "headers": headers,
                               "body": body, "session": session, "allowed": set(),
                               "caching": (response.headers.get("Cache-Control"), response.headers.get("Pragma"))})
        return response

    def get(self, path, **kwargs):
        return self.send("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.send("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.send("PUT", path, **kwargs)

    def allow_in_last_body(self, *values):
        """The last response is the one place these values may be shown (the new key, shown once)."""
        self.exchanges[-1]["allowed"].update(values)

    def csrf_token(self, path):
        html = self.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def form(self, path, data, token_from="/account/", **kwargs):
        return self.post(path, data={"csrf_token": self.csrf_token(token_from), **data}, **kwargs)

    def login(self, username, password, expect=302):
        response = self.form("/login", {"username": username, "password": password}, token_from="/login")
        assert response.status_code == expect, response.get_data(as_text=True)[:500]
        return response

    def logout(self):
        assert self.form("/logout", {}).status_code == 302


class Secrets:
    """Every secret of a test, with the forms it could leak in: as sent, URL-encoded, its random core."""

    def __init__(self):
        self.values = {}

    def password(self, label):
        """A new password whose random core shows up in any text encoding of it (JSON, HTML, URL)."""
        core = secrets.token_hex(8)
        value = f"Pw!{core}#{label}"
        self.values[f"password {label}"] = value
        self.values[f"password {label} (core)"] = core
        return value

    def add(self, label, value):
        self.values[label] = value
        if quote_plus(value) != value:
            self.values[f"{label} (url-encoded)"] = quote_plus(value)

    def basic(self, label, username, password):
        """The Basic header carries the password in base64: that form must not leak either."""
        self.values[f"basic {label}"] = basic_header(username, password)["Authorization"].split(" ", 1)[1]

    def key(self, label, key_id, secret):
        self.values[f"{label} secret"] = secret
        self.values[f"{label} encoded"] = base64.b64encode(f"{key_id}:{secret}".encode()).decode()
        self.values[f"{label} id:secret"] = f"{key_id}:{secret}"

    def of_key(self, label):
        return {value for name, value in self.values.items() if name.startswith(f"{label} ")}


def api_key_header(encoded):
    return {"Authorization": f"ApiKey {encoded}"}


# ---- searching -------------------------------------------------------------------------------------------

def database_rows():
    """Every row of every table in the database, as text (one entry per table)."""
    last_used.flush()
    tables = database.get_tables()
    assert {model._meta.table_name for model in ALL_MODELS} <= set(tables)
    dump = {}
    for table in tables:
        cursor = database.execute_sql(f'SELECT * FROM "{table}"')
        columns = [column[0] for column in cursor.description]
        dump[f"table {table}"] = "\n".join(repr(dict(zip(columns, row, strict=True))) for row in cursor.fetchall())
    return dump


def audit_rows():
    return "\n".join(json.dumps(row, default=str, ensure_ascii=False)
                     for row in AuditEvent.select().order_by(AuditEvent.id).dicts())


def raw_database_files(tmp_path):
    """The bytes of the SQLite file and of its write-ahead log and rollback journal, where they exist."""
    main = Path(tmp_path) / "keydesk.sqlite3"
    assert main.exists() and main.stat().st_size > 0
    files = {}
    for suffix in ("", "-wal", "-journal", "-shm"):
        path = main.with_name(main.name + suffix)
        if path.exists():
            files[f"file {path.name}"] = path.read_bytes()
    return files


def gather(traffic, captured_logs, capsys, tmp_path):
    """{place: text or bytes} for every place a secret must not reach, and the exchanges checked apart."""
    with database.connection_context():
        places = {"logs": captured_logs.text, "audit events": audit_rows(), **database_rows()}
    output = capsys.readouterr()
    places["stdout"], places["stderr"] = output.out, output.err
    if database_is_sqlite():
        places.update(raw_database_files(tmp_path))
    return places


def found_in(value, text):
    if isinstance(text, bytes):
        return value.encode() in text
    return value in text


def leaks(secret_values, places, exchanges):
    """Every (secret, place) where a secret shows up and may not."""
    count("secrets: (secret x log, audit row, table, file or response) searches",
          len(secret_values) * (len(places) + len(exchanges)))
    found = []
    for label, value in secret_values.items():
        for place, text in places.items():
            if found_in(value, text):
                found.append((label, place))
        for exchange in exchanges:
            for part in ("headers", "session", "body"):
                if part == "body" and value in exchange["allowed"]:
                    continue
                if value in exchange[part]:
                    found.append((label, f"{exchange['what']} ({part})"))
    return found


def assert_secret_answers_are_not_stored(exchanges):
    """Every response allowed to show a secret (the new key, shown once) tells every cache not to keep it."""
    carrying = [exchange for exchange in exchanges if exchange["allowed"]]
    assert carrying, "no response carried a secret: the check saw nothing"
    for exchange in carrying:
        assert exchange["caching"] == (NO_STORE, "no-cache"), exchange["what"]


def assert_shows(value, places, exchanges=None, where=("logs", "audit events")):
    """Guard rail: `value` (not a secret) does reach the places searched, so the search can see them."""
    for place in where:
        assert found_in(value, places[place]), f"{value!r} not found in {place}: the capture is not working"
    tables = " ".join(text for place, text in places.items() if place.startswith("table "))
    assert value in tables, f"{value!r} not found in the database rows"
    if database_is_sqlite():
        raw = b"".join(text for place, text in places.items() if place.startswith("file "))
        assert value.encode() in raw, f"{value!r} not found in the raw database files"
    if exchanges is not None:
        assert any(value in exchange["body"] for exchange in exchanges), f"{value!r} in no response"


def assert_stored_as_hashes(passwords_now, keys_now):
    """Passwords as bcrypt, key secrets as salted SHA-256; the hash never contains what it hashes."""
    with database.connection_context():
        for (username, realm), password in passwords_now.items():
            stored = User.get((User.username == username) & (User.realm == realm)).password_hash
            assert stored.startswith("$2") and password not in stored
            assert verify_password(password, stored)
        for key_id, secret in keys_now.items():
            stored = ApiKey.get_by_id(key_id).secret_hash
            assert stored.startswith("ssha256$") and secret not in stored
            assert verify_secret(secret, stored) and not verify_secret(secret + "x", stored)


# ---- the flows -------------------------------------------------------------------------------------------

def test_api_flow_leaves_no_secret_anywhere(app, client, captured_logs, capsys, tmp_path):
    """Users, passwords and a key through the JSON API: create, authenticate, update, change, get wrong."""
    captured_logs.cover_all_loggers()  # loggers the app made while starting
    assert logging.getLogger("peewee").isEnabledFor(logging.DEBUG)
    traffic = Traffic(app, client)
    found = Secrets()
    found.add("password elastic", ELASTIC_PASSWORD)
    elastic = basic_header("elastic", ELASTIC_PASSWORD)
    found.basic("elastic", "elastic", ELASTIC_PASSWORD)
    planted = f"planted-{secrets.token_hex(8)}"

    # A native user with a password, created by elastic.
    carol_1 = found.password("carol-1")
    found.basic("carol-1", "carol", carol_1)
    response = traffic.put("/_security/user/carol", headers=elastic,
                           json={"password": carol_1, "roles": ["api_key_user"], "full_name": "Carol Leak"})
    assert response.status_code == 200 and response.get_json() == {"created": True}
    carol = basic_header("carol", carol_1)

    # Wrong passwords are refused (and counted), and the refusal shows neither what was sent nor the right one.
    wrong = found.password("carol-wrong")
    found.basic("carol-wrong", "carol", wrong)
    assert traffic.get("/_security/_authenticate", headers=basic_header("carol", wrong)).status_code == 401
    assert traffic.get("/_security/_authenticate", headers=carol).get_json()["username"] == "carol"

    # A key: created (the one response that shows it), used, used wrongly, updated, read back.
    response = traffic.post("/_security/api_key", headers=carol,
                            json={"name": "leak-check", "metadata": {"marker": planted}})
    assert response.status_code == 200, response.get_data(as_text=True)
    created = response.get_json()
    key_id = created["id"]
    found.key("key", key_id, created["api_key"])
    assert created["encoded"] == found.values["key encoded"]
    traffic.allow_in_last_body(*found.of_key("key"))
    key = api_key_header(created["encoded"])
    response = traffic.get("/_security/_authenticate", headers=key)
    assert response.status_code == 200 and response.get_json()["api_key"]["id"] == key_id
    wrong_secret = secrets.token_urlsafe(16)
    found.key("wrong key", key_id, wrong_secret)
    for header in (api_key_header(found.values["wrong key encoded"]),  # right id, wrong secret
                   {"Authorization": f"ApiKey {key_id}:{created['api_key']}"},  # not base64
                   {"Authorization": f"ApiKey {created['api_key']}"},  # the secret alone
                   {"Authorization": f"Basic {created['encoded']}"}):  # the right credential, wrong scheme
        response = traffic.get("/_security/_authenticate", headers=header)
        assert response.status_code == 401 and response.get_json()["error"]["type"] == "security_exception"
    response = traffic.put(f"/_security/api_key/{key_id}", headers=carol,
                           json={"metadata": {"marker": planted, "changed": True}})
    assert response.status_code == 200 and response.get_json() == {"updated": True}
    assert traffic.get(f"/_security/api_key?id={key_id}&with_limited_by=true", headers=elastic).status_code == 200
    assert traffic.get(f"/_security/api_key?id={key_id}&owner=true", headers=carol).status_code == 200
    assert traffic.post("/_security/_query/api_key", headers=elastic,
                        json={"query": {"ids": {"values": [key_id]}}}).status_code == 200

    # Granting a key for a user's password (answered as Elasticsearch answers, or refused if not offered here).
    response = traffic.post("/_security/api_key/grant", headers=elastic,
                            json={"grant_type": "password", "username": "carol", "password": carol_1,
                                  "api_key": {"name": "granted"}})
    assert response.status_code < 500
    if response.status_code == 200:
        granted = response.get_json()
        found.key("granted key", granted["id"], granted["api_key"])
        traffic.allow_in_last_body(*found.of_key("granted key"))
    else:
        assert "error" in response.get_json()

    # Passwords changed: by an administrator, by the user themself, elastic's own; the old ones stop working.
    carol_2 = found.password("carol-2")
    found.basic("carol-2", "carol", carol_2)
    assert traffic.post("/_security/user/carol/_password", headers=elastic,
                        json={"password": carol_2}).status_code == 200
    assert traffic.get("/_security/_authenticate", headers=carol).status_code == 401
    carol_3 = found.password("carol-3")
    found.basic("carol-3", "carol", carol_3)
    assert traffic.post("/_security/user/_password", headers=basic_header("carol", carol_2),
                        json={"password": carol_3}).status_code == 200
    carol = basic_header("carol", carol_3)
    assert traffic.get("/_security/_authenticate", headers=carol).status_code == 200
    elastic_2 = found.password("elastic-2")
    found.basic("elastic-2", "elastic", elastic_2)
    assert traffic.put("/_security/user/elastic/_password", headers=elastic,
                       json={"password": elastic_2}).status_code == 200
    elastic = basic_header("elastic", elastic_2)
    dave = found.password("dave")
    assert traffic.put("/_security/user/dave", headers=elastic,
                       json={"password": dave, "roles": ["security_viewer"], "enabled": True}).status_code == 200

    # Requests that fail while carrying a password: the error names what is wrong, never the password.
    too_short = "Zq9!x"  # under six characters, and no such run is in a hash's alphabet
    found.add("password too short", too_short)
    refused = [
        traffic.put("/_security/user/erin", headers=elastic, json={"password": too_short}),
        traffic.post("/_security/user/carol/_password", headers=elastic, json={"password": too_short}),
        traffic.put("/_security/user/erin", headers=elastic, json={"password": [carol_3]}),
        traffic.put("/_security/user/erin", headers=elastic, json={"password": carol_3, "unknown": carol_3}),
        traffic.put("/_security/user/erin", headers=elastic,
                    data='{"password": "' + carol_3 + '", ', content_type="application/json"),
        traffic.post("/_security/user/carol/_password", headers=elastic,
                     json={"password": carol_3, "password_hash": carol_3}),
        traffic.put("/_security/user/elastic", headers=elastic, json={"password": carol_3, "roles": ["x"]}),
        traffic.post("/_security/user/nobody/_password", headers=elastic, json={"password": carol_3}),
    ]
    for response in refused:
        assert 400 <= response.status_code < 500 and "error" in response.get_json()

    # Everything an auditor can read: the audit page and both exports.
    traffic.login("elastic", elastic_2)
    assert traffic.get("/audit/").status_code == 200
    assert traffic.get("/audit/", headers=HTMX).status_code == 200
    assert traffic.get("/audit/export.csv").status_code == 200
    assert traffic.get("/audit/export.jsonl").status_code == 200

    places = gather(traffic, captured_logs, capsys, tmp_path)
    assert leaks(found.values, places, traffic.exchanges) == []
    assert_secret_answers_are_not_stored(traffic.exchanges)
    # Guard rails: what isn't secret does show, in every place searched.
    assert_shows(key_id, places, traffic.exchanges)
    assert_shows("carol", places, traffic.exchanges)
    assert_shows(planted, places, traffic.exchanges)  # a value sent as a SQL parameter reaches logs and files
    assert re.search(r"INSERT INTO \"api_key\".*" + re.escape(key_id), places["logs"])
    assert any(found.values["key secret"] in exchange["body"] for exchange in traffic.exchanges)
    assert_stored_as_hashes({("carol", "native"): carol_3, ("elastic", "reserved"): elastic_2,
                             ("dave", "native"): dave}, {key_id: found.values["key secret"]})


def _created_key(html):
    """(id, encoded) from the show-once panel."""
    encoded = re.search(r'id="credential-value"[^>]*value="([^"]+)"', html).group(1)
    key_id = base64.b64decode(encoded).decode().partition(":")[0]
    return key_id, encoded


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_pages_leave_no_secret_anywhere(app, client, captured_logs, capsys, tmp_path, htmx):
    """Sign-in, the users form, a password reset, the keys form, the account's password form."""
    captured_logs.cover_all_loggers()
    traffic = Traffic(app, client)
    found = Secrets()
    found.add("password elastic", ELASTIC_PASSWORD)
    swap = HTMX if htmx else {}
    planted = f"planted-{secrets.token_hex(8)}"

    wrong = found.password("elastic-wrong")
    traffic.login("elastic", wrong, expect=401)
    traffic.login("elastic", ELASTIC_PASSWORD)

    # Creating a user: once with passwords that differ (both must stay unseen), then for real.
    first, second = found.password("frank-typo-1"), found.password("frank-typo-2")
    response = traffic.form("/users/new", {"username": "frank", "password": first, "confirm_password": second,
                                           "roles": "api_key_user"}, headers=swap)
    assert response.status_code == 422
    frank_1 = found.password("frank-1")
    response = traffic.form("/users/new", {"username": "frank", "password": frank_1, "confirm_password": frank_1,
                                           "full_name": "Frank Leak", "roles": "api_key_user"}, headers=swap)
    assert response.status_code in (200, 303)
    frank_2 = found.password("frank-2")
    reset = "/users/password?username=frank&realm=native"
    assert traffic.form(reset, {"password": frank_2, "confirm_password": frank_2 + "x"},
                        headers=swap).status_code == 422
    assert traffic.form(reset, {"password": frank_2, "confirm_password": frank_2},
                        headers=swap).status_code in (200, 303)
    traffic.logout()

    # Frank signs in, creates a key (shown once), uses it, gets it wrong, updates it.
    traffic.login("frank", frank_1, expect=401)
    traffic.login("frank", frank_2)
    response = traffic.form("/keys/new", {"name": "page-key", "type": "rest", "add_metadata": "1",
                                          "metadata": json.dumps({"marker": planted})}, token_from="/keys/",
                            headers=swap)
    assert response.status_code in (200, 201), response.get_data(as_text=True)[:500]
    key_id, encoded = _created_key(response.get_data(as_text=True))
    found.key("key", key_id, base64.b64decode(encoded).decode().partition(":")[2])
    traffic.allow_in_last_body(*found.of_key("key"))
    assert traffic.get("/_security/_authenticate", headers=api_key_header(encoded)).status_code == 200
    wrong_secret = secrets.token_urlsafe(16)
    found.key("wrong key", key_id, wrong_secret)
    assert traffic.get("/_security/_authenticate",
                       headers=api_key_header(found.values["wrong key encoded"])).status_code == 401
    response = traffic.form(f"/keys/{key_id}", {"add_metadata": "1", "metadata": json.dumps({"marker": planted,
                                                                                          "changed": True})},
                            token_from="/keys/", headers=swap)
    assert response.status_code in (200, 303)
    assert traffic.get("/keys/").status_code == 200
    assert traffic.get(f"/keys/{key_id}").status_code == 200
    assert traffic.get(f"/keys/{key_id}", headers=HTMX).status_code == 200

    # The account's password form: the current password wrong, the new ones differing, then right.
    frank_3 = found.password("frank-3")
    refused = [
        traffic.form("/account/password", {"current_password": wrong, "password": frank_3,
                                           "confirm_password": frank_3}, headers=swap),
        traffic.form("/account/password", {"current_password": frank_2, "password": frank_3,
                                           "confirm_password": frank_3 + "y"}, headers=swap),
        traffic.form("/account/password", {"current_password": frank_2, "password": "Zq9!x",
                                           "confirm_password": "Zq9!x"}, headers=swap),
    ]
    found.add("password too short", "Zq9!x")
    assert [response.status_code for response in refused] == [422, 422, 422]
    assert traffic.form("/account/password", {"current_password": frank_2, "password": frank_3,
                                              "confirm_password": frank_3}, headers=swap).status_code in (200, 303)
    traffic.logout()
    traffic.login("frank", frank_2, expect=401)
    traffic.login("frank", frank_3)
    traffic.logout()

    # An auditor reads the trail: the page, the fragment, both exports.
    traffic.login("elastic", ELASTIC_PASSWORD)
    for path in ("/audit/", "/audit/export.csv", "/audit/export.jsonl", "/users/edit?username=frank&realm=native"):
        assert traffic.get(path).status_code == 200
    assert traffic.get("/audit/", headers=HTMX).status_code == 200

    places = gather(traffic, captured_logs, capsys, tmp_path)
    assert leaks(found.values, places, traffic.exchanges) == []
    assert_secret_answers_are_not_stored(traffic.exchanges)
    assert_shows(key_id, places, traffic.exchanges)
    assert_shows("frank", places, traffic.exchanges)
    assert_shows(planted, places, traffic.exchanges)
    with database.connection_context():
        failures = AuditEvent.select().where((AuditEvent.action == "login") & (AuditEvent.outcome == "failure"))
        assert {event.target_id for event in failures} >= {"elastic", "frank"}
    assert_stored_as_hashes({("frank", "native"): frank_3, ("elastic", "reserved"): ELASTIC_PASSWORD},
                            {key_id: found.values["key secret"]})


def test_the_search_finds_a_secret_that_does_leak(app, client, captured_logs, capsys, tmp_path):
    """The same capture and search, shown a secret stored, logged and answered on purpose, report each place:
    a leak in any of them would fail the tests above."""
    captured_logs.cover_all_loggers()
    traffic = Traffic(app, client)
    found = Secrets()
    leaked = found.password("leaked")
    elastic = basic_header("elastic", ELASTIC_PASSWORD)
    # A secret put where a careless change could put one: key metadata (stored, audited, logged as a SQL
    # parameter, answered by GET) and a log line.
    response = traffic.post("/_security/api_key", headers=elastic, json={"name": "oops", "metadata": {"pw": leaked}})
    assert response.status_code == 200
    traffic.allow_in_last_body(response.get_json()["api_key"], response.get_json()["encoded"])
    assert traffic.get(f"/_security/api_key?id={response.get_json()['id']}", headers=elastic).status_code == 200
    logging.getLogger("webapp").debug("about to store %s", leaked)
    places = gather(traffic, captured_logs, capsys, tmp_path)
    where = {place for label, place in leaks(found.values, places, traffic.exchanges)}
    expected = {"logs", "audit events", "table api_key", "table audit_event",
                f"GET /_security/api_key?id={response.get_json()['id']} -> 200 (body)"}
    assert expected <= where
    if database_is_sqlite():
        assert any(place.startswith("file keydesk.sqlite3") for place in where)
    peewee_lines = [line for line in captured_logs.lines if line.startswith("peewee DEBUG") and leaked in line]
    assert peewee_lines, "peewee's SQL log with parameters was not captured"


# ---- every answer that can carry a secret is kept out of caches ----------------------------------------

def secret_makers():
    """Names of the service functions that hand back a secret: those returning a CreatedKey, or a result
    holding one (found by their type hints, so a new one, a key rotation say, is found too)."""
    import dataclasses
    import importlib
    import inspect
    import pkgutil
    import typing

    import webapp.services
    from webapp.services.api_keys.commands import CreatedKey

    def carries(kind):
        return kind is CreatedKey or any(carries(arg) for arg in typing.get_args(kind)) or (
            dataclasses.is_dataclass(kind) and any(carries(hint) for hint in typing.get_type_hints(kind).values()))

    def returned(function, module):
        kind = function.__annotations__.get("return")
        if isinstance(kind, str):  # a forward reference: the module's name for it
            kind = getattr(module, kind.strip("'\""), None)
        return kind

    names = set()
    for info in pkgutil.walk_packages(webapp.services.__path__, "webapp.services."):
        module = importlib.import_module(info.name)
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and carries(returned(function, module)):
                names.add(name)
    return names


def secret_routes(app):
    """(endpoint, method) of every route whose view calls a secret maker (read from the view's code)."""
    makers = secret_makers()
    found = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        while hasattr(view, "__wrapped__"):
            view = view.__wrapped__
        if makers & set(view.__code__.co_names):
            found.update((rule.endpoint, method) for method in rule.methods - {"HEAD", "OPTIONS"})
    return found


def _api_create(traffic, method, path, body):
    traffic.post("/_license/start_trial?acknowledge=true", headers=basic_header("elastic", ELASTIC_PASSWORD))
    response = traffic.send(method, path, headers=basic_header("elastic", ELASTIC_PASSWORD), json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response, response.get_json()["api_key"]


def _page_create(traffic, swap):
    response = traffic.form("/keys/new", {"name": f"page-{secrets.token_hex(4)}", "type": "rest"},
                            token_from="/keys/", headers=swap)
    assert response.status_code in (200, 201), response.get_data(as_text=True)[:500]
    return response, base64.b64decode(_created_key(response.get_data(as_text=True))[1]).decode().partition(":")[2]


def _api_rotate(traffic):
    elastic = basic_header("elastic", ELASTIC_PASSWORD)
    key_id = traffic.post("/_security/api_key", headers=elastic, json={"name": "to-rotate"}).get_json()["id"]
    return _api_create(traffic, "POST", f"/_keydesk/api_key/{key_id}/_rotate", {"grace_period": "1h"})


def _page_rotate(traffic, swap, many):
    if traffic.get("/account/").status_code != 200:
        traffic.login("elastic", ELASTIC_PASSWORD)
    key_id = _created_key(_page_create(traffic, {})[0].get_data(as_text=True))[0]
    if many:
        response = traffic.form("/keys/rotate", {"ids": key_id, "confirmed": "1"}, token_from="/keys/", headers=swap)
        encoded = re.search(r'id="credential-1"[^>]*value="([^"]+)"', response.get_data(as_text=True)).group(1)
    else:
        response = traffic.form(f"/keys/{key_id}/rotate", {}, token_from="/keys/", headers=swap)
        encoded = _created_key(response.get_data(as_text=True))[1]
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response, base64.b64decode(encoded).decode().partition(":")[2]


CROSS_CLUSTER = {"name": "cc", "access": {"search": [{"names": ["*"]}]}}
SECRET_REQUESTS = {
    ("api.create_api_key", "POST"): lambda t: [_api_create(t, "POST", "/_security/api_key", {"name": "a"})],
    ("api.create_api_key", "PUT"): lambda t: [_api_create(t, "PUT", "/_security/api_key", {"name": "b"})],
    ("api.create_cross_cluster_api_key", "POST"): lambda t: [
        _api_create(t, "POST", "/_security/cross_cluster/api_key", CROSS_CLUSTER)],
    ("keys.create", "POST"): lambda t: [t.login("elastic", ELASTIC_PASSWORD) and _page_create(t, {}),
                                        _page_create(t, HTMX)],
    ("api.rotate_api_key", "POST"): lambda t: [_api_rotate(t)],
    ("api.grant_api_key_view", "POST"): lambda t: [_api_create(t, "POST", "/_security/api_key/grant", {
        "grant_type": "password", "username": "elastic", "password": ELASTIC_PASSWORD, "api_key": {"name": "g"}})],
    ("keys.rotate", "POST"): lambda t: [_page_rotate(t, {}, False), _page_rotate(t, HTMX, False)],
    ("keys.rotate_many", "POST"): lambda t: [_page_rotate(t, {}, True), _page_rotate(t, HTMX, True)],
}


def test_every_answer_that_carries_a_secret_is_no_store(app, client):
    """The routes are found from the code (views that call a service handing back a secret), and each is
    exercised: its answer carries the secret, with Cache-Control: no-store and Pragma: no-cache."""
    assert secret_makers() >= {"create_api_key", "create_cross_cluster_api_key", "create_key", "rotate_api_key",
                               "rotate_key", "rotate_keys", "grant_api_key"}
    assert secret_routes(app) == set(SECRET_REQUESTS), "a route answers a secret: add it to SECRET_REQUESTS"
    traffic = Traffic(app, client)
    for route, exercise in SECRET_REQUESTS.items():
        for response, secret in exercise(traffic):
            count("secrets: answers carrying a secret checked for no-store")
            assert secret and secret in response.get_data(as_text=True), route
            assert response.headers.get("Cache-Control") == NO_STORE, route
            assert response.headers.get("Pragma") == "no-cache", route
