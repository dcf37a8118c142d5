#!/usr/bin/env python3
"""End to end: Portcullis behind Debian's real Caddy, nginx and HAProxy, driven by a real Chromium.

For each proxy, the shipped configuration from deploy/ is started with only ports and paths
substituted (plus, for Caddy, a global block that keeps the test instance to itself), in front of a
small app that echoes the identity headers it receives. Then Chromium logs in, reloads, opens a
second host, fails with a wrong and a replayed code, logs out; opens a one-factor app with the
password alone, steps up to a two-factor app with the code alone, and sees the page of an app its
group is denied; curl checks what scripts get.

With --instances 3, three `portcullis serve` share one PostgreSQL database (a new one in the cluster
named by PORTCULLIS_TEST_POSTGRES, which scripts/test.sh starts), and each proxy in turn balances
over them with its shipped example for several instances (deploy/nginx/portcullis-instances.conf,
deploy/haproxy/portcullis-instances.cfg, deploy/caddy/portcullis-instances.caddyfile). Every flow
runs against them (each request may reach another instance), then the checks of check_instances.

Usage: scripts/e2e/run.py --bin .build/debug/portcullis [--proxies caddy,nginx,haproxy] [--screenshots docs/img]
       scripts/e2e/run.py --bin .build/debug/portcullis --proxies caddy,nginx,haproxy --instances 3
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HTTPS_PORT = 18443
HTTP_PORT = 18080
PORTCULLIS_PORT = 19091
# With --instances: each instance's metrics listener (19191, 19192, ...), and the loopback listener
# through which HAProxy's Lua asks the instances (127.0.0.1:9099 in deploy/haproxy/).
METRICS_PORT = 19191
HAPROXY_VERIFY_PORT = 19099
UPSTREAM_PORT = 18081
PORTAL = f"https://auth.example.com:{HTTPS_PORT}"
APP = f"https://app.example.com:{HTTPS_PORT}"
SECOND_APP = f"https://grafana.example.com:{HTTPS_PORT}"


ACCESS_RULES = """access_control:
  default_policy: two_factor
  rules:
    - domain: app.example.com
      resources: ['^/public/']
      policy: bypass
    - domain: app.example.com
      resources: ['^/forbidden([/?].*)?$']
      policy: deny
    - domain: app.example.com
      resources: ['^/wiki/']
      policy: one_factor
    - domain: app.example.com
      resources: ['^/staff/']
      subject: 'group:admins'
      policy: deny
