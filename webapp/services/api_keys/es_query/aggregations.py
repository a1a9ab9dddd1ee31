"""Aggregations of the API key Query API: terms, filter, filters, range, date_range, missing, cardinality,
value_count and global, with sub-aggregations, computed with GROUP BY/COUNT over the matching keys.

Requests are checked whole before anything runs (as Elasticsearch verifies them), so a bad aggregation
never leaves half an answer.
"""

from collections.abc import Iterable

from peewee import SQL, ModelSelect, NodeList, fn

from webapp.model import ApiKey
from webapp.model.db import database, is_sqlite
from webapp.security.descriptors.fields import token
from webapp.services.api_keys.es_query import dsl
from webapp.services.api_keys.es_query import fields as f
from webapp.services.api_keys.es_query.date_math import parse_date_math

BUCKETING = ("terms", "filter", "filters", "range", "date_range", "missing", "global")
METRICS = ("cardinality", "value_count")
KNOWN_ELSEWHERE = (
    "avg", "sum", "min", "max", "stats", "extended_stats", "percentiles", "percentile_ranks", "top_hits",
    "histogram", "date_histogram", "auto_date_histogram", "composite", "nested", "reverse_nested",
    "significant_terms", "significant_text", "rare_terms", "multi_terms", "sampler", "diversified_sampler",
    "adjacency_matrix", "geo_distance", "geohash_grid", "geotile_grid", "ip_range", "variable_width_histogram",
    "scripted_metric", "weighted_avg", "median_absolute_deviation", "boxplot", "t_test", "rate", "string_stats",
    "top_metrics", "matrix_stats", "geo_bounds", "geo_centroid", "random_sampler", "time_series",
    "categorize_text", "frequent_item_sets",
)
PIPELINES = ("bucket_sort", "bucket_selector", "bucket_script", "avg_bucket", "sum_bucket", "max_bucket",
             "min_bucket", "stats_bucket", "extended_stats_bucket", "percentiles_bucket", "cumulative_sum",
             "derivative", "moving_fn", "serial_diff", "cumulative_cardinality", "normalize", "inference")
MAX_TERMS = 10_000
MAX_DEPTH = 10
TYPED_NAMES = {"filter": "filter", "filters": "filters", "range": "range", "date_range": "date_range",
               "missing": "missing", "cardinality": "cardinality", "value_count": "value_count",
               "global": "global"}
_OPTIONS = {
    "terms": ("field", "size", "min_doc_count", "order", "missing", "shard_size", "show_term_doc_count_error",
              "execution_hint", "collect_mode", "value_type", "format", "shard_min_doc_count"),
    "range": ("field", "ranges", "keyed", "format", "missing"),
    "date_range": ("field", "ranges", "keyed", "format", "missing", "time_zone"),
    "missing": ("field", "value_type"),
    "cardinality": ("field", "precision_threshold", "missing", "execution_hint"),
    "value_count": ("field", "value_type"),
    "filters": ("filters", "other_bucket", "other_bucket_key", "keyed"),
    "global": (),
}
# One checked aggregation: (name, type, body, sub-aggregations).
ParsedAggregation = tuple[str, str, object, list["ParsedAggregation"]]


def _error(reason, type="illegal_argument_exception"):
    return f.illegal(reason, type)


# ---- checking the request ----------------------------------------------------------------------------

