"""XSS in Chromium: the data seeded by tests/integration/test_xss_rendered.py (a payload in every user-controlled
field: key names and metadata, role names, descriptions, privileges and metadata, usernames, full names, emails)
is shown on every page and in every htmx-swapped part (search as you type, filters, sorting, paging, the key
dialogs, create, update and delete, the role editor and its JSON view, the user pages, the audit log and its
filters, the account page, error answers), and search terms are typed into the real boxes. Nothing may run:

- window.__xss has a trapping setter (installed before any page script) that reports every assignment;
- a dialog (alert/confirm/prompt) fails the test;
- no request may go to a URL a payload names (/__xss/..., the img src=x) or to another host;
- no Content-Security-Policy violation may happen at all (an injected inline script would be one; the app's
  own markup causes none), so escaping, not only the CSP, is what keeps the payloads inert;
- the DOM holds no element or attribute a payload would create, and the payloads are visible as literal text.

One app, one seeding, one browser context for the module: the tests run in order and share the signed-in page.
"""

import json
import re
import threading
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from tests.browser.conftest import sign_out
from tests.conftest import ELASTIC_PASSWORD, USER_PASSWORD, count, database_url_for, reset_database
from tests.integration.test_xss_rendered import KINDS, SECRET_KEY, Catalog, injection_problems, seed
from webapp import create_app
from webapp.model.db import database
from webapp.services.access.authentication import basic_cache, last_used
from webapp.services.schema import bootstrap as setup

TRAP = """
(() => {
  const report = (what) => {
    (window.__keydeskHits = window.__keydeskHits || []).push(what);
    if (window.__keydeskReport) { window.__keydeskReport(what); }
  };
  let assigned;
  Object.defineProperty(window, "__xss", {
    configurable: false,
    get() { return assigned; },
    set(value) { assigned = value; report({kind: "xss", value: String(value), url: location.href}); },
  });
  document.addEventListener("securitypolicyviolation", (event) => report({
    kind: "csp", directive: event.violatedDirective, blocked: event.blockedURI, sample: event.sample,
    source: event.sourceFile, line: event.lineNumber, url: location.href,
  }));
})();
"""
# DOM a payload would create if it were parsed as markup.
INJECTED = ("img[src='x'], svg, iframe, object, embed, base, script:not([src]), [onload], [onerror], [onfocus], "
            "[onmouseover], [hx-trigger='load'], [hx-get^='/__xss'], a[href^='javascript:' i], [x]")


@dataclass
class Watch:
    """What the page did that it must not: trap reports, dialogs, requests, page errors."""

    base: str
    hits: list = field(default_factory=list)
    dialogs: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    def on_request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob"):
            return
        if (f"{parts.scheme}://{parts.netloc}" != self.base or "__xss" in parts.path
                or parts.path.rsplit("/", 1)[-1] == "x"):
            self.requests.append(request.url)

    def report(self, what):
        self.hits.append(what)

    def on_dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@dataclass
class Site:
    page: object
    watch: Watch
    catalog: Catalog
    seeded: object
    base: str

    def payload(self, field_name, kind):
        return self.catalog.texts[self.catalog.codes_for(field_name)[KINDS.index(kind)]]

    def clean(self, where):
        """Nothing ran, nothing was requested, nothing was injected, on the page as it is now."""
        page, watch = self.page, self.watch
        page.wait_for_timeout(20)  # let a queued onerror/onload or an htmx load trigger fire
        assigned = page.evaluate("window.__xss")
        hits = list(watch.hits)
        injected = page.locator(INJECTED).count()
        problems = injection_problems(page.content(), self.catalog, raw=False)
        described = [self.catalog.describe(hit["value"]) if hit.get("kind") == "xss" else hit for hit in hits]
        assert assigned is None, f"{where}: window.__xss = {assigned} ({self.catalog.describe(assigned)})"
        assert not hits, f"{where}: {described}"
        assert not watch.dialogs, f"{where}: dialogs {watch.dialogs}"
        assert not watch.requests, f"{where}: requests to injected URLs {watch.requests}"
        assert not watch.errors, f"{where}: JavaScript errors {watch.errors}"
        assert injected == 0, f"{where}: {injected} injected elements: {page.locator(INJECTED).first.inner_html()}"
        assert not problems, f"{where}: {problems[:10]}"
        assert SECRET_KEY not in page.content(), f"{where}: a template expression was evaluated"
        count("XSS: page states checked in Chromium with every payload seeded")

    def swap(self, action, url_part):
        """Run `action` and wait for the htmx request whose URL contains `url_part`, and its swap."""
        with self.page.expect_response(lambda response: url_part in response.url) as answer:
            action()
        response = answer.value
        response.finished()
        self.page.wait_for_timeout(30)  # htmx settles after the response (20 ms default)
        return response

    def sign_in(self, username, password=USER_PASSWORD):
        page = self.page
        page.goto("/login")
        if not urlsplit(page.url).path.endswith("/login"):  # someone is signed in already
            self.sign_out()
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page.locator(".whoami-name")).to_have_text(username)

    def sign_out(self):
        self.page.goto("/account/")
        sign_out(self.page)
        expect(self.page).to_have_url(re.compile(r"/login$"))


