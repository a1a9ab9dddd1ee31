"""Mail through an SMTP server named by a URL: `smtp://host:25` (plain SMTP, for a relay on the same host or
network), `smtp+starttls://user:pass@host:587` (STARTTLS, required) or `smtps://user:pass@host:465` (TLS from the
first byte). TLS checks the server's certificate against the system's trusted authorities (OpenSSL's
SSL_CERT_FILE / SSL_CERT_DIR name others)."""

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

SCHEMES = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465)}


class DeliveryFailed(Exception):
    """A notice could not be handed over; `status` is the last SMTP reply code or HTTP status, if any;
    `permanent` when trying again at once would get the same answer (SMTP 5xx, most HTTP 4xx)."""

    def __init__(self, message: str, status: int | None = None, permanent: bool = False):
        super().__init__(message)
        self.status = status
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpServer:
    security: str  # plain | starttls | tls
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    def describe(self) -> str:
        """The URL without the password, for pages and logs."""
        scheme = next(name for name, (security, _) in SCHEMES.items() if security == self.security)
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpServer:
    """The SmtpServer a URL names; ValueError saying what is wrong (never repeating the password)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise ValueError("it is not a URL such as smtp://mail.example.com:25 (a port must be a number)") from error
    if parts.scheme.lower() not in SCHEMES:
        raise ValueError("it must start with smtp://, smtp+starttls:// or smtps://")
    if not parts.hostname:
        raise ValueError("it names no host, as in smtp://mail.example.com:25")
    security, default_port = SCHEMES[parts.scheme.lower()]
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and security == "plain":
        raise ValueError("a password is sent only over TLS: use smtps:// or smtp+starttls://")
    return SmtpServer(security, parts.hostname, port or default_port, username, password)


def build_message(sender: str, recipient: str, subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: automatic replies are not wanted
    message.set_content(text)
    return message


def send_mail(server: SmtpServer, message: EmailMessage, timeout: float) -> int:
    """Hand `message` to the server; the reply code of the accepted message, or DeliveryFailed."""
    try:
        if server.security == "tls":
            connection = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout,
                                          context=ssl.create_default_context())
        else:
            connection = smtplib.SMTP(server.host, server.port, timeout=timeout)
        with connection:
            if server.security == "starttls":
                connection.starttls(context=ssl.create_default_context())
            if server.username:
                connection.login(server.username, server.password or "")
            refused = connection.send_message(message)
            if refused:  # only some recipients refused; a notice has one, so this is not reached in practice
                code, reply = next(iter(refused.values()))
                raise DeliveryFailed(f"recipient refused: {code} {_text(reply)}", code)
            return 250
    except smtplib.SMTPRecipientsRefused as error:
        code, reply = next(iter(error.recipients.values()))
        raise DeliveryFailed(f"recipient refused: {code} {_text(reply)}", code, code >= 500) from error
    except smtplib.SMTPResponseException as error:
        raise DeliveryFailed(f"the server answered {error.smtp_code} {_text(error.smtp_error)}",
                             error.smtp_code, error.smtp_code >= 500) from error
    except smtplib.SMTPException as error:
        raise DeliveryFailed(f"the mail server refused: {error}") from error
    except OSError as error:
        raise DeliveryFailed(f"could not reach the mail server: {error}") from error


def _text(reply):
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