def parse_aggregations(aggs: object, depth: int = 0) -> list[ParsedAggregation]:
    """[(name, type, body, sub-aggregations)] from an `aggs` object, refusing what ES refuses."""
    if not isinstance(aggs, dict):
        raise _error("Aggregation definition must be an object", "parsing_exception")
    if depth > MAX_DEPTH:
        raise _error(f"aggregations are nested more than {MAX_DEPTH} levels deep", "parsing_exception")
    parsed = []
    for name, definition in aggs.items():
        if any(char in name for char in "[]>"):
            raise _error(f"Invalid aggregation name [{name}]. Aggregation names can contain any character "
                         "except '[', ']', and '>'", "parsing_exception")
        if not isinstance(definition, dict):
            raise _error(f"Expected [START_OBJECT] under [{name}], but got a [{token(definition)}] in "
                         f"[{name}]", "parsing_exception")
        kinds = [key for key in definition if key not in ("aggs", "aggregations", "meta")]
        if not kinds:
            raise _error(f"Missing definition for aggregation [{name}]", "parsing_exception")
        if len(kinds) > 1:
            raise _error(f"Found two aggregation type definitions in [{name}]: [{kinds[0]}] and [{kinds[1]}]",
                         "parsing_exception")
        kind, body = kinds[0], definition[kinds[0]]
        if kind in PIPELINES:
            raise _error(f"Unsupported pipeline aggregation of type [{kind}]")
        if kind in KNOWN_ELSEWHERE:
            raise _error(f"Unsupported API Keys agg [{name}] of type [{kind}]")
        if kind not in BUCKETING and kind not in METRICS:
            raise _error(f"Unknown aggregation type [{kind}]", "parsing_exception")
        if not isinstance(body, dict) and not (kind == "filter" and body is not None):
            raise _error(f"Expected [START_OBJECT] under [{kind}], but got a [{token(body)}] in [{name}]",
                         "parsing_exception")
        if "aggs" in definition and "aggregations" in definition:
            raise _error(f"Found two sub aggregation definitions under [{name}]", "parsing_exception")
        sub = definition.get("aggs", definition.get("aggregations"))
        if sub is not None and kind in METRICS:
            raise _error(f"Aggregator [{name}] of type [{kind}] cannot accept sub-aggregations",
                         "aggregation_initialization_exception")
        _check_body(name, kind, body)
        parsed.append((name, kind, body, parse_aggregations(sub, depth + 1) if sub else []))
    return parsed


def _check_body(name, kind, body):
    if kind == "filter":
        dsl.condition(body)
        return
    for key in body:
        if key not in _OPTIONS[kind]:
            raise _error(f"[{kind}] unknown field [{key}]", "x_content_parse_exception")
    for option, valid, wanted in (("min_doc_count", lambda v: isinstance(v, int) and not isinstance(v, bool)
                                   and 0 <= v <= 2**31 - 1, "a whole number from 0 to 2147483647"),
                                  ("other_bucket_key", lambda v: isinstance(v, str), "a string"),
                                  ("other_bucket", lambda v: isinstance(v, bool), "true or false"),
                                  ("keyed", lambda v: isinstance(v, bool), "true or false")):
        if option in body and not valid(body[option]):
            raise _error(f"[{kind}] [{option}] must be {wanted} in [{name}]", "x_content_parse_exception")
    if kind == "filters":
        filters = body.get("filters")
        if not isinstance(filters, (dict, list)):
            raise _error("[filters] filters must be an object or an array", "parsing_exception")
        for query in (filters.values() if isinstance(filters, dict) else filters):
            dsl.condition(query)
        return
    if kind == "global":
        return
    if "field" not in body:
        raise _error(f"Required one of fields [field, script], but none were specified. in [{name}]")
    field = f.resolve(body["field"])
    if kind in ("range", "date_range") and field.kind != f.DATE:  # the only numeric fields are dates
        type_name = {f.KEYWORD: "keyword", f.FLATTENED: "flattened", f.BOOLEAN: "boolean"}[field.kind]
        raise _error(f"Field [{field.name}] of type [{type_name}] is not supported for aggregation [{kind}]")
    if kind == "terms":
        size = body.get("size", 10)
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise _error(f"[size] must be greater than 0. Found [{size}] in [{name}]")
        _order(body.get("order"))
    if kind in ("range", "date_range"):
        ranges = body.get("ranges")
        if not isinstance(ranges, list) or not ranges:
            raise _error(f"No [ranges] specified for the [{name}] aggregation")
        for entry in ranges:
            if not isinstance(entry, dict) or any(k not in ("from", "to", "key") for k in entry):
                raise _error("[range] ranges entries take [from], [to] and [key]", "x_content_parse_exception")
            for bound in ("from", "to"):
                if entry.get(bound) is not None:
                    _range_value(field, entry[bound])


def _order(order):
    """[(key or count, descending?)] from a terms `order`."""
    if order is None:
        return [("_count", True), ("_key", False)]
    entries = order if isinstance(order, list) else [order]
    parsed = []
    for entry in entries:
        if not isinstance(entry, dict) or len(entry) != 1:
            raise _error("[order] must be an object with one key", "parsing_exception")
        (key, direction), = entry.items()
        if key not in ("_count", "_key", "_term"):
            raise _error(f"Invalid aggregation order path [{key}]. Unknown aggregation [{key}]",
                         "aggregation_execution_exception")
        if direction not in ("asc", "desc"):
            raise _error(f"Unknown terms order direction [{direction}]", "parsing_exception")
        parsed.append(("_key" if key == "_term" else key, direction == "desc"))
    return parsed


