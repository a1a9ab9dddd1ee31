"""Role descriptors: role names, the canonical shape, and Elasticsearch's parse and validation messages."""

import pytest

from webapp.security.descriptors.roles import (
    DescriptorError,
    format_validation_failed,
    parse_role_descriptor,
    role_name_problem,
    validate_role_name,
)
from webapp.security.privileges import unknown_cluster_privilege_message, unknown_index_privilege_message

NAME_RULES = (
    "Role names must be at least 1 and no more than 507 characters. They can contain alphanumeric "
    "characters (a-z, A-Z, 0-9), spaces, punctuation, and printable symbols in the Basic Latin (ASCII) "
    "block. Leading or trailing whitespace is not allowed."
)
ODD_BUT_VALID = "~!@#$%^&*()_+{}|:\"<>?"


@pytest.mark.parametrize("name", ["r", "a" * 507, "my role", "ops:read-only/v2 (temp)", ODD_BUT_VALID])
def test_acceptable_role_names(name):
    assert role_name_problem(name) is None
    validate_role_name(name)


@pytest.mark.parametrize("name", ["", "a" * 508, " lead", "trail ", "tab\there", "é", "new\nline", 42])
def test_unacceptable_role_names(name):
    assert role_name_problem(name) == NAME_RULES
    with pytest.raises(DescriptorError) as caught:
        validate_role_name(name)
    assert caught.value.type == "action_request_validation_exception"
    assert caught.value.reason == f"Validation Failed: 1: {NAME_RULES};"
    assert caught.value.field == "name"


def test_missing_and_reserved_role_names():
    assert role_name_problem(None) == "role name is missing"
    assert role_name_problem("superuser", reserved_names={"superuser"}) == (
        "Role [superuser] is reserved and may not be used.")


def test_canonical_shape_and_key_order():
    role = parse_role_descriptor("logs_reader", {
        "description": "Reads logs",
        "metadata": {"team": "ops"},
        "run_as": ["svc"],
        "index": [{"privileges": ["read"], "names": "logs-*", "query": {"term": {"env": "prod"}},
                   "field_security": {"grant": ["*"], "except": ["secret"]}}],
        "cluster": ["monitor"],
        "transient_metadata": {"enabled": False},
        "application": [{"resources": ["*"], "application": "app", "privileges": "read"}],
        "global": {"profile": {"write": {"applications": ["kibana"]}},
                   "application": {"manage": {"applications": ["app*"]}}},
        "type": "role",
    })
    assert list(role) == ["cluster", "global", "indices", "applications", "run_as", "metadata",
                          "transient_metadata", "description"]
    assert role["indices"] == [{"names": ["logs-*"], "privileges": ["read"],
                                "field_security": {"grant": ["*"], "except": ["secret"]},
                                "query": '{"term":{"env":"prod"}}', "allow_restricted_indices": False}]
    assert role["applications"] == [{"application": "app", "privileges": ["read"], "resources": ["*"]}]
    assert list(role["global"]) == ["application", "profile"]
    assert role["transient_metadata"] == {"enabled": True}


def test_defaults_for_an_empty_descriptor():
    assert parse_role_descriptor("empty", {}) == {
        "cluster": [], "indices": [], "applications": [], "run_as": [], "metadata": {},
        "transient_metadata": {"enabled": True},
    }
    assert parse_role_descriptor("nulls", {"cluster": None, "run_as": None})["cluster"] == []


def test_queries_as_strings_and_empty_ones():
    def index_entry(**extra):
        body = {"indices": [{"names": ["a"], "privileges": ["read"], **extra}]}
        return parse_role_descriptor("r", body)["indices"][0]

    assert index_entry(query='{"match_all":{}}')["query"] == '{"match_all":{}}'
    assert "query" not in index_entry(query="")
    assert "query" not in index_entry(query=None)


def test_remote_parts_and_restriction():
    key = parse_role_descriptor("k", {
        "remote_indices": [{"clusters": ["eu-*"], "names": ["logs"], "privileges": ["read"]}],
        "remote_cluster": [{"privileges": ["monitor_enrich"], "clusters": ["eu"]}],
        "restriction": {"workflows": ["search_application_query"]},
    }, for_api_key=True)
    assert list(key)[-3:] == ["remote_indices", "remote_cluster", "restriction"]
    assert key["remote_indices"] == [{"names": ["logs"], "privileges": ["read"],
                                      "allow_restricted_indices": False, "clusters": ["eu-*"]}]
    assert key["remote_cluster"] == [{"privileges": ["monitor_enrich"], "clusters": ["eu"]}]
    assert "restriction" not in parse_role_descriptor("k", {"restriction": {}}, for_api_key=True)


