// The controller benchmark in one go (npm run bench:controller): starts
// tsof-controller with examples/learning-switch.ts on a free port, drives it
// with cbench.ts in throughput then latency mode, stops it; does the same with
// osken-manager running osken_learning_switch.py (the same app for os-ken);
// then prints one table with both and the ratios. Each controller's CPU time
// is read from /proc over the measured interval.
//
// A benchmark against a broken peer is worthless, so the run fails (exit 1)
// when either controller answers with no flow_mods or no packet_outs, or when
// a sampled answer is not what a learning switch must send.
//
// Options: those of cbench.ts (--switches, --macs, --seconds, --warmup,
// --window) and --json FILE to keep the raw results.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatResult, NUMERIC_FLAGS, numericOptions, runBench, type BenchResult, type Mode } from './cbench.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OSKEN_MANAGER = '/usr/bin/osken-manager';
const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 30_000;
const LOG_LINES = 40;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

interface Peer {
  name: string;
  port: number;
  /** CPU seconds the controller process has used so far. */
  cpu(): number;
  stop(): Promise<void>;
  /** The last lines of its output, for failure reports. */
  log(): string;
}

/** Runs a controller process and keeps the tail of its output. */
function launch(cmd: string, args: string[], onLine?: (line: string) => void) {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      if (lines.length > LOG_LINES) lines.shift();
      onLine?.(line);
    });
  }
  const exited = once(child, 'exit');
  return {
    child,
    exited,
    log: () => lines.join('\n'),
    cpu: () => procCpu(child),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** utime + stime of a process (fields 14 and 15 of /proc/PID/stat), in seconds. */
function procCpu(child: ChildProcess): number {
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

async function startTsof(): Promise<Peer> {
  let found: (port: number) => void;
  const listening = new Promise<number>((resolve) => (found = resolve));
  // --port 0: the controller picks a free port and logs it; --json makes that line easy to read.
  const args = ['bin/tsof-controller.js', '--port', '0', '--host', HOST, '--json', 'examples/learning-switch.ts'];
  const p = launch(process.execPath, args, (line) => {
    if (!line.includes('"listening for switches"')) return;
    found((JSON.parse(line) as { port: number }).port);
  });
  const port = await startup('tsof-controller', listening, p);
  return { name: 'tsof-controller', port, ...p };
}

async function startOsken(): Promise<Peer> {
  const port = await freePort();
  const app = 'bench/controller/osken_learning_switch.py';
  const p = launch(OSKEN_MANAGER, ['--ofp-tcp-listen-port', String(port), '--ofp-listen-host', HOST, app]);
  await startup('osken-manager', acceptsConnections(port), p);
  return { name: 'os-ken', port, ...p };
}

/** Waits for a controller to be ready, failing with its output if it exits or takes too long. */
async function startup<T>(name: string, ready: Promise<T>, p: ReturnType<typeof launch>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const fail = (why: string) => new Error(`${name} ${why}; its output:\n${p.log()}`);
  try {
    return await Promise.race([
      ready,
      p.exited.then(() => Promise.reject(fail(`exited with ${p.child.exitCode ?? p.child.signalCode}`))),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(fail('did not start listening')), START_TIMEOUT_MS))),
    ]);
  } catch (e) {
    await p.stop();
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  return port;
}

