"""Role services behind the roles pages: list, counts, create-only saves, reserved roles, self-lockout, audit."""

import pytest

from webapp.errors import Conflict, DomainError, NotFound, Unauthorized
from webapp.model import AuditEvent, Role, User
from webapp.services.access.system import system_subject
from webapp.services.admin import roles
from webapp.services.admin import roles_page as role_admin
from webapp.services.admin.users import SelfLockout
from webapp.services.api_keys import commands as api_keys
from webapp.services.api_keys.visibility import get_visible_key

READ_LOGS = {"cluster": ["manage_own_api_key"], "indices": [{"names": ["logs-*"], "privileges": ["read"]}]}


@pytest.fixture
def admin(db, make_user, subject_of):
    return subject_of(make_user("admin", ["security_admin"]))


def _names(page):
    return [row.name for row in page.rows]


def test_list_counts_holders_and_marks_reserved_and_deprecated(admin, make_user):
    roles.put_role(admin, "log-reader", READ_LOGS)
    make_user("u1", ["log-reader"])
    make_user("u2", ["log-reader", "viewer"])
    page = role_admin.role_page(admin)
    rows = {row.name: row for row in page.rows}
    assert rows["log-reader"].holders == 2 and not rows["log-reader"].reserved
    assert rows["viewer"].holders == 1 and rows["viewer"].reserved
    assert rows["superuser"].holders == 1  # elastic
    assert rows["kibana_user"].deprecated and rows["kibana_user"].deprecated_reason
    assert not rows["viewer"].deprecated


def test_search_matches_name_description_and_definition(admin):
    roles.put_role(admin, "log-reader", {**READ_LOGS, "description": "Reads the Ops logs"})
    roles.put_role(admin, "metrics", {"indices": [{"names": ["metrics-*"], "privileges": ["read"]}]})
    assert _names(role_admin.role_page(admin, search="LOG-READ")) == ["log-reader"]
    assert _names(role_admin.role_page(admin, search="ops logs")) == ["log-reader"]
    assert _names(role_admin.role_page(admin, search="metrics-*")) == ["metrics"]
    assert _names(role_admin.role_page(admin, search="100%_")) == []  # LIKE wildcards are taken literally


def test_reserved_roles_can_be_hidden(admin):
    roles.put_role(admin, "mine", READ_LOGS)
    assert _names(role_admin.role_page(admin, show_reserved=False)) == ["mine"]
    assert "superuser" in _names(role_admin.role_page(admin))


def test_sort_by_name_or_by_holders_and_page(admin, make_user):
    for n in range(30):
        roles.put_role(admin, f"r{n:02}", READ_LOGS)
    make_user("a", ["r05", "r07"])
    make_user("b", ["r07"])
    by_users = role_admin.role_page(admin, sort="users", order="desc", show_reserved=False)
    assert _names(by_users)[:2] == ["r07", "r05"]
    first = role_admin.role_page(admin, show_reserved=False, size=25)
    second = role_admin.role_page(admin, show_reserved=False, size=25, page=2)
    assert first.total == 30 and first.pages == 2 and len(first.rows) == 25
    assert _names(second) == ["r25", "r26", "r27", "r28", "r29"]
    assert (second.first_shown, second.last_shown) == (26, 30)
    assert _names(role_admin.role_page(admin, show_reserved=False, order="desc"))[0] == "r29"
    # Out-of-range input is clamped, never an error.
    assert role_admin.role_page(admin, show_reserved=False, page=99).page == 2
    assert role_admin.role_page(admin, show_reserved=False, size=7, sort="bogus").size == 25


def test_creating_never_overwrites(admin):
    role_admin.save_role(admin, "mine", READ_LOGS, creating=True)
    with pytest.raises(Conflict) as caught:
        role_admin.save_role(admin, "mine", {"cluster": ["all"]}, creating=True)
    assert caught.value.field == "name" and "already exists" in caught.value.reason
    assert roles.get_role(admin, "mine")["cluster"] == ["manage_own_api_key"]


def test_reserved_roles_cant_be_created_over_changed_or_deleted(admin):
    for creating in (True, False):
        with pytest.raises(DomainError, match=r"Role \[viewer\] is reserved and may not be used."):
            role_admin.save_role(admin, "viewer", READ_LOGS, creating=creating)
    with pytest.raises(DomainError, match="reserved and cannot be deleted"):
        role_admin.deletion_preview(admin, "viewer")
    with pytest.raises(DomainError, match="reserved and cannot be deleted"):
        role_admin.delete_role(admin, "viewer")
    assert Role.get(Role.name == "viewer").descriptor["metadata"]["_reserved"] is True


def test_updating_a_missing_role_is_not_found(admin):
    with pytest.raises(NotFound):
        role_admin.save_role(admin, "ghost", READ_LOGS, creating=False)


