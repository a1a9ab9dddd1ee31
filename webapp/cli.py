"""flask commands: init-db, users, license, purge-keys, backup, notify."""

import os
import sqlite3

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from webapp.errors import DomainError
from webapp.model.db import database, is_sqlite, private_file
from webapp.services.access.system import system_subject
from webapp.services.admin import license as licenses
from webapp.services.admin import settings, users
from webapp.services.api_keys import retention as retention_service
from webapp.services.notices import notify as notices_pass
from webapp.services.schema import bootstrap as setup
from webapp.services.schema.mapping_seed import seed_group_mappings
from webapp.web import notices


def _fail(message):
    raise click.ClickException(message)


def _run(operation):
    """Run a service call inside a connection; domain errors become a message and exit status 1."""
    with database.connection_context():
        try:
            return operation()
        except DomainError as error:
            _fail(error.reason)


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create or upgrade the schema, the reserved roles and the `elastic` superuser (safe to repeat)."""
    password = current_app.config.get("KEYDESK_BOOTSTRAP_PASSWORD")
    if os.path.isdir(current_app.instance_path):
        os.chmod(current_app.instance_path, 0o700)  # secret key, SQLite database, config: the owner's only
    try:
        with database.connection_context():
            generated = setup.initialise(password)
            seeded = seed_group_mappings(current_app.config.get("KEYDESK_PROXY_GROUP_ROLES"))
    except ValueError as error:
        _fail(f"KEYDESK_BOOTSTRAP_PASSWORD can't be used: {error}")
    if generated:
        click.echo("Created the superuser 'elastic'. Its password is shown this once:")
        click.echo(f"  {generated}")
        click.echo("Change it after signing in, or set KEYDESK_BOOTSTRAP_PASSWORD before the first init-db.")
    if seeded:
        click.echo(f"Created role mappings from KEYDESK_PROXY_GROUP_ROLES: {', '.join(seeded)}.")
    click.echo("Database ready.")


users_group = AppGroup("users", help="Manage native users.")


@users_group.command("create")
@click.argument("username")
@click.option("--roles", default="", help="Comma-separated role names.")
@click.option("--password", default=None, help="Password (prompted for when omitted).")
@click.option("--full-name", default=None)
@click.option("--email", default=None)
def create_user_command(username, roles, password, full_name, email):
    """Create a native user."""
    role_names = [r.strip() for r in roles.split(",") if r.strip()]
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)

    def create():
        missing = users.unknown_roles(role_names)
        if missing:
            _fail(f"unknown role(s): {', '.join(missing)}")
        return users.create_native_user(system_subject(), username, password, role_names,
                                        full_name=full_name, email=email)

    _run(create)
    click.echo(f"Created user '{username}' (native) with roles: {', '.join(role_names) or 'none'}.")


@users_group.command("set-password")
@click.argument("username")
@click.option("--password", default=None, help="New password (prompted for when omitted).")
def set_password_command(username, password):
    """Set the password of a reserved or native user."""
    if password is None:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    user = _run(lambda: users.set_password(system_subject(), username, password))
    click.echo(f"Password changed for '{user.username}' ({user.realm}).")


license_group = AppGroup("license", help="Set the license level.")


@license_group.command("set")
@click.argument("level", type=click.Choice(["basic", "trial", "enterprise"]))
def set_license_command(level):
    """Set the license level (a trial runs 30 days, once)."""
    state = _run(lambda: licenses.set_license(system_subject(), level))
    click.echo(f"License is now {state['type']}.")


@click.command("purge-keys")
@with_appcontext
@click.option("--retention", default=None,
              help="Override the retention period (ES time value such as 7d); default: the configured one.")
def purge_keys_command(retention):
    """Delete invalidated and expired keys older than the retention period (safe to run anywhere, any time)."""
    with database.connection_context():
        text = retention or settings.get_setting("api_keys.retention") or current_app.config[
            "KEYDESK_API_KEY_RETENTION"]
        try:
            period = settings.parse_duration_ms(text)
        except ValueError:
            _fail(f"retention must be a time value such as 7d, 12h or 30m, got {text!r}")
        deleted = retention_service.purge_keys(system_subject(), period)
    click.echo(f"Purged {deleted} API key(s) invalidated or expired more than {text} ago.")


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def backup_command(path):
    """Write a consistent copy of the SQLite database to PATH while the app keeps running."""
    if not is_sqlite():
        _fail("backup copies the SQLite database; for PostgreSQL use pg_dump (see docs/deploy.md)")
    if os.path.exists(path):
        _fail(f"{path} already exists; choose a new file name")
    with database.connection_context():
        # SQLite's online backup API: a consistent snapshot even while other processes write.
        private_file(path)  # the copy holds password hashes: owner only, like the database
        target = sqlite3.connect(path)
        try:
            database.connection().backup(target)
        finally:
            target.close()
    click.echo(f"Backed up the database to {path}.")


@click.command("notify")
@with_appcontext
def notify_command():
    """Send the expiry notices that are due, once (for cron or a systemd timer; safe on several instances)."""
    with database.connection_context():
        summary = notices_pass.run_notices(notices.transport(current_app))
    for key_id, notice, channel, error in summary.failures:
        click.echo(f"  not delivered: key {key_id}, {notice} by {channel}: {error}", err=True)
    click.echo(summary.line())
    if summary.failed:
        raise SystemExit(1)  # cron mails it, systemd marks the run failed; the next pass tries again


def init_app(app):
    app.cli.add_command(init_db_command)
    app.cli.add_command(notify_command)
    app.cli.add_command(purge_keys_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(users_group)
    app.cli.add_command(license_group)
