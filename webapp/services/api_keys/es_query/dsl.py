"""Elasticsearch query DSL clauses -> a SQL condition (the Query APIs' subset), over the api_key table or,
given another FieldSet (es_query/field_sets.py), over users or roles.

Supported, as Elasticsearch supports them for API keys: bool, match_all, term, terms, match, prefix,
wildcard, exists, range, ids, simple_query_string. Other known queries answer ES's "not currently
supported in this context"; unknown ones ES's parsing_exception.
"""

import functools
import operator
from collections.abc import Mapping, Sequence

from peewee import Case, ColumnBase

from webapp.errors import DomainError
from webapp.security.descriptors.fields import token
from webapp.services.api_keys.es_query import fields as f
from webapp.services.api_keys.es_query.date_math import parse_date_math
from webapp.services.api_keys.es_query.fields import equals, parsing_error
from webapp.services.api_keys.es_query.simple_query_string import simple_query_string

SUPPORTED = ("bool", "match_all", "term", "terms", "match", "prefix", "wildcard", "exists", "range", "ids",
             "simple_query_string")
# Queries Elasticsearch knows but doesn't allow for API keys.
KNOWN_ELSEWHERE = (
    "match_none", "match_phrase", "match_phrase_prefix", "match_bool_prefix", "multi_match", "query_string",
    "regexp", "fuzzy", "nested", "has_child", "has_parent", "parent_id", "constant_score", "dis_max",
    "function_score", "boosting", "script", "script_score", "geo_shape", "geo_distance", "geo_bounding_box",
    "geo_polygon", "shape", "more_like_this", "percolate", "distance_feature", "rank_feature", "wrapper",
    "pinned", "intervals", "span_term", "span_near", "span_or", "span_not", "span_first", "span_multi",
    "span_containing", "span_within", "field_masking_span", "combined_fields", "knn", "sparse_vector",
    "text_expansion", "weighted_tokens", "semantic", "terms_set", "type", "rule",
)
COMMON = ("boost", "_name")
MAX_DEPTH = 20


def condition(query: object, depth: int = 0, fields: f.FieldSet = f.API_KEYS) -> ColumnBase:
    """The SQL condition for one query object such as {"term": {"name": "x"}}, over `fields`."""
    if depth > MAX_DEPTH:
        raise parsing_error(f"the query is nested more than {MAX_DEPTH} levels deep")
    if not isinstance(query, dict):
        raise parsing_error(f"[_na] query malformed, must start with start_object, found [{token(query)}]")
    if not query:
        raise parsing_error("query malformed, empty clause found")
    if len(query) > 1:
        first, second = list(query)[:2]
        raise parsing_error(f"[{first}] malformed query, expected [END_OBJECT] but found [FIELD_NAME] ([{second}])")
    name, body = next(iter(query.items()))
    if name in KNOWN_ELSEWHERE:
        raise f.illegal(f"Query type [{name}] is not currently supported in this context")
    if name not in SUPPORTED:
        error = parsing_error(f"unknown query [{name}]")
        error.extra = {"caused_by": {"type": "named_object_not_found_exception",
                                     "reason": f"unknown field [{name}]"}}
        raise error
    if not isinstance(body, dict):
        raise parsing_error(f"[{name}] query malformed, no start_object after query name")
    return _BUILDERS[name](body, depth, fields)


def _all(conditions):
    return functools.reduce(operator.and_, conditions) if conditions else f.TRUE


def _any(conditions):
    return functools.reduce(operator.or_, conditions) if conditions else f.FALSE


def _options(name, body, allowed):
    for key in body:
        if key not in allowed and key not in COMMON:
            raise parsing_error(f"[{name}] query does not support [{key}]")


# ---- compound -----------------------------------------------------------------------------------------

def _clauses(value, depth, fields):
    items = value if isinstance(value, list) else [value]
    return [condition(item, depth + 1, fields) for item in items]


