// The forwarding benchmark: tsof-switch (the switch process, its flows loaded
// by ovs-ofctl like Open vSwitch's), Open vSwitch 3.1's userspace datapath
// (datapath_type=netdev) and a Linux bridge, on one topology, in one run:
//
//   h1 (netns) eth0 == veth == s1 [switch] s2 == veth == eth0 h2 (netns)
//
// - UDP: trafgen (netsniff-ng) in h1 sends 64-byte frames (60 + FCS) as fast as
//   it can on one CPU, varying udp_src over 1,000 values; "delivered" is what
//   h2's eth0 received per second (h2 is not the destination MAC: it counts and
//   drops). Two flow tables (forwarding-flows.ts): "ports" (in_port flows; the
//   bridge runs here too) and "100k" (100,000 flows over 4 tables).
// - TCP: one iperf3 stream h1 -> h2 with the veths' offloads on (their
//   default), and for Open vSwitch once more with checksum offload turned off
//   on both hosts, as its users have to.
//
// The switches take turns on the same veths: each round attaches one (tsof-switch
// through its control socket, as ovs-vsctl add-port does for OVS), measures,
// detaches it, and the order rotates every round, so all of them see the same
// moments of a shared machine. The tables give every round and the median; the
// ratios are of medians. The machine has 2 cores, shared by the generator, the
// switch and the kernel's veth work: compare rows of one run with each other.
//
// Needs root. Installs its Debian peers when missing (Open vSwitch, trafgen,
// iperf3, ethtool). Removes everything it made, also when interrupted.
// Usage: sudo npx tsx bench/forwarding.ts [--seconds 5] [--rounds 3] [--tcp-seconds 3] [--only udp|tcp]

import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { flows, ovsLine, SCENARIOS, type Scenario } from './forwarding-flows.ts';
import { fmt, median, quiet, sh, start, stop, takeTurns, type Contender } from './lib/run.ts';
import { udpRate, UDP_64 } from './lib/trafgen.ts';
import { startTsofSwitch, tsofCtl } from './tsof-switch.ts';

