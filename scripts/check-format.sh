#!/usr/bin/env bash
# Fails when any C++ file differs from what clang-format (with .clang-format) would make of it.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find agent gossip netlink tests -name '*.[ch]pp')
clang-format --dry-run -Werror $files
echo "format: $(echo "$files" | wc -w) files clean"
