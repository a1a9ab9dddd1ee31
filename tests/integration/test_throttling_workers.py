"""The default throttling store holds the documented limits across worker processes (issue 13, item 4).

gunicorn runs 2 sync worker processes (one request at a time each) on the test's database (SQLite file or
PostgreSQL); clients send failures in parallel on fresh connections, so both workers answer (the access log
names the process of each answer). "10 per minute" must hold in total: with per-process counters (memory://)
each worker would allow its own ten.
"""

import base64
import http.client
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.test_same_key_concurrency import ROOT, _free_port, _stop_gunicorn


@pytest.fixture
def server(app, tmp_path):
    port = _free_port()
    env = dict(os.environ, KEYDESK_DATABASE_URL=app.config["KEYDESK_DATABASE_URL"], KEYDESK_SECRET_KEY="k",
               KEYDESK_INSTANCE_PATH=str(tmp_path), KEYDESK_PROXY_HOPS="1")  # clients name their address
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 (closed by _stop_gunicorn)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--access-logfile", str(tmp_path / "access.log"), "--access-logformat", "%(p)s %(s)s", "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    process.log = log
    deadline = time.monotonic() + 30
    while _status(port, "", "192.0.2.200", "/healthz") != 200:
        assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
        time.sleep(0.2)
    yield port, tmp_path / "access.log"
    _stop_gunicorn(process)


def _status(port, authorization, address, path="/_security/_authenticate"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Authorization": authorization, "X-Forwarded-For": address})
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def test_ten_failures_per_minute_hold_across_two_workers(server):
    port, access_log = server
    forged = "ApiKey " + base64.b64encode(b"AAAAAAAAAAAAAAAAAAAA:not-the-secret").decode()
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda _: _status(port, forged, "198.51.100.1"), range(60)))
    assert statuses.count(401) == 10 and statuses.count(429) == 50, statuses
    # A password is tested before it is checked: sent one after the other, the eleventh waits.
    wrong = "Basic " + base64.b64encode(b"nobody:wrong-password").decode()
    assert [_status(port, wrong, "198.51.100.2") for _ in range(14)] == [401] * 10 + [429] * 4
    time.sleep(0.5)  # the access log is written after each answer
    answered_by = {line.split()[0] for line in access_log.read_text().splitlines() if line.split()[1] != "200"}
    assert len(answered_by) == 2, f"both worker processes answered: {answered_by}"
