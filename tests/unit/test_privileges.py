"""The privilege catalogue: names, implication, the actions each privilege grants, messages."""

import itertools

import pytest

from webapp.security import catalogue
from webapp.security.privileges import (
    ACTIONS,
    CLUSTER_PRIVILEGE_DESCRIPTIONS,
    CLUSTER_PRIVILEGES,
    CLUSTER_PRIVILEGES_BY_ACCESS_LEVEL,
    INDEX_PRIVILEGES,
    REMOTE_CLUSTER_PRIVILEGES,
    _grant_covers,
    cluster_action_granted_by,
    cluster_privilege_implies,
    describe_cluster_privilege,
    granting_privileges,
    implied_cluster_privileges,
    implied_index_privileges,
    index_action_granted_by,
    index_privilege_implies,
    is_cluster_action,
    is_cluster_privilege_name,
    is_index_action,
    is_index_privilege_name,
    unknown_cluster_privilege_message,
    unknown_index_privilege_message,
)

SECURITY = "cluster:admin/xpack/security/"

# GET /_security/privilege/_builtin (reference §7.2)
BUILTIN_CLUSTER = """all cancel_task create_snapshot cross_cluster_replication cross_cluster_search
delegate_pki grant_api_key manage manage_api_key manage_autoscaling manage_behavioral_analytics manage_ccr
manage_connector manage_data_frame_transforms manage_data_stream_global_retention manage_enrich manage_ilm
manage_index_templates manage_inference manage_ingest_pipelines manage_logstash_pipelines manage_ml
manage_oidc manage_own_api_key manage_pipeline manage_rollup manage_saml manage_search_application
manage_search_query_rules manage_search_synonyms manage_security manage_service_account manage_slm
manage_token manage_transform manage_user_profile manage_watcher monitor monitor_connector
monitor_data_frame_transforms monitor_data_stream_global_retention monitor_enrich monitor_inference
monitor_ml monitor_rollup monitor_snapshot monitor_stats monitor_text_structure monitor_transform
monitor_watcher none post_behavioral_analytics_event read_ccr read_connector_secrets read_fleet_secrets
read_ilm read_pipeline read_security read_slm transport_client write_connector_secrets
write_fleet_secrets""".split()
BUILTIN_INDEX = """all auto_configure create create_doc create_index cross_cluster_replication
cross_cluster_replication_internal delete delete_index index maintenance manage manage_data_stream_lifecycle
manage_follow_index manage_ilm manage_leader_index monitor none read read_cross_cluster read_failures
view_index_metadata write""".split()


def test_catalogue_lists_the_builtin_names():
    assert CLUSTER_PRIVILEGES == tuple(BUILTIN_CLUSTER)
    assert INDEX_PRIVILEGES == tuple(BUILTIN_INDEX)
    assert REMOTE_CLUSTER_PRIVILEGES == ("monitor_enrich", "monitor_stats")


CLUSTER_IMPLIES = [
    ("all", "manage_security"), ("all", "manage"), ("all", "monitor_stats"), ("all", "none"),
    ("manage_security", "manage_api_key"), ("manage_security", "manage_own_api_key"),
    ("manage_security", "read_security"), ("manage_security", "manage_service_account"),
    ("manage_security", "manage_user_profile"), ("manage_security", "manage_token"),
    ("manage_security", "grant_api_key"), ("manage_security", "manage_oidc"),
    ("manage_security", "delegate_pki"),
    ("manage_api_key", "manage_own_api_key"), ("manage_api_key", "grant_api_key"),
    ("manage", "monitor"), ("manage", "monitor_ml"), ("manage", "manage_ilm"), ("manage", "read_ilm"),
    ("manage", "manage_index_templates"), ("manage", "cross_cluster_search"), ("manage", "transport_client"),
    ("monitor", "monitor_ml"), ("monitor", "monitor_watcher"), ("monitor", "monitor_stats"),
    ("monitor", "monitor_transform"), ("monitor", "transport_client"),
    ("manage_transform", "manage_data_frame_transforms"),
    ("manage_data_frame_transforms", "manage_transform"),
    ("manage_ingest_pipelines", "read_pipeline"), ("manage_ccr", "read_ccr"),
    ("create_snapshot", "monitor_snapshot"),
    ("manage_own_api_key", "manage_own_api_key"), ("read_security", "none"),
]
CLUSTER_DOES_NOT_IMPLY = [
    ("manage", "manage_security"), ("manage", "manage_api_key"), ("manage", "manage_own_api_key"),
    ("manage", "read_security"), ("manage", "grant_api_key"), ("manage", "manage_token"),
    ("manage", "read_ccr"), ("manage", "all"), ("manage_security", "all"), ("manage_security", "manage"),
    ("manage_security", "manage_saml"),
    ("manage_api_key", "manage_security"), ("manage_api_key", "read_security"),
    ("manage_own_api_key", "manage_api_key"), ("manage_own_api_key", "grant_api_key"),
    ("read_security", "manage_own_api_key"), ("grant_api_key", "manage_own_api_key"),
    ("monitor", "monitor_enrich"), ("monitor", "monitor_snapshot"), ("monitor", "manage"),
    ("monitor_ml", "monitor"), ("none", "monitor"), ("none", "manage_own_api_key"),
]


