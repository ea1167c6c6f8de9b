// Codec throughput: messages per second that tsof and os-ken decode and encode,
// on the same bytes, in one run. For each message and round, tsof is timed and
// then os-ken (bench/osken_codec.py under /usr/bin/python3), so each pair sees
// about the same machine load; the table gives medians over the rounds. On a
// shared machine read the ratio (both sides in wall-clock time) and tsof's rate
// per CPU-second (its throughput on one core, whatever else runs).
//
// Usage: npx tsx bench/codec.ts [--seconds N] [--rounds R]   (or npm run bench:codec)
// N: seconds per measurement (default 1); R: rounds (default 3). A run takes
// about R * (4N + 1) s a message.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMessage, encodeMessage } from '../src/openflow/codec/index.ts';
import { toHex } from '../src/openflow/codec/wire.ts';
import { cases, count, median, numberArg, rate, type Case } from './codec-cases.ts';

const PYTHON = '/usr/bin/python3';
const OSKEN_BENCH = new URL('./osken_codec.py', import.meta.url).pathname;
const OPS = ['decode', 'encode'] as const;

interface OskenResult {
  decode_per_s: number | null;
  encode_per_s: number | null;
  decode_via: string | null;
  encode_via: string | null;
  error: string | null;
}

/** os-ken's rates for one message (an error when it has none). */
function osken(c: Case, seconds: number, dir: string): OskenResult {
  const file = join(dir, `${c.name}.jsonl`);
  writeFileSync(file, JSON.stringify({ name: c.name, hex: toHex(c.bytes) }) + '\n');
  const run = spawnSync(PYTHON, [OSKEN_BENCH, file, String(seconds)], { encoding: 'utf8' });
  const none = { decode_per_s: null, encode_per_s: null, decode_via: null, encode_via: null };
  if (run.error) return { ...none, error: `${PYTHON}: ${run.error.message}` };
  if (run.status !== 0) return { ...none, error: `osken_codec.py exited ${run.status}: ${run.stderr.trim().split('\n').pop()}` };
  return JSON.parse(run.stdout) as OskenResult;
}

const seconds = numberArg('seconds', 1);
const rounds = numberArg('rounds', 3);
const dir = mkdtempSync(join(tmpdir(), 'tsof-bench-'));
const rows: string[][] = [];
const ratios: number[] = [];
let flowModDecode = Infinity;
try {
  for (const c of cases()) {
    const run = { decode: () => decodeMessage(c.bytes), encode: () => encodeMessage(c.msg) };
    const samples = OPS.map(() => ({ wall: [] as number[], cpu: [] as number[], osken: [] as number[], ratio: [] as number[] }));
    let via: OskenResult = osken(c, 0.05, dir);
    for (let round = 0; round < rounds; round++) {
      const ours = OPS.map((op) => rate(run[op], seconds));
      via = osken(c, seconds, dir);
      OPS.forEach((op, i) => {
        const theirs = via[`${op}_per_s`];
        samples[i].wall.push(ours[i].wall);
        samples[i].cpu.push(ours[i].cpu);
        if (theirs) samples[i].osken.push(theirs);
        if (theirs) samples[i].ratio.push(ours[i].wall / theirs);
      });
    }
    if (via.error) console.error(`os-ken on ${c.name}: ${via.error}`);
    OPS.forEach((op, i) => {
      const s = samples[i];
      const ratio = s.ratio.length ? median(s.ratio) : NaN;
      if (s.ratio.length) ratios.push(ratio);
      if (op === 'decode' && c.name.startsWith('flow_mod')) flowModDecode = Math.min(flowModDecode, median(s.cpu));
      const other = s.osken.length ? count(median(s.osken)) : '-';
      const spread = s.ratio.length ? `${Math.min(...s.ratio).toFixed(0)}-${Math.max(...s.ratio).toFixed(0)}` : '';
      const r = s.ratio.length ? `${ratio.toFixed(0)}x` : '-';
      rows.push([c.name, String(c.bytes.length), op, count(median(s.wall)), count(median(s.cpu)), other, r, spread, via[`${op}_via`] ?? 'none']);
    });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const head = ['message', 'bytes', 'op', 'tsof /s', 'tsof /cpu-s', 'os-ken /s', 'ratio', 'range', 'os-ken via'];
const left = new Set([0, 2, 8]);
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r: string[]) => r.map((v, i) => (left.has(i) ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
console.log(
  `tsof codec vs os-ken: medians of ${rounds} rounds, ${seconds} s per measurement; node ${process.version}, ` +
    `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
);
console.log(line(head));
for (const r of rows) console.log(line(r));
const worst = Math.min(...ratios);
console.log(
  `targets: FLOW_MOD decode >= 1,000,000/s on one core (slowest ${count(flowModDecode)}/cpu-s: ` +
    `${flowModDecode >= 1e6 ? 'met' : 'missed'}); every rate >= 50x os-ken (lowest median ${worst.toFixed(0)}x: ` +
    `${worst >= 50 ? 'met' : 'missed'})`,
);
