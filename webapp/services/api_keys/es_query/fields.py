"""The fields the Query APIs can search, sort and aggregate on, and the SQL each comparison becomes.

A FieldSet names one API's fields: API_KEYS here (the API key Query API); es_query/field_sets.py holds the
user and role ones. The DSL (dsl.py), simple_query_string and sorting resolve names through the set they
are given, so their parsing and messages are written once for all three.

Field names are Elasticsearch's (`username`, `realm_name`, `creation`, `metadata.<path>`...). Metadata is
stored as JSON text and searched as Elasticsearch's `flattened` type does: every leaf value is a keyword,
an array matches when any element does. JSON is read with the database's own functions (SQLite json_each,
PostgreSQL jsonb), the only place where the SQL differs between the two.
"""

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from peewee import SQL, ColumnBase, Function, NodeList, fn

from webapp.errors import DomainError
from webapp.model import ApiKey
from webapp.model.db import database, is_sqlite

KEYWORD, DATE, BOOLEAN, FLATTENED = "keyword", "date", "boolean", "flattened"
DATE_FORMAT = "strict_date_optional_time||epoch_millis"
# Dates are bounded to the years strict_date_optional_time writes with four digits (and Python's datetime
# holds): 0001-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z. Anything beyond is refused as unparseable.
MIN_DATE_MS = -62_135_596_800_000
MAX_DATE_MS = 253_402_300_799_999
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TRUE = SQL("1 = 1")
FALSE = SQL("1 = 0")


@dataclass(frozen=True)
class Field:
    """A searchable field. FLATTENED fields are keywords read from a subquery of values (`leaves`): the
    metadata leaves at `path` in the JSON column `document`, or what `source` lists (a user's roles...)."""
    name: str
    kind: str
    column: object = None  # the model field; None for metadata
    nullable: bool = False
    path: tuple = ()  # metadata keys below `metadata` (empty: the whole object)
    sortable: bool = True
    document: object = None  # the column `{col}` stands for in leaves() (None: the api_key's metadata column)
    source: object = None  # callable(field) -> leaves() tuple, when not the api_key metadata's leaves


_COLUMNS = {
    "name": (KEYWORD, ApiKey.name, False),
    "type": (KEYWORD, ApiKey.type, False),
    "username": (KEYWORD, ApiKey.owner_username, False),
    "realm_name": (KEYWORD, ApiKey.owner_realm, False),
    "realm": (KEYWORD, ApiKey.owner_realm, False),  # Keydesk also takes the name the key objects use
    "id": (KEYWORD, ApiKey.id, False),  # Keydesk extension; Elasticsearch only searches ids with `ids`
    "creation": (DATE, ApiKey.creation, False),
    "expiration": (DATE, ApiKey.expiration, True),
    "invalidation": (DATE, ApiKey.invalidation, True),
    "invalidated": (BOOLEAN, ApiKey.invalidated, False),
}


def illegal(reason: str, type: str = "illegal_argument_exception") -> DomainError:
    """A 400 DomainError with ES's error type."""
    return DomainError(reason, type=type, status=400)


def parsing_error(reason: str) -> DomainError:
    """ES's parsing_exception (400) for a malformed query."""
    return DomainError(reason, type="parsing_exception", status=400)


def equals(field: Field, values: Iterable[object], case_insensitive: bool = False) -> ColumnBase:
    """The field equals any of `values` (converted for its kind)."""
    if field.kind == FLATTENED:
        return metadata_equals(field, [keyword_value(v) for v in values], case_insensitive)
    converted = [typed(field, value) for value in values]
    if not converted:
        return FALSE
    column = field.column
    if case_insensitive and field.kind == KEYWORD:
        return fn.LOWER(column).in_([value.lower() for value in converted])
    return column == converted[0] if len(converted) == 1 else column.in_(converted)


