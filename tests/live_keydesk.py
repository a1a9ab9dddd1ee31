"""A real Keydesk server for tests that talk to it over HTTP (official clients, Elastic's YAML tests): gunicorn
with 2 workers on a free local port, on a fresh SQLite file or, under KEYDESK_TEST_DATABASE_URL, the test
PostgreSQL database emptied first, initialised with `flask --app wsgi init-db` as an operator would."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import ELASTIC_PASSWORD

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def empty_shared_database(url):
    from webapp.model import ALL_MODELS
    from webapp.model.db import database, init_database

    init_database(url)
    with database.connection_context():
        database.drop_tables(ALL_MODELS, safe=True, cascade=True)


def wait_until_up(base_url, process, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("Keydesk did not answer /healthz in time")


def start_gunicorn(env, log_path, workers=2):
    """(port, process) of gunicorn serving Keydesk with `env` on a free port, in its own process group, its
    output in `log_path`; stop it with stop_gunicorn."""
    port = free_port()
    log = open(log_path, "wb")  # noqa: SIM115 (closed by stop_gunicorn)
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    process.log = log
    return port, process


def stop_gunicorn(process, timeout=30):
    """A graceful stop (each worker finishes, flushing what it buffered), then a kill after `timeout` seconds."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    process.log.close()


@contextlib.contextmanager
def live_keydesk(instance, secret_key, commands=()):
    """(base URL, database URL) of a running Keydesk whose instance folder is `instance`, stopped on exit.
    `commands` are flask commands (argument lists) run after init-db, e.g. ["license", "set", "trial"]."""
    url = os.environ.get("KEYDESK_TEST_DATABASE_URL") or f"sqlite:///{instance / 'keydesk.sqlite3'}"
    if url.startswith("postgres"):
        empty_shared_database(url)
    env = {**os.environ, "KEYDESK_DATABASE_URL": url, "KEYDESK_INSTANCE_PATH": str(instance),
           "KEYDESK_BOOTSTRAP_PASSWORD": ELASTIC_PASSWORD, "KEYDESK_SECRET_KEY": secret_key,
           "KEYDESK_PASSWORD_HASH_ROUNDS": "4",  # cheap hashing: the tests create users
           # These suites fail authentication on purpose more often than the default limits allow.
           "KEYDESK_AUTH_FAILURES_PER_ADDRESS": "100000 per minute",
           "KEYDESK_AUTH_FAILURES_PER_CREDENTIAL": "100000 per minute"}
    for command in (["init-db"], *commands):
        subprocess.run([str(BIN / "flask"), "--app", "wsgi", *command], cwd=ROOT, env=env, check=True,
                       capture_output=True)
    port, process = start_gunicorn(env, instance / "gunicorn.log")
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base_url, process)
        yield base_url, url
    finally:
        stop_gunicorn(process)
