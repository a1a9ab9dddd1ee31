"""A live Keydesk for Elasticsearch's YAML REST tests, set up as their test cluster is.

gunicorn with 2 workers on a fresh database (SQLite, or KEYDESK_TEST_DATABASE_URL emptied first), the trial
license (the x-pack test cluster self-generates one) and the cluster's user `x_pack_rest_user` (a superuser).
After every test the runner wipes what Elasticsearch's test framework wipes: API keys, users (all but the
reserved ones and `x_pack_rest_user`) and roles. The run ends with a passed / failed / skipped summary.
"""

import collections
import os
import signal
import subprocess

import pytest
from elasticsearch import Elasticsearch

from tests.conftest import ELASTIC_PASSWORD
from tests.es_rest import runner
from tests.integration.es_client.conftest import BIN, ROOT, _empty_shared_database, _free_port, _wait_until_up


def _flask(env, *args):
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, check=True, capture_output=True)


@pytest.fixture(scope="package")
def rest_server(tmp_path_factory):
    """(base URL, database URL) of a running Keydesk, stopped when the package's tests end."""
    instance = tmp_path_factory.mktemp("es-rest-instance")
    url = os.environ.get("KEYDESK_TEST_DATABASE_URL") or f"sqlite:///{instance / 'keydesk.sqlite3'}"
    if url.startswith("postgres"):
        _empty_shared_database(url)
    env = {**os.environ, "KEYDESK_DATABASE_URL": url, "KEYDESK_INSTANCE_PATH": str(instance),
           "KEYDESK_BOOTSTRAP_PASSWORD": ELASTIC_PASSWORD, "KEYDESK_SECRET_KEY": "es-rest-tests",
           "KEYDESK_PASSWORD_HASH_ROUNDS": "4",
           # The tests fail authentication on purpose (disabled users, cross-cluster keys).
           "KEYDESK_AUTH_FAILURES_PER_ADDRESS": "100000 per minute",
           "KEYDESK_AUTH_FAILURES_PER_CREDENTIAL": "100000 per minute"}
    _flask(env, "init-db")
    _flask(env, "license", "set", "trial")
    _flask(env, "users", "create", runner.REST_USER[0], "--roles", "superuser", "--password", runner.REST_USER[1])
    port = _free_port()
    log = open(instance / "gunicorn.log", "w")
    process = subprocess.Popen([str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url, process)
        yield base_url, url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _wiper(database_url):
    """Deletes what a test left: every API key, every user but the reserved ones and x_pack_rest_user, every
    role but the reserved ones. Through the services, as the system, in this process."""
    from webapp.model import ApiKey
    from webapp.model.db import database, init_database
    from webapp.services.access.system import system_subject
    from webapp.services.admin import roles, users

    def wipe():
        init_database(database_url)
        system = system_subject()
        with database.connection_context():
            ApiKey.delete().execute()
            for name, user in users.get_users(system).items():
                if not user["metadata"].get("_reserved") and name != runner.REST_USER[0]:
                    users.delete_user(system, name)
            for name, role in roles.get_roles(system).items():
                if not (role.get("metadata") or {}).get("_reserved"):
                    roles.delete_role(system, name)

    return wipe


@pytest.fixture(scope="package")
def yaml_runner(rest_server):
    base_url, database_url = rest_server
    client = Elasticsearch(base_url, basic_auth=runner.REST_USER, request_timeout=30)
    yaml_runner = runner.Runner(client, runner.missing_endpoints(client), _wiper(database_url))
    SUMMARY["omitted"] = yaml_runner.omitted_steps
    yield yaml_runner
    client.close()


SUMMARY = {}
DIFFERENCES = collections.defaultdict(list)  # listed reason -> the tests that (still) fail for it


def pytest_terminal_summary(terminalreporter):
    outcomes = collections.Counter()
    for outcome in ("passed", "failed", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "nodeid", "").startswith("tests/es_rest/") and (report.when == "call"
                                                                               or outcome == "error"):
                outcomes[outcome] += 1
    if not outcomes:
        return
    listed = sum(len(tests) for tests in DIFFERENCES.values())
    terminalreporter.section("Elasticsearch YAML REST tests")
    terminalreporter.write_line(f"{outcomes['passed'] - listed} passed / {outcomes['failed'] + outcomes['error']} "
                                f"failed / {listed} skipped as listed differences "
                                "(run anyway: each still fails as listed)")
    for reason, tests in sorted(DIFFERENCES.items(), key=lambda item: (-len(item[1]), item[0])):
        terminalreporter.write_line(f"  skipped {len(tests):>2}: {reason}")
        for test in tests:
            terminalreporter.write_line(f"             {test}")
    omitted = collections.Counter((section, api, reason) for _, section, api, reason in SUMMARY.get("omitted", []))
    for (section, api, reason), amount in sorted(omitted.items()):
        terminalreporter.write_line(f"  left out {amount:>2} {section} step(s) `{api}`: {reason}")
