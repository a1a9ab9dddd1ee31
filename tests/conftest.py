"""Fixtures of tests/integration and tests/browser: an app on a fresh database per test, clients, users with
given roles, sign-in. tests/unit/conftest.py refuses them: unit tests build no app and open no database."""

import base64
import collections
import json
import os

import pytest
from flask.testing import FlaskClient
from hypothesis import settings

# Cheap password hashing for the whole run (and the servers it starts): the real cost is tested in
# tests/unit/test_passwords.py. Set before anything hashes; webapp/security/passwords.py reads it.
os.environ.setdefault("KEYDESK_PASSWORD_HASH_ROUNDS", "4")

from webapp import create_app  # noqa: E402
from webapp.model import ALL_MODELS
from webapp.model.db import database
from webapp.services.access.authentication import basic_cache, last_used, subject_for_user
from webapp.services.access.system import system_subject
from webapp.services.admin.users import create_native_user
from webapp.services.schema import bootstrap as setup

ELASTIC_PASSWORD = "elastic-test-password"
USER_PASSWORD = "user-password"


# No per-example deadline: Hypothesis' default 200 ms fails tests at random on a busy machine (a test that
# is slow shows in --durations instead).
settings.register_profile("keydesk", deadline=None)
settings.load_profile("keydesk")

# What the hardening tests counted in this run (routes x callers checked, fuzz cases, faults injected);
# printed at the end of the run so docs/security.md can quote real figures.
FIGURES = collections.Counter()


def count(figure, amount=1):
    """Add `amount` to one of the run's security figures."""
    FIGURES[figure] += amount


# What no database changes: tests/unit runs without one (its conftest refuses any), and the look, theme and
# keyboard tests check layout, contrast and focus, which the same templates draw alike on either database.
DATABASE_INDEPENDENT = ("tests/unit/", "tests/browser/test_look.py", "tests/browser/test_keyboard.py",
                        "tests/browser/test_theme_and_menus.py")


def pytest_collection_modifyitems(config, items):
    root = str(config.rootpath) + os.sep
    for item in items:
        if str(item.path).removeprefix(root).startswith(DATABASE_INDEPENDENT):
            item.add_marker(pytest.mark.database_independent)


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("security figures")
        for figure, amount in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{amount:>8}  {figure}")


def database_url_for(tmp_path):
    """SQLite in the test's folder by default; KEYDESK_TEST_DATABASE_URL=postgresql://... for PostgreSQL."""
    return os.environ.get("KEYDESK_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'keydesk.sqlite3'}"


def reset_database():
    """Drop every table, so each test starts from an empty schema (PostgreSQL is shared between tests)."""
    database.drop_tables(ALL_MODELS, safe=True, cascade=not database_is_sqlite())


def database_is_sqlite():
    from webapp.model.db import is_sqlite

    return is_sqlite()


class ClosingClient(FlaskClient):
    """Flask's test client, closing the request body it spooled to a temporary file (bodies over 500 KiB).

    Werkzeug closes that file only when it follows redirects; otherwise it is left to the garbage collector,
    whose ResourceWarning would fail a random later test under filterwarnings = error.
    """

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        response.request.input_stream.close()
        return response


@pytest.fixture
def app_config():
    """Extra configuration for the `app` fixture; a test module overrides this fixture to change it."""
    return {}


@pytest.fixture
def app(tmp_path, app_config):
    instance = tmp_path / "instance"
    instance.mkdir()
    app = create_app({
        "TESTING": True,
        "KEYDESK_DATABASE_URL": database_url_for(tmp_path),
        "SECRET_KEY": "test-secret-key",
        **app_config,
    })
    app.instance_path = str(instance)
    app.test_client_class = ClosingClient
    with database.connection_context():
        reset_database()
        setup.initialise(ELASTIC_PASSWORD)
    basic_cache.clear()
    yield app
    with database.connection_context():
        last_used.flush()
    if not database.is_closed():
        database.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db(app):
    """An open connection for tests that read or write the database directly."""
    with database.connection_context():
        yield database


@pytest.fixture
def make_user(app):
    """Create a native user holding `roles`; returns the User row."""

    def make(username, roles=(), password=USER_PASSWORD, **fields):
        with database.connection_context():
            return create_native_user(system_subject(), username, password, list(roles), **fields)

    return make


@pytest.fixture
def subject_of(app):
    """The Subject of a user, as a signed-in session would see it."""

    def build(user):
        with database.connection_context():
            return subject_for_user(user, "session")

    return build


class Auth:
    """Sign a test client in and out through the real login form."""

    def __init__(self, client):
        self.client = client

    def csrf_token(self, path="/login"):
        html = self.client.get(path).get_data(as_text=True)
        marker = 'name="csrf_token" value="'
        start = html.index(marker) + len(marker)
        return html[start: html.index('"', start)]

    def login(self, username="elastic", password=ELASTIC_PASSWORD, next_url=""):
        token = self.csrf_token()
        return self.client.post("/login", data={"username": username, "password": password,
                                                "csrf_token": token, "next": next_url})

    def logout(self):
        token = self.csrf_token("/account/")
        return self.client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return Auth(client)


def basic_header(username, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


@pytest.fixture
def call(client):
    """call(method, path, auth, body=None) -> (status, JSON answer): one JSON API request through the test client.
    Suites whose requests need more (raw bodies, headers, the response itself) define their own `call`."""

    def do(method, path, auth, body=None):
        headers = dict(auth)
        if body is not None:
            headers["Content-Type"] = "application/json"
        response = client.open(path, method=method, headers=headers, data=None if body is None else json.dumps(body))
        return response.status_code, response.get_json()

    return do
