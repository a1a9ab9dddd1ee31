"""A real Keydesk server for the official Elasticsearch client: gunicorn with 2 workers on a free local port.

The database is a fresh SQLite file (or, under KEYDESK_TEST_DATABASE_URL, the test PostgreSQL database,
emptied first), initialised with `flask --app wsgi init-db` as an operator would.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from tests.conftest import ELASTIC_PASSWORD

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _empty_shared_database(url):
    from webapp.model import ALL_MODELS
    from webapp.model.db import database, init_database

    init_database(url)
    with database.connection_context():
        database.drop_tables(ALL_MODELS, safe=True, cascade=True)


def _wait_until_up(base_url, process, timeout=30):
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


@pytest.fixture(scope="package")
def server(tmp_path_factory):
    """The base URL of a running Keydesk (gunicorn -w 2 wsgi:app), stopped when the package's tests end."""
    instance = tmp_path_factory.mktemp("es-client-instance")
    url = os.environ.get("KEYDESK_TEST_DATABASE_URL") or f"sqlite:///{instance / 'keydesk.sqlite3'}"
    if url.startswith("postgres"):
        _empty_shared_database(url)
    env = {**os.environ, "KEYDESK_DATABASE_URL": url, "KEYDESK_INSTANCE_PATH": str(instance),
           "KEYDESK_BOOTSTRAP_PASSWORD": ELASTIC_PASSWORD, "KEYDESK_SECRET_KEY": "es-client-tests",
           "KEYDESK_PASSWORD_HASH_ROUNDS": "4",  # cheap hashing: the tests create users
           # The suite fails authentication on purpose more often than the default limits allow.
           "KEYDESK_AUTH_FAILURES_PER_ADDRESS": "100000 per minute",
           "KEYDESK_AUTH_FAILURES_PER_CREDENTIAL": "100000 per minute"}
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "init-db"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    port = _free_port()
    log = open(instance / "gunicorn.log", "w")
    process = subprocess.Popen([str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url, process)
        yield base_url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


@pytest.fixture(scope="package")
def elastic(server):
    """The official client, signed in as the reserved superuser with Basic credentials."""
    client = Elasticsearch(server, basic_auth=("elastic", ELASTIC_PASSWORD), request_timeout=30)
    yield client
    client.close()


@pytest.fixture(scope="package")
def connect(server):
    """connect(basic_auth=(u, p)) or connect(api_key=encoded): another official client for the same server."""
    clients = []

    def make(**credentials):
        client = Elasticsearch(server, request_timeout=30, **credentials)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
