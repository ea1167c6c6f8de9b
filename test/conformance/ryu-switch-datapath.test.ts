// The Ryu/os-ken switch test tool's 940 packet cases (native/test/fixtures/ryu-switch-of13, see its PROVENANCE),
// replayed through the native datapath's memory ports: each case's flow-, group- and meter-mods go in as the
// messages os-ken serialised, its frame arrives on port 1, and what comes out must be what Ryu expects: one frame on
// the given port, byte for byte, a packet-in (reason ACTION) with the frame, or a miss in the listed tables.
// native/test/test_pipeline.c replays the same cases against the pipeline in C; this runs them through the
// datapath thread, its output queues, the upcalls and the N-API binding.

import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PACKET_IN_REASON, type PacketIn } from '../../src/datapath/index.ts';
import { TestDatapath, type OutFrame } from '../../src/datapath/testing.ts';
import { until } from '../support/datapath.ts';

type Expect = { kind: 'out'; port: number; frame: Buffer } | { kind: 'packet_in'; frame: Buffer } | { kind: 'miss'; tables: number[] };

interface RyuCase {
  name: string;
  mods: Buffer[];
  inPort: number;
  frame: Buffer;
  expect: Expect;
}

const VECTORS = new URL('../../native/test/fixtures/ryu-switch-of13/vectors.txt', import.meta.url);
const PORTS = [1, 2, 3];

function parse(text: string): RyuCase[] {
  const cases: RyuCase[] = [];
  let c: Partial<RyuCase> & { mods: Buffer[] } = { mods: [] };
  const done = (): void => {
    if (c.name === undefined) return;
    if (c.frame === undefined || c.expect === undefined) throw new Error(`case ${c.name}: no frame or no expectation`);
    cases.push(c as RyuCase);
  };
  for (const line of text.split('\n')) {
    const [word, a = '', b = ''] = line.split(' ');
    if (word === 'case') {
      done();
      c = { name: line.slice(5), mods: [] };
    } else if (word === 'mod') c.mods.push(Buffer.from(a, 'hex'));
    else if (word === 'in') [c.inPort, c.frame] = [Number(a), Buffer.from(b, 'hex')];
    else if (word === 'out') c.expect = { kind: 'out', port: Number(a), frame: Buffer.from(b, 'hex') };
    else if (word === 'packet_in') c.expect = { kind: 'packet_in', frame: Buffer.from(a, 'hex') };
    else if (word === 'miss') c.expect = { kind: 'miss', tables: a.split(',').map(Number) };
    else if (word) throw new Error(`vectors.txt: unknown line ${line.slice(0, 40)}`);
  }
  done();
  return cases;
}

/** os-ken pads the frames it builds to Ethernet's 60-byte minimum, as a NIC does; a frame that shrank below it
 * (pop_mpls) is compared padded with zeros. */
function padded(got: Uint8Array, want: Buffer): Buffer {
  const out = Buffer.from(got);
  return out.length < 60 && want.length === 60 ? Buffer.concat([out, Buffer.alloc(60 - out.length)]) : out;
}

const MOD = { 14: 'flowMod', 15: 'groupMod', 29: 'meterMod' } as const;

const cases = parse(readFileSync(VECTORS, 'utf8'));

describe('the os-ken switch test cases through memory ports', () => {
  let dp: TestDatapath;
  let packetIns: PacketIn[];
  beforeEach(() => {
    dp = new TestDatapath();
    for (const port of PORTS) dp.addPort({ kind: 'memory', port });
    packetIns = [];
    dp.on('packet_in', (batch) => packetIns.push(...batch));
  });
  afterEach(() => dp.close());

  it('has every case the fixture lists', () => {
    expect(cases.length).toBe(940);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    for (const m of c.mods) {
      const op = MOD[m[1] as keyof typeof MOD];
      expect(op, `message type ${m[1]}`).toBeDefined();
      expect(dp[op](m), `${op} refused`).toBeNull();
    }
    const e = c.expect;
    const before = e.kind === 'miss' ? e.tables.map((t) => dp.tableStats(t)) : [];
    expect(dp.inject(c.inPort, c.frame)).toBe(true);

    if (e.kind === 'out') {
      const out: OutFrame[] = [];
      await until(() => (out.push(...dp.take(e.port)), out.length > 0), `a frame out of port ${e.port}`);
      // The port's frame is sent after the whole frame ran: every output is counted by now.
      expect(dp.stats().outputs).toBe(1n);
      expect(out).toHaveLength(1);
      expect(padded(out[0]!.data, e.frame).toString('hex')).toBe(e.frame.toString('hex'));
    } else if (e.kind === 'packet_in') {
      await until(() => packetIns.length > 0, 'a packet-in');
      expect(packetIns).toHaveLength(1);
      expect(packetIns[0]!.reason).toBe(PACKET_IN_REASON.ACTION);
      expect(padded(packetIns[0]!.data, e.frame).toString('hex')).toBe(e.frame.toString('hex'));
    } else {
      await until(() => dp.stats().packets > 0n, 'the frame to be run');
      // The frame is counted as it starts; a command runs on the datapath thread between frames, so after it the
      // frame has been through every table.
      dp.sync();
      const after = e.tables.map((t) => dp.tableStats(t));
      expect(after.some((a, i) => a.lookupCount > before[i]!.lookupCount), 'a listed table was looked up').toBe(true);
      expect(after.map((a) => a.matchedCount)).toEqual(before.map((b) => b.matchedCount));
      expect(dp.stats().outputs).toBe(0n);
    }
  });
});
