"""Usage counts are exact across instances and workers: two gunicorn instances of two workers each share one
database (a SQLite file, or KEYDESK_TEST_DATABASE_URL's PostgreSQL database); with a flush interval of an hour
nothing is written while keys are verified, and each worker writes its tally when it exits, adding to the rows
the others wrote."""

import base64
import http.client
import json
import os
import subprocess

import pytest

from tests.conftest import ELASTIC_PASSWORD
from tests.live_keydesk import BIN, ROOT, empty_shared_database, start_gunicorn, stop_gunicorn, wait_until_up
from webapp.clock import DAY_MS, now_ms
from webapp.model import ApiKey, ApiKeyUsageAddress, ApiKeyUsageDay, ApiKeyUsageHour
from webapp.model.db import database, init_database

ELASTIC = {"Authorization": "Basic " + base64.b64encode(f"elastic:{ELASTIC_PASSWORD}".encode()).decode()}


def _call(port, method, path, headers, body=None, address="192.0.2.1"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=None if body is None else json.dumps(body),
                           headers={"Content-Type": "application/json", "X-Forwarded-For": address, **headers})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


@pytest.fixture
def instances(tmp_path):
    url = os.environ.get("KEYDESK_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    if url.startswith("postgres"):
        empty_shared_database(url)
    env = {**os.environ, "KEYDESK_DATABASE_URL": url, "KEYDESK_INSTANCE_PATH": str(tmp_path),
           "KEYDESK_BOOTSTRAP_PASSWORD": ELASTIC_PASSWORD, "KEYDESK_SECRET_KEY": "shared-secret",
           "KEYDESK_PROXY_HOPS": "1", "KEYDESK_LAST_USED_FLUSH_SECONDS": "3600",
           "KEYDESK_PASSWORD_HASH_ROUNDS": "4"}
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "init-db"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    started = []
    try:
        for name in ("a", "b"):
            started.append(start_gunicorn(env, tmp_path / f"{name}.log"))
        for port, process in started:
            wait_until_up(f"http://127.0.0.1:{port}", process)
        yield url, [port for port, _ in started], lambda: _stop(started)
    finally:
        _stop(started)


def _stop(started):
    for _, process in started:
        if not process.log.closed:
            stop_gunicorn(process)


def test_counts_from_every_worker_of_every_instance_add_up(instances):
    url, ports, stop = instances
    status, key = _call(ports[0], "POST", "/_security/api_key", ELASTIC, {"name": "shared"})
    assert status == 200, key
    as_key = {"Authorization": f"ApiKey {key['encoded']}"}
    sent = {}
    for i in range(60):
        port = ports[i % 2]
        address = f"10.7.0.{i % 3}"
        status, body = _call(port, "GET", "/_security/_authenticate", as_key, address=address)
        assert status == 200, body
        sent[address] = sent.get(address, 0) + 1
    init_database(url)
    with database.connection_context():
        assert ApiKeyUsageDay.select().count() == 0  # verification wrote nothing
        assert ApiKey.get_by_id(key["id"]).last_used is None
    stop()
    with database.connection_context():
        days = list(ApiKeyUsageDay.select().where(ApiKeyUsageDay.key_id == key["id"]))
        assert sum(row.requests for row in days) == 60 and now_ms() - days[-1].day < 2 * DAY_MS
        assert sum(row.requests for row in ApiKeyUsageHour.select()) == 60
        stored = {row.address: row.requests for row in ApiKeyUsageAddress.select()}
        assert stored == sent
        assert ApiKey.get_by_id(key["id"]).last_used is not None
