"""Every route × every kind of caller: the guard's answer, from one readable table.

A route without a row fails the test, so a new route can't ship unguarded by accident. "ok" means the
request got past the guard (the route may still answer 400/404/422 for the dummy input); "sign_in" means
sent to sign in (302 to the login page, or 401); "denied" means 403.
"""

import base64
import re

import pytest

from tests.conftest import ELASTIC_PASSWORD, USER_PASSWORD, count
from webapp.clock import now_ms
from webapp.model import ApiKey, User
from webapp.services.access.authentication import subject_for_user
from webapp.services.admin.settings import set_setting
from webapp.services.api_keys import commands as api_keys

CALLERS = (
    "anonymous", "no_privileges", "read_security", "manage_own_api_key", "manage_api_key", "manage_security",
    "superuser", "key_no_privileges", "key_own_only", "disabled_session", "expired_key", "invalidated_key",
    "signed_out_copy",
)
SESSIONS = {"no_privileges": [], "read_security": ["security_viewer"], "manage_own_api_key": ["api_key_user"],
            "manage_api_key": ["api_key_admin"], "manage_security": ["security_admin"], "superuser": ["superuser"],
            "disabled_session": ["superuser"], "signed_out_copy": ["superuser"]}
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

API_OWN_KEYS = _profile(ok=("superuser", "key_own_only"), denied=("key_no_privileges",))
API_SUPERUSER = _profile(ok=("superuser",), denied=WORKING_KEYS)