def _error(body, *, for_api_key=False, name="r"):
    with pytest.raises(DescriptorError) as caught:
        parse_role_descriptor(name, body, for_api_key=for_api_key)
    return caught.value


ROLE = "failed to parse role [r]"
IDX = "failed to parse indices privileges for role [r]"
APP = "failed to parse application privileges for role [r]"
REMOTE = "failed to parse remote_cluster for role [r]"
META = "expected field [metadata] to be of type object, but found"
FLS = "indices[0].field_security"
PARSE_ERRORS = [
    ([], f"{ROLE}. expected an object but found [START_ARRAY] instead", None),
    (None, f"{ROLE}. expected an object but found [VALUE_NULL] instead", None),
    ({"clusters": []}, f"{ROLE}. unexpected field [clusters]", "clusters"),
    ({"metadata": []}, f"{META} [START_ARRAY] instead", "metadata"),
    ({"metadata": None}, f"{META} [VALUE_NULL] instead", "metadata"),
    ({"transient_metadata": 1}, f"{ROLE}. unexpected field [transient_metadata]", "transient_metadata"),
    ({"indices": {}},
     f"{IDX}. expected field [indices] value to be an array, but found [START_OBJECT] instead", "indices"),
    ({"index": None},
     f"{IDX}. expected field [index] value to be an array, but found [VALUE_NULL] instead", "indices"),
    ({"indices": ["logs"]}, f"{IDX}. expected field [indices] value to be an array of objects, but found an "
                            "array element of type [VALUE_STRING]", "indices[0]"),
    ({"indices": [{"privileges": ["read"]}]}, f"{IDX}. missing required [names] field", "indices[0].names"),
    ({"indices": [{"names": "a"}]}, f"{IDX}. missing required [privileges] field", "indices[0].privileges"),
    ({"indices": [{"names": "a", "privileges": None}]}, f"{IDX}. missing required [privileges] field",
     "indices[0].privileges"),
    ({"indices": [{"names": [], "privileges": ["read"]}]}, f"{IDX}. [names] cannot be an empty array",
     "indices[0].names"),
    ({"indices": [{"names": 7}]}, f"{IDX}. expected field [names] value to be a string or an array of "
                                  "strings, but found [VALUE_NUMBER] instead", "indices[0].names"),
    ({"indices": [{"names": "a", "allow_restricted_indices": "yes"}]},
     f"{IDX}. expected field [allow_restricted_indices] value to be a boolean, but found [VALUE_STRING] "
     "instead", "indices[0].allow_restricted_indices"),
    ({"indices": [{"names": "a", "query": 1}]},
     f"{IDX}. expected field [query] value to be null, a string, an array, or an object, but found "
     "[VALUE_NUMBER] instead", "indices[0].query"),
    ({"indices": [{"names": "a", "field_security": []}]},
     f'{IDX}. expected START_OBJECT but got START_ARRAY in "field_security".', FLS),
    ({"indices": [{"names": "a", "field_security": {}}]}, f'{IDX}. "field_security" must not be empty.', FLS),
    ({"indices": [{"names": "a", "field_security": {"grant": None}}]},
     f"{IDX}. grant must not be null.", FLS),
    ({"indices": [{"names": "a", "field_security": {"deny": []}}]},
     f'{IDX}. "field_security" only accepts options grant and except, but got: deny', FLS),
    ({"indices": [{"names": "a", "privileges": [], "field_security": {"except": ["x"]}}]},
     f"{IDX}. field_security requires grant if except is given", FLS),
    ({"indices": [{"names": "a", "privileges": [], "field_security": {"grant": ["f1", "f2"],
                                                                       "except": ["f3"]}}]},
     f"{IDX} - Exceptions for field permissions must be a subset of the granted fields but f3 is not a "
     "subset of f1,f2", FLS),
    ({"indices": [{"names": "a", "fields": ["x"]}]},
     '["fields": [...]] format has changed for field permissions in role [r], use ["field_security": '
     '{"grant":[...],"except":[...]}] instead', "indices[0].fields"),
    ({"indices": [{"names": "a", "clusters": ["x"]}]}, f"{IDX}. unexpected field [clusters]",
     "indices[0].clusters"),
    ({"indices": [{"names": "a", "transient_metadata": 1}]},
     'failed to parse transient metadata for role [r]. expected START_OBJECT but got VALUE_NUMBER in '
     '"transient_metadata".', "indices[0].transient_metadata"),
    ({"remote_indices": [{"names": "a", "privileges": ["read"]}]},
     "failed to parse remote indices privileges for role [r]. missing required [clusters] field",
     "remote_indices[0].clusters"),
    ({"remote_indices": "x"}, "failed to parse remote indices privileges for role [r]. expected field "
                              "[remote_indices] value to be an array, but found [VALUE_STRING] instead",
     "remote_indices"),
    ({"applications": {}}, f"{APP}. expected field [applications] value to be an array, but found "
                           "[START_OBJECT] instead", "applications"),
    ({"applications": [{"application": "a", "privileges": ["p"]}]},
     f"{APP}. missing required [resources] field", "applications[0].resources"),
    ({"applications": [{"application": "a", "resources": ["*"]}]},
     f"{APP}. missing required [privileges] field", "applications[0].privileges"),
    ({"remote_cluster": [{"privileges": ["monitor_enrich"]}]},
     f"{REMOTE}. [clusters] must be defined when [privileges] are defined", "remote_cluster[0]"),
    ({"remote_cluster": [{"clusters": ["two", "three"]}]},
     f"{REMOTE}. [privileges] must be defined when [clusters] are defined", "remote_cluster[0]"),
    ({"remote_cluster": [{"privileges": ["monitor_stats", "read_pipeline"], "clusters": ["*"]}]},
     f"{REMOTE}. [monitor_enrich, monitor_stats] are the only values allowed for [privileges] within "
     "[remote_cluster]. Found [monitor_stats, read_pipeline]", "remote_cluster[0].privileges"),
    ({"restriction": {"workflows": ["x"]}}, f"{ROLE}. unexpected field [restriction]", "restriction"),
]


