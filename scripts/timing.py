#!/usr/bin/env python3
"""Measures what a failing login tells by its timing (issue 10, section 6).

Every failing login must cost the same whatever the user's stored hash: an unknown user, a user
imported from `htpasswd -B -C 5` (a cheap bcrypt), a user with devices of two code lengths, a
disabled user and an ordinary user are each tried with a wrong password, interleaved so that noise
hits all alike, through the login form and through HTTP Basic. Prints the median time of each as a
ratio to the unknown user's, and fails when one is off by more than the tolerance.

Usage: scripts/timing.py --bin .build/debug/portcullis [--attempts 200] [--tolerance 0.10]
"""
import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from portcullis import Server  # noqa: E402

KINDS = ["unknown", "ordinary", "bcrypt-cost-5", "mixed-lengths", "disabled"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--attempts", type=int, default=200)
    parser.add_argument("--tolerance", type=float, default=0.10)
    arguments = parser.parse_args()
    # Failures expire after a second, so thousands of them from one address never ban it.
    env = {"PORTCULLIS_REGULATION_MAX_RETRIES": "1000", "PORTCULLIS_REGULATION_FIND_TIME": "1s", "PORTCULLIS_REGULATION_MAX_OTP_FAILURES": "0"}
    with Server(arguments.bin, port=19492, env=env) as server:
        server.add_user("ordinary", "right password")
        hashed = subprocess.run(["htpasswd", "-nbB", "-C", "5", "bcrypt-cost-5", "right password"], capture_output=True, text=True, check=True).stdout
        htpasswd = os.path.join(server.work, "users.htpasswd")
        with open(htpasswd, "w") as handle:
            handle.write(hashed)
        server.cli("import", "htpasswd", htpasswd)
        server.cli("user", "otp", "add", "bcrypt-cost-5", "--json")
        server.add_user("mixed-lengths", "right password")
        server.cli("user", "otp", "add", "mixed-lengths", "--label", "long", "--digits", "8", "--json")
        server.add_user("disabled", "right password")
        server.cli("user", "disable", "disabled")
        server.start()
        name = {"unknown": "nobody-here"}
        failures = 0
        print(f"median time of a failing login, {arguments.attempts} attempts each, as a ratio to an unknown user's")
        for mode in ("form", "basic"):
            times = {kind: [] for kind in KINDS}
            connection = server.connection()
            for attempt in range(arguments.attempts):
                for kind in KINDS:
                    user = name.get(kind, kind)
                    if mode == "form":
                        status, _, seconds = server.post_login(user, "wrong password", "000000", connection=connection)
                        expected = 401
                    else:
                        status, seconds = server.basic(user, "wrong password12345678", connection=connection)
                        expected = 401
                    if status != expected:
                        raise SystemExit(f"{mode} attempt for {kind} answered {status}, not {expected}")
                    times[kind].append(seconds)
            base = statistics.median(times["unknown"])
            for kind in KINDS:
                median = statistics.median(times[kind])
                ratio = median / base
                verdict = "ok" if abs(ratio - 1) <= arguments.tolerance else "OFF"
                failures += verdict != "ok"
                print(f"  {mode:5} {kind:14} median {median * 1000:7.1f} ms   ratio {ratio:5.2f}   {verdict}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
