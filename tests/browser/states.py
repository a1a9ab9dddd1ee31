"""Named states of the pages, for the look tests and the screenshot script.

Each state is entered on a Playwright page whose context has the app's base URL: `signed_in` says whether
the page must be signed in as elastic first, `data` which seed it expects ("demo": `seed_demo()`, "none":
a fresh database). Entering waits until the state is really there (a dialog open, a panel shown).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from playwright.sync_api import Page, expect

from tests.conftest import ELASTIC_PASSWORD, USER_PASSWORD
from webapp.clock import now_ms
from webapp.model import ApiKey, NoticeDelivery, User
from webapp.model.db import database
from webapp.services.access.authentication import subject_for_user
from webapp.services.access.proxy_roles import mapped_proxy_subject
from webapp.services.access.system import system_subject
from webapp.services.admin import license, role_mappings, roles
from webapp.services.admin.users import create_native_user
from webapp.services.api_keys import commands as api_keys
from webapp.services.api_keys import rotation, usage_counts
from webapp.services.audit import trail as audit
from webapp.services.notices import deliveries, preferences

DAY_MS = 24 * 60 * 60 * 1000
LONG_NAME = "nightly-backup-uploader-for-the-eu-west-object-store-with-a-very-long-descriptive-name"

DEMO_ROLES = {
    "deployer": {"description": "Deploys services and manages its own API keys",
                 "cluster": ["manage_own_api_key", "monitor"],
                 "indices": [{"names": ["deploy-*"], "privileges": ["read", "write"]}],
                 "applications": [{"application": "kibana-.kibana",
                                   "privileges": ["feature_discover.read", "feature_dashboard.all"],
                                   "resources": ["space:default", "space:deployments"]}]},
    "log_shipper": {"description": "Ships logs with keys of its own",
                    "cluster": ["manage_own_api_key"],
                    "indices": [{"names": ["logs-*", "metrics-*"], "privileges": ["create_doc", "auto_configure"]}]},
    "metrics_reader": {"description": "Reads dashboards and metrics",
                       "cluster": ["monitor"],
                       "indices": [{"names": ["metrics-*"], "privileges": ["read", "view_index_metadata"]}]},
}
DEMO_USERS = (
    ("alice", ["deployer"], "Alice Martin", "alice@example.com"),
    ("bob", ["log_shipper", "metrics_reader"], "Bob Okafor", "bob@example.com"),
    ("carol", ["security_viewer"], "Carol Nguyen", None),
    ("dave", ["api_key_user"], None, None),
)
DEMO_MAPPINGS = {
    "ops-team": {"enabled": True, "roles": ["deployer", "metrics_reader"],
                 "rules": {"any": [{"field": {"groups": "ops"}}, {"field": {"groups": "sre-*"}}]}},
    "security-staff": {"enabled": True, "roles": ["security_viewer"],
                       "rules": {"all": [{"field": {"realm.name": "proxy"}}, {"field": {"groups": "staff"}},
                                         {"except": {"field": {"username": "/contractor-.*/"}}}]}},
    "per-user-role": {"enabled": False, "rules": {"field": {"username": "*"}},
                      "role_templates": [{"template": {"source": "user_{{username}}"}, "format": "string"}]},
}
# (owner, name, kind, expiration, days ago created): kind is rest, managed, cross_cluster, expired or invalidated.
DEMO_KEYS = (
    ("elastic", "ci-deploy", "rest", "90d", 30),
    ("elastic", "replication-eu", "cross_cluster", None, 21),
    ("elastic", "fleet-server", "managed", None, 60),
    ("elastic", "old-monitoring", "expired", "30d", 45),
    ("alice", "deploy-prod", "rest", "30d", 12),
    ("alice", "deploy-staging", "rest", "5d", 3),
    ("alice", LONG_NAME, "rest", None, 8),
    ("alice", "temporary-debug", "invalidated", None, 2),
    ("bob", "filebeat-web-01", "rest", "365d", 90),
    ("bob", "filebeat-web-02", "rest", "365d", 90),
    ("bob", "metricbeat", "managed", None, 40),
    ("bob", "grafana-dashboards", "rest", "2d", 1),
)


def _subject(username):
    return subject_for_user(User.get(User.username == username), "session")


def seed_demo():
    """Roles, users and keys of three owners, made through the services (call inside a connection context).

    Creation dates are moved into the past afterwards so that the list reads like a real one.
    """
    admin = system_subject()
    license.set_license(admin, "trial")  # cross-cluster keys need it
    for name, body in DEMO_ROLES.items():
        roles.put_role(admin, name, body)
    for username, user_roles, full_name, email in DEMO_USERS:
        create_native_user(admin, username, USER_PASSWORD, user_roles, full_name=full_name, email=email)
    now = now_ms()
    for owner, name, kind, expiration, days_ago in DEMO_KEYS:
        subject = _subject(owner)
        metadata = {"managed": True, "managed_by": "fleet"} if kind == "managed" else {"team": "platform"}
        if kind == "cross_cluster":
            created = api_keys.create_cross_cluster_api_key(
                subject, name=name, access={"replication": [{"names": ["logs-*"]}]}, metadata=metadata)
        else:
            created = api_keys.create_api_key(subject, name=name, expiration=expiration, metadata=metadata)
        creation = now - days_ago * DAY_MS
        changes = {ApiKey.creation: creation}
        if kind == "expired":
            changes[ApiKey.expiration] = now - DAY_MS
        elif created.expiration:
            changes[ApiKey.expiration] = created.expiration - days_ago * DAY_MS
        ApiKey.update(changes).where(ApiKey.id == created.id).execute()
        if kind == "invalidated":
            api_keys.invalidate_api_keys(subject, ids=[created.id], owner=True)
    for name, body in DEMO_MAPPINGS.items():
        role_mappings.put_role_mapping(admin, name, body)
    mapped_proxy_subject("erin", ["ops", "staff"], ["api_key_user"])  # a proxy-realm user the mappings gave roles
    seed_usage(ApiKey.get(ApiKey.name == "deploy-staging").id, now)
    audit.record(None, "login", target_type="user", target_id="mallory", outcome="failure", address="203.0.113.9")


def seed_usage(key_id, now):
    """A month of requests for one key, as verification counts them: a few hundred a day, more on weekdays,
    spread over 12 client addresses (the details show the 10 seen most recently)."""
    tally = usage_counts.UsageTally()
    for hour in range(30 * 24):
        at = now - hour * 3_600_000
        weekday = (at // DAY_MS + 3) % 7 < 5  # 1970-01-01 was a Thursday
        busy = 9 <= (at // 3_600_000) % 24 <= 17
        tally.hours[(key_id, usage_counts.hour_of(at))] = (hour * 7) % 11 + (30 if busy and weekday else 2)
    for n in range(12):
        tally.addresses[(key_id, f"10.20.{n}.{n * 7 % 250 + 1}")] = [40 + n * 13, now - n * 5 * 3_600_000]
    tally.addresses[(key_id, "2001:db8:85a3::8a2e:370:7334")] = [5, now - 90_000]
    usage_counts.write(tally, now=now)
    ApiKey.update(last_used=now - 90_000, last_used_address="10.20.0.1").where(ApiKey.id == key_id).execute()


def sign_in(page: Page, username="elastic", password=ELASTIC_PASSWORD):
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#main")).to_be_visible()
    expect(page).not_to_have_url(re.compile(r"/login"))


@dataclass(frozen=True)
class State:
    name: str
    enter: Callable[[Page], None]
    data: str = "demo"
    signed_in: bool = True
    screenshot: bool = False

    def __str__(self):
        return self.name


def _heading(page, name):
    expect(page.get_by_role("heading", name=name, exact=True).first).to_be_visible()


def _open_dialog(page, name):
    dialog = page.get_by_role("dialog", name=name)
    expect(dialog).to_be_visible()
    return dialog


def login_page(page):
    page.goto("/login")
    _heading(page, "Log in to Keydesk")


def keys_empty(page):
    page.goto("/keys/")
    _heading(page, "No API keys yet")


def keys_filled(page):
    page.goto("/keys/")
    expect(page.get_by_role("row", name=re.compile("deploy-prod"))).to_be_visible()


def keys_create(page):
    keys_filled(page)
    page.get_by_role("button", name="Create API key").first.click()
    dialog = _open_dialog(page, "Create API key")
    dialog.get_by_label("Name").fill("backup-agent")
    dialog.get_by_label("Limit requests").check()  # its fields shown too (checked at every width)


def keys_created(page):
    keys_create(page)
    page.get_by_role("dialog", name="Create API key").get_by_role("button", name="Create API key").click()
    _heading(page, "Created API key 'backup-agent'")


def key_details(page):
    keys_filled(page)
    page.get_by_role("link", name="deploy-prod").click()
    _open_dialog(page, "API key details")


def key_details_usage(page):
    keys_filled(page)
    page.get_by_role("link", name="deploy-staging").click()
    dialog = _open_dialog(page, "API key details")
    expect(dialog.get_by_role("img", name=re.compile("Requests per day"))).to_be_visible()
    for summary in ("Requests per day as a table", "Requests per hour as a table"):
        dialog.get_by_text(summary).click()  # the tables open too, so the checks see them
    expect(dialog.locator("#usage-hours-table")).to_be_visible()
    dialog.locator("#key-usage-title").scroll_into_view_if_needed()


def key_details_never_used(page):
    keys_unused(page)
    page.get_by_role("link", name="filebeat-web-01").click()
    expect(_open_dialog(page, "API key details").locator("[data-usage-state=never]")).to_contain_text(
        "Not used for 90 days")


def keys_unused(page):
    keys_filled(page)
    page.get_by_label("Not used for 90 days").check()
    expect(page).to_have_url(re.compile(r"unused=1"))
    expect(page.get_by_role("row", name=re.compile("deploy-prod"))).to_have_count(0)
    expect(page.get_by_role("button", name="Delete unused keys")).to_be_visible()


def keys_delete_unused(page):
    keys_unused(page)
    page.get_by_role("button", name="Delete unused keys").click()
    _open_dialog(page, "Delete 2 unused API keys?")


def keys_delete(page):
    keys_filled(page)
    page.get_by_label("Select ci-deploy").check()
    page.get_by_label("Select deploy-prod").check()
    page.get_by_role("button", name="Delete 2 API keys").click()
    _open_dialog(page, "Delete 2 API keys?")


def roles_list(page):
    page.goto("/roles/")
    expect(page.get_by_role("table", name="Roles")).to_be_visible()


def role_editor(page):
    page.goto("/roles/edit?name=deployer")
    _heading(page, "Edit role")
    expect(page.get_by_label("Role name")).to_have_value("deployer")


def role_view(page):
    page.goto("/roles/edit?name=superuser")  # reserved: the read-only view
    expect(page.get_by_role("table", name="Application privileges of superuser")).to_be_visible()


def role_editor_json(page):
    role_editor(page)
    page.get_by_role("button", name="Edit as JSON").click()
    expect(page.get_by_label("Role definition as JSON")).to_be_visible()


def role_mappings_list(page):
    page.goto("/role-mappings/")
    expect(page.get_by_role("table", name="Role mappings")).to_be_visible()


def role_mapping_editor(page):
    page.goto("/role-mappings/edit?name=ops-team")
    _heading(page, "Edit role mapping")
    expect(page.get_by_label("Value of rule 2")).to_have_value("sre-*")


def role_mapping_editor_json(page):
    role_mapping_editor(page)
    page.get_by_role("button", name="Edit as JSON").click()
    expect(page.get_by_label("Role mapping as JSON")).to_be_visible()


def role_mapping_delete(page):
    role_mappings_list(page)
    page.get_by_role("link", name="Delete ops-team").click()
    _open_dialog(page, "Delete role mapping ops-team?")


def user_edit_proxy(page):
    page.goto("/users/edit?username=erin&realm=proxy")
    expect(page.get_by_role("table", name="Roles of erin and where they come from")).to_contain_text(
        "via role mapping ops-team")


def users_list(page):
    page.goto("/users/")
    expect(page.get_by_role("table", name="Users")).to_be_visible()


def user_new(page):
    page.goto("/users/new")
    _heading(page, "Create user")


def user_edit(page):
    page.goto("/users/edit?username=alice&realm=native")
    _heading(page, "alice")


def settings_page(page):
    page.goto("/settings/")
    _heading(page, "Settings")


NOTICE_DELIVERIES = (  # (key name, hours ago, channel, notice, delivered, status, attempts, error)
    ("deploy-staging", 1, "email", "before:14d", True, 250, 1, None),
    ("deploy-staging", 1, "webhook", "before:14d", True, 200, 1, None),
    ("grafana-dashboards", 2, "webhook", "before:14d", False, 503, 3, "the webhook answered HTTP 503"),
    ("grafana-dashboards", 2, "email", "before:14d", True, 250, 2, None),
    ("old-monitoring", 25, "webhook", "expired", True, 204, 1, None),
    ("old-monitoring", 25, "email", "expired", False, None, 3,
     "could not reach the mail server: [Errno 111] Connection refused"),
)


def _notice_deliveries():
    """The demo's expiry notices: a webhook and a few deliveries, delivered and failed (made on first use)."""
    with database.connection_context():
        if NoticeDelivery.select().exists():
            return
        preferences.update_notice_settings(system_subject(), days="14, 1",
                                           webhook_url="https://hooks.example.com/keydesk/api-key-expiry")
        now = now_ms()
        for name, hours, channel, notice, delivered, status, attempts, error in NOTICE_DELIVERIES:
            key = ApiKey.get(ApiKey.name == name)
            target = (User.get((User.username == key.owner_username) & (User.realm == key.owner_realm)).email
                      or "elastic@example.com") if channel == "email" else preferences.notice_settings().webhook_url
            deliveries.record_delivery(time=now - hours * 3_600_000, key_id=key.id, key_name=name, channel=channel,
                                       notice=notice, event="api_key.expired" if notice == "expired" else
                                       "api_key.expiring", target=target, attempts=attempts, status=status,
                                       error=error, delivered=delivered)


