"""Reading the parts of a role descriptor from decoded JSON, with Elasticsearch's error messages.

Elasticsearch parses role descriptors token by token, so its messages name JSON tokens (`START_ARRAY`,
`VALUE_STRING`, ...); `token()` gives the token a decoded Python value started with. Fields are read in
the order they appear, so the first problem in the document is the one reported, as in Elasticsearch.
"""

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from webapp.security.patterns import covered_by_any


class DescriptorError(ValueError):
    """A role descriptor (or privileges request) Elasticsearch would reject.

    `type` and `reason` are Elasticsearch's error type and message, `caused_by` an inner DescriptorError
    when Elasticsearch nests one, `field` the form field it belongs to (`indices[0].names`), and `errors`
    every (field, message) pair: several for a validation failure, one otherwise.
    """

    def __init__(self, type: str, reason: str, *, field: str | None = None,
                 caused_by: "DescriptorError | None" = None,
                 errors: Iterable[tuple[str | None, str]] | None = None, status: int = 400) -> None:
        super().__init__(reason)
        self.type = type
        self.reason = reason
        self.field = field
        self.caused_by = caused_by
        self.status = status
        self.errors = list(errors) if errors else [(field, self.detail)]

    @property
    def detail(self) -> str:
        """The innermost message: the most specific one to show next to a form field."""
        inner = self
        while inner.caused_by is not None:
            inner = inner.caused_by
        return inner.reason

    def to_dict(self) -> dict[str, object]:
        """The error object of Elasticsearch's envelope (whose `root_cause` is `[{type, reason}]`)."""
        body = {"type": self.type, "reason": self.reason}
        if self.caused_by is not None:
            body["caused_by"] = self.caused_by.to_dict()
        return body


PARSE = "parse_exception"
X_CONTENT_PARSE = "x_content_parse_exception"
ILLEGAL_ARGUMENT = "illegal_argument_exception"
REQUEST_VALIDATION = "action_request_validation_exception"


def string_items(value: object) -> tuple[str, ...]:
    """The strings of a field that holds a string or a list of them; anything else holds none."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def token(value: object) -> str:
    """The JSON token a value starts with, named as Elasticsearch's parser names it."""
    if value is None:
        return "VALUE_NULL"
    if isinstance(value, bool):
        return "VALUE_BOOLEAN"
    if isinstance(value, (int, float)):
        return "VALUE_NUMBER"
    if isinstance(value, str):
        return "VALUE_STRING"
    if isinstance(value, (list, tuple)):
        return "START_ARRAY"
    if isinstance(value, dict):
        return "START_OBJECT"
    return "VALUE_EMBEDDED_OBJECT"


def format_validation_failed(messages: Iterable[str]) -> str:
    """Elasticsearch's ActionRequestValidationException message: `Validation Failed: 1: a;2: b;`."""
    numbered = (f"{number}: {message};" for number, message in enumerate(messages, 1))
    return "Validation Failed: " + "".join(numbered)


def validation_error(problems: Sequence[tuple[str | None, str]], type: str = REQUEST_VALIDATION) -> DescriptorError:
    """A DescriptorError for a list of (field, message) problems."""
    return DescriptorError(type, format_validation_failed([message for _, message in problems]),
                           field=problems[0][0], errors=problems)


def parse_error(reason: str, field: str | None = None, *, type: str = PARSE,
                caused_by: DescriptorError | None = None) -> DescriptorError:
    return DescriptorError(type, reason, field=field, caused_by=caused_by)


def string_array_problem(field_name: str, value: object) -> str | None:
    """Why `value` isn't an array of strings (Elasticsearch's wording), or None when it is one."""
    start = f"could not parse [{field_name}] field. expected a string array but"
    if value is None:
        return f"{start} found null value instead"
    if not isinstance(value, list):
        return f"{start} found [{token(value)}] value instead"
    for item in value:
        if not isinstance(item, str):
            return f"{start} one of the value in the array is [{token(item)}]"
    return None


def read_string_array(outer_reason: str, field_name: str, value: object, *, allow_null: bool,
                      field: str | None) -> list[str] | None:
    """A list of strings; problems are reported as `outer_reason` caused by the specific one."""
    if value is None and allow_null:
        return None
    problem = string_array_problem(field_name, value)
    if problem:
        raise parse_error(outer_reason, field, caused_by=parse_error(problem, field))
    return list(value)


