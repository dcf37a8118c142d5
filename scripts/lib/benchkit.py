"""What the benchmark scripts (scripts/bench.py, scripts/bench-instances.py) share: logging, a
plain request, the failure that stops a run before measuring, and the report's notes on wrk and
the build."""
import http.client
import os
import subprocess
import sys


def log(message):
    print(message, file=sys.stderr, flush=True)


class Failure(Exception):
    """Something could not be run, or answered wrongly before any measuring."""


def request(port, path, headers=None, method="GET", body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def expect(what, status, wanted):
    if status != wanted:
        raise Failure(f"{what}: answered {status}, expected {wanted}")


def rate_text(rate):
    return f"{rate:,.0f}".replace(",", " ") + " req/s"


def wrk_version():
    output = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    words = (output.stdout + output.stderr).split()
    return words[1] if len(words) > 1 else "?"


def build_kind(binary):
    if os.environ.get("BENCH_BUILD"):
        return os.environ["BENCH_BUILD"]
    parts = os.path.realpath(binary).split(os.sep)
    if "release" in parts:
        return "release (by its path)"
    if "debug" in parts:
        return "**debug** (by its path): the figures mean nothing"
    return "unknown (set BENCH_BUILD)"


def interrupt(*_):
    raise KeyboardInterrupt
