"""Keydesk: a self-hosted manager for API keys and the roles that scope them."""

import os
from pathlib import Path

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config=None):
    """Build the application: configuration, extensions, blueprints, commands."""
    from webapp import api, cli
    from webapp import config as configuration
    from webapp.model import db
    from webapp.pages import account, audit, auth, keys, roles, settings, users
    from webapp.web import bodies, errors, extensions, guard, proxy, throttle

    app = Flask(
        __name__,
        instance_path=os.environ.get("KEYDESK_INSTANCE_PATH") or str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    configuration.load_config(app, config)
    proxy.init_app(app)
    db.init_app(app)
    extensions.init_app(app)
    guard.init_app(app)
    errors.init_app(app)
    for blueprint in (auth.bp, keys.bp, roles.bp, users.bp, settings.bp, account.bp, audit.bp, api.bp):
        app.register_blueprint(blueprint)
    extensions.csrf.exempt(api.bp)  # credentials come only from the Authorization header there
    throttle.init_app(app)
    bodies.init_app(app)
    cli.init_app(app)
    return app