# (URL rule, method) -> expected outcome per caller. Read down a column to see what one caller may do.
ROUTES = {
    ("/static/<path:filename>", "GET"): PUBLIC,
    # A browser is redirected; an Authorization header makes it Elasticsearch's cluster info (needs `monitor`).
    ("/", "GET"): {**PUBLIC, "key_no_privileges": "denied", "key_own_only": "denied", "expired_key": "sign_in",
                   "invalidated_key": "sign_in"},
    ("/login", "GET"): PUBLIC,
    ("/login", "POST"): PUBLIC,
    ("/logout", "POST"): PUBLIC,
    ("/healthz", "GET"): PUBLIC,
    ("/account/", "GET"): HTML_ANY,
    ("/account/password", "POST"): HTML_ANY,
    ("/account/sign-out-everywhere", "POST"): HTML_ANY,
    ("/keys/", "GET"): HTML_KEYS,
    ("/keys/<key_id>", "GET"): HTML_KEYS,
    ("/keys/new", "GET"): HTML_KEYS_WRITE,
    ("/keys/new", "POST"): HTML_KEYS_WRITE,
    ("/keys/<key_id>", "POST"): HTML_KEYS_WRITE,
    ("/keys/delete", "POST"): HTML_KEYS_WRITE,
    ("/keys/delete", "GET"): HTML_KEYS_WRITE,
    ("/keys/expiry", "GET"): HTML_KEYS_WRITE,
    ("/keys/<key_id>/rotate", "POST"): HTML_KEYS_WRITE,
    ("/keys/rotate", "GET"): HTML_KEYS_WRITE,
    ("/keys/rotate", "POST"): HTML_KEYS_WRITE,
    ("/roles/", "GET"): HTML_SECURITY_READ,
    ("/roles/edit", "GET"): HTML_SECURITY_READ,
    ("/roles/new", "GET"): HTML_SECURITY_ADMIN,
    ("/roles/new", "POST"): HTML_SECURITY_ADMIN,
    ("/roles/edit", "POST"): HTML_SECURITY_ADMIN,
    ("/roles/delete", "GET"): HTML_SECURITY_ADMIN,
    ("/roles/delete", "POST"): HTML_SECURITY_ADMIN,
    ("/role-mappings/", "GET"): HTML_SECURITY_READ,
    ("/role-mappings/edit", "GET"): HTML_SECURITY_READ,
    ("/role-mappings/new", "GET"): HTML_SECURITY_ADMIN,
    ("/role-mappings/new", "POST"): HTML_SECURITY_ADMIN,
    ("/role-mappings/edit", "POST"): HTML_SECURITY_ADMIN,
    ("/role-mappings/delete", "GET"): HTML_SECURITY_ADMIN,
    ("/role-mappings/delete", "POST"): HTML_SECURITY_ADMIN,
    ("/users/", "GET"): HTML_SECURITY_READ,
    ("/users/edit", "GET"): HTML_SECURITY_READ,
    ("/users/new", "GET"): HTML_SECURITY_ADMIN,
    ("/users/new", "POST"): HTML_SECURITY_ADMIN,
    ("/users/edit", "POST"): HTML_SECURITY_ADMIN,
    ("/users/enabled", "POST"): HTML_SECURITY_ADMIN,
    ("/users/password", "GET"): HTML_SECURITY_ADMIN,
    ("/users/password", "POST"): HTML_SECURITY_ADMIN,
    ("/users/delete", "GET"): HTML_SECURITY_ADMIN,
    ("/users/delete", "POST"): HTML_SECURITY_ADMIN,
    ("/settings/", "GET"): HTML_SECURITY_ADMIN,
    ("/settings/license", "POST"): HTML_SECURITY_ADMIN,
    ("/settings/api-keys", "POST"): HTML_SECURITY_ADMIN,
    ("/settings/notices", "GET"): HTML_SECURITY_READ,  # read_security sees it read-only, without the secret
    ("/settings/notices", "POST"): HTML_SECURITY_ADMIN,
    ("/settings/notices/secret", "POST"): HTML_SECURITY_ADMIN,
    ("/audit/", "GET"): HTML_SECURITY_READ,
    ("/audit/export.csv", "GET"): HTML_SECURITY_READ,
    ("/audit/export.jsonl", "GET"): HTML_SECURITY_READ,
    ("/_security/_authenticate", "GET"): API_ANY,
    ("/_security/privilege/_builtin", "GET"): API_SECURITY_READ,
    ("/_security/api_key", "POST"): API_OWN_KEYS,
    ("/_security/api_key", "PUT"): API_OWN_KEYS,
    ("/_security/api_key", "GET"): API_SUPERUSER,  # no filter: all keys, which needs more than own-key rights
    ("/_security/api_key", "DELETE"): API_SUPERUSER,  # ids of someone else's key
    ("/_security/_query/api_key", "GET"): API_OWN_KEYS,
    ("/_security/_query/api_key", "POST"): API_OWN_KEYS,
    ("/_security/api_key/<key_id>", "PUT"): API_OWN_KEYS,
    ("/_security/api_key/_bulk_update", "POST"): API_OWN_KEYS,
    ("/_security/api_key/grant", "POST"): API_SUPERUSER,  # grant_api_key (manage_own_api_key doesn't imply it)
    ("/_security/cross_cluster/api_key", "POST"): API_SUPERUSER,
    ("/_security/cross_cluster/api_key/<key_id>", "PUT"): API_SUPERUSER,
    ("/_license", "GET"): API_SUPERUSER,
    ("/_license/start_trial", "POST"): API_SUPERUSER,
    ("/_keydesk/api_key/<key_id>/_rotate", "POST"): API_OWN_KEYS,  # the update rule (a key gets a 400)
    ("/_keydesk/api_key/<key_id>", "GET"): API_OWN_KEYS,  # the Get API's visibility
    ("/_keydesk/api_key/<key_id>/_usage", "GET"): API_OWN_KEYS,  # the same visibility
    ("/_keydesk/api_key/<key_id>/_rate_limit", "PUT"): API_OWN_KEYS,  # the update rule (a key gets a 400)
    ("/_keydesk/api_key/<key_id>/_rate_limit", "DELETE"): API_OWN_KEYS,
    ("/_keydesk/notices", "GET"): API_SECURITY_READ,  # read_security, as the Settings page
    ("/_keydesk/notices", "PUT"): API_SUPERUSER,  # manage_security
    ("/_keydesk/notices", "POST"): API_SUPERUSER,
    ("/_keydesk/notices/_webhook_secret", "POST"): API_SUPERUSER,
    ("/_xpack", "GET"): API_SUPERUSER,  # monitor
    ("/_cluster/health", "GET"): API_SUPERUSER,
    ("/_cluster/health/<index>", "GET"): API_SUPERUSER,
    ("/_security/user/_privileges", "GET"): API_ANY,  # the caller's own (a key with descriptors gets a 400)
    ("/_security/api_key/<ids>/_clear_cache", "POST"): API_SUPERUSER,
    ("/_security/role", "POST"): API_SUPERUSER,
    ("/_security/role", "DELETE"): API_SUPERUSER,
    ("/_security/user/_has_privileges", "GET"): API_ANY,
    ("/_security/user/_has_privileges", "POST"): API_ANY,
    ("/_security/user/<username>/_has_privileges", "GET"): API_ANY,
    ("/_security/user/<username>/_has_privileges", "POST"): API_ANY,
    ("/_security/role", "GET"): API_SECURITY_READ,
    ("/_security/role/<names>", "GET"): API_SECURITY_READ,
    ("/_security/role/<name>", "PUT"): API_SUPERUSER,
    ("/_security/role/<name>", "POST"): API_SUPERUSER,
    ("/_security/role/<name>", "DELETE"): API_SUPERUSER,
    ("/_security/privilege", "PUT"): API_SUPERUSER,  # manage_security, or application.manage for the apps
    ("/_security/privilege", "POST"): API_SUPERUSER,
    ("/_security/privilege", "GET"): API_SECURITY_READ,
    ("/_security/privilege/<application>", "GET"): API_SECURITY_READ,
    ("/_security/privilege/<application>/<names>", "GET"): API_SECURITY_READ,
    ("/_security/privilege/<application>/<names>", "DELETE"): API_SUPERUSER,
    ("/_security/privilege/<applications>/_clear_cache", "POST"): API_SUPERUSER,
    ("/_security/role_mapping", "GET"): API_SECURITY_READ,
    ("/_security/role_mapping/<names>", "GET"): API_SECURITY_READ,
    ("/_security/role_mapping/<name>", "PUT"): API_SUPERUSER,
    ("/_security/role_mapping/<name>", "POST"): API_SUPERUSER,
    ("/_security/role_mapping/<name>", "DELETE"): API_SUPERUSER,
    ("/_security/user", "GET"): API_SECURITY_READ,
    ("/_security/user/<names>", "GET"): API_SECURITY_READ,
    ("/_security/_query/user", "GET"): API_SECURITY_READ,
    ("/_security/_query/user", "POST"): API_SECURITY_READ,
    ("/_security/_query/role", "GET"): API_SECURITY_READ,
    ("/_security/_query/role", "POST"): API_SECURITY_READ,
    ("/_security/user/<username>", "PUT"): API_SUPERUSER,
    ("/_security/user/<username>", "POST"): API_SUPERUSER,
    ("/_security/user/<username>", "DELETE"): API_SUPERUSER,
    ("/_security/user/<username>/_password", "PUT"): API_SUPERUSER,
    ("/_security/user/<username>/_password", "POST"): API_SUPERUSER,
    # A key may not change its owner's password (as in ES); users may change their own.
    ("/_security/user/_password", "PUT"): API_SUPERUSER,
    ("/_security/user/_password", "POST"): API_SUPERUSER,
    ("/_security/user/<username>/_enable", "PUT"): API_SUPERUSER,
    ("/_security/user/<username>/_enable", "POST"): API_SUPERUSER,
    ("/_security/user/<username>/_disable", "PUT"): API_SUPERUSER,
    ("/_security/user/<username>/_disable", "POST"): API_SUPERUSER,
    # Unknown paths under the API prefixes: ES's "no handler found" answer, once the credentials authenticate
    # (ES authenticates before it routes; webapp/api/off_route.py).
    **{(rule, method): API_ANY for rule in ("/_security", "/_security/<path:rest>", "/_license/<path:rest>",
                                           "/_cluster/<path:rest>", "/_xpack/<path:rest>", "/_keydesk/<path:rest>")
       for method in ("GET", "POST", "PUT", "DELETE", "PATCH")},
}

