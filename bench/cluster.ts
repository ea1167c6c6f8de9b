// The cluster benchmark (docs/cluster.md): tsof-controller instances running
// examples/learning-switch.ts over a real three-member etcd cluster on
// loopback (its own ports and data directory), in two parts:
//
// - failover: three instances and one switch (an Open vSwitch netdev bridge,
//   or tsof-switch with --switch tsof) connected to all three. K times: find
//   the switch's master (the instance whose last word on that dpid was
//   "switch mastered"), kill -9 it, and time from the kill to another
//   instance's "switch mastered", which it logs once the switch's ROLE reply
//   granted it MASTER; then restart the killed instance and wait until the
//   switch has it as a slave again. Median and max over the K kills.
// - throughput: 1, 2 and 3 instances, and bench/controller/cbench.ts's
//   emulated switches (12 by default) each connected to every instance. The
//   emulator keeps each connection's role as a switch does and sends
//   packet-ins only to the master, so each instance answers the switches it
//   masters: answers per second over all instances, how the masters spread,
//   and each instance's CPU.
//
// The machine has 2 cores shared by etcd, the instances, the generator (and
// the switch): read the throughput of 2 and 3 instances against that.
//
// Needs root (Open vSwitch; installs etcd-server and Open vSwitch when
// missing). Names are unique per run (tsbc<hex>), ports are free ports, and
// everything made here is removed on exit, also when interrupted.
// Usage: sudo npx tsx bench/cluster.ts [--kills 20] [--lease-ttl 2] [--switch ovs|tsof]
//          [--instances 1,2,3] [--switches 12] [--seconds 10] [--warmup 2] [--window 256]
//          [--only failover|throughput] [--json FILE]

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Daemon, eventually, freePort, sleep } from '../test/support/daemon.ts';
import { etcdArgs, etcdEndpoints, etcdHealthy, type EtcdMember } from '../test/support/etcd.ts';
import { formatResult, runBench, type BenchResult } from './controller/cbench.ts';

const USAGE = `usage: sudo npx tsx bench/cluster.ts [options]
  --kills K          failovers to time (default 20)
  --lease-ttl S      the instances' --lease-ttl (default 2)
  --switch KIND      the failover part's switch: ovs (a netdev bridge, default) or tsof (tsof-switch)
  --instances LIST   instance counts for the throughput part (default 1,2,3)
  --switches N       emulated switches in the throughput part (default 12)
  --seconds S        measured seconds per instance count (default 10)
  --warmup S         warm-up seconds (default 2)
  --window N         packet-ins outstanding per switch (default 256)
  --only PART        failover or throughput
  --json FILE        write the results as JSON`;

