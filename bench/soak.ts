// The soak: tsof-switch, the real process, for --minutes (default 30) under
// steady traffic and a stream of flow mods, to show that it neither leaks nor
// loses count.
//
//   h1 (netns) eth0 == veth == port 1 [tsof-switch] port 2 == veth == eth0 h2 (netns)
//
// - Traffic: trafgen in h1 sends 64-byte UDP frames at --rate frames per second
//   (default 20,000: a soak must not starve a shared machine) over 7,000 flows
//   (udp_src 1024-2023 by udp_dst 5000-5006), in runs of 10 s worth of frames:
//   trafgen 0.6.8's pacing gives up for good after any second it fell behind
//   in (its shaper starts a new second only after sleeping), and on a loaded
//   machine a 30-minute run of it averaged 2.3 times the rate. h2 is not the
//   frames' destination MAC: it counts and drops.
// - The controller is the SDK's Controller in this process. Table 0 holds the
//   accounting flows, one per udp_src (priority 10, output:2, no timeouts,
//   never touched), and the table-miss flow (priority 0, drop), which together
//   take whatever the churn does not. The churn is --mods-per-second flow mods
//   (default 1,000) in batches that each end with a barrier (mods that fell
//   behind while a barrier was slow go in the next batches, so a sample can
//   show more than the rate), over at most CHURN_FLOWS flows at priority 100
//   (udp_src and udp_dst; udp_dst 5007-5009 carry no traffic, so their idle
//   timeouts come due) and 120 (udp_src alone): 50% adds (a fifth without
//   timeouts, the others with idle 1-5 s, hard 2-10 s or both; once
//   CHURN_FLOWS are alive, strict modifies instead), 15% strict and 5%
//   non-strict modifies (by udp_src and the churn cookie) that switch the
//   actions between output:2 and set ip_dscp then output:2, 22% strict and 8%
//   non-strict deletes. Each churn flow has SEND_FLOW_REM and a cookie of its
//   own, so its counters arrive exactly once: in its OFPT_FLOW_REMOVED
//   (timeout or delete), or in the final flow stats.
// - Every --sample-seconds (default 10): the switch process's resident memory
//   (VmRSS) and open fds (/proc/PID/fd), the flows (aggregate stats), the mods
//   per second the switch confirmed, the frames per second h1 sent and port 1
//   dropped (rx_dropped: the kernel found the switch's ring full), errors and
//   flow-removed messages.
//
// At the end the churn and the traffic stop, the churn flows left are deleted
// (their FLOW_REMOVED bring their counters), and the promises are checked; the
// exit status is 1 if one fails:
// - resident memory after --warmup-minutes (default 3) within 5%: max <= 1.05 min;
// - as many open fds as at the start;
// - no OFPT_ERROR, and at least 95% of the mod rate asked for;
// - the flows' packets (removed and remaining) are port 1's rx_packets; those
//   of the flows that output (all but the table miss) are port 2's tx_packets
//   and what h2's eth0 received; h1's eth0 sent port 1's rx_packets and
//   rx_dropped (frames the kernel could not put on the switch's ring).
//
// Needs root. Installs trafgen when missing. Removes everything it made, also
// when interrupted.
// Usage: sudo npx tsx bench/soak.ts [--minutes 30] [--mods-per-second 1000] [--rate 20000]
//        [--warmup-minutes 3] [--sample-seconds 10]

import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import {
  act,
  Controller,
  deleteFlows,
  flowMatch,
  flowMod,
  OFPFC,
  OFPFF,
  OFPG,
  OFPP,
  OFPRR,
  OFPTT,
  type Outgoing,
  type MessageOf,
  type SwitchHandle,
} from '../src/controller/index.ts';
import { freePort } from '../test/support/daemon.ts';
import { addHost, removeHost, type Host } from '../test/support/hosts.ts';
import { fmt, stop, type Started } from './lib/run.ts';
import { counter, startTrafgen } from './lib/trafgen.ts';
import { startTsofSwitch, tsofCtl } from './tsof-switch.ts';

