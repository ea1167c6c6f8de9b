// The packet-in flood benchmark: tsof-switch and Open vSwitch 3.1's userspace
// datapath (datapath_type=netdev, a bridge of the system's ovs-vswitchd, as
// bench/forwarding.ts's) side by side in one run, on one topology:
//
//   flooder (netns) == port 1 [switch] port 2 == h2 (netns)
//                                      port 3 == h3 (netns)
//
// Each switch has the same three flows: in_port=2 -> 3 and in_port=3 -> 2
// (the "installed pair") and a table-miss flow sending the rest to the
// controller (CONTROLLER:128). trafgen floods port 1, on one CPU as fast as it
// can, with 64-byte frames that miss (random source MAC, IP and port: no cache
// keeps them; test/support/packet-in-flood.ts). Each switch's controller is a
// PacketInSink of this process, which counts packet-ins without decoding them.
// Neither switch rate-limits packet-ins (tsof-switch's --packet-in-rate 0,
// Open vSwitch's controller_rate_limit unset: both their defaults); both queue
// at most what their socket takes, Open vSwitch its controller_queue_size (100
// packet-ins) besides.
//
// Per switch, per round:
// - pair alone: trafgen h2 -> h3, frames per second h3 received;
// - fast: the flood, the controller reading as fast as it can: packet-ins per
//   second it read;
// - slow: the flood and the pair at once, the controller reading --slow-rate
//   packet-ins per second: what it read, what the switch counted as dropped
//   (tsof-switch: its metrics; Open vSwitch: its coverage counters
//   rconn_overflow and packet_in_overflow), and the pair's frames per second.
// The switch's RSS is read each second of the flood. Open vSwitch's daemon
// is the system's, which other bridges may share: its RSS and coverage
// counters are the whole daemon's. The first second of each measurement is
// warm-up; rates are over the time that passed. The switches take turns
// on the same veths and the order rotates every round; ratios are of medians.
// The machine's cores are shared by the generators, the switch, the
// controller and the kernel: compare rows of one run with each other.
//
// Needs root. Installs its Debian peers when missing. Removes everything it
// made, also when interrupted.
// Usage: sudo npx tsx bench/packet-in.ts [--seconds 5] [--rounds 3] [--slow-rate 1000]

import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { freePort } from '../test/support/daemon.ts';
import { addHost, type Host } from '../test/support/hosts.ts';
import { scrape } from '../test/support/metrics.ts';
import { FLOOD_FRAMES, PacketInSink } from '../test/support/packet-in-flood.ts';
import { fmt, median, quiet, sh, stop, type Started } from './lib/run.ts';
import { counter, startTrafgen } from './lib/trafgen.ts';
import { startTsofSwitch, tsofCtl } from './tsof-switch.ts';