function options() {
  const { values: v } = parseArgs({
    options: {
      kills: { type: 'string', default: '20' },
      'lease-ttl': { type: 'string', default: '2' },
      switch: { type: 'string', default: 'ovs' },
      instances: { type: 'string', default: '1,2,3' },
      switches: { type: 'string', default: '12' },
      seconds: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      window: { type: 'string', default: '256' },
      only: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const whole = (name: string, text: string, min: number) => {
    const x = Number(text);
    if (!Number.isInteger(x) || x < min) throw new Error(`--${name} must be a whole number >= ${min}, got "${text}"`);
    return x;
  };
  if (v.switch !== 'ovs' && v.switch !== 'tsof') throw new Error(`--switch must be ovs or tsof, got "${v.switch}"`);
  if (v.only !== undefined && v.only !== 'failover' && v.only !== 'throughput') throw new Error(`--only must be failover or throughput, got "${v.only}"`);
  const instances = v.instances.split(',').map((x) => whole('instances', x, 1));
  if (instances.some((n) => n > 3)) throw new Error('--instances: at most 3');
  return {
    kills: whole('kills', v.kills, 1),
    ttl: whole('lease-ttl', v['lease-ttl'], 1),
    switchKind: v.switch as 'ovs' | 'tsof',
    instances,
    switches: whole('switches', v.switches, 1),
    seconds: whole('seconds', v.seconds, 1),
    warmup: whole('warmup', v.warmup, 0),
    window: whole('window', v.window, 1),
    only: v.only as 'failover' | 'throughput' | undefined,
    json: v.json,
  };
}

let opt: ReturnType<typeof options>;
try {
  opt = options();
} catch (e) {
  process.stderr.write(`bench/cluster: ${(e as Error).message}\n${USAGE}\n`);
  process.exit(2);
}

const ROOT = join(import.meta.dirname, '..');
const sh = (cmd: string, ...args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const id = randomBytes(2).toString('hex');
const tmp = mkdtempSync(join(tmpdir(), 'tsof-bench-cluster-'));
const BR = `tsbc${id}br`;
const DPID = BigInt(`0x0000bc1a${id}0001`);
const DPID_HEX = DPID.toString(16).padStart(16, '0');
const daemons = new Set<Daemon>();

function start(name: string, cmd: string, args: string[]): Daemon {
  const d = new Daemon(name, cmd, args);
  daemons.add(d);
  void d.exited.then(() => daemons.delete(d));
  return d;
}

function cleanup(): void {
  for (const d of daemons) d.proc.kill('SIGKILL');
  try {
    sh('ovs-vsctl', '--timeout=5', '--if-exists', 'del-br', BR);
  } catch {
    // OVS not running: nothing of ours there
  }
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

execFileSync('bash', [join(ROOT, 'scripts/install-peers.sh'), 'etcd-server', 'openvswitch-switch', 'openvswitch-common'], { stdio: 'inherit' });

// ---- etcd, three members on loopback -------------------------------------------------------

const members: EtcdMember[] = [];
for (const n of [1, 2, 3]) members.push({ name: `m${n}`, client: await freePort(), peer: await freePort() });
for (const m of members) start(`etcd ${m.name}`, '/usr/bin/etcd', etcdArgs(m, members, join(tmp, m.name), `tsbc-${id}`));
await eventually(async () => (await Promise.all(members.map(etcdHealthy))).every(Boolean), 'a healthy etcd cluster', 30_000);
const ENDPOINTS = etcdEndpoints(members);

// ---- instances -----------------------------------------------------------------------------

interface Instance {
  node: string;
  port: number;
  proc: Daemon;
}

function launch(node: string, port: number): Instance {
  const proc = start(`tsof-controller ${node}`, process.execPath, [
    join(ROOT, 'bin/tsof-controller.js'), '--host', '127.0.0.1', '--port', String(port), '--json',
    '--cluster', ENDPOINTS, '--node-id', node, '--lease-ttl', String(opt.ttl), join(ROOT, 'examples/learning-switch.ts'),
  ]);
  return { node, port, proc };
}

async function startInstances(nodes: string[]): Promise<Instance[]> {
  const list = [];
  for (const node of nodes) list.push(launch(node, await freePort()));
  await Promise.all(list.map((i) => i.proc.waitLog('listening for switches', undefined, 60_000)));
  return list;
}

/** utime + stime of a process so far (fields 14 and 15 of /proc/PID/stat), in seconds. */
const CLK_TCK = Number(sh('getconf', 'CLK_TCK'));
function cpuSeconds(d: Daemon): number {
  const stat = readFileSync(`/proc/${d.proc.pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: `${cpus().length} CPUs (${cpus()[0]?.model}), Linux ${release()}, Node ${process.version}`,
  loadAtStart: load(),
  leaseTtl: opt.ttl,
};
console.log(`cluster benchmark ${results.date}: ${results.machine}, load average ${results.loadAtStart}; lease TTL ${opt.ttl} s`);

// ---- failover ------------------------------------------------------------------------------

/** The instance's last word on the switch: mastered, or lost (or nothing yet). */
function masters(i: Instance): boolean {
  const last = i.proc.lines
    .filter((l) => l.includes(DPID_HEX) && (l.includes('"switch mastered"') || l.includes('"switch lost"')))
    .at(-1);
  return last?.includes('"switch mastered"') ?? false;
}
const slaveNow = (i: Instance) => i.proc.logs('role granted').some((r) => r.dpid === DPID_HEX && r.role === 'slave');

async function startSwitch(instances: Instance[]): Promise<void> {
  const targets = instances.map((i) => `tcp:127.0.0.1:${i.port}`);
  if (opt.switchKind === 'tsof') {
    start('tsof-switch', process.execPath, [
      join(ROOT, 'bin/tsof-switch.js'), '--dpid', `0x${DPID_HEX}`, ...targets.flatMap((t) => ['--controller', t]),
      '--fail-mode', 'secure', '--inactivity-probe', '1000', '--max-backoff', '1000', '--ctl', join(tmp, 'switch.ctl'), '--json',
    ]);
    return;
  }
  try {
    sh('ovs-vsctl', '--timeout=2', 'show');
  } catch {
    sh('/usr/share/openvswitch/scripts/ovs-ctl', 'start', '--system-id=random');
  }
  sh('ovs-vsctl', '--timeout=5', 'add-br', BR, '--', 'set', 'bridge', BR, 'datapath_type=netdev', 'fail-mode=secure',
    'protocols=OpenFlow13', `other-config:datapath-id=${DPID_HEX}`);
  // Reconnect to a restarted instance within a second (OVS waits up to 8 s by default).
  sh('ovs-vsctl', '--timeout=5', ...targets.flatMap((t, n) => ['--', `--id=@c${n}`, 'create', 'controller', `target="${t}"`, 'max_backoff=1000']),
    '--', 'set', 'bridge', BR, `controller=[${targets.map((_, n) => `@c${n}`).join(',')}]`);
}

async function failover(): Promise<void> {
  const instances = await startInstances(['c1', 'c2', 'c3']);
  await startSwitch(instances);
  const settledNow = () => instances.filter(masters).length === 1 && instances.filter((i) => !masters(i)).every(slaveNow);
  await eventually(settledNow, 'one master and two slaves', 30_000);
  const runs: { killed: string; to: string; ms: number; generationId: string }[] = [];
  for (let k = 0; k < opt.kills; k++) {
    const victim = instances.find(masters)!;
    const killedAt = Date.now();
    await victim.proc.stop('SIGKILL');
    let next: Instance | undefined;
    const after = (i: Instance) => i.proc.logs('switch mastered').find((r) => r.dpid === DPID_HEX && (r.time as number) >= killedAt);
    await eventually(() => (next = instances.find((i) => i !== victim && after(i))) !== undefined, 'a new master', (opt.ttl + 10) * 1000);
    const rec = after(next!)!;
    runs.push({ killed: victim.node, to: next!.node, ms: (rec.time as number) - killedAt, generationId: String(rec.generationId) });
    console.log(`kill ${k + 1}/${opt.kills}: ${victim.node} killed, ${next!.node} master after ${runs.at(-1)!.ms} ms (generation ${rec.generationId})`);
    // The same node id and port again; then wait until the switch has it as a slave.
    Object.assign(victim, launch(victim.node, victim.port));
    await victim.proc.waitLog('listening for switches', undefined, 60_000);
    await eventually(settledNow, `${victim.node} back as a slave`, 30_000);
    await sleep(500);
  }
  const ms = runs.map((r) => r.ms);
  results.failover = {
    switch: opt.switchKind === 'ovs' ? 'Open vSwitch netdev bridge' : 'tsof-switch',
    kills: runs.length,
    medianMs: median(ms),
    maxMs: Math.max(...ms),
    minMs: Math.min(...ms),
    runs,
    loadAfter: load(),
  };
  console.log(`failover over ${runs.length} kills (${opt.switchKind}, lease TTL ${opt.ttl} s): median ${median(ms)} ms, ` +
    `min ${Math.min(...ms)} ms, max ${Math.max(...ms)} ms; load average ${load()}`);
  for (const i of instances) await i.proc.stop();
  if (opt.switchKind === 'ovs') sh('ovs-vsctl', '--timeout=5', '--if-exists', 'del-br', BR);
  else for (const d of daemons) if (d.name === 'tsof-switch') await d.stop();
}

// ---- packet-in throughput with 1, 2 and 3 instances ---------------------------------------

async function throughput(): Promise<void> {
  const rows: { instances: number; result: BenchResult; instanceCpu: number[]; loadBefore: string }[] = [];
  for (const n of opt.instances) {
    const loadBefore = load();
    const instances = await startInstances(Array.from({ length: n }, (_, k) => `t${n}-${k + 1}`));
    const procCpu = () => instances.map((i) => cpuSeconds(i.proc));
    let before: number[] = [];
    const result = await runBench({
      host: '127.0.0.1',
      port: instances[0].port,
      ports: instances.map((i) => i.port),
      mode: 'throughput',
      switches: opt.switches,
      macs: 100_000,
      seconds: opt.seconds,
      warmup: opt.warmup,
      window: opt.window,
      peerCpu: () => {
        const now = procCpu();
        if (!before.length) before = now;
        return now.reduce((a, b) => a + b, 0);
      },
    });
    const after = procCpu();
    const instanceCpu = after.map((x, k) => (x - before[k]) / result.seconds);
    console.log(`\n${n} instance(s), load average before ${loadBefore}:\n${formatResult(result)}\n  CPU per instance: ${instanceCpu.map((c) => `${Math.round(c * 100)}%`).join(', ')}`);
    rows.push({ instances: n, result, instanceCpu, loadBefore });
    // SIGTERM: each instance leaves the cluster (revokes its lease), so the next count starts with no owners.
    for (const i of instances) await i.proc.stop();
    if (result.responsesPerSec === 0 || result.wrong > 0) throw new Error(`${n} instance(s): a broken run (see above)`);
  }
  results.throughput = rows.map((r) => ({
    instances: r.instances,
    switches: r.result.switches,
    responsesPerSec: Math.round(r.result.responsesPerSec),
    perSecond: r.result.perSecond,
    controllers: r.result.controllers.map((c) => ({ masters: c.masters, responsesPerSec: Math.round(c.responsesPerSec) })),
    instanceCpu: r.instanceCpu.map((c) => Math.round(c * 100) / 100),
    generatorCpu: Math.round(r.result.generatorCpu * 100) / 100,
    lost: r.result.lost,
    wrong: r.result.wrong,
    loadBefore: r.loadBefore,
  }));
  console.log('\n| instances | answers/s (all) | masters per instance | answers/s per instance | CPU per instance | generator CPU |');
  console.log('|---:|---:|---|---|---|---:|');
  const f = (x: number) => Math.round(x).toLocaleString('en-US');
  for (const r of rows) {
    const c = r.result.controllers;
    console.log(`| ${r.instances} | ${f(r.result.responsesPerSec)} | ${c.map((x) => x.masters).join(' / ')} | ` +
      `${c.map((x) => f(x.responsesPerSec)).join(' / ')} | ${r.instanceCpu.map((x) => `${Math.round(x * 100)}%`).join(' / ')} | ` +
      `${Math.round(r.result.generatorCpu * 100)}% |`);
  }
}

if (opt.only !== 'throughput') await failover();
if (opt.only !== 'failover') await throughput();
results.loadAtEnd = load();
console.log(`load average at the end ${results.loadAtEnd}`);
if (opt.json) writeFileSync(opt.json, `${JSON.stringify(results, null, 2)}\n`);
process.exit(0);
