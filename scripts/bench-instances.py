#!/usr/bin/env python3
"""What several instances on one PostgreSQL database cost (docs/scaling.md, issue 12), as ratios to
floors measured in the same run, alternating floor and subject runs as scripts/bench.py does.

  (1) verify through nginx (`auth_request`, an upstream kept alive) with three instances on PostgreSQL
      behind the upstream ÷ the same with one instance on PostgreSQL
  (2) verify through nginx with one instance on PostgreSQL ÷ one instance on SQLite (what the
      PostgreSQL store costs on the verify path, which answers from memory)
  (3) successful form logins a second (password and TOTP code, each login its own user, so no code
      is a replay) through nginx with three instances ÷ one instance, both on PostgreSQL: every
      login writes under the store's one write lock
  (4) the same logins with one instance on PostgreSQL ÷ one instance on SQLite

The instances of PostgreSQL share one database (a database of their own in the cluster named by
PORTCULLIS_TEST_POSTGRES, or a throw-away cluster started here) and one storage key. For a
one-instance run the other two instances are stopped, and started again (and shown each session once)
before a three-instance run, so the floor is one instance alone. Every server listens on 127.0.0.1.

Verify runs are wrk -t2 -c64 through nginx with requests spread over several sessions (made by form
logins before measuring; scripts/lib/bench-cookies.lua picks one per request). Login runs are a
closed loop of --login-clients clients through nginx's portal server (its upstream kept alive), each
login from an address of its own (X-Forwarded-For, passed on by nginx; Portcullis trusts 127.0.0.1). CPU per request is
the user + system time of nginx, the running instances and (for PostgreSQL) every PostgreSQL process.

--quick: second-long runs, to keep the script working (CI); its figures are not measurements.

Usage: scripts/bench-instances.py --bin PATH [--quick] [--seconds N] [--repeats N] [--output FILE]
"""
import argparse
import base64
import collections
import datetime
import http.client
import os
import platform
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "lib"))
import nginx as nginxlib  # noqa: E402
from benchkit import Failure, build_kind, expect, interrupt, log, rate_text, request, wrk_version  # noqa: E402
import procfs  # noqa: E402
import wrk  # noqa: E402
from portcullis import Server, totp  # noqa: E402

COOKIE_SCRIPT = os.path.join(HERE, "lib", "bench-cookies.lua")
CLUSTER_SCRIPT = os.path.join(HERE, "lib", "postgres-cluster.sh")
SHIPPED_UPSTREAM = os.path.join(ROOT, "deploy", "nginx", "portcullis-instances.conf")
POSTGRES_PORTS, SQLITE_PORT = [19561, 19562, 19563], 19564
VERIFY_THREE, VERIFY_ONE, VERIFY_SQLITE = 19571, 19572, 19573
PORTAL_THREE, PORTAL_ONE, PORTAL_SQLITE = 19574, 19575, 19576
THREADS, CONNECTIONS = 2, 64
PASSWORD = "bench instances password"
APP = {"Host": "app.example.com"}
PROTECTED = "/dashboard?x=1"


# MARK: PostgreSQL