def role_reason(role: str) -> str:
    return f"failed to parse role [{role}]"


def uses_field_level_security(entry: Mapping[str, object]) -> bool:
    security = entry.get("field_security") or {}
    grant = security.get("grant")
    return bool(security.get("except")) or (grant is not None and grant != ["*"])


def uses_document_or_field_level_security(entry: Mapping[str, object]) -> bool:
    return entry.get("query") is not None or uses_field_level_security(entry)


def parse_index_entry(role: str, entry: object, list_field: str, path: str, *, remote: bool = False,
                      fixed_privileges: Sequence[str] | None = None) -> dict[str, object]:
    """One entry of `indices`, `remote_indices` or cross-cluster `access`, normalized as ES returns it."""
    prefix = f"failed to parse indices privileges for role [{role}]"
    expect_entry_object("indices privileges", role, entry, list_field, path)
    names = privileges = grant = denied = query = clusters = None
    allow_restricted = False
    for key, value in entry.items():
        here = f"{path}.{key}"
        if key == "names":
            if isinstance(value, str):
                names = [value]
            elif isinstance(value, list):
                names = read_string_array(role_reason(role), key, value, allow_null=False, field=here)
                if not names:
                    raise parse_error(f"{prefix}. [names] cannot be an empty array", here)
            else:
                raise parse_error(f"{prefix}. expected field [names] value to be a string or an array of "
                                  f"strings, but found [{token(value)}] instead", here)
        elif key == "allow_restricted_indices":
            if not isinstance(value, bool):
                raise parse_error(f"{prefix}. expected field [allow_restricted_indices] value to be a "
                                  f"boolean, but found [{token(value)}] instead", here)
            allow_restricted = value
        elif key == "query":
            if isinstance(value, dict):
                query = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            elif isinstance(value, str):
                query = value or None
            elif value is not None:
                raise parse_error(f"{prefix}. expected field [query] value to be null, a string, an array, "
                                  f"or an object, but found [{token(value)}] instead", here)
        elif key == "field_security":
            grant, denied = _parse_field_security(role, prefix, value, here)
        elif key == "privileges":
            if fixed_privileges is not None:
                raise parse_error(f"{prefix}. field [privileges] must not present", here)
            privileges = read_string_array(role_reason(role), key, value, allow_null=True, field=here)
        elif key == "fields":
            raise parse_error(f'["fields": [...]] format has changed for field permissions in role [{role}], '
                              'use ["field_security": {"grant":[...],"except":[...]}] instead', here)
        elif key == "transient_metadata":
            if not isinstance(value, dict):
                raise parse_error(f"failed to parse transient metadata for role [{role}]. expected "
                                  f'START_OBJECT but got {token(value)} in "transient_metadata".', here)
        elif key == "clusters" and remote:
            clusters = read_string_array(role_reason(role), key, value, allow_null=False, field=here)
        else:
            raise parse_error(f"{prefix}. unexpected field [{key}]", here)
    if names is None:
        raise parse_error(f"{prefix}. missing required [names] field", f"{path}.names")
    if fixed_privileges is not None:
        privileges = list(fixed_privileges)
    elif privileges is None:
        raise parse_error(f"{prefix}. missing required [privileges] field", f"{path}.privileges")
    if denied is not None and grant is None:
        raise parse_error(f"{prefix}. field_security requires grant if except is given",
                          f"{path}.field_security")
    if denied and not all(covered_by_any(grant, field_name) for field_name in denied):
        raise parse_error(f"{prefix} - Exceptions for field permissions must be a subset of the granted "
                          f"fields but {','.join(denied)} is not a subset of {','.join(grant)}",
                          f"{path}.field_security")
    normalized = {"names": names, "privileges": privileges}
    if grant is not None or denied is not None:
        security = {"grant": grant}
        if denied is not None:
            security["except"] = denied
        normalized["field_security"] = security
    if query is not None:
        _check_role_query(query, names, path)
        normalized["query"] = query
    normalized["allow_restricted_indices"] = allow_restricted
    if remote:
        if clusters is None:
            raise parse_error(f"failed to parse remote indices privileges for role [{role}]. missing "
                              "required [clusters] field", f"{path}.clusters")
        if not clusters:
            raise parse_error("the [remote_indices] sub-field [clusters] must refer to at least one cluster "
                              "alias or cluster alias pattern", f"{path}.clusters", type=ILLEGAL_ARGUMENT)
        normalized["clusters"] = clusters
    return normalized