def _range_value(field, value):
    return parse_date_math(value)


# ---- running it ---------------------------------------------------------------------------------------

def run_aggregations(parsed: Iterable[ParsedAggregation], base: ModelSelect, everything: ModelSelect,
                     typed_keys: bool = False) -> dict[str, object]:
    """{name: result} for parsed aggregations over the keys of `base` (`everything`: for `global`)."""
    results = {}
    for name, kind, body, sub in parsed:
        result = _RUNNERS[kind](body, base, everything, sub, typed_keys)
        label = name
        if typed_keys:
            label = f"{_typed_name(kind, body)}#{name}"
        results[label] = result
    return results


def _typed_name(kind, body):
    if kind == "terms":
        return "lterms" if f.resolve(body["field"]).kind in (f.DATE, f.BOOLEAN) else "sterms"
    return TYPED_NAMES[kind]


def _with_sub(result, query, everything, sub, typed_keys):
    if sub:
        result.update(run_aggregations(sub, query, everything, typed_keys))
    return result


def _count(query):
    return query.select(fn.COUNT(ApiKey.id)).scalar() or 0


def _filter(body, base, everything, sub, typed_keys):
    query = base.where(dsl.condition(body))
    return _with_sub({"doc_count": _count(query)}, query, everything, sub, typed_keys)


def _global(body, base, everything, sub, typed_keys):
    return _with_sub({"doc_count": _count(everything)}, everything, everything, sub, typed_keys)


def _filters(body, base, everything, sub, typed_keys):
    filters = body["filters"]
    items = list(filters.items()) if isinstance(filters, dict) else list(enumerate(filters))
    conditions = [(key, dsl.condition(query)) for key, query in items]
    buckets = []
    for key, condition in conditions:
        query = base.where(condition)
        buckets.append((key, _with_sub({"doc_count": _count(query)}, query, everything, sub, typed_keys)))
    if body.get("other_bucket") or body.get("other_bucket_key"):
        rest = base
        for _, condition in conditions:
            rest = rest.where(~condition)
        buckets.append((body.get("other_bucket_key", "_other_"),
                        _with_sub({"doc_count": _count(rest)}, rest, everything, sub, typed_keys)))
    keyed = body.get("keyed", isinstance(filters, dict))
    if keyed:
        return {"buckets": {str(key): bucket for key, bucket in buckets}}
    return {"buckets": [bucket for _, bucket in buckets]}


def _missing(body, base, everything, sub, typed_keys):
    query = base.where(~dsl.exists(f.resolve(body["field"])))
    return _with_sub({"doc_count": _count(query)}, query, everything, sub, typed_keys)


def _leaf_rows(field, base, select_sql, tail_sql="", tail_params=()):
    """Run SELECT `select_sql` over (matching key, leaf value `v`) pairs of a metadata field."""
    source, value, where, source_params, where_params = f.leaves(field)
    column = SQL("b.metadata")
    head = f.template(f"SELECT {select_sql.replace('{v}', value)} FROM (", [], column)
    rest = f.template(f") AS b, {source} WHERE {where}{tail_sql.replace('{v}', value)}",
                      [*source_params, *where_params, *tail_params], column)
    node = NodeList((head, base.select(ApiKey.id, ApiKey.metadata), rest), glue="")
    return list(database.execute(node))


