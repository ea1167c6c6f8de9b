#!/usr/bin/env bash
# Raw forwarding, preliminary: how many 64-byte UDP frames per second get from
# h1 to h2 through a two-port switch, for tsof's patch forwarding (port 1 <->
# port 2, no pipeline yet), Open vSwitch 3.1 with datapath_type=netdev and one
# flow per direction, and a Linux bridge, on the same topology in one run:
#
#   h1 (netns, trafgen) eth0 == veth == s1 [switch] s2 == veth == eth0 h2 (netns)
#
# trafgen sends as fast as it can on one CPU for SECS seconds (after 1 s of
# warm-up); delivered = frames h2's eth0 received. Then one iperf3 TCP stream
# from h1 to h2 for 3 s, with the veths' offloads on (their default). The machine has 2 cores, so
# the generator, the switch and the kernel's veth work share them: compare the
# rows of one run with each other, not with other machines.
#
# Needs root, iproute2, netsniff-ng (trafgen), iperf3, openvswitch-switch.
# Usage: sudo bash bench/forwarding-raw.sh [SECS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-5}
id=$(od -An -N2 -tx2 /dev/urandom | tr -d ' ')
ns() { echo "tsofdp-$id-n$1"; }
sw() { echo "tsofdp-$id-s$1"; }
br=tsofdp-$id-br
conf=$(mktemp)
tsof_pid=

cleanup() {
  [ -n "$tsof_pid" ] && kill "$tsof_pid" 2>/dev/null || true
  ovs-vsctl --timeout=5 --if-exists del-br "$br" >/dev/null 2>&1 || true
  ip link del "$br" 2>/dev/null || true
  for n in 1 2; do
    ip link del "$(sw $n)" 2>/dev/null || true
    ip netns del "$(ns $n)" 2>/dev/null || true
  done
  rm -f "$conf"
}
trap cleanup EXIT

for n in 1 2; do
  ip netns add "$(ns $n)"
  ip link add "$(sw $n)" type veth peer name eth0 netns "$(ns $n)"
  sysctl -qw "net.ipv6.conf.$(sw $n).disable_ipv6=1"
  ip link set "$(sw $n)" up
  ip netns exec "$(ns $n)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip netns exec "$(ns $n)" ip addr add "198.18.0.$n/24" dev eth0
  ip netns exec "$(ns $n)" ip link set eth0 up
done

# 60 bytes + FCS = 64 on the wire; h2's MAC is not the destination, so h2 counts and drops.
cat >"$conf" <<'EOF'
{
  eth(da=02:00:00:00:00:02, sa=02:00:00:00:00:01),
  ipv4(saddr=198.18.0.1, daddr=198.18.0.2, ttl=64),
  udp(sp=4000, dp=5000),
  fill(0x00, 18)
}
EOF

rx() { ip netns exec "$(ns 2)" cat /sys/class/net/eth0/statistics/rx_packets; }
tx() { ip netns exec "$(ns 1)" cat /sys/class/net/eth0/statistics/tx_packets; }

# TCP: one iperf3 stream from h1 to h2 for 3 s, offloads left on; Gbit/s, or "failed".
tcp() {
  local server out
  ip netns exec "$(ns 2)" timeout 15 iperf3 -s -1 -B 198.18.0.2 >/dev/null 2>&1 &
  server=$!
  sleep 0.5
  out=$(ip netns exec "$(ns 1)" timeout 10 iperf3 -c 198.18.0.2 -t 3 -J 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{try{console.log((JSON.parse(s).end.sum_received.bits_per_second/1e9).toFixed(2))}catch{console.log("failed")}})')
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  echo "$out"
}

# Runs trafgen, then iperf3, through whatever switch is set up and prints one row.
measure() {
  local name=$1 gen rx0 tx0 rx1 tx1
  # timeout signals trafgen's whole process group: the parent and the worker it forks.
  ip netns exec "$(ns 1)" timeout -s INT $((SECS + 2)) trafgen -o eth0 -i "$conf" -P 1 --no-sock-mem -Q -C >/dev/null 2>&1 &
  gen=$!
  sleep 1
  rx0=$(rx) tx0=$(tx)
  sleep "$SECS"
  rx1=$(rx) tx1=$(tx)
  wait "$gen" || true
  printf '| %-34s | %12d | %13d | %15s |\n' "$name" $(((tx1 - tx0) / SECS)) $(((rx1 - rx0) / SECS)) "$(tcp)"
}

printf '| %-34s | %12s | %13s | %15s |\n' "switch (64-byte UDP for ${SECS} s)" "offered pps" "delivered pps" "TCP, Gbit/s"
echo "|------------------------------------|-------------:|--------------:|----------------:|"

# tsof
fifo=$(mktemp -u)
mkfifo "$fifo"
node --import tsx bench/forwarding-raw-tsof.ts "$(sw 1)" "$(sw 2)" >"$fifo" &
tsof_pid=$!
exec 3<"$fifo"
rm -f "$fifo"
read -r ready <&3
[ "$ready" = ready ]
measure "tsof patch (AF_PACKET, TPACKET_V3)"
kill "$tsof_pid"
read -r counters <&3 || true
wait "$tsof_pid" 2>/dev/null || true
tsof_pid=
exec 3<&-

# Open vSwitch, userspace datapath
if ! ovs-vsctl --timeout=2 show >/dev/null 2>&1; then
  /usr/share/openvswitch/scripts/ovs-ctl start --system-id=random >/dev/null
fi
ovs-vsctl --timeout=5 add-br "$br" -- set bridge "$br" datapath_type=netdev fail-mode=secure \
  -- add-port "$br" "$(sw 1)" -- set interface "$(sw 1)" ofport_request=1 \
  -- add-port "$br" "$(sw 2)" -- set interface "$(sw 2)" ofport_request=2
ovs-ofctl add-flow "$br" in_port=1,actions=output:2
ovs-ofctl add-flow "$br" in_port=2,actions=output:1
measure "Open vSwitch 3.1 netdev"
ovs-vsctl --timeout=5 del-br "$br"

# Linux bridge
ip link add "$br" type bridge
for n in 1 2; do ip link set "$(sw $n)" master "$br"; done
ip link set "$br" up
measure "Linux bridge"
ip link del "$br"

echo
echo "tsof counters: $counters"
