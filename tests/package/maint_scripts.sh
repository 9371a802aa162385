#!/usr/bin/env bash
# The maintainer scripts' branches for a host where systemd runs, on a machine where it does not:
# run inside a private mount namespace (`unshare -m`) with /run/systemd/system present and fake
# systemctl, deb-systemd-invoke, deb-systemd-helper, systemd-tmpfiles and shoal on PATH that
# record their arguments. The scripts write only to tmpfs mounts of that namespace.
# A network namespace of its own too (`unshare -n`): on removal the scripts delete what shoal
# made in the kernel (its nftables table, its VXLAN device), here made by the test.
# Usage (with the .deb installed): unshare -m -n --propagation private maint_scripts.sh DEB RPM
set -uo pipefail
deb=$1 rpm=$2
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}
ok() { echo "ok: $*"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Every place the scripts write is a tmpfs here: /run, /var/lib, /etc/systemd/system (the
# protocol-1 drop-in) and /etc/shoal (the installed package's, so the scripts read a conffile
# the test writes).
for d in /run /var/lib /etc/shoal /etc/systemd/system; do
    mount -t tmpfs shoal-test "$d" || { echo "FAIL: cannot mount over $d"; exit 1; }
done
mkdir -p /run/systemd/system /run/shoal /var/lib/shoal

mkdir "$work/bin" "$work/deb"
log=$work/calls
# is-active answers "active" while $work/active exists; shoal leave removes it (the agent exits).
cat >"$work/bin/systemctl" <<EOF
#!/bin/sh
echo "systemctl \$*" >>$log
case "\$*" in *is-active*) [ -e $work/active ] ;; *) exit 0 ;; esac
EOF
for tool in deb-systemd-invoke deb-systemd-helper systemd-tmpfiles; do
    # exit 0: deb-systemd-helper's was-enabled is true on a fresh install
    printf '#!/bin/sh\necho "%s $*" >>%s\n' "$tool" "$log" >"$work/bin/$tool"
done
cat >"$work/bin/shoal" <<EOF
#!/bin/sh
echo "shoal \$*" >>$log
rm -f $work/active
EOF
chmod +x "$work"/bin/*
export PATH=$work/bin:$PATH

dpkg-deb -e "$deb" "$work/deb"
rpm -qp --qf '%{POSTIN}' "$rpm" >"$work/rpm-post" 2>/dev/null
rpm -qp --qf '%{PREUN}' "$rpm" >"$work/rpm-preun" 2>/dev/null
# The VXLAN device the removal scripts delete is found by its alias: the one they look for must be
# the one the agent writes (taken from the deb's prerm, found in the installed binary and in the
# rpm's %preun alike).
vx_alias=$(sed -n "s/.*grep -F 'alias \(shoal: [^']*\)'.*/\1/p" "$work/deb/prerm")
if [ -n "$vx_alias" ] && grep -aqF "$vx_alias" /usr/bin/shoal && grep -qF "$vx_alias" "$work/rpm-preun"; then
    ok "the removal scripts look for the VXLAN alias the agent writes ($vx_alias)"
else
    fail "the VXLAN alias in prerm ('$vx_alias') is not the agent's, or not in the rpm's %preun"
fi
rpm -qp --qf '%{POSTUN}' "$rpm" >"$work/rpm-postun" 2>/dev/null

run() { # run SCRIPT ARGS...: the calls the script made, one per line
    : >"$log"
    # (run is called in $(...): a failure is counted from $work/failed at the end)
    sh -e "$@" >"$work/out" 2>&1 || echo "$* exited $?" >>"$work/failed"
    cat "$log"
}
runs_ok() { # runs_ok WHAT SCRIPT ARGS...: the script exits 0 (its output in $work/out)
    local what=$1
    shift
    : >"$log"
    if sh -e "$@" >"$work/out" 2>&1; then ok "$what"; else fail "$what: exit $?: $(cat "$work/out")"; fi
}
mode_is() { # mode_is WHAT FILE MODE
    local got
    got=$(stat -c %a "$2")
    if [ "$got" = "$3" ]; then ok "$1"; else fail "$1: $2 has mode $got, wanted $3"; fi
}
expect() { # expect WHAT CALLS PATTERN
    if grep -q -- "$3" <<<"$2"; then ok "$1"; else fail "$1: calls were: $(tr '\n' ';' <<<"$2")"; fi
}
refuse() { # refuse WHAT CALLS PATTERN
    if grep -q -- "$3" <<<"$2"; then fail "$1: calls were: $(tr '\n' ';' <<<"$2")"; else ok "$1"; fi
}

