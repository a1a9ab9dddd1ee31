"""Whether the database answers, for the health check."""

from webapp.model import database


def check_database() -> None:
    """Run a trivial statement; the driver's error propagates when the database doesn't answer."""
    database.execute_sql("SELECT 1")