# A plausible body per write route, so the guard and the privilege checks are reached rather than a
# "body is missing" answer.
BODIES = {
    ("/_security/api_key", "POST"): {"name": "matrix"},
    ("/_security/api_key", "PUT"): {"name": "matrix"},
    ("/_security/api_key", "DELETE"): {"ids": ["AAAAAAAAAAAAAAAAAAAA"]},
    ("/_security/_query/api_key", "POST"): {"size": 1},
    ("/_security/_query/user", "POST"): {"size": 1},
    ("/_security/_query/role", "POST"): {"size": 1},
    ("/_security/api_key/<key_id>", "PUT"): {"metadata": {"a": 1}},
    ("/_keydesk/api_key/<key_id>/_rate_limit", "PUT"): {"rate_limit": {"requests": 10, "per": "1m"}},
    ("/_keydesk/notices", "PUT"): {"days_before": [14, 1]},
    ("/_keydesk/notices", "POST"): {"days_before": [14, 1]},
    ("/_security/api_key/_bulk_update", "POST"): {"ids": ["AAAAAAAAAAAAAAAAAAAA"]},
    ("/_security/api_key/grant", "POST"): {"grant_type": "password", "username": "elastic",
                                           "password": ELASTIC_PASSWORD, "api_key": {"name": "m"}},
    ("/_security/cross_cluster/api_key", "POST"): {"name": "m", "access": {"search": [{"names": ["*"]}]}},
    ("/_security/cross_cluster/api_key/<key_id>", "PUT"): {"metadata": {"a": 1}},
    ("/_security/user/_has_privileges", "POST"): {"cluster": ["monitor"]},
    ("/_security/user/<username>/_has_privileges", "POST"): {"cluster": ["monitor"]},
    ("/_security/role/<name>", "PUT"): {"cluster": []},
    ("/_security/role", "POST"): {"roles": {"matrix-role": {"cluster": []}}},
    ("/_security/role", "DELETE"): {"names": ["no-such-role"]},
    ("/_security/role/<name>", "POST"): {"cluster": []},
    ("/_security/privilege", "PUT"): {"matrix-app": {"read": {"actions": ["data:read/*"]}}},
    ("/_security/privilege", "POST"): {"matrix-app": {"read": {"actions": ["data:read/*"]}}},
    ("/_security/role_mapping/<name>", "PUT"): {"enabled": True, "roles": ["r"], "rules": {"any": []}},
    ("/_security/role_mapping/<name>", "POST"): {"enabled": True, "roles": ["r"], "rules": {"any": []}},
    ("/_security/user/<username>", "PUT"): {"password": "matrix-password", "roles": []},
    ("/_security/user/<username>", "POST"): {"password": "matrix-password", "roles": []},
    ("/_security/user/<username>/_password", "PUT"): {"password": "matrix-password"},
    ("/_security/user/<username>/_password", "POST"): {"password": "matrix-password"},
    # The caller's own password, set to what it already is, so later rows still authenticate.
    ("/_security/user/_password", "PUT"): {"password": ELASTIC_PASSWORD},
    ("/_security/user/_password", "POST"): {"password": ELASTIC_PASSWORD},
}
QUERY = {("/_license/start_trial", "POST"): "?acknowledge=true"}


