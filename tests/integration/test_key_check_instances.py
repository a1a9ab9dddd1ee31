"""Key verification on PostgreSQL stays exact across instances however little it asks the database (issue 14).

Two gunicorn instances (one sync worker each) share a scratch PostgreSQL database. Each request verifies a key
with one prepared statement on a pooled connection handed out without the pool's `SELECT 1` when it was used
moments ago, and reads the caller's throttling counter in that same statement. None of that may let a
revoked key, a disabled owner or a flooding address through on the very next request to the other instance.
"""

import base64
import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest

from tests.live_keydesk import ROOT, free_port, stop_gunicorn

ADMIN_DSN = os.environ.get("KEYDESK_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASE = f"keydesk_key_check_{os.getpid()}"
PASSWORD = "instances-password-1"
ELASTIC = {"Authorization": "Basic " + base64.b64encode(f"elastic:{PASSWORD}".encode()).decode()}


def _admin(statement, *params, database="postgres"):
    connection = psycopg2.connect(ADMIN_DSN.rsplit("/", 1)[0] + f"/{database}", connect_timeout=5)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
    finally:
        connection.close()


def _call(port, method, path, headers=None, body=None, address="192.0.2.10"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=json.dumps(body) if body is not None else None,
                           headers={"Content-Type": "application/json", "X-Forwarded-For": address,
                                    **(headers or {})})
        response = connection.getresponse()
        payload = response.read()
        return response.status, json.loads(payload) if payload else None
    finally:
        connection.close()


@pytest.fixture(scope="module")
def instances(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("instances")
    _admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    _admin(f"CREATE DATABASE {DATABASE}")
    env = dict(os.environ, KEYDESK_DATABASE_URL=ADMIN_DSN.rsplit("/", 1)[0] + f"/{DATABASE}",
               KEYDESK_SECRET_KEY="k", KEYDESK_INSTANCE_PATH=str(tmp_path), KEYDESK_BOOTSTRAP_PASSWORD=PASSWORD,
               KEYDESK_PROXY_HOPS="1")  # each request names its client in X-Forwarded-For
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "flask"), "--app", "wsgi", "init-db"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    started = []
    try:
        for name in ("a", "b"):
            port = free_port()
            log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 (closed by stop_gunicorn)
            process = subprocess.Popen(
                [str(bin_dir / "gunicorn"), "--workers", "1", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            process.log = log
            started.append((port, process))
        deadline = time.monotonic() + 30
        for port, process in started:
            while True:
                try:
                    if _call(port, "GET", "/healthz")[0] == 200:
                        break
                except OSError:
                    pass
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        yield [port for port, _ in started]
    finally:
        for _, process in started:
            stop_gunicorn(process)
        _admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def _key(port, headers, name):
    status, body = _call(port, "POST", "/_security/api_key", headers, {"name": name})
    assert status == 200, body
    return body["id"], {"Authorization": f"ApiKey {body['encoded']}"}


def _checks(port, headers, times=5, address="192.0.2.10"):
    """Statuses of back-to-back checks: the pooled connection comes back unpinged from the second on."""
    return [_call(port, "GET", "/_security/_authenticate", headers, address=address)[0] for _ in range(times)]


def test_a_key_invalidated_on_one_instance_is_refused_by_the_next_check_on_the_other(instances):
    a, b = instances
    key_id, key = _key(a, ELASTIC, "invalidated-elsewhere")
    assert _checks(b, key) == [200] * 5
    status, body = _call(a, "DELETE", "/_security/api_key", ELASTIC, {"ids": [key_id]})
    assert status == 200 and body["invalidated_api_keys"] == [key_id]
    assert _checks(b, key, times=1) == [401]


def test_a_disabled_owner_is_refused_by_the_next_check_on_the_other_instance(instances):
    a, b = instances
    status, _ = _call(a, "PUT", "/_security/user/dora", ELASTIC,
                      {"password": "dora-password", "roles": ["superuser"]})
    assert status == 200
    dora = {"Authorization": "Basic " + base64.b64encode(b"dora:dora-password").decode()}
    _, key = _key(b, dora, "dora-key")
    assert _checks(b, key) == [200] * 5
    assert _call(a, "PUT", "/_security/user/dora/_disable", ELASTIC)[0] == 200
    assert _checks(b, key, times=1) == [401]
    assert _call(a, "PUT", "/_security/user/dora/_enable", ELASTIC)[0] == 200
    assert _checks(b, key, times=1) == [200]


def test_a_connection_the_server_ended_is_replaced_by_the_next_check(instances):
    """The server ends every session (as a restart would) right after a check: the next check, on a connection
    handed out unpinged with its prepared statement gone, still answers."""
    a, b = instances
    _, key = _key(a, ELASTIC, "survives-a-restart")
    assert _checks(b, key, times=3) == [200] * 3
    _admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> "
           "pg_backend_pid()", DATABASE)
    assert _checks(b, key, times=3) == [200] * 3


def test_an_address_flooding_one_instance_is_refused_with_a_correct_key_on_the_other(instances):
    """The address's counter, read in the key's statement, is the shared one: 30 failures sent to A make B
    answer 429 to the same address's correct key, and only to that address."""
    a, b = instances
    key_id, key = _key(a, ELASTIC, "flooded-address")
    wrong = {"Authorization": "ApiKey " + base64.b64encode(f"{key_id}:not-the-secret-at-all!".encode()).decode()}
    assert _checks(b, key, address="198.51.100.77") == [200] * 5
    statuses = _checks(a, wrong, times=31, address="198.51.100.77")
    assert statuses.count(401) == 10 and statuses[-1] == 429  # its (key id, address) limit, then the address's
    assert _checks(b, key, times=1, address="198.51.100.77") == [429]
    assert _checks(b, key, times=1, address="198.51.100.78") == [200]
    # A request refused before its key is checked (a body that isn't JSON) is still answered 429 there.
    for address, expected in (("198.51.100.77", 429), ("198.51.100.78", 406)):
        connection = http.client.HTTPConnection("127.0.0.1", b, timeout=30)
        try:
            connection.request("POST", "/_security/api_key", body="name=x", headers={
                **key, "Content-Type": "text/plain", "X-Forwarded-For": address})
            assert connection.getresponse().status == expected
        finally:
            connection.close()
