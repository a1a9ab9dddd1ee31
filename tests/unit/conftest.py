"""tests/unit: no app, no database. A test that builds either fails here; it belongs in tests/integration."""

import flask
import peewee
import pytest
from playhouse.pool import PooledDatabase

import webapp
from webapp.model.db import database

RULE = "tests/unit needs no app and no database: move this test to tests/integration"


def _refuse(what):
    def refuse(*args, **kwargs):
        raise AssertionError(f"{what} in a unit test. {RULE}.")

    return refuse


@pytest.fixture
def app():
    """Shadows the app fixture of tests/conftest.py (and so client, db, make_user, ... that need it)."""
    pytest.fail(f"a unit test asked for the app fixture. {RULE}.", pytrace=False)


@pytest.fixture(scope="package", autouse=True)
def no_app_and_no_database():
    """While tests/unit runs, building a Flask app and opening or using a database connection raise."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(webapp, "create_app", _refuse("create_app() called"))
        patch.setattr(flask.Flask, "__init__", _refuse("a Flask app built"))
        patch.setattr(type(database), "initialize", _refuse("the database initialised"))
        for database_class in (peewee.Database, PooledDatabase):
            patch.setattr(database_class, "connect", _refuse("a database connection opened"))
        patch.setattr(peewee.Database, "cursor", _refuse("a database statement run"))
        yield
