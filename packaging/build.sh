#!/usr/bin/env bash
# Builds the packages: build-pkg/packages/shoal_<version>_<arch>.deb and
# build-pkg/packages/shoal-<version>.<arch>.rpm (a release build of its own, stripped).
# Usage: bash packaging/build.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${1:-$root/build-pkg}")
flags=()
if command -v dpkg-buildflags >/dev/null; then
    # Debian's hardening flags (fortify, stack protector, relro, bind-now) for the packaged binary.
    export DEB_BUILD_MAINT_OPTIONS=hardening=+all
    flags=("-DCMAKE_CXX_FLAGS=$(cd "$root" && dpkg-buildflags --get CPPFLAGS) $(cd "$root" &&
        dpkg-buildflags --get CXXFLAGS)" "-DCMAKE_EXE_LINKER_FLAGS=$(dpkg-buildflags --get LDFLAGS)")
fi
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${flags[@]}" >/dev/null
ninja -C "$build" -j2 shoal shoal_pkg_docs
cd "$build"
cpack -G DEB >/dev/null
cpack -G RPM >/dev/null
ls -1 "$build"/packages/*.deb "$build"/packages/*.rpm