def settings_notices(page):
    _notice_deliveries()
    page.goto("/settings/notices")
    _heading(page, "Expiry notices")
    expect(page.get_by_role("table", name=re.compile("newest first"))).to_contain_text("HTTP 503")


def settings_notices_secret(page):
    settings_notices(page)
    page.get_by_role("button", name="Make a new secret").click()
    expect(page.get_by_label("New webhook secret")).to_be_visible()
    expect(page.get_by_text("Copy the webhook secret now.")).to_be_visible()


def audit_page(page):
    page.goto("/audit/")
    expect(page.get_by_role("table", name="Audit events, newest first")).to_be_visible()


def account_page(page):
    page.goto("/account/")
    _heading(page, "Your account")


def _rotating_pair():
    """(old id, new id) of the demo's rotation: ci-deploy, rotated with a 3-hour window (made on first use)."""
    with database.connection_context():
        old = ApiKey.get_or_none((ApiKey.name == "ci-deploy") & ApiKey.replaced_by.is_null(False))
        if old is None:
            old = ApiKey.get(ApiKey.name == "ci-deploy")
            rotation.rotate_api_key(_subject("elastic"), old.id, grace_period="3h")
            old = ApiKey.get_by_id(old.id)
        return old.id, old.replaced_by


def keys_rotating(page):
    old, new = _rotating_pair()
    page.goto("/keys/")
    for key_id in (old, new):
        expect(page.locator(f"#key-{key_id}")).to_contain_text("Rotating — old key stops in")


