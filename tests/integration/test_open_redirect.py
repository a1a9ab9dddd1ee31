"""Open redirects: every redirect built from something the caller sent (sign-in `next`, the page a signed-out
visitor asked for, the list to return to after deleting, names that end up in a redirect URL, the mount prefix)
stays on this site, judged by urllib and by the browser's own URL rules (which strip tabs and newlines, skip
leading spaces and controls, and read a backslash as a slash)."""

import re
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest

from tests.conftest import ELASTIC_PASSWORD, USER_PASSWORD, count, database_url_for, reset_database
from webapp import create_app
from webapp.model.db import database
from webapp.services.access.system import system_subject
from webapp.services.admin import roles
from webapp.services.schema import bootstrap as setup

HTMX = {"HX-Request": "true"}
ORIGIN = "http://keydesk.test"


def same_origin_issues(location, base=ORIGIN + "/app/"):
    """Why `location` (a Location or HX-Redirect value) would take a browser off the site; [] when it stays."""
    issues = []
    parts = urlsplit(location)
    if parts.scheme or parts.netloc:
        issues.append(f"urllib sees a scheme or host in {location!r}")
    # The WHATWG URL parser: leading/trailing C0 controls and spaces go, tabs and newlines go anywhere, and for
    # http(s) a backslash is a slash. So " /\t/evil" and "/\\evil" both mean //evil: another host.
    browser = re.sub(r"[\t\n\r]", "", location.strip("".join(map(chr, range(0x21))))).replace("\\", "/")
    if browser.startswith("//") or re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", browser):
        issues.append(f"a browser reads {location!r} as another site or scheme")
    joined = urlsplit(urljoin(base, browser))
    if (joined.scheme, joined.netloc) != urlsplit(ORIGIN)[:2]:
        issues.append(f"{location!r} resolves to {joined.scheme}://{joined.netloc}")
    return issues


HOSTILE_TARGETS = [
    "//evil.example",
    "//evil.example/keys/",
    "https://evil.example",
    "HTTPS://evil.example/",
    "https:/evil.example",
    "http:evil.example",
    "http:\\\\evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "///evil.example",
    "////evil.example",
    " //evil.example",
    "\t//evil.example",
    "\n//evil.example",
    "\x0c//evil.example",
    "\x00//evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\r/evil.example",
    "/\x0b/evil.example",
    "/\u2028/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "evil.example",
    "@evil.example",
    "\uff0f\uff0fevil.example",
    "/keys/\r\nSet-Cookie: planted=1",
    "/keys/\nLocation: https://evil.example",
]
# Local paths that look suspicious but are paths on this site; they may be kept as they are.
LOCAL_LOOKALIKES = [
    "/%2F%2Fevil.example",
    "/%09/evil.example",
    "/%5Cevil.example",
    "/.//evil.example",
    "/keys/?q=//evil.example",
    "/keys/?next=https://evil.example",
    "/keys/#//evil.example",
]


def _check(location, *, fallback=None):
    assert location is not None, "no redirect"
    count("open redirect: redirect targets checked")
    assert not same_origin_issues(location), same_origin_issues(location)
    assert "\r" not in location and "\n" not in location
    if fallback is not None:
        assert location == fallback


def test_the_origin_check_itself():
    off_site = ["//evil.example", "https://evil.example", "HTTPS://evil.example/", "https:/evil.example",
                "http:evil.example", "/\\evil.example", "\\\\evil.example", "///evil.example", " //evil.example",
                "\t//evil.example", "\x00//evil.example", "/\t/evil.example", "/\r\n/evil.example", "javascript:x",
                "java\tscript:x", " javascript:x", "data:text/html,x", "http://localhost/keys/"]
    for location in off_site:
        assert same_origin_issues(location), location
    for location in ("/keys/", "/keydesk/login?next=/keydesk/keys/", "/%2F%2Fevil.example", "/keys/?q=//x",
                     "relative/path", "?q=1"):
        assert not same_origin_issues(location), location


# ---------------------------------------------------------------- sign-in `next`
@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_sign_in_next_never_leaves_the_site(auth, target):
    response = auth.login(next_url=target)
    assert response.status_code == 302
    _check(response.headers.get("Location"), fallback="/keys/")
    assert "planted" not in response.headers.get("Set-Cookie", "")


