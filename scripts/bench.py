#!/usr/bin/env python3
"""What the verify path costs, as ratios to floors measured in the same run (issue 11).

Each figure is measured against its floor in alternating runs (floor, subject, floor, subject, ...)
so that noise from the machine hits both; every run is wrk -t2 -c64 on this machine's cores, and the
table gives the median ratio with the spread over the pairs.

  (a) verify with a valid session, straight to Portcullis ÷ (b) nginx answering `return 204` itself
  (c) nginx auth_request → Portcullis protecting a location that answers 204 ÷ (e) the same nginx
      with auth_request → an nginx location answering 204 (both through an upstream with keepalive)
  (f) HTTP Basic with a lingering credential ÷ a session cookie
  (g) verify with 1 000 000 sessions of 100 000 users in the store, requests spread over 100 000
      of them ÷ a store with 10 sessions; start-up time and RSS with 1 000 000 sessions
  (h) verify p99 while 50 failing logins a second arrive from 50 addresses ÷ quiet p99
  (i) verify p99 while 10 sessions a second log out, 1 000 000 sessions in the store ÷ quiet p99
  (j) verify with 50 access rules, the last one matching ÷ verify with no rules
  and RSS idle and after the load.

Exits non-zero only when something could not be run or answered wrongly before measuring (a
session that does not verify, nginx that does not protect its location); missed goals are marked
in the table. Usually run through scripts/bench.sh, which builds the release binary.

Usage: scripts/bench.py --bin PATH [--quick] [--seconds N] [--repeats N] [--output FILE]
"""
import argparse
import base64
import collections
import concurrent.futures
import datetime
import os
import platform
import resource
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
import nginx as nginxlib  # noqa: E402
from benchkit import Failure, build_kind, expect, interrupt, log, rate_text, request, wrk_version  # noqa: E402
import procfs  # noqa: E402
import seeding  # noqa: E402
import wrk  # noqa: E402
from portcullis import Server, totp  # noqa: E402

COOKIE_SCRIPT = os.path.join(HERE, "lib", "bench-cookies.lua")
PORT_SMALL, PORT_MANY, PORT_FEW, PORT_RULES = 19541, 19542, 19543, 19544
PORT_NGINX_204, PORT_NGINX_PORTCULLIS, PORT_NGINX_FLOOR, PORT_NGINX_BACKEND = 19551, 19552, 19553, 19554
THREADS, CONNECTIONS = 2, 64
# The headers Caddy or Traefik would send; verify reads the cookie and these.
FORWARDED = {"X-Forwarded-Method": "GET", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example.com", "X-Forwarded-URI": "/dashboard?x=1"}


# MARK: Measuring


class Target:
    """What one wrk run is aimed at, and whose CPU time it costs."""

    def __init__(self, name, url, headers, pids, cookies=None, load=None):
        self.name, self.url, self.headers, self.pids, self.cookies = name, url, headers, pids, cookies
        self.load = load  # a list the seconds of each run are added to

    def run(self, seconds, order="random", offset=0):
        for pid in self.pids:
            if not procfs.alive(pid):
                raise Failure(f"{self.name}: process {pid} is gone")
        script, env = None, {}
        if self.cookies:
            script, env = COOKIE_SCRIPT, {"BENCH_COOKIES": self.cookies, "BENCH_ORDER": order, "BENCH_THREADS": str(THREADS),
                                   "BENCH_OFFSET": str(offset)}
        before = procfs.cpu_seconds(*self.pids)
        result = wrk.run(self.url, seconds, self.headers, script, env, THREADS, CONNECTIONS)
        result.cpu = (procfs.cpu_seconds(*self.pids) - before) / max(result.requests, 1)
        for pid in self.pids:
            if not procfs.alive(pid):
                raise Failure(f"{self.name}: process {pid} died during the run")
        if result.requests == 0:
            raise Failure(f"{self.name}: wrk made no request:\n{result.output}")
        if self.load is not None:
            self.load.append(result.duration)
        return result


class OpenLoop:
    """Calls `job(k)` at a fixed rate on a thread pool, whatever the answers take (open loop), from
    entering until leaving; `lead_in` seconds pass on entering so that the load is steady."""

    def __init__(self, rate, job, lead_in):
        self.rate, self.job, self.lead_in = rate, job, lead_in
        self.statuses = collections.Counter()
        self.sent = 0
        self.lock = threading.Lock()

    def _call(self, k):
        try:
            status = self.job(k)
        except Exception as error:  # noqa: BLE001 - counted and shown, not fatal
            status = type(error).__name__
        with self.lock:
            self.statuses[status] += 1

    def _schedule(self):
        start = next_at = time.perf_counter()
        k = 0
        while not self.stopping.is_set():
            now = time.perf_counter()
            if now < next_at:
                self.stopping.wait(next_at - now)
                continue
            self.pool.submit(self._call, k)
            k += 1
            next_at = start + k / self.rate
        self.sent += k
        self.elapsed = time.perf_counter() - start

    def __enter__(self):
        self.stopping = threading.Event()
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=256)
        self.thread = threading.Thread(target=self._schedule, daemon=True)
        self.thread.start()
        time.sleep(self.lead_in)
        return self

    def __exit__(self, *error):
        self.stopping.set()
        self.thread.join()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.achieved = self.sent / self.elapsed if self.elapsed else 0


