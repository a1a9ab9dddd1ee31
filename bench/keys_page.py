"""Benchmark of the API keys page at 1k, 100k and 1M keys, as the server sees it.

Seeds N keys over ~100 owners into a temporary SQLite file, or into a scratch PostgreSQL database created and
dropped for each size (`--database postgresql://...`; seeded with COPY). Both go through the real schema, so
the triggers keep the tallies and the search indexes as they would in production. Then it times full requests to
`/keys` through the Flask test client, signed in: the first page, a search, each filter, each sort, the next
page, the count. Reports the median of several runs and writes the table into docs/benchmarks.md between
the keys_page markers. Also reports the compressed weight of the page (HTML + CSS + JS).

    .venv/bin/python bench/keys_page.py                    # 1k and 100k
    .venv/bin/python bench/keys_page.py --sizes 1000,100000,1000000 --write
    .venv/bin/python bench/keys_page.py --database postgresql://postgres@127.0.0.1:5432/keydesk_bench \
        --sizes 1000,1000000 --write

On PostgreSQL the seeder runs VACUUM ANALYZE on api_key after loading, which is what autovacuum (on by default)
does within a minute or so of a bulk load; --no-analyze leaves it out. SQLite never gathers statistics by
itself, so it runs without them.
"""

import argparse
import contextlib
import gzip
import io
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("KEYDESK_PASSWORD_HASH_ROUNDS", "4")  # cheap hashing for the seeded owners

from webapp import create_app  # noqa: E402
from webapp.clock import DAY_MS, now_ms  # noqa: E402
from webapp.model.db import database, is_sqlite  # noqa: E402
from webapp.security import credentials  # noqa: E402
from webapp.services.access.system import system_subject  # noqa: E402
from webapp.services.admin.users import create_native_user  # noqa: E402
from webapp.services.schema import bootstrap as setup  # noqa: E402
from webapp.services.schema import upgrade  # noqa: E402

PASSWORD = "bench-password"
OWNERS = 100
SERVICES = ("deploy", "ingest", "metrics", "billing", "search", "backup", "alerting", "gateway", "reports",
            "sync", "logs", "audit", "export", "import", "scheduler", "mailer", "crawler", "etl", "cache", "auth")
ENVIRONMENTS = ("prod", "staging", "dev", "ci")
BATCH = 5_000
COPY_BATCH = 100_000
COLUMNS = ("id", "name", "type", "owner_username", "owner_realm", "owner_realm_type", "creation", "expiration",
           "invalidated", "invalidation", "secret_hash", "role_descriptors", "limited_by", "access", "metadata",
           "managed", "last_used", "last_used_address", "version")
MARK_START = "<!-- keys_page:start -->"
MARK_END = "<!-- keys_page:end -->"
NOTES = """How it stays flat: every list is one keyset-paged index range (each sort order has an index ending in
`creation, id`; the order, owner, kind and expiry indexes also carry the columns the filters test); totals
come from `api_key_tally` (per owner, type, managed and invalidated, kept by triggers) or, for status
filters, from an expiry-index range that the retention purge keeps short; substring search uses an FTS5
trigram index (SQLite) / pg_trgm (PostgreSQL). Most of each figure is the fixed cost of a request (session,
subject, template), which is why 1k and 1M look alike and vary by a few ms between runs on the shared machine.
Measured without `ANALYZE` statistics, as a fresh install runs. Not in the table (service alone, 1M keys): the
hardest searches are terms matching a little over 2,000 keys (too many to sort, rare enough that a page needs
a long walk), 40–80 ms; long terms matching ~1,200 keys, 25–45 ms; common terms plus a narrow filter,
~30 ms. Search totals are exact up to 1,000 and shown as "More than 1,000 API keys" beyond. A one- or
two-character word has no trigram: a common one fills a page within a few thousand keys of the walk; a rare
one (or one no key holds) is looked up in an index, on SQLite the trigram index's own term list (each name is
indexed padded, so that such a word begins one of its trigrams: schema v9), on PostgreSQL a GIN index of
each name's one- and two-character parts. Before SQLite had it, a word no key holds read every name: ~330 ms
at 1,000,000 keys."""


