"""Expiry notices end to end: a real SMTP server (aiosmtpd) and a real HTTP server receive them; the clock is
moved through a key's windows; the signature is checked the way docs/notices.md tells receivers to."""

import json
import threading

import pytest

from tests.notice_receivers import documented_verify, self_signed_certificate, smtp_server, webhook_server
from webapp.clock import DAY_MS, now_ms
from webapp.model import ApiKey, AuditEvent, NoticeClaim, NoticeDelivery, User
from webapp.model.db import database
from webapp.services.access.authentication import subject_for_user
from webapp.services.access.system import system_subject
from webapp.services.api_keys import commands as api_keys
from webapp.services.api_keys import rotation
from webapp.services.notices import preferences
from webapp.services.notices.mail import parse_smtp_url
from webapp.services.notices.notify import Transport, run_notices
from webapp.web import notices as notice_plumbing

SECRET = "webhook-secret-for-the-tests-0123456789"
HOUR = 3_600_000


@pytest.fixture
def mailbox():
    with smtp_server() as box:
        yield box


@pytest.fixture
def app_config(mailbox):
    return {"KEYDESK_SMTP_URL": f"smtp://127.0.0.1:{mailbox.port}", "KEYDESK_SMTP_FROM": "keydesk@example.test",
            "KEYDESK_BASE_URL": "https://keydesk.example.test", "KEYDESK_NOTICE_RETRY_MS": 10}


@pytest.fixture
def hooks(db):
    with webhook_server() as receiver:
        preferences.update_notice_settings(system_subject(), days="14, 1", webhook_url=receiver.url, secret=SECRET)
        yield receiver


@pytest.fixture
def clock(monkeypatch):
    """clock.move(ms): moves "now" for everything Keydesk reads (webapp.clock)."""
    class Clock:
        shift = 0

        def move(self, ms):
            self.shift += ms
            monkeypatch.setattr("webapp.clock._shift_ms", self.shift)
    return Clock()


@pytest.fixture
def people(make_user):
    make_user("alice", ["api_key_user"], email="alice@example.test")
    make_user("bob", ["api_key_user"])  # no email address
    with database.connection_context():
        return {name: subject_for_user(User.get(User.username == name), "session") for name in ("alice", "bob")}


def make_key(subject, name, *, expires_in, lived):
    """A key of `subject` that expires `expires_in` ms from now and was made `lived` ms before that."""
    key = api_keys.create_api_key(subject, name=name, expiration="1d")
    expiration = now_ms() + expires_in
    ApiKey.update(expiration=expiration, creation=expiration - lived).where(ApiKey.id == key.id).execute()
    return key.id


def transport(app):
    return notice_plumbing.transport(app)


def bodies(hooks):
    return [json.loads(body) for _, body in hooks.requests]


