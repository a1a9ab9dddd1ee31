"""The role editor's conversions: descriptor → form → descriptor, the JSON view, and ES's messages per field."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from tests.conftest import count
from webapp.security.descriptors.roles import parse_role_descriptor
from webapp.security.privileges import CLUSTER_PRIVILEGES, INDEX_PRIVILEGES
from webapp.services.admin import role_forms
from webapp.services.admin.role_form_applications import ApplicationRow
from webapp.services.admin.role_forms import FormProblems, IndexRow, RoleForm

# ---------------------------------------------------------------- generated role descriptors
_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.*", min_size=1, max_size=12).filter(
    lambda w: w.strip() == w)
_username = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=","),
                    min_size=1, max_size=10)
_json_value = st.recursive(st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                      max_size=3), max_leaves=6)


@st.composite
def index_entries(draw):
    entry = {"names": draw(st.lists(_word, min_size=1, max_size=3, unique=True)),
             "privileges": draw(st.lists(st.sampled_from(INDEX_PRIVILEGES), min_size=1, max_size=4, unique=True))}
    if draw(st.booleans()):
        entry["field_security"] = {"grant": draw(st.lists(_word, min_size=1, max_size=3, unique=True))}
        if draw(st.booleans()):
            entry["field_security"] = {"grant": ["*"], "except": draw(st.lists(_word, min_size=1, max_size=2))}
    if draw(st.booleans()):
        entry["query"] = json.dumps({"term": {draw(_word): draw(_word)}})
    entry["allow_restricted_indices"] = draw(st.booleans())
    return entry


@st.composite
def application_entries(draw):
    return {"application": draw(st.sampled_from(["kibana-.kibana", "myapp", "app-*", "*", "team_a"])),
            "privileges": draw(st.lists(st.sampled_from(["read", "all", "feature_x.all", "data:read/*", "*"]),
                                        min_size=1, max_size=3, unique=True)),
            "resources": draw(st.lists(_word | st.just("space:my space"), min_size=1, max_size=3, unique=True))}


@st.composite
def descriptors(draw):
    body = {
        "cluster": draw(st.lists(st.sampled_from(CLUSTER_PRIVILEGES) | st.just("cluster:monitor/main"),
                                 max_size=5, unique=True)),
        "indices": draw(st.lists(index_entries(), max_size=3)),
        "run_as": draw(st.lists(_username, max_size=3, unique=True)),
        "metadata": draw(st.dictionaries(st.text(alphabet="abcxyz", min_size=1, max_size=5), _json_value,
                                         max_size=3)),
    }
    if draw(st.booleans()):
        body["description"] = draw(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF)
                                           | st.just("\n"), min_size=1, max_size=40))
    body["applications"] = draw(st.lists(application_entries(), max_size=3))
    return parse_role_descriptor("generated", body)


def posted(form):
    """The fields a browser posts for `form`, built as templates/roles/_editor.html lays them out."""
    fields = MultiDict({"name": form.name, "description": form.description, "run_as": form.run_as,
                        "metadata": form.metadata, "kept": json.dumps(form.kept), "mode": form.mode,
                        "index_rows": str(len(form.indices)), "descriptor_json": form.json,
                        "application_rows": str(len(form.applications))})
    for number, row in enumerate(form.applications):
        prefix = f"applications-{number}-"
        fields.update({prefix + "application": row.application, prefix + "privileges": row.privileges,
                       prefix + "resources": row.resources})
    for name, checked, _, _ in role_forms.cluster_choices(form.cluster):
        if checked:
            fields.add("cluster", name)
    for number, row in enumerate(form.indices):
        prefix = f"indices-{number}-"
        fields.update({prefix + "names": row.names, prefix + "grant": row.grant, prefix + "except": row.except_,
                       prefix + "query": row.query})
        for name, checked, _, _ in role_forms.index_choices(row.privileges):
            if checked:
                fields.add(prefix + "privileges", name)
        if row.allow_restricted:
            fields.add(prefix + "allow_restricted", "on")
    return fields


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(descriptors())
def test_the_form_round_trips_every_descriptor_it_can_show(descriptor):
    count("fuzz: generated role descriptors through the role form")
    form = role_forms.form_from_descriptor("generated", descriptor)
    assert form.representable
    again = role_forms.form_from_fields(posted(form))
    assert role_forms.check("generated", role_forms.form_body(again)) == descriptor


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(descriptors())
def test_the_json_view_round_trips_exactly(descriptor):
    count("fuzz: generated role descriptors through the role form")
    form = role_forms.form_from_descriptor("generated", descriptor, mode="json")
    again = role_forms.form_from_fields(posted(form))
    assert again.mode == "json"
    assert role_forms.check("generated", role_forms.submitted_body(again)) == descriptor
    assert json.loads(form.json) == descriptor


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(descriptors())
def test_switching_to_json_and_back_changes_nothing(descriptor):
    count("fuzz: generated role descriptors through the role form")
    form = role_forms.form_from_descriptor("generated", descriptor)
    as_json = role_forms.to_json_view(role_forms.form_from_fields(posted(form)))
    assert json.loads(as_json.json) == descriptor
    back = role_forms.to_form_view(role_forms.form_from_fields(posted(as_json)))
    assert role_forms.check("generated", role_forms.form_body(back)) == descriptor


def test_browser_line_ends_are_turned_back_into_newlines():
    form = role_forms.form_from_fields(MultiDict({"description": "line one\r\nline two", "index_rows": "0"}))
    assert form.description == "line one\nline two"


def test_checked_privileges_come_first_in_the_roles_own_order():
    choices = role_forms.cluster_choices(["monitor", "manage_own_api_key"])
    assert [(name, checked) for name, checked, _, _ in choices[:3]] == [
        ("monitor", True), ("manage_own_api_key", True), ("all", False)]
    assert "monitor" not in [name for name, *_ in choices[2:]]


def test_choices_say_what_each_privilege_includes():
    implies = {name: text for name, _, _, text in role_forms.cluster_choices([])}
    assert implies["all"] == "every other cluster privilege"
    assert implies["manage_api_key"] == "grant_api_key, manage_own_api_key"
    assert implies["manage_own_api_key"] == ""
    assert implies["manage"].endswith("more")
    index = {name: implies for name, _, _, implies in role_forms.index_choices([])}
    assert index["write"] == ["create", "create_doc", "delete", "index"]


def test_blank_index_rows_are_dropped_and_half_filled_ones_are_named():
    form = RoleForm(name="r", indices=[IndexRow(), IndexRow(names="logs-*"), IndexRow(privileges=["read"])])
    with pytest.raises(FormProblems) as caught:
        role_forms.form_body(form)
    assert caught.value.fields == {"indices-1-privileges": "Choose at least one privilege for these indices.",
                                   "indices-2-names": "Enter at least one index name or pattern."}


@pytest.mark.parametrize("field, value, expected", [
    ("metadata", "[1, 2]", 'Enter the metadata as a JSON object, for example {"team": "ops"}.'),
    ("metadata", "{team: ops}", "Expecting property name enclosed in double quotes at line 1, column 2"),
])
def test_metadata_must_be_a_json_object(field, value, expected):
    with pytest.raises(FormProblems) as caught:
        role_forms.form_body(RoleForm(name="r", metadata=value))
    assert expected in caught.value.fields[field]


def test_a_document_query_must_be_a_json_object():
    form = RoleForm(name="r", indices=[IndexRow(names="a", privileges=["read"], query="match everything")])
    with pytest.raises(FormProblems) as caught:
        role_forms.form_body(form)
    assert list(caught.value.fields) == ["indices-0-query"]
    assert "JSON object" in caught.value.fields["indices-0-query"]


@pytest.mark.parametrize("name, message", [
    ("", "Role names must be at least 1 and no more than 507 characters."),
    (" padded", "Leading or trailing whitespace is not allowed."),
    ("café", "printable symbols in the Basic Latin (ASCII) block"),
    ("x" * 508, "no more than 507 characters"),
])
def test_role_names_follow_elasticsearch_rules_and_messages(name, message):
    with pytest.raises(FormProblems) as caught:
        role_forms.check(name, {"cluster": []})
    assert message in caught.value.fields["name"]


def test_every_problem_is_reported_beside_its_field_with_elasticsearchs_message():
    body = {"cluster": ["manage_everything"], "metadata": {"_secret": 1},
            "indices": [{"names": ["a"], "privileges": ["read"]}, {"names": ["b"], "privileges": ["reed"]}]}
    with pytest.raises(FormProblems) as caught:
        role_forms.check("bad name ", body)
    fields = caught.value.fields
    assert set(fields) == {"name", "cluster", "indices-1-privileges", "metadata"}
    assert fields["cluster"].startswith("unknown cluster privilege [manage_everything]. a privilege must be either")
    assert fields["indices-1-privileges"].startswith("unknown index privilege [reed].")
    assert fields["metadata"] == "role descriptor metadata keys may not start with [_]"


def test_field_security_problems_sit_beside_the_row():
    form = RoleForm(name="r", indices=[IndexRow(names="a", privileges=["read"], except_="secret")])
    with pytest.raises(FormProblems) as caught:
        role_forms.check("r", role_forms.form_body(form))
    assert caught.value.fields == {"indices-0-field_security": "failed to parse indices privileges for role [r]. "
                                                                "field_security requires grant if except is given"}


@pytest.mark.parametrize("path, field", [
    ("indices[3].names", "indices-3-names"), ("indices[0].privileges", "indices-0-privileges"),
    ("indices[1].allow_restricted_indices", "indices-1-allow_restricted"), ("indices[2]", "indices-2-names"),
    ("run_as", "run_as"), ("applications[0].resources", "applications-0-resources"),
        ("applications[2].application", "applications-2-application"),
        ("applications[1]", "applications-1-application"), ("remote_indices[0].clusters", "kept"),
    (None, "general"),
])
def test_elasticsearch_field_paths_map_to_form_fields(path, field):
    assert role_forms.form_field(path) == field


def test_parts_without_inputs_travel_through_the_form_unchanged():
    descriptor = parse_role_descriptor("r", {
        "cluster": ["monitor"], "applications": [{"application": "app", "privileges": ["read"], "resources": ["*"]}],
        "remote_indices": [{"clusters": ["eu-*"], "names": ["logs"], "privileges": ["read"]}],
        "global": {"profile": {"write": {"applications": ["kibana"]}}}})
    form = role_forms.form_from_descriptor("r", descriptor)
    assert set(form.kept) == {"remote_indices", "global"}
    assert form.applications == [ApplicationRow(application="app", privileges="read", resources="*")]
    again = role_forms.form_from_fields(posted(form))
    assert role_forms.check("r", role_forms.form_body(again)) == descriptor


def test_a_kept_field_that_was_tampered_with_is_ignored_not_an_error():
    form = role_forms.form_from_fields(MultiDict({"kept": "not json", "index_rows": "x"}))
    assert form.kept == {} and form.indices == []


def test_names_the_form_cant_show_send_the_editor_to_json():
    descriptor = parse_role_descriptor("r", {"run_as": ["smith, john"], "indices": []})
    assert not role_forms.form_from_descriptor("r", descriptor).representable
    form = role_forms.form_from_descriptor("r", descriptor, mode="json")
    with pytest.raises(FormProblems) as caught:
        role_forms.to_form_view(form)
    assert "keep editing it as JSON" in caught.value.fields["descriptor_json"]


def test_json_view_problems_are_shown_beside_the_json():
    form = RoleForm(name="r", mode="json", json='{"cluster": "all"}')
    with pytest.raises(FormProblems) as caught:
        role_forms.to_form_view(form)
    assert caught.value.fields == {"descriptor_json": "could not parse [cluster] field. expected a string array "
                                                      "but found [VALUE_STRING] value instead"}
    with pytest.raises(FormProblems) as caught:
        role_forms.submitted_body(RoleForm(mode="json", json="[]"))
    assert "JSON object" in caught.value.fields["descriptor_json"]


def test_an_empty_json_view_is_an_empty_role():
    assert role_forms.check("r", role_forms.submitted_body(RoleForm(mode="json", json="  "))) == {
        "cluster": [], "indices": [], "applications": [], "run_as": [], "metadata": {},
        "transient_metadata": {"enabled": True}}


def test_clones_leave_reserved_markers_behind():
    copy = role_forms.clone_descriptor({"cluster": ["all"], "metadata": {"_reserved": True, "team": "ops"}})
    assert copy == {"cluster": ["all"], "metadata": {"team": "ops"}}


def test_lists_accept_commas_and_new_lines():
    assert role_forms.split_list("a, b\nc,,  ") == ["a", "b", "c"]


def test_validated_body_reports_the_name_even_when_the_rest_cant_be_read():
    form = RoleForm(name="", metadata="{broken", indices=[IndexRow(names="a")])
    with pytest.raises(FormProblems) as caught:
        role_forms.validated_body(form)
    assert set(caught.value.fields) == {"name", "metadata", "indices-0-privileges"}
    assert role_forms.validated_body(RoleForm(name="ok", cluster=["monitor"])) == {
        "cluster": ["monitor"], "indices": [], "applications": [], "run_as": [], "metadata": {}}
    assert role_forms.validated_body(RoleForm(name=""), check_name=False)["cluster"] == []


# ---------------------------------------------------------------- application privilege rows
def test_application_rows_become_entries_and_blank_rows_are_dropped():
    form = RoleForm(name="r", applications=[
        ApplicationRow(), ApplicationRow(application=" myapp ", privileges="read, write\ndata:read/*, read",
                                         resources="doc/1, my doc\nspace:*"), ApplicationRow(" ", "", " ")])
    body = role_forms.form_body(form)
    assert body["applications"] == [{"application": "myapp", "privileges": ["read", "write", "data:read/*"],
                                     "resources": ["doc/1", "my doc", "space:*"]}]
    assert len(form.applications) == 1  # the rows left are the entries, so messages land beside their row


def test_application_rows_missing_parts_are_marked_beside_their_fields():
    form = RoleForm(name="r", applications=[ApplicationRow(application="myapp"), ApplicationRow(resources="*")])
    with pytest.raises(FormProblems) as caught:
        role_forms.validated_body(form)
    assert set(caught.value.fields) == {"applications-0-privileges", "applications-0-resources",
                                        "applications-1-application", "applications-1-privileges"}


def test_elasticsearch_refusals_of_application_rows_land_beside_the_row():
    form = RoleForm(name="r", applications=[
        ApplicationRow(application="myapp", privileges="read", resources="*"),
        ApplicationRow(application="a*b", privileges="read", resources="*")])
    with pytest.raises(FormProblems) as caught:
        role_forms.validated_body(form)
    assert caught.value.fields == {
        "applications-1-application": "Application name patterns only support trailing wildcards (found 'a*b')"}


def test_application_rows_round_trip_through_posted_fields():
    descriptor = parse_role_descriptor("r", {"applications": [
        {"application": "kibana-*", "privileges": ["feature_discover.all", "space_read"],
         "resources": ["space:default", "space:ops"]}]})
    form = role_forms.form_from_descriptor("r", descriptor)
    assert form.representable and form.applications == [ApplicationRow(
        "kibana-*", "feature_discover.all, space_read", "space:default, space:ops")]
    again = role_forms.form_from_fields(posted(form))
    assert role_forms.check("r", role_forms.form_body(again)) == descriptor


@pytest.mark.parametrize("entry", [
    {"application": "myapp", "privileges": ["read"], "resources": ["a,b"]},
    {"application": "myapp", "privileges": ["read"], "resources": []},
    {"application": "myapp", "privileges": [], "resources": ["*"]},
    {"application": "myapp", "privileges": ["read", "read"], "resources": ["*"]},
])
def test_application_entries_the_form_cant_show_send_the_editor_to_json(entry):
    descriptor = parse_role_descriptor("r", {"applications": [entry]}, validate=False)
    assert not role_forms.form_from_descriptor("r", descriptor).representable
