"""One database connection per request: opened before the view, handed back (or kept) at its end."""

import threading

from flask import Flask, g

from webapp.model.db import database, init_database, is_sqlite


def open_for_request() -> bool:
    """Make sure this thread has a connection; whether this call opened it (then the request hands it back)."""
    return database.connect(reuse_if_open=True)


def release(opened: bool, failed: bool) -> None:
    """End the request's use of the connection `open_for_request` reported."""
    if not opened or database.is_closed():
        return
    # gunicorn's sync workers serve every request on their main thread: that thread keeps its SQLite
    # connection for the next request (a pool check-out and check-in less per request). Other threads, and
    # any request that failed or left a transaction open, hand theirs back to the pool (which rolls back).
    if (is_sqlite() and not failed and not database.in_transaction()
            and threading.current_thread() is threading.main_thread()):
        return
    database.close()


def init_app(app: Flask) -> None:
    """Connect at the start of each request and close at its end (only what the request itself opened)."""
    init_database(app.config["KEYDESK_DATABASE_URL"])

    @app.before_request
    def _connect():
        g.keydesk_opened_connection = open_for_request()

    @app.teardown_request
    def _close(exc):
        release(g.pop("keydesk_opened_connection", False), failed=exc is not None)