DUMMY_VALUES = {"filename": "app.css", "key_id": "AAAAAAAAAAAAAAAAAAAA", "id": "AAAAAAAAAAAAAAAAAAAA",
                "name": "no-such-name", "names": "no-such-name", "username": "no-such-user",
                "role_name": "no-such-role", "realm": "native", "rest": "no/such/thing"}


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": False}  # hundreds of deliberate 401s from one address


# Routes that end the caller's sessions when they pass the guard: checked after every other route.
ENDS_SESSIONS = {("/account/sign-out-everywhere", "POST")}


def _routes(app):
    found = [(rule, method) for rule in app.url_map.iter_rules()
             for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return sorted(found, key=lambda route: (route[0].rule, route[1]) in ENDS_SESSIONS)


def _url(rule):
    values = {arg: DUMMY_VALUES.get(arg, "x") for arg in rule.arguments}
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values[m.group(1)], rule.rule)


def _csrf_header(client, path="/login"):
    """A valid CSRF token of the client's session, so a state-changing route reaches the guard (CSRF itself
    is covered route by route in test_csrf.py)."""
    html = client.get(path).get_data(as_text=True)
    return {"X-CSRFToken": html.split('name="csrf_token" value="')[1].split('"')[0]}


@pytest.fixture
def callers(app, db, make_user):
    """caller name -> (test client, extra headers)."""
    set_setting("license.type", "enterprise")  # so cross-cluster rows test privileges, not the license
    anonymous = app.test_client()
    made = {"anonymous": (anonymous, _csrf_header(anonymous))}
    for caller, roles in SESSIONS.items():
        make_user(caller, roles)
        client = app.test_client()
        html = client.get("/login").get_data(as_text=True)
        token = html.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/login", data={"username": caller, "password": USER_PASSWORD, "csrf_token": token})
        made[caller] = (client, _csrf_header(client, "/account/"))
    User.update(enabled=False, generation=User.generation + 1).where(User.username == "disabled_session").execute()
    # A superuser's session cookie copied before its owner signed out: sign-out ends the session on the
    # server, so the copy must be anonymous on every route (it used to work for the session's whole lifetime).
    signed_in, _ = made["signed_out_copy"]
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    copy = app.test_client()
    copy.set_cookie(cookie_name, signed_in.get_cookie(cookie_name).value)
    assert copy.get("/account/").status_code == 200  # the copy works while the session lasts
    signed_in.post("/logout", headers=_csrf_header(signed_in, "/account/"))
    made["signed_out_copy"] = (copy, _csrf_header(copy))
    elastic = subject_for_user(User.get(User.username == "elastic"), "basic")
    for caller, descriptors in KEYS.items():
        created = api_keys.create_api_key(elastic, name=caller, role_descriptors=descriptors)
        client = app.test_client()
        made[caller] = (client, {"Authorization": f"ApiKey {created.encoded}", **_csrf_header(client)})
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
    missing = sorted({(rule.rule, method) for rule, method in _routes(app)} - set(ROUTES))
    assert missing == [], f"routes without a row in the authorization table: {missing}"
    stale = sorted(set(ROUTES) - {(rule.rule, method) for rule, method in _routes(app)})
    assert stale == [], f"rows for routes that no longer exist: {stale}"


