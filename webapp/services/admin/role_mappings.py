"""Role mappings: read, create or replace, delete (Elasticsearch's role mapping API), and which roles the
enabled mappings give a user. Each write takes the acting Subject and leaves an audit row."""

import json
from collections.abc import Iterable

from peewee import IntegrityError

from webapp.clock import now_ms
from webapp.errors import DomainError, ValidationFailed
from webapp.model import RoleMapping
from webapp.model.db import UNSTORABLE, UNSTORABLE_TEXT, database
from webapp.security import privileges
from webapp.security.limits import metadata_size_problem
from webapp.security.role_mapping_rules import MappingRuleError, matches, parse_rules
from webapp.security.role_templates import parse_role_templates, roles_from_templates
from webapp.security.subject import Subject
from webapp.services.access.rights import require
from webapp.services.audit import trail as audit

MAX_NAME_LENGTH = 507
FIELDS = ("enabled", "roles", "role_templates", "rules", "metadata")


def get_role_mappings(subject: Subject, names: list[str] | None = None) -> dict[str, dict]:
    """{name: mapping} for `names` (every mapping when None), sorted by name; unknown names are left out."""
    require(subject, privileges.ROLE_MAPPING_GET)
    query = RoleMapping.select(RoleMapping.name, RoleMapping.body).order_by(RoleMapping.name)
    if names:
        query = query.where(RoleMapping.name.in_(list(names)))
    return {row.name: row.body for row in query}


def parse_role_mapping(name: str, body: object) -> dict:
    """Check a mapping with Elasticsearch's rules; returns it as GET answers it. Raises DomainError."""
    if not isinstance(body, dict):
        raise DomainError(f"failed to parse role-mapping [{name}]: the body must be an object",
                          type="parse_exception")
    if UNSTORABLE.search(json.dumps(body, ensure_ascii=False)):
        raise DomainError(UNSTORABLE_TEXT, field="json")
    for field in body:
        if field not in FIELDS:
            raise DomainError(f"failed to parse role-mapping [{name}]. unexpected field [{field}]",
                              type="parse_exception", field="json")
    problems, fields = [], {}

    def problem(field, message):
        problems.append(message)
        fields.setdefault(field, message)

    if not name:
        problem("name", "role-mapping name is missing")
    elif len(name) > MAX_NAME_LENGTH or not name.isprintable() or name != name.strip():
        problem("name", f"role-mapping name must be 1 to {MAX_NAME_LENGTH} printable characters, without "
                        "leading or trailing spaces")
    enabled = body.get("enabled")
    if not isinstance(enabled, bool):
        problem("enabled", "role-mapping [enabled] must be set to true or false")
    roles = body.get("roles")
    templates = body.get("role_templates")
    if roles is not None and (not isinstance(roles, list) or not all(isinstance(r, str) and r for r in roles)):
        problem("roles", "role-mapping [roles] must be an array of role names")
        roles = None
    if templates is not None:
        try:
            templates = parse_role_templates(templates)
        except MappingRuleError as error:
            problem("role_templates", error.reason)
            templates = None
    if roles and templates:
        problem("roles", "role-mapping cannot have both roles and role-templates")
    elif not roles and not templates and "roles" not in fields and "role_templates" not in fields:
        problem("roles", "role-mapping roles or role-templates are missing")
    rules = body.get("rules")
    if rules is None:
        problem("rules", "role-mapping rules are missing")
    else:
        try:
            rules = parse_rules(rules)
        except MappingRuleError as error:
            raise _rules_parse_error(error.reason) from error
    metadata = body.get("metadata", {})
    if not isinstance(metadata, dict):
        problem("metadata", "role-mapping [metadata] must be an object")
    elif any(key.startswith("_") for key in metadata):
        problem("metadata", "metadata keys may not start with [_]")
    elif (too_big := metadata_size_problem(metadata, "role mapping metadata")):
        problem("metadata", too_big)
    if problems:
        raise ValidationFailed(problems, fields=fields)
    mapping = {"enabled": enabled}
    mapping.update({"roles": roles} if roles else {"role_templates": templates})
    mapping.update({"rules": rules, "metadata": metadata})
    return mapping


