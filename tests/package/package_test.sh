#!/usr/bin/env bash
# Builds the .deb and .rpm from this build tree, installs the .deb on this machine, checks what
# it put where, lints both packages, then removes and purges it. Needs root. Leaves the machine
# as it found it, also on failure.
# Usage: package_test.sh BUILD_DIR SOURCE_DIR VERSION
set -uo pipefail
build=$1 src=$2 version=$3
pkg=$src/packaging
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}
ok() { echo "ok: $*"; }
check() { # check DESCRIPTION COMMAND...: passes when the command succeeds
    local what=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$what"; else fail "$what"; fi
}

[ "$(id -u)" = 0 ] || { echo "package_test: needs root"; exit 1; }
if dpkg-query -W -f='${Status}' shoal 2>/dev/null | grep -q installed; then
    echo "package_test: a shoal package is already installed here; not touching it"
    exit 1
fi

# Paths the package or its scripts may create; compared before and after.
watched=(/etc/shoal /var/lib/shoal /run/shoal /run/flannel /usr/bin/shoal
    /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled
    /var/lib/systemd/deb-systemd-helper-masked)
snapshot() { find "${watched[@]}" 2>/dev/null | sort; }
before=$(snapshot)
had_run_flannel=0
[ -e /run/flannel ] && had_run_flannel=1
work=$(mktemp -d)

# dpkg refuses to run while another dpkg/apt holds its lock: wait for it.
dpkg_run() {
    local i out
    for i in $(seq 60); do
        out=$(dpkg "$@" 2>&1) && { echo "$out"; return 0; }
        echo "$out" | grep -qi 'lock' || { echo "$out"; return 1; }
        sleep 1
    done
    echo "$out"
    return 1
}