@pytest.mark.parametrize(("body", "reason", "field"), PARSE_ERRORS)
def test_parse_errors(body, reason, field):
    error = _error(body)
    assert (error.type, error.reason, error.field) == ("parse_exception", reason, field)
    assert error.detail == reason
    assert error.to_dict() == {"type": "parse_exception", "reason": reason}


ARRAY = "field. expected a string array but"
IN_ARRAY = f"{ARRAY} one of the value in the array is"


@pytest.mark.parametrize(("body", "cause"), [
    ({"cluster": "all"}, f"could not parse [cluster] {ARRAY} found [VALUE_STRING] value instead"),
    ({"run_as": [1]}, f"could not parse [run_as] {IN_ARRAY} [VALUE_NUMBER]"),
    ({"cluster": [["all"]]}, f"could not parse [cluster] {IN_ARRAY} [START_ARRAY]"),
    ({"indices": [{"names": [None]}]}, f"could not parse [names] {IN_ARRAY} [VALUE_NULL]"),
    ({"indices": [{"names": "a", "privileges": "read"}]},
     f"could not parse [privileges] {ARRAY} found [VALUE_STRING] value instead"),
])
def test_string_array_errors_are_nested_under_the_role(body, cause):
    error = _error(body)
    assert (error.type, error.reason, error.detail) == ("parse_exception", ROLE, cause)
    assert error.to_dict() == {"type": "parse_exception", "reason": ROLE,
                               "caused_by": {"type": "parse_exception", "reason": cause}}


PRIVILEGE = "failed to parse privilege. expected"


