"""Application privileges without a database: Elasticsearch's naming rules, the put body, and what roles'
`applications` entries grant once privilege names are resolved to their stored actions."""

import pytest

from webapp.security.application_permission import ApplicationPermission, StoredPrivileges
from webapp.security.application_privileges import (
    action_problems,
    application_name_problem,
    is_privilege_name,
    parse_put_privileges,
    privilege_or_action_problem,
)
from webapp.security.descriptors.fields import DescriptorError
from webapp.security.permissions import Permission, effective_key_permission, has_privileges


@pytest.mark.parametrize(("name", "wildcard", "problem"), [
    ("myapp", False, None), ("kibana-.kibana", False, None), ("app_x", False, None), ("abc", False, None),
    ("kibana-*", True, None), ("*", True, None), ("ab*", True, None), ("my-app-*", True, None),
    ("", False, "Application names cannot be blank"),
    ("app*", False, "Application names may not contain '*' (found 'app*')"),
    ("a*b", True, "Application name patterns only support trailing wildcards (found 'a*b')"),
    ("my app", False, "Application names may not contain whitespace (found 'my app')"),
    ("Myapp", False, "An application name prefix must match the pattern ^[a-z][A-Za-z0-9]*$ (found 'Myapp')"),
    ("ab", False, "An application name prefix must be at least 3 characters long (found 'ab')"),
    ("ab-cd", False, "An application name prefix must be at least 3 characters long (found 'ab')"),
    ("app-a?b", False, "An application name suffix may not contain any of the characters '\\/*?\"<>| ,' "
                       "(found 'a?b')"),
])
def test_application_names(name, wildcard, problem):
    assert application_name_problem(name, allow_wildcard=wildcard) == problem


def test_privilege_names_and_actions():
    assert is_privilege_name("read") and is_privilege_name("feature_discover.all") and is_privilege_name("a-b")
    assert not is_privilege_name("Read") and not is_privilege_name("data:read/*") and not is_privilege_name("*")
    assert privilege_or_action_problem("data:read/*") is None
    assert privilege_or_action_problem("é") is not None
    assert action_problems("read") == ["action [read] must contain one of [ '/' , '*' , ':' ]"]
    assert action_problems("a b:") == [
        "Application privilege names and actions must match the pattern ^\\p{Graph}*$ (found 'a b:')"]


def test_the_put_body_with_defaults_from_its_keys():
    parsed = parse_put_privileges({"myapp": {"read": {"actions": "data:read/*"},
                                             "all": {"application": "myapp", "name": "all",
                                                     "actions": ["*", "*"], "metadata": {"k": 1}}}})
    assert parsed == [
        {"application": "myapp", "name": "read", "actions": ["data:read/*"], "metadata": {}},
        {"application": "myapp", "name": "all", "actions": ["*"], "metadata": {"k": 1}}]
    with pytest.raises(DescriptorError) as caught:  # a number is read as its text, then checked as an action
        parse_put_privileges({"myapp": {"n": {"actions": [7]}}})
    assert caught.value.reason == "Validation Failed: 1: action [7] must contain one of [ '/' , '*' , ':' ];"


def test_the_put_body_names_may_take_489_bytes_together():
    assert parse_put_privileges({"app": {"p" * 486: {"actions": ["a:b"]}}})
    with pytest.raises(DescriptorError) as caught:
        parse_put_privileges({"app": {"p" * 487: {"actions": ["a:b"]}}})
    assert "at most 489 bytes together" in caught.value.reason


STORED = StoredPrivileges(
    actions={"myapp": {"read": ["data:read/*", "action:login"], "write": ["data:write/*"], "all": ["*"]}},
    defined_by={"read": frozenset({"myapp", "mytool"}), "write": frozenset({"myapp"})})


def entries(*triples):
    return [{"application": a, "privileges": p, "resources": r} for a, p, r in triples]


def test_names_stand_for_their_stored_actions():
    permission = ApplicationPermission(entries(("myapp", ["read"], ["doc/*"])))
    assert permission.grants("myapp", "read", "doc/1", STORED)
    assert permission.grants("myapp", "data:read/x", "doc/*", STORED)
    assert permission.grants("myapp", "action:login", "doc/2", STORED)
    assert not permission.grants("myapp", "write", "doc/1", STORED)
    assert not permission.grants("myapp", "read", "*", STORED)  # the resource pattern must be covered
    assert not permission.grants("myapp", "nope", "doc/1", STORED)  # nothing stored: no actions to grant


