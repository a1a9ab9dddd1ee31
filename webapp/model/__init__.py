"""The model layer: the database and its Peewee models. It imports nothing above it (only webapp.errors)."""

from webapp.model.db import database, is_sqlite  # noqa: F401
from webapp.model.tables import *  # noqa: F401,F403
