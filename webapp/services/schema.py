"""Schema version and upgrades. Upgrades only add: a newer Keydesk never drops a column holding data."""

from webapp.db import database
from webapp.models import ALL_MODELS, Setting

SCHEMA_VERSION = 1

# version -> function that brings a database at version-1 up to version. Each runs in one transaction
# with the version bump, so a failed upgrade leaves the previous schema and data untouched.
MIGRATIONS = {}


def migration(version):
    def register(function):
        MIGRATIONS[version] = function
        return function

    return register


def current_version():
    if not Setting.table_exists():
        return 0
    row = Setting.get_or_none(Setting.name == "schema.version")
    return 0 if row is None else int(row.value)


def upgrade_schema():
    """Create missing tables and run pending migrations; return (from_version, to_version)."""
    start = current_version()
    if start > SCHEMA_VERSION:
        raise RuntimeError(
            f"the database is at schema version {start}, newer than this Keydesk ({SCHEMA_VERSION}); "
            "upgrade Keydesk instead of downgrading the database"
        )
    with database.atomic():
        database.create_tables(ALL_MODELS, safe=True)
        if start == 0:
            _set_version(SCHEMA_VERSION)
            return start, SCHEMA_VERSION
    for version in range(start + 1, SCHEMA_VERSION + 1):
        with database.atomic():
            MIGRATIONS[version](database)
            _set_version(version)
    return start, SCHEMA_VERSION


def _set_version(version):
    Setting.insert(name="schema.version", value=version).on_conflict(
        conflict_target=[Setting.name], update={Setting.value: version}
    ).execute()
