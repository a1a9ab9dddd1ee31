"""A live Keydesk for Elasticsearch's YAML REST tests, set up as their test cluster is.

gunicorn with 2 workers on a fresh database (SQLite, or KEYDESK_TEST_DATABASE_URL emptied first), the trial
license (the x-pack test cluster self-generates one) and the cluster's user `x_pack_rest_user` (a superuser).
After every test the runner wipes what Elasticsearch's test framework wipes: API keys, users (all but the
reserved ones and `x_pack_rest_user`), roles, role mappings and application privileges. The run ends with a
passed / failed / skipped summary.
"""

import collections

import pytest
from elasticsearch import Elasticsearch

from tests.es_rest import runner
from tests.live_keydesk import live_keydesk


@pytest.fixture(scope="package")
def rest_server(tmp_path_factory):
    """(base URL, database URL) of a running Keydesk set up as Elastic's test cluster is: the trial license
    (the x-pack test cluster self-generates one) and its superuser, stopped when the package's tests end."""
    setup = (["license", "set", "trial"],
             ["users", "create", runner.REST_USER[0], "--roles", "superuser", "--password", runner.REST_USER[1]])
    with live_keydesk(tmp_path_factory.mktemp("es-rest-instance"), "es-rest-tests", setup) as server:
        yield server


def _wiper(database_url):
    """Deletes what a test left: every API key, every user but the reserved ones and x_pack_rest_user, every
    role but the reserved ones, every role mapping, every application privilege. Through the services, as the
    system, in this process."""
    from webapp.model import ApiKey
    from webapp.model.db import database, init_database
    from webapp.services.access.system import system_subject
    from webapp.services.admin import application_privileges, role_mappings, roles, users

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
            for name in role_mappings.get_role_mappings(system):
                role_mappings.delete_role_mapping(system, name)
            for application, privileges in application_privileges.get_privileges(system).items():
                application_privileges.delete_privileges(system, application, list(privileges))

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
