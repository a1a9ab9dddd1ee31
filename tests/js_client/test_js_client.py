"""The official Elasticsearch JavaScript client (@elastic/elasticsearch, pinned in package.json) against a live
Keydesk: `node --test` runs tests/js_client/*.test.mjs with the server's address and superuser in the environment.

The server is started as tests/integration/es_client starts its own: gunicorn with 2 workers on a fresh
database (SQLite, or KEYDESK_TEST_DATABASE_URL emptied first), initialised with `flask --app wsgi init-db`.
Node.js or the package missing is a failure that says how to fix it, never a skip.
"""

import json
import os
import re
import shutil
import signal
import subprocess

import pytest

from tests.conftest import ELASTIC_PASSWORD
from tests.live_keydesk import ROOT, live_keydesk

HERE = ROOT / "tests" / "js_client"
PACKAGE = "@elastic/elasticsearch"
NODE_TIMEOUT = 120  # seconds for the whole `node --test` run; it takes a few


def _node():
    """(path of node 20 or later, the pinned client's version), installed; else the test fails."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: install Node.js 20 or later (and npm), then run `make setup-test`, which "
                    "installs package.json's packages with `npm ci`", pytrace=False)
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < 20:
        pytest.fail(f"node {version} is too old: {PACKAGE} and `node --test` need Node.js 20 or later",
                    pytrace=False)
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"][PACKAGE]
    installed = ROOT / "node_modules" / PACKAGE / "package.json"
    found = json.loads(installed.read_text())["version"] if installed.exists() else None
    if found != pinned:
        pytest.fail(f"{PACKAGE} {pinned} is not installed in node_modules (found: {found}): run `make setup-test` "
                    "or `npm ci`", pytrace=False)
    return node, pinned


def _server_log(instance, lines=40):
    """The end of the server's log, for a failure's message."""
    log = instance / "gunicorn.log"
    tail = log.read_text(errors="replace").splitlines()[-lines:] if log.exists() else []
    return f"\n--- last {len(tail)} lines of {log} ---\n" + "\n".join(tail) if tail else ""


def test_the_official_javascript_client(tmp_path):
    node, version = _node()  # before the server starts: a missing node fails at once
    files = sorted(path.name for path in HERE.glob("*.test.mjs"))
    assert files, f"no *.test.mjs files in {HERE}"
    with live_keydesk(tmp_path, "js-client-tests") as (base_url, _):
        env = {**os.environ, "KEYDESK_URL": base_url, "KEYDESK_USERNAME": "elastic",
               "KEYDESK_PASSWORD": ELASTIC_PASSWORD, "NO_COLOR": "1"}
        env.pop("NODE_OPTIONS", None)
        # Its own process group: on a timeout the test files' processes are stopped with it.
        process = subprocess.Popen([node, "--test", "--test-reporter=spec", *files], cwd=HERE, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=NODE_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            pytest.fail(f"node --test did not finish in {NODE_TIMEOUT} s; its output so far:\n{stdout}{stderr}"
                        f"{_server_log(tmp_path)}", pytrace=False)
    summary = {name: int(amount) for name, amount in re.findall(r"^ℹ (\w+) (\d+)$", stdout, re.MULTILINE)}
    passed = (process.returncode == 0 and summary.get("pass", 0) > 0
              and all(summary.get(name, 0) == 0 for name in ("fail", "cancelled", "skipped", "todo")))
    if not passed:
        pytest.fail(f"{PACKAGE} {version}: node --test exited with {process.returncode}, summary {summary}:\n"
                    f"{stdout}{stderr}{_server_log(tmp_path)}", pytrace=False)
