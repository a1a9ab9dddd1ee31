"""Real receivers for expiry notices, for the tests: an SMTP server (aiosmtpd) that keeps what it is sent, an
HTTP server that keeps the webhook requests it gets and answers with the statuses a test asks for, and the
signature check exactly as docs/notices.md writes it (read from the document, so the two can't drift)."""

import contextlib
import email
import email.policy
import http.server
import re
import subprocess
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.live_keydesk import free_port

DOCS = Path(__file__).resolve().parents[1] / "docs" / "notices.md"


class Mailbox:
    """What the SMTP server accepted: (envelope sender, recipients, parsed message) per message."""

    def __init__(self):
        self.messages = []
        self.port = None
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address):
        return [message for _, recipients, message in self.messages if address in recipients]


def _authenticator(username, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == username.encode() and auth_data.password == password.encode()
        return AuthResult(success=ok, handled=False)  # unhandled: the server answers 535 itself
    return check


@contextlib.contextmanager
def smtp_server(tls=None, starttls=None, login=None):
    """A running SMTP server on 127.0.0.1 (yields its Mailbox, with `port`). `tls`: an ssl.SSLContext for TLS
    from the first byte (smtps://); `starttls`: one for STARTTLS, which it then requires; `login`: (username,
    password) it requires, after STARTTLS."""
    box = Mailbox()
    box.port = free_port()
    extra = {}
    if starttls:
        extra.update(tls_context=starttls, require_starttls=True)
    if login:
        extra.update(authenticator=_authenticator(*login), auth_required=True)  # and TLS first, by default
    controller = Controller(box, hostname="127.0.0.1", port=box.port, ssl_context=tls, **extra)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def self_signed_certificate(folder):
    """(certificate path, key path) for 127.0.0.1 and localhost, made with the openssl command."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


class Hooks:
    """Webhook requests received: (headers, raw body) each. `statuses` are answered in turn (then 200);
    `delay` seconds pass before each answer (to make passes overlap)."""

    def __init__(self, statuses=(), delay=0.0):
        self.requests = []
        self.statuses = list(statuses)
        self.delay = delay
        self.lock = threading.Lock()
        self.url = None

    def answer(self, headers, body):
        with self.lock:
            self.requests.append((headers, body))
            status = self.statuses.pop(0) if self.statuses else 200
        time.sleep(self.delay)
        return status


@contextlib.contextmanager
def webhook_server(statuses=(), delay=0.0, path="/hooks/keydesk"):
    """A running HTTP server on 127.0.0.1 keeping the POSTs it gets (yields Hooks, with `url`)."""
    hooks = Hooks(statuses, delay)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's hook name)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = hooks.answer({name: value for name, value in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    hooks.url = f"http://127.0.0.1:{server.server_port}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hooks
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def documented_verify():
    """The `verify(secret, headers, body)` function docs/notices.md gives receivers, as written there."""
    text = DOCS.read_text()
    section = text[text.index("## Checking a request"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace = {}
    exec(compile(code, str(DOCS), "exec"), namespace)  # noqa: S102 (our own document's example, under test)
    return namespace["verify"]
