"""The Query API's DSL, sorting, paging and aggregations, and the Get API's rules, on a real database."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import count
from tests.integration.test_api_http import EXTREMES
from webapp.errors import DomainError
from webapp.model import ApiKey
from webapp.services.access.system import system_subject
from webapp.services.api_keys.es_query import search as key_query
from webapp.services.api_keys.es_query.dsl import condition

DAY = 86_400_000
NOW = 1_700_000_000_000  # 2023-11-14T22:13:20Z


def _key(key_id, name, *, creation, owner="alice", realm="native", key_type="rest", expiration=None,
         invalidated=False, metadata=None):
    return ApiKey.create(
        id=key_id, name=name, type=key_type, owner_username=owner, owner_realm=realm, owner_realm_type=realm,
        creation=creation, expiration=expiration, invalidated=invalidated,
        invalidation=creation + DAY if invalidated else None, secret_hash="ssha256$x$y",
        role_descriptors={}, limited_by=[{}], metadata=metadata or {},
        managed=(metadata or {}).get("managed") is True)


@pytest.fixture
def keys(db):
    """Six keys with a spread of names, owners, types, dates and metadata."""
    _key("k1", "alpha", creation=NOW - 5 * DAY, metadata={"env": "prod", "tags": ["a", "b"], "n": 5})
    _key("k2", "alpha-2", creation=NOW - 4 * DAY, expiration=NOW - DAY, metadata={"env": "dev", "flag": True})
    _key("k3", "Beta", creation=NOW - 3 * DAY, owner="bob", expiration=NOW + 10 * DAY,
         metadata={"env": "prod", "team": {"name": "core"}})
    _key("k4", "gamma_x", creation=NOW - 2 * DAY, owner="bob", invalidated=True, metadata={"tags": ["b"]})
    _key("k5", "cc", creation=NOW - DAY, owner="carol", realm="reserved", key_type="cross_cluster")
    _key("k6", "alpha*star", creation=NOW, metadata={"env": "Prod"})
    return ["k1", "k2", "k3", "k4", "k5", "k6"]


def found(query):
    return sorted(key.id for key in ApiKey.select().where(condition(query)))


def error_of(call, *args, **kwargs):
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    return caught.value


# ---- leaf queries -------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, expected", [
    ({"term": {"name": "alpha"}}, ["k1"]),
    ({"term": {"name": {"value": "beta"}}}, []),
    ({"term": {"name": {"value": "beta", "case_insensitive": True}}}, ["k3"]),
    ({"term": {"username": "bob"}}, ["k3", "k4"]),
    ({"term": {"realm_name": "reserved"}}, ["k5"]),
    ({"term": {"type": "cross_cluster"}}, ["k5"]),
    ({"term": {"invalidated": True}}, ["k4"]),
    ({"term": {"invalidated": "false"}}, ["k1", "k2", "k3", "k5", "k6"]),
    ({"term": {"creation": NOW - DAY}}, ["k5"]),
    ({"terms": {"name": ["alpha", "cc", "nothing"]}}, ["k1", "k5"]),
    ({"match": {"name": "alpha"}}, ["k1"]),
    ({"match": {"name": {"query": "Beta"}}}, ["k3"]),
    ({"ids": {"values": ["k2", "k9"]}}, ["k2"]),
    ({"match_all": {}}, ["k1", "k2", "k3", "k4", "k5", "k6"]),
])
def test_term_like_queries(keys, query, expected):
    assert found(query) == expected


@pytest.mark.parametrize("query, expected", [
    ({"term": {"metadata.env": "prod"}}, ["k1", "k3"]),
    ({"term": {"metadata.env": {"value": "prod", "case_insensitive": True}}}, ["k1", "k3", "k6"]),
    ({"term": {"metadata.tags": "b"}}, ["k1", "k4"]),  # an array matches when any element does
    ({"term": {"metadata.n": 5}}, ["k1"]),  # leaves are keywords: 5 matches "5"
    ({"term": {"metadata.flag": True}}, ["k2"]),
    ({"term": {"metadata.team.name": "core"}}, ["k3"]),
    ({"term": {"metadata.team": "core"}}, []),  # an object has no value of its own
    ({"term": {"metadata": "core"}}, ["k3"]),  # `metadata` itself holds every leaf
    ({"terms": {"metadata.env": ["dev", "Prod"]}}, ["k2", "k6"]),
    ({"exists": {"field": "metadata.tags"}}, ["k1", "k4"]),
    ({"prefix": {"metadata.env": "pr"}}, ["k1", "k3"]),
    ({"wildcard": {"metadata.env": {"value": "P*", "case_insensitive": True}}}, ["k1", "k3", "k6"]),
    ({"range": {"metadata.env": {"gte": "prod"}}}, ["k1", "k3"]),  # byte order: "Prod" < "dev" < "prod"
])
def test_metadata_is_searched_like_a_flattened_field(keys, query, expected):
    assert found(query) == expected


@pytest.mark.parametrize("query, expected", [
    ({"prefix": {"name": "alpha"}}, ["k1", "k2", "k6"]),
    ({"prefix": {"name": "beta"}}, []),
    ({"prefix": {"name": {"value": "beta", "case_insensitive": True}}}, ["k3"]),
    ({"wildcard": {"name": "al*a"}}, ["k1"]),
    ({"wildcard": {"name": {"value": "alpha-?"}}}, ["k2"]),
    ({"wildcard": {"name": {"wildcard": "*_x"}}}, ["k4"]),  # `_` is literal, not SQL's any-character
    ({"wildcard": {"name": "alpha\\*star"}}, ["k6"]),  # an escaped `*` is a literal star
    ({"exists": {"field": "expiration"}}, ["k2", "k3"]),
    ({"exists": {"field": "name"}}, ["k1", "k2", "k3", "k4", "k5", "k6"]),
])
def test_prefix_wildcard_and_exists(keys, query, expected):
    assert found(query) == expected


def test_ranges_on_dates_take_epoch_millis_iso_dates_and_date_math(keys, monkeypatch):
    monkeypatch.setattr("webapp.services.api_keys.es_query.date_math.now_ms", lambda: NOW)
    assert found({"range": {"creation": {"gte": NOW - 2 * DAY}}}) == ["k4", "k5", "k6"]
    assert found({"range": {"creation": {"gt": "now-2d", "lt": "now"}}}) == ["k5"]
    assert found({"range": {"expiration": {"lte": "now"}}}) == ["k2"]  # keys with no expiration never match
    assert found({"range": {"creation": {"lt": "2023-11-11"}}}) == ["k1", "k2"]
    assert found({"range": {"creation": {"from": NOW - DAY, "to": NOW, "include_upper": False}}}) == ["k5"]
    assert found({"range": {"name": {"gte": "alpha", "lt": "b"}}}) == ["k1", "k2", "k6"]


def test_bool_combines_clauses(keys):
    assert found({"bool": {"must": [{"prefix": {"name": "alpha"}}],
                           "must_not": {"exists": {"field": "expiration"}}}}) == ["k1", "k6"]
    assert found({"bool": {"should": [{"term": {"name": "cc"}}, {"term": {"username": "bob"}}]}}) == [
        "k3", "k4", "k5"]
    assert found({"bool": {"filter": {"term": {"username": "bob"}},
                           "should": {"term": {"name": "nothing"}}}}) == ["k3", "k4"]
    assert found({"bool": {"should": [{"term": {"username": "bob"}}, {"term": {"metadata.env": "prod"}},
                                      {"exists": {"field": "expiration"}}],
                           "minimum_should_match": 2}}) == ["k3"]
    assert found({"bool": {}}) == keys


@pytest.mark.parametrize("body, expected", [
    ({"query": "alpha"}, ["k1"]),
    ({"query": "alpha*"}, ["k1", "k2", "k6"]),
    ({"query": "alpha* -alpha-2"}, ["k1", "k2", "k3", "k4", "k5", "k6"]),  # OR'ed negation, as in Lucene
    ({"query": "alpha* -alpha-2", "default_operator": "AND"}, ["k1", "k6"]),
    ({"query": "alpha* +bob", "fields": ["name", "username"]}, []),
    ({"query": "alpha* bob", "fields": ["name", "username"], "default_operator": "and"}, []),
    ({"query": "bob | cc", "fields": ["username", "name"]}, ["k3", "k4", "k5"]),
    ({"query": '"alpha*star"', "fields": ["name"]}, ["k6"]),
    ({"query": "prod", "fields": ["metadata"]}, ["k1", "k3"]),
    ({"query": "(bob) +-Beta", "fields": ["na*", "username"]}, ["k4"]),
    ({"query": "alpha", "fields": ["secret_hash"]}, []),  # fields it may not search: matches nothing
])
def test_simple_query_string(keys, body, expected):
    assert found({"simple_query_string": body}) == expected


# ---- the Query API: paging, sorting, aggregations, visibility ------------------------------------------

def query(**request):
    return key_query.query_api_keys(system_subject(), **request)


def test_total_count_and_default_paging(keys):
    result = query(query={"term": {"username": "alice"}})
    assert (result["total"], result["count"]) == (3, 3)
    assert [k["id"] for k in result["api_keys"]] == ["k1", "k2", "k6"]  # oldest first without a sort
    assert "_sort" not in result["api_keys"][0]
    assert query(size=2, **{"from_": 1})["count"] == 2
    assert query(size=0)["api_keys"] == [] and query(size=0)["total"] == 6


def test_sort_reports_sort_values_and_puts_missing_values_last(keys):
    result = query(sort=[{"expiration": "asc"}, "name"])
    assert [k["id"] for k in result["api_keys"]] == ["k2", "k3", "k1", "k6", "k5", "k4"]
    assert result["api_keys"][0]["_sort"] == [NOW - DAY, "alpha-2"]
    assert result["api_keys"][2]["_sort"] == [9_223_372_036_854_775_807, "alpha"]
    descending = query(sort=[{"expiration": {"order": "desc"}}, {"name": "desc"}])
    assert [k["id"] for k in descending["api_keys"]][:2] == ["k3", "k2"]
    assert descending["api_keys"][-1]["_sort"][0] == -9_223_372_036_854_775_808
    by_flag = query(sort=["invalidated", {"creation": "desc"}])
    assert by_flag["api_keys"][-1]["_sort"] == [True, NOW - 2 * DAY]
    by_env = query(sort=["metadata.env", "name"])
    assert [k["id"] for k in by_env["api_keys"]] == ["k6", "k2", "k3", "k1", "k5", "k4"]  # byte order
    assert by_env["api_keys"][-1]["_sort"] == [None, "gamma_x"]


def test_search_after_walks_every_key_once(keys):
    seen, after = [], None
    while True:
        page = query(sort=[{"name": "asc"}], size=2, search_after=after)
        if not page["api_keys"]:
            break
        seen += [k["id"] for k in page["api_keys"]]
        after = page["api_keys"][-1]["_sort"]
    assert seen == ["k3", "k1", "k6", "k2", "k5", "k4"]  # byte order: upper case first
    with_missing = query(sort=["metadata.env", "name"], search_after=["prod", "alpha"])
    assert [k["id"] for k in with_missing["api_keys"]] == ["k5", "k4"]
    dates = query(sort=[{"expiration": "asc"}, "name"], search_after=[NOW + 10 * DAY, "Beta"])
    assert [k["id"] for k in dates["api_keys"]] == ["k1", "k6", "k5", "k4"]


@pytest.mark.parametrize("request_, kind, reason", [
    ({"from_": 9_995, "size": 6}, "illegal_argument_exception",
     "Result window is too large, from + size must be less than or equal to: [10000] but was [10001]. See the "
     "scroll api for a more efficient way to request large data sets. This limit can be set by changing the "
     "[index.max_result_window] index level setting."),
    ({"from_": -1, "size": -2}, "action_request_validation_exception",
     "Validation Failed: 1: [from] parameter cannot be negative but was [-1];2: [size] parameter cannot be "
     "negative but was [-2];"),
    ({"search_after": ["a"]}, "illegal_argument_exception", "Sort must contain at least one field."),
    ({"sort": ["name", "creation"], "search_after": ["a"]}, "illegal_argument_exception",
     "search_after has 1 value(s) but sort has 2."),
    ({"sort": ["name"], "search_after": ["a"], "from_": 3}, "action_request_validation_exception",
     "Validation Failed: 1: `from` parameter must be set to 0 when `search_after` is used.;"),
    ({"sort": [{"name": "sideways"}]}, "illegal_argument_exception", "Unknown SortOrder [sideways]"),
    ({"sort": ["secret_hash"]}, "illegal_argument_exception",
     "Field [secret_hash] is not allowed for querying or aggregation"),
    ({"aggs": {"x": {"avg": {"field": "creation"}}}}, "illegal_argument_exception",
     "Unsupported API Keys agg [x] of type [avg]"),
    ({"aggs": {"x": {"nonsense": {}}}}, "parsing_exception", "Unknown aggregation type [nonsense]"),
    ({"aggs": {"x": {"range": {"field": "name", "ranges": [{"to": 1}]}}}}, "illegal_argument_exception",
     "Field [name] of type [keyword] is not supported for aggregation [range]"),
    ({"aggs": {"x": {"terms": {"field": "name", "size": 0}}}}, "illegal_argument_exception",
     "[size] must be greater than 0. Found [0] in [x]"),
    ({"aggs": {"x": {"cardinality": {"field": "name"}, "aggs": {"y": {"missing": {"field": "name"}}}}}},
     "aggregation_initialization_exception", "Aggregator [x] of type [cardinality] cannot accept sub-aggregations"),
    ({"aggs": {"x[1]": {"missing": {"field": "name"}}}}, "parsing_exception",
     "Invalid aggregation name [x[1]]. Aggregation names can contain any character except '[', ']', and '>'"),
])
def test_bad_query_requests(keys, request_, kind, reason):
    error = error_of(query, **request_)
    assert (error.type, error.reason) == (kind, reason)


def test_aggregations(keys, monkeypatch):
    monkeypatch.setattr("webapp.services.api_keys.es_query.date_math.now_ms", lambda: NOW)
    result = query(size=0, query={"bool": {"must_not": {"term": {"invalidated": True}}}}, aggs={
        "envs": {"terms": {"field": "metadata.env"}},
        "tags": {"terms": {"field": "metadata.tags", "size": 1}},
        "types": {"terms": {"field": "type"}, "aggs": {"owners": {"cardinality": {"field": "username"}}}},
        "flags": {"terms": {"field": "invalidated"}},
        "recent": {"range": {"field": "creation", "ranges": [{"to": "now-3d"}, {"from": "now-3d", "key": "new"}]}},
        "status": {"filters": {"filters": {"expiring": {"exists": {"field": "expiration"}}},
                               "other_bucket_key": "never"}},
        "no_expiry": {"missing": {"field": "expiration"}},
        "tag_values": {"value_count": {"field": "metadata.tags"}},
        "alice": {"filter": {"term": {"username": "alice"}}, "aggs": {"names": {"value_count": {"field": "name"}}}},
        "everyone": {"global": {}},
    })
    aggs = result["aggregations"]
    assert result["total"] == 5 and result["api_keys"] == []
    assert aggs["envs"] == {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [
        {"key": "prod", "doc_count": 2}, {"key": "Prod", "doc_count": 1}, {"key": "dev", "doc_count": 1}]}
    assert aggs["tags"]["buckets"] == [{"key": "a", "doc_count": 1}] and aggs["tags"]["sum_other_doc_count"] == 1
    assert aggs["types"]["buckets"] == [{"key": "rest", "doc_count": 4, "owners": {"value": 2}},
                                        {"key": "cross_cluster", "doc_count": 1, "owners": {"value": 1}}]
    assert aggs["flags"]["buckets"] == [{"key": 0, "key_as_string": "false", "doc_count": 5}]
    old, new = aggs["recent"]["buckets"]
    assert (old["key"], old["doc_count"], old["to"]) == ("*-2023-11-11T22:13:20.000Z", 2, float(NOW - 3 * DAY))
    assert (new["key"], new["doc_count"], new["from_as_string"]) == ("new", 3, "2023-11-11T22:13:20.000Z")
    assert aggs["status"] == {"buckets": {"expiring": {"doc_count": 2}, "never": {"doc_count": 3}}}
    assert aggs["no_expiry"] == {"doc_count": 3}
    assert aggs["tag_values"] == {"value": 2}
    assert aggs["alice"] == {"doc_count": 3, "names": {"value": 3}}
    assert aggs["everyone"] == {"doc_count": 6}


def test_typed_keys_prefix_aggregation_names(keys):
    aggs = key_query.query_api_keys(system_subject(), size=0, typed_keys=True, aggs={
        "a": {"terms": {"field": "name"}}, "b": {"terms": {"field": "creation"}}, "c": {"missing": {"field": "name"}},
    })["aggregations"]
    assert sorted(aggs) == ["lterms#b", "missing#c", "sterms#a"]
    assert aggs["lterms#b"]["buckets"][0]["key_as_string"].endswith("Z")


def test_own_key_users_query_only_their_keys(keys, make_user, subject_of):
    alice = subject_of(make_user("alice", ["api_key_user"]))
    result = key_query.query_api_keys(alice, aggs={"owners": {"terms": {"field": "username"}}})
    assert [k["id"] for k in result["api_keys"]] == ["k1", "k2", "k6"]
    assert result["aggregations"]["owners"]["buckets"] == [{"key": "alice", "doc_count": 3}]
    # ES: a user may ask for the limited-by descriptors of their own keys (an own-keys-only API key may not)
    assert all("limited_by" in k for k in key_query.query_api_keys(alice, with_limited_by=True)["api_keys"])
    nobody = subject_of(make_user("nobody", []))
    assert error_of(key_query.query_api_keys, nobody).reason.startswith(
        "action [cluster:admin/xpack/security/api_key/query] is unauthorized for user [nobody]")


# ---- the Get API --------------------------------------------------------------------------------------

def test_get_filters(keys, monkeypatch):
    monkeypatch.setattr("webapp.services.api_keys.es_query.search.now_ms", lambda: NOW)
    admin = system_subject()

    def ids(**filters):
        return [k["id"] for k in key_query.get_api_keys(admin, **filters)]

    assert ids() == ["k1", "k2", "k3", "k4", "k5", "k6"]
    assert ids(name="alpha*") == ["k1", "k2", "k6"]
    assert ids(name="alpha") == ["k1"]
    assert ids(username="bob", realm_name="native") == ["k3", "k4"]
    assert ids(active_only=True) == ["k1", "k3", "k5", "k6"]
    assert ids(key_id="k5") == ["k5"]
    assert "limited_by" in key_query.get_api_keys(admin, key_id="k1", with_limited_by=True)[0]


def test_get_request_validation(db):
    error = error_of(key_query.get_api_keys, system_subject(), key_id="a", name="b", username="c", owner=True)
    assert error.type == "action_request_validation_exception"
    assert error.reason == (
        "Validation Failed: 1: username or realm name must not be specified when the api key id or api key name "
        "is specified;2: neither username nor realm-name may be specified when retrieving owned API keys;3: only "
        "one of [api key id, api key name] can be specified;")


def test_own_key_users_must_ask_for_their_own_keys(keys, make_user, subject_of):
    alice = subject_of(make_user("alice", ["api_key_user"]))
    assert [k["id"] for k in key_query.get_api_keys(alice, owner=True)] == ["k1", "k2", "k6"]
    assert [k["id"] for k in key_query.get_api_keys(alice, username="alice", realm_name="native")] == [
        "k1", "k2", "k6"]
    refused = error_of(key_query.get_api_keys, alice)
    assert refused.status == 403 and refused.reason == (
        "action [cluster:admin/xpack/security/api_key/get] is unauthorized for user [alice] with effective roles "
        "[api_key_user], this action is granted by the cluster privileges [read_security,manage_api_key,"
        "manage_security,all]")
    assert all("limited_by" in k for k in key_query.get_api_keys(alice, owner=True, with_limited_by=True))


def test_any_simple_query_string_is_answered_without_a_crash(keys):
    import random

    alphabet = ['a', 'lpha', '*', '+', '|', '-', '(', ')', '"', ' ', '\\', '~2', 'bob']
    generator = random.Random(5)
    for _ in range(300):
        text = "".join(generator.choice(alphabet) for _ in range(generator.randint(0, 12)))
        try:
            found({"simple_query_string": {"query": text, "fields": ["name", "username"]}})
        except DomainError as error:
            assert error.status == 400
    deep = error_of(condition, {"simple_query_string": {"query": "(" * 50 + "a" + ")" * 50}})
    assert deep.type == "parsing_exception"


def test_nesting_is_bounded(keys):
    query = {"match_all": {}}
    for _ in range(30):
        query = {"bool": {"must": [query]}}
    assert error_of(condition, query).reason == "the query is nested more than 20 levels deep"
    aggs = {"leaf": {"missing": {"field": "name"}}}
    for level in range(12):
        aggs = {f"level{level}": {"filter": {"match_all": {}}, "aggs": aggs}}
    assert error_of(key_query.query_api_keys, system_subject(), aggs=aggs).reason == (
        "aggregations are nested more than 10 levels deep")


FIELDS = ["name", "type", "creation", "expiration", "invalidated", "metadata", "metadata.env", "id", "nope", "*"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**13), st.floats(allow_nan=False, width=32),
                    st.sampled_from(["", "now-1d", "a*", "2024-01-01", "prod", "x\\y", "%_"]), EXTREMES)
JSONISH = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(FIELDS + ["value", "gte", "lt", "query", "must", "should", "field", "size",
                                              "order", "ranges", "filters", "terms", "term", "bool", "range",
                                              "match", "prefix", "exists", "ids", "values", "aggs",
                                              "min_doc_count", "missing", "keyed", "other_bucket_key",
                                              "other_bucket", "from", "to", "key"]),
                    inner, max_size=3)), max_leaves=12)
QUERIES = st.one_of(JSONISH, st.builds(lambda kind, body: {kind: body}, st.sampled_from(
    ["bool", "term", "terms", "match", "prefix", "wildcard", "exists", "range", "ids", "simple_query_string",
     "match_all", "fuzzy"]), JSONISH))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=QUERIES, aggs=st.one_of(st.none(), st.dictionaries(st.sampled_from(["a", "b"]), st.one_of(
    JSONISH, st.builds(lambda kind, body: {kind: body}, st.sampled_from(
        ["terms", "range", "filter", "filters", "missing", "cardinality", "value_count", "date_range"]), JSONISH)),
    max_size=2)), sort=st.one_of(st.none(), JSONISH), after=st.one_of(st.none(), JSONISH))
def test_no_request_makes_the_query_api_fail_other_than_with_a_400(keys, query, aggs, sort, after):
    """Any query, aggregation, sort and search_after, extreme numbers, dates and date math included."""
    count("fuzz: random key queries (query, aggs, sort, search_after)")
    try:
        key_query.query_api_keys(system_subject(), query=query, aggs=aggs, sort=sort, search_after=after)
    except DomainError as error:
        assert 400 <= error.status < 500 and error.reason


DATE_FIELDS = ["creation", "expiration", "invalidation"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(DATE_FIELDS), bound=st.sampled_from(["gt", "gte", "lt", "lte", "from", "to"]),
       value=EXTREMES, where=st.sampled_from(["range", "term", "date_range", "search_after"]))
def test_date_math_and_numbers_at_their_extremes_are_a_date_or_a_400(keys, field, bound, value, where):
    """Every place a date is read (range and term queries, date_range buckets, search_after on a date sort):
    a value is a date within years 1 to 9999, or ES's parse_exception; never an overflow."""
    count("fuzz: date math, epoch millis and dates at their extremes")
    requests = {
        "range": {"query": {"range": {field: {bound: value}}}},
        "term": {"query": {"term": {field: value}}},
        "date_range": {"aggs": {"a": {"date_range": {"field": field, "ranges": [{bound if bound in (
            "from", "to") else "from": value}]}}}},
        "search_after": {"sort": [field], "search_after": [value]},
    }
    try:
        answer = key_query.query_api_keys(system_subject(), **requests[where])
    except DomainError as error:
        assert error.status == 400 and error.type in ("parse_exception", "illegal_argument_exception",
                                                      "parsing_exception", "x_content_parse_exception"), error
    else:
        assert answer["count"] <= len(keys)


