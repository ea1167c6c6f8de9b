// The flow-table benchmark: tsof-switch (the switch process, no ports) and Open vSwitch 3.1's userspace datapath
// (a netdev bridge, no ports), each loaded by `ovs-ofctl -O OpenFlow13 add-flows` from the same file, in one run.
// Open vSwitch runs as an ovsdb-server and ovs-vswitchd of the benchmark's own (bench/lib/ovs.ts: in a temporary
// directory and a network namespace, without ovs-ctl's --mlockall), started fresh like tsof-switch: the system's
// ovs-vswitchd has every bridge of the machine and its memory locked, so its growth says nothing.
//
//
// ovs-ofctl reaches both over a Unix socket, as it reaches a local bridge by name: Open vSwitch's BRIDGE.mgmt and
// tsof-switch's /run/tsof/NAME.mgmt (--name).
//
// - Absorption: N flows (--flows, default 100,000) loaded into an empty table, by `add-flows` and by
//   `--bundle add-flows` (ONF's bundle extension, which both switches take: the flow mods in one bundle, committed
//   at once); flows per second is N over the wall time of add-flows, which ends on its last reply. ovs-ofctl parses
//   the file itself in each case: its parse time (`ovs-ofctl parse-flows`, the same file) is shown beside, and is
//   part of every time. A third contender, a switch that does nothing (bench/lib/noop-switch.c: it answers what
//   ovs-ofctl waits for and drops every flow), is the ceiling: the rate of ovs-ofctl and the kernel alone.
//   Then the same twice more with ovs-ofctl's part taken out: what it sent (recorded once by a no-op switch with
//   --record) is sent again by bench/lib/replay.c, which waits where ovs-ofctl waits; the time is the replay's own,
//   from its first connection to the last answer. And once as a controller pushes flows: the --bundle recording
//   without its bundle, each flow mod on its own, back to back, and one barrier at the end.
//   Then strict deletes: every 10th flow removed by a delete_strict line, all in one bundle.
// - Memory: resident memory (VmRSS) of the tsof-switch process, and of ovs-vswitchd, before and after
//   --memory-flows flows (default 100,000) are loaded, after 2 s to settle.
// - Expiry: --expire-flows flows (default 100,000) with idle_timeout=--idle (default 10 s), loaded while the flow
//   count (dump-aggregate) is polled every 250 ms: when the first and the last went, against the moment the first
//   and the last flow was added, plus the timeout. The longest poll shows whether the switch stalled meanwhile.
//
// The flows (bench/lib/mixed-flows.ts) mix exact and masked matches over several fields (eth_dst, eth_src/mask,
// ipv4_src, ipv4_dst/mask, tcp_dst, vlan_vid, in_port) in six shapes, each flow unique, at six priorities, in
// table 0; their actions output to a port that is not there. Absorption runs --rounds times (default 3), the order
// of the two switches alternating; the tables give each round and the median, the ratio is of medians. The machine
// has 2 cores, shared with ovs-ofctl: compare rows of one run with each other.
//
// Needs root. Installs Open vSwitch when missing (the system's need not run). Removes what it made, also when
// interrupted.
// Usage: sudo npx tsx bench/flowtable.ts [--flows 100000] [--memory-flows 100000] [--expire-flows 100000]
//        [--idle 10] [--rounds 3] [--only absorb|memory|expiry]

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { MAX_MIXED_FLOWS, mixedFlowLine, writeMixedFlows } from './lib/mixed-flows.ts';
import { startPrivateOvs, stopPrivateOvs } from './lib/ovs.ts';
import { fmt, median, sh } from './lib/run.ts';
import { bundleAddHeader, OFPT, ONFT } from '../src/openflow/codec/index.ts';
import { bridgePath } from '../src/switch/index.ts';
import { startTsofSwitch } from './tsof-switch.ts';

