#!/usr/bin/env bash
# Serf event handler: the "Serf plus a script that calls ip route" alternative to shoal. A
# member-join adds a route to the member's `subnet` tag via its address; member-failed and
# member-leave delete it. Each event is logged with the time the handler started, which is when
# this host learned of it. Runs inside the host's namespace (Serf's child).
stamp=$EPOCHREALTIME
log=${SERF_BENCH_LOG:-/dev/null}
# Lines are "name<TAB>addr<TAB>role<TAB>tags"; role is often empty and a tab is IFS white space
# (runs collapse), so the tags are found by their key instead of by position.
while IFS=$'\t' read -r name addr rest; do
    [ -z "$name" ] && continue
    echo "$stamp $SERF_EVENT $name" >>"$log"
    [ "$name" = "$SERF_SELF_NAME" ] && continue
    # Parsed without forks: at start-up every agent gets a line per member, all at once.
    [[ "$rest" == *subnet=* ]] || continue
    subnet=${rest#*subnet=}
    subnet=${subnet%%[,$'\t']*}
    case "$SERF_EVENT" in
        member-join) ip route replace "$subnet" via "$addr" proto 78 ;;
        member-failed | member-leave) ip route del "$subnet" via "$addr" proto 78 2>/dev/null ;;
    esac
done
exit 0