def test_each_window_is_noticed_once_by_mail_and_by_a_signed_webhook(app, db, people, mailbox, hooks, clock):
    key_id = make_key(people["alice"], "deploy-prod", expires_in=20 * DAY_MS, lived=60 * DAY_MS)
    summary = run_notices(transport(app))
    assert (summary.sent, summary.failed, summary.skipped) == (0, 0, 0) and summary.channels == ("email", "webhook")
    assert mailbox.messages == [] and hooks.requests == []

    clock.move(7 * DAY_MS)  # 13 days left: the 14-day window
    summary = run_notices(transport(app))
    assert (summary.sent, summary.failed, summary.skipped) == (2, 0, 0)
    assert summary.line() == "Expiry notices: 2 sent, 0 failed, 0 skipped (by email and webhook)."
    [(sender, recipients, message)] = mailbox.messages
    assert sender == "keydesk@example.test" and recipients == ["alice@example.test"]
    assert message["Subject"] == 'Your API key "deploy-prod" expires in 13 days'
    assert message["From"] == "keydesk@example.test" and message["Auto-Submitted"] == "auto-generated"
    text = message.get_content()
    assert f'Your API key "deploy-prod" (id {key_id}) expires at ' in text and "in 13 days." in text
    assert f"https://keydesk.example.test/keys/{key_id}" in text and "Hello alice," in text
    [(headers, raw)] = hooks.requests
    assert documented_verify()(SECRET, headers, raw)
    assert not documented_verify()("another-secret-entirely", headers, raw)
    assert not documented_verify()(SECRET, headers, raw.replace(b"deploy-prod", b"deploy-test"))
    body = json.loads(raw)
    assert headers["X-Keydesk-Event"] == body["event"] == "api_key.expiring"
    assert headers["X-Keydesk-Delivery"] == body["delivery"] and body["notice"] == "before:14d"
    assert body["api_key"] == {"id": key_id, "name": "deploy-prod", "owner": "alice", "realm": "native",
                               "expiration": body["api_key"]["expiration"], "days_left": 13,
                               "url": f"https://keydesk.example.test/keys/{key_id}"}
    assert body["api_key"]["expiration"].endswith("Z")

    for _ in range(2):  # the same window again, and again a day later: nothing new
        assert run_notices(transport(app)).sent == 0
        clock.move(DAY_MS)
    assert len(mailbox.messages) == 1 and len(hooks.requests) == 1

    clock.move(10 * DAY_MS + 12 * HOUR)  # half a day left: the last day's window
    assert run_notices(transport(app)).sent == 2
    assert mailbox.messages[-1][2]["Subject"] == 'Your API key "deploy-prod" expires within a day'
    assert bodies(hooks)[-1]["notice"] == "before:1d" and bodies(hooks)[-1]["api_key"]["days_left"] == 1

    clock.move(DAY_MS)  # it expired half a day ago
    assert run_notices(transport(app)).sent == 2
    assert mailbox.messages[-1][2]["Subject"] == 'Your API key "deploy-prod" has expired'
    assert bodies(hooks)[-1]["event"] == "api_key.expired" and bodies(hooks)[-1]["api_key"]["days_left"] == 0
    assert all(documented_verify()(SECRET, headers, raw) for headers, raw in hooks.requests)

    clock.move(10 * DAY_MS)
    assert run_notices(transport(app)).sent == 0
    assert len(mailbox.messages) == 3 and len(hooks.requests) == 3
    assert NoticeDelivery.select().where(NoticeDelivery.outcome == "delivered").count() == 6
    events = list(AuditEvent.select().where(AuditEvent.action == "api_key.notice").order_by(AuditEvent.id))
    assert len(events) == 6 and {e.actor_username for e in events} == {"keydesk-notices"}
    assert {(e.target_id, e.outcome) for e in events} == {(key_id, "success")}
    assert events[0].detail == "expiry notice before:14d by email: delivered"


def test_owners_without_an_address_get_no_mail_but_the_webhook_still_hears(app, db, people, mailbox, hooks, clock):
    make_key(people["bob"], "bobs-key", expires_in=5 * DAY_MS, lived=30 * DAY_MS)
    summary = run_notices(transport(app))
    assert (summary.sent, summary.skipped) == (1, 1)
    assert mailbox.messages == [] and bodies(hooks)[0]["api_key"]["owner"] == "bob"
    User.update(email="bob@example.test").where(User.username == "bob").execute()
    assert run_notices(transport(app)).sent == 1  # within the same window, once he has one
    assert [m["Subject"] for m in mailbox.to("bob@example.test")] == ['Your API key "bobs-key" expires in 5 days']


def test_keys_that_get_no_notices(app, db, people, mailbox, hooks, clock):
    alice = people["alice"]
    invalidated = make_key(alice, "invalidated", expires_in=3 * DAY_MS, lived=30 * DAY_MS)
    api_keys.invalidate_api_keys(alice, ids=[invalidated], owner=True)
    make_key(alice, "short-lived", expires_in=12 * HOUR, lived=DAY_MS)  # lives a day: no notices at all
    make_key(alice, "long-expired", expires_in=-8 * DAY_MS, lived=30 * DAY_MS)  # expired before the window
    rotated = make_key(alice, "rotated", expires_in=10 * DAY_MS, lived=30 * DAY_MS)
    successor = rotation.rotate_api_key(alice, rotated, grace_period="0").created.id
    ApiKey.update(expiration=now_ms() + 90 * DAY_MS).where(ApiKey.id == successor).execute()
    young = make_key(alice, "young", expires_in=10 * DAY_MS, lived=10 * DAY_MS + HOUR)  # made 10 days before
    api_keys.create_api_key(alice, name="never-expires")
    assert run_notices(transport(app)).sent == 0
    clock.move(9 * DAY_MS + 12 * HOUR)  # "young" has half a day left: it is old enough for the last day's
    assert run_notices(transport(app)).sent == 2
    assert {body["api_key"]["id"] for body in bodies(hooks)} == {young}
    assert [m["Subject"] for _, _, m in mailbox.messages] == ['Your API key "young" expires within a day']


def test_a_key_given_a_new_expiration_hears_again(app, db, people, mailbox, hooks, clock):
    key_id = make_key(people["alice"], "extended", expires_in=10 * DAY_MS, lived=60 * DAY_MS)
    assert run_notices(transport(app)).sent == 2
    ApiKey.update(expiration=ApiKey.expiration + 2 * DAY_MS).where(ApiKey.id == key_id).execute()
    assert run_notices(transport(app)).sent == 2
    assert [body["api_key"]["days_left"] for body in bodies(hooks)] == [10, 12]