const { values: opt } = parseArgs({
  options: {
    flows: { type: 'string', default: '100000' },
    'memory-flows': { type: 'string', default: '100000' },
    'expire-flows': { type: 'string', default: '100000' },
    idle: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    only: { type: 'string' },
  },
});
const num = (name: keyof typeof opt): number => {
  const v = Number(opt[name]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name}: expected a positive whole number, got ${opt[name]}`);
  return v;
};
const N_ABSORB = num('flows');
const N_MEMORY = num('memory-flows');
const N_EXPIRE = num('expire-flows');
const IDLE = num('idle');
const ROUNDS = num('rounds');
const PARTS = ['absorb', 'memory', 'expiry'] as const;
if (opt.only !== undefined && !(PARTS as readonly string[]).includes(opt.only)) throw new Error(`--only: ${PARTS.join(', ')}, not ${opt.only}`);
const runs = (part: (typeof PARTS)[number]): boolean => opt.only === undefined || opt.only === part;
if (Math.max(N_ABSORB, N_MEMORY, N_EXPIRE) > MAX_MIXED_FLOWS) throw new Error(`at most ${fmt(MAX_MIXED_FLOWS)} flows`);

execFileSync('bash', ['scripts/install-peers.sh', 'openvswitch-switch', 'openvswitch-common'], { stdio: 'inherit' });

const id = Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0');
const OVS_BR = `tsft${id}ovs`;
const tmp = mkdtempSync(join(tmpdir(), 'tsof-flowtable-'));
const TSOF_CTL = join(tmp, 'tsof-switch.ctl');
const TSOF_PORT = 20000 + (parseInt(id, 16) % 20000);
const TSOF_NAME = `tsft${id}`;
let tsofSwitch: ChildProcess | undefined;
let noopSwitch: ChildProcess | undefined;
const NOOP_SOCK = join(tmp, 'noop.sock');
const OVS_DIR = join(tmp, 'ovs');
const OVS_NETNS = `tsft${id}ovs`;

function cleanup(): void {
  tsofSwitch?.kill('SIGTERM');
  tsofSwitch = undefined;
  noopSwitch?.kill('SIGTERM');
  noopSwitch = undefined;
  stopPrivateOvs(OVS_DIR, OVS_NETNS);
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

// ---- the flows ------------------------------------------------------------------------

/** n flows of bench/lib/mixed-flows.ts in a file of tmp. */
function flowFile(name: string, n: number, extra = ''): string {
  const file = join(tmp, name);
  writeMixedFlows(file, 0, n, extra);
  return file;
}

// ---- the switches ---------------------------------------------------------------------

const ovsd = startPrivateOvs(OVS_DIR, OVS_NETNS);
ovsd.vsctl('add-br', OVS_BR, '--', 'set', 'bridge', OVS_BR, 'datapath_type=netdev', 'fail-mode=secure', 'protocols=OpenFlow13');

interface Target {
  name: string;
  of: string;
  pid(): number;
  /** Whether it keeps the flows (the no-op switch does not: nothing to count). */
  keeps: boolean;
}
const tsof: Target = { name: 'tsof-switch', of: `unix:${bridgePath(TSOF_NAME, 'mgmt')}`, pid: () => tsofSwitch!.pid!, keeps: true };
const ovs: Target = { name: 'Open vSwitch netdev', of: ovsd.target(OVS_BR), pid: ovsd.pid, keeps: true };
const noop: Target = { name: 'no-op switch (the ceiling)', of: `unix:${NOOP_SOCK}`, pid: () => noopSwitch!.pid!, keeps: false };
const TARGETS = [tsof, ovs];

const ofctl = (...args: string[]): string => sh('ovs-ofctl', '-O', 'OpenFlow13', ...args);
const flowCount = (t: Target): number => Number(/flow_count=(\d+)/.exec(ofctl('dump-aggregate', t.of))?.[1]);

/** Seconds add-flows (with --bundle: in one bundle) took to load file (n flows) into an empty table. */
function load(t: Target, file: string, n: number, bundle = false): number {
  ofctl('del-flows', t.of);
  const t0 = performance.now();
  ofctl(...(bundle ? ['--bundle'] : []), 'add-flows', t.of, file);
  const secs = (performance.now() - t0) / 1000;
  expectFlows(t, n);
  return secs;
}

/** Seconds bench/lib/replay.c took to send rec (n flows, recorded from ovs-ofctl) into t's empty table. */
function replayInto(t: Target, replayBin: string, rec: string, n: number): number {
  ofctl('del-flows', t.of);
  const secs = Number(sh(replayBin, t.of.replace(/^unix:/, ''), rec));
  expectFlows(t, n);
  return secs;
}

/** Fails unless t, if it keeps flows, has n after a load. */
function expectFlows(t: Target, n: number): void {
  if (!t.keeps) return;
  const count = flowCount(t);
  if (count !== n) throw new Error(`${t.name} has ${count} flows, not ${n}`);
}

/** A --bundle recording as a controller would send its flow mods: each ADD_MESSAGE's flow mod alone, the bundle
 * controls left out, everything else (HELLOs, requests, the barrier) as it was; the new recording's path. */
function unbundled(rec: string): string {
  const b = readFileSync(rec);
  const kept: Buffer[] = [];
  const ADD_AT = 16 + bundleAddHeader.size; // ofp_header, experimenter and exp_type, then the add's fixed part
  for (let o = 0; o < b.length; ) {
    const m = b.subarray(o, o + b.readUInt16BE(o + 2));
    o += m.length;
    const onf = m[1] === OFPT.EXPERIMENTER ? m.readUInt32BE(12) : -1;
    if (onf === ONFT.BUNDLE_ADD_MESSAGE) kept.push(m.subarray(ADD_AT, ADD_AT + m.readUInt16BE(ADD_AT + 2)));
    else if (onf !== ONFT.BUNDLE_CONTROL) kept.push(m);
  }
  const out = rec.replace(/\.rec$/, '-unbundled.rec');
  writeFileSync(out, Buffer.concat(kept));
  return out;
}

/** Resident memory of a process, MiB. */
const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

// ---- report ---------------------------------------------------------------------------

console.log(`flow-table benchmark ${new Date().toISOString()}: ${cpus().length} CPUs (${cpus()[0]?.model}), Linux ${release()}, ` +
  `${sh('ovs-vswitchd', '--version').split('\n')[0]}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
tsofSwitch = await startTsofSwitch(id, TSOF_PORT, TSOF_CTL, '--name', TSOF_NAME);

if (runs('memory')) {
  // First, while both tables are empty and tsof-switch is fresh.
  const file = flowFile('memory.flows', N_MEMORY);
  console.log(`\nResident memory (VmRSS), ${fmt(N_MEMORY)} flows loaded\n`);
  console.log('| switch | empty MiB | loaded MiB | growth MiB | bytes per flow | load s | growth: tsof / this |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  const rows: { name: string; before: number; after: number; secs: number }[] = [];
  for (const t of TARGETS) {
    ofctl('del-flows', t.of);
    await sleep(2000);
    const before = rssMiB(t.pid());
    const secs = load(t, file, N_MEMORY);
    await sleep(2000);
    rows.push({ name: t.name, before, after: rssMiB(t.pid()), secs });
    ofctl('del-flows', t.of);
  }
  const ours = rows[0]!.after - rows[0]!.before;
  for (const r of rows) {
    const growth = r.after - r.before;
    console.log(`| ${r.name} | ${fmt(r.before, 1)} | ${fmt(r.after, 1)} | ${fmt(growth, 1)} | ${fmt((growth * 2 ** 20) / N_MEMORY)} | ${fmt(r.secs, 1)} | ${r === rows[0] ? '' : `${fmt(ours / growth, 2)}x`} |`);
  }
}

if (runs('absorb')) {
  const noopBin = join(tmp, 'noop-switch');
  sh('cc', '-O2', '-o', noopBin, 'bench/lib/noop-switch.c');
  noopSwitch = spawn(noopBin, [NOOP_SOCK], { stdio: 'ignore' });
  const absorbing = [...TARGETS, noop];
  const file = flowFile('absorb.flows', N_ABSORB);
  const t0 = performance.now();
  ofctl('parse-flows', file);
  const parse = (performance.now() - t0) / 1000;
  // What ovs-ofctl sends, recorded once by a second no-op switch, for the replays.
  const replayBin = join(tmp, 'replay');
  sh('cc', '-O2', '-o', replayBin, 'bench/lib/replay.c');
  const recording = async (bundle: boolean): Promise<string> => {
    const rec = join(tmp, bundle ? 'bundle.rec' : 'plain.rec');
    const sock = join(tmp, 'record.sock');
    const recorder = spawn(noopBin, ['--record', rec, sock], { stdio: 'ignore' });
    try {
      for (let tries = 0; !existsSync(sock); tries++) {
        if (tries > 100) throw new Error('the recording no-op switch did not start');
        await sleep(50);
      }
      ofctl(...(bundle ? ['--bundle'] : []), 'add-flows', `unix:${sock}`, file);
    } finally {
      recorder.kill('SIGTERM');
    }
    return rec;
  };
  const plainRec = await recording(false);
  const bundleRec = await recording(true);
  const blastRec = unbundled(bundleRec);
  // Plain add-flows waits for a barrier reply after each flow mod: its rate is that round trip's. With --bundle,
  // ovs-ofctl sends them all and waits once: the rate is the switch's. Replayed, ovs-ofctl's own messages reach the
  // switch as fast as it takes them, without ovs-ofctl's start and parse (which are most of its time with --bundle).
  // Unbundled, the same flow mods go back to back with one barrier at the end, as a controller pushes flows.
  const ways: { title: string; log: string; load: (t: Target) => number }[] = [
    { title: 'by ovs-ofctl add-flows', log: '', load: (t) => load(t, file, N_ABSORB) },
    { title: 'by ovs-ofctl --bundle add-flows', log: '--bundle ', load: (t) => load(t, file, N_ABSORB, true) },
    { title: 'by ovs-ofctl add-flows, its messages replayed (bench/lib/replay.c)', log: 'replayed ', load: (t) => replayInto(t, replayBin, plainRec, N_ABSORB) },
    { title: 'by ovs-ofctl --bundle add-flows, its messages replayed', log: 'replayed --bundle ', load: (t) => replayInto(t, replayBin, bundleRec, N_ABSORB) },
    { title: 'as flow mods back to back and one barrier (the --bundle recording unbundled), replayed', log: 'unbundled ', load: (t) => replayInto(t, replayBin, blastRec, N_ABSORB) },
  ];
  for (const way of ways) {
    const res = new Map<string, number[]>(absorbing.map((t) => [t.name, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < absorbing.length; i++) {
        const t = absorbing[(r + i) % absorbing.length]!;
        process.stderr.write(`${way.log}round ${r + 1}: ${t.name}\n`);
        res.get(t.name)!.push(N_ABSORB / way.load(t));
        ofctl('del-flows', t.of);
      }
    }
    console.log(`\nFlow-mod absorption: ${fmt(N_ABSORB)} flows ${way.title}, flows per second` +
      `${way.log === '' ? ` (ovs-ofctl parse-flows alone: ${fmt(parse, 2)} s)` : ''}\n`);
    console.log(`| switch | ${Array.from({ length: ROUNDS }, (_, r) => `round ${r + 1}`).join(' | ')} | median flows/s | tsof / this |`);
    console.log(`|---|${'---:|'.repeat(ROUNDS + 2)}`);
    const ours = median(res.get(tsof.name)!);
    for (const [name, xs] of res) {
      const m = median(xs);
      console.log(`| ${name} | ${xs.map((x) => fmt(x)).join(' | ')} | ${fmt(m)} | ${name === tsof.name ? '' : `${fmt(ours / m, 2)}x`} |`);
    }
    const ceiling = median(res.get(noop.name)!) / median(res.get(ovs.name)!);
    console.log(`\nThe ceiling: a switch that does nothing loads at ${fmt(ceiling, 2)}x Open vSwitch's rate; tsof-switch at ` +
      `${fmt(ours / median(res.get(ovs.name)!), 2)}x, ${fmt((100 * ours) / median(res.get(noop.name)!))}% of the ceiling.`);
  }
  // Strict deletes (what ONOS removes flows with) pick one flow by its match and priority among all of them.
  const strict = join(tmp, 'strict.flows');
  const picked = Array.from({ length: Math.ceil(N_ABSORB / 10) }, (_, k) => 10 * k);
  writeFileSync(strict, picked.map((i) => `delete_strict ${mixedFlowLine(i).replace(/,actions=.*$/, '')}\n`).join(''));
  console.log(`\nStrict deletes: ${fmt(picked.length)} delete_strict lines (every 10th flow) by --bundle add-flows into the ` +
    `${fmt(N_ABSORB)} flows, seconds\n`);
  console.log('| switch | seconds | flows left |');
  console.log('|---|---:|---:|');
  for (const t of TARGETS) {
    load(t, file, N_ABSORB, true);
    const t0 = performance.now();
    ofctl('--bundle', 'add-flows', t.of, strict);
    console.log(`| ${t.name} | ${fmt((performance.now() - t0) / 1000, 2)} | ${fmt(flowCount(t))} |`);
    ofctl('del-flows', t.of);
  }
}

if (runs('expiry')) {
  const file = flowFile('expire.flows', N_EXPIRE, `,idle_timeout=${IDLE}`);
  // One at a time: the loads and the polling share the CPUs.
  console.log(`\nExpiry: ${fmt(N_EXPIRE)} flows with idle_timeout=${IDLE}, flow count polled every 250 ms; ` +
    '"first gone": seconds from the start of the load to the first poll that saw fewer flows than the one before it; ' +
    '"all gone": seconds from the end of the load (the last flow added) to the first poll that saw none\n');
  console.log('| switch | load s | first gone | all gone | all gone, late by | longest poll s |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const t of TARGETS) {
    ofctl('del-flows', t.of);
    // Polled while add-flows runs too: with a long load the first flows go before the last come.
    const start = performance.now();
    let loaded = NaN;
    const adding = spawn('ovs-ofctl', ['-O', 'OpenFlow13', 'add-flows', t.of, file], { stdio: 'ignore' });
    adding.on('exit', (code) => {
      if (code !== 0) throw new Error(`add-flows into ${t.name} exited with ${code}`);
      loaded = performance.now();
    });
    let first = NaN;
    let all = NaN;
    let most = 0;
    let longest = 0;
    while (performance.now() - start < (IDLE + 120) * 1000) {
      const p0 = performance.now();
      const n = flowCount(t);
      const p1 = performance.now();
      longest = Math.max(longest, p1 - p0);
      most = Math.max(most, n);
      if (n < most && Number.isNaN(first)) first = p0;
      if (n === 0 && !Number.isNaN(loaded)) {
        all = p0;
        break;
      }
      await sleep(Math.max(0, 250 - (p1 - p0)));
    }
    if (Number.isNaN(all)) throw new Error(`${t.name}: flows left ${IDLE + 120} s after the load began`);
    console.log(`| ${t.name} | ${fmt((loaded - start) / 1000, 2)} | ${fmt((first - start) / 1000, 2)} | ${fmt((all - loaded) / 1000, 2)} | ` +
      `${fmt((all - loaded) / 1000 - IDLE, 2)} | ${fmt(longest / 1000, 2)} |`);
  }
}
// Exit, which cleans up (tsof-switch is stopped with SIGTERM).
process.exit(0);
