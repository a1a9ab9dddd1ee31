"""XSS in the server-rendered HTML: every user-controlled field (key names and metadata, role names, descriptions,
privileges and metadata, usernames, full names, emails, search terms and filters) carries payloads, and every HTML
route of app.url_map (pages and htmx partials, error answers included) is fetched and read the way a browser would:
no payload may become markup, an attribute, an event handler, an htmx attribute or a javascript: URL, and each
field that is shown must be shown as escaped text. The seeding and the HTML checks are shared with the Chromium
test (tests/browser/test_xss.py)."""

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote, unquote_plus, urlencode

import pytest
from markupsafe import escape
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RoutingException

from tests.conftest import ELASTIC_PASSWORD, USER_PASSWORD, count, database_url_for, reset_database
from webapp import create_app
from webapp.clock import now_ms
from webapp.model import ApiKey, Role, User
from webapp.model.db import database
from webapp.services.access.authentication import basic_cache, last_used, subject_for_user
from webapp.services.access.system import system_subject
from webapp.services.admin import role_mappings, roles
from webapp.services.admin.users import create_native_user, put_user
from webapp.services.api_keys import commands as api_keys
from webapp.services.notices import deliveries
from webapp.services.schema import bootstrap as setup

# ---------------------------------------------------------------- payloads
# CODE becomes a number unique to (field, payload), so a payload that runs or leaks tells which field it came from.
PAYLOADS = {
    "script": "<script>window.__xss=CODE</script>",
    "img": '"><img src=x onerror="window.__xss=CODE">',
    "svg": "<svg onload=window.__xss=CODE>",
    "squote": "' onmouseover='window.__xss=CODE' autofocus onfocus='window.__xss=CODE' x='",
    "dquote": '" autofocus onfocus="window.__xss=CODE" x="',
    "jsurl": "javascript:window.__xss=CODE",
    "template": "{{7*7}}{{config.SECRET_KEY}}-CODE",
    "htmx": '<div hx-get="/__xss/CODE" hx-trigger="load">htmx CODE</div>',
    "textarea": "</textarea><img src=x onerror=window.__xss=CODE>",
}
KINDS = tuple(PAYLOADS)
SECRET_KEY = "xss-test-secret-key"
CODE_IN_TEXT = re.compile(r"__xss[=/](\d+)")


class Catalog:
    """Payloads handed out per field; remembers which field and payload kind each code stands for."""

    def __init__(self):
        self.fields = {}  # code -> (field, kind)
        self.texts = {}  # code -> payload text

    def mark(self, field_name, kind):
        code = 1000 + len(self.fields)
        self.fields[code] = (field_name, kind)
        self.texts[code] = PAYLOADS[kind].replace("CODE", str(code))
        return self.texts[code]

    def describe(self, code):
        try:
            field_name, kind = self.fields[int(code)]
        except (KeyError, TypeError, ValueError):
            return f"no seeded payload ({code!r})"
        return f"{field_name} ({kind} payload, code {code})"

    def codes_for(self, field_name):
        return [code for code, (name, _) in self.fields.items() if name == field_name]


@dataclass
class Seeded:
    catalog: Catalog
    users: dict = field(default_factory=dict)  # kind -> username
    roles: dict = field(default_factory=dict)  # kind -> role name
    keys: dict = field(default_factory=dict)  # kind -> key id
    json_role: str = ""  # a role the editor can only show as JSON
    searches: dict = field(default_factory=dict)  # kind -> a search term
    viewer: str = "sec-viewer"


