"""The key check answered in front of Flask (webapp/api/fast_verify.py): the same answer as the route, header for
header, for every request it takes; every other request handed to Flask with nothing recorded twice.

Each case runs one request through the layer (`answer`) and, for comparison, the same request through the Flask
app behind it, on the same app and database. Runs on the default throttling store (Keydesk's database) and on
Redis, behind one trusted proxy hop, so the address the layer sees is the one ProxyFix gives Flask.
"""

import base64
import uuid

import pytest
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.test import EnvironBuilder

from tests.conftest import ELASTIC_PASSWORD, basic_header
from webapp.api.fast_verify import FastVerify
from webapp.model import ApiKey
from webapp.model.db import database
from webapp.services.access.authentication import last_used
from webapp.web import throttle

PATH = "/_security/_authenticate"
ELASTIC = basic_header("elastic", ELASTIC_PASSWORD)
CLIENT = "198.51.100.7"
READER = {"reader": {"cluster": ["monitor"], "indices": [{"names": ["logs-*"], "privileges": ["read"]}]}}


@pytest.fixture(params=["database://", "redis://127.0.0.1:6379/15"])
def app_config(request):
    return {"KEYDESK_PROXY_HOPS": 1, "KEYDESK_RATELIMIT_STORAGE_URL": request.param,
            "KEYDESK_AUTH_FAILURES_PER_ADDRESS": "3 per minute", "KEYDESK_LAST_USED_FLUSH_SECONDS": 3600}


@pytest.fixture(autouse=True)
def _fresh_counters(app):
    storage = throttle.of(app).storage
    if hasattr(storage, "key_prefix"):  # Redis: keys of this run only
        storage.key_prefix = f"LIMITS-test-{uuid.uuid4().hex}"
    throttle.of(app).reset()
    yield
    throttle.of(app).reset()


def layer_of(app) -> FastVerify:
    """The FastVerify in the app's WSGI chain (behind ProxyFix and its prefix guard)."""
    wsgi = app.wsgi_app
    while not isinstance(wsgi, FastVerify):
        wsgi = wsgi.app if isinstance(wsgi, ProxyFix) else wsgi.wsgi_app
    return wsgi


def environ(headers, query="", method="GET", **extra):
    built = EnvironBuilder(path=PATH, query_string=query, method=method, headers={"X-Forwarded-For": CLIENT,
                                                                                   **headers}, **extra)
    env = built.get_environ()
    env["REMOTE_ADDR"] = CLIENT  # what ProxyFix makes of X-Forwarded-For before the layer sees the request
    return env


def through_flask(layer, env):
    """(status, headers, body) of the same request answered by the Flask app behind the layer."""
    started = {}

    def start_response(status, headers, exc_info=None):
        started.update(status=status, headers=list(headers))

    chunks = layer.wsgi_app(dict(env), start_response)
    body = b"".join(chunks)
    getattr(chunks, "close", lambda: None)()
    return started["status"], started["headers"], body


@pytest.fixture
def layer(app):
    return layer_of(app)


@pytest.fixture
def make_key(client):
    def make(body=None, **rate_limit):
        created = client.post("/_security/api_key", json={"name": "svc", **(body or {})}, headers=ELASTIC).get_json()
        if rate_limit:
            answer = client.put(f"/_keydesk/api_key/{created['id']}/_rate_limit", json={"rate_limit": rate_limit},
                                headers=ELASTIC)
            assert answer.status_code == 200, answer.get_data(as_text=True)
        return created
    return make


def apikey(created, secret=None):
    return {"Authorization": f"ApiKey {created['encoded']}" if secret is None else
            "ApiKey " + base64.b64encode(f"{created['id']}:{secret}".encode()).decode()}


def pending_uses():
    """What the last-used buffer holds: last-used times, requests per hour and per address."""
    tally = last_used._usage
    return dict(last_used._pending), dict(tally.hours), {pair: list(seen) for pair, seen in tally.addresses.items()}


@pytest.mark.parametrize("query, accept", [
    ("", None),
    ("privilege=monitor", None),
    ("index=logs-2026&index_privilege=read", None),
    ("privilege=monitor&index=logs-1&index_privilege=read", "application/json"),
    ("", "application/vnd.elasticsearch+json; compatible-with=8"),
    ("", "application/vnd.elasticsearch+json; compatible-with=9"),
])
def test_a_passing_key_gets_the_routes_answer_header_for_header(app, layer, make_key, query, accept):
    created = make_key({"role_descriptors": READER, "metadata": {"team": "ops", "tags": ["a", "é"]}})
    headers = {**apikey(created), **({"Accept": accept} if accept else {})}
    env = environ(headers, query)
    fast = layer.answer(dict(env))
    assert fast is not None, "the layer handed a passing key on"
    slow = through_flask(layer, env)
    assert fast == slow
    status, answer_headers, body = fast
    assert status == "200 OK" and dict(answer_headers)["X-Keydesk-Api-Key-Id"] == created["id"]
    assert b'"authentication_type":"api_key"' in body


