#!/usr/bin/env bash
# Runs the release binary on a fresh Debian 12 with no Swift: a `debootstrap --variant=minbase
# bookworm` root filesystem (made once and cached as a tar), the release tarball unpacked into it,
# and in a chroot: `portcullis --version`, `user add`, `user otp add`, `serve` on 127.0.0.1, a login
# through the form (the chroot shares the network, so the HTTP client runs outside, with python3)
# and forward-auth with the session cookie. Prints the binary's size and the server's idle RSS.
#
# The chroot gets /proc mounted and nothing else (debootstrap's /dev has null, zero, random,
# urandom, tty): the Swift runtime reads its arguments from /proc/self/cmdline, and without /proc
# every command prints the top-level help and exits 0.
#
# Needs root (chroot, mount); installs debootstrap with apt-get when missing.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/release-test.sh [--tarball FILE | [--skip-build] [--build-path DIR]]
                               [--rootfs-cache FILE] [--refresh-rootfs] [--mirror URL] [--keep]

  --tarball FILE       Test this tarball (from scripts/release.sh).
  --skip-build         Without --tarball: package the existing static binary
                       (scripts/release.sh --skip-build) instead of building it.
  --build-path DIR     Passed to scripts/release.sh (default there: .build-static).
  --rootfs-cache FILE  The cached Debian 12 minbase root filesystem, a tar (default
                       /var/cache/portcullis/debian-bookworm-minbase.tar, or
                       $PORTCULLIS_ROOTFS_CACHE). Made with debootstrap when missing (about 30 s).
  --refresh-rootfs     Make the cached root filesystem anew.
  --mirror URL         Debian mirror for debootstrap (default: the one apt uses for bookworm,
                       from `apt-get indextargets`, else http://deb.debian.org/debian).
  --keep               Keep the test's folder (root filesystem, server log) for a look.
  -h, --help           This text.
EOF
}

cd "$(dirname "$0")/.."
repo=$(pwd)
tarball=
release_args=()
rootfs_cache=${PORTCULLIS_ROOTFS_CACHE:-/var/cache/portcullis/debian-bookworm-minbase.tar}
refresh_rootfs=false
mirror=
keep=false
while [ $# -gt 0 ]; do
  case "$1" in
    --tarball) tarball=${2:?--tarball needs a file}; shift 2 ;;
    --tarball=*) tarball=${1#*=}; shift ;;
    --skip-build) release_args+=(--skip-build); shift ;;
    --build-path) release_args+=(--build-path "${2:?--build-path needs a folder}"); shift 2 ;;
    --build-path=*) release_args+=(--build-path "${1#*=}"); shift ;;
    --rootfs-cache) rootfs_cache=${2:?--rootfs-cache needs a file}; shift 2 ;;
    --rootfs-cache=*) rootfs_cache=${1#*=}; shift ;;
    --refresh-rootfs) refresh_rootfs=true; shift ;;
    --mirror) mirror=${2:?--mirror needs a URL}; shift 2 ;;
    --mirror=*) mirror=${1#*=}; shift ;;
    --keep) keep=true; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "release-test.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "release-test.sh must run as root (debootstrap, chroot, mount)" >&2
  exit 1
fi
command -v python3 >/dev/null || { echo "release-test.sh needs python3 on the host" >&2; exit 1; }

passed=0
pass() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { echo "FAILED: $*" >&2; echo "release-test: $passed passed, 1 failed"; exit 1; }

# --- the tarball -----------------------------------------------------------------------------
if [ -z "$tarball" ]; then
  release_output=$(scripts/release.sh "${release_args[@]}" | tee /dev/stderr)
  tarball=$(sed -n 's/^tarball: //p' <<<"$release_output" | tail -1)
