#!/usr/bin/env bash
# Installs the Debian packages tsof's tests and demo talk to (the real peers:
# Open vSwitch, os-ken, tshark...) when they are missing. Run as root; a no-op
# when everything is present, so `npm test` can call it every time.
# Usage: install-peers.sh [PACKAGE...]   (default: all of them)
set -euo pipefail

# package -> a file it provides, to tell whether it is installed
declare -A PEERS=(
  [openvswitch-switch]=/usr/sbin/ovs-vswitchd
  [openvswitch-common]=/usr/bin/ovs-ofctl
  [openvswitch-testcontroller]=/usr/bin/ovs-testcontroller
  [python3-os-ken]=/usr/bin/osken-manager
  [tshark]=/usr/bin/tshark
  [iproute2]=/usr/sbin/ip
  [iputils-ping]=/usr/bin/ping
  [iperf3]=/usr/bin/iperf3
  [netsniff-ng]=/usr/sbin/trafgen
  [ethtool]=/usr/sbin/ethtool
  [mininet]=/usr/bin/mn
  [etcd-server]=/usr/bin/etcd
)

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=("${!PEERS[@]}")
missing=()
for pkg in "${wanted[@]}"; do
  [ -n "${PEERS[$pkg]:-}" ] || { echo "install-peers: unknown package $pkg" >&2; exit 2; }
  [ -e "${PEERS[$pkg]}" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-peers: missing ${missing[*]}; run as root (sudo npm test) to install them" >&2
  exit 1
fi
echo "install-peers: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