@pytest.mark.parametrize("target", LOCAL_LOOKALIKES)
def test_sign_in_next_keeps_local_lookalikes_local(auth, target):
    response = auth.login(next_url=target)
    assert response.status_code == 302
    location = response.headers["Location"]
    _check(location)
    assert location in (target, "/keys/")


@pytest.mark.parametrize("target", HOSTILE_TARGETS[:8] + ["\n//evil.example", "/\t/evil.example"])
def test_already_signed_in_visit_to_login_uses_the_same_rule(client, auth, target):
    auth.login()
    response = client.get("/login", query_string={"next": target})
    assert response.status_code == 302
    _check(response.headers.get("Location"), fallback="/keys/")


def test_a_failed_sign_in_keeps_next_only_as_escaped_form_data(client, auth):
    token = auth.csrf_token()
    response = client.post("/login", data={"username": "elastic", "password": "wrong", "csrf_token": token,
                                           "next": '"><a href="//evil.example">'})
    assert response.status_code == 401 and "Location" not in response.headers
    body = response.get_data(as_text=True)
    assert 'value="&#34;&gt;&lt;a href=&#34;//evil.example&#34;&gt;"' in body
    assert 'href="//evil.example"' not in body


# ---------------------------------------------------------------- signed-out visits, sign-out, landing
@pytest.mark.parametrize("path, query, returns_to", [
    ("/keys/", "q=//evil.example", "/keys/"),
    ("/keys/", "q=https://evil.example&next=//evil.example", "/keys/"),
    ("/users/edit", "username=//evil.example&realm=native", "/users/edit"),
    ("/audit/", "target=%0d%0aLocation:%20https://evil.example", "/audit/"),
    # Any backslash makes the return refused (the keys page instead): stricter than needed, never off-site.
    ("/roles/", "search=/\\evil.example", "/keys/"),
])
def test_a_signed_out_visit_comes_back_to_the_same_page_on_this_site(client, auth, path, query, returns_to):
    page = client.get(path, query_string=query)
    assert page.status_code == 302
    to_login = page.headers["Location"]
    _check(to_login)
    assert to_login.startswith("/login?next=/")
    htmx = client.get(path, query_string=query, headers=HTMX)
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == to_login
    _check(htmx.headers["HX-Redirect"])
    back = parse_qs(urlsplit(to_login).query)["next"][0]
    assert back.startswith("/") and not same_origin_issues(back)
    signed_in = auth.login(next_url=back)
    _check(signed_in.headers["Location"])
    assert signed_in.headers["Location"] not in ("", "/login")
    assert urlsplit(signed_in.headers["Location"]).path == returns_to


def test_sign_out_goes_to_the_sign_in_page_whatever_is_sent(client, auth):
    auth.login()
    token = auth.csrf_token("/account/")
    response = client.post("/logout", data={"csrf_token": token, "next": "//evil.example"},
                           query_string={"next": "https://evil.example"},
                           headers={"Referer": "https://evil.example/"})
    assert response.status_code == 302
    _check(response.headers["Location"], fallback="/login")


def test_landing_and_trailing_slash_redirects_stay_on_the_requested_host(client, auth):
    auth.login()
    _check(client.get("/").headers["Location"], fallback="/keys/")
    for path in ("/keys", "//keys", "/roles", "/users"):
        response = client.get("/", environ_overrides={"PATH_INFO": path}, headers={"Referer": "https://evil.example/"})
        assert response.status_code == 308
        location = urlsplit(response.headers["Location"])
        assert (location.scheme, location.netloc) == ("http", "localhost")  # the Host the browser itself sent
        assert location.path == "/" + path.strip("/") + "/"


# ---------------------------------------------------------------- returns after deleting, names in redirects
@pytest.fixture
def admin(auth):
    auth.login()
    return auth


@pytest.mark.parametrize("target", HOSTILE_TARGETS[:26])
def test_role_delete_returns_only_to_local_pages(client, admin, db, target):
    roles.put_role(system_subject(), "doomed", {"cluster": ["monitor"]})
    confirm = client.get("/roles/delete", query_string={"name": "doomed", "next": target})
    assert confirm.status_code == 200
    assert 'href="/roles/" role="button"' in confirm.get_data(as_text=True)  # Cancel, without JavaScript
    token = admin.csrf_token("/account/")
    plain = client.post("/roles/delete", data={"name": "doomed", "next": target, "csrf_token": token})
    assert plain.status_code == 303
    _check(plain.headers["Location"], fallback="/roles/")
    roles.put_role(system_subject(), "doomed", {"cluster": ["monitor"]})
    htmx = client.post("/roles/delete", data={"name": "doomed", "next": target, "csrf_token": token}, headers=HTMX)
    assert htmx.status_code == 200
    _check(htmx.headers["HX-Redirect"], fallback="/roles/")