def _rules_parse_error(reason: str) -> DomainError:
    """Bad rules, as Elasticsearch refuses them: its expression parser fails inside the body's parser, so the
    answer is a `parsing_exception` about the field, caused by the rule's own message (also shown on the form)."""
    outer = "[role-mapping] failed to parse field [rules]"
    caused_by = {"type": "x_content_parse_exception", "reason": outer,
                 "caused_by": {"type": "parse_exception", "reason": reason}}
    return DomainError(outer, type="parsing_exception", field="rules", detail=reason,
                       extra={"caused_by": caused_by})


def put_role_mapping(subject: Subject, name: str, body: object, *, create_only: bool = False) -> bool:
    """Create or replace a mapping; True when it was created. With `create_only` an existing one is a 409."""
    require(subject, privileges.ROLE_MAPPING_PUT)
    mapping = parse_role_mapping(name, body)
    now = now_ms()
    try:
        with database.atomic():
            existing = RoleMapping.by_name(name)
            if existing is not None and create_only:
                raise DomainError(f"role mapping [{name}] already exists", status=409,
                                  type="version_conflict_engine_exception", field="name")
            if existing is None:
                RoleMapping.create(name=name, enabled=mapping["enabled"], body=mapping, created=now, updated=now)
            else:
                before = existing.body
                existing.body, existing.enabled, existing.updated = mapping, mapping["enabled"], now
                existing.save()
            audit.record(subject, "role_mapping.create" if existing is None else "role_mapping.update",
                         target_type="role_mapping", target_id=name,
                         before=None if existing is None else before, after=mapping)
    except IntegrityError as error:  # created by a concurrent request between our read and our insert
        raise DomainError(f"role mapping [{name}] already exists", status=409,
                          type="version_conflict_engine_exception", field="name") from error
    return existing is None


def delete_role_mapping(subject: Subject, name: str) -> bool:
    """Delete a mapping; whether it existed. Users it mapped lose its roles at their next request."""
    require(subject, privileges.ROLE_MAPPING_DELETE)
    with database.atomic():
        mapping = RoleMapping.by_name(name)
        if mapping is None:
            return False
        mapping.delete_instance()
        audit.record(subject, "role_mapping.delete", target_type="role_mapping", target_id=name,
                     before=mapping.body)
    return True


def mapped_roles(username: str, realm: str, groups: Iterable[str], *, dn: str | None = None,
                 metadata: dict | None = None) -> dict[str, list[str]]:
    """{role: [mapping names]} that the enabled mappings give this user. One indexed query; the rules of a
    mapping are small and their patterns are compiled once per process (role_mapping_rules._matcher)."""
    user = {"username": username, "dn": dn, "groups": list(groups), "realm.name": realm,
            "metadata": metadata or {}}
    given: dict[str, list[str]] = {}
    rows = (RoleMapping.select(RoleMapping.name, RoleMapping.body).where(RoleMapping.enabled)
            .order_by(RoleMapping.name))
    for row in rows:
        mapping = row.body
        try:
            if not matches(mapping["rules"], user):
                continue
            roles = mapping.get("roles") or roles_from_templates(mapping.get("role_templates") or [], user)
        except (MappingRuleError, KeyError, TypeError, ValueError):
            continue  # a mapping stored by an older Keydesk that the rules now refuse grants nothing
        for role in roles:
            given.setdefault(role, []).append(row.name)
    return given


def seed_from_group_roles(group_roles: dict[str, list[str]]) -> list[str]:
    """Create one mapping per group of KEYDESK_PROXY_GROUP_ROLES (`groups` equals the group, realm proxy),
    named after the group, unless a mapping of that name exists. Returns the names created."""
    created = []
    now = now_ms()
    with database.atomic():
        for group, roles in group_roles.items():
            if not roles or RoleMapping.by_name(group) is not None:
                continue
            body = {"enabled": True, "roles": list(roles),
                    "rules": {"all": [{"field": {"realm.name": "proxy"}}, {"field": {"groups": group}}]},
                    "metadata": {"seeded_from": "KEYDESK_PROXY_GROUP_ROLES"}}
            mapping = parse_role_mapping(group, body)
            RoleMapping.create(name=group, enabled=True, body=mapping, created=now, updated=now)
            audit.record(None, "role_mapping.create", target_type="role_mapping", target_id=group, after=mapping,
                         detail="seeded from KEYDESK_PROXY_GROUP_ROLES")
            created.append(group)
    return created
