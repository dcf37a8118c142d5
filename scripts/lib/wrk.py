"""Runs wrk and reads its summary.

    result = run("http://127.0.0.1:9091/api/authz/forward-auth", seconds=10, headers={"Cookie": "..."})
    result.rate, result.p99, result.errors
"""
import os
import re
import subprocess
from dataclasses import dataclass, field

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _seconds(text):
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass
class Result:
    requests: int
    duration: float
    rate: float
    percentiles: dict          # {50: seconds, 75: ..., 90: ..., 99: ...}
    errors: int                # answers with a status of 400 or more (wrk's "Non-2xx or 3xx")
    socket_errors: dict        # connect, read, write, timeout
    output: str
    lines: list = field(default_factory=list)   # what the script's done() printed

    @property
    def p99(self):
        return self.percentiles[99]


def parse(output):
    requests = re.search(r"^\s*(\d+) requests in ([0-9.]+\w+)", output, re.M)
    rate = re.search(r"^Requests/sec:\s+([0-9.]+)", output, re.M)
    if not requests or not rate:
        raise RuntimeError("wrk printed no summary:\n" + output[-2000:])
    percentiles = {int(p): _seconds(value) for p, value in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    socket_errors = dict(zip(("connect", "read", "write", "timeout"), map(int, sockets.groups()))) if sockets else \
        {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    return Result(requests=int(requests.group(1)), duration=_seconds(requests.group(2)), rate=float(rate.group(1)),
                  percentiles=percentiles, errors=int(errors.group(1)) if errors else 0, socket_errors=socket_errors,
                  output=output, lines=[line for line in output.splitlines() if line.startswith("bench ")])


def command(url, seconds, headers=None, script=None, threads=2, connections=64, timeout=None):
    arguments = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--latency"]
    if timeout:
        arguments.append(f"--timeout={int(timeout)}s")
    for name, value in (headers or {}).items():
        arguments += ["-H", f"{name}: {value}"]
    if script:
        arguments += ["-s", script]
    return arguments + [url]


def run(url, seconds, headers=None, script=None, env=None, threads=2, connections=64):
    """Runs wrk to the end; raises when it fails or prints no summary."""
    arguments = command(url, seconds, headers, script, threads, connections)
    completed = subprocess.run(arguments, capture_output=True, text=True, env=dict(os.environ, **(env or {})),
                               timeout=seconds + 60)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}")
    return parse(completed.stdout)
