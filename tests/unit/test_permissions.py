"""Evaluating role descriptors: cluster and index checks, API-key intersection, `_has_privileges`."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webapp.security.descriptors.roles import DescriptorError, parse_role_descriptors
from webapp.security.permissions import (
    LimitedPermission,
    Permission,
    StoredPrivileges,
    effective_key_permission,
    has_privileges,
    is_restricted_index,
    role_map_descriptors,
    snapshot_descriptors,
)
from webapp.security.privileges import CLUSTER_PRIVILEGES, unknown_cluster_privilege_message

SECURITY = "cluster:admin/xpack/security/"
OWNER_ALL = [{"owner_role": {"cluster": ["all"], "indices": [{"names": ["*"], "privileges": ["all"]}]}}]
READ_LOGS = {"logs": {"indices": [{"names": ["logs-*"], "privileges": ["read"]}]}}


def role(cluster=(), indices=(), run_as=(), applications=()):
    return {"cluster": list(cluster), "indices": list(indices), "run_as": list(run_as),
            "applications": list(applications)}


def test_key_limited_to_reading_logs_under_an_all_powerful_owner():
    key = effective_key_permission(READ_LOGS, OWNER_ALL)
    assert isinstance(key, LimitedPermission)
    assert key.check_index("logs-1", "read")
    assert not key.check_index("logs-1", "write")
    assert not key.check_index("metrics-1", "read")
    assert not key.check_cluster("monitor")
    assert key.cluster_privileges() == frozenset({"none"})


def test_key_without_descriptors_has_its_owners_permission():
    key = effective_key_permission({}, OWNER_ALL)
    assert isinstance(key, Permission)
    assert key.check_index("metrics-1", "write")
    assert key.check_cluster("manage_security")
    assert key.cluster_privileges() == frozenset(CLUSTER_PRIVILEGES)


def test_key_cannot_exceed_its_owner():
    owner = [{"r": role(["manage_own_api_key"], [{"names": ["logs-*"], "privileges": ["read"]}])}]
    key = effective_key_permission({"k": role(["all"], [{"names": ["*"], "privileges": ["all"]}])}, owner)
    assert key.check_cluster("manage_own_api_key")
    assert key.check_cluster(SECURITY + "api_key/create")
    assert not key.check_cluster("manage_api_key")
    assert key.check_index("logs-a", "read") and not key.check_index("logs-a", "index")
    assert key.cluster_privileges() == frozenset({"manage_own_api_key", "none"})


def test_derived_key_with_an_empty_descriptor_grants_nothing():
    key = effective_key_permission({"nothing": {}}, OWNER_ALL)
    assert not key.check_cluster("monitor")
    assert not key.check_index("logs-1", "read")


def test_cross_cluster_key_grants_nothing_on_the_rest_interface():
    cross = {"cross_cluster": role(cluster=["cross_cluster_search"],
                                   indices=[{"names": ["*"], "privileges": ["read"]}])}
    key = effective_key_permission(cross, None)
    assert not key.check_index("logs", "read") and not key.check_cluster("cross_cluster_search")


@pytest.mark.parametrize(("roles", "count"), [
    ({"a": role(["all"]), "b": role(["monitor"])}, 2),
    ({"cluster": role(["all"])}, 1),  # a role may be named like a descriptor field
    ({}, 0), (None, 0), ("garbage", 0), ({"a": "x", "b": None}, 0),
])
def test_a_role_map_is_read_as_roles_whatever_they_are_called(roles, count):
    assert len(role_map_descriptors(roles)) == count
    assert Permission.of_roles(roles).check_cluster("all") is (count > 0)


@pytest.mark.parametrize(("limited_by", "count"), [
    ([{"a": role(["all"]), "b": role(["monitor"])}], 2),  # Elasticsearch's limited_by
    ([{"indices": role(["all"])}, {"metadata": role(["monitor"])}], 2),
    ([role(["all"])], 0),  # one descriptor where role maps belong: its fields are no roles, so nothing
    ([], 0), (None, 0), ({"a": role(["all"])}, 0), ([1, None, "x"], 0),
])
def test_an_owner_snapshot_is_a_list_of_role_maps(limited_by, count):
    assert len(snapshot_descriptors(limited_by)) == count
    assert Permission(snapshot_descriptors(limited_by)).check_cluster("all") is (count > 0)


def test_a_permission_is_built_from_a_list_or_explicitly_from_a_role_map():
    with pytest.raises(TypeError):
        Permission({"cluster": ["all"]})  # one descriptor or a role map? Not guessed
    assert Permission([{"cluster": ["all"]}]).check_cluster("all")
    assert Permission.of_roles({"cluster": {"cluster": ["all"]}}).check_cluster("all")


@pytest.mark.parametrize("name", ["cluster", "indices", "index", "run_as", "applications", "metadata",
                                  "global", "remote_indices", "restriction", "description", "type"])
def test_roles_and_key_descriptors_named_like_descriptor_fields_keep_their_privileges(name):
    granted = {name: role(["manage_own_api_key"], [{"names": ["logs-*"], "privileges": ["read"]}])}
    assert Permission.of_roles(granted).cluster_privileges() == {"manage_own_api_key", "none"}
    key = effective_key_permission(granted, [granted])
    assert key.cluster_privileges() == {"manage_own_api_key", "none"}
    assert key.check_index("logs-1", "read") and not key.check_index("logs-1", "write")
    narrower = effective_key_permission({name: role(indices=[{"names": ["logs-1"], "privileges": ["read"]}])},
                                        [granted])
    assert narrower.check_index("logs-1", "read") and not narrower.check_index("logs-2", "read")
    assert not narrower.check_cluster("manage_own_api_key")


def test_cluster_checks_follow_implication_and_actions():
    admin = Permission([role(["manage_security"])])
    assert admin.check_cluster("manage_api_key") and admin.check_cluster("MANAGE_OWN_API_KEY")
    assert admin.check_cluster("read_security") and not admin.check_cluster("manage")
    assert admin.check_cluster(SECURITY + "cross_cluster/api_key/create")
    assert admin.check_cluster(SECURITY + "api_key/*")
    assert not admin.check_cluster("cluster:admin/xpack/license/start_trial")
    viewer = Permission([role(["read_security"])])
    assert viewer.check_cluster(SECURITY + "api_key/get")
    assert not viewer.check_cluster(SECURITY + "api_key/create")
    ops = Permission([role(["manage"])])
    assert ops.check_cluster("monitor") and not ops.check_cluster("manage_own_api_key")
    assert ops.check_cluster("cluster:admin/xpack/license/start_trial")


def test_action_patterns_as_held_cluster_privileges():
    keys_only = Permission([role(["cluster:admin/xpack/security/api_key/*"])])
    assert keys_only.check_cluster(SECURITY + "api_key/invalidate")
    assert keys_only.check_cluster("manage_api_key") and keys_only.check_cluster("manage_own_api_key")
    assert not keys_only.check_cluster("manage_security")
    assert not keys_only.check_cluster(SECURITY + "role/put")
    exact = Permission([role(["cluster:monitor/main"])])
    assert exact.check_cluster("cluster:monitor/main") and not exact.check_cluster("cluster:monitor/health")
    assert Permission([role(["cluster:admin/xpack/security/*"])]).cluster_privileges() >= {
        "manage_security", "manage_api_key", "read_security"}


def test_unknown_cluster_privileges_are_refused_with_the_elasticsearch_message():
    with pytest.raises(DescriptorError) as caught:
        Permission([]).check_cluster("Bogus")
    assert caught.value.type == "illegal_argument_exception"
    assert caught.value.reason == unknown_cluster_privilege_message("bogus")
    with pytest.raises(DescriptorError):
        Permission([]).check_cluster(None)
    with pytest.raises(DescriptorError):
        Permission([]).check_index("logs", "reed")


def test_stored_unknown_names_grant_nothing():
    permission = Permission([role(["bogus"], [{"names": ["*"], "privileges": ["reed"]}])])
    assert not permission.check_cluster("monitor") and not permission.check_index("a", "read")
    assert permission.check_cluster("none") and permission.cluster_privileges() == frozenset({"none"})


@pytest.mark.parametrize(("names", "index", "expected"), [
    (["logs-*"], "logs-2024.01", True),
    (["logs-*"], "metrics", False),
    (["logs-?"], "logs-1", True),
    (["logs-?"], "logs-10", False),
    (["/logs-[0-9]{4}/"], "logs-2024", True),
    (["/logs-[0-9]{4}/"], "logs-20245", False),
    (["metrics", "logs"], "logs", True),
    (["*"], ".security-7", False),
    ([".security*"], ".security", False),
    (["/.*/"], ".security-tokens-7", False),
])
def test_index_name_patterns(names, index, expected):
    permission = Permission([role(indices=[{"names": names, "privileges": ["read"]}])])
    assert permission.check_index(index, "read") is expected


def test_restricted_indices_need_allow_restricted_indices():
    assert is_restricted_index(".security") and is_restricted_index(".security-7")
    assert not is_restricted_index(".kibana") and not is_restricted_index("security")
    allowed = Permission([role(indices=[{"names": ["*"], "privileges": ["all"],
                                         "allow_restricted_indices": True}])])
    assert allowed.check_index(".security-7", "read") and allowed.check_index(".kibana", "write")
    plain = Permission([role(indices=[{"names": ["*"], "privileges": ["all"]}])])
    assert plain.check_index(".kibana", "write") and not plain.check_index(".security-7", "read")


def test_index_privileges_by_implication_and_by_action():
    permission = Permission([role(indices=[
        {"names": ["logs-*"], "privileges": ["write", "view_index_metadata"]},
        {"names": ["*"], "privileges": ["indices:data/read/*"]},
    ])])
    assert permission.check_index("logs-1", "create_doc") and permission.check_index("logs-1", "index")
    assert not permission.check_index("logs-1", "manage")
    assert permission.check_index("logs-1", "indices:data/write/bulk")
    assert permission.check_index("other", "indices:data/read/search")
    assert not permission.check_index("other", "read")  # read also includes index resolution
    assert permission.check_index("logs-1", "READ") is False


def test_run_as_and_applications():
    permission = Permission([role(run_as=["svc-*", "bob"], applications=[{
        "application": "kibana-*", "privileges": ["read", "feature_*"],
        "resources": ["space:default", "space:o*"],
    }])])
    assert permission.check_run_as("svc-ingest") and permission.check_run_as("bob")
    assert not permission.check_run_as("alice") and not permission.check_run_as(None)
    # Privilege names stand for their stored actions (tests/unit/test_application_permission.py has the rules).
    stored = StoredPrivileges(actions={"kibana-.kibana": {"read": ["feature_x/read"], "all": ["*"]}},
                              defined_by={"read": frozenset({"kibana-.kibana"})})
    assert permission.check_application("kibana-.kibana", "read", "space:default", stored)
    assert permission.check_application("kibana-.kibana", "feature_discover/all", "space:ops", stored)
    assert not permission.check_application("kibana-.kibana", "all", "space:default", stored)
    assert not permission.check_application("other", "read", "space:default", stored)
    assert not permission.check_application("kibana-.kibana", "read", "space:*", stored)
    assert not permission.check_application("kibana-.kibana", "read", "space:default")  # nothing stored


# ---------------------------------------------------------------- _has_privileges
def test_has_privileges_body_shape():
    key = effective_key_permission(READ_LOGS, OWNER_ALL)
    body = has_privileges(key, ["monitor"],
                          [{"names": ["logs-*", "logs-1"], "privileges": ["read", "write"]}])
    assert body == {
        "has_all_requested": False,
        "cluster": {"monitor": False},
        "index": {"logs-*": {"read": True, "write": False}, "logs-1": {"read": True, "write": False}},
        "application": {},
    }
    assert has_privileges(key, index=[{"names": "logs-a", "privileges": ["read"]}]) == {
        "has_all_requested": True, "cluster": {}, "index": {"logs-a": {"read": True}}, "application": {}}


@pytest.mark.parametrize(("granted", "requested", "expected"), [
    ("logs-*", "logs-*", True),
    ("*", "logs-*", True),
    ("log*", "logs-*", True),
    ("logs-a*", "logs-*", False),
    ("logs-*", "log*", False),
    ("logs-*", "logs-2024-*", True),
    ("/logs-.*/", "logs-1", True),
    ("/logs-.*/", "logs-*", False),
])
def test_requested_patterns_must_be_covered(granted, requested, expected):
    permission = Permission([role(indices=[{"names": [granted], "privileges": ["read"]}])])
    body = has_privileges(permission, index=[{"names": [requested], "privileges": ["read"]}])
    assert body["index"][requested]["read"] is expected
    assert body["has_all_requested"] is expected


def test_has_privileges_and_restricted_indices():
    plain = Permission([role(indices=[{"names": ["*"], "privileges": ["read"]}])])
    allowed = Permission([role(indices=[{"names": ["*"], "privileges": ["read"],
                                         "allow_restricted_indices": True}])])
    star = [{"names": ["*"], "privileges": ["read"]}]
    star_restricted = [{"names": ["*"], "privileges": ["read"], "allow_restricted_indices": True}]
    assert has_privileges(plain, index=star)["has_all_requested"]
    assert not has_privileges(plain, index=star_restricted)["has_all_requested"]
    assert has_privileges(allowed, index=star_restricted)["has_all_requested"]
    security_index = [{"names": [".security-7"], "privileges": ["read"]}]
    assert not has_privileges(plain, index=security_index)["has_all_requested"]
    assert has_privileges(allowed, index=security_index)["has_all_requested"]
    # a pattern wholly inside the restricted namespace, without allow_restricted_indices: nothing to check
    inside = [{"names": [".security-*"], "privileges": ["read"]}]
    assert has_privileges(Permission([]), index=inside)["has_all_requested"]


def test_has_privileges_merges_repeated_names_and_covers_applications():
    permission = Permission([role(["monitor"], [{"names": ["logs-*"], "privileges": ["read"]}], applications=[
        {"application": "app", "privileges": ["read"], "resources": ["doc/*"]}])])
    body = has_privileges(
        permission, ["monitor", "cluster:monitor/health", "manage"],
        [{"names": ["logs-1"], "privileges": ["read"]},
         {"names": "logs-1", "privileges": ["read", "delete"]}],
        [{"application": "app", "privileges": ["read", "write"], "resources": ["doc/1", "other"]}])
    assert body["cluster"] == {"monitor": True, "cluster:monitor/health": True, "manage": False}
    assert body["index"] == {"logs-1": {"read": True, "delete": False}}
    assert body["application"] == {"app": {"doc/1": {"read": True, "write": False},
                                           "other": {"read": False, "write": False}}}
    assert body["has_all_requested"] is False


def test_has_privileges_with_a_limited_permission_needs_both():
    owner = [{"r": role(["manage_own_api_key"], [{"names": ["*"], "privileges": ["read"]}])}]
    assigned = {"k": role(["all"], [{"names": ["logs-*"], "privileges": ["all"]}])}
    key = effective_key_permission(assigned, owner)
    body = has_privileges(key, ["manage_own_api_key", "manage_api_key"],
                          [{"names": ["logs-*"], "privileges": ["read", "write"]},
                           {"names": ["m"], "privileges": ["read"]}])
    assert body["cluster"] == {"manage_own_api_key": True, "manage_api_key": False}
    assert body["index"] == {"logs-*": {"read": True, "write": False}, "m": {"read": False}}


@pytest.mark.parametrize(("arguments", "type_", "reason"), [
    ({}, "action_request_validation_exception", "Validation Failed: 1: must specify at least one privilege;"),
    ({"cluster": ["bogus"]}, "illegal_argument_exception", unknown_cluster_privilege_message("bogus")),
    ({"index": [{"names": ["a"], "privileges": ["reed"]}]}, "illegal_argument_exception", None),
    ({"cluster": [1]}, "parse_exception", None),
    ({"cluster": {"a": 1}}, "parse_exception", None),
    ({"index": [{"names": 5, "privileges": ["read"]}]}, "parse_exception", None),
    ({"application": [{"privileges": ["read"], "resources": ["*"]}]}, "illegal_argument_exception",
     "application privileges must have an application name"),
])
def test_has_privileges_errors(arguments, type_, reason):
    with pytest.raises(DescriptorError) as caught:
        has_privileges(Permission([]), **arguments)
    assert caught.value.type == type_
    if reason:
        assert caught.value.reason == reason
    else:
        assert caught.value.reason


# ---- property: what a role map grants doesn't depend on what its roles are called ---------------------------
# Names drawn from the fields a descriptor can have: a reader that guesses by shape mistakes such a map for one
# descriptor, and the roles then grant nothing.
FIELD_NAMES = ["cluster", "indices", "index", "applications", "application", "run_as", "global", "metadata",
               "transient_metadata", "remote_indices", "remote_cluster", "restriction", "description", "type"]
INDICES = ["logs-1", "metrics-1", ".security-7", "other"]
_descriptor_bodies = st.fixed_dictionaries({
    "cluster": st.lists(st.sampled_from(["all", "monitor", "manage_own_api_key", "manage_security", "none"]),
                        max_size=3, unique=True),
    "indices": st.lists(st.fixed_dictionaries({
        "names": st.lists(st.sampled_from(["logs-*", "metrics-1", "*", ".security*"]), min_size=1, max_size=2),
        "privileges": st.lists(st.sampled_from(["read", "write", "all"]), min_size=1, max_size=2)}), max_size=2),
})
_role_maps = st.dictionaries(st.sampled_from(FIELD_NAMES) | st.sampled_from(["r1", "r2", "logs"]),
                             _descriptor_bodies, min_size=1, max_size=4)


def _grants(permission):
    return (permission.cluster_privileges(),
            {(index, privilege): permission.check_index(index, privilege)
             for index in INDICES for privilege in ("read", "write")})


@given(roles=_role_maps, owner=_role_maps)
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_role_names_never_change_what_roles_and_keys_grant(roles, owner):
    renamed = {f"role-{number}": descriptor for number, descriptor in enumerate(roles.values())}
    owner_renamed = {f"owner-{number}": descriptor for number, descriptor in enumerate(owner.values())}
    assert _grants(Permission.of_roles(roles)) == _grants(Permission.of_roles(renamed))
    assert _grants(Permission.of_roles(roles)) == _grants(Permission(list(roles.values())))
    parsed = parse_role_descriptors(roles, for_api_key=True)  # a key request's role_descriptors, as stored
    assert _grants(effective_key_permission(parsed, [owner])) == _grants(
        effective_key_permission(renamed, [owner_renamed]))
    assert _grants(effective_key_permission({}, [owner])) == _grants(Permission.of_roles(owner_renamed))
