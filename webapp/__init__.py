"""Keydesk: a self-hosted manager for API keys and the roles that scope them."""

import os
from pathlib import Path

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class KeydeskFlask(Flask):
    """Flask, remembering `ensure_sync`'s answer per function: Flask asks it for every hook of every request, and
    each time `inspect` works out again whether the function is a coroutine (none of Keydesk's hooks are)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync_functions = {}

    def ensure_sync(self, func):
        try:
            return self._sync_functions[func]
        except KeyError:
            sync = self._sync_functions[func] = super().ensure_sync(func)
            return sync
        except TypeError:  # an unhashable callable
            return super().ensure_sync(func)


def create_app(config=None):
    """Build the application: configuration, request plumbing, blueprints, commands."""
    from webapp import api, cli
    from webapp import config as configuration
    from webapp.api import fast_verify
    from webapp.pages import account, audit, auth, keys, role_mappings, roles, settings, users
    from webapp.web import bodies, connections, errors, extensions, guard, notices, proxy, throttle

    app = KeydeskFlask(
        __name__,
        instance_path=os.environ.get("KEYDESK_INSTANCE_PATH") or str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )

    # 1. Configuration first: every later step reads app.config (defaults < KEYDESK_* environment <
    #    instance/config.py < `config`).
    configuration.load_config(app, config)

    # 2. In front of Flask, the key check that answers without it (api/fast_verify.py); in front of that, where
    #    requests come from: ProxyFix wraps the WSGI app, so request.remote_addr, scheme and host are the
    #    client's before any hook, view, throttle key or that check reads them.
    fast_verify.init_app(app)
    proxy.init_app(app)

    # 3. Request plumbing. Flask runs before-request hooks in the order they are added here: a database
    #    connection, then CSRF; the throttle's check (step 5) comes after both. bodies' hook puts itself first.
    connections.init_app(app)
    extensions.init_app(app)  # session cookie, htmx, CSRF, this app's cache/buffer settings, flush at exit
    guard.init_app(app)
    errors.init_app(app)
    bodies.init_app(app)  # chunked bodies held to the size limit before anything parses them

    # 4. The pages and the JSON API. The API takes credentials only from the Authorization header, so no
    #    CSRF token is asked for there.
    for blueprint in (auth.bp, keys.bp, roles.bp, role_mappings.bp, users.bp, settings.bp, account.bp, audit.bp,
                      api.bp):
        app.register_blueprint(blueprint)
    extensions.csrf.exempt(api.bp)

    # 5. Throttling of failed sign-ins and API authentications: its app-level hook runs before the views (and
    #    the authentication they do); it tells the two kinds apart by the blueprint and endpoint registered above.
    throttle.init_app(app)

    # 6. Expiry notices: how they are sent (the settings checked now), and the pass on a timer when
    #    KEYDESK_NOTIFY_INTERVAL is set (started by a process's first request, never by a flask command).
    notices.init_app(app)

    # 7. flask commands (init-db, users, license, purge-keys, backup, notify).
    cli.init_app(app)
    return app
