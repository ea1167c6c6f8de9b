// Live cross-check of the tsof codec against os-ken (Debian's python3-os-ken, the
// maintained fork of Ryu), in both directions:
//
// - os-ken -> tsof: osken_gen.py builds some 345 varied messages of all 30 OFPT
//   types per seed with os-ken's classes; tsof must decode every one, re-encode it
//   to the same bytes, and decode the same field values that os-ken's
//   to_jsondict() shows (osken_parse.py gives the dicts).
// - tsof -> os-ken: the fast-check arbitraries (fixed seed) give messages of all
//   58 tsof message types; os-ken must parse each, re-serialize it to the same
//   bytes and show the field values tsof encoded. Constructs os-ken cannot take
//   are filtered out by OSKEN_LIMITS, each naming the os-ken fault (or the spec
//   rule the generated input breaks), and a test proves every limit still real.
//
// Field values are compared through test/support/ryu-json.ts, the Ryu-JSON mapping
// the Ryu vectors use too: every dict field accounted for, lengths and type codes
// checked against the wire. Python runs once per batch (osken_parse.py reads JSON
// lines on stdin). Results and the list of os-ken faults: docs/conformance/os-ken-and-tshark.md.

import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, messageInfo, OFPT, type Message } from '../../src/openflow/codec/messages.ts';
import { OFPXMC_EXPERIMENTER, OFPXMC_OPENFLOW_BASIC } from '../../src/openflow/codec/oxm.ts';
import type { TableFeatureProp } from '../../src/openflow/codec/structs.ts';
import { fromHex, toHex } from '../../src/openflow/codec/wire.ts';
import { arbMessageOf, MESSAGE_TYPES } from '../support/arbitraries.ts';
import { compareWithRyu, isObj, parseRyuJson } from '../support/ryu-json.ts';

const PYTHON = '/usr/bin/python3';
const script = (name: string) => fileURLToPath(new URL(name, import.meta.url));

/** os-ken's answer for one message, as osken_parse.py prints it. */
interface OskenResult {
  name: string;
  ok: boolean;
  class: string | null;
  error: string | null;
  reserialized: string | null;
  roundtrip: boolean;
  error_reserialize: string | null;
  json: Record<string, unknown> | null;
}

function jsonLines<T>(text: string): T[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => parseRyuJson(l) as T);
}

