#!/usr/bin/env bash
# Runs every Portcullis test. On a fresh Debian machine it first installs the real tools the tests
# check our output against (oathtool, zbarimg, htpasswd, ImageMagick) and run it behind (Caddy,
# nginx, HAProxy, Chromium with selenium, wrk for the login flood, debootstrap for a Debian 12
# without Swift to run the release on, PostgreSQL for a throw-away cluster), when run as root.
# With arguments (e.g. --filter LoginTests) only the matching Swift tests run, without the
# end-to-end run behind the proxies.
set -euo pipefail
cd "$(dirname "$0")/.."

needed=()
command -v oathtool >/dev/null || needed+=(oathtool)
command -v zbarimg >/dev/null || needed+=(zbar-tools)
command -v htpasswd >/dev/null || needed+=(apache2-utils)
dpkg -s imagemagick >/dev/null 2>&1 || needed+=(imagemagick)
command -v sqlite3 >/dev/null || needed+=(sqlite3)
command -v curl >/dev/null || needed+=(curl)
command -v openssl >/dev/null || needed+=(openssl)
command -v caddy >/dev/null || needed+=(caddy)
command -v nginx >/dev/null || needed+=(nginx)
command -v haproxy >/dev/null || needed+=(haproxy)
command -v chromium >/dev/null || needed+=(chromium)
command -v chromedriver >/dev/null || needed+=(chromium-driver)
command -v fail2ban-regex >/dev/null || needed+=(fail2ban)
command -v wrk >/dev/null || needed+=(wrk)
command -v debootstrap >/dev/null || needed+=(debootstrap)
command -v readelf >/dev/null || needed+=(binutils)
command -v systemd-analyze >/dev/null || needed+=(systemd)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || needed+=(postgresql)
command -v psql >/dev/null || needed+=(postgresql-client)
if [ ${#needed[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "Installing test tools: ${needed[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${needed[@]}" >/dev/null
  else
    echo "Missing test tools: ${needed[*]}. Install them with: sudo apt-get install ${needed[*]}" >&2
    exit 1
  fi
fi

if ! python3 -c 'import selenium' 2>/dev/null; then
  echo "Installing selenium (pip)"
  python3 -m pip install -q --root-user-action=ignore selenium
fi
# axe-core (bundled in the package, so it works offline), for the accessibility checks of the
# end-to-end tests.
if ! python3 -c 'import selenium_axe_python' 2>/dev/null; then
  echo "Installing selenium-axe-python (pip)"
  python3 -m pip install -q --root-user-action=ignore selenium-axe-python
fi
# Prometheus's own text-format parser, for the metrics tests.
if ! python3 -c 'import prometheus_client' 2>/dev/null; then
  echo "Installing prometheus-client (pip)"
  python3 -m pip install -q --root-user-action=ignore prometheus-client
fi

# A throw-away PostgreSQL cluster (Unix socket only) for the PostgreSQL store's tests; stopped and
# removed however this script ends.
postgres_dir=$(mktemp -d /tmp/portcullis-postgres.XXXXXX)
trap 'scripts/lib/postgres-cluster.sh stop "$postgres_dir"' EXIT
scripts/lib/postgres-cluster.sh start "$postgres_dir"
export PORTCULLIS_TEST_POSTGRES="$postgres_dir"

swift build --build-tests
swift test --skip-build "$@"
if [ $# -eq 0 ]; then
  python3 scripts/e2e/run.py --bin "$(swift build --show-bin-path)/portcullis"
  # Three instances on the PostgreSQL cluster, behind each proxy's shipped example for several
  # instances in turn (one set of instances for the three): every flow again.
  python3 scripts/e2e/run.py --bin "$(swift build --show-bin-path)/portcullis" --proxies caddy,nginx,haproxy --instances 3
  # What is measured from outside needs a release build: a debug build's scrypt is ten times slower.
  # It is the build a release ships (the Swift runtime linked in), so it is built once and used
  # for the release check as well as for the measurements below.
  swift build -c release --product portcullis --static-swift-stdlib
  release="$(swift build -c release --show-bin-path)/portcullis"
  # The release tarball, run on a fresh Debian 12 (debootstrap, chroot) where no Swift is installed.
  tarball=$(scripts/release.sh --skip-build --build-path .build --output-dir "$(mktemp -d)" | sed -n 's/^tarball: //p')
  scripts/release-test.sh --tarball "$tarball"
  python3 scripts/flood.py --bin "$release"
  python3 scripts/timing.py --bin "$release" --attempts 60
  # The benchmark with tiny durations, to keep it working (its figures mean nothing here).
  PORTCULLIS_BINARY="$release" scripts/bench.sh --quick
  # The same for three instances on PostgreSQL against one (docs/scaling.md), on the cluster above.
  python3 scripts/bench-instances.py --bin "$release" --quick
  # A short pass of every fuzz target (scripts/fuzz.sh 300 for a campaign).
  scripts/fuzz.sh 3
fi
