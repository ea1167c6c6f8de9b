// Forwarding while the OpenFlow channel is fuzzed: does hostile input on tsof-switch's listener slow the traffic
// through its installed flows? (docs/reliability.md, "The OpenFlow channel under hostile input"; the target is
// >= 90% of the rate without the fuzzing.)
//
//   h1 (netns) eth0 == veth == s1 [tsof-switch] s2 == veth == eth0 h2 (netns)
//
// tsof-switch (its own process, bench/tsof-switch.ts) has both ports attached throughout and one flow with a cookie
// of its own, in_port=1 -> output:2 at priority 65535; trafgen in h1 sends 64-byte UDP frames on one worker as fast
// as it can (udp_src over 1,000 values, as bench/forwarding.ts); "delivered" is what h2's eth0 received per second.
// Each round measures every mode once, in an order that rotates:
//
// - no fuzzing: --seconds (default 20) of traffic alone;
// - fuzzer: scripts/channel-fuzz.ts --target the switch's listener --count --fuzz-count (default 100,000) messages,
//   each with its barrier, its periodic clean-up sparing the flow's cookie (--spare-cookie); the rate is over the
//   time from its first 10,000 messages (its start-up, compiling and generating, left out) to its exit;
// - fuzzer niced: the same under `nice -n 19`.
//
// The machine has 2 cores: the fuzzer (a Node process generating, encoding and checking messages) competes for
// them with trafgen, the switch's datapath thread and its Node thread, which answers the fuzz. trafgen stands for
// hosts on other machines, so it runs at --trafgen-nice (default -10, the datapath thread's nice): the fuzz is
// then measured by what it takes from the forwarding, not from the generator's offered rate. So the fuzzer's own
// message rate is reported beside each figure (niced, it takes less CPU from the forwarding, unless answers, not
// its CPU, set its pace), and the CPU the switch's datapath thread and its other threads took meanwhile.
// After each fuzzer run the flow must still be there (the fuzzed messages themselves may delete or change it; the
// run fails if they did) and the switch must be running.
//
// Needs root. Installs trafgen when missing. Removes everything it made, also when interrupted.
// Usage: sudo npx tsx bench/fuzz-traffic.ts [--seconds 20] [--fuzz-count 100000] [--rounds 2] [--seed N]
//        [--trafgen-nice -10]

import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { addHost, removeHost, type Host } from '../test/support/hosts.ts';
import { fmt, median, sh, start, stop, takeTurns, type Contender } from './lib/run.ts';
import { counter, startTrafgen, UDP_64 } from './lib/trafgen.ts';
import { startTsofSwitch, tsofCtl } from './tsof-switch.ts';

