// Codec throughput: messages per second that tsof and os-ken decode and encode,
// on the same bytes, in one run. os-ken runs in one long-lived process
// (bench/osken_codec.py under /usr/bin/python3); each measurement alternates
// short slices of tsof and os-ken (tsof first, then os-ken first, and so on),
// so that both see the same machine load even when it changes from second to
// second, as it does on a shared machine. The table gives medians over the
// rounds; the ratio compares both sides in wall-clock time, and tsof's rate per
// CPU-second is its throughput on one core, whatever else runs.
//
// Usage: taskset -c 1 npx tsx bench/codec.ts [--seconds N] [--rounds R] [--slices S]
// N: seconds per measurement and side (default 1), cut into S slices (default 4);
// R: rounds (default 3). A run takes about R * 4.5N s a message. taskset keeps
// both processes on one CPU: on a shared VM one vCPU can run at half the speed
// of the other for minutes, and a ratio between processes on different CPUs
// measures that instead (npm run bench:codec runs unpinned).

import { spawn } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { createInterface } from 'node:readline';
import { decodeMessage, encodeMessage } from '../src/openflow/codec/index.ts';
import { toHex } from '../src/openflow/codec/wire.ts';
import { cases, count, median, numberArg, rate } from './codec-cases.ts';

const PYTHON = '/usr/bin/python3';
const OSKEN_BENCH = new URL('./osken_codec.py', import.meta.url).pathname;
const OPS = ['decode', 'encode'] as const;
type Op = (typeof OPS)[number];

interface OskenResult {
  per_s: number | null;
  via: string | null;
  error: string | null;
}

/** The os-ken process: one request (time this op on these bytes) at a time. */
function oskenServer() {
  const child = spawn(PYTHON, [OSKEN_BENCH], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const failed = new Promise<never>((_, reject) => {
    child.on('error', (e) => reject(new Error(`${PYTHON}: ${e.message}`)));
    child.on('exit', (code) => reject(new Error(`osken_codec.py exited ${code}`)));
  });
  return {
    async time(hex: string, op: Op, seconds: number): Promise<OskenResult> {
      child.stdin.write(JSON.stringify({ hex, op, seconds }) + '\n');
      const line = await Promise.race([lines.next(), failed]);
      return JSON.parse(line.value as string) as OskenResult;
    },
    close: () => child.stdin.end(),
  };
}

const seconds = numberArg('seconds', 1);
const rounds = numberArg('rounds', 3);
const slices = numberArg('slices', 4);
const slice = seconds / slices;
const osken = oskenServer();
const rows: string[][] = [];
const ratios: number[] = [];
let flowModDecode = Infinity;
try {
  for (const c of cases()) {
    const hex = toHex(c.bytes);
    const run = { decode: () => decodeMessage(c.bytes), encode: () => encodeMessage(c.msg) };
    for (const op of OPS) {
      const wall: number[] = [];
      const cpu: number[] = [];
      const theirs: number[] = [];
      const ratio: number[] = [];
      let via: OskenResult = await osken.time(hex, op, 0.05);
      for (let round = 0; round < rounds && !via.error; round++) {
        // Per round, the mean rate of each side over its slices.
        const ours = { wall: 0, cpu: 0 };
        let other = 0;
        for (let i = 0; i < slices && !via.error; i++) {
          if (i % 2) via = await osken.time(hex, op, slice);
          const r = rate(run[op], slice);
          ours.wall += r.wall / slices;
          ours.cpu += r.cpu / slices;
          if (i % 2 === 0) via = await osken.time(hex, op, slice);
          other += (via.per_s ?? NaN) / slices;
        }
        wall.push(ours.wall);
        cpu.push(ours.cpu);
        theirs.push(other);
        ratio.push(ours.wall / other);
      }
      if (via.error) {
        console.error(`os-ken ${op} of ${c.name}: ${via.error}`);
        rows.push([c.name, String(c.bytes.length), op, '-', '-', '-', '-', '', 'none']);
        continue;
      }
      ratios.push(median(ratio));
      if (op === 'decode' && c.name.startsWith('flow_mod')) flowModDecode = Math.min(flowModDecode, median(cpu));
      const spread = `${Math.min(...ratio).toFixed(0)}-${Math.max(...ratio).toFixed(0)}`;
      const rates = [median(wall), median(cpu), median(theirs)].map(count);
      rows.push([c.name, String(c.bytes.length), op, ...rates, `${median(ratio).toFixed(0)}x`, spread, via.via ?? 'none']);
    }
  }
} finally {
  osken.close();
}

const head = ['message', 'bytes', 'op', 'tsof /s', 'tsof /cpu-s', 'os-ken /s', 'ratio', 'range', 'os-ken via'];
const left = new Set([0, 2, 8]);
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r: string[]) => r.map((v, i) => (left.has(i) ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
const pinned = availableParallelism() === 1 ? 'both on one CPU' : `not pinned to one CPU (run it under taskset -c 1)`;
console.log(
  `tsof codec vs os-ken: medians of ${rounds} rounds, ${seconds} s per measurement and side in ${slices} alternating slices; ` +
    `node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${pinned}`,
);
console.log(line(head));
for (const r of rows) console.log(line(r));
const worst = Math.min(...ratios);
console.log(
  `targets: FLOW_MOD decode >= 1,000,000/s on one core (slowest ${count(flowModDecode)}/cpu-s: ` +
    `${flowModDecode >= 1e6 ? 'met' : 'missed'}); every rate >= 50x os-ken (lowest median ${worst.toFixed(0)}x: ` +
    `${worst >= 50 ? 'met' : 'missed'})`,
);