def seed(catalog):
    """Users, roles and keys whose every user-controlled field carries a payload (needs an open connection)."""
    system = system_subject()
    seeded = Seeded(catalog)
    for kind in KINDS:
        mark = catalog.mark
        role = mark("role name", kind)
        roles.put_role(system, role, {
            "description": mark("role description", kind),
            "cluster": ["monitor"],
            "indices": [{"names": [mark("index pattern", kind)], "privileges": ["read"],
                         "field_security": {"grant": ["*", mark("granted field", kind)],
                                            "except": [mark("excepted field", kind)]},
                         "query": {"term": {"team": mark("document query", kind)}}}],
            "applications": [{"application": "myapp", "privileges": ["read"],
                              "resources": [mark("application resource", kind)]}],
            "global": {"profile": {"write": {"applications": [mark("kept global application", kind)]}}},
            "run_as": [mark("run_as user", kind)],
            "metadata": {mark("role metadata key", kind): {"nested": [mark("role metadata value", kind)]}},
        })
        # Application and privilege names like these are refused now, as Elasticsearch refuses them; a role
        # stored before Keydesk checked them may still hold them, and every page must show them as text.
        stored = Role.by_name(role)
        stored.descriptor = {**stored.descriptor, "applications": [{
            "application": mark("application name", kind), "privileges": [mark("application privilege", kind)],
            "resources": stored.descriptor["applications"][0]["resources"]}]}
        stored.save()
        username = mark("username", kind)
        put_user(system, username, password=USER_PASSWORD, roles=[role, "api_key_user"],
                 full_name=mark("full name", kind), email=mark("email", kind),
                 metadata={mark("user metadata key", kind): {"nested": [mark("user metadata value", kind)]}})
        owner = subject_for_user(User.get((User.username == username) & (User.realm == "native")), "session")
        created = api_keys.create_api_key(
            owner, name=mark("key name", kind),
            metadata={mark("key metadata key", kind): {"nested": [mark("key metadata value", kind), 7]}},
            role_descriptors={mark("key role descriptor name", kind): {
                "indices": [{"names": [mark("key descriptor index", kind)], "privileges": ["read"]}]}})
        role_mappings.put_role_mapping(system, role, {"enabled": True, "roles": [role], "rules": {
            "any": [{"field": {"groups": mark("mapping group", kind)}}]}})
        seeded.roles[kind], seeded.users[kind], seeded.keys[kind] = role, username, created.id
        for channel, target in (("email", mark("delivery target", kind)), ("webhook", mark("delivery URL", kind))):
            deliveries.record_delivery(time=now_ms(), key_id=created.id, key_name=created.name, channel=channel,
                                       notice="before:14d", event="api_key.expiring", target=target, attempts=1,
                                       status=500, error=mark("delivery error", kind), delivered=False)
        seeded.searches[kind] = mark("search term", kind)
    # Names with commas: the editor can't show them as a form and opens the role as JSON.
    seeded.json_role = catalog.mark("JSON-only role name", "dquote")
    roles.put_role(system, seeded.json_role, {
        "description": catalog.mark("JSON-only role description", "textarea"),
        "indices": [{"names": ["a, b"] + [catalog.mark("JSON-only index pattern", kind) for kind in KINDS],
                     "privileges": ["read"]}],
    })
    create_native_user(system, seeded.viewer, USER_PASSWORD, ["security_viewer"])
    # More than a page of keys, so the list pages (its cursors carry the sort values: names and owners).
    elastic = subject_for_user(User.get(User.username == "elastic"), "session")
    for number in range(20):
        api_keys.create_api_key(elastic, name=f"filler-{number:02d}")
    return seeded


# ---------------------------------------------------------------- reading HTML the way a browser does
FORBIDDEN_ELEMENTS = {"img", "svg", "iframe", "object", "embed", "base", "frame", "math", "video", "audio"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "hx-get", "hx-post", "hx-put", "hx-delete", "hx-patch",
                  "hx-push-url", "data-url", "poster", "xlink:href"}
JSON_ATTRIBUTES = {"hx-vals", "hx-headers", "hx-request", "data-json"}


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []  # (tag, [(name, value)])
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, [(name, value or "") for name, value in attrs]))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        self.text.append(data)


def parse_html(html):
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def injection_problems(html, catalog, script_prefix="", raw=True):
    """What in `html` shows a payload turned into markup; [] when every payload stayed text. `raw=False` for a
    serialised DOM (page.content()), whose attribute values keep < and > unescaped."""
    problems = []
    for code, payload in catalog.texts.items():
        if raw and any(char in payload for char in "<>\"'") and payload in html:
            problems.append(f"raw payload in the HTML: {catalog.describe(code)}")
    parsed = parse_html(html)
    for tag, attrs in parsed.elements:
        names = [name for name, _ in attrs]
        values = dict(attrs)
        if tag in FORBIDDEN_ELEMENTS:
            problems.append(f"injected <{tag}> element: {attrs}")
        if tag == "script" and not values.get("src", "").startswith(f"{script_prefix}/static/"):
            problems.append(f"a <script> that is not one of the app's files: {attrs}")
        if tag == "meta" and values.get("http-equiv"):
            problems.append(f"injected <meta http-equiv>: {attrs}")
        for name, value in attrs:
            where = f"<{tag} {name}={value!r}>"
            if name.startswith("on"):
                problems.append(f"event handler attribute {where}")
            if name in ("x", "autofocus") and "onfocus" in names:
                problems.append(f"attributes from a payload {where}")
            if any(char in name for char in "<>\"'/="):
                problems.append(f"broken attribute name {where}")
            if name.startswith("hx-") and (value.strip().startswith("/__xss")
                                           or name == "hx-trigger" and "load" in value):
                problems.append(f"injected htmx attribute {where}")
            if name in URL_ATTRIBUTES and re.sub(r"[\x00-\x20]", "", value).lower().startswith(
                    ("javascript:", "data:", "vbscript:")):
                problems.append(f"script URL {where}")
            if name in JSON_ATTRIBUTES or (tag == "input" and values.get("name") == "kept" and name == "value"):
                try:
                    json.loads(value)
                except ValueError:
                    problems.append(f"JSON in an attribute does not parse {where}")
            problems += _fragment_problems(catalog, tag, name, value)
    return problems