PG_NOTES = """Seeded with COPY in batches of 100,000 into the table with its list and search indexes dropped, then
the schema's installer builds them again and recounts the tallies (as a restore would); `VACUUM ANALYZE` then
does what autovacuum does shortly after a bulk load (this server runs with autovacuum off). Substring search:
`pg_trgm` (GIN) for words of three characters or more; one- and two-character words use a GIN index over each
name's one- and two-character substrings when the 1,000 newest keys show the word is rare, and are tested row
by row along the sort order when it is common.
Without statistics (`--no-analyze`, right after a load with autovacuum off) PostgreSQL
guesses badly for three cases at 1M keys: "search: common word" ~130 ms, "filter: status Active" and "Expired"
~120 ms (a sequential scan to count the expired keys), "Expiring" ~30 ms; everything else stays as above."""


def owner_names():
    return [f"user{n:03d}" for n in range(OWNERS)]


def seed(app, n_keys, rng):
    """Create the owners (native users holding api_key_user) and `n_keys` keys spread over them."""
    owners = owner_names()
    with database.connection_context():
        system = system_subject()
        for name in owners:
            create_native_user(system, name, PASSWORD, ["api_key_user"])
        limited_by = json.dumps([{"api_key_user": {"cluster": ["manage_own_api_key"], "indices": []}}])
        secret_hash = credentials.hash_secret(credentials.new_secret())
        now = now_ms()
        rows = (_row(i, rng, owners, now, secret_hash, limited_by) for i in range(n_keys))
        with database.atomic():
            if is_sqlite():
                _insert_sqlite(rows)
            else:
                _copy_postgresql(rows)


def _insert_sqlite(rows):
    sql = f"INSERT INTO api_key ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            database.cursor().executemany(sql, batch)
            batch = []
    if batch:
        database.cursor().executemany(sql, batch)


def _copy_text(value):
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy_postgresql(rows):
    """COPY in batches, as a restore loads a table: the list and search indexes are dropped first and built
    again afterwards by the schema's own installer (which also recounts the tallies)."""
    derived = [*upgrade.KEY_LIST_INDEXES, "api_key_name_trgm", "api_key_name_short"]
    for name in derived:
        database.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
    sql = f"COPY api_key ({', '.join(COLUMNS)}) FROM STDIN"
    cursor = database.cursor()
    while True:
        lines = ["\t".join(_copy_text(v) for v in row) for row in _take(rows, COPY_BATCH)]
        if not lines:
            break
        cursor.copy_expert(sql, io.StringIO("\n".join(lines) + "\n"))
    database.execute_sql("SET LOCAL maintenance_work_mem = '256MB'")
    upgrade.install_key_list_objects(database)


def _take(rows, n):
    for _, row in zip(range(n), rows, strict=False):
        yield row


def _row(i, rng, owners, now, secret_hash, limited_by):
    owner = owners[i % len(owners)] if rng.random() < 0.9 else rng.choice(owners[:10])
    cross_cluster = rng.random() < 0.02
    managed = rng.random() < 0.03
    creation = now - rng.randrange(730 * DAY_MS)
    roll = rng.random()
    if roll < 0.6:
        expiration = None
    elif roll < 0.95:
        expiration = now + rng.randrange(8 * DAY_MS, 365 * DAY_MS)
    elif roll < 0.98:
        expiration = now - rng.randrange(7 * DAY_MS)  # expired, not yet purged
    else:
        expiration = now + rng.randrange(1, 7 * DAY_MS)  # expiring within a week
    invalidated = rng.random() < 0.02
    last_used = None if rng.random() < 0.5 else creation + rng.randrange(max(1, now - creation))
    name = f"{rng.choice(SERVICES)}-{rng.choice(ENVIRONMENTS)}-{i:07d}"
    metadata = {"managed": True} if managed else {}
    access = json.dumps({"search": [{"names": ["*"]}]}) if cross_cluster else None
    return (credentials.new_key_id(), name, "cross_cluster" if cross_cluster else "rest", owner, "native",
            "native", creation, expiration, invalidated, now - rng.randrange(DAY_MS) if invalidated else None,
            secret_hash, "{}", None if cross_cluster else limited_by, access, json.dumps(metadata), managed,
            last_used, "10.0.0.1" if last_used else None, 1)


def sign_in(client, username, password):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code in (302, 303), response.status_code


