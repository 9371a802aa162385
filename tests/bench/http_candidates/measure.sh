#!/usr/bin/env bash
# The HTTP server libraries of Debian 12 compared (docs/OPERATIONS.md): each tiny program serves
# one page; after 21 requests with curl it prints VmRSS, private memory (Private_Clean +
# Private_Dirty of smaps_rollup), threads and the shared libraries ldd lists.
# Needs libmicrohttpd-dev libcivetweb-dev libevent-dev libcpp-httplib-dev curl.
set -eu
src=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
cd "$out"
gcc -O2 -o base "$src/base.c"
gcc -O2 -o mhd "$src/mhd.c" $(pkg-config --cflags --libs libmicrohttpd)
gcc -O2 -o civ "$src/civ.c" -lcivetweb
gcc -O2 -o evh "$src/evh.c" $(pkg-config --libs libevent_core libevent_extra)
g++ -O2 -std=c++20 -o cpph "$src/cpph.cpp" -pthread $(pkg-config --cflags --libs cpp-httplib)
printf '%-6s %10s %12s %8s %5s\n' program rss_kB private_kB threads libs
for p in base:0 mhd:19471 civ:19472 evh:19473 cpph:19474; do
    b=${p%:*} port=${p#*:}
    ./"$b" & pid=$!
    sleep 0.5
    if [ "$port" != 0 ]; then
        for _ in $(seq 21); do curl -s "http://127.0.0.1:$port/metrics" >/dev/null; done
    fi
    sleep 0.2
    rss=$(awk '/^Rss/ {print $2}' "/proc/$pid/smaps_rollup")
    priv=$(awk '/^Private_(Clean|Dirty)/ {s += $2} END {print s}' "/proc/$pid/smaps_rollup")
    printf '%-6s %10s %12s %8s %5s\n' "$b" "$rss" "$priv" "$(ls /proc/$pid/task | wc -l)" "$(ldd ./$b | wc -l)"
    kill "$pid"; wait "$pid" 2>/dev/null || true
done
