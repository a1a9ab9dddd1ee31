"""How much Keydesk accepts in one request, shared by the JSON API, the HTML forms and the services.

The whole request body is capped by KEYDESK_MAX_REQUEST_BYTES (config.py, enforced by Flask/Werkzeug). The
limits here bound what fits inside that body:

- JSON nesting: at most MAX_JSON_DEPTH levels of objects and arrays, checked on the raw text before it is
  decoded (Python's decoder would otherwise run out of stack on a few thousand levels). 100 leaves room for
  the deepest query the Query API accepts (20 nested bool queries take about 62 levels) and is far beyond
  any real role descriptor or metadata.
- Metadata (API keys, role descriptors, users): at most MAX_METADATA_BYTES as compact UTF-8 JSON.
- Role descriptors: at most MAX_ROLE_DESCRIPTORS on one API key (create, update and bulk update alike).
- Ids: at most MAX_IDS_PER_REQUEST API key ids in one invalidate or bulk update (the keys page's delete too).
- Roles: a user holds at most MAX_ROLES_PER_USER roles; one bulk put or delete names at most
  MAX_ROLES_PER_BULK roles.

Names, descriptions and profile fields have their own lengths where they are checked (api_keys, descriptors,
users), as Elasticsearch defines them.
"""

import json
import math
import re
from itertools import accumulate

MAX_JSON_DEPTH = 100
MAX_METADATA_BYTES = 64 * 1024
MAX_ROLE_DESCRIPTORS = 100
MAX_IDS_PER_REQUEST = 1000
MAX_ROLES_PER_USER = 100
MAX_ROLES_PER_BULK = 1000

# A JSON string (its brackets don't nest anything); an unterminated one runs to the end of the text, so a
# match starting at any quote succeeds and the scan stays linear. And the tokens the depth scan looks at.
_STRING_PATTERN = r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)'
_STRING = re.compile(_STRING_PATTERN, re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_TOKEN = re.compile(_STRING_PATTERN + r"|[\[\]{}]", re.DOTALL)
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class NestingTooDeep(json.JSONDecodeError):
    """JSON nested deeper than the limit. A JSONDecodeError (so a ValueError), with the line and column of
    the bracket that went one level too deep, so every caller that reports bad JSON reports this too."""

    def __init__(self, doc: str, pos: int, limit: int = MAX_JSON_DEPTH):
        super().__init__(f"nested more than {limit} levels deep", doc, pos)
        self.limit = limit


def check_nesting(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise NestingTooDeep when the JSON text nests objects and arrays more than `limit` levels deep.

    Works on text that isn't valid JSON too (brackets inside strings don't count), without decoding it.
    """
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8", "replace")
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if len(brackets) <= limit or max(accumulate(map(_STEP.__getitem__, brackets))) <= limit:
        return
    depth = 0
    for match in _TOKEN.finditer(text):  # find where it happens, for the message
        step = _STEP.get(match.group())
        if step:
            depth += step
            if depth > limit:
                raise NestingTooDeep(text, match.start(), limit)
    raise NestingTooDeep(text, 0, limit)


_LONG_NUMBER = re.compile(r"\d{4301,}")


class _BeyondDouble(ValueError):
    """A number too large for a double (1e309 would decode as infinity, which no JSON store takes)."""


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _BeyondDouble(text)
    return value


def loads(text: str | bytes, limit: int = MAX_JSON_DEPTH, **options: object) -> object:
    """json.loads after the nesting check. Every problem is a JSONDecodeError (NestingTooDeep for too deep):
    never a RecursionError, nor the plain ValueError Python raises for an integer of over 4300 digits; a
    number beyond a double's range (1e309) is one too."""
    check_nesting(text, limit)
    options.setdefault("parse_float", _finite_float)
    try:
        return json.loads(text, **options)
    except json.JSONDecodeError:
        raise
    except _BeyondDouble as error:
        doc = text if isinstance(text, str) else bytes(text).decode("utf-8", "replace")
        raise json.JSONDecodeError(f"Numeric value ({error}) out of range of double", doc,
                                   max(doc.find(str(error)), 0)) from error
    except RecursionError as error:  # cannot happen within the limit; kept as a guard
        raise NestingTooDeep(text if isinstance(text, str) else "", 0, limit) from error
    except ValueError as error:
        doc = text if isinstance(text, str) else bytes(text).decode("utf-8", "replace")
        found = _LONG_NUMBER.search(doc)
        raise json.JSONDecodeError("Number has more than 4300 digits", doc, found.start() if found else 0) \
            from error


def json_size(value: object) -> int:
    """Bytes of `value` as compact UTF-8 JSON: what a size limit on stored JSON counts."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass"))


def metadata_size_problem(metadata: object, what: str) -> str | None:
    """The message when `metadata` is over MAX_METADATA_BYTES (`what` names it: "API key metadata"), or None."""
    if not metadata:
        return None
    size = json_size(metadata)
    if size <= MAX_METADATA_BYTES:
        return None
    return f"{what} may not be more than {MAX_METADATA_BYTES} bytes long as JSON, found {size} bytes"


def _over(count: int, limit: int, message: str) -> str | None:
    return None if count <= limit else message.format(limit=limit, count=count)


def role_descriptors_count_problem(count: int) -> str | None:
    return _over(count, MAX_ROLE_DESCRIPTORS, "an API key may have at most {limit} role descriptors, found {count}")


def ids_count_problem(count: int) -> str | None:
    return _over(count, MAX_IDS_PER_REQUEST, "at most {limit} API key ids may be given in one request, found {count}")


def roles_count_problem(count: int) -> str | None:
    return _over(count, MAX_ROLES_PER_USER, "a user may hold at most {limit} roles, found {count}")


def bulk_roles_count_problem(count: int) -> str | None:
    return _over(count, MAX_ROLES_PER_BULK, "at most {limit} roles may be given in one request, found {count}")