def cases(client):
    """(label, query string) pairs; the next-page case follows the cursor the first page offers."""
    first = client.get("/keys/", headers={"HX-Request": "true"}).get_data(as_text=True)
    cursor = re.search(r'href="/keys/\?[^"]*after=([^"&]+)', first)
    assert cursor, "the first page offers no next page"
    listed = [
        ("first page", {}),
        ("search: common word", {"q": "deploy"}),
        ("search: rare name", {"q": "0012345"}),
        ("search: owner:", {"q": "owner:user042"}),
        ("search: short word, common", {"q": "de"}),
        ("search: short word, in no key", {"q": "qz"}),
        ("filter: type Personal", {"type": "personal"}),
        ("filter: type Cross-cluster", {"type": "cross-cluster"}),
        ("filter: type Managed", {"type": "managed"}),
        ("filter: status Active", {"status": "active"}),
        ("filter: status Expiring", {"status": "expiring"}),
        ("filter: status Expired", {"status": "expired"}),
        ("filter: status Invalidated", {"status": "invalidated"}),
        ("filter: one owner", {"owner": "user007@native"}),
        ("filter: expiring within 30 days", {"status": "expiring-30d"}),
        ("filter: not used for 90 days", {"unused": "1"}),
        ("filter: not used for 90 days, by last use", {"unused": "1", "sort": "last_used", "dir": "desc"}),
    ]
    for column in ("name", "type", "owner", "realm", "created", "status", "last_used"):
        for direction in ("asc", "desc"):
            listed.append((f"sort: {column} {direction}", {"sort": column, "dir": direction}))
    listed.append(("next page", {"after": cursor.group(1)}))
    return listed


def time_request(client, query, runs):
    url = "/keys/" + ("?" + urlencode(query, doseq=True) if query else "")
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url, headers={"HX-Request": "true"})
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(timings)


def time_count(app, runs):
    """The total alone, as the service computes it for the default view (median ms)."""
    from webapp.model import User
    from webapp.services.access.authentication import subject_for_user
    from webapp.services.api_keys import listing as key_search

    with database.connection_context():
        subject = subject_for_user(User.get(User.username == "elastic"), "session")
        criteria = key_search.build_criteria(subject)
        timings = []
        for _ in range(runs):
            start = time.perf_counter()
            key_search.count_keys(subject, criteria)
            timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def page_weight(client):
    """Bytes of /keys and the CSS and JS it loads, each gzip-compressed (level 6, as a server would)."""
    html = client.get("/keys/").get_data()
    total = {"html": len(gzip.compress(html, 6))}
    for asset in re.findall(rb'(?:href|src)="(/static/[^"]+\.(?:css|js))"', html):
        body = client.get(asset.decode()).get_data()
        total[asset.decode()] = len(gzip.compress(body, 6))
    return total


