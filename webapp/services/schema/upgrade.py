"""Schema version and upgrades. Upgrades only add: a newer Keydesk never drops a column holding data."""

from collections.abc import Callable

from peewee import Database, DatabaseProxy

from webapp.model import ALL_MODELS, Setting, ThrottleCounter, UserSession
from webapp.model.db import database, is_sqlite

SCHEMA_VERSION = 9

# version -> function that brings a database at version-1 up to version. Each runs in one transaction
# with the version bump, so a failed upgrade leaves the previous schema and data untouched.
Migration = Callable[[Database | DatabaseProxy], None]
MIGRATIONS: dict[int, Migration] = {}


def migration(version: int) -> Callable[[Migration], Migration]:
    def register(function):
        MIGRATIONS[version] = function
        return function

    return register


def current_version() -> int:
    if not Setting.table_exists():
        return 0
    row = Setting.get_or_none(Setting.name == "schema.version")
    return 0 if row is None else int(row.value)


def upgrade_schema() -> tuple[int, int]:
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
            install_key_list_objects(database)
            key_rotation(database)
            key_rate_limits(database)
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


# ---- version 2: what the keys page needs to stay fast at a million keys ---------------------------------
# Everything here is derived from the api_key table (indexes, per-owner tallies kept by triggers, and on
# SQLite a trigram index for substring search), so installing it drops and rebuilds it: nothing is lost.

NEVER_EXPIRES = 9223372036854775807  # sorts keys without an expiry after every real time

# The default order, the owner and the expiry indexes carry the columns every filter and the substring test
# read, so a walk along them never has to visit the table rows it passes over.
_FILTERED = '"name", "owner_username", "owner_realm", "managed", "type", "expiration"'
KEY_LIST_INDEXES = {
    "api_key_list_created": f'"invalidated", "creation", "id", {_FILTERED}',
    "api_key_list_name": '"invalidated", "name", "creation", "id"',
    "api_key_list_kind": '"invalidated", "managed", "type", "creation", "id", "name", "owner_username", '
                         '"owner_realm", "expiration"',
    "api_key_list_managed": '"invalidated", "managed", "creation", "id"',
    "api_key_list_owner": ('"invalidated", "owner_username", "owner_realm", "creation", "id", "name", "managed", '
                           '"type", "expiration", "last_used"'),
    "api_key_list_realm": '"invalidated", "owner_realm", "owner_username", "creation", "id"',
    "api_key_list_status": f'"invalidated", COALESCE("expiration", {NEVER_EXPIRES}), "creation", "id", {_FILTERED}',
    "api_key_list_last_used": '"invalidated", COALESCE("last_used", 0), "creation", "id"',
    # "Not used for 90 days" (services/api_keys/usage.py): a range of when each key was last used, or created.
    "api_key_list_idle": '"invalidated", COALESCE("last_used", "creation"), "creation", "id"',
}
TALLY_COLUMNS = "owner_username, owner_realm, type, managed, invalidated"

_SQLITE_TALLY_TRIGGERS = f"""
CREATE TRIGGER api_key_tally_insert AFTER INSERT ON api_key BEGIN
  INSERT INTO api_key_tally ({TALLY_COLUMNS}, n)
  VALUES (NEW.owner_username, NEW.owner_realm, NEW.type, NEW.managed, NEW.invalidated, 1)
  ON CONFLICT ({TALLY_COLUMNS}) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER api_key_tally_delete AFTER DELETE ON api_key BEGIN
  UPDATE api_key_tally SET n = n - 1
  WHERE owner_username = OLD.owner_username AND owner_realm = OLD.owner_realm AND type = OLD.type
    AND managed = OLD.managed AND invalidated = OLD.invalidated;
END;
CREATE TRIGGER api_key_tally_update AFTER UPDATE OF {TALLY_COLUMNS} ON api_key
WHEN OLD.owner_username IS NOT NEW.owner_username OR OLD.owner_realm IS NOT NEW.owner_realm
  OR OLD.type IS NOT NEW.type OR OLD.managed IS NOT NEW.managed OR OLD.invalidated IS NOT NEW.invalidated
BEGIN
  UPDATE api_key_tally SET n = n - 1
  WHERE owner_username = OLD.owner_username AND owner_realm = OLD.owner_realm AND type = OLD.type
    AND managed = OLD.managed AND invalidated = OLD.invalidated;
  INSERT INTO api_key_tally ({TALLY_COLUMNS}, n)
  VALUES (NEW.owner_username, NEW.owner_realm, NEW.type, NEW.managed, NEW.invalidated, 1)
  ON CONFLICT ({TALLY_COLUMNS}) DO UPDATE SET n = n + 1;
END;
"""

