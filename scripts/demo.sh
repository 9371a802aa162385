#!/usr/bin/env bash
# The demo: builds shoal, then runs its membership core on a simulated 16-node cluster and shows
# it converging, one member failing, and another leaving.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build shoal >/dev/null
echo "== ./build/shoal simulate --nodes 16 --loss 0.05"
./build/shoal simulate --nodes 16 --loss 0.05 --seconds 40
echo
echo "== the same run as JSON (same seed, same result, bit for bit)"
./build/shoal simulate --nodes 16 --loss 0.05 --seconds 40 --json
