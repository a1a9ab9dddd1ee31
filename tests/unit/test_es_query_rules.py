"""The Query API's rules that need no stored key: date math, and Elasticsearch's errors for bad queries."""

import pytest

from webapp.errors import DomainError
from webapp.services.api_keys.es_query.date_math import parse_date_math
from webapp.services.api_keys.es_query.dsl import condition

DAY = 86_400_000


def error_of(call, *args, **kwargs):
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_date_math_rounds_like_elasticsearch():
    now = 1_700_000_000_000  # 2023-11-14T22:13:20Z
    day_start = 1_699_920_000_000
    assert parse_date_math("now/d", now=now) == day_start
    assert parse_date_math("now/d", round_up=True, now=now) == day_start + DAY - 1
    assert parse_date_math("now-1d", now=now) == now - DAY
    assert parse_date_math("2023-11-14||+1M/M", now=now) == 1_701_388_800_000  # 2023-12-01
    assert parse_date_math(1234) == 1234
    assert error_of(parse_date_math, "now+1x").type == "parse_exception"


@pytest.mark.parametrize("query, kind, reason", [
    ({"foo": {}}, "parsing_exception", "unknown query [foo]"),
    ({"regexp": {"name": "a.*"}}, "illegal_argument_exception",
     "Query type [regexp] is not currently supported in this context"),
    ({"term": {"secret_hash": "x"}}, "illegal_argument_exception",
     "Field [secret_hash] is not allowed for querying or aggregation"),
    ({"term": {"na*": "x"}}, "illegal_argument_exception",
     "Field name pattern [na*] is not allowed for querying or aggregation"),
    ({"term": {"name": "a"}, "match": {"name": "b"}}, "parsing_exception",
     "[term] malformed query, expected [END_OBJECT] but found [FIELD_NAME] ([match])"),
    ({"term": {"name": "a", "type": "rest"}}, "parsing_exception",
     "[term] query doesn't support multiple fields, found [name] and [type]"),
    ({"terms": {"name": {"index": "x", "id": "y", "path": "z"}}}, "illegal_argument_exception",
     "terms query with terms lookup is not currently supported in this context"),
    ({"range": {"creation": {"gte": 1, "relation": "within"}}}, "illegal_argument_exception",
     "range query with relation is not currently supported in this context"),
    ({"prefix": {"creation": "1"}}, "query_shard_exception",
     "Can only use prefix queries on keyword and text fields - not on [creation] which is of type [date]"),
    ({"term": {"creation": "yesterday"}}, "parse_exception",
     "failed to parse date field [yesterday] with format [strict_date_optional_time||epoch_millis]"),
    ({"term": {"invalidated": "maybe"}}, "illegal_argument_exception",
     "Can't parse boolean value [maybe], expected [true] or [false]"),
    ({"match": {"name": {"query": "a", "fuzzy": 1}}}, "parsing_exception", "[match] query does not support [fuzzy]"),
    ({}, "parsing_exception", "query malformed, empty clause found"),
    ([], "parsing_exception", "[_na] query malformed, must start with start_object, found [START_ARRAY]"),
])
def test_bad_queries_get_elasticsearchs_errors(query, kind, reason):
    error = error_of(condition, query)
    assert (error.type, error.reason, error.status) == (kind, reason, 400)