def test_role_delete_keeps_a_local_return_with_its_search(client, admin, db):
    roles.put_role(system_subject(), "doomed", {"cluster": ["monitor"]})
    token = admin.csrf_token("/account/")
    response = client.post("/roles/delete", data={"name": "doomed", "next": "/roles/?search=//evil.example",
                                                  "csrf_token": token})
    assert response.headers["Location"] == "/roles/?search=//evil.example"
    _check(response.headers["Location"])


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example", "\n//evil"])
def test_user_delete_returns_to_the_user_list(client, admin, make_user, target):
    make_user("leaving", ["api_key_user"])
    confirm = client.get("/users/delete", query_string={"username": "leaving", "realm": "native", "next": target})
    assert 'href="/users/edit?username=leaving&amp;realm=native" role="button"' in confirm.get_data(as_text=True)
    token = admin.csrf_token("/account/")
    response = client.post("/users/delete", data={"username": "leaving", "realm": "native", "next": target,
                                                  "csrf_token": token}, headers=HTMX)
    _check(response.headers["HX-Redirect"], fallback="/users/")


@pytest.mark.parametrize("return_to", [
    "next=https://evil.example&q=ci",
    "q=ci&after=//evil.example",
    "//evil.example",
    "https://evil.example/?q=ci",
    "q=%0d%0aLocation:%20https://evil.example",
    "sort=name&dir=desc&owner=%2F%2Fevil.example%40native",
])
def test_key_delete_returns_to_the_list(client, admin, subject_of, make_user, return_to):
    from webapp.services.api_keys import commands as api_keys

    owner = make_user("owner", ["api_key_user"])
    key = api_keys.create_api_key(subject_of(owner), name="ci-key")
    token = admin.csrf_token("/account/")
    response = client.post("/keys/delete", data={"ids": [key.id], "confirmed": "1", "return_to": return_to,
                                                 "csrf_token": token})
    assert response.status_code == 303
    location = response.headers["Location"]
    _check(location)
    assert urlsplit(location).path == "/keys/"
    assert "evil.example" not in urlsplit(location).netloc


@pytest.mark.parametrize("username", ["//evil.example", "/\\evil.example", "https://evil.example",
                                      "javascript:alert(1)", "a?next=//evil.example&x=", "x#//evil.example"])
def test_names_in_redirect_urls_are_query_values(client, admin, username):
    token = admin.csrf_token("/account/")
    created = client.post("/users/new", data={"username": username, "password": USER_PASSWORD,
                                              "confirm_password": USER_PASSWORD, "roles": ["api_key_user"],
                                              "csrf_token": token}, headers=HTMX)
    assert created.status_code == 200
    location = created.headers["HX-Redirect"]
    _check(location)
    assert urlsplit(location).path == "/users/edit"
    assert parse_qs(urlsplit(location).query)["username"] == [username]
    reset = client.post("/users/password", query_string={"username": username, "realm": "native"},
                        data={"password": "another-password", "confirm_password": "another-password",
                              "csrf_token": token})
    assert reset.status_code == 303
    _check(reset.headers["Location"])
    assert parse_qs(urlsplit(reset.headers["Location"]).query)["username"] == [username]


# ---------------------------------------------------------------- behind a proxy, under a mount path
def _proxied_app(tmp_path, hops):
    # The session cookie at "/": the test client sends requests without the prefix the proxy would strip.
    app = create_app({
        "TESTING": True, "SECRET_KEY": "k",
        "KEYDESK_DATABASE_URL": database_url_for(tmp_path), "KEYDESK_PROXY_HOPS": hops,
        "SESSION_COOKIE_PATH": "/",
    })
    with database.connection_context():
        reset_database()
        setup.initialise(ELASTIC_PASSWORD)
    return app


def _token(client, path, **kwargs):
    html = client.get(path, **kwargs).get_data(as_text=True)
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start: html.index('"', start)]