def _fragment_problems(catalog, tag, name, value):
    """An attribute value that holds part of a payload, not all of it: the payload broke out of the value."""
    problems = []
    decoded = [value, unquote_plus(value)]
    try:
        decoded += list(_strings(json.loads(value)))
    except ValueError:
        pass
    for code in set(CODE_IN_TEXT.findall(value)) | set(CODE_IN_TEXT.findall(unquote_plus(value))):
        payload = catalog.texts.get(int(code))
        if payload is None:
            problems.append(f"unknown payload code {code} in <{tag} {name}>")
        elif not any(payload in text for text in decoded):
            problems.append(f"<{tag} {name}={value!r}> holds part of {catalog.describe(code)}")
    return problems


def template_problems(html):
    """Template expressions in data must not be evaluated (neither by Jinja nor anything else)."""
    problems = []
    if SECRET_KEY in html:
        problems.append("the SECRET_KEY is in the page: a template expression was evaluated")
    if re.search(r"(?<![\d{])49-\d{4}", html):
        problems.append("{{7*7}} was evaluated to 49")
    return problems


def escaped_forms(payload):
    """How a payload may appear when it is shown safely: HTML-escaped text, JSON made safe for HTML (Jinja's
    tojson), or JSON text that is then HTML-escaped (a JSON document in a textarea)."""
    as_json = json.dumps(payload)[1:-1]
    html_safe_json = (as_json.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
                      .replace("'", "\\u0027"))
    return str(escape(payload)), html_safe_json, str(escape(as_json))


def codes_shown(html, catalog):
    """The payload codes whose payload is in `html` in an escaped form."""
    return {code for code, payload in catalog.texts.items()
            if any(form in html for form in escaped_forms(payload))}