# --- deb ---
echo '# nothing set' >/etc/shoal/shoal.conf
calls=$(run "$work/deb/postinst" configure)
expect "deb install: enables" "$calls" "deb-systemd-helper enable shoal.service"
refuse "deb install, unconfigured: no start" "$calls" "invoke start"
expect "deb install, unconfigured: says what to set" "$(cat "$work/out")" "set network and cluster-key-file"
printf 'network = "10.244.0.0/16"\ncluster-key-file = "/k"\n' >/etc/shoal/shoal.conf
calls=$(run "$work/deb/postinst" configure)
expect "deb install, configured: start" "$calls" "deb-systemd-invoke start shoal.service"
calls=$(run "$work/deb/prerm" upgrade 0.1.1)
refuse "deb upgrade: prerm stops nothing" "$calls" "stop\|kill\|shoal leave"
calls=$(run "$work/deb/postinst" configure 0.1.0)
expect "deb upgrade: try-restart (planned restart)" "$calls" "deb-systemd-invoke try-restart shoal.service"
refuse "deb upgrade: no plain start" "$calls" "invoke start"
touch "$work/active"
printf 'socket = "/run/x/ctl.sock"\n' >/etc/shoal/shoal.conf
# What a stopped agent leaves in the kernel: shoal's VXLAN device (by its alias, under a name
# set in vxlan-device), its nftables table; and another's VXLAN device, which stays.
leftovers() {
    ip link add pods.7 type vxlan id 7 dstport 8472 local 127.0.0.1 &&
        ip link set pods.7 alias "$vx_alias" &&
        { ip link show vx-other >/dev/null 2>&1 ||
            ip link add vx-other type vxlan id 8 dstport 4789 local 127.0.0.1; } &&
        nft add table inet shoal
}
kernel_cleaned() { # kernel_cleaned WHAT
    if ip link show pods.7 >/dev/null 2>&1; then fail "$1: shoal's VXLAN device is left"
    elif ! ip link show vx-other >/dev/null 2>&1; then fail "$1: another's VXLAN device was deleted"
    elif nft list table inet shoal >/dev/null 2>&1; then fail "$1: the nftables table is left"
    else ok "$1: shoal's VXLAN device and nftables table deleted, another's device kept"; fi
}
leftovers || fail "cannot make the leftovers"
calls=$(run "$work/deb/prerm" remove)
expect "deb remove: the agent leaves, on the configured socket" "$calls" "shoal leave --socket /run/x/ctl.sock"
expect "deb remove: then stop" "$calls" "deb-systemd-invoke stop shoal.service"
kernel_cleaned "deb remove"
calls=$(run "$work/deb/postrm" remove)
expect "deb remove: unit masked" "$calls" "deb-systemd-helper mask shoal.service"
calls=$(run "$work/deb/postrm" purge)
expect "deb purge: unit state purged" "$calls" "deb-systemd-helper purge shoal.service"
if [ ! -e /var/lib/shoal ] && [ ! -e /run/shoal ]; then
    ok "deb purge: state and run directories deleted"
else
    fail "deb purge left /var/lib/shoal or /run/shoal"
fi

# --- rpm: $1 counts the instances left after the operation ---
calls=$(run "$work/rpm-post" 1)
expect "rpm install: preset" "$calls" "systemctl --no-reload preset shoal.service"
refuse "rpm install: no start" "$calls" " start\| restart"
calls=$(run "$work/rpm-preun" 1)
refuse "rpm upgrade: preun stops nothing" "$calls" "stop\|disable\|shoal leave"
calls=$(run "$work/rpm-postun" 1)
expect "rpm upgrade: try-restart" "$calls" "systemctl try-restart shoal.service"
touch "$work/active"
echo '' >/etc/shoal/shoal.conf
leftovers || fail "cannot make the leftovers"
calls=$(run "$work/rpm-preun" 0)
expect "rpm erase: the agent leaves, default socket" "$calls" "shoal leave --socket /run/shoal/shoal.sock"
kernel_cleaned "rpm erase"
expect "rpm erase: disable --now" "$calls" "systemctl --no-reload disable --now shoal.service"
calls=$(run "$work/rpm-postun" 0)
refuse "rpm erase: no restart" "$calls" "restart"

# --- the keyring cluster-key-file names is made 0600: deb postinst configure, rpm %post ---
key=/etc/shoal/cluster.key
other=/etc/shoal/other.key
echo k >"$key"
echo k >"$other"
chmod 644 "$key" "$other"
printf 'network = "10.244.0.0/16"\ncluster-key-file = "%s"  # the keyring\n# cluster-key-file = "%s"\n' \
    "$key" "$other" >/etc/shoal/shoal.conf
