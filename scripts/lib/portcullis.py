"""A Portcullis server in a folder of its own, for the scripts that measure it from outside.

    with Server(binary, env={"PORTCULLIS_REGULATION_MAX_RETRIES": "1000"}) as server:
        server.cli("user", "add", "alice", "--password-stdin", stdin="a secret phrase\n")
        status, headers, seconds = server.post_login("alice", "a secret phrase", "123456")
"""
import base64
import hashlib
import hmac
import http.client
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
import urllib.parse


def totp(secret, at=None, digits=6):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at if at is not None else time.time()) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 15
    return str((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 10 ** digits).zfill(digits)


class Server:
    def __init__(self, binary, port=19491, env=None, config=None):
        """`config`: YAML written to portcullis.yml in the server's folder and given to `serve`."""
        self.binary = os.path.abspath(binary)
        self.port = port
        self.work = tempfile.mkdtemp(prefix="portcullis-script-")
        self.serve_arguments = ["serve"]
        if config is not None:
            with open(os.path.join(self.work, "portcullis.yml"), "w") as file:
                file.write(config)
            self.serve_arguments += ["--config", "portcullis.yml"]
        self.env = dict(os.environ, PORTCULLIS_CONFIG="none", PORTCULLIS_SERVER_LISTEN=f"127.0.0.1:{port}",
                        PORTCULLIS_SESSION_COOKIES_0_DOMAIN="example.com",
                        PORTCULLIS_SESSION_COOKIES_0_PORTAL_URL="https://auth.example.com", **(env or {}))
        self.process = None
        self.log = os.path.join(self.work, "serve.log")

    @classmethod
    def attach(cls, binary, port):
        """A handle on a server another process started (for requests only)."""
        server = cls.__new__(cls)
        server.binary, server.port, server.process = binary, port, None
        return server

    def cli(self, *arguments, stdin=None, check=True):
        return subprocess.run([self.binary, *arguments], cwd=self.work, env=self.env, input=stdin,
                              capture_output=True, text=True, check=check).stdout

    def start(self, poll=0.1, timeout=30):
        """Starts `portcullis serve` and waits until /api/health answers 200; `startup_seconds` is
        then the time from starting the process to that answer (to within `poll` seconds)."""
        began = time.perf_counter()
        self.process = subprocess.Popen([self.binary, *self.serve_arguments], cwd=self.work, env=self.env,
                                        stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("portcullis serve exited:\n" + open(self.log).read()[-3000:])
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/api/health")
                if connection.getresponse().status == 200:
                    self.startup_seconds = time.perf_counter() - began
                    connection.close()
                    return self
            except OSError:
                pass
            time.sleep(poll)
        raise RuntimeError(f"portcullis serve did not answer /api/health in {timeout} s")

    @property
    def pid(self):
        return self.process.pid

    @property
    def database(self):
        """The SQLite store (the default storage.sqlite.path, relative to the server's folder)."""
        return os.path.join(self.work, self.env.get("PORTCULLIS_STORAGE_SQLITE_PATH", "portcullis-data/portcullis.sqlite3"))

    def __enter__(self):
        return self

    def __exit__(self, *error):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.work, ignore_errors=True)

    def connection(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def login_form(self, connection, forwarded_for=None):
        """The CSRF cookie and token of a fresh login page."""
        headers = {"Host": "auth.example.com"}
        if forwarded_for:
            headers["X-Forwarded-For"] = forwarded_for
        connection.request("GET", "/login", headers=headers)
        page = connection.getresponse()
        html = page.read().decode()
        cookie = next(value.split(";")[0] for name, value in page.getheaders() if name.lower() == "set-cookie" and "csrf" in value)
        return cookie, re.search(r'name="csrf" value="([^"]+)"', html).group(1)

    def post_login(self, user, password, code, forwarded_for=None, connection=None, form=None):
        """Posts the login form; returns (status, headers, seconds the POST took)."""
        connection = connection or self.connection()
        cookie, token = form or self.login_form(connection, forwarded_for)
        body = urllib.parse.urlencode({"csrf": token, "username": user, "password": password, "code": code})
        headers = {"Host": "auth.example.com", "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
        if forwarded_for:
            headers["X-Forwarded-For"] = forwarded_for
        start = time.perf_counter()
        connection.request("POST", "/login", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        headers = dict((name.lower(), value) for name, value in response.getheaders())
        headers["set-cookie"] = [value for name, value in response.getheaders() if name.lower() == "set-cookie"]
        return response.status, headers, time.perf_counter() - start

    def log_in(self, user, password, secret, forwarded_for=None):
        """Logs in with the current code of `secret`; returns the session token."""
        status, headers, _ = self.post_login(user, password, totp(secret), forwarded_for)
        tokens = [value.split(";")[0].split("=", 1)[1] for value in headers["set-cookie"] if value.startswith("portcullis_session=")]
        if status != 303 or not tokens:
            raise RuntimeError(f"login of {user} failed: {status}")
        return tokens[0]

    def add_user(self, name, password, *otp_arguments):
        """Adds a user with a TOTP device (extra `user otp add` arguments allowed); returns the secret."""
        import json
        if password is not None:
            self.cli("user", "add", name, "--password-stdin", stdin=password + "\n")
        else:
            self.cli("user", "add", name)
        return json.loads(self.cli("user", "otp", "add", name, "--json", *otp_arguments))["secret"]

    def basic(self, user, password, forwarded_for="192.0.2.10", connection=None):
        """A script's forward-auth request with Basic credentials; returns (status, seconds)."""
        connection = connection or self.connection()
        credential = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example.com", "X-Forwarded-URI": "/",
                   "X-Forwarded-Method": "GET", "Accept": "*/*", "Authorization": "Basic " + credential, "X-Forwarded-For": forwarded_for}
        start = time.perf_counter()
        connection.request("GET", "/api/authz/forward-auth", headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - start

    def verify(self, session, connection=None):
        connection = connection or self.connection()
        headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example.com", "X-Forwarded-URI": "/",
                   "X-Forwarded-Method": "GET", "Accept": "application/json", "Cookie": f"portcullis_session={session}"}
        connection.request("GET", "/api/authz/forward-auth", headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
