"""The rules behind the keys page: validation messages, details, snapshot drift, deleting, the audit trail."""

import pytest

from webapp.clock import DAY_MS, now_ms
from webapp.errors import DomainError, LicenseError, NotFound, Unauthorized, ValidationFailed
from webapp.model import ApiKey, AuditEvent, User
from webapp.services.access.proxy_users import proxy_subject
from webapp.services.access.system import system_subject
from webapp.services.admin import license, roles, users
from webapp.services.api_keys import commands as api_keys
from webapp.services.api_keys import details as key_details


@pytest.fixture
def people(db, make_user, subject_of):
    return {
        "elastic": subject_of(User.get((User.username == "elastic") & (User.realm == "reserved"))),
        "alice": subject_of(make_user("alice", ["api_key_user"])),
        "bob": subject_of(make_user("bob", ["api_key_user"])),
        "admin": subject_of(make_user("admin", ["api_key_admin"])),
        "reader": subject_of(make_user("reader", ["security_viewer"])),
    }


# ---- every validation message of create -----------------------------------------------------------------

@pytest.mark.parametrize("name, field, message", [
    ("", "name", "api key name is required"),
    ("x" * 257, "name", "api key name may not be more than 256 characters long"),
    (" padded", "name", "api key name may not begin or end with whitespace"),
    ("_hidden", "name", "api key name may not begin with an underscore"),
])
def test_name_rules(people, name, field, message):
    with pytest.raises(ValidationFailed) as caught:
        api_keys.create_api_key(people["alice"], name=name)
    assert caught.value.fields[field] == message


def test_metadata_and_descriptor_and_expiration_messages(people):
    with pytest.raises(ValidationFailed) as caught:
        api_keys.create_api_key(people["alice"], name="k", metadata={"_secret": 1})
    assert caught.value.fields == {"metadata": "API key metadata keys may not start with [_]"}
    with pytest.raises(DomainError) as caught:
        api_keys.create_api_key(people["alice"], name="k", role_descriptors={"r": {"cluster": ["fly"]}})
    assert caught.value.field == "role_descriptors" and "unknown cluster privilege [fly]" in caught.value.detail
    with pytest.raises(DomainError) as caught:
        api_keys.create_api_key(people["alice"], name="k", expiration="soon")
    assert caught.value.field == "expiration" and "failed to parse setting [expiration]" in caught.value.reason


def test_cross_cluster_needs_manage_security_and_a_license(people):
    access = {"search": [{"names": ["logs-*"]}]}
    with pytest.raises(Unauthorized):
        api_keys.create_cross_cluster_api_key(people["admin"], name="cc", access=access)
    with pytest.raises(LicenseError):
        api_keys.create_cross_cluster_api_key(people["elastic"], name="cc", access=access)
    license.set_license(system_subject(), "trial")
    created = api_keys.create_cross_cluster_api_key(people["elastic"], name="cc", access=access)
    assert ApiKey.get_by_id(created.id).type == "cross_cluster"


def test_rights(people):
    assert key_details.rights_of(people["reader"]).read_only
    alice = key_details.rights_of(people["alice"])
    assert alice.may_create and not alice.sees_all and not alice.may_create_cross_cluster
    assert key_details.rights_of(people["admin"]).manages_all
    assert not key_details.rights_of(people["elastic"]).may_create_cross_cluster
    license.set_license(system_subject(), "enterprise")
    assert key_details.rights_of(people["elastic"]).may_create_cross_cluster


def test_own_descriptors_leave_out_descriptions(people):
    descriptors = key_details.own_descriptors(people["elastic"])
    assert list(descriptors) == ["superuser"] and "description" not in descriptors["superuser"]
    api_keys.create_api_key(people["elastic"], name="as-prefilled", role_descriptors=descriptors)


# ---- details ------------------------------------------------------------------------------------------

def test_details_of_ones_own_key(people):
    created = api_keys.create_api_key(people["alice"], name="mine", metadata={"team": "ops"})
    details = key_details.key_details(people["alice"], created.id)
    assert details.editable and details.refusal is None and details.owner_state == "enabled"
    assert details.snapshot_differs is False
    assert "Cluster privileges: manage_own_api_key." in details.effective