runs_ok "deb postinst configure, keyring 0644: exits 0" "$work/deb/postinst" configure
mode_is "deb postinst: the keyring is made 0600" "$key" 600
expect "deb postinst: ... and says so" "$(cat "$work/out")" "chmod 600 $key (was 644)"
mode_is "deb postinst: a commented-out cluster-key-file is left alone" "$other" 644
runs_ok "deb postinst configure (upgrade), keyring already 0600: exits 0" "$work/deb/postinst" configure 0.1.0
refuse "deb postinst: ... says nothing about it" "$(cat "$work/out")" "chmod"
mode_is "deb postinst: ... and it stays 0600" "$key" 600
chmod 644 "$key"
printf "network = '10.244.0.0/16'\n  cluster-key-file='%s'\n" "$key" >/etc/shoal/shoal.conf
runs_ok "rpm %post (install), keyring 0644: exits 0" "$work/rpm-post" 1
mode_is "rpm %post: the keyring is made 0600" "$key" 600
expect "rpm %post: ... and says so" "$(cat "$work/out")" "chmod 600 $key (was 644)"
chmod 640 "$key"
runs_ok "rpm %post (upgrade), keyring 0640: exits 0" "$work/rpm-post" 2
mode_is "rpm %post (upgrade): the keyring is made 0600" "$key" 600
# No cluster-key-file (only commented out), one naming a missing file, one naming a directory,
# no conffile at all: nothing changes and nothing fails.
chmod 644 "$key"
mkdir /etc/shoal/keydir
chmod 755 /etc/shoal/keydir
for conf in "# cluster-key-file = \"$key\"" 'cluster-key-file = "/etc/shoal/missing.key"' \
    'cluster-key-file = "/etc/shoal/keydir"' ''; do
    if [ -n "$conf" ]; then
        printf 'network = "10.244.0.0/16"\n%s\n' "$conf" >/etc/shoal/shoal.conf
    else
        rm -f /etc/shoal/shoal.conf
        conf="no conffile"
    fi
    runs_ok "deb postinst configure, $conf: exits 0" "$work/deb/postinst" configure
    refuse "deb postinst, $conf: says nothing about chmod" "$(cat "$work/out")" "chmod"
    runs_ok "rpm %post, $conf: exits 0" "$work/rpm-post" 1
    refuse "rpm %post, $conf: says nothing about chmod" "$(cat "$work/out")" "chmod"
done
mode_is "... the keyring not named is left 0644" "$key" 644
mode_is "... the directory named is left 0755" /etc/shoal/keydir 755
if [ -e /etc/shoal/missing.key ]; then fail "a missing keyring was created"; else ok "... a missing keyring is not created"; fi

# --- upgrade from protocol 1: the drop-in that accepts it, only where a 0.1 agent ran ---
dropin=/etc/systemd/system/shoal.service.d/protocol-1.conf
mkdir -p /var/lib/shoal
printf 'shoal-state 1\nincarnation 4\nclaim 3 7\n' >/var/lib/shoal/state  # written by 0.1
runs_ok "deb postinst configure (fresh install), 0.1 state: exits 0" "$work/deb/postinst" configure
if [ -e $dropin ]; then fail "a fresh install accepts protocol 1"; else ok "deb fresh install: no protocol-1 drop-in"; fi
runs_ok "deb postinst configure 0.1.0 (upgrade): exits 0" "$work/deb/postinst" configure 0.1.0
if grep -qx 'Environment=SHOAL_ACCEPT_PROTOCOL_1=true' $dropin 2>/dev/null; then
    ok "deb upgrade from a protocol-1 agent: accepts protocol 1 (drop-in)"
else
    fail "deb upgrade from a protocol-1 agent wrote no drop-in"
fi
expect "deb upgrade: ... and says so" "$(cat "$work/out")" "accepting protocol 1 during the upgrade"
runs_ok "deb postrm purge: exits 0" "$work/deb/postrm" purge
if [ -e $dropin ]; then fail "purge left the protocol-1 drop-in"; else ok "deb purge: drop-in removed"; fi
mkdir -p /var/lib/shoal
printf 'shoal-state 1\nincarnation 4\nclaim none\nboot 00000000000000aa\n' >/var/lib/shoal/state
runs_ok "deb postinst configure 0.2.0 (upgrade from protocol 2): exits 0" "$work/deb/postinst" configure 0.2.0
if [ -e $dropin ]; then fail "an upgrade from protocol 2 accepts protocol 1"; else ok "deb upgrade from protocol 2: no drop-in"; fi
printf 'shoal-state 1\nincarnation 4\nclaim none\n' >/var/lib/shoal/state
runs_ok "rpm %post (upgrade), 0.1 state: exits 0" "$work/rpm-post" 2
if [ -e $dropin ]; then ok "rpm upgrade from a protocol-1 agent: drop-in"; else fail "rpm upgrade wrote no drop-in"; fi
runs_ok "rpm %postun (erase): exits 0" "$work/rpm-postun" 0
if [ -e $dropin ]; then fail "rpm erase left the drop-in"; else ok "rpm erase: drop-in removed"; fi

# The scripts run through run() above exited 0.
if [ -s "$work/failed" ]; then
    while IFS= read -r line; do fail "$line"; done <"$work/failed"
else
    ok "every script run exited 0"
fi

echo "maint_scripts: $fails failure(s)"
[ $fails = 0 ]