def test_an_entry_granting_star_grants_every_privilege_even_unknown_ones():
    permission = ApplicationPermission(entries(("*", ["*"], ["*"])))
    assert permission.grants("anyapp", "nope", "x", STORED) and permission.grants("myapp", "write", "y/*", STORED)


def test_exactly_the_privilege_asked_about_counts_without_a_stored_definition():
    permission = ApplicationPermission(entries(("otherapp", ["dashboards"], ["*"])))
    assert permission.grants("otherapp", "dashboards", "space:1", STORED)
    assert not permission.grants("otherapp", "dashboards.all", "space:1", STORED)


def test_entries_on_the_same_resources_are_merged_before_resolving():
    merged = ApplicationPermission(entries(("myapp", ["read"], ["doc/*"]), ("myapp", ["write"], ["doc/*"])))
    apart = ApplicationPermission(entries(("myapp", ["read"], ["doc/*"]), ("myapp", ["write"], ["doc/1"])))
    both = StoredPrivileges(actions={"myapp": {"rw": ["data:read/*", "data:write/*"], **STORED.actions["myapp"]}})
    assert merged.grants("myapp", "rw", "doc/1", both)
    assert not apart.grants("myapp", "rw", "doc/1", both)


def test_application_patterns_expand_to_the_applications_defining_the_role_names():
    permission = ApplicationPermission(entries(("my*", ["read", "data:export/*"], ["*"])))
    assert permission.names_to_expand == {"read", "data:export/*"}
    assert permission.grants("myapp", "read", "x", STORED)
    assert permission.grants("myapp", "data:export/csv", "x", STORED)
    # `mytool` defines `read` too; `myother` defines none of the role's names, so the pattern doesn't stand for it
    assert not permission.grants("myother", "data:export/csv", "x", STORED)
    # with nothing stored the pattern itself is the entry, with its action patterns only
    assert permission.grants("myother", "data:export/csv", "x")
    assert not permission.grants("myother", "read", "x")
    assert ApplicationPermission(entries(("myapp", ["read"], ["*"]))).names_to_expand == frozenset()


def test_described_as_get_user_privileges_lists_them():
    permission = ApplicationPermission(entries(
        ("test-app", ["user"], ["*"]), ("test-app", ["read"], ["object/1"]), ("app-dne", ["all"], ["*"]),
        ("test-app", ["dne"], ["*"]), ("test-app", ["read"], ["object/2"]), ("my*", ["write"], ["w"])))
    assert permission.described(STORED) == [
        {"application": "test-app", "privileges": ["dne", "user"], "resources": ["*"]},
        {"application": "test-app", "privileges": ["read"], "resources": ["object/1", "object/2"]},
        {"application": "app-dne", "privileges": ["all"], "resources": ["*"]},
        # the pattern stands for each stored application defining any name the role grants (`read` here)
        {"application": "myapp", "privileges": ["write"], "resources": ["w"]},
        {"application": "mytool", "privileges": ["write"], "resources": ["w"]}]


def test_an_api_key_needs_both_its_descriptors_and_its_owner():
    owner = [{"owner": {"applications": entries(("myapp", ["read", "write"], ["doc/*"]))}}]
    key = effective_key_permission({"k": {"applications": entries(("myapp", ["read"], ["*"]))}}, owner)
    body = has_privileges(key, application=entries(("myapp", ["read", "write"], ["doc/1", "other"])),
                          stored=STORED)
    assert body["application"] == {"myapp": {"doc/1": {"read": True, "write": False},
                                             "other": {"read": False, "write": False}}}


def test_the_global_manage_privilege():
    permission = Permission([{"global": {"application": {"manage": {"applications": ["team-*", "myapp"]}}}}])
    assert permission.manages_applications(["myapp", "team-a"])
    assert not permission.manages_applications(["myapp", "other"])
    assert not permission.manages_applications([])  # every application: only `*` covers it
    assert Permission([{"global": {"application": {"manage": {"applications": ["*"]}}}}]).manages_applications([])
    assert not Permission([{"cluster": ["all"]}]).manages_applications(["myapp"])
