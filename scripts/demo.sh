#!/usr/bin/env bash
# The tsof demo (sudo npm run demo): tsof-switch, the native datapath behind an
# OpenFlow 1.3 agent, between two hosts in network namespaces, driven by the
# learning-switch app on tsof-controller.
#
#   h1 (10.0.0.1) --veth-- [ tsof-switch, dpid 0x1 ] --veth-- h2 (10.0.0.2)
#                            |  OpenFlow 1.3, tcp:127.0.0.1:16653
#                     tsof-controller examples/learning-switch.ts
#
# The hosts ping each other and run a short iperf3; the flows the app installed
# and the port counters are printed (through the switch's passive listener);
# then 64-byte frames from trafgen go through tsof-switch and, on the same veths,
# through a Linux bridge, and one line compares the two rates. Everything the
# demo creates (namespaces, veths, bridge, switch, controller) is removed on
# exit, failure or interruption included; leftovers of an interrupted run are
# removed first. The exit status is non-zero when a ping or iperf3 fails. Needs
# root; installs missing Debian packages with apt-get.
set -euo pipefail

PORT=${TSOF_DEMO_PORT:-16653}
MGMT=$((PORT + 1))
PREFIX=tsofdemo
BR=$PREFIX-br
RUN=/run/tsof
CTL=$RUN/$PREFIX.ctl
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
RATE_SECONDS=3

