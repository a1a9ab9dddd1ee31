"""A key's own rate limit holds in total across two gunicorn instances (one sync worker each).

Counters in Redis (KEYDESK_RATELIMIT_STORAGE_URL=redis://127.0.0.1:6379, as several instances would be set up),
and in the default `database://` store on the test's database (SQLite file or PostgreSQL: shared by both
processes). Requests alternate between the instances, and some go at once from several threads: the limit
allows exactly its number in total, not that number per instance.
"""

import http.client
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.live_keydesk import ROOT, free_port, stop_gunicorn
from webapp.model import User
from webapp.services.access.authentication import subject_for_user
from webapp.services.api_keys import commands as api_keys

REDIS_URL = os.environ.get("KEYDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_up():
    try:
        import redis

        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001  (no server, no driver: skip the Redis case)
        return False


def _call(port, headers, path="/_security/_authenticate"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        return response.status, response.getheader("Retry-After"), json.loads(body) if body else None
    finally:
        connection.close()


@pytest.fixture(params=["redis", "database"])
def instances(request, app, tmp_path):
    if request.param == "redis" and not _redis_up():
        pytest.fail(f"no Redis at {REDIS_URL}: start it (redis-server --port 6379); .ci/run does")
    storage = REDIS_URL if request.param == "redis" else "database://"
    env = dict(os.environ, KEYDESK_DATABASE_URL=app.config["KEYDESK_DATABASE_URL"], KEYDESK_SECRET_KEY="k",
               KEYDESK_INSTANCE_PATH=str(tmp_path), KEYDESK_RATELIMIT_STORAGE_URL=storage)
    started = []
    for name in ("a", "b"):
        port = free_port()
        log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 (closed by stop_gunicorn)
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "--workers", "1", "--bind", f"127.0.0.1:{port}",
             "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        process.log = log
        started.append((port, process))
    try:
        deadline = time.monotonic() + 30
        for (port, process), name in zip(started, ("a", "b"), strict=True):
            while True:
                try:
                    if _call(port, {}, "/healthz")[0] == 200:
                        break
                except OSError:
                    pass
                assert process.poll() is None and time.monotonic() < deadline, (tmp_path / f"{name}.log").read_text()
                time.sleep(0.2)
        yield [port for port, _ in started]
    finally:
        for _, process in started:
            stop_gunicorn(process)


def test_the_limit_holds_in_total_across_instances(instances, db):
    elastic = subject_for_user(User.get(User.username == "elastic"), "basic")
    limited = api_keys.create_api_key(elastic, name="limited", rate_limit={"requests": 12, "per": "1h"})
    free = api_keys.create_api_key(elastic, name="free")
    header = {"Authorization": f"ApiKey {limited.encoded}"}
    statuses = [_call(instances[n % 2], header)[0] for n in range(8)]  # alternating: 4 each
    with ThreadPoolExecutor(8) as pool:  # and at once, from several threads, to both
        statuses += list(pool.map(lambda n: _call(instances[n % 2], header)[0], range(16)))
    assert statuses.count(200) == 12 and statuses.count(429) == 12, statuses
    for port in instances:
        status, retry_after, body = _call(port, header)
        assert status == 429 and int(retry_after) >= 1
        assert body["error"]["type"] == "es_rejected_execution_exception"
        reason = body["error"]["reason"]
        assert f"API key [{limited.id}]" in reason and "[12] requests per [1h]" in reason
    free_header = {"Authorization": f"ApiKey {free.encoded}"}
    assert all(_call(instances[n % 2], free_header)[0] == 200 for n in range(20))


def test_shares_taken_by_each_instance_never_exceed_the_limit(instances, db):
    """Above 200 requests per window each process takes a share (here 3) at a time: never more than the limit
    in total, and at most one share per process less."""
    elastic = subject_for_user(User.get(User.username == "elastic"), "basic")
    limited = api_keys.create_api_key(elastic, name="shared", rate_limit={"requests": 301, "per": "1h"})
    header = {"Authorization": f"ApiKey {limited.encoded}"}
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda n: _call(instances[n % 2], header)[0], range(330)))
    assert 301 - 2 * 3 <= statuses.count(200) <= 301 and statuses.count(200) + statuses.count(429) == 330
