"""WSGI entry point: gunicorn 'wsgi:app', flask --app wsgi ..."""

from webapp import create_app
from webapp.config import ConfigurationError
from webapp.model.db import DatabaseURLError

try:
    app = create_app()
except (ConfigurationError, DatabaseURLError) as error:  # a setting that can't be used: say which, no traceback
    raise SystemExit(f"keydesk: {error}") from None