# Where a query holds further queries (ES parses them all; the DLS check sees each one).
_INNER_QUERIES = {"bool": ("must", "should", "must_not", "filter"), "constant_score": ("filter",),
                  "function_score": ("query",), "boosting": ("positive", "negative"), "dis_max": ("queries",),
                  "nested": ("query",)}


def _refused_role_query(query):
    """ES's DLSRoleQueryValidator: why a role query can't be used (a query reading other documents), or None."""
    if not isinstance(query, dict):
        return None
    for name, body in query.items():
        if name in ("percolate", "has_child", "has_parent"):
            return f"{name} query isn't supported as part of a role query"
        if not isinstance(body, dict):
            continue
        if name == "terms" and any(isinstance(value, dict) for value in body.values()):
            return "terms query with terms lookup isn't supported as part of a role query"
        if name == "geo_shape" and any(isinstance(value, dict) and "indexed_shape" in value for value in body.values()):
            return "geoshape query referring to indexed shapes isn't supported as part of a role query"
        for clause in _INNER_QUERIES.get(name, ()):
            inner = body.get(clause)
            for item in inner if isinstance(inner, list) else [inner]:
                reason = _refused_role_query(item)
                if reason:
                    return reason
    return None


def _check_role_query(query, names, path):
    """Refuse a role query ES refuses when the role is stored (templates are checked only when used)."""
    try:
        parsed = json.loads(query)
    except ValueError:
        return
    reason = None if isinstance(parsed, dict) and "template" in parsed else _refused_role_query(parsed)
    if reason:
        position = re.search(r"\[(\d+)\]$", path)
        raise parse_error(f"failed to parse field 'query' for indices [{','.join(names)}] at index privilege "
                          f"[{position.group(1) if position else 0}] of role descriptor", f"{path}.query",
                          caused_by=DescriptorError(ILLEGAL_ARGUMENT, reason))


def _parse_field_security(role, prefix, value, here):
    if not isinstance(value, dict):
        found = token(value)
        raise parse_error(f'{prefix}. expected START_OBJECT but got {found} in "field_security".', here)
    if not value:
        raise parse_error(f'{prefix}. "field_security" must not be empty.', here)
    grant = denied = None
    for key, fields in value.items():
        if key == "grant":
            grant = read_string_array(role_reason(role), key, fields, allow_null=True, field=here)
            if grant is None:
                raise parse_error(f"{prefix}. grant must not be null.", here)
        elif key == "except":
            denied = read_string_array(role_reason(role), key, fields, allow_null=True, field=here)
            if denied is None:
                raise parse_error(f"{prefix}. except must not be null.", here)
        else:
            raise parse_error(
                f'{prefix}. "field_security" only accepts options grant and except, but got: {key}', here)
    return grant, denied


def expect_entry_object(what: str, role: str, entry: object, list_field: str, path: str) -> None:
    """ES's error for an element of an array of objects (`what`: `indices privileges`) that isn't one."""
    if not isinstance(entry, dict):
        raise parse_error(f"failed to parse {what} for role [{role}]. expected field [{list_field}] value to be "
                          f"an array of objects, but found an array element of type [{token(entry)}]", path)


def parse_array_of(role: str, value: object, list_field: str, path: str, what: str,
                   parse_entry: Callable[..., dict[str, object]], **options: object) -> list[dict[str, object]]:
    """An array of objects, each read by `parse_entry`; `what` names it in messages (`indices privileges`)."""
    if not isinstance(value, list):
        raise parse_error(f"failed to parse {what} for role [{role}]. expected field [{list_field}] value to "
                          f"be an array, but found [{token(value)}] instead", path)
    return [parse_entry(role, entry, list_field, f"{path}[{number}]", **options)
            for number, entry in enumerate(value)]