@pytest.fixture(scope="module")
def site(browser, tmp_path_factory):
    folder = tmp_path_factory.mktemp("xss-browser")
    app = create_app({
        "TESTING": True, "KEYDESK_DATABASE_URL": database_url_for(folder), "SECRET_KEY": SECRET_KEY,
        "RATELIMIT_ENABLED": False,
    })
    app.instance_path = str(folder)
    catalog = Catalog()
    with database.connection_context():
        reset_database()
        setup.initialise(ELASTIC_PASSWORD)
        seeded = seed(catalog)
    basic_cache.clear()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    watch = Watch(base)
    context = browser.new_context(base_url=base)
    context.set_default_timeout(10_000)
    context.expose_function("__keydeskReport", watch.report)
    context.add_init_script(TRAP)
    context.on("request", watch.on_request)
    # Nothing leaves the machine: a redirect or payload that points elsewhere is recorded and refused.
    context.route(re.compile(r"^(?!" + re.escape(base) + r")https?://"), lambda route: route.abort())
    page = context.new_page()
    page.on("dialog", watch.on_dialog)
    page.on("pageerror", lambda error: watch.errors.append(str(error)))
    yield Site(page, watch, catalog, seeded, base)
    context.close()
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()
    with database.connection_context():
        last_used.flush()
    if not database.is_closed():
        database.close()


@pytest.fixture(autouse=True)
def nothing_left_over(site):
    """After each test: nothing ran after its last check either; then a clean slate, so one failure stays one."""
    yield
    watch = site.watch
    leftovers = {"hits": list(watch.hits), "dialogs": list(watch.dialogs), "requests": list(watch.requests),
                 "errors": list(watch.errors)}
    for found in (watch.hits, watch.dialogs, watch.requests, watch.errors):
        found.clear()
    assert not any(leftovers.values()), leftovers


@pytest.fixture
def admin(site):
    """The shared page, signed in as elastic (signed in again only when a test before signed out)."""
    if not site.page.url.startswith(site.base) or site.page.locator(".whoami-name").all_inner_texts() != ["elastic"]:
        site.sign_in("elastic", ELASTIC_PASSWORD)
    return site


SWAPPED_ROWS = ("script", "dquote", "htmx")  # kinds whose rows the list searches also bring in through htmx


def _json_text(value):
    """A string as it reads inside JSON text (json.dumps: the update form, the role editor)."""
    return json.dumps(value)[1:-1]