# ---------------------------------------------------------------- the seeded site
@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One app for the module, seeded once; yields (app, Seeded)."""
    folder = tmp_path_factory.mktemp("xss-rendered")
    app = create_app({
        "TESTING": True, "KEYDESK_DATABASE_URL": database_url_for(folder), "SECRET_KEY": SECRET_KEY,
        "RATELIMIT_ENABLED": False,
    })
    app.instance_path = str(folder)
    with database.connection_context():
        reset_database()
        setup.initialise(ELASTIC_PASSWORD)
        seeded = seed(Catalog())
    basic_cache.clear()
    yield app, seeded
    with database.connection_context():
        last_used.flush()
    if not database.is_closed():
        database.close()


def _csrf(html):
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start: html.index('"', start)]


def _client(app, username=None, password=USER_PASSWORD):
    client = app.test_client()
    if username:
        token = _csrf(client.get("/login").get_data(as_text=True))
        response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
        assert response.status_code == 302, f"could not sign in as {username!r}"
    return client


HTMX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/keys/"}


@dataclass
class Case:
    """One request: `who` is elastic, viewer (security_viewer), owner:<kind> (that payload user) or anonymous."""

    label: str
    who: str
    method: str
    url: str
    data: dict = None
    htmx: bool = False
    kind: str = ""


@dataclass
class Rendered:
    case: Case
    status: int
    content_type: str
    html: str
    headers: dict

    @property
    def label(self):
        return self.case.label


def _cases(seeded):
    """Every HTML route, with the seeded data and with payloads in every query parameter and form field it reads;
    each GET both as a page and as an htmx request."""
    c = seeded.catalog
    cases = []
    kind = ""

    def get(label, who, url, htmx_too=True):
        cases.append(Case(label, who, "GET", url, kind=kind))
        if htmx_too:
            cases.append(Case(label + " (htmx)", who, "GET", url, htmx=True, kind=kind))

    def post(label, who, url, data):
        for htmx in (False, True):
            cases.append(Case(label + (" (htmx)" if htmx else ""), who, "POST", url, data, htmx, kind))

    def q(**params):
        return "?" + urlencode(params, doseq=True)

    get("landing", "elastic", "/", htmx_too=False)
    get("keys list", "elastic", "/keys/")
    get("keys list sorted by name", "elastic", "/keys/" + q(sort="name", dir="desc", size="25"))
    get("keys new", "elastic", "/keys/new")
    get("settings", "elastic", "/settings/")
    get("notice settings", "elastic", "/settings/notices")
    get("notice settings (viewer)", "viewer", "/settings/notices")
    get("roles list", "elastic", "/roles/")
    get("users list", "elastic", "/users/")
    get("users new", "elastic", "/users/new")
    get("audit", "elastic", "/audit/")
    get("audit export csv", "elastic", "/audit/export.csv", htmx_too=False)
    get("audit export jsonl", "elastic", "/audit/export.jsonl", htmx_too=False)
    get("health", "anonymous", "/healthz", htmx_too=False)
    get("account of elastic", "elastic", "/account/")
    get("keys list (read-only viewer)", "viewer", "/keys/")
    get("roles list (viewer)", "viewer", "/roles/")
    get("role mappings list", "elastic", "/role-mappings/")
    get("role mapping new", "elastic", "/role-mappings/new")
    get("users list (viewer)", "viewer", "/users/")
    for kind in KINDS:
        term = seeded.searches[kind]
        user, role, key = seeded.users[kind], seeded.roles[kind], seeded.keys[kind]
        owner = f"owner:{kind}"
        get(f"keys search [{kind}]", "elastic", "/keys/" + q(q=term))
        get(f"keys search for the key name [{kind}]", "elastic", "/keys/" + q(q=c.texts[c.codes_for("key name")[
            KINDS.index(kind)]], sort="owner"))
        get(f"keys search errors [{kind}]", "elastic", "/keys/" + q(
            q=f"type:{c.mark('keys search type term', kind)}"))
        get(f"keys filters [{kind}]", "elastic", "/keys/" + q(
            type=c.mark("keys type filter", kind), status=c.mark("keys status filter", kind),
            owner=[c.mark("keys owner filter", kind), f"{user}@native"], sort=c.mark("keys sort", kind),
            dir=c.mark("keys dir", kind), size=c.mark("keys size", kind)))
        get(f"keys owner chip [{kind}]", "elastic", "/keys/" + q(owner=f"{user}@native", status="active"))
        get(f"keys paging cursors [{kind}]", "elastic", "/keys/" + q(
            after=c.mark("keys after cursor", kind), before=c.mark("keys before cursor", kind)))
        get(f"key details [{kind}]", "elastic", f"/keys/{key}")
        get(f"key details (viewer) [{kind}]", "viewer", f"/keys/{key}")
        get(f"key update form [{kind}]", owner, f"/keys/{key}")
        get(f"keys list of the owner [{kind}]", owner, "/keys/")
        get(f"key details, unknown id [{kind}]", "elastic", "/keys/" + quote(c.mark("key id in path", kind), safe=""))
        get(f"account [{kind}]", owner, "/account/")
        get(f"roles search [{kind}]", "elastic", "/roles/" + q(search=term, sort=c.mark("roles sort", kind),
                                                             order=c.mark("roles order", kind),
                                                             size=c.mark("roles size", kind),
                                                             reserved=c.mark("roles reserved", kind)))
        get(f"roles search for the role [{kind}]", "elastic", "/roles/" + q(search=role, reserved="hide"))
        get(f"role editor [{kind}]", "elastic", "/roles/edit" + q(name=role))
        get(f"role view (viewer) [{kind}]", "viewer", "/roles/edit" + q(name=role))
        get(f"role editor, unknown role [{kind}]", "elastic", "/roles/edit" + q(name=c.mark("role name in URL", kind)))
        get(f"role clone [{kind}]", "elastic", "/roles/new" + q(clone=role))
        get(f"role clone, unknown role [{kind}]", "elastic", "/roles/new" + q(clone=c.mark("clone name", kind)))
        get(f"role delete [{kind}]", "elastic", "/roles/delete" + q(name=role, next=c.mark("roles delete next", kind)))
        get(f"role delete back to a search [{kind}]", "elastic", "/roles/delete" + q(
            name=role, next="/roles/" + q(search=c.mark("roles delete next search", kind))))
        get(f"users search [{kind}]", "elastic", "/users/" + q(search=term, role=c.mark("users role filter", kind),
                                                             size=c.mark("users size", kind),
                                                             after=c.mark("users after", kind)))
        get(f"users holding a role [{kind}]", "elastic", "/users/" + q(role=role))
        get(f"users search for the user [{kind}]", "elastic", "/users/" + q(search=user))
        get(f"user editor [{kind}]", "elastic", "/users/edit" + q(username=user, realm="native"))
        get(f"user details (viewer) [{kind}]", "viewer", "/users/edit" + q(username=user, realm="native"))
        get(f"user editor, unknown user [{kind}]", "elastic", "/users/edit" + q(
            username=c.mark("username in URL", kind), realm=c.mark("realm in URL", kind)))
        get(f"user password [{kind}]", "elastic", "/users/password" + q(username=user, realm="native"))
        get(f"user delete [{kind}]", "elastic", "/users/delete" + q(username=user, realm="native",
                                                                  next=c.mark("users delete next", kind)))
        get(f"audit filters [{kind}]", "elastic", "/audit/" + q(
            actor=c.mark("audit actor filter", kind), action=c.mark("audit action filter", kind),
            target=c.mark("audit target filter", kind), outcome=c.mark("audit outcome filter", kind),
            since=c.mark("audit since filter", kind), until=c.mark("audit until filter", kind),
            size=c.mark("audit size", kind), before=c.mark("audit before", kind)))
        get(f"audit of the user [{kind}]", "elastic", "/audit/" + q(target=f"{user}@native"))
        get(f"audit by the user [{kind}]", "elastic", "/audit/" + q(actor=user))
        get(f"audit exports with filters [{kind}]", "elastic", "/audit/export.csv" + q(
            actor=c.mark("audit export actor", kind)), htmx_too=False)
        get(f"login with next [{kind}]", "anonymous", "/login" + q(next=c.mark("login next", kind)))
        # Forms posted back with problems: the answer shows what was typed.
        cases.append(Case(f"login failure [{kind}]", "anonymous", "POST", "/login",
                          {"username": c.mark("login username", kind), "password": "wrong",
                           "next": c.mark("login next (posted)", kind)}, kind=kind))
        post(f"key create with problems [{kind}]", owner, "/keys/new", {
            "name": c.mark("create form name", kind), "type": "rest", "add_metadata": "1",
            "metadata": "{" + c.mark("create form metadata", kind), "control": "1",
            "role_descriptors": c.mark("create form descriptors", kind), "expires": "1",
            "days": c.mark("create form days", kind)})
        post(f"key update with problems [{kind}]", owner, f"/keys/{key}", {
            "add_metadata": "1", "metadata": c.mark("update form metadata", kind), "control": "1",
            "role_descriptors": "[" + c.mark("update form descriptors", kind), "expires": "1",
            "days": c.mark("update form days", kind)})
        post(f"key delete confirmation [{kind}]", "elastic", "/keys/delete", {
            "ids": list(seeded.keys.values()),
            "return_to": urlencode({"q": c.mark("delete return_to search", kind)})})
        get(f"key delete confirmation dialog [{kind}]", "elastic", "/keys/delete" + q(ids=list(seeded.keys.values())))
        get(f"key expiry preview [{kind}]", owner, "/keys/expiry" + q(days=c.mark("expiry preview days", kind)))
        get(f"key rotate confirmation dialog [{kind}]", owner, "/keys/rotate" + q(ids=list(seeded.keys.values())))
        post(f"role editor posted with problems [{kind}]", "elastic", "/roles/new", {
            "name": c.mark("posted role name", kind), "description": c.mark("posted description", kind),
            "cluster_other": c.mark("posted cluster privilege", kind), "index_rows": "1",
            "indices-0-names": c.mark("posted index names", kind),
            "indices-0-privileges_other": c.mark("posted index privilege", kind),
            "indices-0-query": c.mark("posted document query", kind),
            "run_as": c.mark("posted run_as", kind), "metadata": c.mark("posted metadata", kind),
            "kept": json.dumps({"global": {"profile": {"write": {"applications": [c.mark("posted kept", kind)]}}}}),
            "application_rows": "1", "applications-0-application": c.mark("posted application", kind),
            "applications-0-privileges": c.mark("posted application privilege", kind),
            "applications-0-resources": c.mark("posted application resource", kind),
            "intent": "save"})
        get(f"role mappings search [{kind}]", "elastic", "/role-mappings/" + q(search=term))
        get(f"role mapping editor [{kind}]", "elastic", "/role-mappings/edit" + q(name=role))
        get(f"role mapping view (viewer) [{kind}]", "viewer", "/role-mappings/edit" + q(name=role))
        get(f"role mapping delete [{kind}]", "elastic", "/role-mappings/delete" + q(
            name=role, next=c.mark("mapping delete next", kind)))
        post(f"role mapping editor posted with problems [{kind}]", "elastic", "/role-mappings/new", {
            "name": c.mark("posted mapping name", kind), "roles": c.mark("posted mapping roles", kind),
            "rule_rows": "1", "field_0": c.mark("posted mapping field", kind),
            "value_0": c.mark("posted mapping value", kind), "intent": "save"})
        post(f"role editor as JSON [{kind}]", "elastic", "/roles/edit" + q(name=role), {
            "name": role, "intent": "to-json", "index_rows": "0", "mode": "form",
            "description": c.mark("to-json description", kind)})
        post(f"notice settings posted with problems [{kind}]", "elastic", "/settings/notices", {
            "days": c.mark("posted notice days", kind), "webhook_url": c.mark("posted webhook URL", kind),
            "webhook_secret": c.mark("posted webhook secret", kind)})
        post(f"user create with problems [{kind}]", "elastic", "/users/new", {
            "username": c.mark("posted username", kind), "password": "x", "confirm_password": "y",
            "full_name": c.mark("posted full name", kind), "email": c.mark("posted email", kind),
            "roles": [c.mark("posted role", kind)]})
    kind = ""
    get("role editor, JSON only", "elastic", "/roles/edit" + q(name=seeded.json_role))
    get("audit of failed sign-ins", "elastic", "/audit/" + q(outcome="failure"))
    return cases


@pytest.fixture(scope="module")
def rendered(site):
    """Every case fetched once: a list of Rendered."""
    app, seeded = site
    owners = {f"owner:{kind}": seeded.users[kind] for kind in KINDS}
    clients = {"anonymous": _client(app), "elastic": _client(app, "elastic", ELASTIC_PASSWORD),
               "viewer": _client(app, seeded.viewer)}
    tokens = {}
    results = []
    for case in _cases(seeded):
        if case.who not in clients:
            clients[case.who] = _client(app, owners[case.who])
        client = clients[case.who]
        headers = dict(HTMX) if case.htmx else {}
        if case.method == "POST":
            if case.who not in tokens:
                page = client.get("/login" if case.who == "anonymous" else "/account/")
                tokens[case.who] = _csrf(page.get_data(as_text=True))
            response = client.post(case.url, data={**case.data, "csrf_token": tokens[case.who]}, headers=headers)
        else:
            response = client.get(case.url, headers=headers)
        results.append(Rendered(case, response.status_code, response.mimetype or "",
                                response.get_data(as_text=True), dict(response.headers)))
    return results


# ---------------------------------------------------------------- the tests
def test_every_html_route_is_fetched(site, rendered):
    """Every GET route outside the JSON API is among the cases (a new page fails this until it is added)."""
    app, _ = site
    adapter = app.url_map.bind("localhost")
    fetched = set()
    for page in rendered:
        try:
            endpoint, _ = adapter.match(page.case.url.partition("?")[0], method=page.case.method)
        except (HTTPException, RoutingException):  # a payload in the path may match no route: still fetched
            continue
        fetched.add((endpoint, page.case.method))
    gets = {(rule.endpoint, "GET") for rule in app.url_map.iter_rules()
            if "GET" in rule.methods and rule.endpoint.partition(".")[0] not in ("api", "static")}
    assert len(gets) >= 19
    missing = gets - fetched
    assert not missing, f"GET routes no case fetches (add them to _cases): {sorted(missing)}"


def test_no_payload_becomes_markup(site, rendered):
    _, seeded = site
    problems = []
    for page in rendered:
        assert page.status < 500, f"{page.label}: {page.case.url} answered {page.status}"
        count("XSS: rendered pages and partials searched for payload markup")
        if page.content_type != "text/html":  # the exports are attachments (checked below), /healthz is JSON
            continue
        for problem in injection_problems(page.html, seeded.catalog) + template_problems(page.html):
            problems.append(f"{page.label} {page.case.url}: {problem}")
    assert not problems, "\n".join(problems[:40])


def test_html_answers_carry_a_strict_csp_and_exports_are_not_html(rendered):
    html_pages = [page for page in rendered if page.content_type == "text/html"]
    assert len(html_pages) > 300
    for page in html_pages:
        policy = page.headers.get("Content-Security-Policy", "")
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, page.label
        assert page.headers.get("X-Content-Type-Options") == "nosniff", page.label
    exports = [page for page in rendered if page.case.url.startswith("/audit/export")]
    assert exports and all(page.content_type in ("text/csv", "application/x-ndjson") for page in exports)
    assert all(page.headers.get("Content-Disposition", "").startswith("attachment") for page in exports)
    assert all(page.headers.get("X-Content-Type-Options") == "nosniff" for page in exports)


# Where each field must be seen, escaped: field -> label prefixes of the cases whose answers show it. Cases made for
# one payload kind ("[kind]" in the label) must show that kind's payload; the others must show every kind's.
# User metadata is on no page (only the JSON API returns it); parameters that are only carried in URLs (cursors,
# sizes, `next`, return_to) are percent-encoded there. Both are still checked above never to become markup.
SHOWN = {
    "key name": ("keys list", "key details [", "key update form", "keys search for the key name",
                 "key delete confirmation", "audit by the user", "notice settings"),
    "key metadata key": ("key details [", "key update form"),
    "key metadata value": ("key details [", "key update form"),
    "key role descriptor name": ("key details [", "key update form"),
    "key descriptor index": ("key details [", "key update form"),
    "username": ("keys list", "key details [", "users list", "user editor [", "user details (viewer)",
                 "account [", "user delete [", "audit of the user", "keys owner chip"),
    "full name": ("users list", "user editor [", "user details (viewer)", "account ["),
    "email": ("users list", "user editor [", "user details (viewer)", "account ["),
    "role name": ("roles list", "roles search for the role", "role editor [", "role view (viewer)", "users list",
                  "user editor [", "account [", "role delete [", "users holding a role", "audit of the user"),
    "role description": ("roles list", "roles search for the role", "role editor [", "role view (viewer)",
                         "role clone ["),
    "index pattern": ("role editor [", "role view (viewer)", "account [", "role clone ["),
    "granted field": ("role editor [", "role view (viewer)"),
    "excepted field": ("role editor [", "role view (viewer)"),
    "document query": ("role editor [", "role view (viewer)"),
    "application name": ("role editor [", "role view (viewer)", "role clone ["),
    "application privilege": ("role editor [", "role view (viewer)"),
    "application resource": ("role editor [", "role view (viewer)"),
    "kept global application": ("role editor [", "role view (viewer)", "role clone ["),
    "run_as user": ("role editor [", "role view (viewer)", "account ["),
    "role metadata key": ("role editor [", "role view (viewer)"),
    "role metadata value": ("role editor [", "role view (viewer)"),
    "JSON-only role name": ("role editor, JSON only",),
    "JSON-only role description": ("role editor, JSON only",),
    "JSON-only index pattern": ("role editor, JSON only",),
    "search term": ("keys search [", "roles search [", "users search ["),
    "keys search type term": ("keys search errors",),
    "keys owner filter": ("keys filters",),
    "login next": ("login with next",),
    "login username": ("login failure", "audit of failed sign-ins"),
    "login next (posted)": ("login failure",),
    "audit actor filter": ("audit filters",),
    "audit action filter": ("audit filters",),
    "audit target filter": ("audit filters",),
    "users role filter": ("users search [",),
    "keys sort": ("keys filters",),
    "keys dir": ("keys filters",),
    "audit since filter": ("audit filters",),
    "audit until filter": ("audit filters",),
    "role name in URL": ("role editor, unknown role",),
    "clone name": ("role clone, unknown role",),
    "username in URL": ("user editor, unknown user",),
    "create form name": ("key create with problems",),
    "create form metadata": ("key create with problems",),
    "create form descriptors": ("key create with problems",),
    "create form days": ("key create with problems",),
    "update form metadata": ("key update with problems",),
    "update form descriptors": ("key update with problems",),
    "update form days": ("key update with problems",),
    "posted role name": ("role editor posted with problems",),
    "posted description": ("role editor posted with problems",),
    "posted cluster privilege": ("role editor posted with problems",),
    "posted index names": ("role editor posted with problems",),
    "posted index privilege": ("role editor posted with problems",),
    "posted document query": ("role editor posted with problems",),
    "posted run_as": ("role editor posted with problems",),
    "posted metadata": ("role editor posted with problems",),
    "posted kept": ("role editor posted with problems",),
    "posted application": ("role editor posted with problems",),
    "posted application privilege": ("role editor posted with problems",),
    "posted application resource": ("role editor posted with problems",),
    "to-json description": ("role editor as JSON",),
    "posted username": ("user create with problems",),
    "posted full name": ("user create with problems",),
    "posted email": ("user create with problems",),
    "posted role": ("user create with problems",),
    "mapping group": ("role mappings list", "role mapping editor", "role mapping view (viewer)"),
    "posted mapping value": ("role mapping editor posted with problems",),
    "delivery target": ("notice settings",),
    "delivery error": ("notice settings",),
    "posted notice days": ("notice settings posted with problems",),
    "posted webhook URL": ("notice settings posted with problems",),
}


def test_every_shown_field_is_shown_escaped(site, rendered):
    """The payloads did reach the pages (so the checks above looked at them), as escaped text or safe JSON."""
    _, seeded = site
    catalog = seeded.catalog
    shown_by_page = {id(page): codes_shown(page.html, catalog) for page in rendered}
    missing = []
    for field_name, labels in SHOWN.items():
        codes = catalog.codes_for(field_name)
        assert codes, f"no payloads for {field_name}"
        for label in labels:
            pages = [page for page in rendered if page.label.startswith(label)]
            assert pages, f"no case labelled {label!r}"
            for code in codes:
                kind = catalog.fields[code][1]
                relevant = [page for page in pages if page.case.kind in ("", kind)]
                if not any(code in shown_by_page[id(page)] for page in relevant):
                    missing.append(f"{label}: {catalog.describe(code)}")
    assert not missing, "\n".join(missing[:60])


def test_reflected_error_messages_echo_the_payload_as_text(site, rendered):
    """The error answers that repeat what was typed (search syntax, failed sign-in) show it escaped."""
    _, seeded = site
    catalog = seeded.catalog
    echoed = 0
    for page in rendered:
        kind = page.case.kind
        if page.label.startswith("keys search errors") and page.case.htmx and " " not in PAYLOADS[kind]:
            code = catalog.codes_for("keys search type term")[KINDS.index(kind)]
            assert page.status == 422 and 'role="alert"' in page.html, page.label
            assert f"&#34;{escape(catalog.texts[code])}&#34; is not a key type" in page.html, page.label
            echoed += 1
        if page.label.startswith("login failure"):
            code = catalog.codes_for("login username")[KINDS.index(kind)]
            assert page.status == 401 and f'value="{escape(catalog.texts[code])}"' in page.html, page.label
            echoed += 1
    assert echoed == len(KINDS) + sum(" " not in payload for payload in PAYLOADS.values())


def test_json_in_attributes_and_pre_blocks_round_trips(site, rendered):
    """JSON the pages embed (the editor's kept parts, hx-headers, metadata and descriptors in <pre>) is valid and
    decodes to exactly what is stored."""
    _, seeded = site
    with database.connection_context():
        stored_keys = {key.id: key for key in ApiKey.select().where(ApiKey.id.in_(list(seeded.keys.values())))}
        stored_roles = roles.get_roles(system_subject(), list(seeded.roles.values()))
    checked = 0
    for kind in KINDS:
        role = stored_roles[seeded.roles[kind]]
        editor = next(page for page in rendered if page.label == f"role editor [{kind}]")
        kept = [dict(attrs)["value"] for tag, attrs in parse_html(editor.html).elements
                if tag == "input" and dict(attrs).get("name") == "kept"]
        assert json.loads(kept[0]) == {"global": role["global"]}
        details = next(page for page in rendered if page.label == f"key details [{kind}]")
        blocks = _pre_blocks(details.html)
        key = stored_keys[seeded.keys[kind]]
        assert key.metadata in blocks and key.role_descriptors in blocks
        view = next(page for page in rendered if page.label == f"role view (viewer) [{kind}]")
        assert any(block.get("description") == role["description"] and block.get("metadata") == role["metadata"]
                   for block in _pre_blocks(view.html) if isinstance(block, dict))
        checked += 3
    for page in rendered:
        for tag, attrs in parse_html(page.html).elements:
            if tag == "body" and dict(attrs).get("hx-headers"):
                assert set(json.loads(dict(attrs)["hx-headers"])) == {"X-CSRFToken"}
                checked += 1
    assert checked > 100


def _pre_blocks(html):
    """The JSON documents in the page's <pre> blocks, decoded (the HTML entities first, then the JSON)."""

    class Pre(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.depth, self.blocks = 0, []

        def handle_starttag(self, tag, attrs):
            if tag == "pre":
                self.depth += 1
                self.blocks.append("")

        def handle_endtag(self, tag):
            if tag == "pre":
                self.depth -= 1

        def handle_data(self, data):
            if self.depth:
                self.blocks[-1] += data

    parser = Pre()
    parser.feed(html)
    decoded = []
    for text in parser.blocks:
        try:
            decoded.append(json.loads(text))
        except ValueError:
            pass
    return decoded


def test_the_checks_catch_unescaped_markup():
    """The detectors themselves: each kind of breakout is reported, and escaped output passes."""
    catalog = Catalog()
    payloads = {kind: catalog.mark("probe", kind) for kind in KINDS}
    for kind, payload in payloads.items():
        safe = f'<p title="{escape(payload)}">{escape(payload)}</p>'
        assert injection_problems(safe, catalog) == [], kind
        if kind not in ("jsurl", "template"):
            assert injection_problems(f"<p>{payload}</p><input value=\"{payload}\">", catalog), kind
    assert injection_problems(f'<a href="{payloads["jsurl"]}">x</a>', catalog)
    assert injection_problems(f"<input value='{payloads['squote']}'>", catalog)
    assert template_problems("<p>49-1006</p>") and template_problems(f"<p>{SECRET_KEY}</p>")
    assert not template_problems(f"<p>{escape(payloads['template'])}</p>")