def test_every_route_for_every_caller(app, callers):
    mismatches = []
    checked = 0
    for rule, method in _routes(app):
        expected = ROUTES[(rule.rule, method)]
        body = BODIES.get((rule.rule, method))
        for caller in CALLERS:
            client, headers = callers[caller]
            if rule.endpoint.startswith("auth."):  # signing in or out with a valid token would change the caller
                headers = {name: value for name, value in headers.items() if name != "X-CSRFToken"}
            # API routes see the superuser session as anonymous; its row means the superuser's credentials.
            if rule.endpoint.startswith("api.") and caller == "superuser":
                client, headers = callers["superuser_basic"]
            response = client.open(_url(rule) + QUERY.get((rule.rule, method), ""), method=method,
                                   headers=headers, json=body)
            response.get_data()  # run streamed bodies to the end, closing their request context
            response.close()
            checked += 1
            if response.status_code >= 500:
                mismatches.append((rule.endpoint, method, caller, f"{response.status_code} server error"))
            elif classify(response) != expected[caller]:
                mismatches.append((rule.endpoint, method, caller,
                                   f"expected {expected[caller]}, got {response.status_code}"))
    assert mismatches == [], "\n".join(map(str, mismatches))
    assert checked == len(ROUTES) * len(CALLERS)
    count("authorization: route x method x caller checks", checked)