@pytest.mark.parametrize(("held", "wanted"), CLUSTER_IMPLIES)
def test_cluster_implication(held, wanted):
    assert cluster_privilege_implies(held, wanted)
    assert wanted in implied_cluster_privileges(held)


@pytest.mark.parametrize(("held", "wanted"), CLUSTER_DOES_NOT_IMPLY)
def test_cluster_non_implication(held, wanted):
    assert not cluster_privilege_implies(held, wanted)
    assert wanted not in implied_cluster_privileges(held)


INDEX_IMPLIES = [
    ("all", "read"), ("all", "read_failures"), ("all", "manage"),
    ("all", "cross_cluster_replication_internal"), ("manage", "create_index"), ("manage", "delete_index"),
    ("manage", "view_index_metadata"), ("manage", "monitor"),
    ("manage", "manage_ilm"), ("manage", "manage_data_stream_lifecycle"), ("manage", "maintenance"),
    ("manage", "auto_configure"), ("write", "index"), ("write", "create"), ("write", "create_doc"),
    ("write", "delete"), ("index", "create"), ("index", "create_doc"), ("create", "create_doc"),
    ("read", "none"),
]
INDEX_DOES_NOT_IMPLY = [
    ("read", "read_cross_cluster"), ("read", "read_failures"), ("read", "view_index_metadata"),
    ("manage", "read"), ("manage", "write"), ("write", "read"), ("write", "auto_configure"),
    ("index", "delete"), ("create", "index"),
    ("create_doc", "create"), ("view_index_metadata", "read"), ("none", "read"), ("manage", "all"),
]


@pytest.mark.parametrize(("held", "wanted"), INDEX_IMPLIES)
def test_index_implication(held, wanted):
    assert index_privilege_implies(held, wanted)
    assert wanted in implied_index_privileges(held)


@pytest.mark.parametrize(("held", "wanted"), INDEX_DOES_NOT_IMPLY)
def test_index_non_implication(held, wanted):
    assert not index_privilege_implies(held, wanted)


def test_all_implies_everything_and_none_nothing():
    assert implied_cluster_privileges("all") == frozenset(CLUSTER_PRIVILEGES)
    assert implied_index_privileges("all") == frozenset(INDEX_PRIVILEGES)
    assert implied_cluster_privileges("none") == frozenset({"none"})
    assert implied_index_privileges("none") == frozenset({"none"})
    for name in CLUSTER_PRIVILEGES:
        assert {name, "none"} <= implied_cluster_privileges(name)


def test_implication_ignores_case_and_rejects_unknown_names():
    assert cluster_privilege_implies("MANAGE_SECURITY", "Manage_Api_Key")
    assert implied_cluster_privileges("bogus") == frozenset()
    assert not cluster_privilege_implies("bogus", "none")
    assert not cluster_privilege_implies("all", "bogus")
    assert not index_privilege_implies(None, "read")