def _bool(body, depth, fields):
    _options("bool", body, ("must", "filter", "should", "must_not", "minimum_should_match",
                            "adjust_pure_negative"))
    must = _clauses(body.get("must", []), depth, fields) + _clauses(body.get("filter", []), depth, fields)
    must_not = _clauses(body.get("must_not", []), depth, fields)
    should = _clauses(body.get("should", []), depth, fields)
    parts = list(must) + [~clause for clause in must_not]
    if should:
        wanted = _minimum_should_match(body.get("minimum_should_match"), len(should), bool(must or must_not))
        if wanted == 1:
            parts.append(_any(should))
        elif wanted > 1:
            matched = functools.reduce(operator.add, [Case(None, ((clause, 1),), 0) for clause in should])
            parts.append(matched >= wanted)
    return _all(parts)


def _minimum_should_match(value, count, has_required):
    if value is None:
        return 0 if has_required else 1
    text = str(value).strip()
    try:
        if text.endswith("%"):
            number = int(float(text[:-1]) * count / 100)
        else:
            number = int(text)
    except ValueError as error:
        raise parsing_error(f"[bool] failed to parse [minimum_should_match] value [{value}]") from error
    if number < 0:
        number = count + number
    return max(0, min(number, count)) if number > 0 else 0


def _match_all(body, depth, fields):
    _options("match_all", body, ())
    return f.TRUE


def _ids(body, depth, fields):
    _options("ids", body, ("values", "type", "types"))
    values = body.get("values", [])
    if not isinstance(values, list) or any(not isinstance(v, (str, int)) for v in values):
        raise parsing_error("[ids] values doesn't support values of this type")
    return fields.id_column.in_([str(v) for v in values]) if values else f.FALSE


# ---- field queries ------------------------------------------------------------------------------------

def _single_field(name, body, value_key="value"):
    """(field name, options) from {field: value} or {field: {value_key: ..., options}}."""
    fields = [key for key in body if key not in COMMON]
    if len(fields) != 1:
        if not fields:
            raise parsing_error(f"[{name}] query doesn't support an empty field")
        raise parsing_error(f"[{name}] query doesn't support multiple fields, found [{fields[0]}] and [{fields[1]}]")
    field_name = fields[0]
    spec = body[field_name]
    if isinstance(spec, dict):
        return field_name, dict(spec)
    return field_name, {value_key: spec}


def _term(body, depth, fields):
    field_name, options = _single_field("term", body)
    _options("term", options, ("value", "case_insensitive"))
    if "value" not in options:
        raise parsing_error("[term] query requires a value")
    field = fields.resolve(field_name)
    return equals(field, [options["value"]], case_insensitive=options.get("case_insensitive") is True)


def _terms(body, depth, fields):
    names = [key for key in body if key not in COMMON]
    if len(names) != 1:
        raise parsing_error("[terms] query requires exactly one field")
    values = body[names[0]]
    if isinstance(values, dict):
        raise f.illegal("terms query with terms lookup is not currently supported in this context")
    if not isinstance(values, list):
        raise parsing_error(f"[terms] query does not support [{names[0]}]")
    return equals(fields.resolve(names[0]), values)


def _match(body, depth, fields):
    field_name, options = _single_field("match", body, "query")
    _options("match", options, ("query", "operator", "analyzer", "fuzziness", "prefix_length", "max_expansions",
                                "fuzzy_transpositions", "lenient", "zero_terms_query", "minimum_should_match",
                                "auto_generate_synonyms_phrase_query", "fuzzy_rewrite"))
    if "query" not in options:
        raise parsing_error(f"[match] requires query value for field [{field_name}]")
    field = fields.resolve(field_name)
    # Every searchable field is a keyword, date or boolean: a match is a whole-value term, as in ES.
    try:
        return equals(field, [options["query"]])
    except DomainError:
        if options.get("lenient") is True:
            return f.FALSE
        raise


def _prefix(body, depth, fields):
    field_name, options = _single_field("prefix", body)
    _options("prefix", options, ("value", "case_insensitive", "rewrite"))
    value = options.get("value")
    if not isinstance(value, str):
        raise parsing_error("[prefix] query requires a string value")
    tokens = [("lit", char) for char in value] + [("any",)]
    return _like(fields.resolve(field_name), tokens, options.get("case_insensitive") is True, "prefix")