class Row:
    def __init__(self, measure, kind, goal, better, note=""):
        self.measure, self.kind, self.goal, self.better, self.note = measure, kind, goal, better, note
        self.subjects, self.floors = [], []

    def add(self, floor, subject):
        self.floors.append(floor)
        self.subjects.append(subject)

    def value(self, result):
        return result.rate if self.kind == "rate" else result.p99

    def ratios(self):
        return [self.value(s) / self.value(f) for f, s in zip(self.floors, self.subjects)]

    def met(self):
        ratio = statistics.median(self.ratios())
        if self.note == "errors" and sum(r.errors for r in self.subjects + self.floors):
            return False
        return ratio >= self.goal if self.better == "higher" else ratio <= self.goal

    def cell(self, results, cpu_label):
        values = [self.value(r) for r in results]
        if self.kind == "rate":
            text = f"{rate_text(statistics.median(values))}, {statistics.median(r.cpu for r in results) * 1e6:.1f} µs CPU{cpu_label}"
        else:
            text = f"p99 {time_text(statistics.median(values))} at {rate_text(statistics.median(r.rate for r in results))}"
        errors = sum(r.errors for r in results)
        socket_errors = sum(sum(r.socket_errors.values()) for r in results)
        if errors or self.note == "errors":
            text += f", {errors} non-2xx"
        if socket_errors:
            text += f", {socket_errors} socket errors"
        return text

    def line(self, cpu_label=""):
        ratios = self.ratios()
        spread = f"{min(ratios):.2f}–{max(ratios):.2f}"
        goal = ("≥ " if self.better == "higher" else "≤ ") + f"{self.goal:g}" + (", 0 non-2xx" if self.note == "errors" else "") \
            + (" met" if self.met() else " **missed**")
        return (f"| {self.measure} | {self.cell(self.subjects, cpu_label)} | {self.cell(self.floors, cpu_label)} "
                f"| {statistics.median(ratios):.2f} ({spread}) | {goal} |")


def time_text(seconds):
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.0f} µs"


def count_text(number):
    return f"{number:,}".replace(",", " ")


def mb(size):
    return f"{size / 1e6:.1f} MB"


def alternate(row, floor, subject, settings, floor_load=None, subject_load=None):
    """Warms both up, then runs floor and subject in turn `repeats` times; loads are context
    managers made fresh for each run they accompany."""
    floor.run(settings.warmup)
    subject.run(settings.warmup)
    for repeat in range(settings.repeats):
        results = []
        for target, load in ((floor, floor_load), (subject, subject_load)):
            if load:
                with load() as running:
                    result = target.run(settings.seconds)
                result.load = running
            else:
                result = target.run(settings.seconds)
            results.append(result)
        row.add(*results)
        log(f"  {row.measure}: pair {repeat + 1}: floor {describe(results[0])}, subject {describe(results[1])}")
    return row


def describe(result):
    return f"{rate_text(result.rate)} p99 {time_text(result.p99)} {result.cpu * 1e6:.1f} µs" + \
        (f" non-2xx {result.errors}" if result.errors else "")