const { values: opt } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    'slow-rate': { type: 'string', default: '1000' },
  },
});
const num = (name: keyof typeof opt): number => {
  const v = Number(opt[name]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name}: expected a positive whole number, got ${opt[name]}`);
  return v;
};
const SECS = num('seconds');
const ROUNDS = num('rounds');
const SLOW_RATE = num('slow-rate');
const WARMUP_MS = 1000;
/** Echo requests wait behind the queued packet-ins: neither switch may take a slow controller for dead. */
const PROBE_MS = 60_000;

execFileSync('bash', ['scripts/install-peers.sh', 'openvswitch-switch', 'openvswitch-common', 'netsniff-ng', 'iproute2'], { stdio: 'inherit' });

// Interface names are at most 15 characters.
const id = Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0');
const hosts: Host[] = [1, 2, 3].map((n) => ({ n, ns: `tspi${id}n${n}`, veth: `tspi${id}s${n}`, ip: `198.18.11.${n}`, mac: `02:00:00:00:11:0${n}` }));
const [flooder, h2, h3] = hosts;
const OVS_BR = `tspi${id}ovs`;
const tmp = mkdtempSync(join(tmpdir(), 'tsof-packet-in-'));
const TSOF_CTL = join(tmp, 'tsof-switch.ctl');
const FLOOD_CONF = join(tmp, 'flood.cfg');
const PAIR_CONF = join(tmp, 'pair.cfg');
const FLOWS = join(tmp, 'flows');
let tsofSwitch: ChildProcess | undefined;
const running = new Set<Started>();

function cleanup(): void {
  for (const { child } of running) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // the group has gone already
    }
  }
  tsofSwitch?.kill('SIGTERM');
  quiet('ovs-vsctl', '--timeout=5', '--if-exists', 'del-br', OVS_BR);
  for (const h of hosts) {
    quiet('ip', 'netns', 'del', h.ns);
    quiet('ip', 'link', 'del', h.veth);
  }
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

// ---- topology, controllers and switches --------------------------------------------

for (const h of hosts) await addHost(h);
writeFileSync(FLOOD_CONF, FLOOD_FRAMES);
// The pair's frames: 64-byte UDP, udp_src over 1,000 values (h3 counts and drops them).
writeFileSync(
  PAIR_CONF,
  `{ eth(da=${h3.mac}, sa=${h2.mac}), ipv4(saddr=${h2.ip}, daddr=${h3.ip}, ttl=64), udp(sp=dinc(1024, 2023), dp=5000), fill(0x00, 18) }\n`,
);
writeFileSync(FLOWS, ['priority=10,in_port=2,actions=output:3', 'priority=10,in_port=3,actions=output:2', 'priority=0,actions=CONTROLLER:128', ''].join('\n'));

interface Switch {
  name: string;
  sink: PacketInSink;
  pid(): number;
  attach(): void;
  detach(): void;
  /** Packet-ins the switch counted as dropped so far. */
  drops(): Promise<number>;
  /** How it counts them, for the report. */
  dropsFrom: string;
}

const tsofSink = new PacketInSink();
const ovsSink = new PacketInSink();
const metrics = `127.0.0.1:${await freePort()}`;
const tsofPort = await freePort();
tsofSwitch = await startTsofSwitch(id, tsofPort, TSOF_CTL, '--controller', `tcp:127.0.0.1:${await tsofSink.listen()}`,
  '--inactivity-probe', String(PROBE_MS), '--metrics', metrics);
if (sh('bash', '-c', 'ovs-vsctl --timeout=2 show >/dev/null 2>&1 && echo up || echo down') !== 'up') {
  sh('/usr/share/openvswitch/scripts/ovs-ctl', 'start', '--system-id=random');
}
const vsctl = (...args: string[]) => sh('ovs-vsctl', '--timeout=10', ...args);
vsctl('add-br', OVS_BR, '--', 'set', 'bridge', OVS_BR, 'datapath_type=netdev', 'fail-mode=secure', 'protocols=OpenFlow13');
vsctl('set-controller', OVS_BR, `tcp:127.0.0.1:${await ovsSink.listen()}`);
vsctl('set', 'controller', OVS_BR, 'connection-mode=out-of-band', `inactivity_probe=${PROBE_MS}`);
for (const target of [`tcp:127.0.0.1:${tsofPort}`, OVS_BR]) sh('ovs-ofctl', '-O', 'OpenFlow13', 'add-flows', target, FLOWS);

const coverage = (name: string): number => Number(sh('ovs-appctl', 'coverage/read-counter', name));
const switches: Switch[] = [
  {
    name: 'tsof-switch',
    sink: tsofSink,
    pid: () => tsofSwitch!.pid!,
    attach: () => hosts.forEach((h) => tsofCtl(TSOF_CTL, 'add-port', `${h.veth}=${h.n}`)),
    detach: () => hosts.forEach((h) => tsofCtl(TSOF_CTL, 'del-port', String(h.n))),
    drops: async () => {
      const m = await scrape(metrics);
      return m.value('tsof_packet_in_drops_total')! + m.value('tsof_datapath_upcalls_dropped_total')! + m.value('tsof_port_rx_dropped_total', { port: '1' })!;
    },
    dropsFrom: "metrics tsof_packet_in_drops_total + tsof_datapath_upcalls_dropped_total + port 1's tsof_port_rx_dropped_total (its ring)",
  },
  {
    name: 'Open vSwitch netdev',
    sink: ovsSink,
    pid: () => Number(readFileSync('/run/openvswitch/ovs-vswitchd.pid', 'utf8')),
    attach: () => hosts.forEach((h) => vsctl('add-port', OVS_BR, h.veth, '--', 'set', 'interface', h.veth, `ofport_request=${h.n}`)),
    detach: () => hosts.forEach((h) => vsctl('del-port', OVS_BR, h.veth)),
    drops: async () => coverage('rconn_overflow') + coverage('packet_in_overflow'),
    dropsFrom: 'coverage counters rconn_overflow (controller_queue_size) + packet_in_overflow (1024 waiting for the main thread)',
  },
];
for (const s of [tsofSink, ovsSink]) while (s.connections === 0) await sleep(100);

// ---- measuring ------------------------------------------------------------------------

const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

function generate(ns: string, conf: string): Started {
  const g = startTrafgen(ns, conf);
  running.add(g);
  return g;
}
async function halt(g: Started): Promise<void> {
  await stop(g, 'SIGINT');
  running.delete(g);
}

interface Rates {
  /** Flood frames trafgen offered, packet-ins the controller read, packet-ins the switch counted as dropped, pair frames h3 received: per second. */
  offered: number;
  delivered: number;
  drops: number;
  pair: number;
  /** The switch's RSS each second (MiB). */
  rss: number[];
}

async function reading(s: Switch) {
  return { offered: counter(flooder.ns, 'tx_packets'), delivered: s.sink.packetIns, drops: await s.drops(), pair: counter(h3.ns, 'rx_packets'), at: performance.now() };
}

/**
 * Runs the flood, the pair or both for SECS seconds after the warm-up, the controller reading `rate` packet-ins a
 * second (0: as fast as it can). Rates are over the time that passed, which a loaded machine stretches.
 */
async function measure(s: Switch, what: { flood?: boolean; pair?: boolean; rate?: number }): Promise<Rates> {
  s.sink.rate = what.rate ?? 0;
  const gens = [...(what.flood ? [generate(flooder.ns, FLOOD_CONF)] : []), ...(what.pair ? [generate(h2.ns, PAIR_CONF)] : [])];
  await sleep(WARMUP_MS);
  const before = await reading(s);
  const rss: number[] = [];
  for (let i = 0; i < SECS; i++) {
    await sleep(1000);
    rss.push(rssMiB(s.pid()));
  }
  const after = await reading(s);
  for (const g of gens) await halt(g);
  // What was queued arrives before the next measurement.
  s.sink.rate = 0;
  for (let last = -1; s.sink.packetIns !== last; await sleep(500)) last = s.sink.packetIns;
  const secs = (after.at - before.at) / 1000;
  const rate = (k: Exclude<keyof typeof before, 'at'>) => (after[k] - before[k]) / secs;
  return { offered: rate('offered'), delivered: rate('delivered'), drops: rate('drops'), pair: rate('pair'), rss };
}

type Row = { alone: Rates; fast: Rates; slow: Rates };
const results = new Map<Switch, Row[]>(switches.map((s) => [s, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (let i = 0; i < switches.length; i++) {
    const s = switches[(r + i) % switches.length];
    process.stderr.write(`round ${r + 1}: ${s.name}\n`);
    s.attach();
    try {
      const alone = await measure(s, { pair: true });
      const fast = await measure(s, { flood: true });
      results.get(s)!.push({ alone, fast, slow: await measure(s, { flood: true, pair: true, rate: SLOW_RATE }) });
    } finally {
      s.detach();
    }
  }
}

// ---- report ---------------------------------------------------------------------------

console.log(
  `packet-in benchmark ${new Date().toISOString()}: ${cpus().length} CPUs (${cpus()[0]?.model}), Linux ${release()}, ` +
    `${sh('ovs-vswitchd', '--version').split('\n')[0]}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
);
console.log(`${SECS} s per measurement after ${WARMUP_MS / 1000} s of warm-up, ${ROUNDS} rounds, slow controller ${fmt(SLOW_RATE)} packet-ins/s`);