const { values: opt } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    'tcp-seconds': { type: 'string', default: '3' },
    only: { type: 'string' },
  },
});
const num = (name: keyof typeof opt): number => {
  const v = Number(opt[name]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name}: expected a positive number, got ${opt[name]}`);
  return v;
};
const SECS = num('seconds');
const ROUNDS = num('rounds');
const TCP_SECS = num('tcp-seconds');
if (opt.only !== undefined && opt.only !== 'udp' && opt.only !== 'tcp') throw new Error(`--only: udp or tcp, not ${opt.only}`);

execFileSync('bash', ['scripts/install-peers.sh', 'openvswitch-switch', 'openvswitch-common', 'netsniff-ng', 'iperf3', 'ethtool', 'iproute2'], {
  stdio: 'inherit',
});

// Interface names are at most 15 characters.
const id = Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0');
const ns = (n: number): string => `tsfw${id}n${n}`;
const sw = (n: number): string => `tsfw${id}s${n}`;
const OVS_BR = `tsfw${id}ovs`;
const LINUX_BR = `tsfw${id}br`;
const tmp = mkdtempSync(join(tmpdir(), 'tsof-forwarding-'));
const inNs = (n: number, cmd: string, ...args: string[]): string => sh('ip', 'netns', 'exec', ns(n), cmd, ...args);
const TSOF_CTL = join(tmp, 'tsof-switch.ctl');
const TSOF_PORT = 20000 + (parseInt(id, 16) % 20000);
const TSOF_OF = `tcp:127.0.0.1:${TSOF_PORT}`;
let tsofSwitch: ChildProcess | undefined;

function cleanup(): void {
  tsofSwitch?.kill('SIGTERM');
  tsofSwitch = undefined;
  quiet('ovs-vsctl', '--timeout=5', '--if-exists', 'del-br', OVS_BR);
  quiet('ip', 'link', 'del', LINUX_BR);
  for (const n of [1, 2]) {
    quiet('ip', 'link', 'del', sw(n));
    quiet('ip', 'netns', 'del', ns(n));
  }
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

// ---- topology -------------------------------------------------------------------------

for (const n of [1, 2]) {
  sh('ip', 'netns', 'add', ns(n));
  sh('ip', 'link', 'add', sw(n), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(n));
  sh('sysctl', '-qw', `net.ipv6.conf.${sw(n)}.disable_ipv6=1`);
  sh('ip', 'link', 'set', sw(n), 'up');
  inNs(n, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
  inNs(n, 'ip', 'addr', 'add', `198.18.0.${n}/24`, 'dev', 'eth0');
  inNs(n, 'ip', 'link', 'set', 'eth0', 'up');
}
// iperf3 needs ARP through the switch; the UDP frames go to an unknown MAC.
const trafgenConf = join(tmp, 'udp.cfg');
writeFileSync(trafgenConf, UDP_64);

if (sh('bash', '-c', 'ovs-vsctl --timeout=2 show >/dev/null 2>&1 && echo up || echo down') !== 'up') {
  sh('/usr/share/openvswitch/scripts/ovs-ctl', 'start', '--system-id=random');
}
sh('ovs-vsctl', '--timeout=10', 'add-br', OVS_BR, '--', 'set', 'bridge', OVS_BR, 'datapath_type=netdev', 'fail-mode=secure', 'protocols=OpenFlow13');
sh('ip', 'link', 'add', LINUX_BR, 'type', 'bridge');
sh('ip', 'link', 'set', LINUX_BR, 'up');

// ---- the switches ---------------------------------------------------------------------

type Switch = Required<Contender>;

const tsof: Switch = {
  name: 'tsof-switch',
  attach: () => {
    for (const n of [1, 2]) tsofCtl(TSOF_CTL, 'add-port', `${sw(n)}=${n}`);
  },
  detach: () => {
    for (const n of [1, 2]) tsofCtl(TSOF_CTL, 'del-port', String(n));
  },
};
const ovs: Switch = {
  name: 'Open vSwitch netdev',
  attach: () => {
    for (const n of [1, 2]) sh('ovs-vsctl', '--timeout=10', 'add-port', OVS_BR, sw(n), '--', 'set', 'interface', sw(n), `ofport_request=${n}`);
  },
  detach: () => {
    for (const n of [1, 2]) sh('ovs-vsctl', '--timeout=10', 'del-port', OVS_BR, sw(n));
  },
};
const txOffloads = (on: boolean): void => {
  for (const n of [1, 2]) inNs(n, 'ethtool', '-K', 'eth0', 'tx', on ? 'on' : 'off');
};
const ovsTxOff: Switch = {
  name: 'Open vSwitch netdev, tx offload off',
  attach: () => (txOffloads(false), ovs.attach()),
  detach: () => (ovs.detach(), txOffloads(true)),
};
const bridge: Switch = {
  name: 'Linux bridge',
  attach: () => {
    for (const n of [1, 2]) sh('ip', 'link', 'set', sw(n), 'master', LINUX_BR);
  },
  detach: () => {
    for (const n of [1, 2]) sh('ip', 'link', 'set', sw(n), 'nomaster');
  },
};

/** The same table into both switches, each by ovs-ofctl add-flows. */
function loadFlows(scenario: Scenario): void {
  const table = flows(scenario);
  const file = join(tmp, `${scenario}.flows`);
  writeFileSync(file, table.map(ovsLine).join('\n') + '\n');
  for (const target of [OVS_BR, TSOF_OF]) {
    sh('ovs-ofctl', '-O', 'OpenFlow13', 'del-flows', target);
    sh('ovs-ofctl', '-O', 'OpenFlow13', 'add-flows', target, file);
    const count = Number(/flow_count=(\d+)/.exec(sh('ovs-ofctl', '-O', 'OpenFlow13', 'dump-aggregate', target))?.[1]);
    if (count !== table.length) throw new Error(`${target} has ${count} flows, not ${table.length}`);
  }
}

/** Packets the flows of one table in tsof-switch matched, as ovs-ofctl dump-aggregate says. */
function tsofMatched(tableId: number): number {
  return Number(/packet_count=(\d+)/.exec(sh('ovs-ofctl', '-O', 'OpenFlow13', 'dump-aggregate', TSOF_OF, `table=${tableId}`))?.[1] ?? 0);
}

// ---- measuring ------------------------------------------------------------------------

/** Frames per second h1 sent and h2 received while trafgen sent from h1 (after 1 s of warm-up). */
const udp = () => udpRate(ns(1), ns(2), trafgenConf, SECS);

/** One iperf3 stream h1 -> h2: Gbit/s received (0 when it carried nothing). */
async function tcp(): Promise<number> {
  const server = start('ip', ['netns', 'exec', ns(2), 'iperf3', '-s', '-1', '-B', '198.18.0.2']);
  await sleep(500);
  let gbps = 0;
  try {
    const out = inNs(1, 'timeout', String(TCP_SECS + 10), 'iperf3', '-c', '198.18.0.2', '-t', String(TCP_SECS), '-J');
    gbps = (JSON.parse(out).end?.sum_received?.bits_per_second ?? 0) / 1e9;
  } catch {
    // iperf3 could not connect or exchange its results: nothing was carried
  }
  await stop(server, 'SIGTERM');
  return gbps;
}

type Results = Map<string, number[]>;

const rounds = (switches: Switch[], run: (s: Switch) => Promise<number>): Promise<Results> => takeTurns(switches, ROUNDS, run);

// ---- report ---------------------------------------------------------------------------

function table(title: string, unit: string, res: Results, digits: number): void {
  console.log(`\n${title}\n`);
  console.log(`| switch | ${Array.from({ length: ROUNDS }, (_, r) => `round ${r + 1}`).join(' | ')} | median ${unit} | tsof / this |`);
  console.log(`|---|${'---:|'.repeat(ROUNDS + 2)}`);
  const ours = median(res.get(tsof.name)!);
  for (const [name, xs] of res) {
    const m = median(xs);
    const ratio = name === tsof.name ? '' : m > 0 ? `${fmt(ours / m, 2)}x` : 'carried nothing';
    console.log(`| ${name} | ${xs.map((x) => fmt(x, digits)).join(' | ')} | ${fmt(m, digits)} | ${ratio} |`);
  }
}

console.log(`forwarding benchmark ${new Date().toISOString()}: ${cpus().length} CPUs (${cpus()[0]?.model}), Linux ${release()}, ` +
  `${sh('ovs-vswitchd', '--version').split('\n')[0]}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`UDP ${SECS} s per measurement, TCP ${TCP_SECS} s, ${ROUNDS} rounds`);
