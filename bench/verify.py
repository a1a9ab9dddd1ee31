"""Verification speed: `GET /_security/_authenticate` with an ApiKey (and cached Basic) header vs a bare endpoint,
on SQLite and on PostgreSQL, and nginx's `auth_request` check (docs/nginx/keydesk.conf) vs nginx without it.

Starts, on loopback, gunicorn servers with the same settings (2 sync workers, no access log): Keydesk on a fresh
SQLite database, Keydesk on a scratch PostgreSQL database (created for the run and dropped after), a second
Keydesk on that database behind nginx (the proxy settings docs/nginx/keydesk.conf expects), and a bare Flask
app answering the same JSON without authentication (also the trivial service nginx protects). nginx runs the
documented configuration in the foreground from a temporary prefix. Then it loads every target in turn, in
one run, with wrk (or a Python client when wrk is missing), and writes requests/s, p50/p99 latency, the
servers' CPU per request and each target's ratio to its baseline into docs/benchmarks.md (verify markers).

    .venv/bin/python bench/verify.py [--seconds 4] [--connections 8] [--rounds 9] [--no-write]
                                     [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
"""

import argparse
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from flask import Flask, Response

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DOC = ROOT / "docs" / "benchmarks.md"
NGINX_CONF = ROOT / "docs" / "nginx" / "keydesk.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
START, END = "<!-- verify:start -->", "<!-- verify:end -->"
PASSWORD = "bench-password-1"
SCRATCH_DATABASE = "keydesk_bench"
GOALS = {"sqlite": 0.75, "postgres": 0.65, "nginx": 0.60, "rate_limit": 0.90}
P99_GOAL_MS = 5.0

# ---- the bare endpoint and the trivial service (gunicorn loads them as bench/verify.py:bare_app) -----------

bare_app = Flask("bare")
BARE_BODY = os.environ.get("KEYDESK_BENCH_BODY", "{}")


@bare_app.get("/_security/_authenticate")
def bare_authenticate():
    """The same JSON Keydesk answers, without checking anything."""
    return Response(BARE_BODY, mimetype="application/json", headers={"X-Elastic-Product": "Elasticsearch"})


@bare_app.get("/")
def service():
    """The internal service nginx protects: a small JSON answer."""
    return Response('{"service":"internal-app"}', mimetype="application/json")


# ---- servers ------------------------------------------------------------------------------------------

def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port, path, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", path)
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not come up")


def spawn(command, env=None, cwd=ROOT):
    return subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def gunicorn(app_path, port, env, chdir):
    return spawn([str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level",
                  "warning", "--chdir", str(chdir), app_path], env)


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def request_json(port, method, path, headers, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, path, body=json.dumps(body) if body is not None else None,
                       headers={**headers, "Content-Type": "application/json"})
    response = connection.getresponse()
    payload = response.read()
    if response.status != 200:
        raise RuntimeError(f"{method} {path} answered {response.status}: {payload[:300]!r}")
    return json.loads(payload)


def keydesk_env(workdir, database_url, **extra):
    return {**os.environ, "KEYDESK_INSTANCE_PATH": str(workdir), "KEYDESK_DATABASE_URL": database_url,
            "KEYDESK_BOOTSTRAP_PASSWORD": PASSWORD, "KEYDESK_SECRET_KEY": "bench-secret", **extra}


def init_db(env):
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "init-db"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def scratch_postgres(admin_dsn, drop_only=False):
    """Create (or, with drop_only, drop) the scratch database; the URL Keydesk uses for it."""
    import psycopg2

    connection = psycopg2.connect(admin_dsn, connect_timeout=5)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DATABASE} WITH (FORCE)")
        if not drop_only:
            cursor.execute(f"CREATE DATABASE {SCRATCH_DATABASE}")
    connection.close()
    return admin_dsn.rsplit("/", 1)[0] + f"/{SCRATCH_DATABASE}"