class FieldSet:
    """The fields one Query API may search: {name: (kind, column, nullable)} columns, other prebuilt Fields
    (`extra`), a flattened `metadata` (`metadata`: (JSON column, leaves source) or None), the names
    `*` patterns of simple_query_string stand for, the column `ids` matches and `_doc` sorts by."""

    def __init__(self, columns, *, pattern_names, id_column, extra=None, metadata=None, unsortable=(),
                 sort_whole_metadata=False):
        self.columns, self.extra, self.metadata = columns, extra or {}, metadata
        self.pattern_names, self.id_column, self.unsortable = pattern_names, id_column, frozenset(unsortable)
        self.sort_whole_metadata = sort_whole_metadata

    def resolve(self, name: object) -> Field:
        """The Field for a query-level field name; ES's message for patterns and unknown fields."""
        if not isinstance(name, str):
            raise illegal(f"Field [{name}] is not allowed for querying or aggregation")
        if "*" in name:
            raise illegal(f"Field name pattern [{name}] is not allowed for querying or aggregation")
        if name in self.columns:
            kind, column, nullable = self.columns[name]
            return Field(name, kind, column, nullable, sortable=name not in self.unsortable)
        if name in self.extra:
            return self.extra[name]
        if self.metadata is not None and (name == "metadata" or (
                name.startswith("metadata.") and all(name[len("metadata."):].split(".")))):
            path = tuple(name.split(".")[1:])
            document, source = self.metadata
            return Field(name, FLATTENED, None, True, path, sortable=bool(path) or self.sort_whole_metadata,
                         document=document, source=source)
        raise illegal(f"Field [{name}] is not allowed for querying or aggregation")

    def pattern_fields(self, pattern: str) -> list[Field]:
        """The searchable fields a simple_query_string field name or pattern (`*`, `na*`) stands for."""
        if "*" not in pattern:
            try:
                return [self.resolve(pattern)]
            except DomainError:
                return []  # simple_query_string ignores fields it can't search
        regex = re.compile(".*".join(re.escape(part) for part in pattern.split("*")))
        return [self.resolve(n) for n in self.pattern_names if regex.fullmatch(n)]


API_KEYS = FieldSet(_COLUMNS, id_column=ApiKey.id, metadata=(None, None), pattern_names=(
    "name", "type", "username", "realm_name", "creation", "expiration", "invalidated", "invalidation", "metadata"))
resolve = API_KEYS.resolve  # the API key fields (aggregations, and callers that name no set)
pattern_fields = API_KEYS.pattern_fields


# ---- values -------------------------------------------------------------------------------------------

def keyword_value(value: object) -> str:
    """A term value as the keyword string it is compared with."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise illegal(f"[term] query does not support a value of type [{type(value).__name__}]", "parsing_exception")


def boolean_value(value: object) -> bool:
    """A term value for a boolean field: true/false or their strings, else ES's message."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false", ""):
        return value == "true"
    raise illegal(f"Can't parse boolean value [{value}], expected [true] or [false]")


def date_value(value: object, field_name: str = "date") -> int:
    """Epoch milliseconds from epoch_millis or an ISO-8601 date/time (ES's default date format), within
    MIN_DATE_MS..MAX_DATE_MS; ES's parse_exception for anything else."""
    if isinstance(value, bool) or value is None:
        raise _date_error(value, field_name)
    parsed = None
    if isinstance(value, (int, float)):
        parsed = int(value) if not isinstance(value, float) or math.isfinite(value) else None
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?[0-9]{1,20}", text) and not re.fullmatch(r"[0-9]{4}", text):
            parsed = int(text)
        else:
            parsed = _parse_iso(text)
    if parsed is None or not in_date_range(parsed):
        raise _date_error(value, field_name)
    return parsed


def in_date_range(ms: int) -> bool:
    """Whether epoch ms `ms` is a date Keydesk can store, compare and print (years 1 to 9999)."""
    return MIN_DATE_MS <= ms <= MAX_DATE_MS


def _date_error(value, field_name):
    return illegal(f"failed to parse date field [{value}] with format [{DATE_FORMAT}]", "parse_exception")


