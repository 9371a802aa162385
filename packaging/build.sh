#!/usr/bin/env bash
# Builds the packages: build-pkg/packages/shoal_<version>_<arch>.deb and
# build-pkg/packages/shoal-<version>.<arch>.rpm (a release build of its own, stripped).
# Usage: bash packaging/build.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${1:-$root/build-pkg}")
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build" -j2 shoal shoal_pkg_docs
cd "$build"
cpack -G DEB >/dev/null
cpack -G RPM >/dev/null
ls -1 "$build"/packages/*.deb "$build"/packages/*.rpm
