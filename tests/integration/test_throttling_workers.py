"""The default throttling store holds the documented limits across worker processes (issue 13, item 4).

Two gunicorn processes (one sync worker each, as two workers or two instances would be) serve the test's
database (SQLite file or PostgreSQL); the clients send their failures to one and the other in turn, so each
process answers half of them whatever the kernel's choice of worker would have been. "10 per minute" must
hold in total: with per-process counters (memory://) each process would allow its own ten.
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

from tests.live_keydesk import ROOT, free_port, stop_gunicorn


def _start(app, tmp_path, name):
    port = free_port()
    env = dict(os.environ, KEYDESK_DATABASE_URL=app.config["KEYDESK_DATABASE_URL"], KEYDESK_SECRET_KEY="k",
               KEYDESK_INSTANCE_PATH=str(tmp_path), KEYDESK_PROXY_HOPS="1")  # clients name their address
    log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 (closed by stop_gunicorn)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--workers", "1", "--bind", f"127.0.0.1:{port}",
         "--access-logfile", str(tmp_path / f"{name}.access.log"), "--access-logformat", "%(s)s", "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    process.log = log
    return port, process


@pytest.fixture
def servers(app, tmp_path):
    started = [_start(app, tmp_path, name) for name in ("first", "second")]
    deadline = time.monotonic() + 30
    for (port, process), name in zip(started, ("first", "second"), strict=True):
        while _status(port, "", "192.0.2.200", "/healthz") != 200:
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / f"{name}.log").read_text()
            time.sleep(0.2)
    yield [port for port, _ in started], [tmp_path / f"{name}.access.log" for name in ("first", "second")]
    for _, process in started:
        stop_gunicorn(process)


def _status(port, authorization, address, path="/_security/_authenticate"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Authorization": authorization, "X-Forwarded-For": address})
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def test_ten_failures_per_minute_hold_across_two_workers(servers):
    ports, access_logs = servers
    forged = "ApiKey " + base64.b64encode(b"AAAAAAAAAAAAAAAAAAAA:not-the-secret").decode()
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda n: _status(ports[n % 2], forged, "198.51.100.1"), range(60)))
    assert statuses.count(401) == 10 and statuses.count(429) == 50, statuses
    # A password is tested before it is checked: sent one after the other, the eleventh waits.
    wrong = "Basic " + base64.b64encode(b"nobody:wrong-password").decode()
    assert [_status(ports[n % 2], wrong, "198.51.100.2") for n in range(14)] == [401] * 10 + [429] * 4
    time.sleep(0.5)  # the access log is written after each answer
    for access_log in access_logs:  # each process refused some and allowed some: the count was shared
        answered = [line for line in access_log.read_text().split() if line != "200"]
        assert "401" in answered and "429" in answered and len(answered) == 37, answered