def test_a_webhook_answering_500_then_200_is_tried_again_and_delivered(app, db, people, hooks, clock):
    hooks.statuses[:] = [500]
    make_key(people["bob"], "flaky", expires_in=3 * DAY_MS, lived=30 * DAY_MS)
    summary = run_notices(transport(app))
    assert (summary.sent, summary.failed) == (1, 0)
    first, second = hooks.requests
    assert first[1] == second[1] and first[0]["X-Keydesk-Delivery"] == second[0]["X-Keydesk-Delivery"]
    assert all(documented_verify()(SECRET, headers, raw) for headers, raw in hooks.requests)
    [delivery] = NoticeDelivery.select()
    assert (delivery.outcome, delivery.attempts, delivery.status, delivery.error) == ("delivered", 2, 200, None)


def test_a_webhook_that_keeps_failing_is_recorded_shown_and_tried_at_two_more_passes(
        app, db, people, hooks, clock, runner, client, auth):
    hooks.statuses[:] = [500] * 9
    key_id = make_key(people["bob"], "broken-receiver", expires_in=3 * DAY_MS, lived=30 * DAY_MS)
    result = runner.invoke(args=["notify"])
    assert result.exit_code == 1, result.output
    assert "Expiry notices: 0 sent, 1 failed, 1 skipped (by email and webhook)." in result.output
    assert f"not delivered: key {key_id}, before:14d by webhook: the webhook answered HTTP 500" in result.output
    assert len(hooks.requests) == 3  # KEYDESK_NOTICE_ATTEMPTS
    failed = NoticeDelivery.get()
    assert (failed.outcome, failed.status, failed.attempts, failed.target) == ("failed", 500, 3, hooks.url)
    event = AuditEvent.get(AuditEvent.action == "api_key.notice")
    assert event.outcome == "failure" and "failed: the webhook answered HTTP 500" in event.detail

    auth.login()
    page = client.get("/settings/notices").get_data(as_text=True)
    assert "broken-receiver" in page and "Failed" in page and "HTTP 500" in page and hooks.url in page

    for tries in (2, 3):
        clock.move(HOUR)
        assert run_notices(transport(app)).failed == 1
        assert NoticeClaim.get().tries == tries
    clock.move(HOUR)
    assert run_notices(transport(app)).failed == 0  # three passes in all
    assert len(hooks.requests) == 9 and NoticeDelivery.select().count() == 3
    assert NoticeClaim.get().state == "failed"


def test_a_refusal_is_not_tried_again_within_the_pass(app, db, people, hooks, clock):
    hooks.statuses[:] = [401]
    make_key(people["bob"], "refused", expires_in=3 * DAY_MS, lived=30 * DAY_MS)
    assert run_notices(transport(app)).failed == 1
    assert len(hooks.requests) == 1 and NoticeDelivery.get().status == 401