@pytest.mark.parametrize("query", [
    {"range": {"creation": {"gte": "now-99999999999y"}}},
    {"range": {"expiration": {"gte": "now+9999999y"}}},
    {"range": {"creation": {"lt": "9999-12-31||+1d"}}},
    {"range": {"invalidation": {"gte": 10**30}}},
    {"range": {"creation": {"gte": "9" * 30}}},
    {"range": {"creation": {"gte": "now+" + "9" * 5000 + "d"}}},
    {"term": {"creation": -(2**63) - 1}},
])
def test_dates_beyond_the_years_1_to_9999_are_a_parse_exception(keys, query):
    error = error_of(condition, query)
    assert error.status == 400 and error.type == "parse_exception"
    (value,) = next(iter(next(iter(query.values())).values())).values() if "range" in query else [
        query["term"]["creation"]]
    assert error.reason == f"failed to parse date field [{value}] with format [strict_date_optional_time||epoch_millis]"


def test_the_last_and_first_dates_held_are_searchable(keys):
    assert found({"range": {"creation": {"gte": "0001-01-01", "lte": "9999-12-31T23:59:59.999Z"}}}) == keys
    assert found({"range": {"creation": {"lte": "9999-12-31||/y"}}}) == keys
    assert found({"range": {"creation": {"gt": "9999-12-31||/y"}}}) == []