function table(title: string, unit: string, pick: (row: Row) => number, digits = 0, ratio = true): void {
  console.log(`\n${title}\n`);
  console.log(`| switch | ${Array.from({ length: ROUNDS }, (_, r) => `round ${r + 1}`).join(' | ')} | median ${unit} |${ratio ? ' tsof / this |' : ''}`);
  console.log(`|---|${'---:|'.repeat(ROUNDS + (ratio ? 2 : 1))}`);
  const ours = median(results.get(switches[0])!.map(pick));
  for (const [s, rows] of results) {
    const xs = rows.map(pick);
    const m = median(xs);
    const cell = !ratio ? '' : s === switches[0] ? ' |' : m > 0 ? ` ${fmt(ours / m, 2)}x |` : ' none |';
    console.log(`| ${s.name} | ${xs.map((x) => fmt(x, digits)).join(' | ')} | ${fmt(m, digits)} |${cell}`);
  }
}

// A benchmark of a switch that sends no packet-ins, or forwards nothing even without the flood, is worthless.
for (const [s, rows] of results) {
  for (const row of rows) if (row.fast.delivered === 0 || row.alone.pair < 1000) throw new Error(`${s.name}: ${JSON.stringify(row)}`);
}
table('Fast controller: packet-ins per second delivered during the flood', 'packet-ins/s', (r) => r.fast.delivered);
table('(what trafgen offered meanwhile, frames per second)', 'pps', (r) => r.fast.offered, 0, false);
table(`Slow controller (${fmt(SLOW_RATE)}/s): packet-ins per second delivered`, 'packet-ins/s', (r) => r.slow.delivered, 0, false);
table('Slow controller: flood frames per second trafgen offered', 'pps', (r) => r.slow.offered, 0, false);
table('Slow controller: packet-ins per second the switch counted as dropped', 'drops/s', (r) => r.slow.drops, 0, false);
console.log('');
for (const s of switches) console.log(`- ${s.name}: ${s.dropsFrom}`);
table('Slow controller: offered, neither delivered nor counted as dropped (per second; the sockets\' buffers hold some)', 'pps', (r) => r.slow.offered - r.slow.delivered - r.slow.drops, 0, false);
table("Installed pair alone: h2 -> h3 frames per second", 'pps', (r) => r.alone.pair);
table('Installed pair during the flood (slow controller): h2 -> h3 frames per second', 'pps', (r) => r.slow.pair);
table('Installed pair: during the flood / alone', '', (r) => r.slow.pair / r.alone.pair, 2, false);
const span = (xs: number[]) => `${fmt(Math.min(...xs), 1)}-${fmt(Math.max(...xs), 1)}`;
console.log('\nRSS of the switch process each second of the flood (MiB), min-max per round: fast controller; slow controller\n');
for (const [s, rows] of results) console.log(`- ${s.name}: ${rows.map((r) => span(r.fast.rss)).join(', ')}; ${rows.map((r) => span(r.slow.rss)).join(', ')}`);
// Exit, which cleans up.
process.exit(0);