def test_readers_may_list_but_not_change(db, make_user, subject_of):
    reader = subject_of(make_user("reader", ["security_viewer"]))
    assert role_admin.role_page(reader).total >= 9
    with pytest.raises(Unauthorized):
        role_admin.save_role(reader, "mine", READ_LOGS, creating=True)
    with pytest.raises(Unauthorized):
        role_admin.deletion_preview(reader, "viewer")
    outsider = subject_of(make_user("outsider", ["api_key_user"]))
    with pytest.raises(Unauthorized):
        role_admin.role_page(outsider)


def test_editing_your_own_route_to_manage_security_needs_confirmation(db, make_user, subject_of):
    roles.put_role(system_subject(), "admins", {"cluster": ["manage_security"]})
    me = subject_of(make_user("me", ["admins"]))
    with pytest.raises(SelfLockout) as caught:
        role_admin.save_role(me, "admins", {"cluster": ["monitor"]}, creating=False)
    assert caught.value.field == "confirm_lockout"
    assert roles.get_role(me, "admins")["cluster"] == ["manage_security"]
    role_admin.save_role(me, "admins", {"cluster": ["monitor"]}, creating=False, confirmed=True)
    assert roles.get_role(system_subject(), "admins")["cluster"] == ["monitor"]


def test_no_warning_when_another_role_still_grants_manage_security(db, make_user, subject_of):
    roles.put_role(system_subject(), "admins", {"cluster": ["manage_security"]})
    me = subject_of(make_user("me", ["admins", "superuser"]))
    role_admin.save_role(me, "admins", {"cluster": []}, creating=False)
    assert not role_admin.deletion_preview(me, "admins").locks_out


def test_deleting_your_own_route_to_manage_security_needs_confirmation(db, make_user, subject_of):
    roles.put_role(system_subject(), "admins", {"cluster": ["manage_security"]})
    me = subject_of(make_user("me", ["admins"]))
    assert role_admin.deletion_preview(me, "admins").locks_out
    with pytest.raises(SelfLockout):
        role_admin.delete_role(me, "admins")
    assert role_admin.delete_role(me, "admins", confirmed=True) is True


def test_deletion_preview_counts_holders_and_names_a_few(admin, make_user):
    roles.put_role(admin, "log-reader", READ_LOGS)
    for name in ("zed", "amy", "bob"):
        make_user(name, ["log-reader"])
    preview = role_admin.deletion_preview(admin, "log-reader")
    assert preview.holders == 3 and preview.sample == ["amy@native", "bob@native", "zed@native"]
    assert not preview.locks_out
    assert role_admin.deletion_preview(admin, "log-reader", sample_size=2).sample == ["amy@native", "bob@native"]
    with pytest.raises(NotFound):
        role_admin.deletion_preview(admin, "ghost")


def test_deleting_a_role_keeps_users_role_names_and_key_snapshots(admin, make_user, subject_of):
    roles.put_role(admin, "log-reader", READ_LOGS)
    holder = make_user("holder", ["log-reader"])
    key = api_keys.create_api_key(subject_of(holder), name="k")
    role_admin.delete_role(admin, "log-reader")
    assert subject_of(User.get_by_id(holder.id)).roles == ("log-reader",)  # held by name, grants nothing now
    assert not subject_of(User.get_by_id(holder.id)).may("manage_own_api_key")
    stored = get_visible_key(admin, key.id)
    assert stored.limited_by == [{"log-reader": {k: v for k, v in roles.parse_role("log-reader", READ_LOGS).items()}}]


def test_role_changes_are_audited_with_before_and_after(admin):
    role_admin.save_role(admin, "mine", READ_LOGS, creating=True)
    role_admin.save_role(admin, "mine", {"cluster": ["monitor"]}, creating=False)
    role_admin.delete_role(admin, "mine")
    events = list(AuditEvent.select().where(AuditEvent.target_id == "mine").order_by(AuditEvent.id))
    assert [e.action for e in events] == ["role.create", "role.update", "role.delete"]
    assert events[0].before is None and events[0].after["cluster"] == ["manage_own_api_key"]
    assert events[1].before["cluster"] == ["manage_own_api_key"] and events[1].after["cluster"] == ["monitor"]
    assert events[2].before["cluster"] == ["monitor"] and events[2].after is None
    assert {e.actor_username for e in events} == {"admin"}


def test_role_detail(admin, make_user):
    roles.put_role(admin, "mine", READ_LOGS)
    make_user("u", ["mine"])
    detail = role_admin.role_detail(admin, "mine")
    assert (detail.reserved, detail.holders, detail.row.name) == (False, 1, "mine")
    assert role_admin.role_detail(admin, "superuser").reserved
    with pytest.raises(NotFound):
        role_admin.role_detail(admin, "ghost")
