"""Reading Elasticsearch-style requests: query parameters and JSON bodies, with Elasticsearch's messages.

Every problem raises a DomainError carrying ES's error type, so the API answers it in ES's envelope with a
4xx (never a 500). Body fields are declared per request like ES's object parsers declare them: a name and
the kind of value it takes; anything else is an unknown field.
"""

import difflib
import json
import re

from flask import request

from webapp.errors import DomainError
from webapp.security import limits
from webapp.security.descriptors.fields import token

# Parameters every Elasticsearch endpoint accepts (they shape the response, not the request).
RESPONSE_PARAMS = ("pretty", "human", "error_trace", "filter_path")
REFRESH_VALUES = ("true", "false", "wait_for", "")

X_CONTENT_PARSE = "x_content_parse_exception"
PARSE = "parse_exception"


def bad_request(reason, type="illegal_argument_exception", **extra):
    """A 400 DomainError with ES's error type (illegal_argument_exception unless told otherwise)."""
    return DomainError(reason, type=type, status=400, extra=extra or None)


# ---- query parameters ---------------------------------------------------------------------------------

def check_params(*allowed):
    """Refuse query parameters the endpoint doesn't know, as ES does (with its did-you-mean hint)."""
    if not request.environ.get("QUERY_STRING"):
        return
    known = set(allowed) | set(RESPONSE_PARAMS)
    unknown = [name for name in request.args if name not in known]
    if not unknown:
        return
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
        hint = f" -> did you mean {' or '.join(f'[{c}]' for c in close)}?" if close else ""
        parts.append(f"[{name}]{hint}")
    noun = "parameter" if len(unknown) == 1 else "parameters"
    raise bad_request(f"request [{request.path}] contains unrecognized {noun}: {', '.join(parts)}")


def parse_boolean(value, name):
    """ES's strict boolean: `true`, `false`, or empty (a bare `?flag` means true)."""
    if value in ("", "true"):
        return True
    if value == "false":
        return False
    raise bad_request(f"Failed to parse value [{value}] as only [true] or [false] are allowed.")


def bool_param(name, default=False):
    """A boolean query parameter (ES's strict parsing), `default` when absent."""
    value = request.args.get(name)
    return default if value is None else parse_boolean(value, name)


def string_param(name):
    """A query parameter's value, None when absent or empty."""
    value = request.args.get(name)
    return value if value else None


def refresh_param():
    """`refresh` is accepted on every write (Keydesk's writes are visible at once, so it changes nothing)."""
    value = request.args.get("refresh")
    if value is not None and value not in REFRESH_VALUES:
        raise bad_request(f"Unknown value for refresh: [{value}].")


def list_param(value):
    """A comma-separated path or query value: `a,b` -> ["a", "b"]."""
    return [part for part in (value or "").split(",") if part]


# ---- bodies -------------------------------------------------------------------------------------------

def _has_body():
    return bool(request.content_length) or bool(request.get_data(cache=True))


def json_body(required=False):
    """The request body decoded as JSON (None when there is none and it isn't required)."""
    if not _has_body():
        if required:
            raise bad_request("request body is required", type=PARSE)
        return None
    raw = request.get_data(cache=True)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise bad_request(f"Invalid UTF-8 in the request body at byte {error.start}", type=X_CONTENT_PARSE) \
            from error
    if not text.strip():
        if required:
            raise bad_request("request body is required", type=PARSE)
        return None
    try:
        value = limits.loads(text, parse_constant=_no_constant)  # the nesting is checked before decoding
    except limits.NestingTooDeep as error:
        raise bad_request(f"[{error.lineno}:{error.colno}] the request body is nested more than "
                          f"[{error.limit}] levels deep (objects and arrays)", type=X_CONTENT_PARSE) from error
    except json.JSONDecodeError as error:
        raise bad_request(f"[{error.lineno}:{error.colno}] {_json_problem(error)}", type=X_CONTENT_PARSE) \
            from error
    if value is None:
        raise bad_request("[1:1] Expected START_OBJECT but found VALUE_NULL", type=X_CONTENT_PARSE)
    return value


def _no_constant(name):
    raise json.JSONDecodeError(f"Non-standard token '{name}'", name, 0)


def _json_problem(error):
    message = error.msg
    if message.startswith("Expecting"):
        return f"Unexpected character: {message[0].lower()}{message[1:]}"
    return message


# Kinds of field values, named as ES's object parser names the value types it accepts.
STRING = "string"
STRING_OR_NULL = "string_or_null"
BOOLEAN = "boolean"
INT = "int"
OBJECT = "object"
OBJECT_OR_NULL = "object_or_null"
STRING_ARRAY = "string_array"
ARRAY = "array"
ANY = "any"


def _accepts(kind, value):
    if kind == ANY:
        return True
    if kind == STRING:
        return isinstance(value, str)
    if kind == STRING_OR_NULL:
        return value is None or isinstance(value, str)
    if kind == BOOLEAN:
        return isinstance(value, bool) or value in ("true", "false")
    if kind == INT:
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None) or (
            isinstance(value, float) and value.is_integer())
    if kind == OBJECT:
        return isinstance(value, dict)
    if kind == OBJECT_OR_NULL:
        return value is None or isinstance(value, dict)
    if kind == STRING_ARRAY:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    if kind == ARRAY:
        return isinstance(value, list)
    return False


def _convert(kind, value):
    if kind == BOOLEAN and isinstance(value, str):
        return value == "true"
    if kind == INT:
        return int(value)
    return value


def parse_object(body, parser, fields, *, required=()):
    """Check a request object against `fields` {name: kind}; returns {name: value} for the fields present.

    Unknown fields and values of the wrong type are refused with ES's object-parser messages; `required`
    names fields that must be present (ES's "Required [name]").
    """
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise bad_request(f"[{parser}] Expected START_OBJECT but was: {token(body)}", type=X_CONTENT_PARSE)
    parsed = {}
    for name, value in body.items():
        kind = fields.get(name)
        if kind is None:
            close = difflib.get_close_matches(name, sorted(fields), n=1, cutoff=0.7)
            hint = f" did you mean [{close[0]}]?" if close else ""
            raise bad_request(f"[{parser}] unknown field [{name}]{hint}", type=X_CONTENT_PARSE)
        if not _accepts(kind, value):
            if kind == STRING_ARRAY and isinstance(value, list):
                inner = next(item for item in value if not isinstance(item, str))
                reason = f"[{parser}] {name} doesn't support values of type: {token(inner)}"
            else:
                reason = f"[{parser}] {name} doesn't support values of type: {token(value)}"
            raise bad_request(reason, type=X_CONTENT_PARSE)
        parsed[name] = _convert(kind, value)
    missing = [name for name in required if name not in parsed]
    if missing:
        raise bad_request(f"Required [{', '.join(missing)}]")
    return parsed
