"""Cross-cluster `access` and `_has_privileges` request bodies."""

import pytest

from webapp.security.descriptors.roles import (
    DescriptorError,
    access_to_role_descriptor,
    parse_access,
    parse_has_privileges_request,
)

CC = "failed to parse indices privileges for role [cross_cluster]"
ACCESS = "[cross_cluster_api_key_request_access]"
NON_EMPTY = "must specify non-empty access for either [search] or [replication]"
SEARCH_DLS = "search does not support document or field level security if replication is assigned"
REPLICATION = ["cross_cluster_replication", "cross_cluster_replication_internal"]
CHECK = "failed to parse privileges check [alice]"


def test_search_only_access():
    access = parse_access({"search": [{"names": ["logs-*"], "query": {"term": {"tag": 42}},
                                       "field_security": {"grant": ["*"], "except": ["secret"]}}]})
    assert access == {"search": [{
        "names": ["logs-*"], "field_security": {"grant": ["*"], "except": ["secret"]},
        "query": '{"term":{"tag":42}}', "allow_restricted_indices": False,
    }]}
    assert access_to_role_descriptor(access) == {
        "cluster": ["cross_cluster_search", "monitor_enrich"],
        "indices": [{"names": ["logs-*"], "privileges": ["read", "read_cross_cluster", "view_index_metadata"],
                     "field_security": {"grant": ["*"], "except": ["secret"]}, "query": '{"term":{"tag":42}}',
                     "allow_restricted_indices": False}],
        "applications": [], "run_as": [], "metadata": {}, "transient_metadata": {"enabled": True},
    }


def test_replication_only_access():
    access = parse_access({"replication": [{"names": "archive", "allow_restricted_indices": True}]})
    assert access == {"replication": [{"names": ["archive"], "allow_restricted_indices": True}]}
    descriptor = access_to_role_descriptor(access)
    assert descriptor["cluster"] == ["cross_cluster_replication"]
    assert descriptor["indices"] == [{"names": ["archive"], "privileges": REPLICATION,
                                      "allow_restricted_indices": True}]


def test_search_and_replication_access():
    # a single object is taken as a list of one
    access = parse_access({"search": [{"names": ["metrics"]}, {"names": ["logs"]}],
                           "replication": {"names": ["archive"]}})
    descriptor = access_to_role_descriptor(access)
    assert descriptor["cluster"] == ["cross_cluster_search", "monitor_enrich", "cross_cluster_replication"]
    assert [entry["names"] for entry in descriptor["indices"]] == [["metrics"], ["logs"], ["archive"]]
    assert descriptor["indices"][2]["privileges"] == REPLICATION


@pytest.mark.parametrize(("body", "type_", "reason", "detail"), [
    ({}, "illegal_argument_exception", NON_EMPTY, None),
    ({"search": [], "replication": []}, "illegal_argument_exception", NON_EMPTY, None),
    ({"search": [{"names": ["a"], "query": {"match_all": {}}}], "replication": [{"names": ["b"]}]},
     "illegal_argument_exception", SEARCH_DLS, None),
    ({"search": [{"names": ["a"], "field_security": {"grant": ["f"]}}], "replication": [{"names": ["b"]}]},
     "illegal_argument_exception", SEARCH_DLS, None),
    ({"replication": [{"names": ["b"], "query": "{}"}]}, "illegal_argument_exception",
     "replication does not support document or field level security", None),
    ({"search": None}, "x_content_parse_exception",
     f"{ACCESS} search doesn't support values of type: VALUE_NULL", None),
    ({"read": []}, "x_content_parse_exception", f"{ACCESS} unknown field [read]", None),
    ([], "x_content_parse_exception",
     "[cross_cluster_api_key_request] access doesn't support values of type: START_ARRAY", None),
    ({"search": [{"names": ["a"], "privileges": ["read"]}]}, "x_content_parse_exception",
     f"{ACCESS} failed to parse field [search]", f"{CC}. field [privileges] must not present"),
    ({"replication": [{}]}, "x_content_parse_exception",
     f"{ACCESS} failed to parse field [replication]", f"{CC}. missing required [names] field"),
    ({"search": ["logs"]}, "x_content_parse_exception", f"{ACCESS} failed to parse field [search]",
     f"{CC}. expected field [search] value to be an array of objects, but found an array element of type "
     "[VALUE_STRING]"),
])
def test_access_errors(body, type_, reason, detail):
    with pytest.raises(DescriptorError) as caught:
        parse_access(body)
    assert (caught.value.type, caught.value.reason) == (type_, reason)
    assert caught.value.detail == (detail or reason)