def load_text(loads):
    statuses = collections.Counter()
    for load in loads:
        statuses.update(load.statuses)
    sent = sum(load.sent for load in loads)
    rate = statistics.median(load.achieved for load in loads)
    answers = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items(), key=lambda item: str(item[0])))
    return f"{sent} sent at {rate:.1f}/s; answers {answers}"


# MARK: The run


def nginx_http_block(portcullis_port):
    """(b) on PORT_NGINX_204; (c) and (e) identical but for where auth_request goes."""
    return f"""    keepalive_timeout 75s;
    keepalive_requests 1000000;
    upstream portcullis {{
        server 127.0.0.1:{portcullis_port};
        keepalive 32;
        keepalive_requests 1000000;
    }}
    upstream floor_backend {{
        server 127.0.0.1:{PORT_NGINX_BACKEND};
        keepalive 32;
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{PORT_NGINX_204};
        location / {{ return 204; }}
    }}
    server {{
        listen 127.0.0.1:{PORT_NGINX_BACKEND};
        location / {{ return 204; }}
    }}""" + nginxlib.auth_request_server(PORT_NGINX_PORTCULLIS, "portcullis", "/api/authz/auth-request") + \
        nginxlib.auth_request_server(PORT_NGINX_FLOOR, "floor_backend", "/")


def fifty_rules():
    """access_control with 50 rules for app.example.com of the kinds people write (other hosts,
    anchored prefixes, unanchored patterns that run the automaton over the whole path); only the
    last matches FORWARDED's /dashboard?x=1."""
    rules = []
    for index in range(49):
        if index % 3 == 0:
            rules.append(f"    - domain: '*.team{index}.example.com'\n      policy: deny")
        elif index % 3 == 1:
            rules.append(f"    - domain: app.example.com\n      resources: ['^/api/v{index}([/?].*)?$']\n      policy: deny")
        else:
            rules.append(f"    - domain: app.example.com\n      resources: ['/internal{index}/']\n      methods: [GET, HEAD]\n      policy: deny")
    rules.append("    - domain: ['app.example.com', '*.example.com']\n      resources: ['^/dashboard([/?].*)?$']\n      policy: two_factor")
    return "access_control:\n  default_policy: deny\n  rules:\n" + "\n".join(rules) + "\n"