"""


class Failure(Exception):
    pass


def expect(condition, what, expected, actual):
    if not condition:
        raise Failure(f"{what}\n  expected: {expected}\n  actual:   {actual}")


def totp(secret, at=None):
    key = base64.b32decode(secret)
    digest = hmac.new(key, struct.pack(">Q", int(at if at is not None else time.time()) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 15
    return "%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


def wait_for_port(port, process, log, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise Failure(f"the process for port {port} exited with {process.returncode}:\n{read(log)}")
        if subprocess.run(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}"], capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    raise Failure(f"nothing listens on port {port} after {seconds} s:\n{read(log)}")


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()[-6000:]
    except OSError:
        return ""


class Stack:
    """The app, Portcullis and one proxy, in a folder of their own."""

    def __init__(self, binary, instances=1):
        self.work = tempfile.mkdtemp(prefix="portcullis-e2e-")
        self.instances = instances
        self.database = None
        if instances > 1:
            # A database of its own in the test cluster, dropped by cleanup().
            self.socket = os.environ.get("PORTCULLIS_TEST_POSTGRES") or sys.exit("--instances needs PORTCULLIS_TEST_POSTGRES (scripts/test.sh starts a cluster)")
            self.database = f"e2e_{os.getpid()}"
            psql(self.socket, f"CREATE DATABASE {self.database}")
        self.binary = os.path.abspath(binary)
        self.processes = []
        self.users = {}
        self.cli_secrets = {}
        self.step_up_secrets = {}
        self.extra_logs = []

    def start(self, name, command, log_name, port, **options):
        log = os.path.join(self.work, log_name)
        handle = open(log, "ab")
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, cwd=self.work, **options)
        self.processes.append((name, process, log))
        wait_for_port(port, process, log)
        return process, log

    def stop(self, name=None):
        for entry in list(self.processes):
            if name is None or entry[0] == name:
                entry[1].terminate()
                try:
                    entry[1].wait(10)
                except subprocess.TimeoutExpired:
                    entry[1].kill()
                self.processes.remove(entry)

    def logs(self):
        entries = [(name, log) for name, _, log in self.processes] + [(os.path.basename(log), log) for log in self.extra_logs]
        return "\n".join(f"--- {name} log ({log}) ---\n{read(log)}" for name, log in entries)

    def portcullis(self, *arguments, stdin=None):
        return subprocess.run([self.binary, *arguments], cwd=self.work, env=self.environment(), input=stdin,
                              capture_output=True, text=True, check=True).stdout

    def environment(self):
        # Every browser here comes from 127.0.0.1, so the wrong and replayed codes of all proxies
        # count against one address: allow more than the default 5 before a ban.
        return dict(os.environ, PORTCULLIS_CONFIG="none", PORTCULLIS_SERVER_LISTEN=f"127.0.0.1:{PORTCULLIS_PORT}",
                    PORTCULLIS_SESSION_COOKIES_0_DOMAIN="example.com", PORTCULLIS_SESSION_COOKIES_0_PORTAL_URL=PORTAL,
                    # A second cookie domain, for the test that a session of one cannot open the other's apps.
                    PORTCULLIS_SESSION_COOKIES_1_DOMAIN="home.test", PORTCULLIS_SESSION_COOKIES_1_PORTAL_URL=f"https://auth.home.test:{HTTPS_PORT}",
                    PORTCULLIS_REGULATION_MAX_RETRIES="50", **self.postgres_environment())

    def postgres_environment(self):
        if not self.database:
            return {}
        return {"PORTCULLIS_STORAGE_POSTGRES_HOST": self.socket, "PORTCULLIS_STORAGE_POSTGRES_USERNAME": "postgres",
                "PORTCULLIS_STORAGE_POSTGRES_DATABASE": self.database, "PORTCULLIS_STORAGE_POSTGRES_TLS": "disable"}

    def instance_ports(self):
        return [PORTCULLIS_PORT + index for index in range(self.instances)]

    def start_core(self):
        self.start("app", [sys.executable, os.path.join(ROOT, "scripts/e2e/upstream.py"), str(UPSTREAM_PORT)], "app.log", UPSTREAM_PORT)
        # Access rules for the checks of step 5c: a public path, a denied one; everything else as without rules.
        write_file(os.path.join(self.work, "portcullis.yml"), ACCESS_RULES)
        for index in range(self.instances):
            self.start_instance(index)

    def instance_name(self, index):
        return "portcullis" if index == 0 else f"portcullis-{index + 1}"

    def start_instance(self, index):
        port = self.instance_ports()[index]
        environment = dict(self.environment(), PORTCULLIS_SERVER_LISTEN=f"127.0.0.1:{port}")
        if self.instances > 1:
            # What each instance answered, for check_instances: did the proxy reach all of them?
            environment["PORTCULLIS_METRICS_LISTEN"] = f"127.0.0.1:{METRICS_PORT + index}"
        name = self.instance_name(index)
        self.start(name, [self.binary, "serve", "--config", "portcullis.yml"], f"{name}.log", port, env=environment)

    def add_user(self, name, password):
        self.portcullis("user", "add", name, "--groups", "admins,dev", "--email", f"{name}@example.com", "--password-stdin", stdin=password + "\n")
        secret = json.loads(self.portcullis("user", "otp", "add", name, "--json"))["secret"]
        # A second device for curl's HTTP Basic logins, so they need not wait for the next time step.
        cli_secret = json.loads(self.portcullis("user", "otp", "add", name, "--label", "cli", "--json"))["secret"]
        # A third for step 8's step-up, which may come within the time step of the codes used before.
        self.step_up_secrets[name] = json.loads(self.portcullis("user", "otp", "add", name, "--label", "step-up", "--json"))["secret"]
        self.users[name] = (password, secret)
        self.cli_secrets[name] = cli_secret

    # Proxies, each from its shipped configuration.

    def substitute_ports(self, text):
        return text.replace("127.0.0.1:9091", f"127.0.0.1:{PORTCULLIS_PORT}").replace("127.0.0.1:8080", f"127.0.0.1:{UPSTREAM_PORT}") \
                   .replace("127.0.0.1:3000", f"127.0.0.1:{UPSTREAM_PORT}")

    def start_caddy(self):
        folder = os.path.join(self.work, "caddy")
        os.makedirs(folder, exist_ok=True)
        shipped = read_file(os.path.join(ROOT, "deploy/caddy/Caddyfile"))
        # A test instance: loopback only, its own ports, storage and internal CA, no admin API.
        isolation = f"""{{
\tadmin off
\tdefault_bind 127.0.0.1
\thttp_port {HTTP_PORT}
\thttps_port {HTTPS_PORT}
\tlocal_certs
\tskip_install_trust
\tstorage file_system {folder}/storage
}}

"""
        if self.instances > 1:
            # The shipped snippets for several instances (deploy/caddy/portcullis-instances.caddyfile),
            # imported and used as its comment says.
            instances = os.path.join(folder, "portcullis-instances.caddyfile")
            write_file(instances, self.shipped_for_instances("deploy/caddy/portcullis-instances.caddyfile"))
            shipped = splice(shipped, "\t\tforward_auth 127.0.0.1:9091 {\n", "\t\tforward_auth {\n\t\t\timport portcullis_verify_instances\n", "Caddyfile")
            shipped = splice(shipped, "auth.example.com {\n\treverse_proxy 127.0.0.1:9091\n}",
                             "auth.example.com {\n\treverse_proxy {\n\t\timport portcullis_portal_instances\n\t}\n}", "Caddyfile")
            isolation += f"import {instances}\n\n"
        config = os.path.join(folder, "Caddyfile")
        write_file(config, isolation + self.substitute_ports(shipped))
        environment = dict(os.environ, HOME=folder, XDG_DATA_HOME=folder, XDG_CONFIG_HOME=folder)
        return self.start("caddy", ["caddy", "run", "--config", config, "--adapter", "caddyfile"], "caddy.log", HTTPS_PORT, env=environment)

    def start_nginx(self):
        folder = os.path.join(self.work, "nginx")
        os.makedirs(os.path.join(folder, "snippets"), exist_ok=True)
        os.makedirs(os.path.join(folder, "logs"), exist_ok=True)
        for name in ("portcullis-location.conf", "portcullis-authrequest.conf"):
            write_file(os.path.join(folder, "snippets", name), self.substitute_ports(read_file(os.path.join(ROOT, "deploy/nginx/snippets", name))))
        key, certificate = self.certificate(folder)
        site = self.substitute_ports(read_file(os.path.join(ROOT, "deploy/nginx/portcullis-site.conf")))
        site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{HTTPS_PORT} ssl;").replace("listen 80;", f"listen 127.0.0.1:{HTTP_PORT};")
        site = re.sub(r"ssl_certificate /etc/letsencrypt/\S+;", f"ssl_certificate {certificate};", site)
        site = re.sub(r"ssl_certificate_key /etc/letsencrypt/\S+;", f"ssl_certificate_key {key};", site)
        site = site.replace("include snippets/", f"include {folder}/snippets/")
        if self.instances > 1:
            site = self.nginx_upstream() + site.replace(f"http://127.0.0.1:{PORTCULLIS_PORT}", "http://portcullis_instances")
            for name in ("portcullis-location.conf", "portcullis-authrequest.conf"):
                path = os.path.join(folder, "snippets", name)
                write_file(path, read_file(path).replace(f"http://127.0.0.1:{PORTCULLIS_PORT}", "http://portcullis_instances"))
        write_file(os.path.join(folder, "site.conf"), site)
        main = f"""daemon off;
