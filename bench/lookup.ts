// The lookup benchmark: whether forwarding slows as the flow table grows. tsof-switch (its own process) and Open
// vSwitch 3.1's userspace datapath (a netdev bridge in an ovs-vswitchd of the benchmark's own, bench/lib/ovs.ts)
// hold the same flows; they take turns forwarding 64-byte UDP frames from trafgen, on one topology:
//
//   h1 (netns) eth0 == veth == s1 [switch] s2 == veth == eth0 h2 (netns)
//
// The table grows in steps (--sizes, default 1,000, 100,000 and 1,000,000 flows in all), loaded into both switches
// by `ovs-ofctl -O OpenFlow13 --bundle add-flows` (both at once, one bundle a step), and the forwarding rate is
// measured at each step:
//
// - Background flows: bench/lib/mixed-flows.ts's six shapes of mixed masks (eth_dst; eth_src/mask; ipv4_src;
//   ipv4_dst/24 with ipv4_src/16; ipv4_dst, tcp_dst; in_port, vlan_vid, eth_dst/mask) at priorities 100 to 150,
//   none of which the frames match.
// - Traffic flows: --dsts flows (default 500), `udp,nw_dst=10.200.x.y` -> output:2 at priority 90, below every
//   background shape, so that no lookup can stop before it has tried each of the background's masks.
// - Traffic: trafgen in h1 (one worker, as fast as it can) sends to ipv4_dst 10.200.0.0 + 0..dsts-1 and udp_src
//   1024 + 0..sports-1 (--sports, default 31), both counting up by one a frame: dsts x sports distinct 5-tuples
//   (15,500 by default, coprime counts), each one again only after all others, so the exact-match caches (8,192
//   entries in both switches) cannot hold them and most frames go to the classifier (tsof) or the megaflow
//   cache (OVS). `--sports 1` makes a working set that fits the caches.
//
// At each size both switches and "trafgen alone" (nothing attached: what the generator offers into a bare veth)
// take turns, --rounds times (default 3) of --seconds (default 5), in an order that rotates; tables give every
// round, the median, the median against the first size's and against what trafgen offered. Beside them: the
// switches' cache counters over the rounds (tsof's metrics, OVS's pmd-stats-show) and their resident memory.
// The machine has 2 cores, shared by the generator, the switch and the kernel's veth work: compare rows of one run.
//
// Needs root. Installs its Debian peers when missing (Open vSwitch, trafgen). Removes everything it made, also when
// interrupted.
// Usage: sudo npx tsx bench/lookup.ts [--sizes 1000,100000,1000000] [--dsts 500] [--sports 31] [--seconds 5] [--rounds 3]

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { addHost, removeHost, type Host } from '../test/support/hosts.ts';
import { ip, MAX_MIXED_FLOWS, writeMixedFlows } from './lib/mixed-flows.ts';
import { startPrivateOvs, stopPrivateOvs, type PrivateOvs } from './lib/ovs.ts';
import { fmt, median, sh, takeTurns, type Contender } from './lib/run.ts';
import { udpRate } from './lib/trafgen.ts';
import { startTsofSwitch, tsofCtl } from './tsof-switch.ts';

const { values: opt } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,100000,1000000' },
    dsts: { type: 'string', default: '500' },
    sports: { type: 'string', default: '31' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
  },
});
const whole = (name: string, text: string | undefined, max: number): number => {
  const v = Number(text);
  if (!Number.isInteger(v) || v <= 0 || v > max) throw new Error(`--${name}: expected a whole number from 1 to ${max}, got ${text}`);
  return v;
};
const DSTS = whole('dsts', opt.dsts, 65536);
const SPORTS = whole('sports', opt.sports, 64000);
const SECS = whole('seconds', opt.seconds, 3600);
const ROUNDS = whole('rounds', opt.rounds, 100);
const SIZES = opt.sizes!.split(',').map((s) => whole('sizes', s, MAX_MIXED_FLOWS));
if (SIZES.some((n, i) => n <= DSTS || (i > 0 && n <= SIZES[i - 1]!)))
  throw new Error(`--sizes: expected increasing sizes above --dsts (${DSTS}), got ${opt.sizes}`);

execFileSync('bash', ['scripts/install-peers.sh', 'openvswitch-switch', 'openvswitch-common', 'netsniff-ng', 'iproute2'], { stdio: 'inherit' });

