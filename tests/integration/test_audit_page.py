"""The audit page: who may read it, filters, paging, exports — as a page and as htmx fragments."""

import csv
import io
import json

import pytest

from tests.conftest import USER_PASSWORD
from webapp.model import AuditEvent
from webapp.services.api_keys import commands as api_keys
from webapp.services.audit import trail as audit

HTMX = {"HX-Request": "true"}


@pytest.fixture
def trail(db, make_user, subject_of):
    """A few real events: a key created, updated and invalidated by alice, a failed login."""
    alice = subject_of(make_user("alice", ["api_key_user"]))
    key = api_keys.create_api_key(alice, name="=cmd|' /C calc'!A0", metadata={"team": "ops"})
    api_keys.update_api_key(alice, key.id, metadata={"team": "platform"})
    api_keys.invalidate_api_keys(alice, ids=[key.id], owner=True)
    audit.record(None, "login", target_type="user", target_id="mallory", outcome="failure", address="10.0.0.9")
    return key


@pytest.mark.parametrize("roles, status", [([], 403), (["api_key_user"], 403), (["security_viewer"], 200),
                                           (["security_admin"], 200)])
def test_who_may_read_the_audit_log(client, auth, make_user, roles, status):
    make_user("reader", roles)
    auth.login("reader", USER_PASSWORD)
    assert client.get("/audit/").status_code == status
    assert client.get("/audit/export.csv").status_code == status


def test_page_and_fragment(client, auth, trail):
    auth.login()
    page = client.get("/audit/")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    fragment = client.get("/audit/", headers=HTMX).get_data(as_text=True)
    assert fragment.startswith('<section id="audit-table"') and "<html" not in fragment
    assert "api_key.create" in fragment and "api_key.invalidate" in fragment


def test_filters_narrow_the_table(client, auth, trail):
    auth.login()
    by_action = client.get("/audit/?action=api_key.update", headers=HTMX).get_data(as_text=True)
    assert "api_key.update" in by_action and "api_key.create" not in by_action
    by_actor = client.get("/audit/?actor=alice@native", headers=HTMX).get_data(as_text=True)
    assert "api_key.create" in by_actor and "mallory" not in by_actor
    failures = client.get("/audit/?outcome=failure", headers=HTMX).get_data(as_text=True)
    assert "mallory" in failures and "api_key.create" not in failures
    by_target = client.get(f"/audit/?target={trail.id}", headers=HTMX).get_data(as_text=True)
    assert by_target.count("<tr>") == 4  # header row + create, update, invalidate
    future = client.get("/audit/?since=2999-01-01", headers=HTMX).get_data(as_text=True)
    assert "No audit events match" in future


def test_bad_date_is_a_422_with_a_message_beside_the_field(client, auth, trail):
    auth.login()
    response = client.get("/audit/?since=yesterday", headers=HTMX)
    assert response.status_code == 422
    assert "Enter a date like 2026-01-31." in response.get_data(as_text=True)


def test_paging_goes_back_in_time_by_id(client, auth, db):
    for n in range(60):
        audit.record(None, "test.event", target_id=f"t{n}")
    auth.login()
    first = client.get("/audit/?action=test.&size=25", headers=HTMX).get_data(as_text=True)
    assert "t59" in first and "t34" not in first and "Older events" in first
    oldest_shown = min(e.id for e in AuditEvent.select().where(AuditEvent.target_id == "t35"))
    second = client.get(f"/audit/?action=test.&size=25&before={oldest_shown}", headers=HTMX).get_data(as_text=True)
    assert "t34" in second and "t10" in second and "t35" not in second


@pytest.mark.parametrize("before, shown", [(2**63, True), (10**30, True), (-(2**63) - 1, False)])
def test_paging_from_an_id_no_database_holds(client, auth, trail, before, shown):
    auth.login()
    response = client.get(f"/audit/?before={before}", headers=HTMX)
    assert response.status_code == 200
    assert ("api_key" in response.get_data(as_text=True)) is shown


def test_csv_export_neutralises_formulas_and_keeps_changes(client, auth, trail):
    auth.login()
    response = client.get("/audit/export.csv?action=api_key")
    assert response.headers["Content-Disposition"] == 'attachment; filename="keydesk-audit.csv"'
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["action"] for r in rows] == ["api_key.create", "api_key.update", "api_key.invalidate"]
    assert rows[0]["after"].startswith("{") and '"name":"=cmd' in rows[0]["after"]
    assert json.loads(rows[1]["after"])["metadata"] == {"team": "platform"}


def test_csv_cells_that_look_like_formulas_are_quoted(client, auth, db):
    audit.record(None, "login", target_type="user", target_id='=HYPERLINK("http://evil")', outcome="failure")
    auth.login()
    rows = list(csv.DictReader(io.StringIO(client.get("/audit/export.csv?outcome=failure").get_data(as_text=True))))
    assert rows[0]["target_id"] == "'=HYPERLINK(\"http://evil\")"


def test_json_lines_export(client, auth, trail):
    auth.login()
    lines = client.get("/audit/export.jsonl?outcome=failure").get_data(as_text=True).splitlines()
    events = [json.loads(line) for line in lines]
    assert [(e["action"], e["target_id"], e["address"]) for e in events] == [("login", "mallory", "10.0.0.9")]


def test_exports_never_contain_secrets(client, auth, db, make_user, subject_of):
    created = api_keys.create_api_key(subject_of(make_user("bob", ["api_key_user"])), name="k")
    auth.login()
    body = client.get("/audit/export.jsonl").get_data(as_text=True) + client.get("/audit/").get_data(as_text=True)
    assert created.api_key not in body and created.encoded not in body and USER_PASSWORD not in body


def test_history_restore_gets_the_whole_page(client, auth, trail):
    auth.login()
    restore = client.get("/audit/?outcome=failure", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)
    assert "Vary" in restore.headers and "HX-Request" in restore.headers["Vary"]


@pytest.mark.parametrize("path", ["/audit/export.jsonl", "/audit/export.csv", "/audit/"])
@pytest.mark.parametrize("field", ["actor", "action", "target"])
def test_text_no_event_can_hold_is_refused_before_anything_streams(client, auth, trail, path, field):
    """A NUL in a filter used to reach the database mid-export, after the 200 had gone out."""
    auth.login()
    response = client.get(f"{path}?{field}=%00")
    assert response.status_code == 422
    assert "NUL character" in response.get_data(as_text=True)
