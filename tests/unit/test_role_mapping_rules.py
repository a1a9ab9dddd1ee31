"""Role-mapping rules and role templates: parsing, matching, and the template subset."""

import pytest

from webapp.security.role_mapping_rules import MappingRuleError, matches, parse_rules, summary
from webapp.security.role_templates import parse_role_templates, roles_from_templates

USER = {"username": "alice", "dn": "cn=alice,ou=people", "groups": ["ops", "dev-team"], "realm.name": "proxy",
        "metadata": {"desk": 4, "site": {"city": "Oslo"}}}


@pytest.mark.parametrize("rules, expected", [
    ({"field": {"username": "alice"}}, True),
    ({"field": {"username": "ali*"}}, True),
    ({"field": {"username": "al?ce"}}, True),
    ({"field": {"username": "ali"}}, False),
    ({"field": {"username": "/a.*e/"}}, True),
    ({"field": {"username": "/lic/"}}, False),  # the whole value must match
    ({"field": {"groups": "ops"}}, True),
    ({"field": {"groups": ["nope", "dev-*"]}}, True),
    ({"field": {"realm.name": "native"}}, False),
    ({"field": {"metadata.desk": 4}}, True),
    ({"field": {"metadata.desk": "4"}}, False),
    ({"field": {"metadata.site.city": "Oslo"}}, True),
    ({"field": {"metadata.missing": None}}, True),
    ({"any": [{"field": {"groups": "x"}}, {"field": {"username": "alice"}}]}, True),
    ({"all": [{"field": {"groups": "ops"}}, {"except": {"field": {"username": "alice"}}}]}, False),
    ({"all": [{"field": {"groups": "ops"}}, {"except": {"field": {"username": "bob"}}}]}, True),
    ({"all": []}, True),
    ({"any": []}, False),
])
def test_rules_match_as_elasticsearch_describes(rules, expected):
    assert matches(parse_rules(rules), USER) is expected


@pytest.mark.parametrize("rules, message", [
    ({"nope": []}, "unknown rule [nope]"),
    ({"except": {"field": {"username": "a"}}}, "[except] may only be used inside [all]"),
    ({"any": [{"except": {"field": {"username": "a"}}}]}, "[except] may only be used inside [all]"),
    ({"field": {"shoe_size": 4}}, "field [shoe_size] is not one of"),
    ({"field": {"username": "a", "dn": "b"}}, "[field] must name exactly one field"),
    ({"field": {"username": {"x": 1}}}, "must be a string, number, boolean, null or a list"),
    ({"field": {"username": "/a(/"}}, "is not valid"),
    ({"field": {"username": "/a&b/"}}, "operator Keydesk doesn't support"),
    ({"field": {"username": "/(a+)+$/"}}, "repeats a group that repeats itself"),
    ({"field": {"username": "/(x|[a-z]*){2,}/"}}, "repeats a group that repeats itself"),
    ({"any": {"field": {}}}, "must be an array of rules"),
    ({"any": [], "all": []}, "exactly one of"),
    ("text", "must be an object"),
])
def test_bad_rules_are_refused_with_a_message(rules, message):
    with pytest.raises(MappingRuleError) as error:
        parse_rules(rules)
    assert message in error.value.reason


def test_deep_rules_are_refused():
    rules = {"field": {"username": "a"}}
    for _ in range(25):
        rules = {"any": [rules]}
    with pytest.raises(MappingRuleError, match="nested more than"):
        parse_rules(rules)


def test_summary_reads_like_a_sentence():
    rules = {"any": [{"field": {"groups": "ops"}}, {"field": {"username": ["adm-*", "/x+/"]}}]}
    assert summary(rules) == 'groups is “ops” or username is like “adm-*” or matches /x+/'
    assert summary({"all": [rules, {"except": {"field": {"dn": None}}}]}) == (
        '(groups is “ops” or username is like “adm-*” or matches /x+/) and not dn is null')


def test_templates_substitute_and_tojson():
    templates = parse_role_templates([
        {"template": {"source": "user-{{username}}"}, "format": "string"},
        {"template": {"source": "{{#tojson}}groups{{/tojson}}"}, "format": "json"},
        {"template": '{"source": "{{realm.name}}_{{metadata.site.city}}"}'},
        {"template": {"source": "{{metadata.missing}}"}},
    ])
    assert roles_from_templates(templates, USER) == ["user-alice", "ops", "dev-team", "proxy_Oslo"]


@pytest.mark.parametrize("source", ["{{#groups}}x{{/groups}}", "{{^username}}x{{/username}}", "{{> part}}",
                                    "{{{username}}}", "{{&username}}", "{{! note}}", "{{groups}}", "{{password}}",
                                    "{{#tojson}}password{{/tojson}}", "{{#tojson}}username", "{{username"])
def test_other_mustache_tags_are_refused(source):
    with pytest.raises(MappingRuleError):
        parse_role_templates([{"template": {"source": source}}])


def test_template_fields_are_checked():
    with pytest.raises(MappingRuleError, match="format"):
        parse_role_templates([{"template": {"source": "a"}, "format": "xml"}])
    with pytest.raises(MappingRuleError, match="params"):
        parse_role_templates([{"template": {"source": "a", "params": {}}}])