def small_server_phase(settings, work, report):
    """(a)–(f) and (h) on a server whose store holds two users, and RSS idle and after load."""
    env = {"PORTCULLIS_REGULATION_MAX_RETRIES": "1000"}  # every failing login of (h) costs a password check
    with Server(settings.binary, port=PORT_SMALL, env=env) as server:
        log("server A: two users, a session from a browser-like login, a Basic credential")
        bench_secret = server.add_user("bench", "bench password")
        basic_secret = server.add_user("basic", "basic password")
        server.start(poll=0.02)
        report.startup_small = server.startup_seconds
        time.sleep(1)
        report.rss_idle = procfs.rss_bytes(server.pid)
        session = server.log_in("bench", "bench password", bench_secret)
        cookie = {"Cookie": f"portcullis_session={session}"}
        credential = base64.b64encode(f"basic:basic password{totp(basic_secret)}".encode()).decode()
        basic = {"Authorization": f"Basic {credential}"}
        verify = "/api/authz/forward-auth"
        expect("(a) verify with the session", request(PORT_SMALL, verify, {**FORWARDED, **cookie}), 200)
        expect("(a) verify without a session", request(PORT_SMALL, verify, FORWARDED), 401)
        expect("(f) Basic, first use (password and code checked)", request(PORT_SMALL, verify, {**FORWARDED, **basic}), 200)
        expect("(f) Basic, lingering", request(PORT_SMALL, verify, {**FORWARDED, **basic}), 200)

        nginx_folder = os.path.join(work, "nginx")
        os.makedirs(nginx_folder)
        with nginxlib.Nginx(nginx_folder, nginx_http_block(PORT_SMALL)) as nginx:
            nginx.start([PORT_NGINX_204, PORT_NGINX_PORTCULLIS, PORT_NGINX_FLOOR, PORT_NGINX_BACKEND])
            report.nginx_workers = len(nginx.workers)
            app = {"Host": "app.example.com", **cookie}
            expect("(b) nginx return 204", request(PORT_NGINX_204, "/", {**FORWARDED, **cookie}), 204)
            expect("(c) nginx → Portcullis with the session", request(PORT_NGINX_PORTCULLIS, "/dashboard?x=1", app), 204)
            expect("(c) nginx → Portcullis without a session (the location is protected)",
                   request(PORT_NGINX_PORTCULLIS, "/dashboard?x=1", {"Host": "app.example.com"}), 401)
            expect("(e) nginx → nginx", request(PORT_NGINX_FLOOR, "/dashboard?x=1", app), 204)

            portcullis_pids, nginx_pids = [server.pid], nginx.pids()
            load = []  # the seconds server A was under load
            direct = Target("(a) verify", f"http://127.0.0.1:{PORT_SMALL}{verify}", {**FORWARDED, **cookie}, portcullis_pids, load=load)
            floor_204 = Target("(b) nginx 204", f"http://127.0.0.1:{PORT_NGINX_204}/", {**FORWARDED, **cookie}, nginx_pids)
            log("(a)/(b): verify direct ÷ nginx return 204")
            report.rows.append((alternate(Row("(a)/(b) verify with a session, direct ÷ nginx `return 204`", "rate", 0.8, "higher"),
                                          floor_204, direct, settings), ""))
            both = portcullis_pids + nginx_pids
            through = Target("(c) nginx→portcullis", f"http://127.0.0.1:{PORT_NGINX_PORTCULLIS}/dashboard?x=1", app, both, load=load)
            floor_through = Target("(e) nginx→nginx", f"http://127.0.0.1:{PORT_NGINX_FLOOR}/dashboard?x=1", app, both)
            log("(c)/(e): nginx auth_request → Portcullis ÷ → nginx 204")
            report.rows.append((alternate(Row("(c)/(e) nginx `auth_request` → Portcullis ÷ → an nginx location answering 204", "rate", 0.95, "higher"),
                                          floor_through, through, settings), " (nginx + Portcullis)"))
        log("(f): Basic with a lingering credential ÷ cookie")
        basic_target = Target("(f) Basic", direct.url, {**FORWARDED, **basic}, portcullis_pids, load=load)
        report.rows.append((alternate(Row("(f) HTTP Basic, lingering credential ÷ session cookie", "rate", 0.9, "higher"),
                                      direct, basic_target, settings), ""))

        log("(j): verify with 50 access rules, the last one matching ÷ no rules")
        with Server(settings.binary, port=PORT_RULES, config=fifty_rules()) as ruled:
            ruled_secret = ruled.add_user("bench", "bench password")
            ruled.start(poll=0.02)
            ruled_cookie = {"Cookie": f"portcullis_session={ruled.log_in('bench', 'bench password', ruled_secret)}"}
            expect("(j) verify with 50 rules", request(PORT_RULES, verify, {**FORWARDED, **ruled_cookie}), 200)
            expect("(j) a path the 49th rule denies", request(PORT_RULES, verify, {**FORWARDED, "X-Forwarded-URI": "/internal47/x", **ruled_cookie}), 403)
            ruled_target = Target("(j) 50 rules", f"http://127.0.0.1:{PORT_RULES}{verify}", {**FORWARDED, **ruled_cookie}, [ruled.pid])
            report.rows.append((alternate(Row("(j) verify with 50 access rules, the last matching ÷ no rules", "rate", 0.9, "higher"),
                                          direct, ruled_target, settings), ""))

        log(f"(h): verify p99 with {settings.login_rate} failing logins a second from {settings.login_addresses} addresses ÷ quiet")
        csrf_cookie, csrf_token = server.login_form(server.connection())

        def failing_login(k):
            body = urllib.parse.urlencode({"csrf": csrf_token, "username": f"nobody{k}", "password": "wrong password", "code": "000000"})
            return request(PORT_SMALL, "/login", {
                "Host": "auth.example.com", "Cookie": csrf_cookie, "Content-Type": "application/x-www-form-urlencoded",
                "X-Forwarded-For": f"198.51.100.{k % settings.login_addresses + 1}"}, "POST", body)

        expect("(h) a failing login", failing_login(0), 401)
        row = alternate(Row(f"(h) verify p99 with {settings.login_rate} failing logins/s from {settings.login_addresses} addresses ÷ quiet", "p99", 2, "lower"),
                        direct, direct, settings, subject_load=lambda: OpenLoop(settings.login_rate, failing_login, settings.lead_in))
        report.rows.append((row, ""))
        report.notes.append(f"(h) failing logins (regulation.max_retries raised to 1000, so each costs a password check): "
                            + load_text([result.load for result in row.subjects]))
        report.load_seconds_small = sum(load)
        report.rss_loaded = procfs.rss_bytes(server.pid)