fi
[ -f "$tarball" ] || fail "no tarball at '$tarball'"
tarball=$(realpath "$tarball")
name=$(tar -tzf "$tarball" | awk -F/ 'NR == 1 { print $1 }')
version=${name#portcullis-}
[[ $name == portcullis-* && -n $version ]] || fail "$tarball does not hold a portcullis-<version>/ folder"
tar -tzf "$tarball" "$name/bin/portcullis" >/dev/null 2>&1 || fail "$tarball has no $name/bin/portcullis"

# --- the cached Debian 12 minbase root filesystem ---------------------------------------------
if $refresh_rootfs || [ ! -s "$rootfs_cache" ]; then
  if ! command -v debootstrap >/dev/null; then
    echo "Installing debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  if [ -z "$mirror" ]; then
    # shellcheck disable=SC2016 # apt's own $(FIELD) placeholders
    mirror=$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' 'Created-By: Packages' 2>/dev/null \
      | awk '$2 == "bookworm" { print $1; exit }')
    mirror=${mirror:-http://deb.debian.org/debian}
  fi
  mkdir -p "$(dirname "$rootfs_cache")"
  bootstrap=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-debootstrap.XXXXXX")
  echo "== debootstrap --variant=minbase bookworm from $mirror (once; cached in $rootfs_cache)"
  started=$(date +%s)
  if ! debootstrap --variant=minbase bookworm "$bootstrap/root" "$mirror" >"$bootstrap/debootstrap.log" 2>&1; then
    tail -20 "$bootstrap/debootstrap.log" >&2
    # debootstrap may leave /proc or /sys mounted when it fails: never remove through a mount.
    awk -v r="$bootstrap/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r | while read -r mounted; do
      umount "$mounted" 2>/dev/null || umount -l "$mounted" || true
    done
    grep -q " $bootstrap/" /proc/mounts || rm -rf "$bootstrap"
    fail "debootstrap failed (log above)"
  fi
  # The downloaded packages and index files are not part of a system that runs Portcullis.
  rm -rf "$bootstrap/root/var/cache/apt/archives/"*.deb "$bootstrap/root/var/lib/apt/lists/"*
  tar --numeric-owner -C "$bootstrap/root" -cf "$rootfs_cache.tmp" .
  mv "$rootfs_cache.tmp" "$rootfs_cache"
  grep -q " $bootstrap/" /proc/mounts || rm -rf "$bootstrap"
  echo "   made in $(( $(date +%s) - started )) s ($(du -h "$rootfs_cache" | cut -f1))"
fi

# --- a fresh copy of it, cleaned up whatever happens ------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-release-test.XXXXXX")
root="$work/root"
server_pid=
cleanup() {
  local status=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  # Any other process still running in the root (a command that hung), by its id.
  for link in /proc/[0-9]*/root; do
    if [ "$(readlink "$link" 2>/dev/null)" = "$root" ]; then
      pid=${link#/proc/}; pid=${pid%/root}
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  if mountpoint -q "$root/proc" 2>/dev/null; then
    umount "$root/proc" 2>/dev/null || umount -l "$root/proc" || true
  fi
  if grep -q " $root/" /proc/mounts; then
    echo "release-test.sh: something is still mounted under $root; not removing $work" >&2
  elif $keep; then
    echo "Kept $work (root filesystem in $root, server log in $work/serve.log)"
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$root"
tar --numeric-owner -C "$root" -xf "$rootfs_cache"
if [ ! -x "$root/bin/sh" ] || [ ! -x "$root/usr/bin/env" ]; then fail "$rootfs_cache is not a root filesystem"; fi
tar -C "$root/opt" -xzf "$tarball"
binary="/opt/$name/bin/portcullis"

# No Swift anywhere in the root, the tarball included.
swift_files=$(cd "$root" && find . \( -name swift -o -name 'swift-*' -o -name 'libswift*' -o -name 'libFoundation*.so*' \
  -o -name 'lib_FoundationICU*' -o -name 'libdispatch.so*' -o -name 'libBlocksRuntime*' \) -print | awk 'NR <= 5')
[ -z "$swift_files" ] || fail "Swift files in the root filesystem: $swift_files"
pass "no Swift in the root filesystem (Debian $(cat "$root/etc/debian_version") minbase, $(du -sh "$root" | cut -f1))"

mount -t proc proc "$root/proc"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data=/var/lib/portcullis
environment=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
  PORTCULLIS_CONFIG=none "PORTCULLIS_STORAGE_SQLITE_PATH=$data/portcullis.sqlite3"
  "PORTCULLIS_SERVER_LISTEN=127.0.0.1:$port"
  PORTCULLIS_SESSION_COOKIES_0_DOMAIN=example.com
  PORTCULLIS_SESSION_COOKIES_0_PORTAL_URL=https://auth.example.com)
in_root() { chroot "$root" /usr/bin/env -i "${environment[@]}" "$@"; }

if in_root sh -c 'command -v swift' >/dev/null; then fail "swift is on the chroot's PATH"; fi
missing=$(in_root ldd "$binary" 2>&1 | grep -E 'not found|libswift' || true)
[ -z "$missing" ] || fail "$binary needs libraries the root filesystem lacks:"$'\n'"$missing"
pass "ldd: all libraries found ($(in_root ldd "$binary" | awk '/=>/ { print $1 }' | tr '\n' ' '))"

printed=$(in_root "$binary" --version 2>&1) || fail "portcullis --version failed: $printed"
[ "$printed" = "$version" ] || fail "portcullis --version printed '$printed', expected '$version'"
pass "portcullis --version: $printed"

password='a release test passphrase'
added=$(printf '%s\n' "$password" | in_root "$binary" user add alice --password-stdin 2>&1) \
  || fail "portcullis user add failed: $added"
pass "portcullis user add alice"
otp_json=$(in_root "$binary" user otp add alice --json 2>/dev/null) || fail "portcullis user otp add failed"
secret=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["secret"])' <<<"$otp_json") \
  || fail "user otp add --json printed no secret: $otp_json"
pass "portcullis user otp add alice --json"

# A simple command in the background: chroot execs env, which execs portcullis, so $! is its pid.
chroot "$root" /usr/bin/env -i "${environment[@]}" "$binary" serve >"$work/serve.log" 2>&1 &
server_pid=$!

# From outside: wait for /api/health, read the idle RSS, log in with the form, verify the cookie.
figures=$(PYTHONPATH="$repo/scripts/lib" python3 - "$port" "$server_pid" "$password" "$secret" <<'EOF'
import http.client, sys, time
from portcullis import Server, totp

port, pid, password, secret = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
server = Server.attach(None, port)

def status_kb(field="VmRSS"):
    with open(f"/proc/{pid}/status") as status:
        return int(next(line.split()[1] for line in status if line.startswith(field + ":")))

began, deadline = time.perf_counter(), time.time() + 30
while True:
    try:
        with open(f"/proc/{pid}/status"):
            pass
    except FileNotFoundError:
        sys.exit("portcullis serve exited before answering /api/health")
    try:
        connection = server.connection(timeout=2)
        connection.request("GET", "/api/health")
        if connection.getresponse().status == 200:
            break
    except OSError:
        pass
    if time.time() > deadline:
        sys.exit("portcullis serve did not answer /api/health in 30 s")
    time.sleep(0.1)
startup = time.perf_counter() - began
time.sleep(2)
idle, anon, file = status_kb(), status_kb("RssAnon"), status_kb("RssFile")

if server.verify("no-such-session") != 401:
    sys.exit("forward-auth without a session did not answer 401")
status, headers, seconds = server.post_login("alice", password, totp(secret))
cookies = [value.split(";")[0] for value in headers["set-cookie"] if value.startswith("portcullis_session=")]
if status != 303 or not cookies:
    sys.exit(f"POST /login answered {status} with cookies {headers['set-cookie']}, expected 303 and portcullis_session")
session = cookies[0].split("=", 1)[1]
verified = server.verify(session)
if verified != 200:
    sys.exit(f"forward-auth with the session cookie answered {verified}, expected 200")
print(f"{startup:.2f} {idle} {anon} {file} {seconds:.2f} {status_kb()}")
EOF
) || { tail -20 "$work/serve.log" >&2; fail "the login through the chroot's server"; }
read -r startup_seconds idle_rss_kb idle_anon_kb idle_file_kb login_seconds rss_after_login_kb <<<"$figures"
pass "serve: /api/health in ${startup_seconds} s; POST /login 303 with a session cookie (${login_seconds} s); forward-auth 200 with it"

kill -TERM "$server_pid"
exit_status=0
for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$server_pid" 2>/dev/null && fail "portcullis serve did not stop within 10 s of SIGTERM"
wait "$server_pid" || exit_status=$?
server_pid=
[ "$exit_status" -eq 0 ] || { tail -20 "$work/serve.log" >&2; fail "portcullis serve exited with $exit_status on SIGTERM"; }
pass "serve stopped on SIGTERM (exit 0)"

size=$(tar -tvzf "$tarball" "$name/bin/portcullis" | awk '{ print $3 }')
megabytes() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1000000 }'; }
echo
echo "portcullis $version on Debian $(cat "$root/etc/debian_version") minbase, no Swift:"
echo "  binary:   $(megabytes "$size") ($size bytes, stripped)"
echo "  idle RSS: $(megabytes $((idle_rss_kb * 1024))) (VmRSS, 2 s after /api/health first answered;" \
     "private $(megabytes $((idle_anon_kb * 1024))), file pages $(megabytes $((idle_file_kb * 1024))))"
echo "  RSS after one login: $(megabytes $((rss_after_login_kb * 1024)))"
echo "release-test: $passed passed, 0 failed"