def key_details_rotated(page):
    old, new = _rotating_pair()
    keys_rotating(page)
    page.locator(f"#key-{old}").get_by_role("link", name="ci-deploy").click()
    expect(_open_dialog(page, "API key details").locator("[data-replaced-by]")).to_contain_text(new)


def keys_rotate(page):
    keys_filled(page)
    page.get_by_label("Select fleet-server").check()
    page.get_by_label("Select replication-eu").check()
    page.get_by_role("button", name="Rotate 2 API keys").click()
    _open_dialog(page, "Rotate 2 API keys?")


def keys_rotated(page):
    keys_rotate(page)
    page.get_by_role("dialog", name="Rotate 2 API keys?").get_by_role("button", name="Rotate", exact=True).click()
    _heading(page, "Rotated 2 API keys")


def key_details_successor(page):
    old, new = _rotating_pair()
    keys_rotating(page)
    page.locator(f"#key-{new}").get_by_role("link", name="ci-deploy").click()
    expect(_open_dialog(page, "API key details").get_by_role("button", name="Rotate API key")).to_be_visible()


def not_found(page):
    assert page.goto("/no-such-page").status == 404
    _heading(page, "Not found")


STATES = (
    State("login", login_page, data="none", signed_in=False, screenshot=True),
    State("keys-empty", keys_empty, data="none"),
    State("keys", keys_filled, screenshot=True),
    State("keys-create", keys_create, screenshot=True),
    State("keys-created", keys_created),
    State("key-details", key_details, screenshot=True),
    State("keys-delete", keys_delete),
    State("key-details-usage", key_details_usage, screenshot=True),
    State("key-details-never-used", key_details_never_used),
    State("keys-unused", keys_unused),
    State("keys-delete-unused", keys_delete_unused),
    State("keys-rotating", keys_rotating, screenshot=True),
    State("key-details-rotated", key_details_rotated, screenshot=True),
    State("key-details-successor", key_details_successor),
    State("keys-rotate", keys_rotate),
    State("keys-rotated", keys_rotated),
    State("roles", roles_list, screenshot=True),
    State("role-editor", role_editor, screenshot=True),
    State("role-editor-json", role_editor_json),
    State("role-view", role_view),
    State("role-mappings", role_mappings_list, screenshot=True),
    State("role-mapping-editor", role_mapping_editor, screenshot=True),
    State("role-mapping-editor-json", role_mapping_editor_json),
    State("role-mapping-delete", role_mapping_delete),
    State("users", users_list, screenshot=True),
    State("user-edit-proxy", user_edit_proxy),
    State("user-new", user_new),
    State("user-edit", user_edit),
    State("settings", settings_page, screenshot=True),
    State("settings-notices", settings_notices, screenshot=True),
    State("settings-notices-secret", settings_notices_secret),
    State("audit", audit_page, screenshot=True),
    State("account", account_page, screenshot=True),
    State("error-404", not_found),
)
