"""The flask commands: init-db, users, license, purge-keys, backup."""

import sqlite3

from webapp.clock import DAY_MS, now_ms
from webapp.model import ApiKey, AuditEvent, Role, User
from webapp.model.db import is_sqlite
from webapp.security.passwords import verify_password
from webapp.services.admin.settings import license_state
from webapp.services.api_keys import commands as api_keys


def test_init_db_is_idempotent_and_keeps_data(runner, db, make_user):
    make_user("kept", ["api_key_user"])
    before = User.get(User.username == "elastic").password_hash
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0 and "Database ready." in result.output
    assert "password" not in result.output.lower()  # nothing generated the second time
    assert User.get(User.username == "elastic").password_hash == before
    assert User.get_or_none(User.username == "kept") is not None
    assert Role.get(Role.name == "superuser").reserved


def test_init_db_generates_and_prints_a_password_once(app, runner, db):
    User.delete().where(User.username == "elastic").execute()
    app.config["KEYDESK_BOOTSTRAP_PASSWORD"] = None
    first = runner.invoke(args=["init-db"])
    assert first.exit_code == 0
    printed = first.output.splitlines()[1].strip()
    assert verify_password(printed, User.get(User.username == "elastic").password_hash)
    second = runner.invoke(args=["init-db"])
    assert printed not in second.output


def test_init_db_rejects_a_short_bootstrap_password(app, runner, db):
    User.delete().where(User.username == "elastic").execute()
    app.config["KEYDESK_BOOTSTRAP_PASSWORD"] = "123"
    result = runner.invoke(args=["init-db"])
    assert result.exit_code != 0
    assert "at least [6] characters" in result.output


def test_users_create_and_its_errors(runner, db):
    ok = runner.invoke(args=["users", "create", "ci-bot", "--roles", "api_key_user", "--password", "secret12"])
    assert ok.exit_code == 0, ok.output
    user = User.get(User.username == "ci-bot")
    assert user.realm == "native" and verify_password("secret12", user.password_hash)
    for args, message in [
        (["users", "create", "ci-bot", "--password", "secret12"], "already exists"),
        (["users", "create", "x1", "--roles", "no-such-role", "--password", "secret12"], "unknown role"),
        (["users", "create", "x2", "--password", "123"], "at least [6] characters"),
        (["users", "create", " spaced", "--password", "secret12"], "Leading or trailing whitespace"),
        (["users", "create", "elastic", "--password", "secret12"], "reserved"),
    ]:
        result = runner.invoke(args=args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output


def test_users_set_password(runner, db, make_user):
    make_user("pat", [])
    assert runner.invoke(args=["users", "set-password", "pat", "--password", "changed1"]).exit_code == 0
    assert verify_password("changed1", User.get(User.username == "pat").password_hash)
    missing = runner.invoke(args=["users", "set-password", "ghost", "--password", "changed1"])
    assert missing.exit_code == 1 and "not found" in missing.output


def test_license_set(runner, db):
    assert runner.invoke(args=["license", "set", "trial"]).exit_code == 0
    assert license_state()["type"] == "trial"
    assert runner.invoke(args=["license", "set", "enterprise"]).exit_code == 0
    assert license_state()["type"] == "enterprise"
    bad = runner.invoke(args=["license", "set", "platinum"])
    assert bad.exit_code == 2 and "platinum" in bad.output
    assert runner.invoke(args=["license", "set", "basic"]).exit_code == 0
    again = runner.invoke(args=["license", "set", "trial"])
    assert again.exit_code == 1 and "already activated" in again.output


def test_purge_keys_deletes_only_old_invalidated_or_expired_keys(runner, db, make_user, subject_of):
    owner = subject_of(make_user("owner", ["api_key_user"]))
    ids = {name: api_keys.create_api_key(owner, name=name).id
           for name in ("active", "old-invalidated", "new-invalidated", "old-expired", "new-expired")}
    now = now_ms()
    ApiKey.update(invalidated=True, invalidation=now - 8 * DAY_MS).where(ApiKey.id == ids["old-invalidated"]).execute()
    ApiKey.update(invalidated=True, invalidation=now - DAY_MS).where(ApiKey.id == ids["new-invalidated"]).execute()
    ApiKey.update(expiration=now - 8 * DAY_MS).where(ApiKey.id == ids["old-expired"]).execute()
    ApiKey.update(expiration=now - DAY_MS).where(ApiKey.id == ids["new-expired"]).execute()
    result = runner.invoke(args=["purge-keys"])
    assert result.exit_code == 0 and "Purged 2" in result.output
    left = {k.name for k in ApiKey.select()}
    assert left == {"active", "new-invalidated", "new-expired"}
    assert AuditEvent.select().where(AuditEvent.target_id == ids["old-expired"]).exists()  # audit stays
    assert runner.invoke(args=["purge-keys", "--retention", "12h"]).output.startswith("Purged 2")
    bad = runner.invoke(args=["purge-keys", "--retention", "soon"])
    assert bad.exit_code == 1 and "time value" in bad.output


def test_backup_writes_a_consistent_copy(runner, db, tmp_path, make_user):
    make_user("in-backup", [])
    target = tmp_path / "copy.sqlite3"
    result = runner.invoke(args=["backup", str(target)])
    if not is_sqlite():
        assert result.exit_code == 1 and "pg_dump" in result.output
        return
    assert result.exit_code == 0, result.output
    names = {row[0] for row in sqlite3.connect(target).execute("select username from user")}
    assert {"elastic", "in-backup"} <= names
    again = runner.invoke(args=["backup", str(target)])
    assert again.exit_code == 1 and "already exists" in again.output
