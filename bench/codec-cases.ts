// The messages the codec benchmarks time, and the timing loop they share.
//
// Each case is wire bytes that tsof decodes and re-encodes byte for byte (checked
// here), so every side of a comparison sees identical bytes. The big FLOW_MOD is
// Ryu's 4-2 vector (LINC-generated, Apache 2.0; see test/fixtures/ryu-of13/PROVENANCE).

import { readFileSync } from 'node:fs';
import { decodeMessage, encodeMessage, type Instruction, type Message, type MessageOf, type Oxm } from '../src/openflow/codec/index.ts';
import { toHex } from '../src/openflow/codec/wire.ts';

export interface Case {
  name: string;
  what: string;
  bytes: Uint8Array;
  msg: Message;
}

const RYU_4_2 = new URL('../test/fixtures/ryu-of13/packet_data_of13/4-2-ofp_flow_mod.packet', import.meta.url);

const macOf = (i: number) => `02:00:00:00:${toHex(Uint8Array.of(i >> 8, i & 0xff)).replace(/(..)(..)/, '$1:$2')}`;
/** What a learning switch matches on: the port a frame came in on and its addresses. */
const learned = (i: number): Oxm[] => [
  { field: 'in_port', value: 1 + (i % 48) },
  { field: 'eth_dst', value: macOf(i + 1) },
  { field: 'eth_src', value: macOf(i) },
];
const outputTo = (port: number): Instruction[] => [{ type: 'apply_actions', actions: [{ type: 'output', port, maxLen: 0xffe5 }] }];

const flowMod: MessageOf<'flow_mod'> = {
  type: 'flow_mod',
  xid: 7,
  cookie: 0n,
  cookieMask: 0n,
  tableId: 0,
  command: 0,
  idleTimeout: 0,
  hardTimeout: 0,
  priority: 1,
  bufferId: 0xffffffff,
  outPort: 0,
  outGroup: 0,
  flags: 0,
  match: learned(1),
  instructions: outputTo(2),
};

const packetIn: MessageOf<'packet_in'> = {
  type: 'packet_in',
  xid: 0,
  bufferId: 0xffffffff,
  totalLen: 64,
  reason: 0,
  tableId: 0,
  cookie: 0n,
  match: [{ field: 'in_port', value: 3 }],
  data: Uint8Array.from({ length: 64 }, (_, i) => i),
};

const flowStats: MessageOf<'flow_stats_reply'> = {
  type: 'flow_stats_reply',
  xid: 9,
  flags: 0,
  stats: Array.from({ length: 100 }, (_, i) => ({
    tableId: 0,
    durationSec: 100 + i,
    durationNsec: 5000 * i,
    priority: 1,
    idleTimeout: 0,
    hardTimeout: 0,
    flags: 0,
    cookie: BigInt(i),
    packetCount: BigInt(1000 * i),
    byteCount: BigInt(64000 * i),
    match: learned(i),
    instructions: outputTo(1 + (i % 48)),
  })),
};

export function cases(): Case[] {
  const list = [
    ['flow_mod_learning', 'FLOW_MOD: in_port+eth_dst+eth_src, apply_actions output', encodeMessage(flowMod)],
    ['flow_mod_ryu_4_2', 'FLOW_MOD: Ryu vector 4-2, 1 OXM, 2 instructions, 20 actions', new Uint8Array(readFileSync(RYU_4_2))],
    ['packet_in_64', 'PACKET_IN: 64-byte frame, match in_port', encodeMessage(packetIn)],
    ['flow_stats_reply_100', 'FLOW multipart reply, 100 learning-switch entries', encodeMessage(flowStats)],
  ] as const;
  return list.map(([name, what, bytes]) => {
    const r = decodeMessage(bytes);
    if (!r.ok) throw new Error(`${name} does not decode: ${r.detail}`);
    if (toHex(encodeMessage(r.msg)) !== toHex(bytes)) throw new Error(`${name} does not re-encode to the same bytes`);
    return { name, what, bytes, msg: r.msg };
  });
}

export interface Rate {
  /** Calls per second of wall-clock time, as the os-ken side measures them. */
  wall: number;
  /** Calls per second of this process's CPU time: the rate on one core, whatever else the machine runs. */
  cpu: number;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Times `fn`: a warm-up, then batches that double until one takes 5 ms, for `seconds`. */
export function rate(fn: () => unknown, seconds: number): Rate {
  const warm = performance.now() + Math.min(300, seconds * 300);
  while (performance.now() < warm) for (let i = 0; i < 100; i++) fn();
  let n = 0;
  let batch = 1;
  const cpu0 = cpuMs();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) fn();
    n += batch;
    const now = performance.now();
    if (now >= deadline) return { wall: (n * 1000) / (now - start), cpu: (n * 1000) / (cpuMs() - cpu0) };
    if (now - t0 < 5) batch *= 2;
  }
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The number after `--name` on the command line, or `fallback`. */
export function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!(v > 0)) throw new Error(`usage: --${name} N (N > 0)`);
  return v;
}

/** 1234567 -> "1,234,567". */
export const count = (n: number) => Math.round(n).toLocaleString('en-US');