@contextlib.contextmanager
def scratch_database(url):
    """A database URL to seed: a new SQLite file, or the PostgreSQL database `url` names, (re)created empty
    and dropped afterwards."""
    if not url:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.sqlite3", folder
        return
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    assert re.fullmatch(r"[a-z_][a-z0-9_]*", name), f"use a plain database name, not {name!r}"
    admin = ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", parsed.hostname or "127.0.0.1", "-p",
             str(parsed.port or 5432), "-U", parsed.username or "postgres", "-d", "postgres", "-c"]
    subprocess.run([*admin, f"DROP DATABASE IF EXISTS {name}"], check=True)
    subprocess.run([*admin, f"CREATE DATABASE {name}"], check=True)
    try:
        with tempfile.TemporaryDirectory() as folder:
            yield url, folder
    finally:
        if hasattr(database.obj, "close_all"):
            database.close_all()  # the pool's connections, so the database can be dropped
        subprocess.run([*admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)


def run(n_keys, runs, rng, url=None, analyze=False):
    with scratch_database(url) as (target, folder):
        app = create_app({"KEYDESK_DATABASE_URL": target, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False})
        app.instance_path = folder
        with database.connection_context():
            setup.initialise(PASSWORD)
        started = time.perf_counter()
        seed(app, n_keys, rng)
        seeded = time.perf_counter() - started
        if analyze and not is_sqlite():
            with database.connection_context():
                database.execute_sql("VACUUM ANALYZE api_key")
        client = app.test_client()
        sign_in(client, "elastic", PASSWORD)
        results = {}
        for label, query in cases(client):
            time_request(client, query, 1)  # warm the page cache for this query
            results[label] = time_request(client, query, runs)
        results["count (service only)"] = time_count(app, runs)
        own = app.test_client()
        sign_in(own, "user042", PASSWORD)
        time_request(own, {}, 1)
        results["first page, own keys only"] = time_request(own, {}, runs)
        weight = page_weight(client)
        database.close()
    return results, weight, seeded


def table(sizes, all_results):
    header = "| case | " + " | ".join(f"{n:,} keys" for n in sizes) + " |"
    lines = [header, "|" + "---|" * (len(sizes) + 1)]
    for label in all_results[sizes[0]]:
        cells = [f"{all_results[n][label]:.1f}" for n in sizes]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_section(text, engine):
    """Put `text` between this engine's markers inside the keys_page section of docs/benchmarks.md."""
    path = ROOT / "docs" / "benchmarks.md"
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    start, end = f"<!-- keys_page:{engine}:start -->", f"<!-- keys_page:{engine}:end -->"
    block = f"{start}\n{text}\n{end}"
    if start in current and end in current:
        before, rest = current.split(start, 1)
        current = before + block + rest.split(end, 1)[1]
    elif MARK_END in current:
        before, after = current.split(MARK_END, 1)
        current = before.rstrip("\n") + "\n\n" + block + "\n" + MARK_END + after
    else:
        current = current.rstrip("\n") + f"\n\n{MARK_START}\n{block}\n{MARK_END}\n"
    path.write_text(current)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000", help="comma-separated key counts")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per case (median reported)")
    parser.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md")
    parser.add_argument("--database", default="", help="postgresql://USER@HOST:PORT/SCRATCH_DB (created and "
                                                       "dropped for each size); default a temporary SQLite file")
    parser.add_argument("--no-analyze", dest="analyze", action="store_false",
                        help="PostgreSQL: leave out the VACUUM ANALYZE after seeding (autovacuum's work)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = random.Random(20260501)
    all_results, weights, seeding = {}, {}, {}
    for n in sizes:
        print(f"seeding {n:,} keys ...", flush=True)
        all_results[n], weights[n], seeding[n] = run(n, args.runs, rng, args.database, args.analyze)
        print(f"  seeded in {seeding[n]:.1f} s", flush=True)
        for label, ms in all_results[n].items():
            print(f"  {label:32} {ms:8.1f} ms", flush=True)
    weight = weights[sizes[0]]
    weight_text = ", ".join(f"{name} {size / 1024:.1f} KB" for name, size in weight.items())
    total_kb = sum(weight.values()) / 1024
    print(f"page weight (gzip): {total_kb:.1f} KB ({weight_text})")
    largest, smallest = sizes[-1], sizes[0]
    worst_ratio = max(all_results[largest][k] / all_results[smallest][k] for k in all_results[smallest])
    worst_ms = max(all_results[largest].values())
    summary = (f"Worst case at {largest:,} keys: {worst_ms:.1f} ms median; worst ratio to {smallest:,} keys: "
               f"{worst_ratio:.1f}×.")
    print(summary)
    if args.write:
        engine = "sqlite" if not args.database else "postgresql"
        where = ("SQLite file, no `ANALYZE`" if engine == "sqlite" else
                 "PostgreSQL " + ("after `VACUUM ANALYZE`" if args.analyze else "without `ANALYZE`"))
        text = "\n".join([
            f"### {'SQLite' if engine == 'sqlite' else 'PostgreSQL'}",
            "",
            "Median server time in milliseconds of a full htmx request to `/keys` (session, privilege check,",
            f"queries, template) through the Flask test client, {args.runs} runs after one warm-up, {where},",
            f"keys spread over {OWNERS} owners (2% cross-cluster, 3% managed, 2% invalidated, 3% expired, 2%",
            "expiring within a week). \"count (service only)\" is the total of the default view alone.",
            "Signed in as `elastic` (sees every key) unless the case says otherwise.",
            "",
            table(sizes, all_results),
            "",
            summary,
            "",
            NOTES if engine == "sqlite" else PG_NOTES,
            "",
            f"Page weight of `/keys` (gzip level 6): {total_kb:.1f} KB — {weight_text}.",
            "",
            "Seeding took " + ", ".join(f"{seeding[n]:.0f} s for {n:,}" for n in sizes) + ".",
        ])
        write_section(text, engine)
        print("wrote docs/benchmarks.md")


if __name__ == "__main__":
    main()