def test_two_instances_at_once_send_each_notice_exactly_once(app, db, people, mailbox, clock):
    with webhook_server(delay=0.02) as slow:
        preferences.update_notice_settings(system_subject(), days="14, 1", webhook_url=slow.url, secret=SECRET)
        ids = [make_key(people["alice"], f"key-{n:02}", expires_in=(5 + n % 3) * DAY_MS, lived=40 * DAY_MS)
               for n in range(12)]
        start, summaries = threading.Barrier(2), []

        def instance():
            start.wait()
            with database.connection_context():  # each thread, like each instance, on a connection of its own
                summaries.append(run_notices(transport(app)))

        threads = [threading.Thread(target=instance) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sum(s.sent for s in summaries) == 24 and sum(s.failed for s in summaries) == 0
        assert sorted(body["api_key"]["id"] for body in bodies(slow)) == sorted(ids)
        assert all(documented_verify()(SECRET, headers, raw) for headers, raw in slow.requests)
        subjects = sorted(message["Subject"] for message in mailbox.to("alice@example.test"))
        assert len(subjects) == 12 and len(set(subjects)) == 12
        assert NoticeClaim.select().where(NoticeClaim.state == "sent").count() == 24


def test_mail_over_starttls_with_a_login_and_over_tls(app, db, people, clock, tmp_path, monkeypatch):
    import ssl

    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts the test's own authority
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with smtp_server(starttls=context, login=("notices", "p@ss word")) as box:
        server = parse_smtp_url(f"smtp+starttls://notices:p%40ss%20word@127.0.0.1:{box.port}")
        make_key(people["alice"], "over-starttls", expires_in=2 * DAY_MS, lived=30 * DAY_MS)
        assert run_notices(Transport(smtp=server, sender="keydesk@example.test")).sent == 1
        assert [m["Subject"] for m in box.to("alice@example.test")] == [
            'Your API key "over-starttls" expires in 2 days']
        wrong = parse_smtp_url(f"smtp+starttls://notices:wrong@127.0.0.1:{box.port}")
        make_key(people["alice"], "wrong-login", expires_in=3 * DAY_MS, lived=30 * DAY_MS)
        assert run_notices(Transport(smtp=wrong, sender="keydesk@example.test")).failed == 1
        refused = NoticeDelivery.get(NoticeDelivery.key_name == "wrong-login")
        assert (refused.status, refused.attempts) == (535, 1), refused.error  # a 5xx is not tried again at once
    with smtp_server(tls=context) as box:
        server = parse_smtp_url(f"smtps://127.0.0.1:{box.port}")
        make_key(people["alice"], "over-tls", expires_in=4 * DAY_MS, lived=30 * DAY_MS)
        assert run_notices(Transport(smtp=server, sender="keydesk@example.test")).sent == 2  # and the refused one
        assert sorted(m["Subject"] for m in box.to("alice@example.test")) == [
            'Your API key "over-tls" expires in 4 days', 'Your API key "wrong-login" expires in 3 days']
    monkeypatch.delenv("SSL_CERT_FILE")  # a certificate nobody vouches for is refused
    with smtp_server(tls=context) as box:
        make_key(people["alice"], "untrusted", expires_in=5 * DAY_MS, lived=30 * DAY_MS)
        server = parse_smtp_url(f"smtps://127.0.0.1:{box.port}")
        assert run_notices(Transport(smtp=server, sender="keydesk@example.test", attempts=1)).failed == 1
        assert box.messages == [] and "CERTIFICATE_VERIFY_FAILED" in NoticeDelivery.get(
            NoticeDelivery.key_name == "untrusted").error


def test_a_mail_server_that_is_away_is_a_recorded_failure(app, db, people, clock):
    from tests.live_keydesk import free_port

    make_key(people["alice"], "no-server", expires_in=2 * DAY_MS, lived=30 * DAY_MS)
    away = Transport(smtp=parse_smtp_url(f"smtp://127.0.0.1:{free_port()}"), attempts=2, retry_ms=1, timeout=2)
    assert run_notices(away).failed == 1
    delivery = NoticeDelivery.get()
    assert delivery.outcome == "failed" and delivery.attempts == 2 and delivery.status is None
    assert delivery.error.startswith("could not reach the mail server")


def test_old_deliveries_and_claims_are_pruned(app, db, people, hooks, clock):
    make_key(people["bob"], "pruned", expires_in=2 * DAY_MS, lived=30 * DAY_MS)
    assert run_notices(transport(app)).sent == 1
    assert NoticeDelivery.select().count() == 1 and NoticeClaim.select().count() == 1
    clock.move(40 * DAY_MS)
    run_notices(transport(app))
    assert NoticeDelivery.select().count() == 0 and NoticeClaim.select().count() == 0


def test_without_mail_or_webhook_the_pass_says_so(app, db, runner):
    result = runner.invoke(args=["notify"], env={})
    assert result.exit_code == 0
    app.extensions[notice_plumbing.EXTENSION] = Transport()
    result = runner.invoke(args=["notify"])
    assert result.output.strip() == ("Expiry notices: nothing to send with. Set KEYDESK_SMTP_URL for mail, or a "
                                     "webhook URL in Settings.")


def test_upgrade_from_version_7_creates_the_notice_tables(app, db, people, hooks, clock):
    from webapp.model import Setting
    from webapp.services.schema import upgrade

    database.drop_tables([NoticeClaim, NoticeDelivery])
    Setting.update(value=7).where(Setting.name == "schema.version").execute()
    assert upgrade.upgrade_schema() == (7, upgrade.SCHEMA_VERSION)
    assert NoticeClaim.table_exists() and NoticeDelivery.table_exists()
    unique = [index.columns for index in database.get_indexes("notice_claim") if index.unique]
    assert ["key_id", "expiration", "notice", "channel"] in unique  # (PostgreSQL lists the primary key too)
    make_key(people["bob"], "after-upgrade", expires_in=2 * DAY_MS, lived=30 * DAY_MS)
    assert run_notices(transport(app)).sent == 1 and run_notices(transport(app)).sent == 0
