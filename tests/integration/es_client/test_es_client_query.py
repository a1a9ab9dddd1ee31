"""The Query API through the official client: queries, sort, from/size and search_after paging, aggregations."""

import uuid

import pytest
from elasticsearch import BadRequestError


@pytest.fixture(scope="module")
def fleet(elastic, connect):
    """A user with 12 keys of its own (3 teams, some with expiry), queried through that user's client."""
    name = f"fleet-{uuid.uuid4().hex[:8]}"
    elastic.security.put_user(username=name, password="fleet-password", roles=["api_key_user"])
    client = connect(basic_auth=(name, "fleet-password"))
    ids = []
    for number in range(12):
        team = ("red", "green", "blue")[number % 3]
        created = client.security.create_api_key(
            name=f"agent-{number:02d}", expiration="30d" if number % 4 == 0 else None,
            metadata={"team": team, "tags": ["fleet", f"n{number}"], "managed": number == 11})
        ids.append(created["id"])
    client.security.invalidate_api_key(ids=[ids[5]], owner=True)
    return name, client, ids


def test_a_user_queries_only_their_keys(fleet, elastic):
    name, client, ids = fleet
    elastic.security.create_api_key(name="agent-99")  # someone else's
    everything = client.security.query_api_keys(size=100)
    assert everything["total"] == 12 and {k["username"] for k in everything["api_keys"]} == {name}
    assert elastic.security.query_api_keys(query={"term": {"username": name}})["total"] == 12


def test_queries(fleet):
    _, client, ids = fleet
    active_red = client.security.query_api_keys(query={"bool": {
        "filter": [{"term": {"metadata.team": "red"}}, {"term": {"invalidated": False}}]}})
    assert active_red["total"] == 4
    assert client.security.query_api_keys(query={"ids": {"values": ids[:3]}})["total"] == 3
    assert client.security.query_api_keys(query={"prefix": {"name": "agent-1"}})["total"] == 2
    assert client.security.query_api_keys(query={"wildcard": {"name": "agent-?5"}})["total"] == 1
    assert client.security.query_api_keys(query={"exists": {"field": "expiration"}})["total"] == 3
    assert client.security.query_api_keys(query={"range": {"expiration": {"gt": "now+29d", "lte": "now+31d"}}})[
        "total"] == 3
    assert client.security.query_api_keys(query={"term": {"metadata.tags": "n7"}})["api_keys"][0]["id"] == ids[7]
    assert client.security.query_api_keys(query={"match": {"metadata.managed": True}})["total"] == 1
    assert client.security.query_api_keys(query={"simple_query_string": {
        "query": "agent-0* -agent-00", "fields": ["name"], "default_operator": "and"}})["total"] == 9


def test_sorted_paging_with_from_size_and_search_after(fleet):
    _, client, ids = fleet
    first = client.security.query_api_keys(sort=[{"name": {"order": "desc"}}], size=5)
    assert first["total"] == 12 and first["count"] == 5
    assert [k["name"] for k in first["api_keys"]] == ["agent-11", "agent-10", "agent-09", "agent-08", "agent-07"]
    assert first["api_keys"][0]["_sort"] == ["agent-11"]
    second = client.security.query_api_keys(sort=[{"name": "desc"}], from_=5, size=5)
    assert [k["name"] for k in second["api_keys"]][0] == "agent-06"
    pages, after = [], None
    while True:
        page = client.security.query_api_keys(sort=["creation", "name"], size=4, search_after=after)
        if not page["api_keys"]:
            break
        pages.append([k["name"] for k in page["api_keys"]])
        after = page["api_keys"][-1]["_sort"]
    assert [name for page in pages for name in page] == [f"agent-{n:02d}" for n in range(12)]
    assert len(pages) == 3
    by_expiry = client.security.query_api_keys(sort=[{"expiration": "asc"}, "name"], size=12)
    assert [k["name"] for k in by_expiry["api_keys"]][:3] == ["agent-00", "agent-04", "agent-08"]
    assert by_expiry["api_keys"][-1]["_sort"][0] == 9_223_372_036_854_775_807  # no expiry sorts last


def test_aggregations(fleet):
    _, client, ids = fleet
    result = client.security.query_api_keys(size=0, query={"term": {"invalidated": False}}, aggs={
        "teams": {"terms": {"field": "metadata.team"}, "aggs": {"expiring": {"value_count": {"field": "expiration"}}}},
        "expiry": {"filters": {"filters": {"expiring": {"exists": {"field": "expiration"}}},
                               "other_bucket_key": "never"}},
        "never_expire": {"missing": {"field": "expiration"}},
        "names": {"cardinality": {"field": "name"}},
        "created": {"range": {"field": "creation", "ranges": [{"to": "now-1d"}, {"from": "now-1d"}]}},
        "managed": {"filter": {"term": {"metadata.managed": True}}},
    })
    aggs = result["aggregations"]
    assert result["total"] == 11 and result["api_keys"] == []
    assert aggs["teams"]["buckets"] == [
        {"key": "green", "doc_count": 4, "expiring": {"value": 1}},
        {"key": "red", "doc_count": 4, "expiring": {"value": 1}},
        {"key": "blue", "doc_count": 3, "expiring": {"value": 1}},  # agent-05, invalidated, is left out
    ]
    assert aggs["expiry"]["buckets"] == {"expiring": {"doc_count": 3}, "never": {"doc_count": 8}}
    assert aggs["never_expire"] == {"doc_count": 8} and aggs["names"] == {"value": 11}
    assert [b["doc_count"] for b in aggs["created"]["buckets"]] == [0, 11]
    assert aggs["managed"] == {"doc_count": 1}
    typed = client.security.query_api_keys(size=0, typed_keys=True, aggs={"t": {"terms": {"field": "type"}}})
    assert typed["aggregations"]["sterms#t"]["buckets"] == [{"key": "rest", "doc_count": 12}]


@pytest.mark.parametrize("request_, kind, reason", [
    ({"query": {"regexp": {"name": "a.*"}}}, "illegal_argument_exception",
     "Query type [regexp] is not currently supported in this context"),
    ({"query": {"term": {"api_key_hash": "x"}}}, "illegal_argument_exception",
     "Field [api_key_hash] is not allowed for querying or aggregation"),
    ({"from_": 9_999, "size": 10}, "illegal_argument_exception", None),
    ({"aggs": {"a": {"date_histogram": {"field": "creation"}}}}, "illegal_argument_exception",
     "Unsupported API Keys agg [a] of type [date_histogram]"),
    ({"sort": ["name"], "search_after": ["a", "b"]}, "illegal_argument_exception",
     "search_after has 2 value(s) but sort has 1."),
])
def test_refused_queries(fleet, request_, kind, reason):
    _, client, _ = fleet
    with pytest.raises(BadRequestError) as refused:
        client.security.query_api_keys(**request_)
    assert refused.value.meta.status == 400 and refused.value.body["error"]["type"] == kind
    if reason:
        assert refused.value.body["error"]["reason"] == reason
