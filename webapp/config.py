"""Configuration: defaults, then KEYDESK_* environment variables, then instance/config.py, then overrides."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

# Every setting Keydesk reads, with its default. The environment variable is KEYDESK_<NAME>.
DEFAULTS = {
    "DATABASE_URL": None,  # computed from the instance folder when unset
    "SECRET_KEY": None,  # generated into the instance folder when unset
    "BOOTSTRAP_PASSWORD": None,
    "PROXY_HOPS": 0,
    "TRUSTED_PROXIES": "",
    "PROXY_USER_HEADER": "",
    "PROXY_GROUPS_HEADER": "",
    "PROXY_DEFAULT_ROLES": "",
    "PROXY_GROUP_ROLES": "",
    "API_KEY_RETENTION": "7d",
    "USAGE_RETENTION": "90d",  # how long API keys' usage counts are kept (services/api_keys/usage_counts.py)
    "SECURE_COOKIES": False,
    "RATELIMIT_STORAGE_URL": "database://",  # throttling counters: database://, redis://HOST:PORT/DB or memory://
    "LAST_USED_FLUSH_SECONDS": 60,
    "BASIC_AUTH_CACHE_SECONDS": 60,
    "AUTH_FAILURES_PER_CREDENTIAL": "10 per minute",
    "AUTH_FAILURES_PER_ADDRESS": "30 per minute",
    # A browser session ends after this many minutes without an authenticated page request (and in any case
    # PERMANENT_SESSION_LIFETIME, 12 hours, after sign-in): webapp/services/access/sessions.py.
    "SESSION_IDLE_MINUTES": 30,
    # The largest request body accepted, in bytes (JSON API and forms alike); larger ones are answered 413.
    # Werkzeug enforces it on Content-Length, webapp/bodies.py on chunked bodies (which gunicorn hands over
    # without a length). Limits inside a body (JSON depth, metadata size, ...): webapp/security/limits.py.
    "MAX_REQUEST_BYTES": 1024 * 1024,
    # Expiry notices (webapp/services/notices, webapp/web/notices.py): mail through this SMTP server (none when
    # unset), from this address; links to a key under BASE_URL; a pass every NOTIFY_INTERVAL in each instance
    # when set (else `flask notify` from cron or a timer); attempts, first back-off and timeout of each send.
    "SMTP_URL": None,
    "SMTP_FROM": "keydesk@localhost",
    "BASE_URL": "",
    "NOTIFY_INTERVAL": "",
    "NOTICE_ATTEMPTS": 3,
    "NOTICE_RETRY_MS": 1000,
    "NOTICE_TIMEOUT_SECONDS": 10,
}

class ConfigurationError(ValueError):
    """A setting can't be used. The message names it and what to do; wsgi.py shows it without a traceback."""


_INT_SETTINGS = {"PROXY_HOPS", "LAST_USED_FLUSH_SECONDS", "BASIC_AUTH_CACHE_SECONDS", "MAX_REQUEST_BYTES",
                 "SESSION_IDLE_MINUTES", "NOTICE_ATTEMPTS", "NOTICE_RETRY_MS", "NOTICE_TIMEOUT_SECONDS"}
_BOOL_SETTINGS = {"SECURE_COOKIES"}


def _from_environment(environ):
    found = {}
    for name in DEFAULTS:
        raw = environ.get(f"KEYDESK_{name}")
        if raw is None or raw == "":
            continue
        if name in _INT_SETTINGS:
            try:
                found[name] = int(raw)
            except ValueError as error:
                raise ConfigurationError(f"KEYDESK_{name} must be a whole number, got {raw!r}") from error
        elif name in _BOOL_SETTINGS:
            found[name] = raw.strip().lower() in {"1", "true", "yes", "on"}
        else:
            found[name] = raw
    return found


def _secret_key(instance_path):
    """Read the instance's secret key, creating it (readable by the owner only) on first run."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def load_config(app, overrides=None, environ=None):
    """Fill app.config from defaults, KEYDESK_* variables, instance/config.py and `overrides`, in that order."""
    environ = os.environ if environ is None else environ
    app.config.update(
        SESSION_COOKIE_NAME="keydesk_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    app.config.update({f"KEYDESK_{name}": value for name, value in DEFAULTS.items()})
    app.config.update({f"KEYDESK_{k}": v for k, v in _from_environment(environ).items()})
    app.config.from_pyfile("config.py", silent=True)
    if overrides:
        app.config.update(overrides)

    if not app.config["KEYDESK_DATABASE_URL"]:
        app.config["KEYDESK_DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'keydesk.sqlite3'}"
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = app.config["KEYDESK_SECRET_KEY"] or _secret_key(app.instance_path)
    # One limit for the whole body, a form's fields included (Werkzeug's own default for a form field is lower).
    max_bytes = int(app.config["KEYDESK_MAX_REQUEST_BYTES"])
    if max_bytes < 1024:
        raise ConfigurationError(f"KEYDESK_MAX_REQUEST_BYTES must be at least 1024, got {max_bytes}")
    app.config["MAX_CONTENT_LENGTH"] = max_bytes
    app.config["MAX_FORM_MEMORY_SIZE"] = max_bytes
    if int(app.config["KEYDESK_SESSION_IDLE_MINUTES"]) < 1:
        raise ConfigurationError("KEYDESK_SESSION_IDLE_MINUTES must be at least 1, got "
                                 f"{app.config['KEYDESK_SESSION_IDLE_MINUTES']}")
    secure = bool(app.config["KEYDESK_SECURE_COOKIES"]) or bool(app.config.get("SESSION_COOKIE_SECURE"))
    app.config["SESSION_COOKIE_SECURE"] = secure
    app.config["REMEMBER_COOKIE_SECURE"] = secure
    return app.config