def postgres_backends(admin_dsn):
    """Process ids of the server processes serving the scratch database (their CPU is the requests' too)."""
    import psycopg2

    connection = psycopg2.connect(admin_dsn, connect_timeout=5)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (SCRATCH_DATABASE,))
            return [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()


def nginx_config(workdir, port, keydesk_port, service_port):
    """docs/nginx/keydesk.conf as documented, pointed at the bench's servers, plus an unprotected location."""
    block = NGINX_CONF.read_text()
    block = block.replace("    server 127.0.0.1:8001;\n    server 127.0.0.1:8002;\n",
                          f"    server 127.0.0.1:{keydesk_port};\n")
    block = block.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    block = block.replace("http://127.0.0.1:9000/", f"http://127.0.0.1:{service_port}/")
    check = "    # The check nginx makes"
    if check not in block or f":{keydesk_port};" not in block:
        raise RuntimeError(f"{NGINX_CONF} changed shape: update nginx_config() in {Path(__file__).name}")
    block = block.replace(check, f"    location /open-app/ {{\n        proxy_pass http://127.0.0.1:{service_port}/;"
                                 f"\n    }}\n\n{check}")
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(f"    {kind}_temp_path {workdir}/{kind};" for kind in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""{user}worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temp}
    map $host $keydesk_remote_user {{ default ""; }}
{block}
}}
"""


# ---- load ---------------------------------------------------------------------------------------------

def load_with_wrk(port, path, headers, seconds, connections):
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{errors.group(1)} failed responses under load:\n{output}")

    def percentile(label):
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        value, unit = float(match.group(1)), match.group(2)
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"rps": rate, "p50": percentile("50"), "p99": percentile("99")}


def load_with_python(port, path, headers, seconds, connections):
    """Closed-loop load from `connections` threads, each with its own keep-alive connection."""
    latencies, lock = [], threading.Lock()
    deadline = time.monotonic() + seconds

    def worker():
        mine = []
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"answered {response.status}")
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
            except (http.client.HTTPException, OSError):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                continue
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return {"rps": len(latencies) / elapsed, "p50": statistics.median(latencies),
            "p99": latencies[int(len(latencies) * 0.99) - 1]}


def cpu_seconds(parents, pids):
    """User+system CPU seconds used so far by the children of `parents` and by `pids` (Linux /proc)."""
    total = 0
    for child in Path("/proc").glob("[0-9]*"):
        try:
            fields = (child / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) in parents or int(child.name) in pids:  # fields[1]: the parent pid
            total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def measure(target, seconds, connections):
    """Load one target for `seconds`: requests/s, p50/p99 latency, and its servers' CPU ms per request."""
    load = load_with_wrk if shutil.which("wrk") else load_with_python
    pids = target["backends"]() if target.get("backends") else ()
    before = cpu_seconds(target["parents"], pids)
    result = load(target["port"], target["path"], target["headers"], seconds, connections)
    used = cpu_seconds(target["parents"], pids) - before
    result["cpu_ms"] = used * 1000 / max(1, result["rps"] * seconds)
    return result


# ---- report -------------------------------------------------------------------------------------------

LABELS = {
    "bare": "bare Flask endpoint, same JSON, no authentication",
    "sqlite_api_key": "Keydesk, `Authorization: ApiKey`, SQLite",
    "sqlite_api_key_limited": "Keydesk, ApiKey with a rate limit (high enough never to refuse), SQLite",
    "sqlite_basic": "Keydesk, `Authorization: Basic` (cached), SQLite",
    "pg_api_key": "Keydesk, `Authorization: ApiKey`, PostgreSQL",
    "pg_basic": "Keydesk, `Authorization: Basic` (cached), PostgreSQL",
    "nginx_open": "nginx → trivial service, no check",
    "nginx_checked": "nginx → trivial service, `auth_request` to Keydesk (PostgreSQL), ApiKey",
}
GOAL_OF = {"sqlite_api_key": "sqlite", "pg_api_key": "postgres", "nginx_checked": "nginx",
           "sqlite_api_key_limited": "rate_limit"}