ns="" agent_pid=""
cleanup() {
    [ -n "$agent_pid" ] && kill -KILL "$agent_pid" 2>/dev/null
    [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
    if dpkg-query -W -f='${Status}' shoal 2>/dev/null | grep -qv 'not-installed'; then
        dpkg_run --purge shoal >/dev/null
    fi
    [ $had_run_flannel = 1 ] || rmdir /run/flannel 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# --- build both packages from this tree ---
cmake --build "$build" --target shoal shoal_pkg_docs >/dev/null || { echo "FAIL: build"; exit 1; }
rm -f "$build"/packages/*.deb "$build"/packages/*.rpm
(cd "$build" && cpack -G DEB >/dev/null 2>&1 && cpack -G RPM >/dev/null 2>&1) ||
    { echo "FAIL: cpack"; exit 1; }
arch=$(dpkg --print-architecture)
deb=$build/packages/shoal_${version}_${arch}.deb
rpm=$build/packages/shoal-${version}.$(uname -m).rpm
check "built $(basename "$deb")" test -f "$deb"
check "built $(basename "$rpm")" test -f "$rpm"
[ -f "$deb" ] && [ -f "$rpm" ] || exit 1

# --- lint ---
lint=$(lintian --fail-on error "$deb" 2>&1)
if [ $? = 0 ]; then ok "lintian: no errors"; else fail "lintian: $lint"; fi
echo "$lint" | grep -v 'root privileges' | sed 's/^/  lintian: /'
lint=$(rpmlint -c "$pkg/rpm/rpmlint.toml" "$rpm" 2>&1)
if echo "$lint" | grep -q ' 0 errors'; then ok "rpmlint: no errors"; else fail "rpmlint: $lint"; fi
echo "$lint" | grep -E ': [EW]: ' | sed 's/^/  rpmlint: /'

# --- the .rpm, inspected (rpm cannot install on Debian without its own database) ---
rpm_files=$(rpm -qlp "$rpm" 2>/dev/null)
for f in /usr/bin/shoal /usr/lib/systemd/system/shoal.service /etc/shoal/shoal.conf \
    /usr/lib/tmpfiles.d/shoal.conf /usr/share/man/man8/shoal.8.gz \
    /usr/share/bash-completion/completions/shoal /usr/share/doc/shoal/copyright; do
    check "rpm holds $f" grep -qx "$f" <<<"$rpm_files"
done
check "rpm: shoal.conf is %config(noreplace)" \
    bash -c "rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS:fflags}\n]' '$rpm' | grep -qx '/etc/shoal/shoal.conf cn'"
scripts=$(rpm -qp --scripts "$rpm" 2>/dev/null)
check "rpm %postun restarts on upgrade" grep -q 'try-restart shoal.service' <<<"$scripts"
check "rpm %preun leaves on erase" grep -q 'shoal leave' <<<"$scripts"
check "rpm scripts guard systemctl" grep -q '\[ -d /run/systemd/system \]' <<<"$scripts"
# Computed requires: every library the binary links appears in the rpm's requires.
requires=$(rpm -qpR "$rpm" 2>/dev/null)
needed=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/bin/shoal >"$work/shoal" &&
    readelf -d "$work/shoal" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
[ -n "$needed" ] || fail "no NEEDED libraries read from the binary"
for lib in $needed; do
    check "rpm requires $lib" grep -q "^$lib()" <<<"$requires"
done

# --- the .deb, installed ---
out=$(dpkg_run -i "$deb") || fail "dpkg -i: $out"
depends=$(dpkg-query -W -f='${Depends}' shoal)
for lib in $needed; do
    # The Debian package that holds the library must be in Depends (dpkg-shlibdeps).
    path=$(ldd "$work/shoal" | sed -n "s|^[[:space:]]*$lib => \([^ ]*\) .*|\1|p")
    owner=$( (dpkg -S "$path" || dpkg -S "$(realpath "$path")") 2>/dev/null | head -n 1 | cut -d: -f1)
    [ -n "$owner" ] || fail "no package holds $lib ($path)"
    check "deb depends on $owner ($lib)" grep -q "$owner" <<<"$depends"
done
mode() { stat -c '%a %U' "$1" 2>/dev/null; }
check "/usr/bin/shoal 755 root" test "$(mode /usr/bin/shoal)" = "755 root"
for f in /usr/lib/systemd/system/shoal.service /etc/shoal/shoal.conf \
    /usr/lib/tmpfiles.d/shoal.conf /usr/share/man/man8/shoal.8.gz \
    /usr/share/bash-completion/completions/shoal /usr/share/doc/shoal/copyright \
    /usr/share/doc/shoal/changelog.gz; do
    check "$f 644 root" test "$(mode "$f")" = "644 root"
done
check "man page is gzip" gzip -t /usr/share/man/man8/shoal.8.gz
check "/var/lib/shoal 700 root" test "$(mode /var/lib/shoal)" = "700 root"
check "/run/shoal made by tmpfiles" test -d /run/shoal
check "dpkg lists the conffile" \
    bash -c "dpkg-query -W -f='\${Conffiles}' shoal | grep -q '/etc/shoal/shoal.conf '"
check "unit enabled by postinst" test -L /etc/systemd/system/multi-user.target.wants/shoal.service
check "shoal version prints $version" test "$(/usr/bin/shoal version)" = "shoal $version"
unit=/usr/lib/systemd/system/shoal.service
check "systemd-analyze verify" systemd-analyze verify $unit
# The hardening stays where packaging/systemd-analyze-security.txt says (2.1; fails above 2.5).
check "systemd-analyze security exposure <= 2.5" \
    systemd-analyze security --offline=true --threshold=25 $unit
for line in Type=notify "RestartPreventExitStatus=2 3" Restart=on-failure KillSignal=SIGTERM \
    "ExecStart=/usr/bin/shoal agent --config /etc/shoal/shoal.conf" \
    "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW" ProtectSystem=strict NoNewPrivileges=yes \
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK"; do
    check "unit: $line" grep -qx "$line" $unit
done
check "bash completion loads" bash -c 'source /usr/share/bash-completion/completions/shoal &&
    complete -p shoal'

# The packaged conffile starts nothing: exit 2, naming the missing setting.
err=$(/usr/bin/shoal agent --config /etc/shoal/shoal.conf 2>&1)
rc=$?
check "conffile as shipped: exit 2 (got $rc)" test $rc = 2
check "... naming network ($err)" grep -q '^shoal agent: network:' <<<"$err"
err=$(/usr/bin/shoal agent --config /etc/shoal/shoal.conf --network 10.244.0.0/16 2>&1)
check "... then naming cluster-key-file ($err)" grep -q '^shoal agent: cluster-key-file:' <<<"$err"

# Every setting of `shoal agent --help` is in the conffile (commented, with a value) and in the
# man page; every subcommand is in the man page.
settings=$(/usr/bin/shoal agent --help | sed -n 's/^ *\(-h,\)\?--\([a-z0-9-]*\).*/\2/p' |
    grep -vx -e help -e config)
[ "$(wc -l <<<"$settings")" -gt 20 ] || fail "too few settings read from --help: $settings"
man=$(zcat /usr/share/man/man8/shoal.8.gz)
missing_conf="" missing_man=""
for s in $settings; do
    grep -q "^# $s = ." /etc/shoal/shoal.conf || missing_conf+=" $s"
    grep -qF -- "\\-\\-${s//-/\\-}" <<<"$man" || missing_man+=" $s"
done
check "every setting in the conffile (missing:$missing_conf)" test -z "$missing_conf"
check "every setting in the man page (missing:$missing_man)" test -z "$missing_man"
check "--config in the man page" grep -qF -- '\-\-config' <<<"$man"
subcommands() { "$@" --help | sed -n '/^Subcommands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'; }
missing_cmd=""
for c in $(subcommands /usr/bin/shoal); do
    grep -Eq "^\.BI? \"?${c//-/\\\\-}( |\"|$)" <<<"$man" || missing_cmd+=" $c"
    for sub in $(subcommands /usr/bin/shoal "$c"); do
        grep -Eq "^\.BI? \"?${c//-/\\\\-} ${sub//-/\\\\-}" <<<"$man" || missing_cmd+=" $c-$sub"
    done
done
check "every subcommand in the man page (missing:$missing_cmd)" test -z "$missing_cmd"
for sig in SIGINT SIGTERM SIGHUP; do check "man page: $sig" grep -q "^\.B $sig" <<<"$man"; done
check "man page: exit status 2" grep -q '^\.B 2$' <<<"$man"
check "man page: ReadWritePaths drop-in" grep -q '^ReadWritePaths=' <<<"$man"

# Uncommenting every known setting with its shown value still parses: the agent gets as far
# as the interface check (given as a flag naming no interface).
{
    sed -E 's/^# ([a-z0-9-]+) = /\1 = /' /etc/shoal/shoal.conf | while IFS= read -r line; do
        name=${line%% =*}
        if [[ $line == *" = "* && $line != "#"* ]] && ! grep -qx -- "$name" <<<"$settings"; then
            continue # a setting this binary does not have yet
        fi
        echo "$line"
    done
} >"$work/all.conf"
/usr/bin/shoal keygen --out "$work/key"
sed -i "s#^cluster-key-file = .*#cluster-key-file = \"$work/key\"#" "$work/all.conf"
err=$(/usr/bin/shoal agent --config "$work/all.conf" --iface shoal-none-$$ 2>&1)
check "all settings uncommented parse ($err)" grep -q "^shoal agent: iface: no interface" <<<"$err"

# The installed agent works with what the unit leaves it: root with only CAP_NET_ADMIN and
# CAP_NET_RAW (the host check's ICMP socket) in its bounding set, no new privileges, umask 077
# (in a network namespace of its own, alone).
ns=shoalpkg$$
ip netns add $ns && ip -n $ns link add va type veth peer name vb &&
    ip -n $ns addr add 10.99.0.1/24 dev va && ip -n $ns link set va up &&
    ip -n $ns link set vb up || fail "namespace $ns"
/usr/bin/shoal keygen --out "$work/agent.key"
ip netns exec $ns sh -c 'umask 077; exec "$@"' sh setpriv --bounding-set=-all,+net_admin,+net_raw \
    --no-new-privs /usr/bin/shoal agent --iface va --network 10.244.0.0/16 --profile fast \
    --cluster-key-file "$work/agent.key" --state-dir "$work/state" --socket "$work/run/s.sock" \
    --subnet-file "$work/flannel/subnet.env" 2>"$work/agent.log" &
agent_pid=$!
for _ in $(seq 50); do [ -s "$work/flannel/subnet.env" ] && break; sleep 0.1; done
check "bounded agent: subnet.env written" grep -q '^FLANNEL_SUBNET=10.244.' "$work/flannel/subnet.env"
check "bounded agent: answers on its socket" \
    ip netns exec $ns /usr/bin/shoal status --socket "$work/run/s.sock"
caps=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/$agent_pid/status 2>/dev/null)
check "bounded agent: effective capabilities CAP_NET_ADMIN and CAP_NET_RAW only ($caps)" \
    test "$caps" = 0000000000003000
