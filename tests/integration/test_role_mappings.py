"""Role mappings: the service and the HTTP API (Elasticsearch's shapes and messages), audit rows, and how the
proxy realm's users get their roles through them."""

import json

import pytest

from tests.conftest import ELASTIC_PASSWORD, USER_PASSWORD, basic_header, database_url_for, reset_database
from webapp import create_app
from webapp.errors import Unauthorized, ValidationFailed
from webapp.model import AuditEvent, MappedRoles, RoleMapping, User
from webapp.model.db import database
from webapp.services.access.system import system_subject
from webapp.services.admin import role_mappings
from webapp.services.schema import bootstrap as setup
from webapp.services.schema.mapping_seed import seed_group_mappings

ELASTIC = basic_header("elastic", ELASTIC_PASSWORD)
OPS = {"enabled": True, "roles": ["security_viewer"], "rules": {"field": {"groups": "ops"}}, "metadata": {"v": 1}}


def test_api_lifecycle(call, make_user):
    make_user("watcher", ["security_viewer"])
    viewer = basic_header("watcher", USER_PASSWORD)
    assert call("PUT", "/_security/role_mapping/ops", ELASTIC, OPS) == (200, {"role_mapping": {"created": True}})
    assert call("POST", "/_security/role_mapping/ops", ELASTIC, OPS) == (200, {"role_mapping": {"created": False}})
    assert call("GET", "/_security/role_mapping/ops", viewer) == (200, {"ops": OPS})
    templated = {"enabled": False, "role_templates": [{"template": {"source": "{{username}}"}, "format": "string"}],
                 "rules": {"all": [{"field": {"realm.name": "proxy"}}]}}
    assert call("PUT", "/_security/role_mapping/self", ELASTIC, templated)[0] == 200
    status, body = call("GET", "/_security/role_mapping", viewer)
    assert status == 200 and list(body) == ["ops", "self"] and body["self"]["metadata"] == {}
    assert call("GET", "/_security/role_mapping/ops,nope", viewer) == (200, {"ops": OPS})
    assert call("GET", "/_security/role_mapping/nope", viewer) == (404, {})
    status, body = call("PUT", "/_security/role_mapping/x", viewer, OPS)
    assert status == 403 and "cluster:admin/xpack/security/role_mapping/put" in body["error"]["reason"]
    assert call("DELETE", "/_security/role_mapping/ops", viewer)[0] == 403
    assert call("DELETE", "/_security/role_mapping/ops", ELASTIC) == (200, {"found": True})
    assert call("DELETE", "/_security/role_mapping/ops", ELASTIC) == (404, {"found": False})
    actions = [e.action for e in AuditEvent.select().where(AuditEvent.target_type == "role_mapping")
               .order_by(AuditEvent.id)]
    assert actions == ["role_mapping.create", "role_mapping.update", "role_mapping.create", "role_mapping.delete"]


@pytest.mark.parametrize("body, type_, reason", [
    ({"roles": ["a"], "rules": {"field": {"username": "*"}}}, "action_request_validation_exception",
     "Validation Failed: 1: role-mapping [enabled] must be set to true or false;"),
    ({"enabled": True, "rules": {"field": {"username": "*"}}}, "action_request_validation_exception",
     "Validation Failed: 1: role-mapping roles or role-templates are missing;"),
    ({"enabled": True, "roles": ["a"], "role_templates": [{"template": {"source": "x"}}],
      "rules": {"field": {"username": "*"}}}, "action_request_validation_exception",
     "Validation Failed: 1: role-mapping cannot have both roles and role-templates;"),
    ({"enabled": True, "roles": ["a"]}, "action_request_validation_exception",
     "Validation Failed: 1: role-mapping rules are missing;"),
    ({"enabled": True, "roles": ["a"], "rules": {"field": {"username": "*"}}, "metadata": {"_x": 1}},
     "action_request_validation_exception", "Validation Failed: 1: metadata keys may not start with [_];"),
    ({"enabled": True, "roles": ["a"], "rules": {"field": {"username": "*"}}, "colour": "red"},
     "parse_exception", "failed to parse role-mapping [m]. unexpected field [colour]"),
    ({"enabled": True, "role_templates": [{"template": {"source": "{{#groups}}x{{/groups}}"}}],
      "rules": {"field": {"username": "*"}}}, "action_request_validation_exception",
     "role template tag [{{#groups}}] is not supported"),
    ({"enabled": "yes", "roles": "a", "rules": {"any": []}}, "action_request_validation_exception",
     "2: role-mapping [roles] must be an array of role names;"),
    ({"enabled": "yes", "roles": "a", "rules": {"nope": 1}}, "parsing_exception",
     "[role-mapping] failed to parse field [rules]"),
    ([1], "parse_exception", "the body must be an object"),
    ({"enabled": True, "roles": ["\ud800"], "rules": {"any": []}}, "illegal_argument_exception",
     "unpaired surrogate"),
])
def test_api_refusals_use_elasticsearchs_envelope(call, body, type_, reason):
    status, answer = call("PUT", "/_security/role_mapping/m", ELASTIC, body)
    assert status == 400 and answer["error"]["type"] == type_ and reason in answer["error"]["reason"]
    assert answer["error"]["root_cause"][0]["type"] == type_
    assert call("GET", "/_security/role_mapping/m", ELASTIC) == (404, {})