NOTES = """The ratio is each target's requests/s over its baseline's in the same round (the bare endpoint; for
`auth_request`, nginx without the check; for the rate-limited key, the same key check without a limit), median
over the rounds. "Server CPU" counts the gunicorn workers,
nginx's worker and, for PostgreSQL, the server processes of the scratch database; the load generator shares
the same CPUs, so on this 2-CPU machine throughput is bounded by everyone's CPU per request together.

Where a verified request's time went: cProfile over 5,000 in-process requests to the app (no server, one key),
and a worker profiled under wrk (py-spy); CPU per request measured without the profiler (min of 5 runs, shared
machine). "Before" is the code before issue 14; "one statement" the first round of changes; "now" adds the
check answered in front of Flask (webapp/api/fast_verify.py).

| per ApiKey request | before | one statement | now |
|---|---:|---:|---:|
| app CPU, SQLite (bare Flask app: 46 µs) | 240–250 µs | 120–145 µs | 35 µs |
| app CPU, PostgreSQL (client side) | 460–500 µs | 170–220 µs | 106–112 µs |
| PostgreSQL server CPU | 300–330 µs | 50–60 µs | 50–60 µs |
| throttling: the address's counter (database:// store) | 140 µs via Peewee | in the key statement | same |
| statements sent to PostgreSQL | 3: pool `SELECT 1`, counter, key | 1: key + counter, prepared | 1 |
| Flask's pipeline (request context, 12 hooks, proxies, headers) | ~100 µs | ~95 µs | not run |
| server CPU under wrk: SQLite, PostgreSQL, nginx + check | 0.75, 1.41, 3.16 ms | 0.50, 0.68, 1.42 | 0.27, 0.45, 1.14 |

Under wrk, a worker spent 42 % of its busy time in Flask before the check moved in front of it; the rest was
gunicorn (accept, parse, write, close), which the bare endpoint pays too. What a verified request costs now
beyond the bare endpoint: one statement reading the key, its owner, the API-keys switch and the caller's
address counters (prepared once per connection on PostgreSQL), a SHA-256 of the secret, and a Subject taken
from an in-process cache keyed by those rows' version fields, so nothing goes stale: revocation, a disabled
owner, a role change or switched-off API keys are seen by the very next request on every instance. On
PostgreSQL what is left is that statement's round trip: on this machine a prepared `SELECT 1` takes 76 µs of
wall time and the key statement 102 µs, during which a sync worker waits, plus the server's CPU for it.
Answering without that round trip means a verified-key cache, and no cache can promise revocation at the very
next request on every instance (a LISTEN/NOTIFY invalidation may still be on its way; a version check is the
same round trip again), so PostgreSQL (0.5 of the bare endpoint) and nginx's `auth_request` to it (0.3) stay
below their goals. Basic credentials still go through Flask (bcrypt is cached; the user's rows are read)."""


def summarise(runs, baselines):
    """Medians over the rounds; each ratio is taken per round (measured back to back) first."""
    summary = {}
    for name, rows in runs.items():
        base = runs[baselines[name]]
        summary[name] = {key: statistics.median(row[key] for row in rows) for key in ("rps", "p50", "p99", "cpu_ms")}
        summary[name]["ratio"] = statistics.median(row["rps"] / b["rps"] for row, b in zip(rows, base, strict=True))
        summary[name]["cpu_ratio"] = statistics.median(b["cpu_ms"] for b in base) / summary[name]["cpu_ms"]
        summary[name]["baseline"] = baselines[name]
    return summary