def test_field_security_granting_everything_is_not_field_level_security():
    access = parse_access({"search": [{"names": ["a"], "field_security": {"grant": ["*"]}}],
                           "replication": [{"names": ["b"]}]})
    assert access["search"][0]["field_security"] == {"grant": ["*"]}


def test_has_privileges_request_is_normalized():
    request = parse_has_privileges_request({
        "cluster": ["monitor"],
        "index": [{"names": "logs-*", "privileges": ["read"]}],
        "application": [{"application": "app", "privileges": "read", "resources": ["*"]}],
    }, username="alice")
    assert request == {
        "cluster": ["monitor"],
        "index": [{"names": ["logs-*"], "privileges": ["read"], "allow_restricted_indices": False}],
        "application": [{"application": "app", "privileges": ["read"], "resources": ["*"]}],
    }
    assert parse_has_privileges_request({"cluster": ["all"]}) == {"cluster": ["all"], "index": [],
                                                                  "application": []}


@pytest.mark.parametrize(("body", "type_", "reason"), [
    ([], "parse_exception", f"{CHECK}. expected an object but found [START_ARRAY] instead"),
    ({}, "parse_exception", f"{CHECK}. All privilege fields [cluster,index,application] are missing"),
    ({"cluster": None}, "parse_exception",
     f"{CHECK}. All privilege fields [cluster,index,application] are missing"),
    ({"indices": []}, "parse_exception", f"{CHECK}. unexpected field [indices]"),
    ({"cluster": [], "index": []}, "action_request_validation_exception",
     "Validation Failed: 1: must specify at least one privilege;"),
    ({"index": [{"names": ["a"], "privileges": ["read"], "query": "{}"}]}, "parse_exception",
     "Field [query] is not supported in a has_privileges request"),
    ({"index": [{"names": ["a"], "privileges": ["read"], "field_security": {"grant": ["f"]}}]},
     "parse_exception", "Field [field_security] is not supported in a has_privileges request"),
    ({"index": [{"names": ["a"]}]}, "parse_exception",
     "failed to parse indices privileges for role [alice]. missing required [privileges] field"),
    ({"application": [{"application": "*", "privileges": ["p"], "resources": ["r"]}]},
     "action_request_validation_exception",
     "Validation Failed: 1: Application names may not contain '*' (found '*');"),
])
def test_has_privileges_request_errors(body, type_, reason):
    with pytest.raises(DescriptorError) as caught:
        parse_has_privileges_request(body, username="alice")
    assert (caught.value.type, caught.value.reason) == (type_, reason)


@pytest.mark.parametrize("value", [None, 1, "x", [], [None], [1], {}, {"names": None}, [{"names": {}}], True])
def test_garbage_access_and_checks_raise_descriptor_errors_only(value):
    for body in (value, {"search": value}, {"replication": [value]}):
        with pytest.raises(DescriptorError):
            parse_access(body)
    try:
        # only the string "x" is a valid value here
        assert parse_access({"search": [{"names": value}]})["search"][0]["names"] == [value]
    except DescriptorError as error:
        assert error.reason
    for body in (value, {"cluster": value, "index": value}, {"index": [value]}, {"application": [value]},
                 {"application": [{"application": "a", "privileges": value, "resources": value}]}):
        try:
            parse_has_privileges_request(body)
        except DescriptorError as error:
            assert error.reason
