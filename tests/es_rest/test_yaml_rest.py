"""Elasticsearch's YAML REST tests for the security APIs, run against a live Keydesk through the official client.

One pytest test per YAML test. A test runner.SKIPS lists (a difference, or an endpoint still to come) is run
all the same and must still fail: the day it passes, the listed reason no longer holds and this test says so.
"""

import pytest

from tests.es_rest import runner
from tests.es_rest.conftest import DIFFERENCES

CASES = runner.cases()


@pytest.mark.parametrize(("relative", "name"), CASES, ids=[f"{relative}::{name}" for relative, name in CASES])
def test_yaml(yaml_runner, relative, name):
    reason = runner.skip_reason(relative, name, yaml_runner.missing)
    if not reason:
        yaml_runner.run(relative, name)
        return
    try:
        yaml_runner.run(relative, name)
    except Exception as failure:  # noqa: BLE001 (any failure shows the listed difference still holds)
        DIFFERENCES[reason].append(f"{relative}::{name}: {str(failure).splitlines()[0][:160]}")
        return
    pytest.fail(f"listed in runner.SKIPS ({reason}), yet it passes now: take it off the list")