# The trigram index is keyed by api_key_search.seq (an INTEGER PRIMARY KEY, which VACUUM never renumbers),
# not by api_key's implicit rowid. Contentless: it stores no copy of the names. Each name is indexed with two
# U+0001 after it (a character no search word holds), so that every one- or two-character part of a name begins
# one of its trigrams, and api_key_fts_terms (the index's own term list) finds the keys holding a short word.
SHORT_WORD_PAD = "char(1, 1)"
_SQLITE_SEARCH_TRIGGERS = f"""
CREATE TRIGGER api_key_search_insert AFTER INSERT ON api_key BEGIN
  INSERT INTO api_key_search (key_id) VALUES (NEW.id);
  INSERT INTO api_key_fts (rowid, name, owner)
    VALUES (last_insert_rowid(), NEW.name || {SHORT_WORD_PAD}, NEW.owner_username);
END;
CREATE TRIGGER api_key_search_delete AFTER DELETE ON api_key BEGIN
  INSERT INTO api_key_fts (api_key_fts, rowid, name, owner)
    SELECT 'delete', seq, OLD.name || {SHORT_WORD_PAD}, OLD.owner_username
    FROM api_key_search WHERE key_id = OLD.id;
  DELETE FROM api_key_search WHERE key_id = OLD.id;
END;
CREATE TRIGGER api_key_search_update AFTER UPDATE OF name, owner_username ON api_key
WHEN OLD.name IS NOT NEW.name OR OLD.owner_username IS NOT NEW.owner_username BEGIN
  INSERT INTO api_key_fts (api_key_fts, rowid, name, owner)
    SELECT 'delete', seq, OLD.name || {SHORT_WORD_PAD}, OLD.owner_username
    FROM api_key_search WHERE key_id = OLD.id;
  INSERT INTO api_key_fts (rowid, name, owner)
    SELECT seq, NEW.name || {SHORT_WORD_PAD}, NEW.owner_username FROM api_key_search WHERE key_id = NEW.id;
END;
"""

# PostgreSQL: statement-level triggers fold a bulk change into one tally update per owner, written in a
# fixed order so concurrent bulk invalidations can't deadlock on the tally rows.
_PG_TALLY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION api_key_tally_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO api_key_tally AS t ({TALLY_COLUMNS}, n)
      SELECT {TALLY_COLUMNS}, COUNT(*) FROM new_rows GROUP BY {TALLY_COLUMNS} ORDER BY {TALLY_COLUMNS}
      ON CONFLICT ({TALLY_COLUMNS}) DO UPDATE SET n = t.n + EXCLUDED.n;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO api_key_tally AS t ({TALLY_COLUMNS}, n)
      SELECT {TALLY_COLUMNS}, -COUNT(*) FROM old_rows GROUP BY {TALLY_COLUMNS} ORDER BY {TALLY_COLUMNS}
      ON CONFLICT ({TALLY_COLUMNS}) DO UPDATE SET n = t.n + EXCLUDED.n;
  ELSE
    INSERT INTO api_key_tally AS t ({TALLY_COLUMNS}, n)
      SELECT {TALLY_COLUMNS}, SUM(d) FROM (
        SELECT {TALLY_COLUMNS}, 1 AS d FROM new_rows
        UNION ALL SELECT {TALLY_COLUMNS}, -1 AS d FROM old_rows) AS changed
      GROUP BY {TALLY_COLUMNS} HAVING SUM(d) <> 0 ORDER BY {TALLY_COLUMNS}
      ON CONFLICT ({TALLY_COLUMNS}) DO UPDATE SET n = t.n + EXCLUDED.n;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER api_key_tally_insert AFTER INSERT ON api_key REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION api_key_tally_apply();
