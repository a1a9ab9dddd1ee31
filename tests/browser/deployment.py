"""A real deployment for end-to-end tests: nginx (docs/nginx/keydesk.conf) in front of two gunicorn
instances sharing one PostgreSQL database, plus a dummy internal service behind auth_request."""

import base64
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import closing
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PG_ADMIN_DSN = os.environ.get("KEYDESK_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
E2E_DATABASE = "keydesk_e2e"


def free_port():
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_postgres_database(name):
    """Drop and create a scratch database; fails loudly when PostgreSQL isn't running."""
    try:
        connection = psycopg2.connect(PG_ADMIN_DSN, connect_timeout=5)
    except psycopg2.OperationalError as error:
        raise RuntimeError(
            f"PostgreSQL is needed for this test and is not reachable at {PG_ADMIN_DSN}: {error}. "
            "Start it (.ci/run does) or set KEYDESK_TEST_PG_ADMIN."
        ) from error
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {name}")
    connection.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    return f"{base}/{name}"


class DummyService(http.server.BaseHTTPRequestHandler):
    """The internal app behind auth_request: says who nginx says the caller is."""

    def do_GET(self):
        body = json.dumps({"service": "internal-app", "user": self.headers.get("X-Keydesk-User"),
                           "key_id": self.headers.get("X-Keydesk-Api-Key-Id")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def wait_for(url, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


# Protected locations written wrongly, as a copy of the example might be: one asking for no privilege at all
# (no $keydesk_require), one asking only for `none`, one naming `none` beside a real privilege. The example's
# check must refuse each, whatever the key grants.
MISCONFIGURED = {"/no-requirement/": None, "/privilege-none/": "privilege=none",
                 "/index-privilege-none/": "index=internal-app&index_privilege=none",
                 "/none-and-more/": "privilege=none&index=internal-app&index_privilege=read"}


def misconfigured_locations(service_port):
    blocks = []
    for path, require in MISCONFIGURED.items():
        setting = f'        set $keydesk_require "{require}";\n' if require else ""
        blocks.append(f"    location {path} {{\n{setting}        auth_request /_keydesk_check;\n"
                      f"        proxy_pass http://127.0.0.1:{service_port}/;\n    }}\n\n")
    return "".join(blocks)


def render_nginx_config(workdir, instance_ports, nginx_ports, service_port):
    """Two server blocks from the documented config, each pinned to one instance, in one nginx."""
    template = (ROOT / "docs/nginx/keydesk.conf").read_text()
    servers = []
    for name, instance_port, nginx_port in zip("ab", instance_ports, nginx_ports, strict=True):
        block = template.replace("keydesk_backend", f"keydesk_{name}")
        block = block.replace("    server 127.0.0.1:8001;\n    server 127.0.0.1:8002;\n",
                              f"    server 127.0.0.1:{instance_port};\n")
        block = block.replace("listen 8080;", f"listen 127.0.0.1:{nginx_port};")
        block = block.replace("http://127.0.0.1:9000/", f"http://127.0.0.1:{service_port}/")
        check = "    # The check nginx makes"
        block = block.replace(check, misconfigured_locations(service_port) + check)
        servers.append(block)
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {workdir}/access.log;
    client_body_temp_path {workdir}/client_body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    # Stands in for single sign-on: the test browser names its user in X-E2E-User.
    map $http_x_e2e_user $keydesk_remote_user {{ default $http_x_e2e_user; }}
{''.join(servers)}
}}
"""


class Deployment:
    """Start everything; `url_a`/`url_b` are nginx's two fronts (/keydesk/ on instance A and B)."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.processes = []
        self.password = "e2e-elastic-password"

    def start(self):
        if not os.access(NGINX, os.X_OK):
            raise RuntimeError(f"nginx not found at {NGINX}: install it with `apt-get install -y nginx-light`")
        database_url = fresh_postgres_database(E2E_DATABASE)
        instance_ports = [free_port(), free_port()]
        nginx_ports = [free_port(), free_port()]
        env = dict(os.environ, KEYDESK_DATABASE_URL=database_url, KEYDESK_SECRET_KEY="e2e-shared-secret",
                   KEYDESK_INSTANCE_PATH=str(self.workdir), KEYDESK_BOOTSTRAP_PASSWORD=self.password,
                   KEYDESK_PROXY_HOPS="1", KEYDESK_TRUSTED_PROXIES="127.0.0.1/32",
                   KEYDESK_PROXY_USER_HEADER="X-Remote-User",
                   KEYDESK_PROXY_DEFAULT_ROLES="api_key_user,internal_app_user")
        bin_dir = Path(sys.executable).parent
        subprocess.run([str(bin_dir / "flask"), "--app", "wsgi", "init-db"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        for port in instance_ports:
            self._spawn([str(bin_dir / "gunicorn"), "--workers", "1", "--threads", "4", "--bind",
                         f"127.0.0.1:{port}", "wsgi:app"], env)
        service = http.server.ThreadingHTTPServer(("127.0.0.1", 0), DummyService)
        threading.Thread(target=service.serve_forever, daemon=True).start()
        self.service = service
        for port in instance_ports:
            wait_for(f"http://127.0.0.1:{port}/healthz")
        self._internal_app_role(instance_ports[0])
        config = self.workdir / "nginx.conf"
        config.write_text(render_nginx_config(self.workdir, instance_ports, nginx_ports,
                                              service.server_address[1]))
        check = subprocess.run([NGINX, "-t", "-p", str(self.workdir), "-c", str(config)], capture_output=True,
                               text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx rejected the configuration:\n{check.stderr}")
        self._spawn([NGINX, "-p", str(self.workdir), "-c", str(config), "-g", "daemon off;"], env)
        self.url_a = f"http://127.0.0.1:{nginx_ports[0]}"
        self.url_b = f"http://127.0.0.1:{nginx_ports[1]}"
        wait_for(f"{self.url_a}/keydesk/healthz")
        wait_for(f"{self.url_b}/keydesk/healthz")
        return self

    def _internal_app_role(self, port):
        """The role the example's /internal-app/ asks of a key: read on the index internal-app."""
        body = json.dumps({"indices": [{"names": ["internal-app"], "privileges": ["read"]}]}).encode()
        credential = base64.b64encode(f"elastic:{self.password}".encode()).decode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/_security/role/internal_app_user", data=body,
                                         method="PUT", headers={"Content-Type": "application/json",
                                                                "Authorization": f"Basic {credential}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200

    def _spawn(self, command, env):
        with open(self.workdir / f"{Path(command[0]).name}-{len(self.processes)}.log", "wb") as log:
            self.processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                                   stderr=subprocess.STDOUT, start_new_session=True))

    def stop(self):
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        if getattr(self, "service", None):
            self.service.shutdown()
            self.service.server_close()
