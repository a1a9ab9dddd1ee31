"""The Peewee database: one proxy, initialised from a URL, connected per request."""

import importlib.util
import os
import re
import time
from urllib.parse import parse_qs, urlparse

from peewee import DatabaseProxy, SqliteDatabase
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

from webapp.errors import DomainError

database = DatabaseProxy()

# Text no column can hold on PostgreSQL (NUL), or that no driver can encode (an unpaired UTF-16 surrogate,
# which only a JSON `\ud800` escape produces). Refused on both databases alike, before the statement runs.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_TEXT = ("text containing the NUL character or an unpaired surrogate can't be stored or searched "
                   "for")


class _RefusesUnstorableText:
    """Checks every statement's parameters: a 400 DomainError, never the driver's error (a 500)."""

    def execute_sql(self, sql, params=None):
        if params:
            for value in params:
                if isinstance(value, str) and UNSTORABLE.search(value):
                    raise DomainError(UNSTORABLE_TEXT)
        return super().execute_sql(sql, params)


class KeydeskSqliteDatabase(_RefusesUnstorableText, PooledSqliteDatabase):
    def _connect(self):
        private_file(self.database)
        return super()._connect()

    def fetch_one(self, name: str, sql: str, params: tuple):
        """One row of a hot-path statement (`?` placeholders) on the driver's cursor: no query building, no
        logging. sqlite3 keeps the compiled statement in its per-connection cache. `name` is for PostgreSQL."""
        cursor = self.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchone()
        finally:
            cursor.close()


def private_file(path: str) -> None:
    """Create the SQLite file `path`, if it doesn't exist yet, readable and writable by its owner only (0600),
    in a folder only its owner can enter (0700) when that folder doesn't exist either. SQLite gives the -wal,
    -shm and -journal files it creates beside it the database file's mode, so they are 0600 too. An existing
    file keeps its mode (an administrator may have chosen it)."""
    if not path or path == ":memory:" or path.startswith("file:") or os.path.exists(path):
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        os.makedirs(folder, mode=0o700, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:  # another process created it meanwhile: it chose the mode
        pass


class KeydeskPostgresqlDatabase(_RefusesUnstorableText, PooledPostgresqlDatabase):
    """The pool, with two round trips per request less than peewee's.

    - Check-out: peewee's pool asks the server `SELECT 1` before handing out an idle connection. A connection
      handed back less than RECENTLY_USED seconds ago, idle and not closed, is handed out without asking: the
      key check replaces one the server ended meanwhile (`fetch_one`); any other statement on it fails that
      one request with a 503, and the connection is then discarded.
    - Hot-path statements (`fetch_one`) are prepared once per connection: planning the key-verification join
      costs the server several times what running it does.
    """

    RECENTLY_USED = 1.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._returned = {}  # connection key -> monotonic time of its last check-in
        self._prepared = {}  # id(connection) -> (connection, names prepared on it)

    def _is_closed(self, conn):
        returned = self._returned.pop(self.conn_key(conn), None)
        if (returned is not None and time.monotonic() - returned < self.RECENTLY_USED and not conn.closed
                and self._adapter.txn_status(conn) == self._adapter.txn_idle):
            return False
        return super()._is_closed(conn)

    def _close(self, conn, close_conn=False):  # check-in (a stale or broken connection is closed instead)
        if not close_conn and not conn.closed:
            self._returned[self.conn_key(conn)] = time.monotonic()
        super()._close(conn, close_conn)

    def _close_raw(self, conn):
        self._returned.pop(self.conn_key(conn), None)
        self._prepared.pop(id(conn), None)
        super()._close_raw(conn)

    def fetch_one(self, name: str, sql: str, params: tuple):
        """One row of a hot-path statement (`?` placeholders, `name` unique to it), prepared on first use on
        each connection, then executed by name. A connection the server ended since its last use (restart,
        idle kill; handed out unchecked, see above) is replaced once, outside a transaction."""
        try:
            return self._fetch_prepared(name, sql, params)
        except Exception:
            conn = self._state.conn
            if conn is None or not conn.closed or self.in_transaction():
                raise
            self.close()  # the pool discards a closed connection
            self.connect()
            return self._fetch_prepared(name, sql, params)

    def _fetch_prepared(self, name, sql, params):
        conn = self.connection()
        entry = self._prepared.get(id(conn))
        if entry is None or entry[0] is not conn:
            entry = self._prepared[id(conn)] = (conn, set())
        cursor = conn.cursor()
        try:
            if name not in entry[1]:
                self._prepare(cursor, name, sql)
                entry[1].add(name)
            try:
                cursor.execute(_EXECUTE[name], params)
            except Exception as error:
                # Prepared statements live in the server session: one that ended behind a pooler, or a DISCARD,
                # took it along. Outside a transaction nothing else is lost: prepare it again and run it once more.
                if getattr(error, "pgcode", None) != "26000" or self.in_transaction():
                    raise
                self._prepare(cursor, name, sql)
                cursor.execute(_EXECUTE[name], params)
            return cursor.fetchone()
        finally:
            cursor.close()

    @staticmethod
    def _prepare(cursor, name, sql):
        parts = sql.split("?")  # no `?` may sit in a literal of a hot-path statement
        numbered = "".join(part + (f"${n}" if n < len(parts) else "") for n, part in enumerate(parts, 1))
        cursor.execute(f"PREPARE {name} AS {numbered}")
        _EXECUTE[name] = f"EXECUTE {name} ({', '.join(['%s'] * (len(parts) - 1))})" if len(parts) > 1 else \
            f"EXECUTE {name}"


# The EXECUTE text of each prepared hot-path statement, by name (the same on every connection).
_EXECUTE = {}

# WAL lets readers run beside one writer; busy_timeout makes a second writer wait instead of failing.
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 10000,
    "foreign_keys": 1,
    "synchronous": "normal",
    "cache_size": -32000,
}


