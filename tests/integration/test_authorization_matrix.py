"""Every route × every kind of caller: the guard's answer, from one readable table.

A route without a row fails the test, so a new route can't ship unguarded by accident. "ok" means the
request got past the guard (the route may still answer 400/404/422 for the dummy input); "sign_in" means
sent to sign in (302 to the login page, or 401); "denied" means 403.
"""

import base64
import re

import pytest

from tests.conftest import ELASTIC_PASSWORD, USER_PASSWORD
from webapp.models import ApiKey, User
from webapp.services import api_keys
from webapp.services.authentication import subject_for_user
from webapp.services.clock import now_ms

CALLERS = (
    "anonymous", "no_privileges", "read_security", "manage_own_api_key", "manage_api_key", "manage_security",
    "superuser", "key_no_privileges", "key_own_only", "disabled_session", "expired_key", "invalidated_key",
)
SESSIONS = {"no_privileges": [], "read_security": ["security_viewer"], "manage_own_api_key": ["api_key_user"],
            "manage_api_key": ["api_key_admin"], "manage_security": ["security_admin"], "superuser": ["superuser"],
            "disabled_session": ["superuser"]}
KEYS = {"key_no_privileges": {"nothing": {}}, "key_own_only": {"own": {"cluster": ["manage_own_api_key"]}},
        "expired_key": {}, "invalidated_key": {}}


def _profile(ok=(), denied=()):
    """A row pattern: callers in `ok` pass, in `denied` get 403, everyone else is sent to sign in."""
    return {caller: "ok" if caller in ok else "denied" if caller in denied else "sign_in" for caller in CALLERS}


SIGNED_IN = ("no_privileges", "read_security", "manage_own_api_key", "manage_api_key", "manage_security",
             "superuser")
WORKING_KEYS = ("key_no_privileges", "key_own_only")

PUBLIC = {caller: "ok" for caller in CALLERS}
# HTML: sessions only; Authorization headers are ignored there.
HTML_ANY = _profile(ok=SIGNED_IN)
HTML_KEYS = _profile(ok=SIGNED_IN[1:], denied=("no_privileges",))
HTML_KEYS_WRITE = _profile(ok=("manage_own_api_key", "manage_api_key", "manage_security", "superuser"),
                           denied=("no_privileges", "read_security"))
HTML_SECURITY_READ = _profile(ok=("read_security", "manage_security", "superuser"),
                              denied=("no_privileges", "manage_own_api_key", "manage_api_key"))
HTML_SECURITY_ADMIN = _profile(ok=("manage_security", "superuser"),
                               denied=("no_privileges", "read_security", "manage_own_api_key", "manage_api_key"))
# JSON API: credentials only; sessions are anonymous there.
API_ANY = _profile(ok=("superuser", *WORKING_KEYS))
API_SECURITY_READ = _profile(ok=("superuser",), denied=WORKING_KEYS)

# (endpoint, method) -> expected outcome per caller. Read down a column to see what one caller may do.
ROUTES = {
    ("static", "GET"): PUBLIC,
    ("auth.index", "GET"): PUBLIC,
    ("auth.login", "GET"): PUBLIC,
    ("auth.login", "POST"): PUBLIC,
    ("auth.logout", "POST"): PUBLIC,
    ("auth.healthz", "GET"): PUBLIC,
    ("account.index", "GET"): HTML_ANY,
    ("keys.index", "GET"): HTML_KEYS,
    ("roles.index", "GET"): HTML_SECURITY_READ,
    ("users.index", "GET"): HTML_SECURITY_READ,
    ("settings.index", "GET"): HTML_SECURITY_ADMIN,
    ("audit.index", "GET"): HTML_SECURITY_READ,
    ("audit.export_csv", "GET"): HTML_SECURITY_READ,
    ("audit.export_jsonl", "GET"): HTML_SECURITY_READ,
    ("api.authenticate", "GET"): API_ANY,
    ("api.builtin_privileges", "GET"): API_SECURITY_READ,
}

DUMMY_VALUES = {"filename": "app.css", "key_id": "AAAAAAAAAAAAAAAAAAAA", "id": "AAAAAAAAAAAAAAAAAAAA",
                "name": "no-such-name", "username": "no-such-user", "role_name": "no-such-role"}


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": False}  # hundreds of deliberate 401s from one address


def _routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _url(rule):
    values = {arg: DUMMY_VALUES.get(arg, "x") for arg in rule.arguments}
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values[m.group(1)], rule.rule)


@pytest.fixture
def callers(app, db, make_user):
    """caller name -> (test client, extra headers)."""
    made = {"anonymous": (app.test_client(), {})}
    for caller, roles in SESSIONS.items():
        make_user(caller, roles)
        client = app.test_client()
        html = client.get("/login").get_data(as_text=True)
        token = html.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/login", data={"username": caller, "password": USER_PASSWORD, "csrf_token": token})
        made[caller] = (client, {})
    User.update(enabled=False, generation=User.generation + 1).where(User.username == "disabled_session").execute()
    elastic = subject_for_user(User.get(User.username == "elastic"), "basic")
    for caller, descriptors in KEYS.items():
        created = api_keys.create_api_key(elastic, name=caller, role_descriptors=descriptors)
        made[caller] = (app.test_client(), {"Authorization": f"ApiKey {created.encoded}"})
        if caller == "expired_key":
            ApiKey.update(expiration=now_ms() - 1000).where(ApiKey.id == created.id).execute()
        if caller == "invalidated_key":
            ApiKey.update(invalidated=True, invalidation=now_ms()).where(ApiKey.id == created.id).execute()
    basic = base64.b64encode(f"elastic:{ELASTIC_PASSWORD}".encode()).decode()
    made["superuser_basic"] = (app.test_client(), {"Authorization": f"Basic {basic}"})
    return made


def classify(response):
    if response.status_code in (401,) or (response.status_code == 302 and "/login" in response.headers["Location"]
                                          and "/login" not in response.request.path):
        return "sign_in"
    if response.status_code == 403:
        return "denied"
    return "ok"


def test_every_route_has_a_row(app):
    missing = sorted({(rule.endpoint, method) for rule, method in _routes(app)} - set(ROUTES))
    assert missing == [], f"routes without a row in the authorization table: {missing}"
    stale = sorted(set(ROUTES) - {(rule.endpoint, method) for rule, method in _routes(app)})
    assert stale == [], f"rows for routes that no longer exist: {stale}"


def test_every_route_for_every_caller(app, callers):
    mismatches = []
    checked = 0
    for rule, method in _routes(app):
        expected = ROUTES[(rule.endpoint, method)]
        for caller in CALLERS:
            client, headers = callers[caller]
            # API routes see the superuser session as anonymous; its row means the superuser's credentials.
            if rule.endpoint.startswith("api.") and caller == "superuser":
                client, headers = callers["superuser_basic"]
            response = client.open(_url(rule), method=method, headers=headers)
            response.get_data()  # run streamed bodies to the end, closing their request context
            response.close()
            checked += 1
            if response.status_code >= 500:
                mismatches.append((rule.endpoint, method, caller, f"{response.status_code} server error"))
            elif classify(response) != expected[caller]:
                mismatches.append((rule.endpoint, method, caller,
                                   f"expected {expected[caller]}, got {response.status_code}"))
    assert mismatches == []
    assert checked == len(ROUTES) * len(CALLERS)