def test_someone_elses_key_is_hidden_from_an_own_keys_user_and_read_only_for_a_reader(people):
    created = api_keys.create_api_key(people["alice"], name="alices")
    with pytest.raises(NotFound):
        key_details.key_details(people["bob"], created.id)
    details = key_details.key_details(people["reader"], created.id)
    assert not details.editable
    assert details.refusal == "This key belongs to another user; only its owner can change it."


def test_expired_and_invalidated_keys_say_why_they_are_read_only(people):
    old = api_keys.create_api_key(people["alice"], name="old")
    ApiKey.update(expiration=now_ms() - DAY_MS).where(ApiKey.id == old.id).execute()
    gone = api_keys.create_api_key(people["alice"], name="gone")
    api_keys.invalidate_api_keys(people["alice"], ids=[gone.id], owner=True)
    assert key_details.key_details(people["alice"], old.id).refusal == \
        "This key has expired and can no longer be changed."
    assert key_details.key_details(people["alice"], gone.id).refusal == \
        "This key has been invalidated and can no longer be changed."


def test_a_read_only_owner_is_told_so(db, make_user, subject_of):
    reader = subject_of(make_user("carol", ["security_viewer"]))
    # carol's key from the time she could create keys
    ApiKey.create(id="C" * 20, name="carols", type="rest", owner_username="carol", owner_realm="native",
                  owner_realm_type="native", creation=now_ms(), invalidated=False, secret_hash="x",
                  role_descriptors={}, limited_by=[{}], metadata={}, managed=False)
    details = key_details.key_details(reader, "C" * 20)
    assert not details.editable and details.refusal == "Your roles don't allow changing API keys."


def test_snapshot_drift_after_the_owners_roles_change(people):
    roles.put_role(system_subject(), "deployer", {"cluster": ["manage_own_api_key", "monitor"]})
    users.put_user(system_subject(), "alice", roles=["deployer"])
    from webapp.services.access.authentication import subject_for_user

    alice = subject_for_user(User.get(User.username == "alice"), "session")
    created = api_keys.create_api_key(alice, name="drifts")
    assert key_details.key_details(alice, created.id).snapshot_differs is False
    roles.put_role(system_subject(), "deployer", {"cluster": ["manage_own_api_key"]})
    assert key_details.key_details(alice, created.id).snapshot_differs is True
    # Elasticsearch semantics: the key keeps its snapshot until updated; updating captures the roles again.
    assert "monitor" in str(ApiKey.get_by_id(created.id).limited_by)
    alice = subject_for_user(User.get(User.username == "alice"), "session")
    api_keys.update_api_key(alice, created.id)
    assert key_details.key_details(alice, created.id).snapshot_differs is False


def test_owner_state_in_details(people):
    created = api_keys.create_api_key(people["bob"], name="bobs")
    users.set_enabled(system_subject(), "bob", False, realm="native")
    assert key_details.key_details(people["elastic"], created.id).owner_state == "disabled"
    users.delete_user(system_subject(), "bob", realm="native")
    assert key_details.key_details(people["elastic"], created.id).owner_state == "deleted"


def test_effective_privileges_in_words(people):
    created = api_keys.create_api_key(people["elastic"], name="scoped", role_descriptors={
        "r": {"cluster": ["monitor"], "indices": [{"names": ["logs-*"], "privileges": ["read", "write"]}]}})
    effective = key_details.key_details(people["elastic"], created.id).effective
    assert "Cluster privileges: monitor." in effective
    assert "Index privileges on logs-*: read and write." in effective
    roles.put_role(system_subject(), "reads-logs", {"cluster": ["manage_own_api_key"],
                                                    "indices": [{"names": ["logs-*"], "privileges": ["read"]}]})
    users.put_user(system_subject(), "alice", roles=["reads-logs"])
    from webapp.services.access.authentication import subject_for_user

    alice = subject_for_user(User.get(User.username == "alice"), "session")
    created = api_keys.create_api_key(alice, name="asks-too-much", role_descriptors={
        "r": {"indices": [{"names": ["logs-*"], "privileges": ["read", "write"]}]}})
    effective = key_details.key_details(alice, created.id).effective
    assert "Index privileges on logs-*: read." in effective
    assert any(line.startswith("Asked for write on logs-*") for line in effective)
    assert "No cluster privileges." in effective


