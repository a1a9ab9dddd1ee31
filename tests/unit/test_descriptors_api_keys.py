"""An API key's `role_descriptors`, and nothing but DescriptorError whatever JSON comes in."""

import json

import pytest

from webapp.security.descriptors.roles import (
    DescriptorError,
    format_validation_failed,
    parse_role_descriptor,
    parse_role_descriptors,
)
from webapp.security.privileges import unknown_cluster_privilege_message, unknown_index_privilege_message

SHAPE = ("[role_descriptors] can be a single object with any number of fields or an array where each entry "
         "is an object with a single field")


def test_role_descriptors_object_and_array_forms():
    body = {"a": {"cluster": ["monitor"]}, "b": {}}
    parsed = parse_role_descriptors(body)
    assert list(parsed) == ["a", "b"] and parsed["a"]["cluster"] == ["monitor"]
    assert parse_role_descriptors([{"a": {"cluster": ["monitor"]}}, {"b": {}}]) == parsed
    assert parse_role_descriptors({}) == {} and parse_role_descriptors(None) == {}


@pytest.mark.parametrize(("body", "reason"), [
    ("x", "[create_api_key_request] role_descriptors doesn't support values of type: VALUE_STRING"),
    (3, "[create_api_key_request] role_descriptors doesn't support values of type: VALUE_NUMBER"),
    ([{"a": {}, "b": {}}], SHAPE),
    (["a"], SHAPE),
])
def test_role_descriptors_of_the_wrong_shape(body, reason):
    with pytest.raises(DescriptorError) as caught:
        parse_role_descriptors(body)
    assert (caught.value.type, caught.value.reason) == ("x_content_parse_exception", reason)


def test_role_descriptor_parse_problems_are_wrapped():
    with pytest.raises(DescriptorError) as caught:
        parse_role_descriptors({"k": {"description": "no"}}, request_name="update_api_key_request")
    error = caught.value
    assert error.type == "x_content_parse_exception"
    assert error.reason == "[update_api_key_request] failed to parse field [role_descriptors]"
    assert error.detail == "failed to parse role [k]. unexpected field [description]"
    assert error.field == "role_descriptors.k.description"
    assert error.to_dict()["caused_by"] == {"type": "parse_exception", "reason": error.detail}


def test_role_descriptor_validation_problems_are_merged():
    with pytest.raises(DescriptorError) as caught:
        parse_role_descriptors({"a": {"cluster": ["x"]},
                                "b": {"indices": [{"names": "i", "privileges": ["y"]}]}})
    error = caught.value
    assert error.type == "action_request_validation_exception"
    assert error.reason == format_validation_failed([unknown_cluster_privilege_message("x"),
                                                     unknown_index_privilege_message("y")])
    assert [field for field, _ in error.errors] == ["role_descriptors.a.cluster",
                                                    "role_descriptors.b.indices[0].privileges"]


def test_restriction_rules_for_api_keys():
    restricted = {"restriction": {"workflows": ["search_application_query"]}}
    assert parse_role_descriptors({"a": restricted})["a"]["restriction"] == {
        "workflows": ["search_application_query"]}
    for body, reason in (({"a": restricted, "b": restricted},
                          "more than one role descriptor with restriction is not supported"),
                         ({"a": restricted, "b": {}},
                          "combining role descriptors with and without restriction is not supported")):
        with pytest.raises(DescriptorError) as caught:
            parse_role_descriptors(body)
        assert (caught.value.type, caught.value.reason) == ("illegal_argument_exception", reason)


# ---------------------------------------------------------------- nothing but DescriptorError
GARBAGE = [None, True, 0, -1.5, "", "x", [], [None], [1, "a"], [[]], [{}], {}, {"": None}, {"names": {}},
           {"a": [{"b": None}]}, "\u0000", ["*"], [{"names": None, "privileges": [1]}]]
FIELDS = ["cluster", "indices", "index", "applications", "application", "run_as", "global", "metadata",
          "transient_metadata", "remote_indices", "remote_cluster", "restriction", "description", "type",
          "other"]
INDEX_KEYS = ["names", "privileges", "field_security", "query", "allow_restricted_indices", "fields",
              "clusters", "transient_metadata", "x"]


def _parse_quietly(parse, *args, **kwargs):
    """Parse; a rejection must be a well-formed DescriptorError and a result plain JSON."""
    try:
        result = parse(*args, **kwargs)
    except DescriptorError as error:
        assert isinstance(error.reason, str) and error.type
        json.dumps(error.to_dict())
        return None
    json.dumps(result)
    return result


@pytest.mark.parametrize("for_api_key", [False, True])
def test_garbage_anywhere_raises_only_descriptor_errors(for_api_key):
    parsed = 0
    for value in GARBAGE:
        results = [
            _parse_quietly(parse_role_descriptor, "r", value, for_api_key=for_api_key),
            _parse_quietly(parse_role_descriptors, value),
            _parse_quietly(parse_role_descriptors, {"r": value}),
        ]
        for field in FIELDS:
            results.append(_parse_quietly(parse_role_descriptor, "r", {field: value},
                                          for_api_key=for_api_key))
        for key in INDEX_KEYS:
            for list_field in ("indices", "remote_indices"):
                entry = {"names": ["a"], "privileges": ["read"], "clusters": ["c"], key: value}
                results.append(_parse_quietly(parse_role_descriptor, "r", {list_field: [entry]},
                                              for_api_key=for_api_key))
                security = {"grant": value, "except": value}
                entry = {"names": ["a"], "privileges": ["read"], "field_security": security}
                results.append(_parse_quietly(parse_role_descriptor, "r", {list_field: [entry]}))
        for part in ({"application": value, "privileges": value, "resources": value},
                     {"application": {"manage": value}}, {"profile": {"write": {"applications": value}}},
                     {"application": {"manage": {"applications": ["a"], "more": value}}}):
            body = {"applications": [part], "global": part}
            results.append(_parse_quietly(parse_role_descriptor, "r", body))
        name = value if not isinstance(value, (list, dict)) else "r"
        results.append(_parse_quietly(parse_role_descriptor, name, {}))
        groups = [{"privileges": value, "clusters": value}]
        results.append(_parse_quietly(parse_role_descriptor, "r", {"remote_cluster": groups}))
        results.append(_parse_quietly(parse_role_descriptor, "r", {"restriction": {"workflows": value}},
                                      for_api_key=True))
        parsed += sum(result is not None for result in results)
    assert parsed > 0  # some of these are valid after all (e.g. "cluster": null), and they parse