def _wildcard(body, depth, fields):
    field_name, options = _single_field("wildcard", body)
    _options("wildcard", options, ("value", "wildcard", "case_insensitive", "rewrite"))
    value = options.get("value", options.get("wildcard"))
    if not isinstance(value, str):
        raise parsing_error("[wildcard] query requires a string value")
    return _like(fields.resolve(field_name), f.wildcard_tokens(value), options.get("case_insensitive") is True,
                 "wildcard")


def _like(field, tokens, case_insensitive, query_name):
    if field.kind in (f.DATE, f.BOOLEAN):
        kind = "date" if field.kind == f.DATE else "boolean"
        if query_name == "prefix":
            raise f.illegal(f"Can only use prefix queries on keyword and text fields - not on [{field.name}] "
                            f"which is of type [{kind}]", "query_shard_exception")
        raise f.illegal(f"Can only use wildcard queries on keyword and text fields - not on [{field.name}] "
                        f"which is of type [{kind}]", "query_shard_exception")
    pattern = f.like_pattern(tokens, case_insensitive)
    if field.kind == f.FLATTENED:
        return f.metadata_like(field, pattern, case_insensitive)
    return f.column_like(field.column, pattern, case_insensitive)


def _exists(body, depth, fields):
    _options("exists", body, ("field",))
    name = body.get("field")
    if not isinstance(name, str):
        raise parsing_error("[exists] must be provided with a [field]")
    return exists(fields.resolve(name))


def exists(field: f.Field) -> ColumnBase:
    """The field has a value (a non-null column, or a metadata leaf)."""
    if field.kind == f.FLATTENED:
        return f.metadata_exists(field)
    return field.column.is_null(False) if field.nullable else f.TRUE


RANGE_OPTIONS = ("gt", "gte", "lt", "lte", "from", "to", "include_lower", "include_upper", "format",
                 "time_zone", "relation")


def _range(body, depth, fields):
    field_name, options = _single_field("range", body)
    _options("range", options, RANGE_OPTIONS)
    if options.get("relation") is not None:
        raise f.illegal("range query with relation is not currently supported in this context")
    return range_condition(fields.resolve(field_name), range_bounds(options))


def range_bounds(options: Mapping[str, object]) -> list[tuple[str, object]]:
    """[(SQL operator, raw value, rounding up?)] from gt/gte/lt/lte (or from/to with include_*)."""
    bounds = []
    if options.get("from") is not None:
        bounds.append((">=" if options.get("include_lower", True) else ">", options["from"]))
    if options.get("to") is not None:
        bounds.append(("<=" if options.get("include_upper", True) else "<", options["to"]))
    for key, op in (("gt", ">"), ("gte", ">="), ("lt", "<"), ("lte", "<=")):
        if options.get(key) is not None:
            bounds.append((op, options[key]))
    return bounds


def range_condition(field: f.Field, bounds: Sequence[tuple[str, object]]) -> ColumnBase:
    """The field compared with every (operator, value) bound, as its kind compares (dates, keywords...)."""
    if not bounds:
        return exists(field)
    if field.kind == f.FLATTENED:
        return f.metadata_range(field, [(op, f.keyword_value(value)) for op, value in bounds])
    if field.kind == f.DATE:
        # ES rounds date math up for gt/lte and down for gte/lt.
        converted = [(op, parse_date_math(value, round_up=op in (">", "<="))) for op, value in bounds]
        column = field.column
    elif field.kind == f.BOOLEAN:
        converted = [(op, f.boolean_value(value)) for op, value in bounds]
        column = field.column
    else:
        converted = [(op, f.keyword_value(value)) for op, value in bounds]
        column = f.column_bytes(field.column)
    comparisons = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
    return _all([comparisons[op](column, value) for op, value in converted])


def _simple_query_string(body, depth, fields):
    return simple_query_string(body, fields)


_BUILDERS = {
    "bool": _bool, "match_all": _match_all, "term": _term, "terms": _terms, "match": _match,
    "prefix": _prefix, "wildcard": _wildcard, "exists": _exists, "range": _range, "ids": _ids,
    "simple_query_string": _simple_query_string,
}