async function acceptsConnections(port: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: HOST, port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

type Numeric = ReturnType<typeof numericOptions>;
type Results = Record<Mode, BenchResult>;

async function measure(peer: Peer, opts: Numeric): Promise<Results> {
  const out = {} as Results;
  try {
    for (const mode of ['throughput', 'latency'] as const) {
      out[mode] = await runBench({ ...opts, host: HOST, port: peer.port, mode, peerCpu: peer.cpu });
      process.stdout.write(`${peer.name} ${formatResult(out[mode])}\n`);
    }
  } catch (e) {
    throw new Error(`${peer.name}: ${(e as Error).message}\nits output:\n${peer.log()}`);
  } finally {
    await peer.stop();
  }
  return out;
}

/** Why a run says nothing about the controller, if it does not. */
function problems(name: string, results: Results): string[] {
  return Object.values(results).flatMap((r) => [
    ...(r.flowModsPerSec === 0 ? [`${name} ${r.mode}: no flow_mods`] : []),
    ...(r.packetOutsPerSec === 0 ? [`${name} ${r.mode}: no packet_outs`] : []),
    ...(r.wrong > 0 ? [`${name} ${r.mode}: ${r.wrong} of ${r.checked} sampled answers wrong, e.g. ${r.mismatches[0]}`] : []),
  ]);
}

function table(tsof: Results, osken: Results): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const ms = (us: number) => (us / 1000).toFixed(us < 10_000 ? 2 : 0);
  const pct = (x?: number) => (x === undefined ? '?' : `${Math.round(x * 100)}%`);
  const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(1)}x` : '-');
  const lat = (r: BenchResult) => `${ms(r.latencyUs.p50)} / ${ms(r.latencyUs.p99)}`;
  const cpu = (r: BenchResult) => `${pct(r.peerCpu)} / ${pct(r.generatorCpu)}`;
  // Less at the mercy of other load on the machine than responses/s: what one busy core would give.
  const perCpu = (r: BenchResult) => (r.peerCpu ? r.responsesPerSec / r.peerCpu : 0);
  const rows: [string, string, string, string][] = [];
  for (const mode of ['throughput', 'latency'] as const) {
    const [t, o] = [tsof[mode], osken[mode]];
    rows.push(
      [`${mode}: responses/s`, n(t.responsesPerSec), n(o.responsesPerSec), ratio(t.responsesPerSec, o.responsesPerSec)],
      [`${mode}: latency p50 / p99 (ms)`, lat(t), lat(o), ratio(o.latencyUs.p50, t.latencyUs.p50)],
      [`${mode}: controller / generator CPU`, cpu(t), cpu(o), ''],
      [`${mode}: responses per controller CPU-second`, n(perCpu(t)), n(perCpu(o)), ratio(perCpu(t), perCpu(o))],
      [`${mode}: packet-ins lost (answered late)`, `${t.lost} (${t.late})`, `${o.lost} (${o.late})`, ''],
    );
  }
  // The last column is tsof's advantage: more responses, or less latency.
  const lines = [['', 'tsof-controller', 'os-ken', 'tsof advantage'], ['---', '---:', '---:', '---:'], ...rows];
  return lines.map((r) => `| ${r.join(' | ')} |`).join('\n');
}

async function main(argv: string[]): Promise<number> {
  let opts: Numeric;
  let jsonFile: string | undefined;
  try {
    const { values } = parseArgs({ args: argv, options: { ...NUMERIC_FLAGS, json: { type: 'string' } } });
    opts = numericOptions(values);
    jsonFile = values.json;
  } catch (e) {
    process.stderr.write(`bench:controller: ${(e as Error).message}\n`);
    return 2;
  }
  // Generator and controller share this machine; other load on it shows in the numbers.
  const load = () => loadavg()[0].toFixed(1);
  const loadBefore = load();
  const tsof = await measure(await startTsof(), opts);
  const osken = await measure(await startOsken(), opts);
  const machine = `${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadBefore} before, ${load()} after`;

  const traffic =
    `${opts.switches} switches, ${opts.macs.toLocaleString('en-US')} MACs each, ` +
    `throughput window ${opts.window}, ${opts.warmup} s warm-up + ${opts.seconds} s per mode`;
  process.stdout.write(`\n${traffic}\n${machine}\n\n${table(tsof, osken)}\n`);
  if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ date: new Date().toISOString(), machine, opts, tsof, osken }, null, 2));

  const bad = [...problems('tsof-controller', tsof), ...problems('os-ken', osken)];
  for (const line of bad) process.stderr.write(`FAIL ${line}\n`);
  return bad.length ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`bench:controller: ${err.message}\n`);
    process.exit(1);
  },
);