def _terms(body, base, everything, sub, typed_keys):
    field = f.resolve(body["field"])
    size = min(body.get("size", 10), MAX_TERMS)
    min_count = body.get("min_doc_count", 1)
    order = _order(body.get("order"))
    if field.kind == f.FLATTENED:
        collate = "" if is_sqlite() else ' COLLATE "C"'  # keyword order is byte order, as in ES
        direction = ", ".join("COUNT(DISTINCT b.id) DESC" if key == "_count" and desc else
                             "COUNT(DISTINCT b.id) ASC" if key == "_count" else
                             f"{{v}}{collate} DESC" if desc else f"{{v}}{collate} ASC" for key, desc in order)
        rows = _leaf_rows(field, base, "{v}, COUNT(DISTINCT b.id)",
                          f" GROUP BY {{v}} HAVING COUNT(DISTINCT b.id) >= ? ORDER BY {direction} LIMIT ?",
                          (max(min_count, 1), size))
        total = _leaf_rows(field, base, "COUNT(*)")[0][0]
        pairs = [(key, count) for key, count in rows]
    else:
        column = field.column
        if "missing" in body and field.nullable:
            column = fn.COALESCE(column, f.typed(field, body["missing"]))
        counted = fn.COUNT(ApiKey.id)
        by_key = f.column_bytes(column) if field.kind == f.KEYWORD else column
        ordering = [(counted.desc() if desc else counted.asc()) if key == "_count"
                    else (by_key.desc() if desc else by_key.asc()) for key, desc in order]
        query = (base.select(column.alias("k"), counted.alias("n")).where(column.is_null(False))
                 .group_by(column).having(counted >= max(min_count, 1)).order_by(*ordering).limit(size))
        pairs = [(row[0], row[1]) for row in query.tuples()]
        total = _count(base.where(column.is_null(False)))
    buckets = []
    for key, count in pairs:
        bucket = _bucket_key(field, key)
        bucket["doc_count"] = count
        if sub:
            condition = f.equals(field, [key if field.kind != f.BOOLEAN else bool(key)])
            query = base.where(condition)
            bucket.update(run_aggregations(sub, query, everything, typed_keys))
        buckets.append(bucket)
    other = max(0, total - sum(count for _, count in pairs))
    return {"doc_count_error_upper_bound": 0, "sum_other_doc_count": other, "buckets": buckets}


def _bucket_key(field, key):
    if field.kind == f.DATE:
        return {"key": int(key), "key_as_string": f.format_date(int(key))}
    if field.kind == f.BOOLEAN:
        flag = bool(key) if not isinstance(key, str) else key == "true"
        return {"key": 1 if flag else 0, "key_as_string": "true" if flag else "false"}
    return {"key": key}


def _range(body, base, everything, sub, typed_keys):
    field = f.resolve(body["field"])
    buckets = []
    for entry in body["ranges"]:
        low = _range_value(field, entry["from"]) if entry.get("from") is not None else None
        high = _range_value(field, entry["to"]) if entry.get("to") is not None else None
        bounds = ([(">=", low)] if low is not None else []) + ([("<", high)] if high is not None else [])
        query = base.where(dsl.range_condition(field, bounds)) if bounds else base.where(dsl.exists(field))
        bucket = {"key": entry.get("key") or _range_key(field, low, high)}
        for name, value in (("from", low), ("to", high)):
            if value is not None:
                bucket[name] = float(value)
                bucket[f"{name}_as_string"] = f.format_date(int(value))
        bucket["doc_count"] = _count(query)
        buckets.append(_with_sub(bucket, query, everything, sub, typed_keys))
    if body.get("keyed"):
        return {"buckets": {bucket.pop("key"): bucket for bucket in buckets}}
    return {"buckets": buckets}


def _range_key(field, low, high):
    def text(value):
        """One end of a default range key: a date, or `*` when open."""
        if value is None:
            return "*"
        return f.format_date(int(value))

    return f"{text(low)}-{text(high)}"


def _cardinality(body, base, everything, sub, typed_keys):
    field = f.resolve(body["field"])
    if field.kind == f.FLATTENED:
        return {"value": _leaf_rows(field, base, "COUNT(DISTINCT {v})")[0][0]}
    distinct = fn.COUNT(NodeList((SQL("DISTINCT"), field.column)))
    return {"value": base.select(distinct).scalar() or 0}


def _value_count(body, base, everything, sub, typed_keys):
    field = f.resolve(body["field"])
    if field.kind == f.FLATTENED:
        return {"value": _leaf_rows(field, base, "COUNT(*)")[0][0]}
    return {"value": base.select(fn.COUNT(field.column)).scalar() or 0}


_RUNNERS = {
    "terms": _terms, "filter": _filter, "filters": _filters, "range": _range, "date_range": _range,
    "missing": _missing, "cardinality": _cardinality, "value_count": _value_count, "global": _global,
}