master_process off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/logs/error.log info;
events {{ worker_connections 256; }}
http {{
    log_format upstream '$request $status upstream=$upstream_addr';
    access_log {folder}/logs/access.log upstream;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
"""
        write_file(os.path.join(folder, "nginx.conf"), main)
        self.extra_logs = [os.path.join(folder, "logs/error.log")]
        process, log = self.start("nginx", ["nginx", "-p", folder, "-c", os.path.join(folder, "nginx.conf")], "nginx.log", HTTPS_PORT)
        return process, log

    def nginx_upstream(self):
        """The shipped upstream of three instances (deploy/nginx/portcullis-instances.conf), on the test's ports."""
        return self.shipped_for_instances("deploy/nginx/portcullis-instances.conf") + "\n"

    def shipped_for_instances(self, path):
        """A shipped example for several instances, its addresses 127.0.0.1:9091, :9092, ... moved to
        the test's instances (and HAProxy's verify listener, 9099, to the test's port)."""
        text = read_file(os.path.join(ROOT, path))
        ports = {9091 + index: port for index, port in enumerate(self.instance_ports())}
        ports[9099] = HAPROXY_VERIFY_PORT
        text = re.sub(r"127\.0\.0\.1:(\d+)\b", lambda match: f"127.0.0.1:{ports.get(int(match.group(1)), match.group(1))}", text)
        expect(all(re.search(rf"127\.0\.0\.1:{port}\b", text) for port in self.instance_ports()), f"{path} lists every instance",
               self.instance_ports(), text)
        return text

    def start_haproxy(self):
        folder = os.path.join(self.work, "haproxy")
        os.makedirs(os.path.join(folder, "certs"), exist_ok=True)
        key, certificate = self.certificate(folder)
        write_file(os.path.join(folder, "certs", "example.com.pem"), read_file(certificate) + read_file(key))
        write_file(os.path.join(folder, "portcullis.lua"), self.substitute_ports(read_file(os.path.join(ROOT, "deploy/haproxy/portcullis.lua"))))
        config = read_file(os.path.join(ROOT, "deploy/haproxy/haproxy.cfg"))
        files = [os.path.join(folder, "haproxy.cfg")]
        if self.instances > 1:
            # As deploy/haproxy/portcullis-instances.cfg says: loaded after haproxy.cfg, whose
            # frontend then asks the instances through its loopback listener and sends the portal there.
            config = splice(config, "    #http-request set-var(txn.portcullis_url) str(http://127.0.0.1:9099/api/authz/forward-auth)\n",
                            f"    http-request set-var(txn.portcullis_url) str(http://127.0.0.1:{HAPROXY_VERIFY_PORT}/api/authz/forward-auth)\n", "haproxy.cfg")
            config = splice(config, "    use_backend portcullis if portal\n", "    use_backend portcullis_instances if portal\n", "haproxy.cfg")
            files.append(os.path.join(folder, "portcullis-instances.cfg"))
            write_file(files[1], self.shipped_for_instances("deploy/haproxy/portcullis-instances.cfg"))
        config = self.substitute_ports(config)
        config = config.replace("lua-load /etc/haproxy/portcullis.lua", f"lua-load {folder}/portcullis.lua")
        config = config.replace("bind :443 ssl crt /etc/haproxy/certs/", f"bind 127.0.0.1:{HTTPS_PORT} ssl crt {folder}/certs/")
        write_file(files[0], config)
        return self.start("haproxy", ["haproxy", "-db", *[argument for path in files for argument in ("-f", path)]], "haproxy.log", HTTPS_PORT)

    def certificate(self, folder):
        """A self-signed certificate for example.com and *.example.com (Chromium is told to accept it)."""
        key, certificate = os.path.join(folder, "key.pem"), os.path.join(folder, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=example.com",
                        "-addext", "subjectAltName=DNS:example.com,DNS:*.example.com", "-keyout", key, "-out", certificate],
                       check=True, capture_output=True)
        return key, certificate

    def cleanup(self):
        self.stop()
        if self.database:
            psql(self.socket, f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
        shutil.rmtree(self.work, ignore_errors=True)


def psql(socket, statement):
    subprocess.run(["psql", "-h", socket, "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", statement],
                   check=True, capture_output=True)


def splice(text, old, new, what):
    """Replaces the one occurrence of `old` in a shipped file, as its comments tell a user to."""
    expect(text.count(old) == 1, f"the shipped {what} has the line to change, once", repr(old), f"{text.count(old)} times")
    return text.replace(old, new)


def read_file(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def write_file(path, text):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def curl(*arguments):
    resolve = [f"--resolve", f"app.example.com:{HTTPS_PORT}:127.0.0.1", "--resolve", f"auth.example.com:{HTTPS_PORT}:127.0.0.1"]
    result = subprocess.run(["curl", "-sk", "--max-time", "10", *resolve, *arguments], capture_output=True, text=True)
    return result.stdout


# The browser.

def make_browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--ignore-certificate-errors",
                     f"--host-resolver-rules=MAP *.example.com 127.0.0.1", "--window-size=1280,800", "--disable-gpu"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait_until(driver, condition, what, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise Failure(f"{what}\n  current URL: {driver.current_url}\n  page: {driver.page_source[:1500]}")


def echo(driver):
    from selenium.webdriver.common.by import By
    elements = driver.find_elements(By.ID, "echo")
    return json.loads(elements[0].text) if elements else None


def log_in(driver, user, password, code):
    from selenium.webdriver.common.by import By
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "code").send_keys(code)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def on_login_page(driver):
    return driver.current_url.startswith(PORTAL + "/login")


def error_text(driver):
    from selenium.webdriver.common.by import By
    elements = driver.find_elements(By.CSS_SELECTOR, ".error")
    return elements[0].text if elements else ""


def session_cookie(driver):
    return next((cookie for cookie in driver.get_cookies() if cookie["name"] == "portcullis_session"), None)


def screenshots(driver, folder, stack, user):
    """The login page, the step-up page and the page of a denied address, light and dark, 1280 and 360 wide."""
    from selenium.webdriver.common.by import By
    import urllib.parse
    os.makedirs(folder, exist_ok=True)
    driver.delete_all_cookies()
    # A session of one factor, for the step-up page (and the denied page, which names its user).
    driver.get(APP + "/wiki/start")
    wait_until(driver, lambda: on_login_page(driver), "the one-factor app did not lead to the login page")
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(stack.users[user][0])
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(driver, lambda: echo(driver) is not None, "the password alone did not open the one-factor app")
    session = session_cookie(driver)
    pages = [("login", PORTAL + "/login", False), ("step-up", PORTAL + "/login?rd=" + urllib.parse.quote(APP + "/reports/q3", safe=""), True),
             ("denied", APP + "/staff/payroll", True)]
    for scheme in ("light", "dark"):
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
        for width, height, mobile in ((1280, 800, False), (360, 740, True)):
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
            for name, url, logged_in in pages:
                # The login page as a stranger sees it; the others with the one-factor session.
                driver.execute_cdp_cmd("Network.enable", {})
                driver.execute_cdp_cmd("Network.deleteCookies", {"name": "portcullis_session", "domain": session["domain"]})
                if logged_in:
                    driver.execute_cdp_cmd("Network.setCookie", {key: session[key] for key in ("name", "value", "domain", "path", "secure", "httpOnly")})
                driver.get(url)
                time.sleep(0.3)
                path = os.path.join(folder, f"{name}-{width}x{height}-{scheme}.png")
                driver.save_screenshot(path)
                print(f"  saved {path}")
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def run_flows(stack, proxy, user, driver, post_status):
    from selenium.webdriver.common.by import By
    password, secret = stack.users[user]
    target = APP + "/reports/q3?x=1&y=two%20words"

    # 1. A protected URL sends the browser to the login page, carrying the original URL.
    driver.delete_all_cookies()
    driver.get(target)
    wait_until(driver, lambda: on_login_page(driver), "the protected URL did not lead to the login page")
    expect("rd=" in driver.current_url, "the login URL carries rd", "rd=<original URL>", driver.current_url)

    # 2. A wrong code shows the error and makes no session.
    code = totp(secret)
    wrong = "%06d" % ((int(code) + 500000) % 1000000)
    log_in(driver, user, password, wrong)
    wait_until(driver, lambda: "Incorrect" in error_text(driver), "a wrong code did not show the error")
    expect(session_cookie(driver) is None, "no session after a wrong code", "no portcullis_session cookie", session_cookie(driver))

    # 3. The right code: back at the original URL with its query, and the app sees the user.
    driver.get(target)
    wait_until(driver, lambda: on_login_page(driver), "the login page did not come back")
    log_in(driver, user, password, code)
    wait_until(driver, lambda: echo(driver) is not None, "the login did not lead back to the app")
    expect(driver.current_url == target, "the original URL survives the login", target, driver.current_url)
    seen = echo(driver)
    expect(seen["Remote-User"] == user, "the app sees Remote-User", user, seen)
    expect(seen["Remote-Groups"] == "admins,dev", "the app sees Remote-Groups", "admins,dev", seen)
    expect(seen["path"] == "/reports/q3?x=1&y=two%20words", "the app gets the path and query", "/reports/q3?x=1&y=two%20words", seen["path"])

    # 4. Reloading stays logged in; a second host under the same domain needs no new login.
    driver.refresh()
    expect((echo(driver) or {}).get("Remote-User") == user, "a reload stays logged in", user, driver.current_url)
    driver.get(SECOND_APP + "/d/home")
    wait_until(driver, lambda: echo(driver) is not None, "the second host asked for a login again")
    expect(echo(driver)["Remote-User"] == user, "the second host sees the user", user, echo(driver))

    # 5. Scripts get 401, not a redirect; a POST without a session gets the method-preserving answer.
    status = curl("-o", "/dev/null", "-w", "%{http_code}", "-H", "Accept: application/json", APP + "/api/data")
    expect(status == "401", "a non-browser client without a session gets 401", "401", status)
    status = curl("-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "Accept: text/html", "--data", "a=1", APP + "/form")
    expect(status == str(post_status), "a browser POST without a session", str(post_status), status)

    # 5b. HTTP Basic: the password followed by a code works for scripts, and lingers; wrong ones get a challenge.
    basic = f"{user}:{password}{totp(stack.cli_secrets[user])}"
    for attempt in range(2):
        body = curl("-u", basic, "-H", "Accept: application/json", APP + "/dav/file.txt")
        expect(f'&quot;Remote-User&quot;: &quot;{user}&quot;' in body, f"curl -u with password+code (request {attempt + 1}) reaches the app as the user", user, body[:300])
    headers = curl("-s", "-o", "/dev/null", "-D", "-", "-u", f"{user}:{password}000000", "-H", "Accept: application/json", APP + "/dav/")
    expect(headers.startswith("HTTP/") and " 401" in headers.split("\r\n")[0], "a wrong Basic credential gets 401", "401", headers.split("\r\n")[0])
    expect("www-authenticate: basic realm=" in headers.lower(), "the 401 carries WWW-Authenticate", 'WWW-Authenticate: Basic realm="Portcullis"', headers)

    # 5c. Access rules: a bypassed path needs no session and the app sees no identity, not even one
    # the client sent itself; a denied path never reaches the app, logged in or not.
    body = curl("-H", "Remote-User: mallory", "-H", "Remote-Groups: admins", "-H", "Accept: text/html", APP + "/public/readme")
    expect('id="echo"' in body and '&quot;Remote-User&quot;: &quot;&quot;' in body and "mallory" not in body,
           "a bypassed path reaches the app without a session and without the client's own Remote-User", "Remote-User empty", body[:400])
    token = session_cookie(driver)["value"]
    for cookie in ([], ["--cookie", f"portcullis_session={token}"]):
        output = curl("-w", "\n%{http_code}", *cookie, "-H", "Remote-User: mallory", "-H", "Accept: text/html", APP + "/forbidden/x")
        status = output.rsplit("\n", 1)[-1]
        expect(status == "403" and 'id="echo"' not in output, f"a denied path {'with' if cookie else 'without'} a session", "403, app not reached", output[-400:])

    # 6. Logout ends access at once.
    driver.get(PORTAL + "/logout")
    wait_until(driver, lambda: driver.find_elements(By.CSS_SELECTOR, "button[type=submit]"), "the logout page has no button")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(driver, lambda: "Logged out" in driver.page_source, "logging out did not confirm")
    driver.get(target)
    wait_until(driver, lambda: on_login_page(driver), "after logout the app was still reachable")

    # 7. The code used above is refused the second time.
    log_in(driver, user, password, code)
    wait_until(driver, lambda: "already used" in error_text(driver), "a replayed code was not refused with its own message (the password was right)")
    expect(session_cookie(driver) is None, "no session after a replayed code", "no portcullis_session cookie", session_cookie(driver))

    # 8. A one_factor app asks for the password only; a two_factor app then asks for the code only
    # and replaces the session; a group denied an app sees the page naming the user.
    wiki = APP + "/wiki/start"
    driver.delete_all_cookies()
    driver.get(wiki)
    wait_until(driver, lambda: on_login_page(driver), "the one-factor app did not lead to the login page")
    expect(not driver.find_elements(By.ID, "code"), "the login form of a one-factor app has no code field", "no #code", driver.page_source[:600])
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(driver, lambda: echo(driver) is not None, "the password alone did not open the one-factor app")
    expect(driver.current_url == wiki and echo(driver)["Remote-User"] == user, "the one-factor app sees the user", user, echo(driver))
    one_factor_token = session_cookie(driver)["value"]

    driver.get(target)
    wait_until(driver, lambda: on_login_page(driver), "a two-factor app opened with a one-factor session")
    expect(not driver.find_elements(By.ID, "password") and not driver.find_elements(By.ID, "username") and f"logged in as {user}" in driver.page_source.replace("<strong>", "").replace("</strong>", ""),
           "step-up asks for the code only, naming the user", "a code field alone", driver.page_source[:800])
    driver.find_element(By.ID, "code").send_keys(totp(stack.step_up_secrets[user]))
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(driver, lambda: echo(driver) is not None, "the code did not open the two-factor app")
    expect(driver.current_url == target and echo(driver)["Remote-User"] == user, "after step-up the two-factor app sees the user", user, echo(driver))
    stepped_up = session_cookie(driver)["value"]
    expect(stepped_up != one_factor_token, "step-up gives a new session id", "a new cookie value", stepped_up)
    status = curl("-o", "/dev/null", "-w", "%{http_code}", "--cookie", f"portcullis_session={one_factor_token}", "-H", "Accept: application/json", wiki)
    expect(status == "401", "the one-factor session ended with the step-up", "401", status)

    driver.get(APP + "/staff/payroll")
    wait_until(driver, lambda: "No access" in driver.page_source, "a denied group did not see the 403 page")
    page = driver.page_source.replace("<strong>", "").replace("</strong>", "")
    expect(f"You are logged in as {user} and have no access" in page and 'id="echo"' not in page and PORTAL + "/logout" in page,
           "the denied page names the user and links to the portal's logout", f"logged in as {user}", page[:800])
    for method in ("GET", "POST", "PROPFIND"):
        output = curl("-w", "\n%{http_code}", "-X", method, "--cookie", f"portcullis_session={stepped_up}", "-H", "Accept: text/html", APP + "/staff/payroll")
        status = output.rsplit("\n", 1)[-1]
        expect(status == "403" and "No access" in output and f"<strong>{user}</strong>" in output,
               f"a denied {method} gets the 403 page", "403 with the page", output[-600:])


def verify_on(port, token=None, basic=None):
    """What one instance answers for a session cookie or HTTP Basic credentials (`user:password`),
    asked directly (not through the proxy). Basic requests come from an address of their own, so
    the failures they are meant to cause ban nobody the other checks need."""
    credentials = ["--cookie", f"portcullis_session={token}"] if token else ["-u", basic, "-H", "X-Forwarded-For: 198.51.100.77"]
    result = subprocess.run(["curl", "-s", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Forwarded-Proto: https",
                             "-H", "X-Forwarded-Host: app.example.com", "-H", "X-Forwarded-URI: /reports", "-H", "Accept: application/json",
                             *credentials, f"http://127.0.0.1:{port}/api/authz/forward-auth"],
                            capture_output=True, text=True)
    return result.stdout


def instance_counts(stack):
    """Per instance, from its own metrics: verify answers and login attempts so far (all labels summed)."""
    counts = []
    for index in range(stack.instances):
        result = subprocess.run(["curl", "-sf", "--max-time", "10", f"http://127.0.0.1:{METRICS_PORT + index}/metrics"], capture_output=True, text=True)
        expect(result.returncode == 0, f"the metrics of instance {index + 1}", "an answer", result.returncode)
        totals = {"verify": 0, "logins": 0}
        for line in result.stdout.splitlines():
            match = re.match(r"(portcullis_verify_answers_total|portcullis_login_attempts_total)(\{[^}]*\})? (\S+)$", line)
            if match:
                totals["verify" if match.group(1).startswith("portcullis_verify") else "logins"] += float(match.group(3))
        counts.append(totals)
    return counts


def check_instances(stack, proxy, user, driver, since):
    """Several instances as one: the proxy reached each of them (their own metrics, counted from
    `since`, taken before the proxy started); the browser's session verifies on each; of 8 logins
    through the proxy with one code, one succeeds, and the proxy spread them over every instance;
    `session revoke` reaches every instance within 1.5 s; an HTTP Basic credential accepted by one
    instance works on the others without a new code, and a removed device ends it on all of them."""
    # Verify requests went through the proxy to every instance (before any is asked directly below).
    verified = [now["verify"] - before["verify"] for now, before in zip(instance_counts(stack), since)]
    expect(all(count > 0 for count in verified), f"{proxy} sent verify requests to every instance", "some to each", f"per instance: {verified}")
    token = session_cookie(driver)["value"]
    answers = [verify_on(port, token) for port in stack.instance_ports()]
    expect(answers == ["200"] * stack.instances, "the browser's session on every instance, asked directly", ["200"] * stack.instances, answers)
    # One instance restarts (SIGTERM, then a new process): the others serve meanwhile, and it loses nothing.
    stack.stop(stack.instance_name(1))
    answers = [verify_on(port, token) for port in stack.instance_ports()]
    expect(answers == ["200", "000"] + ["200"] * (stack.instances - 2), "the session while the second instance is stopped",
           "200 from the others, no answer from it", answers)
    stack.start_instance(1)
    expect(verify_on(stack.instance_ports()[1], token) == "200", "the session on the restarted instance", "200",
           verify_on(stack.instance_ports()[1], token))
    # 8 logins with one code, one after another through the proxy's round robin: exactly one session
    # (a device of its own, whose codes nothing above used).
    password = stack.users[user][0]
    code = totp(json.loads(stack.portcullis("user", "otp", "add", user, "--label", "instances", "--json"))["secret"])
    sessions = 0
    before = instance_counts(stack)
    for attempt in range(8):
        jar = os.path.join(stack.work, f"jar-{attempt}")
        page = curl("-c", jar, "-b", jar, PORTAL + "/login")
        token_match = re.search(r'name="csrf" value="([^"]+)"', page)
        expect(token_match is not None, "the login form has a CSRF token", "csrf", page[:300])
        curl("-c", jar, "-b", jar, "-o", "/dev/null", "--data-urlencode", f"csrf={token_match.group(1)}", "--data-urlencode", f"username={user}",
             "--data-urlencode", f"password={password}", "--data-urlencode", f"code={code}", PORTAL + "/login")
        sessions += "portcullis_session" in read(jar)
    expect(sessions == 1, "8 logins with one code over the instances", "1 session", sessions)
    # The proxy spread the portal's login posts over every instance: each counted some of the 8.
    posted = [now["logins"] - earlier["logins"] for now, earlier in zip(instance_counts(stack), before)]
    expect(all(count > 0 for count in posted) and sum(posted) == 8, f"{proxy} sent the 8 login posts to every instance",
           "8 attempts, some on each", f"per instance: {posted}")
    if proxy == "nginx":
        # nginx's own view: its access log names the upstream of every portal request.
        served = read_file(os.path.join(stack.work, "nginx/logs/access.log"))
        unused = [port for port in stack.instance_ports() if f"upstream=127.0.0.1:{port}" not in served]
        expect(not unused, "nginx sent portal requests to every instance", "all of them", f"never to {unused}")
    stack.portcullis("session", "revoke", "--user", user)
    deadline = time.time() + 1.5
    while time.time() < deadline and any(verify_on(port, token) != "401" for port in stack.instance_ports()):
        time.sleep(0.05)
    answers = [verify_on(port, token) for port in stack.instance_ports()]
    expect(answers == ["401"] * stack.instances, "a revoked session on every instance within 1.5 s", ["401"] * stack.instances, answers)

    # HTTP Basic, password followed by a code of a device of its own: checked by the first instance,
    # then lingering on every other (the code is not checked again, which would refuse it as used).
    basic = f"{user}:{password}" + totp(json.loads(stack.portcullis("user", "otp", "add", user, "--label", "basic-instances", "--json"))["secret"])
    answers = [verify_on(port, basic=basic) for port in stack.instance_ports() + stack.instance_ports()]
    expect(answers == ["200"] * (2 * stack.instances), "a Basic credential accepted by one instance, on every instance",
           ["200"] * (2 * stack.instances), answers)
    stack.portcullis("user", "otp", "remove", user, "basic-instances")
    # Asked once each after the bound (each refusal counts as a failed login, and five would ban).
    time.sleep(1.5)
    answers = [verify_on(port, basic=basic) for port in stack.instance_ports()]
    expect(answers == ["401"] * stack.instances, "the Basic credential of a removed device, on every instance within 1.5 s",
           ["401"] * stack.instances, answers)
    check_changes_reach_instances(stack, proxy, user)


def session_from_jar(jar):
    """The session token curl's cookie jar holds, or None."""
    for line in read(jar).splitlines():
        fields = line.split("\t")
        if len(fields) == 7 and fields[5] == "portcullis_session":
            return fields[6]
    return None


def log_in_through_proxy(stack, user, password, label):
    """A curl login through the proxy's portal, with a code of a new device of its own; the session token."""
    code = totp(json.loads(stack.portcullis("user", "otp", "add", user, "--label", label, "--json"))["secret"])
    jar = os.path.join(stack.work, f"jar-{label}")
    page = curl("-c", jar, "-b", jar, PORTAL + "/login")
    token_match = re.search(r'name="csrf" value="([^"]+)"', page)
    expect(token_match is not None, "the login form has a CSRF token", "csrf", page[:300])
    curl("-c", jar, "-b", jar, "-o", "/dev/null", "--data-urlencode", f"csrf={token_match.group(1)}", "--data-urlencode", f"username={user}",
         "--data-urlencode", f"password={password}", "--data-urlencode", f"code={code}", PORTAL + "/login")
    token = session_from_jar(jar)
    expect(token is not None, f"a login through the proxy ({label})", "a session cookie", read(jar)[-300:])
    return token, jar


def seconds_until_refused(stack, token, bound=1.5):
    """How long until every instance refuses the session (polled every 20 ms), or None past `bound`."""
    started = time.time()
    while time.time() - started < bound:
        if all(verify_on(port, token) == "401" for port in stack.instance_ports()):
            return time.time() - started
        time.sleep(0.02)
    return None


def check_changes_reach_instances(stack, proxy, user):
    """Each change that ends a session elsewhere — a logout through the portal, a new password, a
    disabled user — and the removal of an app password reach every instance within 1.5 s; prints
    how long each took."""
    password = stack.users[user][0]
    took = {}

    def session_ended_by(what, change, label):
        token, jar = log_in_through_proxy(stack, user, password, label)
        answers = [verify_on(port, token) for port in stack.instance_ports()]
        expect(answers == ["200"] * stack.instances, f"a new session on every instance (before: {what})", ["200"] * stack.instances, answers)
        started = time.time()
        change(jar)
        elapsed = seconds_until_refused(stack, token)
        expect(elapsed is not None, f"{what}: the session is refused by every instance within 1.5 s", "401 on each",
               [verify_on(port, token) for port in stack.instance_ports()])
        took[what] = time.time() - started

    def log_out(jar):
        page = curl("-c", jar, "-b", jar, PORTAL + "/logout")
        token_match = re.search(r'name="csrf" value="([^"]+)"', page)
        expect(token_match is not None, "the logout page has a CSRF token", "csrf", page[:300])
        curl("-c", jar, "-b", jar, "-o", "/dev/null", "--data-urlencode", f"csrf={token_match.group(1)}", PORTAL + "/logout")

    session_ended_by("logout through the portal", log_out, "change-logout")
    new_password = password + " renewed"
    session_ended_by("user passwd", lambda jar: stack.portcullis("user", "passwd", user, "--password-stdin", stdin=new_password + "\n"),
                     "change-passwd")
    password = new_password
    stack.users[user] = (new_password, stack.users[user][1])
    session_ended_by("user disable", lambda jar: stack.portcullis("user", "disable", user), "change-disable")
    stack.portcullis("user", "enable", user)

    # An app password, used over HTTP Basic on every instance, then removed.
    app_password = json.loads(stack.portcullis("user", "app-password", "add", user, "--label", "instances", "--json"))["password"]
    basic = f"{user}:{app_password}"
    answers = [verify_on(port, basic=basic) for port in stack.instance_ports()]
    expect(answers == ["200"] * stack.instances, "an app password on every instance", ["200"] * stack.instances, answers)
    started = time.time()
    stack.portcullis("user", "app-password", "remove", user, "instances")
    time.sleep(1.5)
    answers = [verify_on(port, basic=basic) for port in stack.instance_ports()]
    expect(answers == ["401"] * stack.instances, "a removed app password, on every instance within 1.5 s", ["401"] * stack.instances, answers)
    print("every instance refused the session, counted from the start of the change (the command's own run included), after "
          + ", ".join(f"{what} {seconds:.2f} s" for what, seconds in took.items()) + "; ", end="", flush=True)


def session_of_other_domain(stack, user):
    """Logs `user` in at the portal of the second cookie domain (home.test), directly; returns the session token."""
    import http.client
    import urllib.parse
    password, secret = stack.users[user]
    connection = http.client.HTTPConnection("127.0.0.1", PORTCULLIS_PORT, timeout=10)
    connection.request("GET", "/login", headers={"Host": f"auth.home.test:{HTTPS_PORT}"})
    page = connection.getresponse()
    html = page.read().decode()
    csrf_cookie = next(value.split(";")[0] for name, value in page.getheaders() if name.lower() == "set-cookie" and "csrf" in value)
    token = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    body = urllib.parse.urlencode({"csrf": token, "username": user, "password": password, "code": totp(secret)})
    connection.request("POST", "/login", body=body, headers={"Host": f"auth.home.test:{HTTPS_PORT}", "Cookie": csrf_cookie,
                                                             "Content-Type": "application/x-www-form-urlencoded"})
    answer = connection.getresponse()
    answer.read()
    cookies = [value for name, value in answer.getheaders() if name.lower() == "set-cookie" and value.startswith("portcullis_session=")]
    expect(answer.status == 303 and cookies, "a login at the home.test portal", "303 with a session cookie", f"{answer.status} {cookies}")
    expect("Domain=home.test" in cookies[0], "the session is home.test's", "Domain=home.test", cookies[0])
    return cookies[0].split(";")[0].split("=", 1)[1]


def check_host_mismatch(stack, user):
    """A request line for app.example.com with `Host: app.home.test` and a home.test session must not
    reach the example.com app: nginx routes on the request line, so Portcullis must judge that host."""
    token = session_of_other_domain(stack, user)
    # Sanity: the same session opens nothing of example.com the ordinary way.
    ordinary = curl("-o", "/dev/null", "-w", "%{http_code}", "-H", "Accept: application/json", "--cookie", f"portcullis_session={token}", APP + "/")
    expect(ordinary == "401", "a home.test session on app.example.com", "401", ordinary)
    output = curl("-i", "--request-target", f"https://app.example.com:{HTTPS_PORT}/", "-H", "Host: app.home.test", "-H", "Accept: application/json",
                  "--cookie", f"portcullis_session={token}", f"https://app.example.com:{HTTPS_PORT}/")
    status = output.split(" ", 2)[1] if output.startswith("HTTP/") else output[:80]
    expect(status == "401" and user not in output, "absolute request line for app.example.com with Host: app.home.test",
           "401 and no Remote-User", output[:600])


def check_http_redirect():
    """nginx's port-80 server block sends plain http to https, path and query kept."""
    output = curl("--resolve", f"app.example.com:{HTTP_PORT}:127.0.0.1", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                  f"http://app.example.com:{HTTP_PORT}/reports?x=1")
    expect(output == "301 https://app.example.com/reports?x=1", "plain http on nginx's port 80 block", "301 to https", output)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True, help="the portcullis binary")
    parser.add_argument("--proxies", default="caddy,nginx,haproxy")
    parser.add_argument("--screenshots", help="save login page screenshots into this folder")
    parser.add_argument("--instances", type=int, default=1, help="serve instances sharing one PostgreSQL database (the shipped examples have 3)")
    arguments = parser.parse_args()
    if arguments.instances not in (1, 3):
        sys.exit("--instances: 1, or 3 as in the shipped examples for several instances")

    stack = Stack(arguments.bin, instances=arguments.instances)
    failures = 0
    driver = None
    try:
        proxies = arguments.proxies.split(",")
        for proxy in proxies:
            stack.add_user(f"alice-{proxy}", f"pass phrase for {proxy}")
        if "nginx" in proxies:
            stack.add_user("mallory-nginx", "pass phrase of mallory")
        stack.start_core()
        driver = make_browser()
        for proxy in proxies:
            print(f"{proxy}: ", end="", flush=True)
            try:
                since = instance_counts(stack) if stack.instances > 1 else None
                getattr(stack, f"start_{proxy}")()
                run_flows(stack, proxy, f"alice-{proxy}", driver, post_status=302 if proxy == "nginx" else 303)
                if proxy == "nginx":
                    check_host_mismatch(stack, "mallory-nginx")
                    check_http_redirect()
                if stack.instances > 1:
                    check_instances(stack, proxy, f"alice-{proxy}", driver, since)
                    print(f"{stack.instances} instances on PostgreSQL: ", end="", flush=True)
                if proxy == proxies[0]:
                    import account
                    checked = account.run_account_flows(stack, proxy, driver, shots=arguments.screenshots)
                    print(f"account pages passed (axe-core: {checked} page views without serious or critical violations); ", end="", flush=True)
                print("all flows passed")
                if arguments.screenshots and proxy == proxies[0]:
                    screenshots(driver, arguments.screenshots, stack, f"alice-{proxy}")
            except Exception as error:  # report and go on with the next proxy
                failures += 1
                print(f"FAILED\n{error}")
                if not isinstance(error, Failure):
                    traceback.print_exc()
                print(stack.logs())
            finally:
                stack.stop(proxy)
                stack.extra_logs = []
    finally:
        if driver:
            driver.quit()
        stack.cleanup()
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