def test_cross_cluster_access_in_words(people):
    license.set_license(system_subject(), "trial")
    created = api_keys.create_cross_cluster_api_key(people["elastic"], name="cc", access={
        "search": [{"names": ["logs-*", "metrics-*"]}], "replication": [{"names": ["archive"]}]})
    details = key_details.key_details(people["elastic"], created.id)
    assert details.effective == ["Remote clusters may search logs-* and metrics-*.",
                                 "Remote clusters may replicate archive."]
    assert details.snapshot_differs is None


# ---- delete -------------------------------------------------------------------------------------------

def test_own_keys_user_deletes_only_own_keys_whatever_the_request_names(people):
    mine = api_keys.create_api_key(people["alice"], name="mine")
    bobs = api_keys.create_api_key(people["bob"], name="bobs")
    outcome = api_keys.delete_keys(people["alice"], [mine.id, bobs.id, "no-such-key"])
    assert outcome.deleted == [(mine.id, "mine")]
    assert outcome.failed == [(bobs.id, bobs.id, "no such API key"), ("no-such-key", "no-such-key", "no such API key")]
    assert not ApiKey.get_by_id(bobs.id).invalidated


def test_admin_deletes_anyones_keys_but_cross_cluster_needs_manage_security(people):
    license.set_license(system_subject(), "trial")
    cc = api_keys.create_cross_cluster_api_key(people["elastic"], name="cc", access={"search": [{"names": ["*"]}]})
    keys = [api_keys.create_api_key(people[who], name=f"{who}-key") for who in ("alice", "bob")]
    outcome = api_keys.delete_keys(people["admin"], [k.id for k in keys] + [cc.id])
    assert sorted(name for _, name in outcome.deleted) == ["alice-key", "bob-key"]
    assert outcome.failed == [(cc.id, "cc", "deleting a cross-cluster key needs manage_security")]
    assert api_keys.delete_keys(people["elastic"], [cc.id]).deleted == [(cc.id, "cc")]


def test_delete_writes_one_audit_event_per_key_and_no_secret(people):
    keys = [api_keys.create_api_key(people["alice"], name=f"k{n}") for n in range(3)]
    api_keys.delete_keys(people["alice"], [k.id for k in keys])
    events = list(AuditEvent.select().where(AuditEvent.action == "api_key.invalidate"))
    assert sorted(e.target_id for e in events) == sorted(k.id for k in keys)
    assert all(e.actor_username == "alice" and e.after["invalidated"] for e in events)
    created = AuditEvent.get((AuditEvent.action == "api_key.create") & (AuditEvent.target_id == keys[0].id))
    assert keys[0].api_key not in str(created.after) and "secret_hash" not in str(created.after)


def test_update_is_audited_with_before_and_after(people):
    created = api_keys.create_api_key(people["alice"], name="k", metadata={"v": 1})
    api_keys.update_api_key(people["alice"], created.id, metadata={"v": 2})
    event = AuditEvent.get((AuditEvent.action == "api_key.update") & (AuditEvent.target_id == created.id))
    assert event.before["metadata"] == {"v": 1} and event.after["metadata"] == {"v": 2}
    assert event.actor_username == "alice" and created.api_key not in str(event.before) + str(event.after)


@pytest.mark.parametrize("ids, message", [
    ([], "Select at least one API key to delete."),
    ([f"id{n}" for n in range(1001)], "Delete at most 1000 API keys at a time."),
    (["x" * 65], "That isn't an API key id."),
    (["a\x00b"], "That isn't an API key id."),
])
def test_delete_request_limits(people, ids, message):
    with pytest.raises(ValidationFailed) as caught:
        api_keys.delete_keys(people["alice"], ids)
    assert caught.value.fields == {"ids": message}


def test_read_only_users_cannot_delete(people):
    created = api_keys.create_api_key(people["alice"], name="mine")
    with pytest.raises(Unauthorized):
        api_keys.delete_keys(people["reader"], [created.id])


def test_proxy_alice_is_not_native_alice(people):
    proxy_alice = proxy_subject("alice", ["api_key_user"])
    theirs = api_keys.create_api_key(proxy_alice, name="proxy-alice")
    with pytest.raises(NotFound):
        key_details.key_details(people["alice"], theirs.id)
    assert api_keys.delete_keys(people["alice"], [theirs.id]).deleted == []
    assert api_keys.delete_keys(proxy_alice, [theirs.id]).deleted == [(theirs.id, "proxy-alice")]
