"""Role templates of role mappings: a small, safe subset of Mustache.

Supported: `{{username}}`, `{{dn}}`, `{{realm.name}}`, `{{metadata.<path>}}` (variable substitution) and
`{{#tojson}}<variable>{{/tojson}}` (the value as JSON, `groups` included), with `format` `string` (the result is
one role name) or `json` (the result is a JSON string or array of strings). Every other Mustache tag (sections,
inverted sections, partials, unescaped or comment tags) is refused when the mapping is saved, so nothing a
template does at sign-in can surprise. Flask-free and storage-free.
"""

import json
import re

from webapp.security.role_mapping_rules import MappingRuleError, user_value

MAX_TEMPLATE_LENGTH = 4096
_TAG = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_VARIABLE = re.compile(r"(username|dn|groups|realm\.name|metadata(\.[^.\s{}]+)+)")
SUPPORTED = "{{username}}, {{dn}}, {{realm.name}}, {{metadata.<field>}} and {{#tojson}}<field>{{/tojson}}"


def parse_role_templates(value: object) -> list[dict]:
    """Validate `role_templates` ([{template: {source}, format}]); returns the canonical list."""
    if not isinstance(value, list):
        raise MappingRuleError("[role_templates] must be an array")
    parsed = []
    for n, item in enumerate(value):
        if not isinstance(item, dict):
            raise MappingRuleError(f"role template [{n}] must be an object")
        unknown = sorted(set(item) - {"template", "format"})
        if unknown:
            raise MappingRuleError(f"role template [{n}] has unknown field [{unknown[0]}]")
        template = item.get("template")
        if isinstance(template, str):  # Elasticsearch also takes the script as a JSON string
            try:
                template = json.loads(template)
            except ValueError:
                template = {"source": template}
        if not isinstance(template, dict) or not isinstance(template.get("source"), str):
            raise MappingRuleError(f"role template [{n}] needs [template] with a string [source]")
        extra = sorted(set(template) - {"source", "lang"})
        if extra:
            raise MappingRuleError(f"role template [{n}]: [template.{extra[0]}] is not supported, only [source]")
        if template.get("lang", "mustache") != "mustache":
            raise MappingRuleError(f"role template [{n}]: only the [mustache] language is supported")
        format_ = item.get("format", "string")
        if format_ not in ("string", "json"):
            raise MappingRuleError(f"role template [{n}]: [format] must be [string] or [json], found [{format_}]")
        check_template(template["source"])
        parsed.append({"template": {"source": template["source"]}, "format": format_})
    return parsed


def check_template(source: str) -> None:
    """Raise MappingRuleError unless every tag of `source` is one Keydesk supports."""
    if len(source) > MAX_TEMPLATE_LENGTH:
        raise MappingRuleError(f"a role template may be at most {MAX_TEMPLATE_LENGTH} characters long")
    _render(source, {}, check_only=True)


def _render(source, user, *, check_only=False, as_json=False):
    out, position, inside_tojson = [], 0, None
    for tag in _TAG.finditer(source):
        text = source[position:tag.start()]
        position = tag.end()
        name = tag.group(1).strip()
        if inside_tojson is not None:
            if name != "/tojson":
                raise MappingRuleError(f"role template tag [{{{{{name}}}}}] inside [{{{{#tojson}}}}] is not supported; "
                                       "put one field name there")
            field = (inside_tojson + text).strip()
            if not _VARIABLE.fullmatch(field):
                raise MappingRuleError(f"[{{{{#tojson}}}}{field}{{{{/tojson}}}}] names no user field; supported: "
                                       + SUPPORTED)
            out.append(json.dumps(user_value(user, field)))
            inside_tojson = None
            continue
        out.append(text)
        if name == "#tojson":
            inside_tojson = ""
            continue
        if not _VARIABLE.fullmatch(name) or name == "groups" or tag.group(1)[:1] in "{&!#^/>=":
            raise MappingRuleError(f"role template tag [{{{{{tag.group(1)}}}}}] is not supported; supported: "
                                   + SUPPORTED)
        value = user_value(user, name)
        rendered = "" if value is None else value if isinstance(value, str) else json.dumps(value)
        out.append(json.dumps(rendered)[1:-1] if as_json else rendered)
    if inside_tojson is not None:
        raise MappingRuleError("role template opens [{{#tojson}}] without closing it with [{{/tojson}}]")
    if "{{" in source[position:]:
        raise MappingRuleError("role template has a [{{] that is never closed")
    out.append(source[position:])
    return None if check_only else "".join(out)


def roles_from_templates(templates: list[dict], user: dict) -> list[str]:
    """The role names `templates` give `user` (a template rendering nothing, or bad JSON, gives none)."""
    names = []
    for item in templates:
        as_json = item.get("format") == "json"
        rendered = _render(item["template"]["source"], user, as_json=as_json)
        if not as_json:
            names.append(rendered)
            continue
        try:
            value = json.loads(rendered)
        except ValueError:
            continue
        values = value if isinstance(value, list) else [value]
        names.extend(v for v in values if isinstance(v, str))
    return [name for name in names if name]
