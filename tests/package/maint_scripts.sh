#!/usr/bin/env bash
# The maintainer scripts' branches for a host where systemd runs, on a machine where it does not:
# run inside a private mount namespace (`unshare -m`) with /run/systemd/system present and fake
# systemctl, deb-systemd-invoke, deb-systemd-helper, systemd-tmpfiles and shoal on PATH that
# record their arguments. The scripts write only to tmpfs mounts of that namespace.
# Usage (with the .deb installed): unshare -m --propagation private maint_scripts.sh DEB RPM
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
# Every place the scripts write is a tmpfs here: /run, /var/lib, and /etc/shoal (the installed
# package's, so the scripts read a conffile the test writes).
for d in /run /var/lib /etc/shoal; do
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
rpm -qp --qf '%{POSTUN}' "$rpm" >"$work/rpm-postun" 2>/dev/null

run() { # run NAME SCRIPT ARGS...: the calls the script made, one per line
    : >"$log"
    sh -e "$@" >"$work/out" 2>&1 || fail "$1 $* exited $?"
    cat "$log"
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
calls=$(run "$work/deb/prerm" remove)
expect "deb remove: the agent leaves, on the configured socket" "$calls" "shoal leave --socket /run/x/ctl.sock"
expect "deb remove: then stop" "$calls" "deb-systemd-invoke stop shoal.service"
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
calls=$(run "$work/rpm-preun" 0)
expect "rpm erase: the agent leaves, default socket" "$calls" "shoal leave --socket /run/shoal/shoal.sock"
expect "rpm erase: disable --now" "$calls" "systemctl --no-reload disable --now shoal.service"
calls=$(run "$work/rpm-postun" 0)
refuse "rpm erase: no restart" "$calls" "restart"

echo "maint_scripts: $fails failure(s)"
[ $fails = 0 ]