def _parse_iso(text):
    candidate = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    if re.fullmatch(r"[0-9]{4}", candidate):
        candidate += "-01-01"
    elif re.fullmatch(r"[0-9]{4}-[0-9]{2}", candidate):
        candidate += "-01"
    try:
        moment = datetime.fromisoformat(candidate)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return to_ms(moment)
    except (ValueError, OverflowError):
        return None


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime, exactly (sub-millisecond parts dropped)."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    """The aware UTC datetime of epoch milliseconds `ms` (within the date range), exactly."""
    return EPOCH + timedelta(milliseconds=ms)


def format_date(ms: int) -> str:
    """Epoch ms as ES prints dates: 2024-05-01T12:00:00.000Z."""
    moment = from_ms(ms)
    return f"{moment.year:04d}" + moment.strftime("-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def typed(field: Field, value: object, query_name: str = "term") -> str | bool | int:
    """A query value converted for the field's kind (string, bool or epoch ms)."""
    if field.kind == DATE:
        return date_value(value, field.name)
    if field.kind == BOOLEAN:
        return boolean_value(value)
    return keyword_value(value)


# ---- metadata (flattened) SQL -------------------------------------------------------------------------

def _param():
    return database.param


def template(text: str, params: Iterable[object], col: ColumnBase = ApiKey.metadata) -> NodeList:
    """SQL from `text` where `{col}` is the metadata column and `?` the parameters, in order."""
    pieces = text.split("{col}")
    values = iter(params)
    nodes = []
    for number, piece in enumerate(pieces):
        count = piece.count("?")
        nodes.append(SQL(piece.replace("?", _param()), [next(values) for _ in range(count)]))
        if number < len(pieces) - 1:
            nodes.append(col)
    return NodeList(nodes, glue="")


def leaves(field: Field) -> tuple[str, str, str, list[object], list[object]]:
    """How to list a key's leaf values at the field's path: (FROM text, value text, WHERE text, FROM params,
    WHERE params), with `{col}` standing for the metadata column."""
    if field.source is not None:
        return field.source(field)
    if is_sqlite():
        value = ("CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
                 "ELSE CAST(j.value AS TEXT) END")
        where = "j.type NOT IN ('object', 'array', 'null')"
        if not field.path:
            return "json_tree({col}) AS j", value, where, [], []
        path = "$" + "".join('."' + key.replace('"', '""') + '"' for key in field.path)
        # A path naming an object has no value of its own (its leaves have longer paths).
        where += " AND COALESCE(json_type({col}, ?), '') <> 'object'"
        return "json_each({col}, ?) AS j", value, where, [path], [path]
    value = "(j.value #>> '{}')"
    where = "jsonb_typeof(j.value) NOT IN ('object', 'array', 'null')"
    if not field.path:
        return "jsonb_path_query(CAST({col} AS jsonb), 'strict $.**') AS j(value)", value, where, [], []
    at = "(CAST({col} AS jsonb) #> CAST(? AS text[]))"
    source = (f"jsonb_array_elements(CASE jsonb_typeof({at}) WHEN 'array' THEN {at} WHEN 'object' THEN "
              f"CAST('[]' AS jsonb) ELSE jsonb_build_array({at}) END) AS j(value)")
    return source, value, where, [list(field.path)] * 3, []


def _document(field, col):
    return col if col is not None else (field.document if field.document is not None else ApiKey.metadata)


def leaf_condition(field: Field, comparison: str, params: Iterable[object],
                   col: ColumnBase | None = None) -> NodeList:
    """EXISTS a leaf value at the field's path for which `comparison` (SQL with `{v}` for it) holds."""
    source, value, where, source_params, where_params = leaves(field)
    text = f"EXISTS (SELECT 1 FROM {source} WHERE {where} AND " + comparison.replace("{v}", value) + ")"
    return template(text, [*source_params, *where_params, *params], _document(field, col))


def metadata_equals(field: Field, values: Iterable[str], case_insensitive: bool = False) -> ColumnBase:
    """A metadata leaf equals one of `values` (keyword comparison)."""
    values = list(values)
    if not values:
        return FALSE
    if case_insensitive:
        comparison = "LOWER({v}) IN (" + ", ".join("LOWER(?)" for _ in values) + ")"
    else:
        comparison = "{v} IN (" + ", ".join("?" for _ in values) + ")"
    return leaf_condition(field, comparison, values)