check "bounded agent: the host check has its ICMP socket" \
    grep -q "host check on: .*raw socket" "$work/agent.log"
check "bounded agent: node key 600" test "$(stat -c %a "$work/state/node.key")" = 600
kill -TERM $agent_pid
wait $agent_pid
rc=$?
agent_pid=""
check "bounded agent: SIGTERM exits 0 (got $rc)" test $rc = 0
[ $fails = 0 ] || sed 's/^/  agent: /' "$work/agent.log"
ip netns del $ns
ns=""

# The scripts' branches for a host running systemd, in a private mount namespace.
out=$(unshare -m -n --propagation private "$src/tests/package/maint_scripts.sh" "$deb" "$rpm" 2>&1)
rc=$?
echo "$out" | sed 's/^/  scripts: /'
check "maintainer scripts (deb and rpm) under a fake systemd" test $rc = 0

# Reinstall = the upgrade path of the scripts ($2 set).
out=$(dpkg_run -i "$deb") || fail "dpkg -i again (upgrade path): $out"

# --- remove: conffile and state stay ---
echo "local change" >>/etc/shoal/shoal.conf
echo state >/var/lib/shoal/node-test
out=$(dpkg_run -r shoal) || fail "dpkg -r: $out"
check "removed: binary gone" test ! -e /usr/bin/shoal
check "removed: conffile kept" grep -q "local change" /etc/shoal/shoal.conf
check "removed: state kept" test -f /var/lib/shoal/node-test
check "removed: dpkg shows config-files" \
    bash -c "dpkg-query -W -f='\${Status}' shoal | grep -q config-files"

# --- purge: everything gone ---
out=$(dpkg_run -P shoal) || fail "dpkg -P: $out"
check "purged: state gone" test ! -e /var/lib/shoal
check "purged: conffile gone" test ! -e /etc/shoal/shoal.conf
check "purged: /run/shoal gone" test ! -e /run/shoal
[ $had_run_flannel = 1 ] || rmdir /run/flannel 2>/dev/null
after=$(snapshot)
if [ "$before" = "$after" ]; then
    ok "machine as found"
else
    fail "machine changed: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]')"
fi

echo "package_test: $fails failure(s)"
[ $fails = 0 ]