def test_cluster_table_agrees_with_the_actions_each_privilege_grants():
    patterns = catalogue.CLUSTER_ACTION_PATTERNS
    disagreements = [
        (held, wanted)
        for held, wanted in itertools.permutations(catalogue.CLUSTER_PRIVILEGE_NAMES, 2)
        if (wanted in implied_cluster_privileges(held)) != _grant_covers(patterns[held], patterns[wanted][0])
    ]
    assert disagreements == []


def test_index_table_agrees_with_the_actions_each_privilege_grants():
    disagreements = [
        (held, wanted)
        for held, wanted in itertools.permutations(catalogue.INDEX_PRIVILEGE_NAMES, 2)
        if (wanted in implied_index_privileges(held))
        != _grant_covers((catalogue.INDEX_ACTION_PATTERNS[held], ()), catalogue.INDEX_ACTION_PATTERNS[wanted])
    ]
    assert disagreements == []


def test_action_patterns_are_valid_privileges():
    assert is_cluster_action("cluster:admin/xpack/security/*")
    assert is_cluster_action("cluster:monitor/*")
    assert is_cluster_action("CLUSTER:monitor/main")
    assert is_cluster_action("indices:admin/template/put")
    assert not is_cluster_action("indices:data/read/*")
    assert not is_cluster_action("manage")
    assert is_index_action("indices:data/read/*")
    assert is_index_action("internal:transport/proxy/indices:data/read/search")
    assert not is_index_action("cluster:monitor/*")
    assert is_cluster_privilege_name("Manage_Own_Api_Key") and not is_cluster_privilege_name("read")
    assert is_index_privilege_name("read") and not is_index_privilege_name("manage_security")
    assert not is_cluster_privilege_name(None) and not is_index_action(42)


@pytest.mark.parametrize(("held", "wanted", "expected"), [
    ("cluster:admin/xpack/security/*", "manage_security", True),
    ("cluster:admin/xpack/security/*", "manage_api_key", True),
    ("cluster:admin/xpack/security/api_key/*", "manage_own_api_key", True),
    ("cluster:admin/xpack/security/api_key/*", "manage_security", False),
    ("cluster:monitor/*", "monitor_ml", True),
    ("cluster:monitor/*", "monitor", False),  # monitor also reads index templates
    ("manage_security", "cluster:admin/xpack/security/api_key/*", True),
    ("manage_own_api_key", "cluster:admin/xpack/security/api_key/create", True),
    ("manage_own_api_key", "cluster:admin/xpack/security/api_key/grant", False),
    ("manage", "cluster:admin/xpack/ml/*", True),
    ("manage", "cluster:admin/xpack/security/user/get", False),
    ("monitor", "cluster:admin/*", False),
    ("cluster:admin/*", "cluster:admin/xpack/*", True),
    ("cluster:admin/xpack/*", "cluster:admin/*", False),
])
def test_action_pattern_implication(held, wanted, expected):
    assert cluster_privilege_implies(held, wanted) is expected


def test_index_action_pattern_implication():
    assert index_privilege_implies("indices:data/read/*", "read") is False  # read also resolves indices
    assert index_privilege_implies("indices:data/write/*", "create_doc")
    assert index_privilege_implies("read", "indices:data/read/search")
    assert not index_privilege_implies("read", "indices:data/write/index")


def test_actions_table_in_elasticsearch_order():
    assert ACTIONS[SECURITY + "api_key/create"] == (
        "manage_own_api_key", "manage_api_key", "manage_security", "all")
    assert ACTIONS[SECURITY + "api_key/get"] == (
        "manage_own_api_key", "read_security", "manage_api_key", "manage_security", "all")
    assert ACTIONS[SECURITY + "api_key/query"] == ACTIONS[SECURITY + "api_key/get"]
    for verb in ("invalidate", "update", "bulk_update"):
        assert ACTIONS[SECURITY + "api_key/" + verb] == ACTIONS[SECURITY + "api_key/create"]
    assert ACTIONS[SECURITY + "api_key/grant"] == (
        "grant_api_key", "manage_api_key", "manage_security", "all")
    assert ACTIONS[SECURITY + "cross_cluster/api_key/create"] == ("manage_security", "all")
    assert ACTIONS[SECURITY + "cross_cluster/api_key/update"] == ("manage_security", "all")
    assert ACTIONS[SECURITY + "role/get"] == ("read_security", "manage_security", "all")
    assert ACTIONS[SECURITY + "role/put"] == ("manage_security", "all")
    assert ACTIONS[SECURITY + "user/get"] == ("read_security", "manage_security", "all")
    for verb in ("put", "delete", "change_password", "set_enabled", "authenticate"):
        assert ACTIONS[SECURITY + "user/" + verb] == ("manage_security", "all")
    assert ACTIONS[SECURITY + "user/has_privileges"] == (
        "read_ccr", "read_security", "manage_ccr", "manage_security", "all")
    assert ACTIONS["cluster:admin/xpack/license/start_trial"] == ("manage", "all")
    assert ACTIONS["cluster:monitor/xpack/license/get"] == ("monitor", "manage", "all")