def test_a_bad_rule_is_a_parsing_exception_caused_by_the_rules_message(call):
    """Elasticsearch's expression parser fails inside the body's parser: the answer is about the field, and the
    rule's own message is the innermost cause."""
    body = {"enabled": True, "roles": ["a"], "rules": {"all": [{"field": {"username": "*"}}, {"every": []}]}}
    status, answer = call("PUT", "/_security/role_mapping/m", ELASTIC, body)
    assert status == 400 and answer["status"] == 400
    error = answer["error"]
    assert (error["type"], error["reason"]) == ("parsing_exception", "[role-mapping] failed to parse field [rules]")
    assert error["root_cause"] == [{"type": "parsing_exception", "reason": error["reason"]}]
    assert error["caused_by"]["type"] == "x_content_parse_exception"
    assert error["caused_by"]["caused_by"] == {
        "type": "parse_exception",
        "reason": "failed to parse rules expression: unknown rule [every], expected one of [any, all, field, except]"}
    assert call("GET", "/_security/role_mapping/m", ELASTIC) == (404, {})


def test_service_requires_the_privileges(db, make_user, subject_of):
    viewer = subject_of(make_user("watcher", ["security_viewer"]))
    role_mappings.put_role_mapping(system_subject(), "ops", OPS)
    assert role_mappings.get_role_mappings(viewer) == {"ops": OPS}
    with pytest.raises(Unauthorized):
        role_mappings.put_role_mapping(viewer, "ops", OPS)
    with pytest.raises(Unauthorized):
        role_mappings.delete_role_mapping(viewer, "ops")
    with pytest.raises(ValidationFailed) as refused:
        role_mappings.put_role_mapping(system_subject(), "", {})
    assert set(refused.value.fields) == {"name", "enabled", "roles", "rules"}


def test_mapped_roles_union_of_enabled_mappings(db):
    system = system_subject()
    role_mappings.put_role_mapping(system, "ops", OPS)
    role_mappings.put_role_mapping(system, "everyone", {
        "enabled": True, "roles": ["api_key_user", "security_viewer"], "rules": {"field": {"realm.name": "proxy"}}})
    role_mappings.put_role_mapping(system, "off", {**OPS, "enabled": False, "roles": ["superuser"]})
    role_mappings.put_role_mapping(system, "own", {
        "enabled": True, "role_templates": [{"template": {"source": "{{#tojson}}groups{{/tojson}}"},
                                             "format": "json"}],
        "rules": {"all": [{"field": {"username": "a*"}}, {"except": {"field": {"groups": "banned"}}}]}})
    assert role_mappings.mapped_roles("alice", "proxy", ["ops"]) == {
        "api_key_user": ["everyone"], "security_viewer": ["everyone", "ops"], "ops": ["own"]}
    assert role_mappings.mapped_roles("alice", "native", ["banned"]) == {}


def test_seeding_creates_missing_mappings_only(db):
    assert seed_group_mappings("ops=security_viewer+api_key_admin;admins=superuser") == ["ops", "admins"]
    assert seed_group_mappings("ops=superuser;new=api_key_user") == ["new"]
    assert RoleMapping.by_name("ops").body["roles"] == ["security_viewer", "api_key_admin"]
    assert role_mappings.mapped_roles("bob", "proxy", ["admins"]) == {"superuser": ["admins"]}
    assert role_mappings.mapped_roles("bob", "native", ["admins"]) == {}


