#!/usr/bin/env python3
"""Measures what a failing login tells by its timing (issue 10, section 6).

Every failing login must cost the same whatever the user's stored hash: an unknown user, a user
imported from `htpasswd -B -C 5` (a cheap bcrypt), a user with devices of two code lengths, a
disabled user and an ordinary user are each tried with a wrong password, interleaved so that noise
hits all alike, through the login form and through HTTP Basic. Prints the median time of each as a
ratio to the unknown user's, and fails when one is off by more than the tolerance.

It also asks for invitation links that cannot be used (unknown, malformed, expired, used, voided,
of a disabled user): each must get the same page with 404 in the same time.

Usage: scripts/timing.py --bin .build/debug/portcullis [--attempts 200] [--tolerance 0.10]
"""
import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from portcullis import Server, totp  # noqa: E402

KINDS = ["unknown", "ordinary", "bcrypt-cost-5", "mixed-lengths", "disabled"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--attempts", type=int, default=200)
    parser.add_argument("--tolerance", type=float, default=0.10)
    parser.add_argument("--link-tolerance", type=float, default=0.25, help="for invitation links, answered in well under a millisecond")
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
        failures += unusable_links(server, arguments.attempts * 5, arguments.link_tolerance)
    sys.exit(1 if failures else 0)


LINKS = ["unknown", "malformed", "expired", "used", "voided", "disabled"]


def unusable_links(server, attempts, tolerance):
    """An invitation link that cannot be used must not tell why by its answer or its timing: each
    kind is asked for interleaved, and its median compared with an unknown link's."""
    import json
    import re
    import time
    import urllib.parse

    def invite(name, *extra):
        return json.loads(server.cli("user", "invite", name, "--json", *extra))["url"].split("token=", 1)[1]

    tokens = {"unknown": "A" * 43, "malformed": "%00x"}
    tokens["expired"] = invite("link-expired", "--expires", "1s")
    tokens["voided"] = invite("link-voided")
    invite("link-voided")
    tokens["disabled"] = invite("link-disabled")
    server.cli("user", "disable", "link-disabled")
    tokens["used"] = invite("link-used")
    # Use one link up, as a person would.
    connection = server.connection()
    connection.request("GET", "/enroll?token=" + tokens["used"], headers={"Host": "auth.example.com"})
    page = connection.getresponse()
    html = page.read().decode()
    cookie = next(value.split(";")[0] for name, value in page.getheaders() if name.lower() == "set-cookie" and "csrf" in value)
    field = lambda name: re.search(f'name="{name}" value="([^"]+)"', html).group(1)
    secret = re.search(r'<p class="secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    body = urllib.parse.urlencode({"csrf": field("csrf"), "token": tokens["used"], "pending": field("pending"), "password": "a long pass phrase",
                                   "password2": "a long pass phrase", "label": "Phone", "code": totp(secret)})
    connection.request("POST", "/enroll", body=body, headers={"Host": "auth.example.com", "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    done = connection.getresponse()
    done.read()
    if done.status != 200:
        raise SystemExit(f"completing an invitation answered {done.status}")
    time.sleep(1.1)  # the expired link's second passes
    times = {kind: [] for kind in LINKS}
    bodies = {}
    for _ in range(attempts):
        for kind in LINKS:
            start = time.perf_counter()
            connection.request("GET", "/enroll?token=" + tokens[kind], headers={"Host": "auth.example.com"})
            response = connection.getresponse()
            text = response.read().decode()
            times[kind].append(time.perf_counter() - start)
            if response.status != 404:
                raise SystemExit(f"the {kind} link answered {response.status}, not 404")
            bodies[kind] = re.sub(r'nonce="[^"]*"', "", text)
    if len(set(bodies.values())) != 1:
        raise SystemExit("the pages of unusable links differ: " + ", ".join(f"{kind}: {len(text)} bytes" for kind, text in bodies.items()))
    failures = 0
    base = statistics.median(times["unknown"])
    print(f"median time of an unusable invitation link, {attempts} requests each, as a ratio to an unknown link's (same page, 404, for all)")
    for kind in LINKS:
        median = statistics.median(times[kind])
        ratio = median / base
        verdict = "ok" if abs(ratio - 1) <= tolerance else "OFF"
        failures += verdict != "ok"
        print(f"  link  {kind:14} median {median * 1000:7.3f} ms   ratio {ratio:5.2f}   {verdict}")
    return failures


if __name__ == "__main__":
    main()