tsofSwitch = await startTsofSwitch(id, TSOF_PORT, TSOF_CTL);

if (opt.only !== 'tcp') {
  for (const scenario of SCENARIOS) {
    loadFlows(scenario);
    const switches = scenario === 'ports' ? [tsof, ovs, bridge] : [tsof, ovs];
    const offered: Results = new Map(switches.map((s) => [s.name, []]));
    const res = await rounds(switches, async (s) => {
      const r = await udp();
      offered.get(s.name)!.push(r.offered);
      return r.delivered;
    });
    // A benchmark of a switch that does not forward is worthless.
    for (const [name, xs] of res) if (xs.some((x) => x < 1000)) throw new Error(`${name} delivered ${xs.join(', ')} pps in "${scenario}"`);
    if (scenario === '100k' && tsofMatched(3) === 0) throw new Error('tsof-switch: no frame reached table 3');
    table(`64-byte UDP, flows "${scenario}" (${flows(scenario).length} flows): delivered frames per second`, 'pps', res, 0);
    table(`(what trafgen offered meanwhile, frames per second: it shares the CPUs with the switch)`, 'pps', offered, 0);
  }
}

if (opt.only !== 'udp') {
  loadFlows('ports');
  const res = await rounds([tsof, ovs, ovsTxOff, bridge], tcp);
  table('One iperf3 TCP stream h1 -> h2, flows "ports": Gbit/s', 'Gbit/s', res, 2);
}
// Exit, which cleans up (tsof-switch is stopped with SIGTERM).
process.exit(0);