def many_sessions_phase(settings, work, report):
    """(g) and (i): a store of many sessions against one of 10."""
    spread, logout_count = settings.spread, int(settings.revoke_rate * (settings.seconds + settings.lead_in + 1) * settings.repeats) + 20
    report.logout_count = logout_count
    if settings.sessions < spread + logout_count:
        raise Failure(f"--sessions must be at least --spread + {logout_count} (the sessions logged out in (i))")
    # Room in memory for the sessions in use and those logged out in (i), as an operator with that many
    # active sessions would configure it (the default, 100 000, is the spread itself).
    cache = {"PORTCULLIS_SESSION_CACHE_SIZE": str(max(100_000, 2 * spread))}
    with Server(settings.binary, port=PORT_MANY, env=cache) as many, Server(settings.binary, port=PORT_FEW, env=cache) as few:
        for server, users, sessions in ((many, settings.users, settings.sessions), (few, 10, 10)):
            server.cli("user", "add", "store-owner", "--no-password")  # makes the store and its schema
            started = time.perf_counter()
            server.tokens = seeding.seed(server.database, users=users, sessions=sessions, cookie_domain="example.com")
            server.seed_seconds = time.perf_counter() - started
            log(f"seeded {count_text(sessions)} sessions of {count_text(users)} users in {server.seed_seconds:.1f} s")
        report.seed_seconds = many.seed_seconds
        files = {}
        for name, tokens in (("spread", many.tokens[:spread]), ("logout", many.tokens[spread:spread + logout_count]),
                             ("warm", many.tokens[:spread + logout_count]), ("few", few.tokens)):
            files[name] = os.path.join(work, f"cookies-{name}.txt")
            with open(files[name], "w") as file:
                file.write("\n".join(tokens) + "\n")

        few.start(poll=0.02)
        report.startup_few = few.startup_seconds
        many.start(poll=0.02)
        report.startup_many = many.startup_seconds
        time.sleep(1)
        report.rss_many_idle = procfs.rss_bytes(many.pid)
        verify = "/api/authz/forward-auth"
        for index in (0, 1, spread - 1, spread, spread + logout_count - 1, settings.sessions - 1):
            expect(f"(g) seeded session {index}", request(PORT_MANY, verify, {**FORWARDED, "Cookie": f"portcullis_session={many.tokens[index]}"}), 200)
        for index in range(10):
            expect(f"(g) seeded session {index} of 10", request(PORT_FEW, verify, {**FORWARDED, "Cookie": f"portcullis_session={few.tokens[index]}"}), 200)
        expect("(g) an unknown session", request(PORT_MANY, verify, {**FORWARDED, "Cookie": "portcullis_session=" + "A" * 43}), 401)

        # Every session in use is read from the store once, on its first request (sequential passes
        # until each was sent at least once); wrong answers there count like any other.
        log(f"(g): first pass over {count_text(spread + logout_count)} sessions (each read from the store)")
        many_warm = Target("(g) first pass", f"http://127.0.0.1:{PORT_MANY}{verify}", FORWARDED, [many.pid], files["warm"])
        passes, covered = [], 0
        while covered < spread + logout_count and len(passes) < 60:
            passes.append(many_warm.run(settings.first_pass_seconds, order="sequential", offset=covered))
            covered += max([int(line.split()[2]) for line in passes[-1].lines] or [0])
        report.first_pass, report.first_pass_covered = passes, min(covered, spread + logout_count)
        many_target = Target("(g) 1M", many_warm.url, FORWARDED, [many.pid], files["spread"])
        few_target = Target("(g) 10", f"http://127.0.0.1:{PORT_FEW}{verify}", FORWARDED, [few.pid], files["few"])
        log(f"(g): {count_text(settings.sessions)} sessions, requests over {count_text(spread)} ÷ 10 sessions")
        row = alternate(Row(f"(g) verify, {count_text(settings.sessions)} sessions in the store, requests over {count_text(spread)} ÷ 10 sessions",
                            "rate", 0.95, "higher", note="errors"), few_target, many_target, settings)
        report.rows.append((row, ""))
        report.rss_many_loaded = procfs.rss_bytes(many.pid)
        report.rss_few_loaded = procfs.rss_bytes(few.pid)

        log(f"(i): verify p99 while {settings.revoke_rate} sessions a second log out ÷ quiet")
        csrf_cookie, csrf_token = many.login_form(many.connection())
        logouts = iter(many.tokens[spread:spread + logout_count])
        lock = threading.Lock()

        def logout(k):
            with lock:
                token = next(logouts, None)
            if token is None:
                return "no session left"
            return request(PORT_MANY, "/logout", {
                "Host": "auth.example.com", "Cookie": f"{csrf_cookie}; portcullis_session={token}",
                "Content-Type": "application/x-www-form-urlencoded"}, "POST", urllib.parse.urlencode({"csrf": csrf_token}))

        first = many.tokens[spread]
        expect("(i) a logout", logout(0), 200)
        expect("(i) verify after its logout", request(PORT_MANY, verify, {**FORWARDED, "Cookie": f"portcullis_session={first}"}), 401)
        row = alternate(Row(f"(i) verify p99 with {settings.revoke_rate} logouts/s, {count_text(settings.sessions)} sessions ÷ quiet", "p99", 2, "lower"),
                        many_target, many_target, settings, subject_load=lambda: OpenLoop(settings.revoke_rate, logout, settings.lead_in))
        report.rows.append((row, ""))
        report.notes.append("(i) logouts (POST /logout of a seeded session, each cached by the first pass): "
                            + load_text([result.load for result in row.subjects]))
        report.rss_many_end = procfs.rss_bytes(many.pid)


