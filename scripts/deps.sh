#!/usr/bin/env bash
# Installs everything shoal needs to build, test and run its demo, from Debian 12's packages.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config clang clang-format libclang-rt-14-dev
  libuv1-dev libmsgpack-dev libsodium-dev libnl-3-dev libnl-route-3-dev libnftables-dev libcli11-dev
  libgtest-dev googletest util-linux libsystemd-dev libcivetweb-dev
  iproute2 iputils-ping nftables containernetworking-plugins netcat-openbsd procps jq socat curl
  lintian rpm rpmlint systemd dpkg-dev file man-db init-system-helpers binutils
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