const { values: opt } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    'fuzz-count': { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '2' },
    seed: { type: 'string' },
    'trafgen-nice': { type: 'string', default: '-10' },
  },
});
const whole = (name: keyof typeof opt, min: number): number => {
  const v = Number(opt[name]);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name}: expected a whole number of at least ${min}, got ${opt[name]}`);
  return v;
};
const SECS = whole('seconds', 1);
// The window opens after the first 10,000 messages (the fuzzer's first progress line).
const FUZZ_COUNT = whole('fuzz-count', 20_000);
const ROUNDS = whole('rounds', 1);
const SEED = opt.seed === undefined ? Date.now() % 0x7fffffff : whole('seed', 0);
const TRAFGEN_NICE = Number(opt['trafgen-nice']);
if (!Number.isInteger(TRAFGEN_NICE) || TRAFGEN_NICE < -20 || TRAFGEN_NICE > 19) {
  throw new Error(`--trafgen-nice: expected a whole number from -20 to 19, got ${opt['trafgen-nice']}`);
}

execFileSync('bash', ['scripts/install-peers.sh', 'netsniff-ng', 'iproute2'], { stdio: 'inherit' });

// Interface names are at most 15 characters.
const id = Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0');
const hosts: Host[] = [1, 2].map((n) => ({ n, ns: `tsfz${id}n${n}`, veth: `tsfz${id}s${n}`, ip: `198.18.0.${n}`, mac: `02:00:00:00:00:0${n}` }));
const [h1, h2] = hosts as [Host, Host];
const tmp = mkdtempSync(join(tmpdir(), 'tsof-fuzz-traffic-'));
const TSOF_CTL = join(tmp, 'tsof-switch.ctl');
const TSOF_PORT = 20000 + (parseInt(id, 16) % 20000);
const TSOF_OF = `tcp:127.0.0.1:${TSOF_PORT}`;
const COOKIE = '0x7f';
let tsofSwitch: ChildProcess | undefined;

async function cleanup(): Promise<void> {
  tsofSwitch?.kill('SIGTERM');
  for (const h of hosts) await removeHost(h);
  rmSync(tmp, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void cleanup().finally(() => process.exit(130)));

const trafgenConf = join(tmp, 'udp.cfg');
writeFileSync(trafgenConf, UDP_64);

const ofctl = (...args: string[]): string => sh('ovs-ofctl', '-O', 'OpenFlow13', ...args);
/** The traffic's flow as dump-flows prints it, or undefined when it is gone. */
const trafficFlow = (): string | undefined => ofctl('dump-flows', TSOF_OF, `cookie=${COOKIE}/-1`).split('\n').find((l) => l.includes('in_port'));

// ---- the modes --------------------------------------------------------------------------

interface Measured {
  delivered: number;
  offered: number;
  /** tsof-switch's CPU, in cores: its datapath thread and the rest (Node's thread, V8's and libuv's). */
  cpu: { dp: number; node: number };
  /** The fuzzer's messages per second (each with its barrier) and its verdict. */
  fuzz?: { rate: number; failures: number; sent: number };
}

interface Mode extends Contender {
  /** Measures while trafgen runs. */
  measure(): Promise<Measured>;
}

const CLOCK_TICKS = Number(sh('getconf', 'CLK_TCK'));
/** tsof-switch's CPU time so far, in seconds: its datapath thread ("tsof-dp") and the rest. */
function switchCpu(): { dp: number; node: number } {
  const cpu = { dp: 0, node: 0 };
  const dir = `/proc/${tsofSwitch!.pid}/task`;
  for (const tid of readdirSync(dir)) {
    const stat = readFileSync(`${dir}/${tid}/stat`, 'utf8');
    // utime and stime are the 14th and 15th fields; the 2nd, (comm), may hold spaces.
    const [utime, stime] = stat.slice(stat.lastIndexOf(')') + 2).split(' ').slice(11, 13).map(Number);
    cpu[stat.includes('(tsof-dp)') ? 'dp' : 'node'] += (utime! + stime!) / CLOCK_TICKS;
  }
  return cpu;
}
/** The eth0 counters of the two hosts and the switch's CPU time now. */
const reading = () => ({ rx: counter(h2.ns, 'rx_packets'), tx: counter(h1.ns, 'tx_packets'), cpu: switchCpu(), t: performance.now() });
const rates = (a: ReturnType<typeof reading>, b: ReturnType<typeof reading>) => {
  const secs = (b.t - a.t) / 1000;
  return {
    delivered: (b.rx - a.rx) / secs,
    offered: (b.tx - a.tx) / secs,
    cpu: { dp: (b.cpu.dp - a.cpu.dp) / secs, node: (b.cpu.node - a.cpu.node) / secs },
  };
};

const quietMode: Mode = {
  name: 'no fuzzing',
  measure: async () => {
    const a = reading();
    await sleep(SECS * 1000);
    return rates(a, reading());
  },
};

let round = 0;
/** scripts/channel-fuzz.ts at the switch, under `nice -n niceness`; the rates from its 10,000th message to its exit. */
const fuzzMode = (name: string, niceness: number): Mode => ({
  name,
  measure: async () => {
    const fuzzer = start('nice', ['-n', String(niceness), 'npx', 'tsx', 'scripts/channel-fuzz.ts', '--target', `127.0.0.1:${TSOF_PORT}`,
      '--count', String(FUZZ_COUNT), '--seed', String(SEED + round++), '--spare-cookie', COOKIE], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    fuzzer.child.stdout!.on('data', (d) => (out += d));
    let a: ReturnType<typeof reading> | undefined;
    createInterface({ input: fuzzer.child.stderr! }).on('line', (line) => {
      if (!a && line.trim() === '10000') a = reading();
      else if (!/^(channel-fuzz:|\s+\d+$)/.test(line)) process.stderr.write(`channel-fuzz: ${line}\n`);
    });
    await fuzzer.exited;
    const b = reading();
    if (!a) throw new Error(`${name}: the fuzzer did not reach 10,000 messages (exit ${fuzzer.child.exitCode})`);
    const report = JSON.parse(out) as { sent: number; failureCount: number; seconds: number; rate: number };
    if (tsofSwitch!.exitCode !== null) throw new Error(`tsof-switch exited (${tsofSwitch!.exitCode}) during ${name}`);
    if (!trafficFlow()) throw new Error(`${name}: the fuzzed messages deleted or changed the traffic's flow`);
    return { ...rates(a, b), fuzz: { rate: report.rate, failures: report.failureCount, sent: report.sent } };
  },
});