def test_init_db_seeds_from_the_setting(app, runner):
    app.config["KEYDESK_PROXY_GROUP_ROLES"] = "ops=security_viewer"
    result = runner.invoke(args=["init-db"])
    assert "Created role mappings from KEYDESK_PROXY_GROUP_ROLES: ops." in result.output
    assert "Created role mappings" not in runner.invoke(args=["init-db"]).output


# ---------------------------------------------------------------- the proxy realm
@pytest.fixture
def proxied_app(tmp_path):
    app = create_app({
        "TESTING": True, "SECRET_KEY": "k", "KEYDESK_DATABASE_URL": database_url_for(tmp_path),
        "KEYDESK_TRUSTED_PROXIES": "127.0.0.0/8", "KEYDESK_PROXY_USER_HEADER": "X-Remote-User",
        "KEYDESK_PROXY_GROUPS_HEADER": "X-Remote-Groups", "KEYDESK_PROXY_DEFAULT_ROLES": "api_key_user",
        # Not seeded (no init-db here): the setting alone gives nothing at request time.
        "KEYDESK_PROXY_GROUP_ROLES": "ops=superuser",
    })
    with database.connection_context():
        reset_database()
        setup.initialise(ELASTIC_PASSWORD)
    return app


def _roles_of(username):
    with database.connection_context():
        user = User.by_username(username, "proxy")
        return sorted(link.role_name for link in user.role_links), MappedRoles.get_by_id(user.id).sources


def test_proxy_users_get_mapped_roles_at_the_next_request(proxied_app):
    client = proxied_app.test_client()
    headers = {"X-Remote-User": "alice", "X-Remote-Groups": "ops, dev"}
    assert client.get("/account/", headers=headers).status_code == 200
    assert _roles_of("alice") == (["api_key_user"], {"api_key_user": ["default"]})
    assert client.get("/roles/", headers=headers).status_code == 403
    put = client.put("/_security/role_mapping/ops", headers={**ELASTIC, "Content-Type": "application/json"},
                     data=json.dumps({**OPS, "rules": {"all": [{"field": {"groups": "ops"}},
                                                              {"field": {"realm.name": "proxy"}}]}}))
    assert put.status_code == 200
    assert client.get("/roles/", headers=headers).status_code == 200  # the very next request
    assert _roles_of("alice") == (["api_key_user", "security_viewer"],
                                  {"api_key_user": ["default"], "security_viewer": ["mapping:ops"]})
    assert client.get("/roles/", headers={**headers, "X-Remote-Groups": "dev"}).status_code == 403
    client.get("/account/", headers=headers)
    disabled = client.put("/_security/role_mapping/ops", headers={**ELASTIC, "Content-Type": "application/json"},
                          data=json.dumps({**OPS, "enabled": False}))
    assert disabled.status_code == 200
    assert client.get("/roles/", headers=headers).status_code == 403
    assert _roles_of("alice")[0] == ["api_key_user"]


def test_proxy_templates_and_the_users_page_say_where_roles_came_from(proxied_app):
    client = proxied_app.test_client()
    with database.connection_context():
        role_mappings.put_role_mapping(system_subject(), "by-group", {
            "enabled": True, "role_templates": [{"template": {"source": "{{#tojson}}groups{{/tojson}}"},
                                                 "format": "json"}], "rules": {"field": {"username": "*"}}})
        role_mappings.put_role_mapping(system_subject(), "admins", {
            "enabled": True, "roles": ["security_admin"], "rules": {"field": {"groups": "security_admin"}}})
    client.get("/account/", headers={"X-Remote-User": "carol", "X-Remote-Groups": "security_admin"})
    assert _roles_of("carol") == (["api_key_user", "security_admin"], {
        "api_key_user": ["default"], "security_admin": ["mapping:admins", "mapping:by-group"]})
    page = client.get("/users/edit?username=carol&realm=proxy", headers={"X-Remote-User": "carol",
                                                         "X-Remote-Groups": "security_admin"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "via role mapping admins" in html and "via role mapping by-group" in html
    assert "KEYDESK_PROXY_DEFAULT_ROLES" in html