def metadata_like(field: Field, pattern: str, case_insensitive: bool) -> NodeList:
    """A leaf matching a pattern built by `like_pattern`."""
    if is_sqlite():
        comparison = "{v} LIKE ? ESCAPE '\\'" if case_insensitive else "{v} GLOB ?"
    else:
        comparison = "{v} ILIKE ? ESCAPE '\\'" if case_insensitive else "{v} LIKE ? ESCAPE '\\'"
    return leaf_condition(field, comparison, [pattern])


def metadata_range(field: Field, bounds: Sequence[tuple[str, str]]) -> NodeList:
    """A leaf compared as a keyword (byte order) with every (operator, value) bound."""
    collate = "" if is_sqlite() else ' COLLATE "C"'
    comparison = " AND ".join(f"{{v}}{collate} {op} ?" for op, _ in bounds) or "1 = 1"
    return leaf_condition(field, comparison, [value for _, value in bounds])


def leaf_sort_value(field: Field, descending: bool) -> NodeList:
    """The value a key sorts by on a metadata field: its lowest leaf (highest when descending), as ES."""
    source, value, where, source_params, where_params = leaves(field)
    collate = "" if is_sqlite() else ' COLLATE "C"'
    pick = "MAX" if descending else "MIN"
    return template(f"(SELECT {pick}({value}{collate}) FROM {source} WHERE {where})",
                    [*source_params, *where_params], _document(field, None))


def coalesce(column: ColumnBase, value: object) -> Function:
    """The column, or `value` where it is null."""
    return fn.COALESCE(column, value)


def metadata_exists(field: Field) -> NodeList:
    """The metadata path holds at least one non-null leaf."""
    return leaf_condition(field, "{v} IS NOT NULL", [])


# ---- wildcard and prefix patterns ---------------------------------------------------------------------

def wildcard_tokens(pattern: str) -> list[tuple[str, ...]]:
    """ES wildcard syntax as tokens: ("lit", c), ("any",) for `*`, ("one",) for `?`; `\\` escapes."""
    tokens, escaped = [], False
    for char in pattern:
        if escaped:
            tokens.append(("lit", char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "*":
            tokens.append(("any",))
        elif char == "?":
            tokens.append(("one",))
        else:
            tokens.append(("lit", char))
    if escaped:
        tokens.append(("lit", "\\"))
    return tokens


def like_pattern(tokens: Iterable[tuple[str, ...]], case_insensitive: bool) -> str:
    """The tokens as the pattern `metadata_like`/`column_like` expect on this database."""
    glob = is_sqlite() and not case_insensitive
    out = []
    for item in tokens:
        if item[0] == "any":
            out.append("*" if glob else "%")
        elif item[0] == "one":
            out.append("?" if glob else "_")
        else:
            char = item[1]
            if glob:
                out.append(f"[{char}]" if char in "*?[" else char)
            else:
                out.append("\\" + char if char in "%_\\" else char)
    return "".join(out)


def column_like(column: ColumnBase, pattern: str, case_insensitive: bool) -> NodeList:
    """A keyword column matching a pattern built by `like_pattern`."""
    if is_sqlite():
        if case_insensitive:
            return NodeList((column, SQL("LIKE"), SQL(_param(), [pattern]), SQL("ESCAPE '\\'")))
        return NodeList((column, SQL("GLOB"), SQL(_param(), [pattern])))
    operator = "ILIKE" if case_insensitive else "LIKE"
    return NodeList((column, SQL(operator), SQL(_param(), [pattern]), SQL("ESCAPE '\\'")))


def column_bytes(column: ColumnBase) -> ColumnBase:
    """A keyword column compared in byte order (ES's keyword order) on both databases."""
    return column if is_sqlite() else NodeList((column, SQL('COLLATE "C"')))
