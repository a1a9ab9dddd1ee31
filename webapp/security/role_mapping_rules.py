"""Role-mapping rules (Elasticsearch's `any` / `all` / `field` / `except` DSL): parsing with clear messages, and
matching a user's fields (username, dn, groups, realm.name, metadata.*) against them.

A field rule's value is a string, number, boolean, null or a list of them (any one matching is enough). A string
is an exact value, a wildcard when it holds `*` or `?`, or a regular expression when written `/.../`; the whole
user value must match, as in Lucene. Flask-free and storage-free.
"""

import functools
import re

FIELDS = ("username", "dn", "groups", "realm.name")
MAX_DEPTH = 20  # nesting of any/all/except
MAX_FIELD_RULES = 1000
MAX_PATTERN_LENGTH = 1000
# Lucene regular-expression operators Python's `re` doesn't share (intersection, complement, any string,
# numeric ranges, the empty language): refused rather than read differently.
_LUCENE_ONLY = re.compile(r"(?<!\\)[&~@#<]")
# A repeated group that itself repeats, `(a+)+`: the shape whose matching time explodes on a near-miss.
_NESTED_REPEAT = re.compile(r"\((?:[^()\\]|\\.)*[*+}](?:[^()\\]|\\.)*\)[*+{]")


class MappingRuleError(ValueError):
    """A rule or template Keydesk can't take; `reason` is the message for the API and the form."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def parse_rules(value: object) -> dict:
    """Validate `rules`; returns it unchanged (a canonical copy). Raises MappingRuleError."""
    counter = [0]
    return _parse(value, "rules", 0, counter, allow_except=False)


def _parse(value, where, depth, counter, *, allow_except):
    if depth > MAX_DEPTH:
        raise MappingRuleError(f"failed to parse rules expression: nested more than {MAX_DEPTH} levels deep")
    if not isinstance(value, dict):
        raise MappingRuleError(f"failed to parse rules expression: [{where}] must be an object")
    if len(value) != 1:
        raise MappingRuleError(
            f"failed to parse rules expression: [{where}] must hold exactly one of [any, all, field, except], "
            f"found {len(value)} fields")
    (kind, inner), = value.items()
    if kind in ("any", "all"):
        if not isinstance(inner, list):
            raise MappingRuleError(f"failed to parse rules expression: [{kind}] must be an array of rules")
        return {kind: [_parse(item, kind, depth + 1, counter, allow_except=kind == "all") for item in inner]}
    if kind == "except":
        if not allow_except:
            raise MappingRuleError("failed to parse rules expression: [except] may only be used inside [all]")
        return {"except": _parse(inner, "except", depth + 1, counter, allow_except=False)}
    if kind == "field":
        counter[0] += 1
        if counter[0] > MAX_FIELD_RULES:
            raise MappingRuleError(f"failed to parse rules expression: more than {MAX_FIELD_RULES} field rules")
        return {"field": _parse_field(inner)}
    raise MappingRuleError(
        f"failed to parse rules expression: unknown rule [{kind}], expected one of [any, all, field, except]")


def _parse_field(inner):
    if not isinstance(inner, dict) or len(inner) != 1:
        raise MappingRuleError("failed to parse rules expression: [field] must name exactly one field")
    (name, expected), = inner.items()
    if name not in FIELDS and not (name.startswith("metadata.") and len(name) > len("metadata.")):
        raise MappingRuleError(
            f"failed to parse rules expression: field [{name}] is not one of [username, dn, groups, realm.name, "
            "metadata.*]")
    values = expected if isinstance(expected, list) else [expected]
    for item in values:
        if isinstance(item, (dict, list)):
            raise MappingRuleError(
                f"failed to parse rules expression: the value of field [{name}] must be a string, number, "
                "boolean, null or a list of them")
        if isinstance(item, str):
            _matcher(item)  # raises for a bad regular expression
    return {name: expected}


@functools.lru_cache(maxsize=1024)
def _matcher(text: str):
    """A compiled pattern for a wildcard or `/regex/` value; None for an exact value."""
    if len(text) > 1 and text.startswith("/") and text.endswith("/"):
        source = text[1:-1]
        if len(source) > MAX_PATTERN_LENGTH:
            raise MappingRuleError(f"the regular expression [{text[:50]}...] is longer than "
                                   f"{MAX_PATTERN_LENGTH} characters")
        if _LUCENE_ONLY.search(source) or "(?" in source or re.search(r"\\[1-9]", source):
            raise MappingRuleError(
                f"the regular expression [{text}] uses an operator Keydesk doesn't support (& ~ @ # <> (?...) "
                "or a back-reference); escape it with \\ to match the character itself")
        if _NESTED_REPEAT.search(source):
            raise MappingRuleError(f"the regular expression [{text}] repeats a group that repeats itself, which can "
                                   "take very long to match; write it without the nested repetition")
        try:
            return re.compile(source, re.DOTALL)
        except re.error as error:
            raise MappingRuleError(f"the regular expression [{text}] is not valid: {error}") from error
    if "*" in text or "?" in text:
        parts, i = [], 0
        while i < len(text):
            char = text[i]
            if char == "\\" and i + 1 < len(text):
                parts.append(re.escape(text[i + 1]))
                i += 2
                continue
            parts.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
            i += 1
        return re.compile("".join(parts), re.DOTALL)
    return None


def _value_matches(expected, actual) -> bool:
    if expected is None:
        return actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, (int, float)):
        return isinstance(actual, (int, float)) and expected == actual
    if not isinstance(actual, str):
        return False
    pattern = _matcher(expected)
    return expected == actual if pattern is None else pattern.fullmatch(actual) is not None


def user_value(user: dict, name: str):
    """The value of field `name` for `user` ({username, dn, groups, realm.name, metadata}); None when absent."""
    if name.startswith("metadata."):
        value = user.get("metadata") or {}
        for part in name[len("metadata."):].split("."):
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return value
    return user.get(name)


def matches(rules: dict, user: dict) -> bool:
    """True when `user` satisfies the (already parsed) `rules`."""
    (kind, inner), = rules.items()
    if kind == "any":
        return any(matches(rule, user) for rule in inner)
    if kind == "all":
        return all(matches(rule, user) for rule in inner)
    if kind == "except":
        return not matches(inner, user)
    (name, expected), = inner.items()
    actual = user_value(user, name)
    expected_values = expected if isinstance(expected, list) else [expected]
    actual_values = (actual or [None]) if isinstance(actual, list) else [actual]
    return any(_value_matches(e, a) for e in expected_values for a in actual_values)


def summary(rules: object) -> str:
    """A short readable sentence of `rules`: `groups is "ops" or username is like "adm-*"` (inner groups in
    parentheses)."""
    text = _summary(rules)
    if isinstance(rules, dict) and ("any" in rules or "all" in rules) and text.startswith("("):
        return text[1:-1]
    return text


def _summary(rules):
    if not isinstance(rules, dict) or len(rules) != 1:
        return "?"
    (kind, inner), = rules.items()
    if kind in ("any", "all") and isinstance(inner, list):
        if not inner:
            return "nobody" if kind == "any" else "everyone"
        parts = [_summary(rule) for rule in inner]
        joined = (" or " if kind == "any" else " and ").join(parts)
        return joined if len(parts) == 1 else f"({joined})"
    if kind == "except":
        return f"not {_summary(inner)}"
    if kind == "field" and isinstance(inner, dict) and len(inner) == 1:
        (name, expected), = inner.items()
        values = expected if isinstance(expected, list) else [expected]
        shown = " or ".join(_describe_value(value) for value in values) or "nothing"
        return f"{name} {shown}"
    return "?"


def _describe_value(value):
    if isinstance(value, str) and len(value) > 1 and value.startswith("/") and value.endswith("/"):
        return f"matches {value}"
    if isinstance(value, str) and ("*" in value or "?" in value):
        return f"is like \u201c{value}\u201d"
    if isinstance(value, str):
        return f"is \u201c{value}\u201d"
    return "is null" if value is None else f"is {str(value).lower() if isinstance(value, bool) else value}"