class Report:
    def __init__(self):
        self.rows, self.notes = [], []

    def text(self, settings, started):
        lines = [
            "## Portcullis benchmark" + (" (--quick: a functional run, not a measurement)" if settings.quick else ""),
            "",
            f"- command: `{settings.command}`",
            f"- date: {started.strftime('%Y-%m-%d %H:%M UTC')}, took {time.time() - started.timestamp():.0f} s",
            f"- machine: {os.cpu_count()} × {procfs.cpu_model()} (nproc {nproc()}), {platform.system()} {platform.release()}, "
            f"load average at start {settings.load_at_start}",
            f"- build: {settings.build} (`{settings.binary}`)",
            f"- wrk {wrk_version()} -t{THREADS} -c{CONNECTIONS}, {settings.seconds} s a run, {settings.repeats} pairs alternating "
            f"floor and subject after a {settings.warmup} s warm-up of each; nginx {nginxlib.version()} with "
            f"`worker_processes auto` ({self.nginx_workers} workers)",
            "",
            "| measure | subject | floor | ratio (min–max) | goal |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [row.line(cpu_label) for row, cpu_label in sorted(self.rows, key=lambda item: item[0].measure)]
        first = self.first_pass
        first_errors = sum(result.errors for result in first)
        first_socket_errors = sum(sum(result.socket_errors.values()) for result in first)
        lines += [
            "",
            "Ratios are subject ÷ floor per pair: the median, then the spread. Rates are requests a second, "
            "CPU is user + system time of the serving processes per request (/proc), p99 is wrk's.",
            "",
            f"- start-up (process start until /api/health answers): {self.startup_many:.2f} s with "
            f"{count_text(settings.sessions)} sessions in the store (goal ≤ 5 s{'' if self.startup_many <= 5 else ', **missed**'}); "
            f"{self.startup_few:.2f} s with 10; {self.startup_small:.2f} s with 2 users and no session",
            f"- RSS idle (after start, before any request): {mb(self.rss_idle)} (goal ≤ 20 MB{'' if self.rss_idle <= 20e6 else ', **missed**'})",
            f"- RSS after {self.load_seconds_small:.0f} s of load ((a)–(h)): {mb(self.rss_loaded)}",
            f"- RSS with {count_text(settings.sessions)} sessions in the store: {mb(self.rss_many_idle)} idle; "
            f"{mb(self.rss_many_loaded)} after (g) used {count_text(settings.spread)} of them; {mb(self.rss_many_end)} after (i). "
            f"With 10 sessions after the same load: {mb(self.rss_few_loaded)}",
            f"- RSS grown per session in use ≈ (RSS with {count_text(settings.spread)} sessions in use − RSS with 10) ÷ "
            f"{count_text(settings.spread)} = {per_session(self):.0f} bytes (session.cache_size {count_text(max(100_000, 2 * settings.spread))}; "
            f"this includes SQLite's page cache and the heap the store reads leave behind; the cache's own heap per session, "
            f"goal ≤ 300 bytes, is measured by the test SessionCacheTests.bytesPerSession)",
            f"- (g) first pass over the {count_text(settings.spread)} sessions and those (i) logs out, each read from the store "
            f"on its first request: {rate_text(statistics.median(r.rate for r in first))} in {len(first)} run(s) of "
            f"{settings.first_pass_seconds} s, {first_errors} non-2xx" + ("" if first_errors == 0 else " (**every valid session must verify**)")
            + (f", {first_socket_errors} socket errors (timeouts: no answer within 2 s)" if first_socket_errors else "")
            + ("" if self.first_pass_covered == settings.spread + self.logout_count else
               f"; it reached only {count_text(self.first_pass_covered)} of {count_text(settings.spread + self.logout_count)} sessions"),
            f"- seeding {count_text(settings.sessions)} sessions of {count_text(settings.users)} users into SQLite took {self.seed_seconds:.1f} s",
        ]
        lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def per_session(report):
    return (report.rss_many_loaded - report.rss_few_loaded) / report.settings.spread


def nproc():
    try:
        return subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return str(os.cpu_count())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", dest="binary", default=os.environ.get("PORTCULLIS_BINARY"), help="the portcullis binary")
    parser.add_argument("--quick", action="store_true", help="tiny durations and a small store: checks that everything runs")
    parser.add_argument("--seconds", type=int, help="seconds a measured run lasts (default 10; --quick 1)")
    parser.add_argument("--repeats", type=int, help="floor/subject pairs per figure (default 3; --quick 2)")
    parser.add_argument("--sessions", type=int, help="sessions in the large store (default 1 000 000; --quick 20 000)")
    parser.add_argument("--users", type=int, help="their users (default 100 000; --quick 2 000)")
    parser.add_argument("--spread", type=int, help="sessions the requests of (g) and (i) are spread over (default 100 000; --quick 2 000)")
    parser.add_argument("--output", help="also write the report to this file")
    settings = parser.parse_args()
    if not settings.binary:
        parser.error("--bin (or PORTCULLIS_BINARY) is required")
    settings.binary = os.path.abspath(settings.binary)
    quick = settings.quick
    settings.seconds = settings.seconds or (1 if quick else 10)
    settings.repeats = max(2, settings.repeats or (2 if quick else 3))
    settings.sessions = settings.sessions or (20_000 if quick else 1_000_000)
    settings.users = settings.users or (2_000 if quick else 100_000)
    settings.spread = settings.spread or (2_000 if quick else 100_000)
    settings.warmup = 1 if quick else 2
    settings.first_pass_seconds = 1 if quick else 5
    settings.lead_in = 0.5 if quick else 2
    settings.login_rate, settings.login_addresses, settings.revoke_rate = 50, 50, 10
    settings.command = os.environ.get("BENCH_COMMAND") or " ".join(shlex.quote(word) for word in sys.argv)
    settings.build = build_kind(settings.binary)
    settings.load_at_start = procfs.load_average()

    # wrk's connections, the open-loop clients and the servers started from here inherit this.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 1 << 20, hard))
    # SIGTERM ends the run like ^C: every server is stopped on the way out.
    signal.signal(signal.SIGTERM, interrupt)

    started = datetime.datetime.now(datetime.timezone.utc)
    report = Report()
    report.settings = settings
    work = tempfile.mkdtemp(prefix="portcullis-bench-")
    try:
        small_server_phase(settings, work, report)
        many_sessions_phase(settings, work, report)
    except Failure as failure:
        log(f"bench: {failure}")
        return 1
    except KeyboardInterrupt:
        log("bench: interrupted")
        return 130
    finally:
        subprocess.run(["rm", "-rf", work])
    text = report.text(settings, started)
    print(text)
    if settings.output:
        with open(settings.output, "w") as file:
            file.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
