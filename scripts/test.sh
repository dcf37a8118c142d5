#!/usr/bin/env bash
# Runs every Portcullis test. On a fresh Debian machine it first installs the real tools the tests
# check our output against (oathtool, zbarimg, htpasswd, ImageMagick), when run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

needed=()
command -v oathtool >/dev/null || needed+=(oathtool)
command -v zbarimg >/dev/null || needed+=(zbar-tools)
command -v htpasswd >/dev/null || needed+=(apache2-utils)
dpkg -s imagemagick >/dev/null 2>&1 || needed+=(imagemagick)
command -v sqlite3 >/dev/null || needed+=(sqlite3)
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

swift build --build-tests
swift test --skip-build "$@"