class DatabaseURLError(ValueError):
    """The database URL can't be understood."""


def database_for_url(url):
    """Return an unconnected Peewee database for a sqlite:/// or postgresql:// URL."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = parsed.path[1:] if parsed.path.startswith("//") else parsed.path
        if parsed.netloc == "" and url.startswith("sqlite:///"):
            path = url[len("sqlite:///") :]
        if not path:
            raise DatabaseURLError(f"no file name in database URL {url!r}")
        # BEGIN IMMEDIATE: a deferred transaction that reads and then writes can't wait for the write lock
        # (SQLite answers SQLITE_BUSY at once on the upgrade); taking it up front makes it wait on busy_timeout.
        # Pooled: a request reuses an open connection (pragmas already set) instead of opening the file and
        # setting the pragmas again, which was the largest fixed cost of every request. A connection handed
        # back inside a transaction is rolled back first.
        return KeydeskSqliteDatabase(
            path, pragmas=SQLITE_PRAGMAS, check_same_thread=False, lock_type="IMMEDIATE",
            max_connections=None, stale_timeout=600,
        )
    if parsed.scheme in {"postgres", "postgresql"}:
        if importlib.util.find_spec("psycopg2") is None:
            raise DatabaseURLError(f"the database URL {_without_password(parsed)!r} names PostgreSQL, but its driver "
                                   "(psycopg2) is not installed: pip install 'keydesk[postgres]'")
        options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        return KeydeskPostgresqlDatabase(
            (parsed.path or "/")[1:] or "postgres",
            user=parsed.username,
            password=parsed.password,
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 5432,
            max_connections=int(options.pop("max_connections", 16)),
            stale_timeout=int(options.pop("stale_timeout", 300)),
            timeout=int(options.pop("pool_timeout", 10)),
            **options,
        )
    raise DatabaseURLError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://USER@HOST/DB")


def _without_password(parsed):
    """The URL for a message: the password left out."""
    host = parsed.netloc.rpartition("@")[2]
    return parsed._replace(netloc=f"{parsed.username}@{host}" if parsed.username else host).geturl()


def init_database(url):
    """Point the shared proxy at the database named by `url` and return it."""
    current = database.obj
    if current is not None and getattr(current, "_keydesk_url", None) == url:
        return current
    if current is not None and not current.is_closed():
        current.close()
    if current is not None and hasattr(current, "close_idle"):
        current.close_idle()  # the pooled connections of the database being replaced
    db = database_for_url(url)
    db._keydesk_url = url
    database.initialize(db)
    return db


def is_sqlite():
    return isinstance(database.obj, SqliteDatabase)
