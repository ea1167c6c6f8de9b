#!/usr/bin/env bash
# The tsof demo (sudo npm run demo): the learning-switch app on tsof-controller
# drives an Open vSwitch bridge between two hosts in network namespaces.
#
#   h1 (10.0.0.1) --veth-- [ OVS bridge, datapath_type=netdev ] --veth-- h2 (10.0.0.2)
#                                       |  OpenFlow 1.3, tcp:127.0.0.1:16653
#                                tsof-controller examples/learning-switch.ts
#
# The hosts ping each other, then the flows the app installed are printed.
# Everything the demo creates (namespaces, veths, bridge, controller, and the
# OVS daemons if it had to start them) is removed on exit, failure included;
# leftovers of an interrupted run are removed first. The exit status is non-zero
# when a ping fails. Needs root; installs missing Debian packages with apt-get.
# The bridge is userspace (netdev) because containers have no OVS kernel module.
set -euo pipefail

PORT=${TSOF_DEMO_PORT:-16653}
PREFIX=tsofdemo
BR=$PREFIX-br
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
OVS_CTL=/usr/share/openvswitch/scripts/ovs-ctl

say() { printf '\n== %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: needs root for namespaces and Open vSwitch: sudo npm run demo" >&2
  exit 1
fi

# ---- peers: Debian packages, then the OVS daemons ---------------------------------
bash "$ROOT/scripts/install-peers.sh" openvswitch-switch openvswitch-common iproute2 iputils-ping

started_ovs=0
if ! ovs-vsctl --timeout=2 show >/dev/null 2>&1 || ! "$OVS_CTL" status >/dev/null 2>&1; then
  say "starting Open vSwitch"
  "$OVS_CTL" start --system-id=random >/dev/null 2>&1
  started_ovs=1
fi

# ---- clean-up, on every exit -----------------------------------------------------
controller_pid=
remove_topology() {
  ovs-vsctl --timeout=5 --if-exists del-br "$BR" 2>/dev/null || true
  for h in h1 h2; do
    ip netns del "$PREFIX-$h" 2>/dev/null || true
    ip link del "$PREFIX-$h" 2>/dev/null || true
  done
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$controller_pid" ]; then
    kill -TERM "$controller_pid" 2>/dev/null || true
    wait "$controller_pid" 2>/dev/null || true
  fi
  remove_topology
  [ "$started_ovs" -eq 1 ] && "$OVS_CTL" stop >/dev/null 2>&1 || true
  [ "$status" -eq 0 ] && say "done: cleaned up" || say "FAILED (exit $status): cleaned up"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

remove_topology

# ---- the controller ------------------------------------------------------------------
listening() { [ -n "$(ss -Hltn "sport = :$PORT")" ]; }
if listening; then
  echo "demo: port $PORT is taken; choose another with TSOF_DEMO_PORT=N" >&2
  exit 1
fi
say "starting tsof-controller with examples/learning-switch.ts on port $PORT"
node "$ROOT/bin/tsof-controller.js" --host 127.0.0.1 --port "$PORT" "$ROOT/examples/learning-switch.ts" \
  > >(sed -u 's/^/  controller | /') 2>&1 &
controller_pid=$!
for _ in $(seq 100); do
  listening && break
  kill -0 "$controller_pid" 2>/dev/null || { echo "demo: the controller exited" >&2; exit 1; }
  sleep 0.1
done
listening || { echo "demo: the controller is not listening on $PORT" >&2; exit 1; }

# ---- the topology -------------------------------------------------------------------
say "creating hosts $PREFIX-h1, $PREFIX-h2 and bridge $BR"
no_ipv6() { echo 1 > "/proc/sys/net/ipv6/conf/$1/disable_ipv6"; } # no router solicitations in the output
n=0
for h in h1 h2; do
  n=$((n + 1))
  ns=$PREFIX-$h
  ip netns add "$ns"
  ip link add "$ns" type veth peer name eth0 netns "$ns"
  no_ipv6 "$ns"
  ip netns exec "$ns" bash -c "$(declare -f no_ipv6); no_ipv6 eth0"
  ip -n "$ns" link set eth0 address "02:00:00:00:00:0$n"
  ip -n "$ns" addr add "10.0.0.$n/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  ip link set "$ns" up
done
ovs-vsctl --timeout=5 add-br "$BR" -- set bridge "$BR" datapath_type=netdev fail-mode=secure protocols=OpenFlow13 \
  -- add-port "$BR" "$PREFIX-h1" -- add-port "$BR" "$PREFIX-h2" \
  -- set-controller "$BR" "tcp:127.0.0.1:$PORT"

# The app installs the table-miss flow as soon as the switch connects.
table_miss() { ovs-ofctl -O OpenFlow13 dump-flows "$BR" 2>/dev/null | grep -q 'actions=CONTROLLER'; }
for _ in $(seq 100); do
  table_miss && break
  sleep 0.1
done
table_miss || { echo "demo: the switch did not connect to the controller" >&2; exit 1; }

# ---- traffic --------------------------------------------------------------------------
status=0
say "h1 -> h2"
ip netns exec "$PREFIX-h1" ping -c 3 -i 0.2 -W 2 10.0.0.2 || status=1
say "h2 -> h1"
ip netns exec "$PREFIX-h2" ping -c 3 -i 0.2 -W 2 10.0.0.1 || status=1

say "ovs-ofctl -O OpenFlow13 dump-flows $BR"
ovs-ofctl -O OpenFlow13 dump-flows "$BR"
exit "$status"
