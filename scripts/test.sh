#!/usr/bin/env bash
# The whole test suite: installs what it needs, then builds and runs every test through ctest,
# three times over: a release build, an ASan+UBSan build, and the libFuzzer build (clang), all
# with -Werror; then checks that a plain Release build (-O3, no -Werror) builds every target.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc)

echo "== release build: unit, simulator, CLI and format tests"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHOAL_WERROR=ON >/dev/null
ninja -C build
ctest --test-dir build -j"$jobs" --output-on-failure

echo "== ASan + UBSan build: the same tests"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSHOAL_SANITIZE=ON -DSHOAL_WERROR=ON \
  >/dev/null
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -j"$jobs" --output-on-failure -E '^format$'

echo "== libFuzzer build (clang): the datagram decoder, for a bounded time"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSHOAL_WERROR=ON -DSHOAL_FUZZ=ON -DSHOAL_FUZZ_SECONDS="${SHOAL_FUZZ_SECONDS:-60}" >/dev/null
ninja -C build-fuzz
ctest --test-dir build-fuzz --output-on-failure

echo "== plain Release build (-O3, no -Werror, as a user would build it): every target builds"
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build-release
