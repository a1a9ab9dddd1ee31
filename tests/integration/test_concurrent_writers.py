"""Several processes writing at once: no "database is locked", no lost writes (SQLite WAL + busy timeout)."""

import multiprocessing

from webapp.model import ApiKey, AuditEvent
from webapp.model.db import database

WORKERS = 4
KEYS_PER_WORKER = 25


def _create_keys(database_url, worker, count):
    """Run in a separate process: create `count` keys for user `worker-N` through the service layer."""
    from webapp import create_app
    from webapp.model import User
    from webapp.services.access.authentication import subject_for_user
    from webapp.services.api_keys import commands as api_keys

    create_app({"KEYDESK_DATABASE_URL": database_url, "SECRET_KEY": "k"})
    failures = []
    with database.connection_context():
        user = User.get(User.username == f"worker-{worker}")
        subject = subject_for_user(user, "basic")
        for i in range(count):
            try:
                created = api_keys.create_api_key(subject, name=f"w{worker}-{i}")
                api_keys.update_api_key(subject, created.id, metadata={"n": i})
                if i % 5 == 0:
                    api_keys.invalidate_api_keys(subject, ids=[created.id], owner=True)
            except Exception as error:  # the test reports every failure, whatever its kind
                failures.append(f"{type(error).__name__}: {error}")
    return failures


def test_parallel_writers_all_succeed(app, make_user):
    for worker in range(WORKERS):
        make_user(f"worker-{worker}", ["api_key_user"])
    url = app.config["KEYDESK_DATABASE_URL"]
    with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:
        results = pool.starmap(_create_keys, [(url, w, KEYS_PER_WORKER) for w in range(WORKERS)])
    with database.connection_context():
        _check(results)


def _check(results):
    failures = [f for worker_failures in results for f in worker_failures]
    assert failures == []
    assert ApiKey.select().count() == WORKERS * KEYS_PER_WORKER
    assert ApiKey.select().where(ApiKey.invalidated == True).count() == WORKERS * 5  # noqa: E712
    assert ApiKey.select().where(ApiKey.version == 2).count() == WORKERS * KEYS_PER_WORKER - WORKERS * 5
    updates = AuditEvent.select().where(AuditEvent.action == "api_key.update").count()
    assert updates == WORKERS * KEYS_PER_WORKER


def _purge(database_url):
    from webapp import create_app
    from webapp.services.access.system import system_subject
    from webapp.services.api_keys.retention import purge_keys

    create_app({"KEYDESK_DATABASE_URL": database_url, "SECRET_KEY": "k"})
    with database.connection_context():
        return purge_keys(system_subject(), retention_ms=1000)


def test_purge_on_several_instances_at_once_deletes_each_key_once(app, make_user, subject_of):
    from webapp.clock import DAY_MS, now_ms
    from webapp.services.api_keys import commands as api_keys

    with database.connection_context():
        owner = subject_of(make_user("old-keys", ["api_key_user"]))
        ids = [api_keys.create_api_key(owner, name=f"old{n}").id for n in range(40)]
        ApiKey.update(invalidated=True, invalidation=now_ms() - DAY_MS).where(ApiKey.id.in_(ids[:30])).execute()
    with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:
        deleted = pool.map(_purge, [app.config["KEYDESK_DATABASE_URL"]] * WORKERS)
    assert sum(deleted) == 30
    with database.connection_context():
        assert ApiKey.select().count() == 10
