#!/usr/bin/env python3
"""Compares the verify throughput of several portcullis binaries on this machine, alternating them.

Each binary gets its own server (one user, one session) and is measured in turn with wrk (2 threads,
64 connections, a valid session, the forward-auth endpoint), round after round, so that noise from
the machine hits all of them alike; the medians and every run are printed. For an A/B of a change:

  scripts/compare-verify.py --bin before=/tmp/old/.build/release/portcullis --bin after=.build/release/portcullis

Build both the same way (the test run's release build is --static-swift-stdlib, which is itself
faster than a shared-library build). The figures are requests per second, not ratios to a floor:
compare them only within one run.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from portcullis import Server  # noqa: E402
import wrk  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", action="append", required=True, metavar="NAME=PATH", help="a binary to measure (twice or more)")
    parser.add_argument("--rounds", type=int, default=4, help="runs of each binary (default 4)")
    parser.add_argument("--seconds", type=int, default=8, help="length of one run (default 8)")
    arguments = parser.parse_args()
    binaries = {}
    for entry in arguments.bin:
        name, _, path = entry.partition("=")
        if not path or not os.access(path, os.X_OK):
            parser.error(f"--bin {entry}: give NAME=PATH of an executable")
        binaries[name] = path

    servers = {}
    try:
        for index, (name, path) in enumerate(binaries.items()):
            server = Server(path, port=19600 + index).__enter__()
            servers[name] = server
            secret = server.add_user("alice", "correct horse battery")
            server.start()
            server.token = server.log_in("alice", "correct horse battery", secret)
        rates = {name: [] for name in binaries}
        for _ in range(arguments.rounds):
            for name, server in servers.items():
                headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example.com", "X-Forwarded-Uri": "/",
                           "Cookie": f"portcullis_session={server.token}"}
                result = wrk.run(f"http://127.0.0.1:{server.port}/api/authz/forward-auth", arguments.seconds, headers=headers)
                if result.errors or any(result.socket_errors.values()):
                    sys.exit(f"{name}: {result.errors} refusals, socket errors {result.socket_errors}")
                rates[name].append(result.rate)
        for name, values in rates.items():
            ordered = sorted(values)
            print(f"{name:24s} median {ordered[len(ordered) // 2]:9.0f} requests/s   runs: {', '.join(f'{v:.0f}' for v in values)}")
    finally:
        for server in servers.values():
            server.__exit__()


if __name__ == "__main__":
    main()