def test_granting_privileges_for_other_peoples_keys_leaves_out_the_own_key_privilege():
    assert granting_privileges(SECURITY + "api_key/get", owner_scoped=False) == (
        "read_security", "manage_api_key", "manage_security", "all")
    assert granting_privileges(SECURITY + "api_key/create") == ACTIONS[SECURITY + "api_key/create"]
    assert granting_privileges("cluster:monitor/health") == ("monitor", "manage", "all")


@pytest.mark.parametrize(("privilege", "action", "expected"), [
    ("manage_own_api_key", SECURITY + "api_key/create", True),
    ("manage_own_api_key", SECURITY + "cross_cluster/api_key/create", False),
    ("manage_api_key", SECURITY + "api_key/invalidate", True),
    ("read_security", SECURITY + "api_key/invalidate", False),
    ("all", SECURITY + "role/put", True),
    ("manage", "cluster:admin/xpack/license/start_trial", True),
    ("manage", SECURITY + "role/put", False),
    ("monitor", "cluster:monitor/health", True),
    ("cluster:admin/xpack/security/api_key/*", SECURITY + "api_key/get", True),
    ("cluster:admin/xpack/security/api_key/create", SECURITY + "api_key/create", True),
    ("cluster:monitor/*", SECURITY + "api_key/get", False),
    ("bogus", SECURITY + "api_key/get", False),
])
def test_cluster_action_granted_by(privilege, action, expected):
    assert cluster_action_granted_by(privilege, action) is expected


def test_index_action_granted_by():
    assert index_action_granted_by("read", "indices:data/read/search")
    assert index_action_granted_by("indices:data/read/*", "indices:data/read/search")
    assert not index_action_granted_by("read", "indices:data/write/bulk")
    assert not index_action_granted_by("bogus", "indices:data/read/search")


def test_unknown_cluster_privilege_message():
    message = unknown_cluster_privilege_message("Bogus")
    names = ",".join(CLUSTER_PRIVILEGES_BY_ACCESS_LEVEL)
    assert message == (
        "unknown cluster privilege [bogus]. a privilege must be either one of the predefined cluster "
        f"privilege names [{names}] or a pattern over one of the available cluster actions"
    )
    assert CLUSTER_PRIVILEGES_BY_ACCESS_LEVEL[0] == "none"
    assert CLUSTER_PRIVILEGES_BY_ACCESS_LEVEL[-3:] == ("monitor", "manage", "all")
    assert sorted(CLUSTER_PRIVILEGES_BY_ACCESS_LEVEL) == sorted(CLUSTER_PRIVILEGES)


def test_unknown_index_privilege_message():
    assert unknown_index_privilege_message("reed") == (
        "unknown index privilege [reed]. a privilege must be either one of the predefined fixed indices "
        f"privileges [{','.join(BUILTIN_INDEX)}] or a pattern over one of the available index actions"
    )


def test_descriptions_for_the_privileges_keydesk_shows():
    for name in ("all", "manage_security", "manage_api_key", "manage_own_api_key", "read_security", "manage",
                 "monitor", "grant_api_key", "none"):
        text = CLUSTER_PRIVILEGE_DESCRIPTIONS[name]
        assert text and text.endswith(".") and text.count(". ") == 0
        assert describe_cluster_privilege(name.upper()) == text
    assert describe_cluster_privilege("manage_rollup") == ""
    assert set(CLUSTER_PRIVILEGE_DESCRIPTIONS) <= set(CLUSTER_PRIVILEGES)