const { values: opt } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    'mods-per-second': { type: 'string', default: '1000' },
    rate: { type: 'string', default: '20000' },
    'warmup-minutes': { type: 'string', default: '3' },
    'sample-seconds': { type: 'string', default: '10' },
  },
});
const num = (name: keyof typeof opt): number => {
  const v = Number(opt[name]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name}: expected a positive number, got ${opt[name]}`);
  return v;
};
const MINUTES = num('minutes');
const MODS = num('mods-per-second');
const RATE = num('rate');
const WARMUP = num('warmup-minutes');
const SAMPLE = num('sample-seconds');
if (WARMUP >= MINUTES) throw new Error(`--warmup-minutes: ${WARMUP} leaves nothing of --minutes ${MINUTES} to measure`);

/** The most churn flows alive at once; at this many, adds give way to modifies and deletes. */
const CHURN_FLOWS = 4000;
/** The cookie's top 16 bits tell churn flows from accounting flows; the rest numbers each churn flow. */
const TAG_MASK = 0xffffn << 48n;
const CHURN_TAG = 0xc4e5n << 48n;
const ACCOUNTING_TAG = 0xacc7n << 48n;
const SRC = { first: 1024, count: 1000 };
/** Traffic goes to the first 7 of these udp_dst; flows on the last 3 see none and idle out. */
const DST = { first: 5000, count: 10, withTraffic: 7 };

execFileSync('bash', ['scripts/install-peers.sh', 'netsniff-ng', 'iproute2'], { stdio: 'inherit' });

const id = Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0');
const hosts: Host[] = [1, 2].map((n) => ({ n, ns: `tsok${id}n${n}`, veth: `tsok${id}s${n}`, ip: `198.18.9.${n}`, mac: `02:00:00:00:09:0${n}` }));
const [h1, h2] = hosts as [Host, Host];
const tmp = mkdtempSync(join(tmpdir(), 'tsof-soak-'));
const ctl = join(tmp, 'tsof-switch.ctl');
let tsofSwitch: ChildProcess | undefined;
let traffic: Started | undefined;
let controller: Controller | undefined;
let closing = false;

async function cleanup(): Promise<void> {
  closing = true;
  if (traffic) await stop(traffic, 'SIGINT');
  traffic = undefined;
  tsofSwitch?.kill('SIGTERM');
  tsofSwitch = undefined;
  await controller?.close();
  controller = undefined;
  for (const h of hosts) await removeHost(h);
  rmSync(tmp, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void cleanup().finally(() => process.exit(130)));

// ---- the churn --------------------------------------------------------------------------

interface ChurnFlow {
  key: string;
  src: number;
  /** undefined: the flow matches udp_src alone. */
  dst: number | undefined;
  cookie: bigint;
}

/** The churn flows believed alive, to pick from at random in O(1). */
class Churn {
  private readonly list: ChurnFlow[] = [];
  private readonly at = new Map<string, number>();
  private next = 0n;

  get size(): number {
    return this.list.length;
  }

  has(key: string): boolean {
    return this.at.has(key);
  }

  add(src: number, dst: number | undefined): ChurnFlow {
    const f = { key: keyOf(src, dst), src, dst, cookie: CHURN_TAG | ++this.next };
    this.at.set(f.key, this.list.length);
    this.list.push(f);
    return f;
  }

  random(): ChurnFlow {
    return this.list[Math.floor(Math.random() * this.list.length)]!;
  }

  /** Forgets the flow with this key, if it is the one with this cookie (a later add may have reused the key). */
  remove(key: string, cookie?: bigint): void {
    const i = this.at.get(key);
    if (i === undefined || (cookie !== undefined && this.list[i]!.cookie !== cookie)) return;
    const last = this.list.pop()!;
    this.at.delete(key);
    if (last.key !== key) {
      this.list[i] = last;
      this.at.set(last.key, i);
    }
  }
}

const keyOf = (src: number, dst: number | undefined): string => `${src}/${dst ?? '*'}`;
const pick = (first: number, count: number): number => first + Math.floor(Math.random() * count);
const bySrc = (src: number) => flowMatch().inPort(1).ipv4().udp().udpSrc(src);
const matchOf = (f: { src: number; dst: number | undefined }) => (f.dst === undefined ? bySrc(f.src) : bySrc(f.src).udpDst(f.dst));
const priorityOf = (f: { dst: number | undefined }): number => (f.dst === undefined ? 120 : 100);
/** The two actions a modify switches between: both output to port 2, so every churn flow's packets leave there. */
const actionsFor = (i: number) => (i % 2 ? [act.setField('ip_dscp', i % 64), act.output(2)] : [act.output(2)]);

type FlowMod = Outgoing<MessageOf<'flow_mod'>>;
const churn = new Churn();
const sentByKind = { add: 0, modify: 0, 'modify-strict': 0, delete: 0, 'delete-strict': 0 };

function add(): FlowMod {
  let src: number, dst: number | undefined;
  do {
    src = pick(SRC.first, SRC.count);
    const d = pick(DST.first, DST.count + 1);
    dst = d === DST.first + DST.count ? undefined : d;
  } while (churn.has(keyOf(src, dst)));
  const f = churn.add(src, dst);
  // A fifth without timeouts, two fifths with an idle one, a fifth with a hard one, a fifth with both.
  const r = Math.random();
  sentByKind.add++;
  return flowMod({
    tableId: 0,
    priority: priorityOf(f),
    match: matchOf(f),
    cookie: f.cookie,
    flags: OFPFF.SEND_FLOW_REM,
    idleTimeout: r < 0.2 || (r >= 0.6 && r < 0.8) ? 0 : pick(1, 5),
    hardTimeout: r < 0.6 ? 0 : pick(2, 9),
    actions: actionsFor(Math.floor(Math.random() * 64)),
  });
}

/** The next mod of the mix (see the top of the file). */
function nextMod(): FlowMod {
  const r = Math.random();
  if (churn.size === 0 || (r < 0.5 && churn.size < CHURN_FLOWS)) return add();
  const f = churn.random();
  const actions = actionsFor(Math.floor(Math.random() * 64));
  if (r < 0.65) {
    sentByKind['modify-strict']++;
    return flowMod({ command: OFPFC.MODIFY_STRICT, tableId: 0, priority: priorityOf(f), match: matchOf(f), actions });
  }
  if (r < 0.7) {
    sentByKind.modify++;
    return flowMod({ command: OFPFC.MODIFY, tableId: 0, match: bySrc(f.src), cookie: CHURN_TAG, cookieMask: TAG_MASK, actions });
  }
  if (r < 0.92) {
    sentByKind['delete-strict']++;
    churn.remove(f.key);
    return deleteFlows({ strict: true, tableId: 0, priority: priorityOf(f), match: matchOf(f) });
  }
  sentByKind.delete++;
  churn.remove(keyOf(f.src, undefined));
  for (let d = DST.first; d < DST.first + DST.count; d++) churn.remove(keyOf(f.src, d));
  return deleteFlows({ tableId: 0, match: bySrc(f.src), cookie: CHURN_TAG, cookieMask: TAG_MASK });
}

/** Mods the switch confirmed (by a barrier after them). */
let confirmed = 0;

/** Sends MODS mods a second until `until` (ms since the epoch), in batches of at most a tenth of a second's. */
async function runChurn(sw: SwitchHandle, until: number): Promise<void> {
  const t0 = performance.now();
  let sent = 0;
  while (Date.now() < until) {
    const due = Math.floor(((performance.now() - t0) / 1000) * MODS) - sent;
    if (due <= 0) {
      await sleep(5);
      continue;
    }
    const n = Math.min(due, Math.ceil(MODS / 10));
    for (let i = 0; i < n; i++) sw.send(nextMod());
    sent += n;
    await sw.barrier({ timeout: 30_000 });
    confirmed += n;
  }
}

// ---- what is counted --------------------------------------------------------------------

const errors: MessageOf<'error'>[] = [];
/** Flow-removed messages by reason, with their packets. */
const removed = new Map<number, { flows: number; packets: bigint }>(Object.values(OFPRR).map((r) => [r, { flows: 0, packets: 0n }]));

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
const fds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

const aggregate = (sw: SwitchHandle) =>
  sw.request({ type: 'aggregate_stats_request', tableId: OFPTT.ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: 0n, cookieMask: 0n, match: [] });

interface Sample {
  at: number;
  rssKb: number;
  fds: number;
  flows: number;
  modsPerSecond: number;
  sentPerSecond: number;
  droppedPerSecond: number;
  removed: number;
  errors: number;
}

/** Samples every SAMPLE seconds until `until`, printing a line for each. */
async function sampleUntil(sw: SwitchHandle, pid: number, until: number, start: number): Promise<Sample[]> {
  const samples: Sample[] = [];
  const read = async () => ({ at: performance.now(), confirmed, sent: counter(h1.ns, 'tx_packets'), dropped: (await portStats(sw)).get(1)!.rxDropped });
  let last = await read();
  console.log('| min | RSS MiB | fds | flows | mods/s | h1 sent/s | port 1 dropped/s | flow-removed | errors |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  while (Date.now() < until) {
    await sleep(Math.min(SAMPLE * 1000, Math.max(0, until - Date.now())));
    const now = await read();
    const perSecond = (d: number | bigint) => (Number(d) * 1000) / (now.at - last.at);
    const s: Sample = {
      at: (Date.now() - start) / 60_000,
      rssKb: rssKb(pid),
      fds: fds(pid),
      flows: (await aggregate(sw)).flowCount,
      modsPerSecond: perSecond(now.confirmed - last.confirmed),
      sentPerSecond: perSecond(now.sent - last.sent),
      droppedPerSecond: perSecond(now.dropped - last.dropped),
      removed: [...removed.values()].reduce((n, r) => n + r.flows, 0),
      errors: errors.length,
    };
    last = now;
    samples.push(s);
    console.log(`| ${fmt(s.at, 1)} | ${fmt(s.rssKb / 1024, 1)} | ${s.fds} | ${fmt(s.flows)} | ${fmt(s.modsPerSecond)} | ` +
      `${fmt(s.sentPerSecond)} | ${fmt(s.droppedPerSecond)} | ${fmt(s.removed)} | ${s.errors} |`);
  }
  return samples;
}

/** trafgen in h1 at RATE until `until`, in runs of 10 s worth of frames (see the top of the file). */
async function sendTraffic(conf: string, until: number): Promise<void> {
  while (Date.now() < until && !closing) {
    traffic = startTrafgen(h1.ns, conf, RATE, RATE * 10);
    await traffic.exited;
  }
  traffic = undefined;
}

// ---- the run ----------------------------------------------------------------------------

async function main(): Promise<boolean> {
  for (const h of hosts) await addHost(h);
  const conf = join(tmp, 'soak.cfg');
  writeFileSync(
    conf,
    `{ eth(da=02:00:00:00:00:02, sa=${h1.mac}),
  ipv4(saddr=10.0.0.1, daddr=10.128.0.1, ttl=64),
  udp(sp=dinc(${SRC.first}, ${SRC.first + SRC.count - 1}), dp=dinc(${DST.first}, ${DST.first + DST.withTraffic - 1})),
  fill(0x00, 18) }\n`,
  );

  const ofPort = await freePort();
  controller = new Controller({ host: '127.0.0.1', port: ofPort, logger: pino({ level: 'warn' }) });
  const up = new Promise<SwitchHandle>((resolve) => controller!.once('switch', resolve));
  let down: string | undefined;
  controller.on('switch-down', (_sw, reason) => (down = reason));
  controller.on('error', (_sw, msg) => {
    if (errors.length < 5) console.error('error from the switch:', msg);
    errors.push(msg);
  });
  controller.on('flow_removed', (_sw, msg) => {
    const r = removed.get(msg.reason)!;
    r.flows++;
    r.packets += msg.packetCount;
    const cookie = msg.cookie;
    if ((cookie & TAG_MASK) === CHURN_TAG) {
      const src = msg.match.find((m) => m.field === 'udp_src')?.value as number;
      const dst = msg.match.find((m) => m.field === 'udp_dst')?.value as number | undefined;
      churn.remove(keyOf(src, dst), cookie);
    }
  });
  await controller.listen();
  tsofSwitch = await startTsofSwitch(id, await freePort(), ctl, '--controller', `tcp:127.0.0.1:${ofPort}`);
  const pid = tsofSwitch.pid!;
  const sw = await up;
  for (const h of hosts) tsofCtl(ctl, 'add-port', `${h.veth}=${h.n}`);
  await sw.confirm([
    flowMod({ tableId: 0, priority: 0, cookie: 0n }),
    ...Array.from({ length: SRC.count }, (_, i) =>
      flowMod({ tableId: 0, priority: 10, match: bySrc(SRC.first + i), cookie: ACCOUNTING_TAG | BigInt(i), actions: [act.output(2)] }),
    ),
  ]);

  console.log(`soak ${new Date().toISOString()}: ${cpus().length} CPUs (${cpus()[0]?.model}), Linux ${release()}, load average ${load()}`);
  console.log(`${MINUTES} min, ${fmt(MODS)} flow mods/s, trafgen at ${fmt(RATE)} frames/s, warm-up ${WARMUP} min, a sample every ${SAMPLE} s\n`);
  const portsBefore = await portStats(sw);
  const h1Tx0 = counter(h1.ns, 'tx_packets');
  const h2Rx0 = counter(h2.ns, 'rx_packets');
  const start = Date.now();
  const until = start + MINUTES * 60_000;
  const sending = sendTraffic(conf, until);
  await sleep(1000);
  const fdsStart = fds(pid);
  const [, samples] = await Promise.all([runChurn(sw, until), sampleUntil(sw, pid, until, start)]);
  const elapsed = (Date.now() - start) / 1000;
  if (traffic) await stop(traffic, 'SIGINT');
  await sending;
  // Frames still on the switch's rings get through.
  await sleep(1000);
  const fdsEnd = fds(pid);

  // The churn flows left go, each with a FLOW_REMOVED; 2 s more for any still on their way.
  await sw.confirm(deleteFlows({ tableId: 0, cookie: CHURN_TAG, cookieMask: TAG_MASK }));
  await sleep(2000);
  const left = (await sw.request({ type: 'flow_stats_request', tableId: OFPTT.ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: 0n, cookieMask: 0n, match: [] })).stats;
  const ports = await portStats(sw);
  const h1Tx = counter(h1.ns, 'tx_packets') - h1Tx0;
  const h2Rx = counter(h2.ns, 'rx_packets') - h2Rx0;
  if (down !== undefined) throw new Error(`the switch went down: ${down}`);

  // ---- the report ----
  const removedPackets = [...removed.values()].reduce((n, r) => n + r.packets, 0n);
  const miss = left.filter((f) => f.priority === 0).reduce((n, f) => n + f.packetCount, 0n);
  const accounting = left.filter((f) => (f.cookie & TAG_MASK) === ACCOUNTING_TAG).reduce((n, f) => n + f.packetCount, 0n);
  const stray = left.filter((f) => (f.cookie & TAG_MASK) === CHURN_TAG);
  const flowsTotal = removedPackets + miss + accounting;
  const delta = (p: number, k: 'rxPackets' | 'txPackets' | 'rxDropped') => ports.get(p)![k] - portsBefore.get(p)![k];
  const rx1 = delta(1, 'rxPackets');
  const drop1 = delta(1, 'rxDropped');
  const tx2 = delta(2, 'txPackets');

  const after = samples.filter((s) => s.at >= WARMUP);
  const rss = after.map((s) => s.rssKb);
  const rssMin = Math.min(...rss);
  const rssMax = Math.max(...rss);
  const modRate = confirmed / elapsed;
  const mib = (kb: number) => `${fmt(kb / 1024, 1)} MiB`;
  const n = (x: bigint | number) => fmt(Number(x));
  const reasons = Object.entries(OFPRR)
    .map(([name, r]) => `${name.toLowerCase()} ${n(removed.get(r)!.flows)} (${n(removed.get(r)!.packets)} packets)`)
    .join(', ');

  console.log(`\n${fmt(elapsed / 60, 1)} min, load average at the end ${load()}`);
  console.log(`mods sent: ${Object.entries(sentByKind).map(([k, v]) => `${k} ${n(v)}`).join(', ')}`);
  console.log(`flow-removed: ${reasons}`);
  console.log(`packets: churn flows ${n(removedPackets)} (all removed), accounting flows ${n(accounting)}, table miss ${n(miss)}; ` +
    `h1 sent ${n(h1Tx)}, port 1 rx ${n(rx1)} (rx_dropped ${n(drop1)}), port 2 tx ${n(tx2)}, h2 received ${n(h2Rx)}\n`);

  const checks: [string, string, boolean][] = [
    [`RSS after ${WARMUP} min within 5%`, `min ${mib(rssMin)}, max ${mib(rssMax)} (+${fmt((rssMax / rssMin - 1) * 100, 1)}%), last ${mib(rss.at(-1)!)}`, after.length > 0 && rssMax <= rssMin * 1.05],
    ['fds at the end as at the start', `${fdsStart} -> ${fdsEnd} (max ${Math.max(...samples.map((s) => s.fds))})`, fdsEnd === fdsStart],
    ['no OFPT_ERROR', `${errors.length}`, errors.length === 0],
    [`${fmt(MODS)} flow mods/s (at least 95%)`, `${fmt(modRate)}/s (${n(confirmed)} confirmed)`, modRate >= MODS * 0.95],
    ['no churn flow left after the final delete', `${stray.length}`, stray.length === 0],
    ['flows\' packets = port 1 rx_packets', `${n(flowsTotal)} = ${n(rx1)} (${n(flowsTotal - rx1)})`, flowsTotal === rx1],
    ['flows\' packets but the table miss\'s = port 2 tx_packets', `${n(flowsTotal - miss)} = ${n(tx2)} (${n(flowsTotal - miss - tx2)})`, flowsTotal - miss === tx2],
    ['port 2 tx_packets = h2 received', `${n(tx2)} = ${n(h2Rx)}`, tx2 === BigInt(h2Rx)],
    ['h1 sent = port 1 rx_packets + rx_dropped', `${n(h1Tx)} = ${n(rx1 + drop1)}`, BigInt(h1Tx) === rx1 + drop1],
  ];
  console.log('| promise | measured | |');
  console.log('|---|---|---|');
  for (const [what, measured, ok] of checks) console.log(`| ${what} | ${measured} | ${ok ? 'ok' : 'FAILED'} |`);
  return checks.every(([, , ok]) => ok);
}

async function portStats(sw: SwitchHandle): Promise<Map<number, MessageOf<'port_stats_reply'>['stats'][number]>> {
  const reply = await sw.request({ type: 'port_stats_request', portNo: OFPP.ANY });
  return new Map(reply.stats.map((p) => [p.portNo, p]));
}

let ok = false;
try {
  ok = await main();
} finally {
  await cleanup();
}
process.exit(ok ? 0 : 1);