def test_under_a_mount_path_redirects_keep_the_prefix_and_the_site(tmp_path):
    app = _proxied_app(tmp_path, 1)
    client = app.test_client()
    prefix = {"X-Forwarded-Prefix": "/keydesk", "X-Forwarded-Host": "keydesk.test", "X-Forwarded-Proto": "https",
              "Referer": "https://keydesk.test/keydesk/login"}  # HTTPS: the CSRF check wants a same-site Referer
    page = client.get("/keys/", query_string={"q": "//evil.example"}, headers=prefix)
    assert page.headers["Location"] == "/keydesk/login?next=/keydesk/keys/?q%3D//evil.example"
    expired = client.get("/keys/", query_string={"q": "//evil.example"}, headers={**prefix, **HTMX})
    assert expired.status_code == 401 and expired.headers["HX-Redirect"] == page.headers["Location"]
    for location in (page.headers["Location"], expired.headers["HX-Redirect"]):
        _check(location)
    token = _token(client, "/login", headers=prefix)
    for target, expected in (("/keydesk/keys/?q=//evil.example", "/keydesk/keys/?q=//evil.example"),
                             ("//evil.example/keydesk/", "/keydesk/keys/"),
                             ("/\\evil.example", "/keydesk/keys/")):
        response = client.post("/login", headers=prefix, data={"username": "elastic", "password": ELASTIC_PASSWORD,
                                                               "csrf_token": token, "next": target})
        assert response.status_code == 302, target
        _check(response.headers["Location"], fallback=expected)
        token = _token(client, "/account/", headers=prefix)
        assert client.post("/logout", headers=prefix, data={"csrf_token": token}).headers["Location"] == \
            "/keydesk/login"
        token = _token(client, "/login", headers=prefix)


def test_script_name_mount_redirects_stay_on_the_site(tmp_path):
    app = _proxied_app(tmp_path, 0)
    client = app.test_client()
    mount = {"SCRIPT_NAME": "/tools/keydesk"}
    page = client.get("/roles/", environ_overrides=mount)
    assert page.headers["Location"] == "/tools/keydesk/login?next=/tools/keydesk/roles/"
    htmx = client.get("/roles/", environ_overrides=mount, headers=HTMX)
    assert htmx.headers["HX-Redirect"] == page.headers["Location"]
    _check(page.headers["Location"])


@pytest.mark.parametrize("headers", [
    {"X-Forwarded-Prefix": "//evil.example"},
    {"X-Forwarded-Prefix": "https://evil.example"},
    {"X-Forwarded-Prefix": "/\\evil.example"},
    {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"},
])
def test_without_trusted_proxies_forwarded_headers_cannot_move_redirects(tmp_path, headers):
    """KEYDESK_PROXY_HOPS=0 (the default): a client's own X-Forwarded-* headers change nothing."""
    app = _proxied_app(tmp_path, 0)
    client = app.test_client()
    page = client.get("/keys/", headers=headers)
    _check(page.headers["Location"], fallback="/login?next=/keys/")
    htmx = client.get("/keys/", headers={**headers, **HTMX})
    _check(htmx.headers["HX-Redirect"], fallback="/login?next=/keys/")
    token = _token(client, "/login", headers=headers)
    signed_in = client.post("/login", headers=headers, data={"username": "elastic", "password": ELASTIC_PASSWORD,
                                                             "csrf_token": token, "next": "/roles/"})
    _check(signed_in.headers["Location"], fallback="/roles/")
    slash = client.get("/keys", headers=headers)
    assert urlsplit(slash.headers["Location"]).netloc == "localhost"


@pytest.mark.parametrize("prefix", ["//evil.example", "https://evil.example", "/\\evil.example", "/ok//evil.example",
                                    "/keydesk, //evil.example", "javascript:alert(1)"])
def test_a_trusted_proxy_passing_on_a_hostile_prefix_cannot_move_redirects(tmp_path, prefix):
    """KEYDESK_PROXY_HOPS=1 and a proxy that forwards the client's X-Forwarded-Prefix unchanged: a prefix that
    isn't a plain path is dropped, so redirects stay at the site's root."""
    app = _proxied_app(tmp_path, 1)
    client = app.test_client()
    page = client.get("/keys/", headers={"X-Forwarded-Prefix": prefix})
    assert page.headers["Location"] == "/login?next=/keys/"
    htmx = client.get("/keys/", headers={"X-Forwarded-Prefix": prefix, **HTMX})
    assert htmx.headers["HX-Redirect"] == "/login?next=/keys/"
    # A plain prefix from the same proxy is still honoured.
    assert client.get("/keys/", headers={"X-Forwarded-Prefix": "/keydesk"}).headers["Location"] == \
        "/keydesk/login?next=/keydesk/keys/"