def _tojson_text(value):
    """A string as it reads inside JSON that Jinja's tojson made safe for HTML (the <pre> blocks)."""
    return (_json_text(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("'", "\\u0027"))


# ---------------------------------------------------------------- the keys page
def test_keys_list_shows_names_and_owners_as_text(admin):
    site, page = admin, admin.page
    page.goto("/keys/?size=50")
    table = page.locator("#key-table")
    for kind in KINDS:
        expect(table.get_by_role("link", name=site.payload("key name", kind), exact=True)).to_be_visible()
        expect(table).to_contain_text(site.payload("username", kind))
    site.clean("keys list")


@pytest.mark.parametrize("kind", KINDS)
def test_keys_search_typed_in_the_box(admin, kind):
    site, page = admin, admin.page
    page.goto("/keys/?size=50")
    box = page.get_by_label("Search API keys")
    name = site.payload("key name", kind)
    site.swap(lambda: box.fill(name), "/keys/?")
    expect(box).to_have_value(name)
    expect(page).to_have_url(re.compile(r"[?&]q="))
    table = page.locator("#key-table")
    if name.count('"') % 2:
        expect(table.get_by_role("alert")).to_contain_text("A quotation mark is not closed.")
    elif ":" in name:  # javascript:… reads as a search field: the error names it
        expect(table.get_by_role("alert")).to_contain_text('"javascript:" is not something you can search by')
    else:
        expect(table.get_by_role("link", name=name, exact=True)).to_be_visible()
    site.clean(f"keys search for the {kind} key name")
    # A term that is an error, with the payload echoed in the message.
    term = site.payload("search term", kind)
    site.swap(lambda: box.fill(f"type:{term}"), "/keys/?")
    expect(table.get_by_role("alert")).to_be_visible()
    if " " not in term:
        expect(table.get_by_role("alert")).to_contain_text(f'"{term}" is not a key type')
    expect(box).to_have_value(f"type:{term}")
    site.clean(f"keys search error with the {kind} payload")


def test_keys_owner_filter_sorting_and_paging(admin):
    site, page = admin, admin.page
    page.goto("/keys/")
    page.locator(".owner-filter summary").click()
    owners = page.locator('.owner-filter input[name="owner"]')
    labels = page.locator(".owner-filter label").all_inner_texts()
    for kind in KINDS:
        assert any(label.strip().startswith(site.payload("username", kind)) for label in labels), (kind, labels)
    wanted = f"{site.payload('username', 'script')}@native"
    box = next(owners.nth(n) for n in range(owners.count()) if owners.nth(n).get_attribute("value") == wanted)
    site.swap(lambda: box.check(), "/keys/?")
    expect(page.locator("#key-table-total")).to_have_text("1 API key")
    expect(page.locator("#filter-owner-summary")).to_have_text("1 selected")
    site.clean("keys owner filter")
    site.swap(lambda: box.uncheck(), "/keys/?")
    page.locator(".owner-filter summary").click()
    site.swap(lambda: page.get_by_role("link", name="Name", exact=True).click(), "sort=name")
    expect(page.get_by_role("columnheader", name=re.compile("Name"))).to_have_attribute("aria-sort", "ascending")
    site.clean("keys sorted by name")
    site.swap(lambda: page.get_by_role("link", name="Owner", exact=True).click(), "sort=owner")
    site.swap(lambda: page.get_by_role("link", name="Next").click(), "after=")
    expect(page.get_by_role("link", name="Previous")).to_be_visible()
    site.clean("keys second page")
    site.swap(lambda: page.get_by_role("link", name="Previous").click(), "before=")
    site.clean("keys first page again")
    page.go_back()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#key-table")).to_be_visible()
    site.clean("keys history")


@pytest.mark.parametrize("kind", KINDS)
def test_key_details_dialog(admin, kind):
    site, page = admin, admin.page
    if not page.url.endswith("/keys/?size=50"):
        page.goto("/keys/?size=50")
    name = site.payload("key name", kind)
    site.swap(lambda: page.locator("#key-table").get_by_role("link", name=name, exact=True).click(), "/keys/")
    dialog = page.locator("#key-details-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("dd").first).to_have_text(name)
    expect(dialog).to_contain_text(site.payload("username", kind))
    for field_name in ("key metadata key", "key metadata value", "key role descriptor name", "key descriptor index"):
        expect(dialog).to_contain_text(_tojson_text(site.payload(field_name, kind)))
    site.clean(f"key details of the {kind} key")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


@pytest.mark.parametrize("kind", KINDS)
def test_delete_confirmation_of_one_key(admin, kind):
    site, page = admin, admin.page
    if not page.url.endswith("/keys/?size=50"):
        page.goto("/keys/?size=50")
    name = site.payload("key name", kind)
    page.get_by_role("button", name=f"Delete {name}", exact=True).click()
    dialog = page.locator("#delete-keys-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#delete-keys-title")).to_have_text(f"Delete API key '{name}'?")
    site.clean(f"delete confirmation of the {kind} key")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()


def test_bulk_delete_confirmation_lists_every_name(admin):
    site, page = admin, admin.page
    page.goto("/keys/?size=50")
    page.get_by_label("Select all").check()
    page.locator("[data-bulk-delete]").click()
    dialog = page.locator("#delete-keys-dialog")
    expect(dialog).to_be_visible()
    names = dialog.locator("[data-delete-names] li").all_inner_texts()
    for kind in KINDS:
        assert site.payload("key name", kind) in names, kind
    site.clean("bulk delete confirmation")
    dialog.get_by_role("button", name="Cancel").click()
    page.get_by_label("Select all").uncheck()


@pytest.mark.parametrize("kind", KINDS)
def test_create_show_and_delete_a_key(admin, kind):
    """The create dialog (a refused form, then the success panel), and deleting the new key (the outcome)."""
    site, page = admin, admin.page
    page.goto("/keys/")
    name = site.catalog.mark("created key name", kind)
    meta_key, meta_value = site.catalog.mark("created metadata key", kind), site.catalog.mark("created value", kind)
    page.get_by_role("button", name="Create API key").first.click()
    dialog = page.locator("#create-key-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_label("Add metadata").check()
    broken = "{" + json.dumps(meta_key) + ": " + meta_value
    dialog.get_by_label("Metadata", exact=True).fill(broken)
    site.swap(lambda: dialog.get_by_role("button", name="Create API key").click(), "/keys/new")
    expect(dialog.locator("[aria-invalid=true]")).to_have_count(1)
    expect(dialog.get_by_label("Metadata", exact=True)).to_have_value(broken)
    expect(dialog.get_by_label("Name", exact=True)).to_have_value(name)
    site.clean(f"create form refused with {kind} payloads")
    dialog.get_by_label("Metadata", exact=True).fill(json.dumps({meta_key: {"nested": [meta_value]}}))
    site.swap(lambda: dialog.get_by_role("button", name="Create API key").click(), "/keys/new")
    panel = page.locator("#created-key")
    expect(panel.get_by_role("heading")).to_have_text(f"Created API key '{name}'")
    expect(page.locator("#key-table tr.just-created")).to_contain_text(name)
    site.clean(f"create success with the {kind} name")
    page.get_by_role("button", name=f"Delete {name}", exact=True).click()
    confirm = page.locator("#delete-keys-dialog")
    expect(confirm.locator("#delete-keys-title")).to_have_text(f"Delete API key '{name}'?")
    site.swap(lambda: confirm.get_by_role("button", name="Delete", exact=True).click(), "/keys/delete")
    expect(page.locator("#page-message")).to_have_text(f"Deleted API key '{name}'.")
    site.clean(f"delete outcome of the {kind} key")


def test_key_delete_without_javascript_confirmation_page(admin):
    """The no-JavaScript confirmation page lists the names too (the form posted as is)."""
    site, page = admin, admin.page
    page.goto("/keys/?size=50")
    page.evaluate("""() => {
        const form = document.getElementById('key-selection');
        form.querySelectorAll('input[name=ids]').forEach((box) => { box.checked = true; });
        form.submit();
    }""")
    page.wait_for_url(re.compile(r"/keys/delete$"))
    for kind in KINDS:
        expect(page.locator("main")).to_contain_text(site.payload("key name", kind))
    site.clean("key delete confirmation page")


# ---------------------------------------------------------------- roles
def test_roles_list_and_search(admin):
    site, page = admin, admin.page
    page.goto("/roles/")
    table = page.locator("#role-table")
    for kind in KINDS:
        expect(table.get_by_role("link", name=site.payload("role name", kind), exact=True)).to_be_visible()
        expect(table).to_contain_text(site.payload("role description", kind))
    site.clean("roles list")
    box = page.get_by_label("Search roles")
    for kind in KINDS:
        term = site.payload("search term", kind)
        site.swap(lambda term=term: box.fill(term), "/roles/?")
        expect(table).to_contain_text(f"No roles match “{term}”")
        site.clean(f"roles search for a {kind} term")
        if kind not in SWAPPED_ROWS:  # every row is on the page already; a few through the swap too
            continue
        role = site.payload("role name", kind)
        site.swap(lambda role=role: box.fill(role), "/roles/?")
        expect(table.get_by_role("link", name=role, exact=True)).to_be_visible()
        site.clean(f"roles search for the {kind} role")
    site.swap(lambda: box.fill(""), "/roles/?")
    site.swap(lambda: table.get_by_role("link", name=re.compile("^Role")).click(), "sort=name")
    site.clean("roles sorted")


@pytest.mark.parametrize("kind", KINDS)
def test_role_editor_json_view_and_delete_dialog(admin, kind):
    site, page = admin, admin.page
    role = site.payload("role name", kind)
    page.goto("/roles/")
    page.get_by_role("link", name=f"Edit {role}", exact=True).click()
    expect(page.get_by_label("Role name")).to_have_value(role)
    expect(page.get_by_label("Description", exact=True)).to_have_value(site.payload("role description", kind))
    expect(page.get_by_label("Indices", exact=True)).to_have_value(site.payload("index pattern", kind))
    expect(page.get_by_label("Run as users")).to_have_value(site.payload("run_as user", kind))
    granted = site.payload("granted field", kind)
    expect(page.get_by_label("Granted fields")).to_have_value(re.compile(re.escape(granted)))
    expect(page.get_by_label("Metadata (JSON)")).to_have_value(
        re.compile(re.escape(_json_text(site.payload("role metadata value", kind)))))
    expect(page.get_by_label("Application", exact=True)).to_have_value(site.payload("application name", kind))
    expect(page.get_by_label("Resources", exact=True)).to_have_value(site.payload("application resource", kind))
    kept = json.loads(page.locator("input[name=kept]").get_attribute("value"))
    assert kept["global"]["profile"]["write"]["applications"] == [site.payload("kept global application", kind)]
    expect(page.locator("#kept-note")).to_be_visible()
    site.clean(f"role editor of the {kind} role")
    site.swap(lambda: page.get_by_role("button", name="Edit as JSON").click(), "/roles/edit")
    editor = page.get_by_label("Role definition as JSON")
    shown = json.loads(editor.input_value())
    assert shown["description"] == site.payload("role description", kind)
    assert shown["applications"][0]["resources"] == [site.payload("application resource", kind)]
    site.clean(f"role JSON view of the {kind} role")
    site.swap(lambda: page.get_by_role("button", name="Delete role").click(), "/roles/delete")
    dialog = page.locator("#role-delete-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text(f"Delete role {role}?")
    expect(dialog).to_contain_text(site.payload("username", kind))
    site.clean(f"role delete dialog of the {kind} role")
    dialog.get_by_role("button", name="Cancel").click()


def test_role_editor_opened_as_json(admin):
    site, page = admin, admin.page
    page.goto("/roles/edit?" + urlencode({"name": site.seeded.json_role}))
    shown = json.loads(page.get_by_label("Role definition as JSON").input_value())
    assert shown["indices"][0]["names"][1:] == [site.payload("JSON-only index pattern", kind) for kind in KINDS]
    site.clean("role editor opened as JSON")
    page.goto("/roles/")
    page.get_by_role("link", name=f"Delete {site.seeded.json_role}", exact=True).click()
    dialog = page.locator("#role-delete-dialog")
    expect(dialog.get_by_role("heading")).to_have_text(f"Delete role {site.seeded.json_role}?")
    site.clean("role delete dialog from the list")
    dialog.get_by_role("button", name="Cancel").click()


# ---------------------------------------------------------------- users
def test_users_list_search_and_role_filter(admin):
    site, page = admin, admin.page
    page.goto("/users/")
    table = page.locator("#user-table")
    for kind in KINDS:
        for field_name in ("username", "full name", "email", "role name"):
            expect(table).to_contain_text(site.payload(field_name, kind))
    site.clean("users list")
    box = page.get_by_label("Search users")
    for kind in KINDS:
        term = site.payload("search term", kind)
        site.swap(lambda term=term: box.fill(term), "/users/?")
        expect(table).to_contain_text(f"No users match “{term}”")
        site.clean(f"users search for a {kind} term")
        if kind not in SWAPPED_ROWS:
            continue
        username = site.payload("username", kind)
        site.swap(lambda username=username: box.fill(username), "/users/?")
        expect(table.get_by_role("link", name=username, exact=True)).to_be_visible()
        site.clean(f"users search for the {kind} user")
    page.goto("/roles/")
    role = site.payload("role name", "img")
    page.get_by_role("link", name=f"1 user with role {role}", exact=True).click()
    expect(page.locator("#user-filters code")).to_have_text(role)
    expect(page.locator("#user-table")).to_contain_text(site.payload("username", "img"))
    site.clean("users holding a role")


@pytest.mark.parametrize("kind", KINDS)
def test_user_editor_and_delete_dialog(admin, kind):
    site, page = admin, admin.page
    username = site.payload("username", kind)
    page.goto("/users/edit?" + urlencode({"username": username, "realm": "native"}))
    expect(page.get_by_role("heading", level=1)).to_have_text(username)
    expect(page.get_by_label("Full name")).to_have_value(site.payload("full name", kind))
    expect(page.get_by_label("Email")).to_have_value(site.payload("email", kind))
    expect(page.locator("#role-choices").get_by_label(site.payload("role name", kind), exact=True)).to_be_checked()
    site.clean(f"user editor of the {kind} user")
    page.get_by_label("Find a role").fill(site.payload("role name", kind))
    site.clean(f"role filter typed in the {kind} user editor")
    site.swap(lambda: page.get_by_role("button", name="Reset password").click(), "/users/password")
    expect(page.locator("#user-password [aria-invalid=true]").first).to_be_visible()
    site.clean(f"password reset refused for the {kind} user")
    site.swap(lambda: page.get_by_role("button", name="Delete user").click(), "/users/delete")
    dialog = page.locator("#user-delete-dialog")
    expect(dialog.get_by_role("heading")).to_have_text(f"Delete user {username}?")
    site.clean(f"user delete dialog of the {kind} user")
    dialog.get_by_role("button", name="Cancel").click()


# ---------------------------------------------------------------- audit
def test_audit_log_and_its_filters(admin):
    site, page = admin, admin.page
    page.goto("/audit/?action=user.create")
    table = page.locator("#audit-table")
    for kind in KINDS:
        expect(table).to_contain_text(f"{site.payload('username', kind)}@native")
        expect(table).to_contain_text(_tojson_text(site.payload("full name", kind)))
    site.clean("audit log of created users")
    page.get_by_label("Action").fill("api_key.create")
    site.swap(lambda: page.get_by_label("Action").press("Enter"), "/audit/?")
    for kind in KINDS:
        expect(table).to_contain_text(_tojson_text(site.payload("key metadata value", kind)))
    site.clean("audit log of created keys")
    page.get_by_label("Action").fill("")
    for kind in KINDS:
        actor = page.get_by_label("Actor")
        page.get_by_label("Target").fill("")
        actor.fill(site.payload("username", kind))
        site.swap(lambda actor=actor: actor.press("Enter"), "/audit/?")
        expect(table).to_contain_text(_tojson_text(site.payload("key name", kind)))
        site.clean(f"audit filtered by the {kind} user")
        actor.fill(site.payload("search term", kind))
        page.get_by_label("Target").fill(site.payload("search term", kind))
        site.swap(lambda: page.get_by_role("button", name="Filter", exact=True).click(), "/audit/?")
        expect(table).to_contain_text("No audit events match these filters.")
        expect(actor).to_have_value(site.payload("search term", kind))
        site.clean(f"audit filtered by a {kind} term")
    page.goto("/audit/?" + urlencode({"since": site.payload("search term", "svg")}))
    expect(page.locator("#since-error")).to_be_visible()
    site.clean("audit filter error")


# ---------------------------------------------------------------- the payload users themselves
def test_sign_in_failure_echoes_the_username_as_a_value(admin):
    site, page = admin, admin.page
    site.sign_out()
    for kind in KINDS:
        username = site.payload("search term", kind)
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")
        expect(page.get_by_label("Username")).to_have_value(username)
        site.clean(f"failed sign-in as a {kind} name")


@pytest.mark.parametrize("kind", KINDS)
def test_account_and_the_update_form_of_the_owner(site, kind):
    page = site.page
    username = site.payload("username", kind)
    site.sign_in(username)
    expect(page.locator(".whoami-name")).to_have_text(username)
    page.goto("/account/")
    main = page.locator("main")
    for field_name in ("username", "full name", "email", "role name", "index pattern", "run_as user"):
        expect(main).to_contain_text(site.payload(field_name, kind))
    site.clean(f"account of the {kind} user")
    page.goto("/keys/")
    name = site.payload("key name", kind)
    site.swap(lambda: page.locator("#key-table").get_by_role("link", name=name, exact=True).click(), "/keys/")
    dialog = page.locator("#key-details-dialog")
    expect(dialog.get_by_role("heading", name="Update API key")).to_be_visible()
    metadata = dialog.get_by_label("Metadata", exact=True)
    expect(metadata).to_have_value(re.compile(re.escape(_json_text(site.payload("key metadata value", kind)))))
    descriptors = dialog.get_by_label("Role descriptors", exact=True)
    expect(descriptors).to_have_value(re.compile(re.escape(_json_text(site.payload("key descriptor index", kind)))))
    site.clean(f"update form of the {kind} key")
    value = site.catalog.mark("updated metadata value", kind)
    metadata.fill(json.dumps({"note": value}))
    site.swap(lambda: dialog.get_by_role("button", name="Update API key").click(), "/keys/")
    expect(dialog.get_by_role("status")).to_have_text(f"Updated API key '{name}'.")
    expect(dialog.get_by_label("Metadata", exact=True)).to_have_value(re.compile(re.escape(_json_text(value))))
    site.clean(f"updated {kind} key")
    dialog.get_by_label("Metadata", exact=True).fill(value)
    site.swap(lambda: dialog.get_by_role("button", name="Update API key").click(), "/keys/")
    expect(dialog.get_by_label("Metadata", exact=True)).to_have_value(value)
    expect(dialog.locator("#update-metadata-error")).to_be_visible()
    site.clean(f"update of the {kind} key refused")
    site.sign_out()


def test_read_only_views_of_a_security_viewer(site):
    page = site.page
    site.sign_in(site.seeded.viewer)
    for kind in KINDS:
        page.goto("/roles/edit?" + urlencode({"name": site.payload("role name", kind)}))
        view = page.locator("#role-view")
        for field_name in ("role name", "role description", "index pattern", "run_as user"):
            expect(view).to_contain_text(site.payload(field_name, kind))
        expect(view.locator("pre")).to_contain_text(_json_text(site.payload("application privilege", kind)))
        site.clean(f"role view of the {kind} role")
        page.goto(f"/keys/{site.seeded.keys[kind]}")
        descriptor_name = site.payload("key role descriptor name", kind)
        expect(page.locator("#key-details")).to_contain_text(_tojson_text(descriptor_name))
        site.clean(f"key details page of the {kind} key")
    site.sign_out()


# ---------------------------------------------------------------- redirects, in the browser itself
@pytest.mark.parametrize("target", ["//evil.example", "/\\evil.example", "\t//evil.example",
                                    "javascript:window.__xss=9999"])
def test_sign_in_next_keeps_the_browser_on_the_site(site, target):
    page = site.page
    page.goto("/login?" + urlencode({"next": target}))
    page.get_by_label("Username").fill("elastic")
    page.get_by_label("Password").fill(ELASTIC_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert page.url.startswith(site.base + "/"), page.url
    site.clean(f"signed in with next={target!r}")
    page.goto("/login?" + urlencode({"next": target}))  # signed in already: straight to the target
    page.wait_for_load_state()
    assert page.url.startswith(site.base + "/"), page.url
    site.clean(f"signed-in visit to the login page with next={target!r}")
    site.sign_out()


def test_the_detectors_catch_what_they_are_for(site):
    """Each detector on its own: the window.__xss trap, the CSP report of a blocked inline handler, the request
    an injected image makes, and the DOM check."""
    page, watch = site.page, site.watch
    page.goto("/login")
    page.evaluate("window.__xss = 4242")
    with pytest.raises(AssertionError, match="4242"):
        site.clean("a page that ran a payload")
    assert [hit["value"] for hit in watch.hits if hit["kind"] == "xss"] == ["4242"]
    watch.hits.clear()
    page.goto("/login")
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"window.__xss=4343\">')")
    expect(page.locator("img[src=x]")).to_have_count(1)
    page.wait_for_timeout(300)
    with pytest.raises(AssertionError):
        site.clean("a page with an injected image")
    assert page.evaluate("window.__xss") is None  # the CSP kept the handler from running...
    assert any(hit["kind"] == "csp" for hit in watch.hits)  # ...and said so
    assert any(urlsplit(url).path == "/x" for url in watch.requests)
    watch.hits.clear()
    watch.requests.clear()
    page.goto("/login")
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<svg></svg>')")
    with pytest.raises(AssertionError, match="injected elements"):
        site.clean("a page with an injected svg")
    page.goto("/login")
    site.clean("a fresh page after the probes")