CREATE TRIGGER api_key_tally_delete AFTER DELETE ON api_key REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION api_key_tally_apply();
CREATE TRIGGER api_key_tally_update AFTER UPDATE ON api_key REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION api_key_tally_apply();
"""


def _run_script(db, script):
    """Run `;`-separated statements; trigger bodies (BEGIN ... END; / $$ ... $$) stay whole."""
    statement = []
    for line in script.strip().splitlines():
        statement.append(line)
        text = "\n".join(statement).strip()
        closes_sqlite_trigger = line.strip() == "END;"
        closes_plain = line.rstrip().endswith(";") and "BEGIN" not in text and "$$" not in text
        closes_function = line.strip() == "END $$;"
        if closes_sqlite_trigger or closes_plain or closes_function:
            db.execute_sql(text)
            statement = []


def install_key_list_objects(db: Database | DatabaseProxy) -> None:
    """(Re)build the list indexes, the per-owner tallies and the search index from the api_key table."""
    for name, columns in KEY_LIST_INDEXES.items():
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{name}" ON "api_key" ({columns})')
    for trigger in ("api_key_tally_insert", "api_key_tally_delete", "api_key_tally_update"):
        db.execute_sql(f"DROP TRIGGER IF EXISTS {trigger}" + ("" if is_sqlite() else " ON api_key"))
    db.execute_sql("DROP TABLE IF EXISTS api_key_tally")
    db.execute_sql(
        "CREATE TABLE api_key_tally (owner_username VARCHAR(1024) NOT NULL, owner_realm VARCHAR(64) NOT NULL, "
        "type VARCHAR(16) NOT NULL, managed BOOLEAN NOT NULL, invalidated BOOLEAN NOT NULL, "
        f"n BIGINT NOT NULL DEFAULT 0, PRIMARY KEY ({TALLY_COLUMNS}))")
    db.execute_sql(f"INSERT INTO api_key_tally ({TALLY_COLUMNS}, n) "
                   f"SELECT {TALLY_COLUMNS}, COUNT(*) FROM api_key GROUP BY {TALLY_COLUMNS}")
    if is_sqlite():
        _run_script(db, _SQLITE_TALLY_TRIGGERS)
        _install_sqlite_search(db)
    else:
        _run_script(db, _PG_TALLY_FUNCTION)
        _install_pg_search(db)
        _install_pg_short_grams(db)


def _install_sqlite_search(db):
    for trigger in ("api_key_search_insert", "api_key_search_delete", "api_key_search_update"):
        db.execute_sql(f"DROP TRIGGER IF EXISTS {trigger}")
    for table in ("api_key_fts_terms", "api_key_fts", "api_key_search"):
        db.execute_sql(f"DROP TABLE IF EXISTS {table}")
    try:
        db.execute_sql("CREATE VIRTUAL TABLE api_key_fts USING fts5(name, owner, content='', tokenize='trigram')")
        db.execute_sql("CREATE VIRTUAL TABLE api_key_fts_terms USING fts5vocab(api_key_fts, instance)")
    except Exception:  # an SQLite built without FTS5 or older than 3.34: search falls back to LIKE
        db.execute_sql("DROP TABLE IF EXISTS api_key_fts")
        return
    db.execute_sql("CREATE TABLE api_key_search (seq INTEGER PRIMARY KEY, key_id VARCHAR(20) NOT NULL UNIQUE)")
    db.execute_sql("INSERT INTO api_key_search (key_id) SELECT id FROM api_key ORDER BY creation, id")
    db.execute_sql(f"INSERT INTO api_key_fts (rowid, name, owner) SELECT s.seq, k.name || {SHORT_WORD_PAD}, "
                   "k.owner_username FROM api_key_search AS s JOIN api_key AS k ON k.id = s.key_id")
    _run_script(db, _SQLITE_SEARCH_TRIGGERS)


def _install_pg_search(db):
    """Trigram indexes for substring search, when the pg_trgm extension can be had (else plain scans)."""
    try:
        with db.atomic():
            db.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception:
        return
    db.execute_sql("CREATE INDEX IF NOT EXISTS api_key_name_trgm ON api_key USING gin (name gin_trgm_ops)")


# Words of one or two characters have no trigram: on PostgreSQL a GIN index over each name's one- and
# two-character substrings (lower case) finds the keys holding a rare one; SQLite, its trigram index (version 9).
_PG_SHORT_GRAMS = """
CREATE OR REPLACE FUNCTION api_key_short_grams(t text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT array_agg(substr(l, i, n)) FROM (SELECT lower(t) AS l) AS s, generate_series(1, length(t)) AS i,
  (VALUES (1), (2)) AS w(n) $$;
"""


def _install_pg_short_grams(db):
    db.execute_sql(_PG_SHORT_GRAMS.strip())
    db.execute_sql("CREATE INDEX IF NOT EXISTS api_key_name_short ON api_key USING gin (api_key_short_grams(name))")


@migration(2)
def key_list_objects(db: Database | DatabaseProxy) -> None:
    install_key_list_objects(db)


# ---- version 3: server-side sessions (services/access/sessions.py) -------------------------------------
# A new, empty table: sessions issued before the upgrade carry no token and end, so everyone signs in again.

@migration(3)
def user_sessions(db: Database | DatabaseProxy) -> None:
    db.create_tables([UserSession], safe=True)


# ---- version 4: throttling counters shared by every worker and instance (webapp/web/throttle_store.py) ---
# A new, empty table: counting starts afresh.

@migration(4)
def throttle_counters(db: Database | DatabaseProxy) -> None:
    db.create_tables([ThrottleCounter], safe=True)


# ---- version 5: search words shorter than three characters (listing.py) ---------------------------------
# PostgreSQL gets the index of one- and two-character substrings; SQLite needs nothing new.

@migration(5)
def short_word_search(db: Database | DatabaseProxy) -> None:
    if not is_sqlite():
        _install_pg_short_grams(db)


# ---- version 6: key rotation (services/api_keys/rotation.py) --------------------------------------------
# Two new, empty columns with their indexes (a new database gets the indexes here too: the model declares
# none, since create_tables runs before this adds the columns). Running it again changes nothing.

ROTATION_COLUMNS = ("rotated_from", "replaced_by")


@migration(6)
def key_rotation(db: Database | DatabaseProxy) -> None:
    present = {column.name for column in db.get_columns("api_key")}
    for column in ROTATION_COLUMNS:
        if column not in present:
            db.execute_sql(f'ALTER TABLE "api_key" ADD COLUMN "{column}" VARCHAR(20)')
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "api_key_{column}" ON "api_key" ("{column}")')


# ---- version 7: per-key rate limits (services/api_keys/request_limit.py) ---------------------------------
# One new, empty column (NULL: no limit). Running it again changes nothing.

@migration(7)
def key_rate_limits(db: Database | DatabaseProxy) -> None:
    if "rate_limit" not in {column.name for column in db.get_columns("api_key")}:
        db.execute_sql('ALTER TABLE "api_key" ADD COLUMN "rate_limit" TEXT')


# ---- version 8: usage history, expiry notices, application privileges -----------------------------------
# New tables only (see the models in webapp/model/tables.py: usage counts, notice claims and webhook
# deliveries, application privileges). create_tables above makes any that are missing; this marks the version
# so an older Keydesk refuses the database. Running it again changes nothing.

@migration(8)
def lifecycle_tables(db: Database | DatabaseProxy) -> None:
    db.create_tables(ALL_MODELS, safe=True)
    # The idle-time index of the keys list's "Not used for 90 days" filter (a new database gets it with the others).
    idle = KEY_LIST_INDEXES["api_key_list_idle"]
    db.execute_sql(f'CREATE INDEX IF NOT EXISTS "api_key_list_idle" ON "api_key" ({idle})')


# ---- version 9: short search words on SQLite from the trigram index (listing.py) -------------------------
# The trigram index is rebuilt with each name padded (see SHORT_WORD_PAD) and its term list added; it is
# derived from api_key, so nothing is lost. PostgreSQL has its own index for such words (version 5).

@migration(9)
def short_words_on_sqlite(db: Database | DatabaseProxy) -> None:
    if is_sqlite():
        _install_sqlite_search(db)
