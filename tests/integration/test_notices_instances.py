"""Expiry notices from several instances at once, as deployed: two `flask --app wsgi notify` processes started
together on one database (SQLite file, or PostgreSQL under KEYDESK_TEST_DATABASE_URL), and gunicorn workers
running the pass on KEYDESK_NOTIFY_INTERVAL. Every notice reaches the SMTP server and the webhook exactly once."""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import database_url_for
from tests.live_keydesk import ROOT, start_gunicorn, stop_gunicorn, wait_until_up
from tests.notice_receivers import documented_verify, smtp_server, webhook_server
from webapp.clock import DAY_MS, now_ms
from webapp.model import ApiKey, NoticeClaim, NoticeDelivery, User
from webapp.model.db import database
from webapp.services.access.authentication import subject_for_user
from webapp.services.access.system import system_subject
from webapp.services.api_keys import commands as api_keys
from webapp.services.notices import preferences
from webapp.web.notices import NoticeTimer

BIN = Path(sys.executable).parent
SECRET = "instances-webhook-secret-0123456789"
# (name, ms until it expires): in the 14-day window, in the last day, expired within the week.
KEYS = [(f"in-two-weeks-{n}", (3 + n) * DAY_MS) for n in range(6)] + \
       [(f"last-day-{n}", (6 + n) * 3_600_000) for n in range(3)] + [(f"expired-{n}", -(1 + n) * DAY_MS)
                                                                     for n in range(3)]
EXPECTED_NOTICES = {"in-two-weeks": "before:14d", "last-day": "before:1d", "expired": "expired"}


@pytest.fixture
def mailbox():
    with smtp_server() as box:
        yield box


@pytest.fixture
def hooks():
    with webhook_server(delay=0.05) as receiver:  # a slow receiver: the two passes overlap
        yield receiver


@pytest.fixture
def keys(app, make_user, hooks):
    """Carol's keys in every window, and the webhook set; returns {key id: name}."""
    make_user("carol", ["api_key_user"], email="carol@example.test")
    with database.connection_context():
        carol = subject_for_user(User.get(User.username == "carol"), "session")
        preferences.update_notice_settings(system_subject(), days="14, 1", webhook_url=hooks.url, secret=SECRET)
        made = {}
        for name, expires_in in KEYS:
            key = api_keys.create_api_key(carol, name=name, expiration="1d")
            expiration = now_ms() + expires_in
            ApiKey.update(expiration=expiration, creation=expiration - 60 * DAY_MS).where(
                ApiKey.id == key.id).execute()
            made[key.id] = name
    return made


def _environment(tmp_path, mailbox, **extra):
    instance = tmp_path / "instance"
    return {**os.environ, "KEYDESK_DATABASE_URL": database_url_for(tmp_path), "KEYDESK_INSTANCE_PATH": str(instance),
            "KEYDESK_SECRET_KEY": "instances-secret-key", "KEYDESK_PASSWORD_HASH_ROUNDS": "4",
            "KEYDESK_SMTP_URL": f"smtp://127.0.0.1:{mailbox.port}", "KEYDESK_SMTP_FROM": "keydesk@example.test",
            "KEYDESK_NOTICE_RETRY_MS": "10", **extra}


def _check_exactly_once(keys, mailbox, hooks):
    received = sorted((json.loads(body)["api_key"]["id"], json.loads(body)["notice"]) for _, body in hooks.requests)
    expected = sorted((key_id, EXPECTED_NOTICES[name.rsplit("-", 1)[0]]) for key_id, name in keys.items())
    assert received == expected
    assert all(documented_verify()(SECRET, headers, body) for headers, body in hooks.requests)
    subjects = sorted(message["Subject"] for message in mailbox.to("carol@example.test"))
    assert len(subjects) == len(keys) and len(mailbox.messages) == len(keys)
    assert sorted(subject.split('"')[1] for subject in subjects) == sorted(keys.values())
    with database.connection_context():
        assert NoticeClaim.select().where(NoticeClaim.state == "sent").count() == 2 * len(keys)
        assert NoticeDelivery.select().where(NoticeDelivery.outcome == "delivered").count() == 2 * len(keys)


def test_two_notify_commands_at_the_same_time_send_each_notice_once(tmp_path, mailbox, hooks, keys):
    env = _environment(tmp_path, mailbox)
    commands = [subprocess.Popen([str(BIN / "flask"), "--app", "wsgi", "notify"], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [command.communicate(timeout=120) for command in commands]
    assert [command.returncode for command in commands] == [0, 0], outputs
    _check_exactly_once(keys, mailbox, hooks)
    sent = [int(out.split("Expiry notices: ")[1].split(" sent")[0]) for out, _ in outputs]
    assert sum(sent) == 2 * len(keys), outputs  # a notice the other instance claimed first counts as skipped
    again = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "notify"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120)
    assert again.stdout.strip() == "Expiry notices: 0 sent, 0 failed, 0 skipped (by email and webhook)."
    assert len(hooks.requests) == len(keys)


def test_gunicorn_workers_run_the_pass_on_an_interval_and_send_each_notice_once(tmp_path, mailbox, hooks, keys):
    env = _environment(tmp_path, mailbox, KEYDESK_NOTIFY_INTERVAL="1h")
    port, server = start_gunicorn(env, tmp_path / "gunicorn.log")
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_up(base_url, server)
        # Requests at once reach both workers; each starts its timer, whose first pass runs straight away.
        threads = [threading.Thread(target=lambda: urllib.request.urlopen(f"{base_url}/healthz", timeout=10).close())
                   for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        deadline = time.monotonic() + 60
        while (len(hooks.requests) < len(keys) or len(mailbox.messages) < len(keys)) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)  # time for a duplicate to arrive, were there one
        _check_exactly_once(keys, mailbox, hooks)
    finally:
        stop_gunicorn(server)


def test_the_timer_is_started_only_by_a_request_and_only_when_an_interval_is_set(app, client, runner):
    assert client.get("/healthz").status_code == 200
    assert not any(thread.name == "keydesk-notices" for thread in threading.enumerate())
    from webapp import create_app

    timed = create_app({"TESTING": True, "KEYDESK_DATABASE_URL": app.config["KEYDESK_DATABASE_URL"],
                        "SECRET_KEY": "x", "KEYDESK_NOTIFY_INTERVAL": "1h"})
    timed.test_cli_runner().invoke(args=["notify"])
    assert not any(thread.name == "keydesk-notices" for thread in threading.enumerate())
    assert timed.test_client().get("/healthz").status_code == 200
    timer = timed.extensions["keydesk.notices.timer"]
    assert isinstance(timer, NoticeTimer) and timer.is_alive() and timer.interval == 3_600_000
    timed.test_client().get("/healthz")
    assert [thread.name for thread in threading.enumerate()].count("keydesk-notices") == 1
    timer.stopped.set()
    timer.join(timeout=10)
    assert not timer.is_alive()