function python(args: string[], input?: string): string {
  return execFileSync(PYTHON, args, { input, maxBuffer: 1 << 28, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

const pythonAsync = async (args: string[]) => (await promisify(execFile)(PYTHON, args, { maxBuffer: 1 << 28 })).stdout;

/** Parses every {name, hex} with os-ken in one Python run. */
function oskenParse(items: readonly { name: string; hex: string }[]): OskenResult[] {
  const out = jsonLines<OskenResult>(python([script('osken_parse.py')], items.map((i) => JSON.stringify(i)).join('\n') + '\n'));
  expect(out.map((r) => r.name)).toEqual(items.map((i) => i.name));
  return out;
}

// ---- os-ken's to_jsondict() against tsof's values ----------------------------------------

/**
 * A decoded tsof message as os-ken's objects keep it: bit 31 of hello version
 * bitmaps is lost (os-ken's bitmap parser reads bits 0-30 only,
 * `for shift in range(31)`). The byte round trip checks that bit.
 */
function asOskenSees(msg: Message): Message {
  if (msg.type !== 'hello') return msg;
  const elements = msg.elements.map((e) => (e.type === 'versionbitmap' ? { ...e, bitmaps: e.bitmaps.map((b) => b & 0x7fffffff) } : e));
  return { ...msg, elements };
}

/** The tsof message against os-ken's dict of the same bytes (test/support/ryu-json.ts): "" when they agree. */
function fieldMismatch(msg: Message, osken: OskenResult): string {
  if (!osken.json) return `os-ken gave no dict: ${osken.error}`;
  return compareWithRyu(osken.json, asOskenSees(msg)).join('; ');
}

// ---- what os-ken cannot take ---------------------------------------------------------------

/** Every object inside a message with the chain of keys that leads to it. */
function* nodes(v: unknown, path: string[] = []): Generator<{ path: string[]; node: Record<string, unknown> }> {
  if (Array.isArray(v)) {
    for (const x of v) yield* nodes(x, path);
  } else if (isObj(v)) {
    yield { path, node: v };
    for (const [k, x] of Object.entries(v)) yield* nodes(x, [...path, k]);
  }
}

const some = (m: Message, pred: (path: string[], node: Record<string, unknown>) => boolean) =>
  [...nodes(m)].some(({ path, node }) => pred(path, node));
const last = (path: string[]) => path[path.length - 1];
const bytes = (n: Record<string, unknown>) => (n.data as Uint8Array | undefined)?.length ?? 0;

/** Classes whose OXMs os-ken interprets itself instead of keeping them whole. */
const OSKEN_OXM_CLASSES = new Set([0x0000, 0x0001, 0x8001, OFPXMC_EXPERIMENTER]);

interface Limit {
  /**
   * 'os-ken': a valid message os-ken mishandles. 'invalid': a message the
   * arbitraries can build that tsof decodes (it keeps non-basic OXMs and packet
   * data as they come) but that breaks a rule of the spec, where os-ken may do as it likes.
   */
  cause: 'os-ken' | 'invalid';
  /** What goes wrong, where: the text that goes in the results document. */
  bug: string;
  /** 'parse': os-ken fails on (or hangs on) the message; 'reserialize': it parses it but cannot give the bytes back. */
  fails: 'parse' | 'reserialize';
  applies(m: Message): boolean;
  /** A small valid message that shows the limit, checked by a test of its own. */
  example: Message;
}

const FLOW_MOD_BASE = {
  type: 'flow_mod',
  xid: 1,
  cookie: 0n,
  cookieMask: 0n,
  tableId: 0,
  command: 0,
  idleTimeout: 0,
  hardTimeout: 0,
  priority: 0,
  bufferId: 0xffffffff,
  outPort: 0xffffffff,
  outGroup: 0xffffffff,
  flags: 0,
  match: [],
  instructions: [],
} as const satisfies Message;

/** A table features message with one table of the given properties. */
const tableFeatures = (type: 'table_features_request' | 'table_features_reply', ...properties: TableFeatureProp[]): Message => ({
  type,
  xid: 1,
  flags: 0,
  tables: [{ tableId: 0, name: 't', metadataMatch: 0n, metadataWrite: 0n, config: 0, maxEntries: 1, properties }],
});

/**
 * The constructs that os-ken 2.5 (python3-os-ken) cannot handle. Each names the
 * os-ken fault or the spec rule the input breaks; none excuses a tsof behaviour.
 * Messages with a 'parse' limit are not sent to os-ken at all (some hang it);
 * those with only 'reserialize' limits must still parse.
 */
const OSKEN_LIMITS: Limit[] = [
  {
    cause: 'os-ken',
    bug:
      'OFPHello.parser advances by each element\'s unpadded length (spec 7.5.1 pads elements to 8 bytes), ' +
      'then reads the padding as a zero-length element and loops forever',
    fails: 'parse',
    applies: (m) =>
      m.type === 'hello' &&
      m.elements.some((e) => (e.type === 'unknown' ? 4 + e.data.length : 4 + 4 * e.bitmaps.length) % 8 !== 0),
    example: { type: 'hello', xid: 1, elements: [{ type: 'versionbitmap', bitmaps: [0x10, 0] }] },
  },
  {
    cause: 'os-ken',
    bug: 'OFPHello.parser drops hello elements of unknown types (spec 7.5.1 lets it ignore them), so they cannot be re-serialized',
    fails: 'reserialize',
    applies: (m) => m.type === 'hello' && m.elements.some((e) => e.type === 'unknown'),
    example: { type: 'hello', xid: 1, elements: [{ type: 'unknown', code: 7, data: new Uint8Array(4) }] },
  },
  {
    cause: 'os-ken',
    bug:
      'os-ken has no OFPIT_EXPERIMENTER instruction class: OFPInstruction.parser returns None, on which ' +
      'OFPFlowMod.parser loops forever and OFPFlowStats.parser raises AttributeError',
    fails: 'parse',
    applies: (m) => some(m, (p, n) => last(p) === 'instructions' && n.type === 'experimenter'),
    example: {
      type: 'flow_stats_reply',
      xid: 1,
      flags: 0,
      stats: [
        {
          tableId: 0,
          durationSec: 0,
          durationNsec: 0,
          priority: 0,
          idleTimeout: 0,
          hardTimeout: 0,
          flags: 0,
          cookie: 0n,
          packetCount: 0n,
          byteCount: 0n,
          match: [],
          instructions: [{ type: 'experimenter', experimenter: 0x2320, data: new Uint8Array(8) }],
        },
      ],
    },
  },
  {
    cause: 'os-ken',
    bug: 'OFPMeterBandHeader.parser asserts that an experimenter band is exactly 16 bytes, so band data (spec 7.3.4.5) raises AssertionError',
    fails: 'parse',
    applies: (m) => some(m, (p, n) => last(p) === 'bands' && n.type === 'experimenter' && bytes(n) > 0),
    example: {
      type: 'meter_mod',
      xid: 1,
      command: 0,
      flags: 1,
      meterId: 1,
      bands: [{ type: 'experimenter', rate: 1, burstSize: 1, experimenter: 0x2320, data: new Uint8Array(4) }],
    },
  },
  {
    cause: 'os-ken',
    bug: 'OFPQueueProp.parser returns None for a property type it does not know, and OFPPacketQueue.parser then loops forever',
    fails: 'parse',
    applies: (m) => some(m, (p, n) => p.includes('queues') && last(p) === 'properties' && n.type === 'unknown'),
    example: {
      type: 'queue_get_config_reply',
      xid: 1,
      port: 1,
      queues: [{ queueId: 1, port: 1, properties: [{ type: 'unknown', code: 9, data: new Uint8Array(4) }] }],
    },
  },
  {
    cause: 'os-ken',
    bug:
      'OFPExperimenterMultipart.parser sets length = OFP_METER_FEATURES_SIZE (16), so the reply body loop re-parses ' +
      'the data in 16-byte steps and raises struct.error when a step leaves 1-7 bytes (data of 9-15 bytes mod 16)',
    fails: 'parse',
    applies: (m) => m.type === 'experimenter_stats_reply' && m.data.length % 16 > 8,
    example: { type: 'experimenter_stats_reply', xid: 1, flags: 0, experimenter: 0x2320, expType: 1, data: new Uint8Array(12) },
  },
  {
    cause: 'os-ken',
    bug:
      'os-ken interprets OXMs of the NXM_0, NXM_1, PACKET_REGS and EXPERIMENTER classes with its own field table: ' +
      'a field it defines with another width raises, an experimenter field it does not define raises KeyError ' +
      '(tsof keeps every non-basic OXM opaque)',
    fails: 'parse',
    applies: (m) => some(m, (_p, n) => n.field === 'opaque' && OSKEN_OXM_CLASSES.has(n.oxmClass as number)),
    example: {
      ...FLOW_MOD_BASE,
      match: [{ field: 'opaque', oxmClass: OFPXMC_EXPERIMENTER, oxmField: 1, hasMask: false, data: Uint8Array.of(0, 0, 0x23, 0x20, 1) }],
    },
  },
  {
    cause: 'invalid',
    bug: 'an OXM payload is never empty (spec 7.2.3.2: oxm_length is positive); os-ken asserts a non-empty value',
    fails: 'parse',
    applies: (m) => some(m, (_p, n) => n.field === 'opaque' && bytes(n) === 0),
    example: { ...FLOW_MOD_BASE, match: [{ field: 'opaque', oxmClass: 0x1234, oxmField: 1, hasMask: false, data: new Uint8Array(0) }] },
  },
  {
    cause: 'invalid',
    bug:
      'a masked OXM payload is a value and a mask of equal length (spec 7.2.3.2), so never of odd length; ' +
      'os-ken halves the length and re-serializes one byte less',
    fails: 'reserialize',
    applies: (m) => some(m, (_p, n) => n.field === 'opaque' && n.hasMask === true && bytes(n) % 2 === 1),
    example: { ...FLOW_MOD_BASE, match: [{ field: 'opaque', oxmClass: 0x1234, oxmField: 1, hasMask: true, data: Uint8Array.of(1, 2, 3) }] },
  },
  {
    cause: 'invalid',
    bug:
      'packet_in data is at most total_len bytes of the frame (spec 7.4.1); OFPPacketIn.parser cuts longer data ' +
      'to total_len ("discard padding")',
    fails: 'reserialize',
    applies: (m) => m.type === 'packet_in' && m.data.length > m.totalLen,
    example: {
      ...{ type: 'packet_in', xid: 1, bufferId: 0xffffffff, totalLen: 2, reason: 0, tableId: 0, cookie: 0n },
      ...{ match: [], data: new Uint8Array(6) },
    },
  },
  {
    cause: 'os-ken',
    bug:
      'OFPPropCommonExperimenter4ByteData reads the data of a table-feature experimenter property as u32 words ' +
      '(struct.error otherwise); spec 7.3.5.5.2 gives it "exactly (length - 12) bytes"',
    fails: 'parse',
    applies: (m) =>
      some(m, (p, n) => last(p) === 'properties' && /^experimenter/.test(n.type as string) && 'expType' in n && bytes(n) % 4 !== 0),
    example: tableFeatures('table_features_reply', { type: 'experimenter', experimenter: 0x2320, expType: 1, data: Uint8Array.of(1, 2) }),
  },
  {
    cause: 'os-ken',
    bug:
      'OFPPacketOut.serialize asserts buffer_id == OFP_NO_BUFFER whenever there is data (spec 7.3.7 calls the data ' +
      'meaningful only then, but does not forbid it)',
    fails: 'reserialize',
    applies: (m) => m.type === 'packet_out' && m.data.length > 0 && m.bufferId !== 0xffffffff,
    example: {
      type: 'packet_out',
      xid: 1,
      bufferId: 7,
      inPort: 1,
      actions: [{ type: 'output', port: 2, maxLen: 0 }],
      data: new Uint8Array(20),
    },
  },
  {
    cause: 'os-ken',
    bug:
      'OFPInstructionId and OFPActionId keep only type and length ("XXX experimenter" in os-ken): the experimenter id ' +
      'and data of experimenter ids, and the body of unknown ids, are dropped on re-serialization',
    fails: 'reserialize',
    applies: (m) => some(m, (p, n) => (last(p) === 'instructionIds' || last(p) === 'actionIds') && (n.type === 'experimenter' || bytes(n) > 0)),
    example: tableFeatures('table_features_reply', {
      type: 'instructions',
      instructionIds: [{ type: 'experimenter', experimenter: 0x2320, data: new Uint8Array(0) }],
    }),
  },
  {
    cause: 'os-ken',
    bug:
      'OFPOxmId.serialize writes oxm_length 0 ("XXX" in os-ken) and OFPExperimenterOxmId.serialize returns None, ' +
      'so a table_features request with OXM ids does not re-serialize',
    fails: 'reserialize',
    applies: (m) =>
      m.type === 'table_features_request' &&
      some(m, (p, n) => last(p) === 'oxmIds' && (n.length !== 0 || n.oxmClass === OFPXMC_EXPERIMENTER)),
    example: tableFeatures('table_features_request', {
      type: 'match',
      oxmIds: [{ oxmClass: OFPXMC_OPENFLOW_BASIC, oxmField: 0, hasMask: false, length: 4 }],
    }),
  },
  {
    cause: 'os-ken',
    bug:
      'OFPPacketOut.serialize with data and no actions writes the data at offset 8 and then packs the packet_out ' +
      'header over its first 16 bytes (the message comes out 16 bytes short)',
    fails: 'reserialize',
    applies: (m) => m.type === 'packet_out' && m.actions.length === 0 && m.data.length > 0,
    example: { type: 'packet_out', xid: 1, bufferId: 0xffffffff, inPort: 1, actions: [], data: new Uint8Array(20).fill(0xab) },
  },
];

const limitsOf = (m: Message) => OSKEN_LIMITS.filter((l) => l.applies(m));

// ---- os-ken -> tsof -----------------------------------------------------------------------------

const SEEDS = [1, 2, 3];

interface Generated {
  name: string;
  type: number;
  hex: string;
  via: 'osken' | 'packer';
}

describe('os-ken -> tsof: messages built by os-ken', () => {
  let generated: Generated[] = [];
  let parsed: OskenResult[] = [];

  beforeAll(async () => {
    const runs = await Promise.all(SEEDS.map((seed) => pythonAsync([script('osken_gen.py'), String(seed)])));
    generated = runs.flatMap((out, i) => jsonLines<Generated>(out).map((g) => ({ ...g, name: `seed${SEEDS[i]}:${g.name}` })));
    parsed = oskenParse(generated);
  });

  it('covers all 30 OFPT types and every tsof message type', () => {
    const byOfpt = new Map<number, number>();
    const byType = new Map<string, number>();
    for (const g of generated) {
      byOfpt.set(g.type, (byOfpt.get(g.type) ?? 0) + 1);
      const r = decodeMessage(fromHex(g.hex));
      if (r.ok) byType.set(r.msg.type, (byType.get(r.msg.type) ?? 0) + 1);
    }
    expect([...byOfpt.keys()].sort((a, b) => a - b)).toEqual(Object.values(OFPT));
    expect(MESSAGE_TYPES.filter((t) => !byType.has(t))).toEqual([]);
    expect(generated.length).toBeGreaterThan(900);
  });

  it('decodes every message and re-encodes it to the same bytes', () => {
    const failures: string[] = [];
    for (const g of generated) {
      const r = decodeMessage(fromHex(g.hex));
      if (!r.ok) failures.push(`${g.name}: ${r.detail} at ${r.offset}: ${g.hex}`);
      else if (toHex(encodeMessage(r.msg)) !== g.hex) failures.push(`${g.name}: re-encoded ${toHex(encodeMessage(r.msg))}, was ${g.hex}`);
    }
    expect(failures).toEqual([]);
  });

  it('decodes the field values os-ken shows in to_jsondict()', () => {
    const failures: string[] = [];
    generated.forEach((g, i) => {
      const r = decodeMessage(fromHex(g.hex));
      const diff = r.ok ? fieldMismatch(r.msg, parsed[i]) : r.detail;
      if (diff) failures.push(`${g.name}: ${diff}`);
    });
    expect(failures).toEqual([]);
  });
});

// ---- tsof -> os-ken -----------------------------------------------------------------------------

const SEED = 20240613;
const PER_TYPE = 24;

describe('tsof -> os-ken: messages built by the arbitraries', () => {
  // Controllers send packet_out data with OFP_NO_BUFFER; the arbitraries rarely pick it, so add some that do.
  const packetOuts = arbMessageOf('packet_out').map((m) => (m.data.length ? { ...m, bufferId: 0xffffffff } : m));
  const all = [...MESSAGE_TYPES.map((type) => [type, arbMessageOf(type)] as const), ['packet_out_no_buffer', packetOuts] as const].flatMap(
    ([label, arb]) =>
      fc.sample(arb as fc.Arbitrary<Message>, { seed: SEED, numRuns: PER_TYPE }).map((msg, i) => ({ name: `${label}-${i}`, msg })),
  );
  const sent = all.filter((x) => !limitsOf(x.msg).some((l) => l.fails === 'parse'));
  let results: OskenResult[] = [];

  beforeAll(() => {
    results = oskenParse(sent.map((x) => ({ name: x.name, hex: toHex(encodeMessage(x.msg)) })));
  });

  it('os-ken parses every message it can take and re-serializes it to the same bytes', () => {
    const failures: string[] = [];
    sent.forEach((x, i) => {
      const r = results[i];
      const hex = toHex(encodeMessage(x.msg));
      if (!r.ok) failures.push(`${x.name}: os-ken: ${r.error}: ${hex}`);
      else if (!limitsOf(x.msg).length && !r.roundtrip) {
        failures.push(`${x.name}: os-ken re-serialized ${r.reserialized}: ${r.error_reserialize}; tsof: ${hex}`);
      }
    });
    expect(failures).toEqual([]);
  });

  it('os-ken reads the field values tsof encoded', () => {
    const failures: string[] = [];
    sent.forEach((x, i) => {
      if (!results[i].roundtrip || limitsOf(x.msg).length) return;
      const diff = fieldMismatch(x.msg, results[i]);
      if (diff) failures.push(`${x.name}: ${diff}`);
    });
    expect(failures).toEqual([]);
  });

  it('exercises all 30 OFPT types and every tsof type with messages that round-trip through os-ken', () => {
    const byType = new Map<string, number>();
    const byOfpt = new Set<number>();
    sent.forEach((x, i) => {
      if (!results[i].roundtrip) return;
      byType.set(x.msg.type, (byType.get(x.msg.type) ?? 0) + 1);
      byOfpt.add(messageInfo(x.msg.type).ofpt);
    });
    expect([...byOfpt].sort((a, b) => a - b)).toEqual(Object.values(OFPT));
    expect(MESSAGE_TYPES.filter((t) => (byType.get(t) ?? 0) < 4)).toEqual([]);
    // The limits must leave most of the generated messages in.
    expect(sent.length).toBeGreaterThan(all.length * 0.8);
  });

  it('each os-ken limit is real: its example is valid for tsof and os-ken fails on it as described', () => {
    const examples = OSKEN_LIMITS.map((l, i) => ({ name: `limit-${i}`, hex: toHex(encodeMessage(l.example)) }));
    for (const [i, l] of OSKEN_LIMITS.entries()) {
      expect(l.applies(l.example), l.bug).toBe(true);
      const back = decodeMessage(fromHex(examples[i].hex));
      expect(back.ok && toHex(encodeMessage(back.msg)), l.bug).toBe(examples[i].hex);
    }
    const results = oskenParse(examples);
    for (const [i, l] of OSKEN_LIMITS.entries()) {
      const r = results[i];
      if (l.fails === 'parse') expect(r.ok, `${l.bug}: ${examples[i].hex}`).toBe(false);
      else expect([r.ok, r.roundtrip], `${l.bug}: ${examples[i].hex}`).toEqual([true, false]);
    }
  });
});