const MODES: Mode[] = [quietMode, fuzzMode('fuzzer', 0), fuzzMode('fuzzer niced (nice -n 19)', 19)];

// ---- the run ----------------------------------------------------------------------------

async function main(): Promise<void> {
  for (const h of hosts) await addHost(h);
  // At error: the fuzz makes the switch warn of every OFPT_ERROR it is sent and of the first malformed message.
  tsofSwitch = await startTsofSwitch(id, TSOF_PORT, TSOF_CTL, '--log-level', 'error');
  for (const h of hosts) tsofCtl(TSOF_CTL, 'add-port', `${h.veth}=${h.n}`);
  ofctl('add-flow', TSOF_OF, `table=0,priority=65535,cookie=${COOKIE},in_port=1,actions=output:2`);

  console.log(`fuzz-traffic benchmark ${new Date().toISOString()}: ${cpus().length} CPUs (${cpus()[0]?.model}), Linux ${release()}, ` +
    `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`${ROUNDS} rounds; no fuzzing: ${SECS} s; fuzzer: ${fmt(FUZZ_COUNT)} messages a run, seeds from ${SEED}; ` +
    `trafgen at nice ${TRAFGEN_NICE}`);

  const gen = startTrafgen(h1.ns, trafgenConf);
  let res: Map<string, Measured[]>;
  try {
    await sleep(1000);
    // trafgen and the worker it forked: its process group.
    sh('renice', '-n', String(TRAFGEN_NICE), '-g', String(gen.child.pid));
    res = await takeTurns(MODES, ROUNDS, (m) => m.measure());
  } finally {
    await stop(gen, 'SIGINT');
  }
  const matched = /n_packets=(\d+)/.exec(trafficFlow() ?? '')?.[1];

  const base = median(res.get(quietMode.name)!.map((m) => m.delivered));
  console.log('\n64-byte UDP through one installed flow, delivered frames per second (in brackets: offered; for the fuzzer ' +
    "runs: its messages per second, each with a barrier), and the switch's CPU meanwhile, in % of a core (median)\n");
  console.log(`| mode | ${Array.from({ length: ROUNDS }, (_, r) => `round ${r + 1}`).join(' | ')} | median | of no fuzzing | ` +
    'switch CPU: datapath thread | other threads | fuzzer failures |');
  console.log(`|---|${'---:|'.repeat(ROUNDS + 5)}`);
  const pct = (xs: number[]) => `${fmt(100 * median(xs))}%`;
  for (const m of MODES) {
    const ms = res.get(m.name)!;
    const cells = ms.map((x) => `${fmt(x.delivered)} (${fmt(x.offered)}${x.fuzz ? `; ${fmt(x.fuzz.rate)} msg/s` : ''})`);
    const med = median(ms.map((x) => x.delivered));
    const failures = m === quietMode ? '' : String(ms.reduce((n, x) => n + x.fuzz!.failures, 0));
    console.log(`| ${m.name} | ${cells.join(' | ')} | ${fmt(med)} | ${m === quietMode ? '' : `${fmt((100 * med) / base, 1)}%`} | ` +
      `${pct(ms.map((x) => x.cpu.dp))} | ${pct(ms.map((x) => x.cpu.node))} | ${failures} |`);
  }
  console.log(`\nThe traffic's flow matched ${fmt(Number(matched))} frames in all; the switch ran throughout.`);
}

try {
  await main();
} finally {
  await cleanup();
}
process.exit(0);