def report(summary, args, tool):
    lines = [
        START,
        f"Measured by `bench/verify.py` on {time.strftime('%Y-%m-%d')}: gunicorn with 2 sync workers for each "
        f"server, loopback, nginx with 1 worker, load from {tool} with {args.connections} connections; "
        f"{args.rounds} rounds of {args.seconds} s per target, the targets measured back to back in each round "
        f"(in rotating order) and every figure the median over the rounds. Machine: {os.cpu_count()} CPUs, "
        "shared by the servers, the load generator and whatever else runs, so single runs vary; the CPU column "
        "varies least. `GET /_security/_authenticate` unless the target says otherwise.",
        "",
        "| target | requests/s | ratio | p50 (ms) | p99 (ms) | server CPU per request (ms) | ratio (CPU) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in summary.items():
        ratio = f"{row['ratio']:.2f}" if row["baseline"] != name else "1.00"
        if name == "nginx_open":
            ratio += " (nginx baseline)"
        lines.append(f"| {LABELS[name]} | {row['rps']:.0f} | {ratio} | {row['p50']:.2f} | {row['p99']:.2f} | "
                     f"{row['cpu_ms']:.3f} | {row['cpu_ratio']:.2f} |")
    verdicts = []
    lines.append("")
    for name, goal in GOAL_OF.items():
        if name in summary:
            met = summary[name]["ratio"] >= GOALS[goal]
            verdicts.append(met)
            lines.append(f"- {LABELS[name]}: {summary[name]['ratio']:.2f} of its baseline (goal ≥ {GOALS[goal]:.2f})"
                         f" — {'met' if met else 'NOT met'}.")
    keyed = [summary[name]["p99"] for name in ("sqlite_api_key", "pg_api_key") if name in summary]
    if keyed:
        verdicts.append(max(keyed) < P99_GOAL_MS)
        lines.append(f"- ApiKey p99 at most {max(keyed):.2f} ms (goal < {P99_GOAL_MS:.0f} ms) — "
                     f"{'met' if max(keyed) < P99_GOAL_MS else 'NOT met'}.")
    if "nginx_checked" in summary:
        checked, open_ = summary["nginx_checked"], summary["nginx_open"]
        lines.append(f"- The `auth_request` check adds {checked['p50'] - open_['p50']:.2f} ms at p50 and "
                     f"{checked['p99'] - open_['p99']:.2f} ms at p99.")
    lines += ["", NOTES, END]
    return "\n".join(lines), all(verdicts)


def write_report(section):
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if START in text and END in text:
        text = text[:text.index(START)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n## Verification speed\n\n" + section + "\n"
    DOC.write_text(text)


# ---- the run ------------------------------------------------------------------------------------------

def start_servers(workdir, admin_dsn, servers):
    """Start everything; the targets to load, each with its port, path, headers and the processes it uses."""
    sqlite_env = keydesk_env(workdir / "sqlite", f"sqlite:///{workdir / 'sqlite' / 'keydesk.sqlite3'}")
    pg_url = scratch_postgres(admin_dsn)
    pg_env = keydesk_env(workdir / "pg", pg_url)
    proxied_env = keydesk_env(workdir / "pg", pg_url, KEYDESK_PROXY_HOPS="1", KEYDESK_TRUSTED_PROXIES="127.0.0.1",
                              KEYDESK_PROXY_USER_HEADER="X-Remote-User")
    for env in (sqlite_env, pg_env):
        Path(env["KEYDESK_INSTANCE_PATH"]).mkdir()
        init_db(env)
    ports = {name: free_port() for name in ("sqlite", "pg", "proxied", "bare", "nginx")}
    for name, env in (("sqlite", sqlite_env), ("pg", pg_env), ("proxied", proxied_env)):
        servers[name] = gunicorn("wsgi:app", ports[name], env, ROOT)
    for name in ("sqlite", "pg", "proxied"):
        wait_until_up(ports[name], "/healthz")

    basic = {"Authorization": "Basic " + base64.b64encode(f"elastic:{PASSWORD}".encode()).decode()}
    keys = {name: {"Authorization": "ApiKey " + request_json(ports[name], "POST", "/_security/api_key", basic,
                                                             {"name": "bench"})["encoded"]}
            for name in ("sqlite", "pg")}
    limited = request_json(ports["sqlite"], "POST", "/_security/api_key", basic, {"name": "bench-limited"})
    request_json(ports["sqlite"], "PUT", f"/_keydesk/api_key/{limited['id']}/_rate_limit", basic,
                 {"rate_limit": {"requests": 1_000_000, "per": "1s"}})  # counted on every request, never reached
    keys["sqlite_limited"] = {"Authorization": "ApiKey " + limited["encoded"]}
    body = request_json(ports["sqlite"], "GET", "/_security/_authenticate", keys["sqlite"])
    bare_env = {**os.environ, "KEYDESK_BENCH_BODY": json.dumps(body, separators=(",", ":"))}
    servers["bare"] = gunicorn("verify:bare_app", ports["bare"], bare_env, ROOT / "bench")
    wait_until_up(ports["bare"], "/_security/_authenticate")

    if not os.access(NGINX, os.X_OK):
        raise RuntimeError(f"nginx not found at {NGINX}: apt-get install -y nginx-light")
    config = workdir / "nginx.conf"
    config.write_text(nginx_config(workdir, ports["nginx"], ports["proxied"], ports["bare"]))
    subprocess.run([NGINX, "-t", "-q", "-p", str(workdir), "-c", str(config)], check=True)
    servers["nginx"] = spawn([NGINX, "-p", str(workdir), "-c", str(config), "-g", "daemon off;"])
    wait_until_up(ports["nginx"], "/open-app/")

    def pid(name):
        return servers[name].pid

    def backends():
        return postgres_backends(admin_dsn)

    path = "/_security/_authenticate"
    return {
        "bare": {"port": ports["bare"], "path": path, "headers": {}, "parents": {pid("bare")}},
        "sqlite_api_key": {"port": ports["sqlite"], "path": path, "headers": keys["sqlite"],
                           "parents": {pid("sqlite")}},
        "sqlite_api_key_limited": {"port": ports["sqlite"], "path": path, "headers": keys["sqlite_limited"],
                                   "parents": {pid("sqlite")}},
        "sqlite_basic": {"port": ports["sqlite"], "path": path, "headers": basic, "parents": {pid("sqlite")}},
        "pg_api_key": {"port": ports["pg"], "path": path, "headers": keys["pg"], "parents": {pid("pg")},
                       "backends": backends},
        "pg_basic": {"port": ports["pg"], "path": path, "headers": basic, "parents": {pid("pg")},
                     "backends": backends},
        "nginx_open": {"port": ports["nginx"], "path": "/open-app/", "headers": {},
                       "parents": {pid("nginx"), pid("bare")}},
        "nginx_checked": {"port": ports["nginx"], "path": "/internal-app/", "headers": keys["pg"],
                          "parents": {pid("nginx"), pid("bare"), pid("proxied")}, "backends": backends},
    }


# The limited key's baseline is the same key check without a limit: its ratio is what the limit costs (goal ≥ 0.90).
BASELINES = {"bare": "bare", "sqlite_api_key": "bare", "sqlite_api_key_limited": "sqlite_api_key",
             "sqlite_basic": "bare", "pg_api_key": "bare", "pg_basic": "bare", "nginx_open": "nginx_open",
             "nginx_checked": "nginx_open"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--postgres", default=os.environ.get("KEYDESK_TEST_PG_ADMIN",
                                                             "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="an administrator's URL: the scratch database keydesk_bench is created beside it")
    parser.add_argument("--no-write", action="store_true", help="print the numbers, leave docs/ alone")
    parser.add_argument("--only", help="comma-separated targets to load (with their baselines), e.g. "
                                       "sqlite_api_key,pg_api_key; implies --no-write")
    args = parser.parse_args()
    if args.only:
        args.no_write = True

    workdir = Path(tempfile.mkdtemp(prefix="keydesk-verify-"))
    servers = {}
    try:
        targets = start_servers(workdir, args.postgres, servers)
        if args.only:
            wanted = set(args.only.split(","))
            targets = {name: target for name, target in targets.items()
                       if name in wanted or name in {BASELINES[w] for w in wanted}}
        for target in targets.values():  # warm-up: caches, pooled connections, the Basic credential
            measure(target, 2, args.connections)
        runs = {name: [] for name in targets}
        order = list(targets)
        for number in range(args.rounds):  # back to back, rotating, so a noisy neighbour hits all alike
            shift = number % len(order)
            for name in order[shift:] + order[:shift]:
                runs[name].append(measure(targets[name], args.seconds, args.connections))
    finally:
        for process in servers.values():
            stop(process)
        try:
            scratch_postgres(args.postgres, drop_only=True)
        except Exception as error:  # noqa: BLE001  (report it, but keep the numbers)
            print(f"could not drop {SCRATCH_DATABASE}: {error}", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)
    section, met = report(summarise(runs, BASELINES), args, "wrk" if shutil.which("wrk") else "a Python client")
    print(section)
    if not args.no_write:
        write_report(section)
        print(f"\nwritten to {DOC.relative_to(ROOT)}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
