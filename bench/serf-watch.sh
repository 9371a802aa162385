#!/usr/bin/env bash
# Stamps each line of `serf monitor` (the agent's own log: EventMemberJoin/Failed/Leave when its
# membership changes) with the time it arrived. Serf's event handlers see member events only after
# the agent's coalescing (1 s quiet, up to 3 s), so the handler log alone would overstate when
# Serf knew. Runs in the host's namespace; ends when the agent does.
out=$1
for _ in $(seq 100); do serf members >/dev/null 2>&1 && break; sleep 0.1; done
serf monitor -log-level=info 2>/dev/null | while IFS= read -r line; do
    printf '%s %s\n' "$EPOCHREALTIME" "$line"
done >>"$out"
