"""The keys pages over HTTP: every htmx view as a fragment and as a page, every kind of caller, the headers."""

import html as markup
import re

import pytest

from tests.conftest import USER_PASSWORD
from webapp.clock import DAY_MS, now_ms
from webapp.model import ApiKey
from webapp.services.access.system import system_subject
from webapp.services.admin import license, settings
from webapp.services.api_keys import commands as api_keys

HTMX = {"HX-Request": "true"}


def _token(client, path="/keys/"):
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _text(response):
    """The body with HTML entities decoded, so messages read as they do on screen."""
    return markup.unescape(response.get_data(as_text=True))


def _post(client, path, data, htmx=True, **headers):
    data = {"csrf_token": _token(client, "/account/"), **data}
    return client.post(path, data=data, headers={**(HTMX if htmx else {}), **headers})


@pytest.fixture
def alice(make_user, subject_of):
    return subject_of(make_user("alice", ["api_key_user"]))


@pytest.fixture
def bob(make_user, subject_of):
    return subject_of(make_user("bob", ["api_key_user"]))


def _sign_in(auth, make_user, roles):
    make_user("caller", roles)
    auth.login("caller", USER_PASSWORD)


# ---- who sees what ------------------------------------------------------------------------------------

@pytest.mark.parametrize("roles, status, says", [
    ([], 403, "You don't have permission"),
    (["security_viewer"], 200, "your roles don't let you create, change or"),
    (["api_key_user"], 200, "You only see your own API keys"),
    (["api_key_admin"], 200, "Create API key"),
    (["security_admin"], 200, "Create API key"),
])
def test_who_may_open_the_page(client, auth, make_user, roles, status, says):
    _sign_in(auth, make_user, roles)
    response = client.get("/keys/")
    assert response.status_code == status
    assert says in _text(response)


def test_not_signed_in_is_sent_to_sign_in(client):
    assert client.get("/keys/").status_code == 302
    assert client.get("/keys/", headers=HTMX).headers["HX-Redirect"].startswith("/login")


def test_read_only_users_get_no_create_no_checkboxes_no_delete(client, auth, make_user, alice):
    api_keys.create_api_key(alice, name="alices")
    _sign_in(auth, make_user, ["security_viewer"])
    html = client.get("/keys/").get_data(as_text=True)
    assert "alices" in html and "Owner" in html
    assert "Create API key" not in html and 'name="ids"' not in html and "Delete alices" not in html
    assert client.get("/keys/new").status_code == 403
    assert _post(client, "/keys/new", {"name": "nope"}).status_code == 403
    assert _post(client, "/keys/delete", {"ids": "x", "confirmed": "1"}).status_code == 403


def test_own_keys_users_see_own_keys_without_owner_columns(client, auth, alice, bob):
    api_keys.create_api_key(alice, name="alices")
    api_keys.create_api_key(bob, name="bobs")
    auth.login("alice", USER_PASSWORD)
    html = client.get("/keys/", headers=HTMX).get_data(as_text=True)
    assert "alices" in html and "bobs" not in html
    assert ">Owner<" not in html and ">Realm<" not in html
    assert 'aria-label="Select alices"' in html and 'aria-label="Delete alices"' in html
    page = client.get("/keys/").get_data(as_text=True)
    assert 'value="invalidated"' not in page  # the Invalidated filter is for those who see every key
    assert client.get("/keys/?status=invalidated", headers=HTMX).status_code == 422


