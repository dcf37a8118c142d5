#!/usr/bin/env bash
# Builds a release of Portcullis that runs without Swift installed: `portcullis` built with
# --static-swift-stdlib (the Swift runtime, Foundation and ICU linked in; only glibc, libstdc++ and
# libgcc_s are needed, which every Debian has), stripped, in a tarball with deploy/, docs/ and the
# README:
#
#   dist/portcullis-<version>-linux-<arch>.tar.gz
#     portcullis-<version>/bin/portcullis
#     portcullis-<version>/deploy/...   portcullis-<version>/docs/...   portcullis-<version>/README.md
#
# The version is what the built binary's `--version` prints. scripts/release-test.sh runs the
# binary from the tarball on a fresh Debian 12 with no Swift.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/release.sh [--build-path DIR] [--skip-build] [--output-dir DIR]

Builds `swift build -c release --static-swift-stdlib --product portcullis`, strips the binary and
packs dist/portcullis-<version>-linux-<arch>.tar.gz (bin/portcullis, deploy/, docs/, README.md,
LICENSE if present). Prints the binary's size and, last, the line `tarball: <path>`.

  --build-path DIR   SwiftPM scratch path (default .build-static, or $PORTCULLIS_RELEASE_BUILD_PATH).
                     A separate one from .build, so the static build does not replace the
                     shared-library release binary that scripts/test.sh and scripts/bench.sh measure.
  --skip-build       Do not build: package DIR/release/portcullis as it is (it must exist and be
                     linked with --static-swift-stdlib).
  --output-dir DIR   Where the tarball goes (default dist/).
  -h, --help         This text.
EOF
}

cd "$(dirname "$0")/.."
build_path=${PORTCULLIS_RELEASE_BUILD_PATH:-.build-static}
output_dir=dist
skip_build=false
while [ $# -gt 0 ]; do
  case "$1" in
    --build-path) build_path=${2:?--build-path needs a folder}; shift 2 ;;
    --build-path=*) build_path=${1#*=}; shift ;;
    --skip-build) skip_build=true; shift ;;
    --output-dir) output_dir=${2:?--output-dir needs a folder}; shift 2 ;;
    --output-dir=*) output_dir=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "release.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

for tool in strip readelf tar gzip; do
  command -v "$tool" >/dev/null || { echo "release.sh needs $tool (apt-get install binutils tar gzip)" >&2; exit 1; }
done

if ! $skip_build; then
  command -v swift >/dev/null || { echo "release.sh: swift is not on PATH (or use --skip-build)" >&2; exit 1; }
  echo "== swift build -c release --static-swift-stdlib --product portcullis --scratch-path $build_path" >&2
  swift build -c release --static-swift-stdlib --product portcullis --scratch-path "$build_path" >&2
fi
binary="$build_path/release/portcullis"
[ -x "$binary" ] || { echo "release.sh: no binary at $binary (build it, or drop --skip-build)" >&2; exit 1; }

# A shared-library build would need a Swift installation on the target: refuse to package it.
swift_libraries=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' \
  | grep -E '^lib(swift|Foundation|_Foundation|dispatch|BlocksRuntime)' || true)
if [ -n "$swift_libraries" ]; then
  echo "release.sh: $binary needs Swift's shared libraries ($(echo "$swift_libraries" | tr '\n' ' ')):" \
       "it was not built with --static-swift-stdlib" >&2
  exit 1
fi

version=$("$binary" --version)
if ! [[ $version =~ ^[0-9A-Za-z][0-9A-Za-z.+~-]*$ ]]; then
  echo "release.sh: '$binary --version' printed '$version', not a version" >&2
  exit 1
fi
arch=$(uname -m)
name="portcullis-$version"
tarball="$output_dir/$name-linux-$arch.tar.gz"

stage=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-release.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/$name/bin"
strip -o "$stage/$name/bin/portcullis" "$binary"
chmod 0755 "$stage/$name/bin/portcullis"

# The tracked files only (no editor leftovers, no local screenshots); the plain folders outside git.
extras=(deploy docs README.md)
for license in LICENSE LICENSE.md LICENSE.txt COPYING; do
  [ -e "$license" ] && extras+=("$license")
done
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z -- "${extras[@]}" | xargs -0 cp --parents -t "$stage/$name"
  mtime=$(git log -1 --format=%ct)
else
  cp -R "${extras[@]}" "$stage/$name/"
  mtime=$(date +%s)
fi

# Same inputs, same bytes: sorted names, no owners, the last commit's time, gzip without a timestamp.
mkdir -p "$output_dir"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" -C "$stage" -cf - "$name" \
  | gzip -9n > "$tarball.tmp"
mv "$tarball.tmp" "$tarball"

megabytes() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1000000 }'; }
unstripped=$(stat -c %s "$binary")
stripped=$(stat -c %s "$stage/$name/bin/portcullis")
packed=$(stat -c %s "$tarball")
echo "portcullis $version (linux-$arch), built with --static-swift-stdlib"
echo "binary: $(megabytes "$stripped") stripped ($stripped bytes; $(megabytes "$unstripped") before strip)"
echo "needs: $(readelf -d "$stage/$name/bin/portcullis" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
echo "sha256: $(sha256sum "$tarball" | cut -d' ' -f1)"
echo "tarball size: $(megabytes "$packed")"
echo "tarball: $tarball"