def test_the_layer_answers_requests_sent_through_the_app(app, client, layer, make_key):
    """Through the whole WSGI chain (ProxyFix in front): answered by the layer, the use recorded once, under the
    forwarded address."""
    created = make_key()
    with database.connection_context():
        last_used.flush()
    answered = []
    original = layer.wsgi_app
    layer.wsgi_app = lambda env, start_response: answered.append("flask") or original(env, start_response)
    try:
        response = client.get(PATH, headers={**apikey(created), "X-Forwarded-For": CLIENT})
    finally:
        layer.wsgi_app = original
    assert response.status_code == 200 and answered == []
    assert last_used._pending[created["id"]][1] == CLIENT
    with database.connection_context():
        last_used.flush()
        assert ApiKey.get_by_id(created["id"]).last_used_address == CLIENT


# What Flask answers each request the layer hands on (the layer itself answers none of them).
HANDED_ON = {"wrong secret": 401, "unknown id": 401, "invalidated": 401, "expired": 401, "missing privileges": 403,
             "pretty": 200, "unknown parameter": 400, "bad privilege": 400, "index without privilege": 400,
             "malformed": 401, "POST": 405, "body": 200, "unknown version": 400}


@pytest.mark.parametrize("case", sorted(HANDED_ON))
def test_anything_but_a_plain_pass_goes_to_flask_with_nothing_recorded(app, layer, make_key, case):
    created = make_key({"role_descriptors": READER})
    headers, query, extra = apikey(created), "", {}
    if case == "wrong secret":
        headers = apikey(created, secret="not-the-secret-at-all")
    elif case == "unknown id":
        headers = apikey({"id": "x" * 20}, secret="whatever")
    elif case == "invalidated":
        assert app.test_client().delete("/_security/api_key", json={"ids": [created["id"]]},
                                        headers=ELASTIC).status_code == 200
    elif case == "expired":
        with database.connection_context():
            ApiKey.update(expiration=1).where(ApiKey.id == created["id"]).execute()
    elif case == "missing privileges":
        query = "privilege=manage_security"
    elif case == "pretty":
        query = "pretty"
    elif case == "unknown parameter":
        query = "privilegee=monitor"
    elif case == "bad privilege":
        query = "privilege=not_a_privilege"
    elif case == "index without privilege":
        query = "index=logs-1"
    elif case == "malformed":
        headers = {"Authorization": "ApiKey %%%"}
    elif case == "POST":
        extra = {"method": "POST"}
    elif case == "body":
        extra = {"data": b"{}", "content_type": "application/json"}
    elif case == "unknown version":
        headers = {**headers, "Accept": "application/vnd.elasticsearch+json; compatible-with=7"}
    with database.connection_context():
        last_used.flush()
    env = environ(headers, query, **extra)
    before = pending_uses()
    assert layer.answer(dict(env)) is None
    assert pending_uses() == before, "a request handed on left a use behind"
    status, _, body = through_flask(layer, env)
    assert status.startswith(str(HANDED_ON[case])), (status, body)


def test_a_key_over_its_limit_is_refused_once_and_counted_once(app, layer, make_key):
    created = make_key(requests=2, per="1m")
    env = environ(apikey(created))
    assert layer.answer(dict(env)) is not None
    assert layer.answer(dict(env)) is not None
    assert layer.answer(dict(env)) is None  # the third in the minute: Flask's to refuse
    status, headers, body = through_flask(layer, env)
    assert status.startswith("429") and b"rate limit exceeded" in body and dict(headers)["Retry-After"]
    assert sum(last_used._usage.hours.values()) == 2  # the two that passed were counted, the refused one not


def test_an_address_out_of_failures_goes_to_flask_for_its_429(app, layer, make_key):
    created = make_key()
    wrong = environ(apikey(created, secret="not-the-secret-at-all"))
    for _ in range(3):
        assert through_flask(layer, wrong)[0].startswith("401")
    good = environ(apikey(created))
    assert layer.answer(dict(good)) is None  # even the right secret waits: the address used up its failures
    status, headers, body = through_flask(layer, good)
    assert status.startswith("429") and dict(headers)["Retry-After"]


def test_a_revoked_key_is_handed_on_at_the_very_next_request(app, client, layer, make_key):
    created = make_key()
    env = environ(apikey(created))
    assert layer.answer(dict(env)) is not None
    assert client.delete("/_security/api_key", json={"ids": [created["id"]]}, headers=ELASTIC).status_code == 200
    assert layer.answer(dict(env)) is None
    assert through_flask(layer, env)[0].startswith("401")


def test_each_passing_request_is_recorded_once(app, layer, make_key):
    created = make_key()
    with database.connection_context():
        last_used.flush()
    env = environ(apikey(created))
    for _ in range(5):
        assert layer.answer(dict(env)) is not None
    with database.connection_context():
        last_used.flush()
    usage = app.test_client().get(f"/_keydesk/api_key/{created['id']}/_usage", headers=ELASTIC).get_json()
    assert sum(hour["requests"] for hour in usage["hours"]) == 5, usage
