"""A worker killed (SIGKILL) in the middle of a write leaves the database all-or-nothing.

The child process runs the real service; a fault point inside the transaction tells the parent "now",
then waits to be killed. SQLite's journal and PostgreSQL's WAL must roll the half-done write back.
"""

import multiprocessing
import os
import signal

import pytest

from tests.conftest import count
from webapp.model import ApiKey, AuditEvent, User
from webapp.model.db import database

KEYS = 300


def _doomed_write(database_url, operation, ids, ready):
    """Child: start `operation` on `ids`, signal from inside its transaction, and hang until killed."""
    import time

    from webapp import create_app
    from webapp.model import AuditEvent as Events
    from webapp.services.access.authentication import subject_for_user
    from webapp.services.api_keys import commands as api_keys

    create_app({"KEYDESK_DATABASE_URL": database_url, "SECRET_KEY": "k"})
    real_insert_many = Events.insert_many.__func__

    def stall(cls, rows, *args, **kwargs):
        query = real_insert_many(cls, rows, *args, **kwargs)
        query.execute()  # the writes of this transaction are now in place, uncommitted
        ready.set()
        time.sleep(60)
        return query

    Events.insert_many = classmethod(stall)
    with database.connection_context():
        subject = subject_for_user(User.get(User.username == "victim"), "basic")
        if operation == "invalidate":
            api_keys.invalidate_api_keys(subject, ids=ids, owner=True)
        else:
            from webapp.services.audit import trail as audit_module

            def stalled_record(*args, **kwargs):
                ready.set()
                time.sleep(60)

            audit_module.record = stalled_record
            api_keys.update_api_key(subject, ids[0], metadata={"changed": True})


@pytest.mark.parametrize("operation", ["invalidate", "update"])
def test_sigkill_mid_write_leaves_all_or_nothing(app, make_user, subject_of, operation):
    from webapp.services.api_keys import commands as api_keys

    with database.connection_context():
        owner = subject_of(make_user("victim", ["api_key_user"]))
        ids = [api_keys.create_api_key(owner, name=f"k{n}").id for n in range(KEYS)]
        events_before = AuditEvent.select().count()
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    child = context.Process(target=_doomed_write,
                            args=(app.config["KEYDESK_DATABASE_URL"], operation, ids, ready))
    child.start()
    try:
        assert ready.wait(60), "the child never reached the fault point"
        with database.connection_context():  # mid-transaction, other readers see nothing of it
            assert ApiKey.select().where(ApiKey.invalidated == True).count() == 0  # noqa: E712
        os.kill(child.pid, signal.SIGKILL)
        count(f"faults: worker killed (SIGKILL) mid-{operation}")
    finally:
        child.join(30)
    assert child.exitcode == -signal.SIGKILL
    with database.connection_context():
        assert ApiKey.select().where(ApiKey.invalidated == True).count() == 0  # noqa: E712
        assert ApiKey.select().where(ApiKey.version > 1).count() == 0
        assert AuditEvent.select().count() == events_before
        # And the database takes writes again at once (no lock left behind by the dead process).
        result = api_keys.invalidate_api_keys(owner, ids=ids, owner=True)
        assert len(result["invalidated_api_keys"]) == KEYS