class Cluster:
    """A database of our own in the test cluster (PORTCULLIS_TEST_POSTGRES) or in a throw-away
    cluster started here; dropped, or the cluster stopped and removed, by close()."""

    def __init__(self):
        self.folder = os.environ.get("PORTCULLIS_TEST_POSTGRES")
        self.own = not self.folder
        if self.own:
            self.folder = tempfile.mkdtemp(prefix="portcullis-bench-pg-")
            log(f"starting a throw-away PostgreSQL cluster in {self.folder}")
            subprocess.run(["bash", CLUSTER_SCRIPT, "start", self.folder], check=True)
        self.database = f"bench_instances_{os.getpid()}"
        self.psql(f"CREATE DATABASE {self.database}")

    def psql(self, statement):
        completed = subprocess.run(["psql", "-h", self.folder, "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
                                    "-qAtc", statement], capture_output=True, text=True)
        if completed.returncode != 0:
            raise Failure(f"psql {statement!r}: {completed.stderr.strip()}")
        return completed.stdout.strip()

    def environment(self):
        return {"PORTCULLIS_STORAGE_POSTGRES_HOST": self.folder, "PORTCULLIS_STORAGE_POSTGRES_USERNAME": "postgres",
                "PORTCULLIS_STORAGE_POSTGRES_DATABASE": self.database, "PORTCULLIS_STORAGE_POSTGRES_TLS": "disable"}

    def pids(self):
        """The postmaster and every process it started (backends, writers, autovacuum)."""
        with open(os.path.join(self.folder, "data", "postmaster.pid")) as file:
            postmaster = int(file.readline())
        return [postmaster] + procfs.children(postmaster)

    def version(self):
        return self.psql("SHOW server_version").split()[0]

    def close(self):
        try:
            self.psql(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
        except Failure as failure:
            log(f"bench-instances: {failure}")
        if self.own:
            subprocess.run(["bash", CLUSTER_SCRIPT, "stop", self.folder])


# MARK: Servers


class Store:
    """The servers on one store and its users: a pool of users nobody has logged in as yet."""

    def __init__(self, name, servers):
        self.name, self.servers = name, servers
        self.users, self.next_user, self.lock = [], 0, threading.Lock()
        self.sessions = []

    def import_users(self, binary_hash, count, work):
        """`count` users with the password PASSWORD (one scrypt hash, computed once, for all) and a
        TOTP device each, in one import (mod_authn_otp's users file, `+` PINs from an htpasswd file)."""
        users_file, htpasswd = os.path.join(work, f"{self.name}-users"), os.path.join(work, f"{self.name}-htpasswd")
        users = []
        with open(users_file, "w") as tokens, open(htpasswd, "w") as hashes:
            for index in range(count):
                name, key = f"bench{index:06d}", os.urandom(20)
                tokens.write(f"HOTP/T30 {name} + {key.hex()}\n")
                hashes.write(f"{name}:{binary_hash}\n")
                users.append((name, base64.b32encode(key).decode().rstrip("=")))
        started = time.perf_counter()
        self.servers[0].cli("import", "mod-authn-otp", users_file, "--pins-htpasswd", htpasswd)
        self.import_seconds = time.perf_counter() - started
        self.users = users

    def take(self):
        with self.lock:
            if self.next_user >= len(self.users):
                return None
            self.next_user += 1
            return self.next_user - 1, self.users[self.next_user - 1]

    def left(self):
        return len(self.users) - self.next_user

    def running(self):
        return [server for server in self.servers if server.process and server.process.poll() is None]

    def use(self, count):
        """Instances 1 to `count` running, the others stopped; one started here is shown every
        session once, so that a run does not begin with its first-sight store reads."""
        for index, server in enumerate(self.servers):
            alive = server.process is not None and server.process.poll() is None
            if index < count and not alive:
                server.start(poll=0.02)
                for session in self.sessions:
                    expect(f"{self.name} instance {index + 1}: a session after start", server.verify(session), 200)
            elif index >= count and alive:
                server.process.terminate()
                try:
                    server.process.wait(10)
                except subprocess.TimeoutExpired:
                    server.process.kill()
                    server.process.wait()


def cpu_snapshot(pids):
    times = {}
    for pid in pids:
        try:
            times[pid] = procfs.cpu_seconds(pid)
        except (OSError, ValueError, IndexError):
            pass  # gone meanwhile
    return times


# MARK: Measuring


class Result:
    def __init__(self, rate, requests, errors, socket_errors, cpu_seconds, p99=None, detail=""):
        self.rate, self.requests, self.errors, self.socket_errors = rate, requests, errors, socket_errors
        self.cpu = cpu_seconds / max(requests, 1)
        self.p99, self.detail = p99, detail


class Target:
    """One side of a figure: which instances run, what a run is, and whose CPU time it costs."""

    def __init__(self, name, store, instances, pids, run, extra_pids=lambda: []):
        self.name, self.store, self.instances = name, store, instances
        self.fixed_pids, self.extra_pids, self.runner = pids, extra_pids, run

    def run(self, seconds):
        self.store.use(self.instances)
        running = self.store.running()

        def pids():
            return self.fixed_pids() + [server.pid for server in running] + self.extra_pids()

        before = cpu_snapshot(pids())
        result = self.runner(seconds)
        after = cpu_snapshot(pids())
        # Processes that started during the run (PostgreSQL backends of new connections) count from 0.
        cpu = sum(after[pid] - before.get(pid, 0) for pid in after)
        for server in running:
            if server.process.poll() is not None:
                raise Failure(f"{self.name}: the instance on port {server.port} died during the run")
        if result["requests"] == 0:
            raise Failure(f"{self.name}: no request was made")
        measured = Result(cpu_seconds=cpu, **result)
        log(f"    {self.name}: {describe(measured)}")
        return measured


def verify_run(port, cookies):
    def run(seconds):
        result = wrk.run(f"http://127.0.0.1:{port}{PROTECTED}", seconds, APP, COOKIE_SCRIPT, {"BENCH_COOKIES": cookies},
                         THREADS, CONNECTIONS)
        return dict(rate=result.rate, requests=result.requests, errors=result.errors,
                    socket_errors=sum(result.socket_errors.values()), p99=result.p99)
    return run


def post_login(connection, form, index, user):
    """One form login of a fresh user (name, TOTP secret) from an address of its own; the status."""
    (cookie, token), (name, secret) = form, user
    body = urllib.parse.urlencode({"csrf": token, "username": name, "password": PASSWORD, "code": totp(secret)})
    connection.request("POST", "/login", body=body, headers={
        "Host": "auth.example.com", "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded",
        "X-Forwarded-For": f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"})
    response = connection.getresponse()
    response.read()
    return response.status


def login_run(port, store, clients, form):
    """Closed loop: `clients` threads log in through nginx one after another until the time is up
    or the store has no fresh user left; the rate is successful logins (303) per second."""

    def run(seconds):
        statuses, lock = collections.Counter(), threading.Lock()
        deadline = time.perf_counter() + seconds
        ran_out = threading.Event()

        def client():
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                while time.perf_counter() < deadline:
                    taken = store.take()
                    if taken is None:
                        ran_out.set()
                        return
                    try:
                        status = post_login(connection, form, *taken)
                    except (OSError, http.client.HTTPException) as error:
                        status = type(error).__name__
                        connection.close()
                        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    with lock:
                        statuses[status] += 1
            finally:
                connection.close()

        began = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        succeeded = statuses.get(303, 0)
        attempts = sum(statuses.values())
        detail = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items(), key=lambda item: str(item[0])))
        if ran_out.is_set():
            detail += f"; ran out of fresh users after {elapsed:.1f} s"
        return dict(rate=succeeded / elapsed, requests=attempts, errors=attempts - succeeded,
                    socket_errors=sum(count for status, count in statuses.items() if isinstance(status, str)), detail=detail)
    return run


class Row:
    def __init__(self, measure, unit):
        self.measure, self.unit = measure, unit
        self.floors, self.subjects = [], []

    def ratios(self):
        return [subject.rate / floor.rate for floor, subject in zip(self.floors, self.subjects)]

    def cell(self, results):
        rate = statistics.median(result.rate for result in results)
        cpu = statistics.median(result.cpu for result in results)
        if self.unit == "logins":
            text = f"{rate:.1f} logins/s, {cpu * 1e3:.1f} ms CPU"
        else:
            text = f"{rate_text(rate)}, {cpu * 1e6:.1f} µs CPU"
        errors = sum(result.errors for result in results)
        socket_errors = sum(result.socket_errors for result in results)
        if errors:
            text += f", {errors} " + ("failed" if self.unit == "logins" else "non-2xx")
        if socket_errors:
            text += f", {socket_errors} socket errors"
        return text

    def line(self):
        ratios = self.ratios()
        return (f"| {self.measure} | {self.cell(self.subjects)} | {self.cell(self.floors)} "
                f"| {statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f}) |")


def describe(result):
    if result.p99 is not None:
        text = f"{rate_text(result.rate)} p99 {result.p99 * 1e3:.2f} ms {result.cpu * 1e6:.1f} µs CPU"
    else:
        text = f"{result.rate:.1f}/s {result.cpu * 1e3:.1f} ms CPU"
    if result.errors:
        text += f" errors {result.errors}"
    return text + (f" ({result.detail})" if result.detail else "")


def alternate(row, floor, subject, settings):
    """A warm-up of each side, then floor and subject in turn `repeats` times."""
    log(f"{row.measure}")
    floor.run(settings.warmup)
    subject.run(settings.warmup)
    for _ in range(settings.repeats):
        floor_result = floor.run(settings.seconds)
        subject_result = subject.run(settings.seconds)
        row.floors.append(floor_result)
        row.subjects.append(subject_result)
    return row


# MARK: The run


def shipped_upstream(name, ports):
    """deploy/nginx/portcullis-instances.conf as shipped, named `name`, with its three servers
    (127.0.0.1:9091, :9092, :9093) replaced by `ports`."""
    with open(SHIPPED_UPSTREAM) as file:
        lines = [line for line in file.read().splitlines() if line.strip() and not line.strip().startswith("#")]
    servers = [line for line in lines if line.strip().startswith("server 127.0.0.1:909")]
    if len(servers) != 3 or not any(line.strip() == "upstream portcullis_instances {" for line in lines):
        raise Failure(f"{SHIPPED_UPSTREAM} no longer has the upstream portcullis_instances of three servers: update this script")
    text = []
    for line in lines:
        if line in servers:
            index = servers.index(line)
            if index < len(ports):
                text.append(line.replace(f"127.0.0.1:{9091 + index}", f"127.0.0.1:{ports[index]}"))
        else:
            text.append(line.replace("upstream portcullis_instances", f"upstream {name}"))
    return "\n".join("    " + line for line in text)


def portal_server(port, upstream):
    """deploy/nginx/portcullis-site.conf's portal server, but passing on the client's
    X-Forwarded-For (as behind a TLS terminator that sets it), so logins come from many addresses,
    and with the upstream kept alive (HTTP/1.1), as the verify location is. (As shipped, nginx proxies
    the portal with HTTP/1.0 and `Connection: close`; on 2026-12-01 that made some of the concurrent
    logins end in 502, "upstream prematurely closed connection", which would be counted here as
    failed logins rather than measure what a login costs.)"""
    return f"""
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}"""


def nginx_http_block():
    block = "    keepalive_timeout 75s;\n    keepalive_requests 1000000;\n"
    block += "\n".join(shipped_upstream(name, ports) for name, ports in (
        ("portcullis_three", POSTGRES_PORTS), ("portcullis_one", POSTGRES_PORTS[:1]), ("portcullis_sqlite", [SQLITE_PORT])))
    for verify_port, portal_port, upstream in ((VERIFY_THREE, PORTAL_THREE, "portcullis_three"),
                                               (VERIFY_ONE, PORTAL_ONE, "portcullis_one"),
                                               (VERIFY_SQLITE, PORTAL_SQLITE, "portcullis_sqlite")):
        block += nginxlib.auth_request_server(verify_port, upstream, "/api/authz/auth-request")
        block += portal_server(portal_port, upstream)
    return block


def login_form(binary, port):
    """The CSRF cookie and token of a login page served through nginx (one pair serves every login)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        return Server.attach(binary, port).login_form(connection)
    finally:
        connection.close()


def measure(settings, work, report):
    storage_key = base64.b64encode(os.urandom(32)).decode()
    cluster = Cluster()
    report.postgres = cluster.version()
    try:
        env = dict(cluster.environment(), PORTCULLIS_STORAGE_ENCRYPTION_KEY=storage_key)
        postgres_servers = [Server(settings.binary, port=port, env=env) for port in POSTGRES_PORTS]
        sqlite_server = Server(settings.binary, port=SQLITE_PORT)
        try:
            postgres = Store("postgres", postgres_servers)
            sqlite = Store("sqlite", [sqlite_server])
            password_hash = sqlite_server.cli("hash-password", "--password-stdin", stdin=PASSWORD + "\n").strip()
            for store, count in ((postgres, 2 * settings.login_users + settings.sessions), (sqlite, settings.login_users + settings.sessions)):
                store.import_users(password_hash, count, work)
                log(f"{store.name}: imported {count} users with a TOTP device each in {store.import_seconds:.1f} s")
            report.users = (len(postgres.users), len(sqlite.users))

            for store in (postgres, sqlite):
                for server in store.servers:
                    server.start(poll=0.02)
                # The sessions verify spreads its requests over, from form logins on each instance.
                for number in range(settings.sessions):
                    index, (name, secret) = store.take()
                    server = store.servers[number % len(store.servers)]
                    store.sessions.append(server.log_in(name, PASSWORD, secret, forwarded_for=f"192.0.2.{number % 250 + 1}"))
                cookies = os.path.join(work, f"cookies-{store.name}.txt")
                with open(cookies, "w") as file:
                    file.write("\n".join(store.sessions) + "\n")
                store.cookies = cookies
                for server in store.servers:
                    for session in store.sessions:
                        expect(f"{store.name}: a session on port {server.port}", server.verify(session), 200)

            nginx_folder = os.path.join(work, "nginx")
            os.makedirs(nginx_folder)
            with nginxlib.Nginx(nginx_folder, nginx_http_block()) as nginx:
                nginx.start([VERIFY_THREE, VERIFY_ONE, VERIFY_SQLITE, PORTAL_THREE, PORTAL_ONE, PORTAL_SQLITE])
                report.nginx_workers = len(nginx.workers)
                for port, store in ((VERIFY_THREE, postgres), (VERIFY_ONE, postgres), (VERIFY_SQLITE, sqlite)):
                    cookie = {"Cookie": f"portcullis_session={store.sessions[0]}"}
                    expect(f"nginx :{port} with a session", request(port, PROTECTED, {**APP, **cookie}), 204)
                    expect(f"nginx :{port} without a session (the location is protected)", request(port, PROTECTED, APP), 401)
                forms = {}
                for port, store in ((PORTAL_THREE, postgres), (PORTAL_ONE, postgres), (PORTAL_SQLITE, sqlite)):
                    forms[port] = login_form(settings.binary, port)
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    expect(f"nginx :{port}: a form login", post_login(connection, forms[port], *store.take()), 303)
                    connection.close()

                nginx_pids = nginx.pids
                three_verify = Target("3 × PostgreSQL", postgres, 3, nginx_pids, verify_run(VERIFY_THREE, postgres.cookies), cluster.pids)
                one_verify = Target("1 × PostgreSQL", postgres, 1, nginx_pids, verify_run(VERIFY_ONE, postgres.cookies), cluster.pids)
                sqlite_verify = Target("1 × SQLite", sqlite, 1, nginx_pids, verify_run(VERIFY_SQLITE, sqlite.cookies))
                report.rows.append(alternate(Row("(1) verify through nginx: 3 instances on PostgreSQL ÷ 1 instance on PostgreSQL", "requests"),
                                             one_verify, three_verify, settings))
                report.rows.append(alternate(Row("(2) verify through nginx: 1 instance on PostgreSQL ÷ 1 instance on SQLite", "requests"),
                                             sqlite_verify, one_verify, settings))

                clients = settings.login_clients
                three_login = Target("3 × PostgreSQL logins", postgres, 3, nginx_pids,
                                     login_run(PORTAL_THREE, postgres, clients, forms[PORTAL_THREE]), cluster.pids)
                one_login = Target("1 × PostgreSQL logins", postgres, 1, nginx_pids,
                                   login_run(PORTAL_ONE, postgres, clients, forms[PORTAL_ONE]), cluster.pids)
                sqlite_login = Target("1 × SQLite logins", sqlite, 1, nginx_pids,
                                      login_run(PORTAL_SQLITE, sqlite, clients, forms[PORTAL_SQLITE]))
                report.rows.append(alternate(Row("(3) form logins through nginx: 3 instances on PostgreSQL ÷ 1 instance on PostgreSQL", "logins"),
                                             one_login, three_login, settings))
                report.rows.append(alternate(Row("(4) form logins through nginx: 1 instance on PostgreSQL ÷ 1 instance on SQLite", "logins"),
                                             sqlite_login, one_login, settings))
                report.details = [(row.measure, side, result.detail) for row in report.rows[2:]
                                  for side, results in (("floor", row.floors), ("subject", row.subjects)) for result in results]
                report.users_left = (postgres.left(), sqlite.left())
                errors = nginx.log()
                # (try_files's stat() of /nonexistent may be refused in a private temporary folder: it answers 204 all the same.)
                report.nginx_errors = [line for line in errors.splitlines() if ("[error]" in line or "[crit]" in line)
                                       and "/nonexistent" not in line]
        finally:
            for server in postgres_servers + [sqlite_server]:
                server.__exit__(None, None, None)
    finally:
        cluster.close()


class Report:
    def __init__(self):
        self.rows, self.details, self.nginx_errors = [], [], []

    def text(self, settings, started):
        lines = [
            "## Portcullis instances benchmark" + (" (--quick: a functional run, not a measurement)" if settings.quick else ""),
            "",
            f"- command: `{settings.command}`",
            f"- date: {started.strftime('%Y-%m-%d %H:%M UTC')}, took {time.time() - started.timestamp():.0f} s",
            f"- machine: {os.cpu_count()} × {procfs.cpu_model()}, {platform.system()} {platform.release()}, "
            f"load average at start {settings.load_at_start}",
            f"- build: {settings.build} (`{settings.binary}`)",
            f"- PostgreSQL {self.postgres} (Unix socket, fsync off), nginx {nginxlib.version()} with `worker_processes auto` "
            f"({self.nginx_workers} workers) and the upstream of deploy/nginx/portcullis-instances.conf",
            f"- verify: wrk {wrk_version()} -t{THREADS} -c{CONNECTIONS} through nginx `auth_request`, requests spread over "
            f"{settings.sessions} sessions; logins: {settings.login_clients} clients in a closed loop through nginx, each login "
            f"a user of its own from an address of its own; {settings.seconds} s a run, {settings.repeats} pairs alternating "
            f"floor and subject after a {settings.warmup} s warm-up of each",
            "",
            "| measure | subject | floor | ratio (min–max) |",
            "| --- | --- | --- | --- |",
        ]
        lines += [row.line() for row in self.rows]
        lines += [
            "",
            "Ratios are subject ÷ floor per pair: the median, then the spread. CPU is user + system time per request "
            "(per successful login for logins) of nginx, the running instances and, on PostgreSQL, every PostgreSQL process "
            f"(/proc). Every process shares the machine's {os.cpu_count()} cores with wrk or the login clients.",
        ]
        # Login runs whose answers were not all 303, or that ran out of fresh users.
        odd = [f"{measure.split(':')[0]} {side}: {detail}" for measure, side, detail in self.details
               if "," in detail or ";" in detail or not detail.startswith("303: ")]
        lines.append("")
        lines.append(f"- users: {self.users[0]} in PostgreSQL, {self.users[1]} in SQLite (each with a TOTP device; "
                     f"the password hash computed once for all); left unused at the end: {self.users_left[0]} and {self.users_left[1]}")
        lines += [f"- {line}" for line in odd]
        if self.nginx_errors:
            lines.append(f"- nginx logged {len(self.nginx_errors)} errors, the last: `{self.nginx_errors[-1][:300]}`")
        return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", dest="binary", default=os.environ.get("PORTCULLIS_BINARY"), help="the portcullis binary")
    parser.add_argument("--quick", action="store_true", help="second-long runs: checks that everything runs")
    parser.add_argument("--seconds", type=int, help="seconds a measured run lasts (default 10; --quick 1)")
    parser.add_argument("--repeats", type=int, help="floor/subject pairs per figure (default 3; --quick 2)")
    parser.add_argument("--sessions", type=int, default=16, help="sessions verify requests are spread over (default 16)")
    parser.add_argument("--login-clients", type=int, default=8, help="concurrent login clients (default 8)")
    parser.add_argument("--login-users", type=int,
                        help="fresh users for each side of the login figures (default: 100 logins/s for every second of login runs)")
    parser.add_argument("--output", help="also write the report to this file")
    settings = parser.parse_args()
    if not settings.binary:
        parser.error("--bin (or PORTCULLIS_BINARY) is required")
    for tool in ("wrk", "psql"):
        if not shutil.which(tool):
            parser.error(f"{tool} is not installed")
    if not nginxlib.binary():
        parser.error("nginx is not installed")
    settings.binary = os.path.abspath(settings.binary)
    quick = settings.quick
    settings.seconds = settings.seconds or (1 if quick else 10)
    settings.repeats = max(2, settings.repeats or (2 if quick else 3))
    settings.warmup = 1 if quick else 2
    # A side of (3) or (4) logs in at most this many users: its warm-up and its runs, at up to 100 a second.
    settings.login_users = settings.login_users or 100 * (settings.warmup + settings.seconds * settings.repeats)
    settings.command = os.environ.get("BENCH_COMMAND") or " ".join(shlex.quote(word) for word in sys.argv)
    settings.build = build_kind(settings.binary)
    settings.load_at_start = procfs.load_average()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 1 << 20, hard))
    signal.signal(signal.SIGTERM, interrupt)

    started = datetime.datetime.now(datetime.timezone.utc)
    report = Report()
    work = tempfile.mkdtemp(prefix="portcullis-bench-instances-")
    try:
        measure(settings, work, report)
    except Failure as failure:
        log(f"bench-instances: {failure}")
        return 1
    except KeyboardInterrupt:
        log("bench-instances: interrupted")
        return 130
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = report.text(settings, started)
    print(text)
    if settings.output:
        with open(settings.output, "w") as file:
            file.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
