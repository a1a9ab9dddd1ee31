"""The files Keydesk creates hold secrets (password and key hashes, the session signing key): the SQLite
database and the -wal/-shm files beside it are 0600, the instance folder 0700, a backup copy 0600 — under
the usual umask 022, which would otherwise leave them world-readable (0644/0755).

These run on SQLite whichever database the rest of the suite uses: the files are SQLite's."""

import os
import stat

import pytest

from tests.conftest import ELASTIC_PASSWORD
from webapp import create_app
from webapp.model import database
from webapp.model.db import database_for_url


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def usual_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def sqlite_app(tmp_path, usual_umask, monkeypatch):
    """An app on its own SQLite database in a fresh instance folder (0755, as a checkout leaves instance/),
    its secret key generated there."""
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    monkeypatch.setenv("KEYDESK_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("KEYDESK_SECRET_KEY", raising=False)
    app = create_app({"TESTING": True, "KEYDESK_DATABASE_URL": f"sqlite:///{instance / 'keydesk.sqlite3'}",
                      "KEYDESK_BOOTSTRAP_PASSWORD": ELASTIC_PASSWORD})
    assert app.instance_path == str(instance)
    yield app, instance
    if not database.is_closed():
        database.close()
    database.obj.close_idle()


def test_the_database_and_its_write_ahead_log_are_the_owners_only(tmp_path, usual_umask):
    path = tmp_path / "fresh" / "keydesk.sqlite3"  # neither the folder nor the file exists yet
    db = database_for_url(f"sqlite:///{path}")
    db.connect()
    try:
        db.execute_sql("CREATE TABLE t (secret TEXT)")
        db.execute_sql("INSERT INTO t VALUES ('x')")
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        assert all(file.exists() for file in files), "WAL mode should have made -wal and -shm"
        assert {file.name: mode(file) for file in files} == {file.name: 0o600 for file in files}
        assert mode(path.parent) == 0o700
    finally:
        db.close()
        db.close_idle()


def test_an_existing_database_keeps_the_mode_chosen_for_it(tmp_path, usual_umask):
    path = tmp_path / "chosen.sqlite3"
    path.touch(mode=0o640)
    os.chmod(path, 0o640)
    db = database_for_url(f"sqlite:///{path}")
    db.connect()
    db.close()
    db.close_idle()
    assert mode(path) == 0o640


def test_init_db_leaves_the_instance_folder_and_the_secret_key_the_owners_only(sqlite_app):
    app, instance = sqlite_app
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert mode(instance) == 0o700
    assert mode(instance / "keydesk.sqlite3") == 0o600
    assert mode(instance / "secret_key") == 0o600
    wal = instance / "keydesk.sqlite3-wal"
    assert not wal.exists() or mode(wal) == 0o600


def test_a_backup_is_the_owners_only(sqlite_app, tmp_path):
    app, instance = sqlite_app
    runner = app.test_cli_runner()
    assert runner.invoke(args=["init-db"]).exit_code == 0
    copy = tmp_path / "backup.sqlite3"
    result = runner.invoke(args=["backup", str(copy)])
    assert result.exit_code == 0, result.output
    assert copy.stat().st_size > 0 and mode(copy) == 0o600