def test_disabled_api_keys_show_how_to_enable_them(client, auth, make_user):
    settings.set_setting("api_keys.enabled", False)
    auth.login()
    page = client.get("/keys/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "API keys are disabled" in html and 'href="/settings/"' in html
    fragment = client.get("/keys/?q=abc", headers=HTMX)
    assert fragment.headers["HX-Retarget"] == "#keys-page" and "<html" not in fragment.get_data(as_text=True)
    assert "API keys are disabled" in _post(client, "/keys/new", {"name": "x"}).get_data(as_text=True)
    auth.logout()
    _sign_in(auth, make_user, ["api_key_user"])
    html = client.get("/keys/").get_data(as_text=True)
    assert "manage_security" in html and 'href="/settings/"' not in html


# ---- the list -----------------------------------------------------------------------------------------

def test_list_page_and_fragment(client, auth, alice):
    api_keys.create_api_key(alice, name="alices")
    auth.login()
    page = client.get("/keys/?q=alice")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html and 'value="alice"' in html
    fragment = client.get("/keys/?q=alice", headers=HTMX)
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and body.lstrip().startswith('<section id="key-table"') and "<html" not in body
    assert "1 API key" in body and "alices" in body and "Personal" in body and "Never" in body


def test_bad_search_terms_answer_422_with_a_message(client, auth):
    auth.login()
    fragment = client.get("/keys/?q=colour:red", headers=HTMX)
    assert fragment.status_code == 422 and '"colour:" is not something you can search by' in _text(fragment)
    page = client.get("/keys/?q=colour:red")
    assert page.status_code == 422 and "<html" in page.get_data(as_text=True)
    assert client.get("/keys/?after=garbage", headers=HTMX).status_code == 422
    assert client.get("/keys/?size=1000000", headers=HTMX).status_code == 422


def test_empty_states(client, auth, alice):
    auth.login("alice", USER_PASSWORD)
    html = client.get("/keys/", headers=HTMX).get_data(as_text=True)
    assert "No API keys yet" in html and "Create API key" in html
    api_keys.create_api_key(alice, name="alices")
    html = client.get("/keys/?q=zzzz", headers=HTMX).get_data(as_text=True)
    assert "No API keys match" in html and "Clear the search and filters" in html


def test_statuses_owner_states_and_paging_links(client, auth, alice, bob):
    from webapp.services.admin import users

    expiring = api_keys.create_api_key(alice, name="soon", expiration="3d")
    expired = api_keys.create_api_key(bob, name="was")
    ApiKey.update(expiration=now_ms() - DAY_MS, last_used=now_ms() - 2 * DAY_MS).where(
        ApiKey.id == expired.id).execute()
    users.set_enabled(system_subject(), "bob", False, realm="native")
    for n in range(30):
        api_keys.create_api_key(alice, name=f"filler-{n}")
    auth.login()
    first = client.get("/keys/?sort=name&dir=desc", headers=HTMX).get_data(as_text=True)
    assert "Expires in 2 days" in first or "Expires in 3 days" in first
    assert "Expired" in first and "2 days ago" in first
    assert "Owner disabled: this key no longer works" in first
    assert "32 API keys" in first
    link = re.search(r'href="(/keys/\?sort=name&amp;dir=desc&amp;after=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(link, headers=HTMX).get_data(as_text=True)
    assert "filler-0" in second and 'rel="prev"' in second and 'rel="next"' not in second
    assert expiring.id not in second


# ---- create -------------------------------------------------------------------------------------------

def test_create_form_page_and_fragment(client, auth, alice):
    auth.login("alice", USER_PASSWORD)
    page = client.get("/keys/new").get_data(as_text=True)
    assert "<html" in page and 'id="create-key-form"' in page and "manage_own_api_key" in page
    fragment = client.get("/keys/new", headers=HTMX).get_data(as_text=True)
    assert fragment.lstrip().startswith("<form") and "<html" not in fragment
    assert "Cross-cluster API key" not in fragment


def test_create_in_place_shows_the_key_once_with_no_store(client, auth, alice):
    auth.login("alice", USER_PASSWORD)
    response = _post(client, "/keys/new", {"name": "ci", "control": "1", "role_descriptors": '{"r": {}}',
                                           "expires": "1", "days": "10", "add_metadata": "1",
                                           "metadata": '{"team": "ops"}'})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["HX-Retarget"] == "#created-key" and response.headers["HX-Trigger"] == "api-key-created"
    key = ApiKey.get(ApiKey.name == "ci")
    assert key.metadata == {"team": "ops"} and key.expiration > now_ms() + 9 * DAY_MS and "r" in key.role_descriptors
    body = response.get_data(as_text=True)
    assert "Created API key &#39;ci&#39;" in body or "Created API key 'ci'" in body
    encoded = re.search(r'id="credential-value"[^>]*value="([^"]+)"', body).group(1)
    assert 'hx-swap-oob="true"' in body and "Just now" in body
    assert f'curl -H "Authorization: ApiKey {encoded}" http://localhost/_security/_authenticate' in body.replace(
        "&#34;", '"')
    # the secret is never shown again
    assert encoded not in client.get("/keys/").get_data(as_text=True)
    assert encoded not in client.get(f"/keys/{key.id}").get_data(as_text=True)


def test_create_without_javascript_renders_the_page_with_the_key(client, auth, alice):
    auth.login("alice", USER_PASSWORD)
    response = _post(client, "/keys/new", {"name": "plain"}, htmx=False)
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    assert "<html" in response.get_data(as_text=True) and 'id="credential-value"' in response.get_data(as_text=True)


@pytest.mark.parametrize("data, field, message", [
    ({"name": ""}, "name", "api key name is required"),
    ({"name": "_x"}, "name", "api key name may not begin with an underscore"),
    ({"name": "a\x00b"}, "name", "The name can't contain the NUL character."),
    ({"name": "ok", "control": "1", "role_descriptors": "{nope"}, "role_descriptors", "Enter valid JSON"),
    ({"name": "ok", "control": "1", "role_descriptors": "[]"}, "role_descriptors", "must be a JSON object"),
    ({"name": "ok", "control": "1", "role_descriptors": ""}, "role_descriptors", "or turn this option off"),
    ({"name": "ok", "control": "1", "role_descriptors": '{"r": {"cluster": ["fly"]}}'}, "role_descriptors",
     "unknown cluster privilege [fly]"),
    ({"name": "ok", "expires": "1", "days": "0"}, "days", "Enter a whole number of days, 1 or more."),
    ({"name": "ok", "expires": "1", "days": "soon"}, "days", "Enter a whole number of days, 1 or more."),
    ({"name": "ok", "add_metadata": "1", "metadata": '{"_x": 1}'}, "metadata",
     "API key metadata keys may not start with [_]"),
    ({"name": "ok", "type": "cross_cluster", "access": '{"search": [{"names": ["*"]}]}'}, "form",
     "is unauthorized for user [alice]"),
])
def test_create_errors_keep_the_form_and_its_input(client, auth, alice, data, field, message):
    auth.login("alice", USER_PASSWORD)
    response = _post(client, "/keys/new", data)
    body = response.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"')
    assert response.status_code == 422 and body.lstrip().startswith('<form id="create-key-form"')
    assert message in body
    if field != "form":
        assert f'id="create-{field}-error"' in body
    assert f'value="{data["name"]}"' in body
    assert ApiKey.select().count() == 0
    page = _post(client, "/keys/new", data, htmx=False)
    assert page.status_code == 422 and "<html" in page.get_data(as_text=True)


def test_cross_cluster_create_for_manage_security_with_a_license(client, auth):
    auth.login()
    assert "Cross-cluster API key" not in client.get("/keys/new", headers=HTMX).get_data(as_text=True)
    license.set_license(system_subject(), "trial")
    assert "Cross-cluster API key" in client.get("/keys/new", headers=HTMX).get_data(as_text=True)
    response = _post(client, "/keys/new", {"name": "cc", "type": "cross_cluster",
                                           "access": '{"search": [{"names": ["logs-*"]}]}'})
    assert response.status_code == 200 and ApiKey.get(ApiKey.name == "cc").type == "cross_cluster"
    bad = _post(client, "/keys/new", {"name": "cc2", "type": "cross_cluster", "access": '{"search": []}'})
    assert bad.status_code == 422 and 'id="create-access-error"' in bad.get_data(as_text=True)


# ---- details and update -------------------------------------------------------------------------------

def test_details_page_and_fragment(client, auth, alice, bob):
    created = api_keys.create_api_key(alice, name="alices")
    auth.login("alice", USER_PASSWORD)
    page = client.get(f"/keys/{created.id}").get_data(as_text=True)
    assert "<html" in page and "Update API key" in page
    fragment = client.get(f"/keys/{created.id}", headers=HTMX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<article id="key-details"') and "<html" not in fragment
    bobs = api_keys.create_api_key(bob, name="bobs")
    assert client.get(f"/keys/{bobs.id}").status_code == 404


def test_update_in_place_and_without_javascript(client, auth, alice):
    created = api_keys.create_api_key(alice, name="alices")
    auth.login("alice", USER_PASSWORD)
    response = _post(client, f"/keys/{created.id}", {"control": "1", "role_descriptors": '{"ro": {"cluster": []}}',
                                                     "add_metadata": "1", "metadata": '{"v": 2}',
                                                     "expires": "1", "days": "5"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "keys-changed"
    assert body.lstrip().startswith('<article id="key-details"') and "Updated API key" in body
    key = ApiKey.get_by_id(created.id)
    assert key.metadata == {"v": 2} and "ro" in key.role_descriptors and key.expiration is not None
    bad = _post(client, f"/keys/{created.id}", {"add_metadata": "1", "metadata": "[1]"})
    assert bad.status_code == 422 and 'id="update-metadata-error"' in bad.get_data(as_text=True)
    plain = _post(client, f"/keys/{created.id}", {}, htmx=False)
    assert plain.status_code == 303 and plain.headers["Location"].endswith(f"/keys/{created.id}")
    assert ApiKey.get_by_id(created.id).role_descriptors == {} and ApiKey.get_by_id(created.id).metadata == {}
    assert "Updated API key" in client.get(plain.headers["Location"]).get_data(as_text=True)


def test_update_is_refused_for_others_keys(client, auth, alice):
    created = api_keys.create_api_key(alice, name="alices")
    auth.login()
    html = client.get(f"/keys/{created.id}", headers=HTMX).get_data(as_text=True)
    assert "API key details" in html and "only its owner can change it" in html and "<form" not in html
    response = _post(client, f"/keys/{created.id}", {"add_metadata": "1", "metadata": "{}"})
    assert response.status_code == 422 and "no API key owned by requesting user" in _text(response)


# ---- delete -------------------------------------------------------------------------------------------

def test_delete_confirmation_page_without_javascript(client, auth, alice):
    keys = [api_keys.create_api_key(alice, name=f"k{n}", metadata={"managed": n == 0}) for n in range(2)]
    auth.login("alice", USER_PASSWORD)
    confirm = _post(client, "/keys/delete", {"ids": [k.id for k in keys], "return_to": "q=k0"}, htmx=False)
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Delete 2 API keys?" in html and "Managed keys selected" in html
    one = _post(client, "/keys/delete", {"one": keys[1].id, "ids": keys[0].id}, htmx=False)
    assert "Delete API key 'k1'?" in _text(one)
    done = _post(client, "/keys/delete", {"ids": [k.id for k in keys], "confirmed": "1", "return_to": "q=k0"},
                 htmx=False)
    assert done.status_code == 303 and done.headers["Location"] == "/keys/?q=k0"
    assert "Deleted 2 API keys." in client.get(done.headers["Location"]).get_data(as_text=True)


def test_delete_in_place_reports_each_failure(client, auth, alice, bob):
    mine = api_keys.create_api_key(alice, name="mine")
    bobs = api_keys.create_api_key(bob, name="bobs")
    auth.login("alice", USER_PASSWORD)
    response = _post(client, "/keys/delete", {"ids": [mine.id, bobs.id], "confirmed": "1"},
                     **{"HX-Current-URL": "http://localhost/keys/?q=mine"})
    body = response.get_data(as_text=True).replace("&#39;", "'")
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "api-keys-deleted"
    assert body.lstrip().startswith('<section id="key-table"') and 'value="mine"' not in body
    assert '<div id="page-message" hx-swap-oob="innerHTML">' in body
    assert f"Deleted API key 'mine'. Could not delete '{bobs.id}': no such API key." in body
    assert ApiKey.get_by_id(mine.id).invalidated and not ApiKey.get_by_id(bobs.id).invalidated
    assert _post(client, "/keys/delete", {"confirmed": "1"}).status_code == 422


@pytest.mark.parametrize("query", [
    'q="', 'q=""', 'q=name:"a""b"', "q=***", "q=NEAR(abc def)", "q=abc AND", "q=%00abc%00", "q=100%25_x",
    "q=owner:@", "q=owner:%40%40%40", "q=%F0%9F%94%91%F0%9F%94%91%F0%9F%94%91", "q=type:", "sort=name&dir=sideways",
    "owner=%00@%00", "owner=a@b&owner=c", "size=-1", "after=%FF%FE", "before=WyJ4Il0", "status=%00",
])
def test_odd_input_never_breaks_the_list(client, auth, alice, query):
    api_keys.create_api_key(alice, name='quote " and 100%_ 🔑🔑🔑')
    auth.login()
    for headers in ({}, HTMX):
        assert client.get(f"/keys/?{query}", headers=headers).status_code in (200, 422)


@pytest.mark.parametrize("path", ["/keys/%00", "/keys/" + "x" * 300, "/keys/%C3%A9"])
def test_odd_key_ids_are_not_found(client, auth, path):
    auth.login()
    assert client.get(path).status_code == 404
    assert _post(client, "/keys/delete", {"ids": "\x00", "confirmed": "1"}).status_code == 422


@pytest.mark.parametrize("sort, values", [("created", [10**30, "x"]), ("created", [2**63, "x"]),
                                          ("status", [-(2**63) - 1, 1, "x"]), ("last_used", [1e309, 1, "x"])])
def test_a_cursor_with_numbers_no_database_holds_is_a_stale_cursor(client, auth, sort, values):
    import base64
    import json

    auth.login()
    text = json.dumps([sort, "desc", values]).replace("Infinity", "1e309")
    token = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    for direction in ("after", "before"):
        response = client.get(f"/keys/?sort={sort}&dir=desc&{direction}={token}", headers=HTMX)
        assert response.status_code == 422, response.get_data(as_text=True)[:300]