// Interface names are at most 15 characters.
const id = Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0');
const hosts: Host[] = [1, 2].map((n) => ({ n, ns: `tslk${id}n${n}`, veth: `tslk${id}s${n}`, ip: `198.18.0.${n}`, mac: `02:ee:00:00:00:0${n}` }));
const [h1, h2] = hosts as [Host, Host];
const OVS_BR = `tslk${id}ovs`;
const tmp = mkdtempSync(join(tmpdir(), 'tsof-lookup-'));
const OVS_DIR = join(tmp, 'ovs');
const OVS_NETNS = `tslk${id}ovs`;
const TSOF_CTL = join(tmp, 'tsof-switch.ctl');
const TSOF_PORT = 20000 + (parseInt(id, 16) % 20000);
const METRICS_PORT = TSOF_PORT + 20000;
let tsofSwitch: ChildProcess | undefined;

async function cleanup(): Promise<void> {
  tsofSwitch?.kill('SIGTERM');
  stopPrivateOvs(OVS_DIR, OVS_NETNS);
  for (const h of hosts) await removeHost(h);
  rmSync(tmp, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void cleanup().finally(() => process.exit(130)));

// ---- frames and flows --------------------------------------------------------------------

const TRAFFIC_NET = 0x0ac80000; // 10.200.0.0
// The addresses stay clear of the background's: eth 02:ee, ipv4_src 10.250 (the shapes use 02:00-02:03, 10.0-10.2).
const trafgenConf = join(tmp, 'udp.cfg');
writeFileSync(
  trafgenConf,
  `{ eth(da=02:ee:00:00:00:02, sa=02:ee:00:00:00:01),
  ipv4(saddr=10.250.0.1, daddr=10.200.0.0, daddr[2:2]=dinc(0, ${DSTS - 1}), ttl=64),
  udp(sp=dinc(1024, ${1024 + SPORTS - 1}), dp=5000),
  fill(0x00, 18) }\n`,
);
const TRAFFIC_COOKIE = '0x7f';
const trafficFlows = Array.from({ length: DSTS }, (_, i) => `table=0,priority=90,cookie=${TRAFFIC_COOKIE},udp,nw_dst=${ip(TRAFFIC_NET + i)},actions=output:2`);

// ---- the switches ------------------------------------------------------------------------

let ovsd: PrivateOvs; // started by main()

/** A switch's counters of what its caches did with frames, read while its ports are attached. */
type Sample = Map<string, number>;

interface Switch extends Contender {
  of: string;
  pid(): number;
  sample(): Promise<Sample>;
  /** What the caches did over the rounds of one size, from the samples before and after each round. */
  describe(rounds: [Sample, Sample][]): string;
}

/** The growth of a counter over the rounds. */
const growth = (rounds: [Sample, Sample][], name: string): number => rounds.reduce((sum, [a, b]) => sum + (b.get(name) ?? 0) - (a.get(name) ?? 0), 0);
const pct = (part: number, all: number): string => `${fmt((100 * part) / all, 1)}%`;

const tsof: Switch = {
  name: 'tsof-switch',
  of: `tcp:127.0.0.1:${TSOF_PORT}`,
  pid: () => tsofSwitch!.pid!,
  attach: () => hosts.forEach((h) => tsofCtl(TSOF_CTL, 'add-port', `${h.veth}=${h.n}`)),
  detach: () => hosts.forEach((h) => tsofCtl(TSOF_CTL, 'del-port', String(h.n))),
  // Its Prometheus metrics (every one labelled with the dpid).
  sample: async () => {
    const text = await (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text();
    return new Map([...text.matchAll(/^(tsof_datapath_\w+)\{[^}]*\} ([\d.e+]+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
  },
  describe: (rounds) => {
    const hits = growth(rounds, 'tsof_datapath_cache_hits_total');
    const lookups = hits + growth(rounds, 'tsof_datapath_cache_misses_total');
    return `${fmt(growth(rounds, 'tsof_datapath_packets_total'))} frames; table lookups: ${pct(hits, lookups)} exact-match cache, ` +
      `${pct(lookups - hits, lookups)} classifier`;
  },
};
const ovs: Switch = {
  name: 'Open vSwitch netdev',
  get of() {
    return ovsd.target(OVS_BR);
  },
  pid: () => ovsd.pid(),
  // Into ovs-vswitchd's namespace for its turn, and back.
  attach: () =>
    hosts.forEach((h) => {
      sh('ip', 'link', 'set', h.veth, 'netns', ovsd.netns);
      sh('ip', '-n', ovsd.netns, 'link', 'set', h.veth, 'up');
      ovsd.vsctl('add-port', OVS_BR, h.veth, '--', 'set', 'interface', h.veth, `ofport_request=${h.n}`);
    }),
  detach: () =>
    hosts.forEach((h) => {
      ovsd.vsctl('del-port', OVS_BR, h.veth);
      sh('ip', '-n', ovsd.netns, 'link', 'set', h.veth, 'netns', '1');
      sh('sysctl', '-qw', `net.ipv6.conf.${h.veth}.disable_ipv6=1`);
      sh('ip', 'link', 'set', h.veth, 'up');
    }),
  // The datapath's counters (pmd-stats-show: its main thread polls AF_PACKET ports) and its megaflow count.
  sample: async () => {
    const pmd = ovsd.appctl('dpif-netdev/pmd-stats-show');
    const sample = new Map([...pmd.matchAll(/^\s+([a-z .]+): (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
    return sample.set('megaflows', Number(/flows: (\d+)/.exec(ovsd.appctl('dpctl/show'))?.[1]));
  },
  describe: (rounds) => {
    const all = growth(rounds, 'packets received');
    const upcalls = growth(rounds, 'miss with success upcall') + growth(rounds, 'miss with failed upcall');
    return `${fmt(all)} frames: ${pct(growth(rounds, 'simple match hits'), all)} simple match, ${pct(growth(rounds, 'emc hits'), all)} EMC, ` +
      `${pct(growth(rounds, 'smc hits'), all)} SMC, ${pct(growth(rounds, 'megaflow hits'), all)} megaflow, ${pct(upcalls, all)} upcall; ` +
      `megaflows after each round: ${rounds.map(([, b]) => fmt(b.get('megaflows')!)).join(', ')}`;
  },
};
const alone: Contender = { name: 'trafgen alone (nothing attached)' };
const SWITCHES = [tsof, ovs];

const ofctl = (...args: string[]): string => sh('ovs-ofctl', '-O', 'OpenFlow13', ...args);
const flowCount = (s: Switch): number => Number(/flow_count=(\d+)/.exec(ofctl('dump-aggregate', s.of))?.[1]);
/** Resident memory of a process, MiB. */
const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

/**
 * Adds the flows in file to both switches at once, each as one bundle (ONF's extension to OpenFlow 1.3, which both
 * take): ovs-ofctl sends the flow mods without waiting for a barrier after each, so the load does not take one round
 * trip per flow (a million round trips are most of an hour on a busy machine); seconds each took.
 */
async function addFlows(file: string): Promise<Map<string, number>> {
  const t0 = performance.now();
  const took = await Promise.all(
    SWITCHES.map(async (s) => {
      // Its stderr is shown only if it fails: on a busy machine it warns of every long poll interval.
      const child = spawn('ovs-ofctl', ['-O', 'OpenFlow13', '--bundle', 'add-flows', s.of, file], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (d) => (err += d));
      const [code] = await once(child, 'exit');
      if (code !== 0) throw new Error(`ovs-ofctl --bundle add-flows into ${s.name} exited with ${code}: ${err}`);
      return [s.name, (performance.now() - t0) / 1000] as const;
    }),
  );
  return new Map(took);
}

// ---- the run -----------------------------------------------------------------------------

type Rate = { offered: number; delivered: number };
interface Step {
  size: number;
  /** By contender, each round's. */
  rates: Map<string, Rate[]>;
}

async function main(): Promise<void> {
  for (const h of hosts) await addHost(h);
  ovsd = startPrivateOvs(OVS_DIR, OVS_NETNS);
  ovsd.vsctl('add-br', OVS_BR, '--', 'set', 'bridge', OVS_BR, 'datapath_type=netdev', 'fail-mode=secure', 'protocols=OpenFlow13');
  // Open vSwitch probes a management connection after 60 s of silence (bridge.c); tsof-switch's default, 5 s, closes
  // ovs-ofctl's connection when committing a bundle of 900,000 flows blocks it for more than twice that on a busy
  // machine (ovs-ofctl, waiting for the commit's reply, sends nothing meanwhile).
  tsofSwitch = await startTsofSwitch(id, TSOF_PORT, TSOF_CTL, '--metrics', String(METRICS_PORT), '--inactivity-probe', '60000');

  console.log(`lookup benchmark ${new Date().toISOString()}: ${cpus().length} CPUs (${cpus()[0]?.model}), Linux ${release()}, ` +
    `${sh('ovs-vswitchd', '--version').split('\n')[0]}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`${fmt(DSTS)} traffic flows, frames over ${fmt(DSTS)} ipv4_dst x ${fmt(SPORTS)} udp_src = ${fmt(DSTS * SPORTS)} 5-tuples; ` +
    `${ROUNDS} rounds of ${SECS} s`);

  const steps: Step[] = [];
  let loaded = 0; // background flows loaded so far
  for (const size of SIZES) {
    const file = join(tmp, `${size}.flows`);
    writeMixedFlows(file, loaded, size - DSTS);
    if (loaded === 0) writeFileSync(file, trafficFlows.join('\n') + '\n', { flag: 'a' });
    const took = await addFlows(file);
    loaded = size - DSTS;
    for (const s of SWITCHES) if (flowCount(s) !== size) throw new Error(`${s.name} has ${flowCount(s)} flows, not ${size}`);
    console.log(`\n${fmt(size)} flows (${fmt(size - DSTS)} background): loading the ${fmt(size - (steps.at(-1)?.size ?? 0))} new ones took ` +
      `${SWITCHES.map((s) => `${s.name} ${fmt(took.get(s.name)!, 1)} s`).join(', ')}; resident memory ` +
      `${SWITCHES.map((s) => `${s.name} ${fmt(rssMiB(s.pid()))} MiB`).join(', ')}`);

    const samples = new Map<Contender, [Sample, Sample][]>(SWITCHES.map((s) => [s, []]));
    const rates = await takeTurns<Contender, Rate>([tsof, ovs, alone], ROUNDS, async (c) => {
      const s = SWITCHES.find((x) => x === c);
      const before = await s?.sample();
      const r = await udpRate(h1.ns, h2.ns, trafgenConf, SECS);
      if (s) samples.get(s)!.push([before!, await s.sample()]);
      return r;
    });
    // A benchmark of a switch that does not forward is worthless.
    for (const s of SWITCHES) {
      const xs = rates.get(s.name)!.map((r) => r.delivered);
      if (xs.some((x) => x < 1000)) throw new Error(`${s.name} delivered ${xs.join(', ')} frames/s with ${size} flows`);
      console.log(`  ${s.name}: ${s.describe(samples.get(s)!)}`);
    }
    steps.push({ size, rates });
  }
  report(steps);
}

function report(steps: Step[]): void {
  const med = (st: Step, name: string, what: keyof Rate) => median(st.rates.get(name)!.map((r) => r[what]));
  const first = steps[0]!;
  console.log(`\n64-byte UDP, delivered frames per second, median of ${ROUNDS} rounds; "of offered": against what trafgen sent ` +
    `meanwhile; "of ${fmt(first.size)}": against the same switch with ${fmt(first.size)} flows\n`);
  console.log(`| flows | ${SWITCHES.map((s) => `${s.name} | of offered | of ${fmt(first.size)}`).join(' | ')} | trafgen alone offered | tsof / OVS |`);
  console.log(`|---:|${'---:|'.repeat(3 * SWITCHES.length + 2)}`);
  for (const st of steps) {
    const cells = SWITCHES.map((s) => {
      const m = med(st, s.name, 'delivered');
      return `${fmt(m)} | ${fmt((100 * m) / med(st, s.name, 'offered'))}% | ${fmt((100 * m) / med(first, s.name, 'delivered'))}%`;
    });
    const ratio = med(st, tsof.name, 'delivered') / med(st, ovs.name, 'delivered');
    console.log(`| ${fmt(st.size)} | ${cells.join(' | ')} | ${fmt(med(st, alone.name, 'offered'))} | ${fmt(ratio, 2)}x |`);
  }
  console.log('\nEvery round: delivered (offered) frames per second\n');
  console.log(`| flows | | ${Array.from({ length: ROUNDS }, (_, r) => `round ${r + 1}`).join(' | ')} |`);
  console.log(`|---:|---|${'---:|'.repeat(ROUNDS)}`);
  for (const st of steps)
    for (const [name, rs] of st.rates) console.log(`| ${fmt(st.size)} | ${name} | ${rs.map((r) => `${fmt(r.delivered)} (${fmt(r.offered)})`).join(' | ')} |`);
}

try {
  await main();
} finally {
  await cleanup();
}
process.exit(0);