say() { printf '\n== %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: needs root for namespaces and the datapath's AF_PACKET ports: sudo npm run demo" >&2
  exit 1
fi

# ---- peers: Debian packages ---------------------------------------------------------
bash "$ROOT/scripts/install-peers.sh" iproute2 iputils-ping iperf3 netsniff-ng

# ---- clean-up, on every exit -----------------------------------------------------
controller_pid=
switch_pid=
stop() { # PID: SIGTERM, then wait for it
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
remove_topology() {
  ip link del "$BR" 2>/dev/null || true
  for h in h1 h2; do
    ip netns del "$PREFIX-$h" 2>/dev/null || true
    ip link del "$PREFIX-$h" 2>/dev/null || true
  done
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop "$switch_pid"
  stop "$controller_pid"
  remove_topology
  [ "$status" -eq 0 ] && say "done: cleaned up" || say "FAILED (exit $status): cleaned up"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

remove_topology
listening() { [ -n "$(ss -Hltn "sport = :$1")" ]; }
wait_for() { # DESCRIPTION PID COMMAND...: up to 10 s for COMMAND to succeed while PID lives
  local what=$1 pid=$2
  shift 2
  for _ in $(seq 100); do
    "$@" && return 0
    kill -0 "$pid" 2>/dev/null || { echo "demo: $what: the process exited" >&2; return 1; }
    sleep 0.1
  done
  echo "demo: $what: gave up after 10 s" >&2
  return 1
}
for p in "$PORT" "$MGMT"; do
  if listening "$p"; then
    echo "demo: port $p is taken; choose others with TSOF_DEMO_PORT=N (N and N+1 are used)" >&2
    exit 1
  fi
done

# ---- the controller ------------------------------------------------------------------
say "starting tsof-controller with examples/learning-switch.ts on port $PORT"
node "$ROOT/bin/tsof-controller.js" --host 127.0.0.1 --port "$PORT" "$ROOT/examples/learning-switch.ts" \
  > >(sed -u 's/^/  controller | /') 2>&1 &
controller_pid=$!
wait_for "tsof-controller listening on $PORT" "$controller_pid" listening "$PORT"

# ---- the hosts -----------------------------------------------------------------------
say "creating hosts $PREFIX-h1 and $PREFIX-h2"
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

# ---- the switch ----------------------------------------------------------------------
say "starting tsof-switch: ports $PREFIX-h1=1 $PREFIX-h2=2, controller tcp:127.0.0.1:$PORT, listener ptcp:$MGMT"
mkdir -p "$RUN"
node "$ROOT/bin/tsof-switch.js" --dpid 0x1 --port "$PREFIX-h1=1" --port "$PREFIX-h2=2" \
  --controller "tcp:127.0.0.1:$PORT" --listen "ptcp:$MGMT:127.0.0.1" --fail-mode secure --ctl "$CTL" \
  > >(sed -u 's/^/  switch     | /') 2>&1 &
switch_pid=$!
ofctl() { node "$ROOT/bin/tsof-ofctl.js" -O OpenFlow13 "$@" "tcp:127.0.0.1:$MGMT"; }
# The app installs the table-miss flow as soon as the switch connects.
table_miss() { ofctl dump-flows 2>/dev/null | grep -q 'actions=CONTROLLER'; }
wait_for "tsof-switch connected to the controller" "$switch_pid" table_miss

# ---- traffic --------------------------------------------------------------------------
status=0
say "h1 -> h2"
ip netns exec "$PREFIX-h1" ping -c 3 -i 0.2 -W 2 10.0.0.2 || status=1
say "h2 -> h1"
ip netns exec "$PREFIX-h2" ping -c 3 -i 0.2 -W 2 10.0.0.1 || status=1

say "iperf3, one TCP stream h1 -> h2 for 2 s"
ip netns exec "$PREFIX-h2" iperf3 -s -1 -B 10.0.0.2 >/dev/null 2>&1 &
iperf_server=$!
sleep 0.5
if ip netns exec "$PREFIX-h1" iperf3 -c 10.0.0.2 -t 2 -f g | grep -E 'sender|receiver'; then :; else status=1; fi
wait "$iperf_server" 2>/dev/null || true

say "flows (tsof-ofctl -O OpenFlow13 dump-flows tcp:127.0.0.1:$MGMT)"
ofctl dump-flows
say "port counters (tsof-ofctl -O OpenFlow13 dump-ports tcp:127.0.0.1:$MGMT)"
ofctl dump-ports

# ---- forwarding rate: tsof-switch, then a Linux bridge on the same veths ----------------
# 64-byte frames from h1's MAC to h2's, so the flow the app installed carries them in
# the datapath; to an address h2 does not have, so h2 counts and drops them.
frames=$(mktemp)
cat > "$frames" <<'EOF'
{ eth(da=02:00:00:00:00:02, sa=02:00:00:00:00:01),
  ipv4(saddr=10.0.0.1, daddr=10.0.0.99, ttl=64),
  udp(sp=dinc(1024, 2023), dp=9), fill(0x00, 18) }
EOF
rx() { ip netns exec "$PREFIX-h2" cat /sys/class/net/eth0/statistics/rx_packets; }
rate() { # frames per second h2 received while trafgen sent from h1
  local before after
  ip netns exec "$PREFIX-h1" timeout -s INT $((RATE_SECONDS + 1)) \
    trafgen -o eth0 -i "$frames" -P 1 --no-sock-mem -q >/dev/null 2>&1 &
  local gen=$!
  sleep 1
  before=$(rx)
  sleep "$RATE_SECONDS"
  after=$(rx)
  wait "$gen" 2>/dev/null || true
  echo $(((after - before) / RATE_SECONDS))
}
say "forwarding 64-byte frames for $RATE_SECONDS s: tsof-switch, then a Linux bridge"
tsof_pps=$(rate)
stop "$switch_pid"
switch_pid=
ip link add "$BR" type bridge
ip link set "$BR" up
for h in h1 h2; do ip link set "$PREFIX-$h" master "$BR"; done
bridge_pps=$(rate)
rm -f "$frames"
awk -v t="$tsof_pps" -v b="$bridge_pps" 'BEGIN {
  printf "64-byte frames per second: tsof-switch %d, Linux bridge %d (%.2fx; the generator shares the CPUs: see docs/benchmarks.md)\n", t, b, b ? t / b : 0 }'
exit "$status"