@pytest.mark.parametrize(("body", "type_", "reason"), [
    ({"remote_cluster": [{}]}, "illegal_argument_exception",
     "remote cluster groups must not be null or empty"),
    ({"remote_indices": [{"names": "a", "privileges": [], "clusters": []}]}, "illegal_argument_exception",
     "the [remote_indices] sub-field [clusters] must refer to at least one cluster alias or cluster alias "
     "pattern"),
    ({"applications": [{"resources": ["*"], "privileges": ["p"]}]}, "illegal_argument_exception",
     "application privileges must have an application name"),
    ({"applications": [{"application": "a", "nope": 1}]}, "x_content_parse_exception",
     "[application] unknown field [nope]"),
    ({"global": []}, "x_content_parse_exception",
     f"{PRIVILEGE} [START_OBJECT] but found [START_ARRAY] instead"),
    ({"global": {"roles": {}}}, "x_content_parse_exception",
     f"{PRIVILEGE} one of [application,profile] but found [roles] instead"),
    ({"global": {"application": {"write": {}}}}, "x_content_parse_exception",
     f"{PRIVILEGE} field name [manage] but found [write] instead"),
    ({"global": {"profile": {"write": {"apps": []}}}}, "x_content_parse_exception",
     f"{PRIVILEGE} field name [applications] but found [apps] instead"),
])
def test_other_error_types(body, type_, reason):
    error = _error(body)
    assert (error.type, error.reason) == (type_, reason)


def test_description_only_for_roles_and_restriction_only_for_keys():
    assert parse_role_descriptor("r", {"description": "text"})["description"] == "text"
    error = _error({"description": "text"}, for_api_key=True)
    assert error.reason == f"{ROLE}. unexpected field [description]"
    error = _error({"restriction": {"workflows": []}}, for_api_key=True)
    assert error.reason == "failed to parse restriction for role [r]. [workflows] cannot be an empty array"
    error = _error({"restriction": {"workflows": None}}, for_api_key=True)
    assert error.reason == ("failed to parse restriction for role [r]. could not parse [workflows] field. "
                            "expected a string array but found null value instead")


def test_validation_collects_every_problem_in_order():
    error = _error({
        "cluster": ["monitor", "bogus", "cluster:admin/xpack/security/*"],
        "indices": [{"names": "a", "privileges": ["read", "reed"]},
                    {"names": "b", "privileges": ["indices:data/*"]}],
        "metadata": {"_private": 1, "fine": 2},
        "description": "x" * 1001,
    }, name="x" * 600)
    messages = [NAME_RULES, unknown_cluster_privilege_message("bogus"),
                unknown_index_privilege_message("reed"),
                "role descriptor metadata keys may not start with [_]",
                "Role description must be less than 1000 characters."]
    assert error.type == "action_request_validation_exception"
    assert error.reason == format_validation_failed(messages)
    assert error.reason.startswith("Validation Failed: 1: Role names")
    assert error.reason.endswith(";5: Role description must be less than 1000 characters.;")
    assert [field for field, _ in error.errors] == ["name", "cluster", "indices[0].privileges", "metadata",
                                                    "description"]


def test_validation_boundaries_and_switches():
    assert parse_role_descriptor("r", {"description": "x" * 1000})["description"] == "x" * 1000
    reserved = parse_role_descriptor("r", {"metadata": {"_reserved": True}}, allow_reserved_metadata=True)
    assert reserved["metadata"] == {"_reserved": True}
    unchecked = parse_role_descriptor("r", {"cluster": ["bogus"]}, validate=False)
    assert unchecked["cluster"] == ["bogus"]
    cluster = ["ALL", "cluster:monitor/main"]
    assert parse_role_descriptor("r", {"cluster": cluster})["cluster"] == cluster
    error = _error({"restriction": {"workflows": ["nope"]}}, for_api_key=True)
    assert error.reason == (
        "Validation Failed: 1: Unknown workflow [nope]. A workflow must be one of the predefined workflow "
        "names [search_application_query,search_application_analytics].;")
    error = _error({"remote_indices": [{"names": "a", "privileges": ["read_failures"], "clusters": [""]}]})
    assert [message for _, message in error.errors] == [
        "remote index cluster alias cannot be an empty string",
        "remote index privileges cannot contain privileges that grant access to the failure store"]


def test_role_name_checked_when_parsing():
    for name in ("x" * 1025, " lead", ""):
        error = _error({"cluster": ["bogus"]}, name=name)
        assert error.type == "validation_exception"
        assert error.reason == f"Validation Failed: 1: {NAME_RULES.replace('507', '1024')};"
    assert _error({}, name="x" * 600).reason == f"Validation Failed: 1: {NAME_RULES};"
    assert parse_role_descriptor("x" * 600, {}, for_api_key=True)["cluster"] == []
