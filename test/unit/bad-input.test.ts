// Malformed messages and the exact OpenFlow error (type, code) and offset the
// decoder must answer with; values the encoder must refuse rather than wrap; and
// the semantic match checks of checkMatch().
//
// Each bad input is a valid message encoded by the codec with a few bytes changed,
// so the fault is visible in the test: the comments give the offsets of the
// structures in the base messages (offsets count from the start of the message).

import { describe, expect, it } from 'vitest';
import { ERR, type OfErrorCode } from '../../src/openflow/codec/errors.ts';
import { decodeMessage, encodeMessage, type Message } from '../../src/openflow/codec/messages.ts';
import { checkMatch, OFPVID_NONE, OFPVID_PRESENT, type Match } from '../../src/openflow/codec/oxm.ts';
import { fromHex, toHex } from '../../src/openflow/codec/wire.ts';

type Edit = [offset: number, width: 1 | 2 | 4, value: number];

/** A copy of `b` with big-endian values written at the given offsets. */
function patch(b: Uint8Array, ...edits: Edit[]): Uint8Array {
  const out = b.slice();
  const dv = new DataView(out.buffer);
  for (const [at, width, v] of edits) {
    if (width === 1) dv.setUint8(at, v);
    else if (width === 2) dv.setUint16(at, v);
    else dv.setUint32(at, v);
  }
  return out;
}

/** `b` with `remove` bytes at `at` replaced by `insert`, and the header length fixed to match. */
function splice(b: Uint8Array, at: number, remove: number, insert: number[] = []): Uint8Array {
  const out = new Uint8Array([...b.subarray(0, at), ...insert, ...b.subarray(at + remove)]);
  new DataView(out.buffer).setUint16(2, out.length);
  return out;
}

function expectError(b: Uint8Array, error: OfErrorCode, offset: number): void {
  const r = decodeMessage(b);
  expect(r, toHex(b)).toMatchObject({ ok: false, error, offset });
}

function expectOk(b: Uint8Array): Message {
  const r = decodeMessage(b);
  if (!r.ok) throw new Error(`${r.detail} at ${r.offset}: ${toHex(b)}`);
  return r.msg;
}

const xid = 0x01020304;
const output = { type: 'output', port: 1, maxLen: 0 } as const;

/** flow_mod: match at 48 (length at 50), its in_port OXM at 52, goto_table instruction at 64. */
const flowMod = encodeMessage({
  type: 'flow_mod',
  xid,
  cookie: 0n,
  cookieMask: 0n,
  tableId: 0,
  command: 0,
  idleTimeout: 0,
  hardTimeout: 0,
  priority: 0,
  bufferId: 0xffffffff,
  outPort: 0,
  outGroup: 0,
  flags: 0,
  match: [{ field: 'in_port', value: 1 }],
  instructions: [{ type: 'goto_table', tableId: 1 }],
});

/** packet_out: actions_len at 16, one output action at 24 (length at 26), 40 bytes in all. */
const packetOut = encodeMessage({
  type: 'packet_out',
  xid,
  bufferId: 0xffffffff,
  inPort: 1,
  actions: [output],
  data: new Uint8Array(),
});

/** packet_out with set_field(vlan_vid): action at 24, OXM at 28, its padding at 34..39. */
const setField = encodeMessage({
  type: 'packet_out',
  xid,
  bufferId: 0xffffffff,
  inPort: 1,
  actions: [{ type: 'set_field', field: { field: 'vlan_vid', value: OFPVID_PRESENT | 1 } }],
  data: new Uint8Array(),
});

/** group_mod: one bucket at 16 (its length at 16), 32 bytes long. */
const groupMod = encodeMessage({
  type: 'group_mod',
  xid,
  command: 0,
  groupType: 0,
  groupId: 1,
  buckets: [{ weight: 0, watchPort: 0, watchGroup: 0, actions: [output] }],
});

/** table_features_request: table at 16 (length at 16), its next_tables property at 80 (length at 82). */
const tableFeatures = encodeMessage({
  type: 'table_features_request',
  xid,
  flags: 0,
  tables: [
    {
      tableId: 0,
      name: 't',
      metadataMatch: 0n,
      metadataWrite: 0n,
      config: 0,
      maxEntries: 1,
      properties: [{ type: 'next_tables', tableIds: [1, 2, 3] }],
    },
  ],
});

/** meter_mod: one drop band at 16. */
const meterMod = encodeMessage({
  type: 'meter_mod',
  xid,
  command: 0,
  flags: 1,
  meterId: 1,
  bands: [{ type: 'drop', rate: 1000, burstSize: 0 }],
});

const echo = encodeMessage({ type: 'echo_request', xid, data: new Uint8Array([1, 2, 3, 4]) });
const hello = encodeMessage({ type: 'hello', xid, elements: [] });
const descRequest = encodeMessage({ type: 'desc_request', xid, flags: 0 });

describe('message header', () => {
  it('rejects fewer than 8 bytes with BAD_LEN at 0', () => {
    for (let n = 0; n < 8; n++) expectError(hello.subarray(0, n), ERR.BAD_REQUEST.BAD_LEN, 0);
  });

  it('rejects a length field that disagrees with the buffer, at the length field, keeping the xid', () => {
    expectError(patch(hello, [2, 2, 16]), ERR.BAD_REQUEST.BAD_LEN, 2);
    expectError(patch(echo, [2, 2, 8]), ERR.BAD_REQUEST.BAD_LEN, 2);
    expect(decodeMessage(patch(echo, [2, 2, 8]))).toMatchObject({ xid });
  });

  it('rejects a version other than 1.3 except on a hello', () => {
    expectError(patch(echo, [0, 1, 0x01]), ERR.BAD_REQUEST.BAD_VERSION, 0);
    expectError(patch(echo, [0, 1, 0x05]), ERR.BAD_REQUEST.BAD_VERSION, 0);
    expect(expectOk(patch(hello, [0, 1, 0x01]))).toMatchObject({ type: 'hello', version: 1 });
  });

  it('rejects an unknown message type with BAD_TYPE at the type byte', () => {
    for (const type of [30, 35, 0xff]) expectError(patch(hello, [1, 1, type]), ERR.BAD_REQUEST.BAD_TYPE, 1);
  });

  it('rejects an unknown multipart type with BAD_MULTIPART at the multipart type', () => {
    expectError(patch(descRequest, [8, 2, 14]), ERR.BAD_REQUEST.BAD_MULTIPART, 8);
    expectError(patch(descRequest, [1, 1, 19], [8, 2, 0xfffe]), ERR.BAD_REQUEST.BAD_MULTIPART, 8);
  });

  it('rejects a multipart header cut short', () => {
    expectError(splice(descRequest, 12, 4), ERR.BAD_REQUEST.BAD_LEN, 8);
  });
});

describe('fixed-size bodies', () => {
  const zeros = (n: number) => Array<number>(n).fill(0);

  it('rejects extra bytes with BAD_LEN where the body should end', () => {
    expectError(splice(encodeMessage({ type: 'features_request', xid }), 8, 0, [0]), ERR.BAD_REQUEST.BAD_LEN, 8);
    expectError(splice(encodeMessage({ type: 'barrier_reply', xid }), 8, 0, zeros(4)), ERR.BAD_REQUEST.BAD_LEN, 8);
    const role = encodeMessage({ type: 'role_request', xid, role: 2, generationId: 1n });
    expectError(splice(role, 24, 0, zeros(8)), ERR.BAD_REQUEST.BAD_LEN, 24);
    expectError(splice(descRequest, 16, 0, zeros(8)), ERR.BAD_REQUEST.BAD_LEN, 16);
  });

  it('rejects missing bytes with BAD_LEN at the start of the body', () => {
    const setConfig = encodeMessage({ type: 'set_config', xid, flags: 0, missSendLen: 128 });
    expectError(splice(setConfig, 11, 1), ERR.BAD_REQUEST.BAD_LEN, 8);
    const portMod = encodeMessage({
      type: 'port_mod',
      xid,
      portNo: 1,
      hwAddr: '00:00:00:00:00:01',
      config: 0,
      mask: 0,
      advertise: 0,
    });
    expectError(splice(portMod, 36, 4), ERR.BAD_REQUEST.BAD_LEN, 8);
    const aggregate = encodeMessage({
      type: 'aggregate_stats_reply',
      xid,
      flags: 0,
      packetCount: 1n,
      byteCount: 2n,
      flowCount: 3,
    });
    expectError(splice(aggregate, 36, 4), ERR.BAD_REQUEST.BAD_LEN, 16);
  });

  it('rejects a list of fixed-size entries that is not a whole number of them', () => {
    const entry = { tableId: 0, activeCount: 1, lookupCount: 2n, matchedCount: 3n };
    const stats = encodeMessage({ type: 'table_stats_reply', xid, flags: 0, stats: [entry] });
    expectError(splice(stats, stats.length, 0, zeros(4)), ERR.BAD_REQUEST.BAD_LEN, 16);
  });
});

describe('match and OXM', () => {
  it('rejects a match of type 0 (OFPMT_STANDARD) with OFPBMC_BAD_TYPE at the match', () => {
    expectError(patch(flowMod, [48, 2, 0]), ERR.BAD_MATCH.BAD_TYPE, 48);
  });

  it('rejects a match length under 4 or past the message with OFPBMC_BAD_LEN at the match', () => {
    expectError(patch(flowMod, [50, 2, 3]), ERR.BAD_MATCH.BAD_LEN, 48);
    expectError(patch(flowMod, [50, 2, 0x40]), ERR.BAD_MATCH.BAD_LEN, 48);
  });

  it('rejects an unknown OpenFlow-basic field with OFPBMC_BAD_FIELD at the OXM', () => {
    // Field number is bits 15..9 of the OXM header; 40 is unassigned, 127 the last.
    expectError(patch(flowMod, [52, 4, 0x8000_0004 | (40 << 9)]), ERR.BAD_MATCH.BAD_FIELD, 52);
    expectError(patch(flowMod, [52, 4, 0x8000_0004 | (127 << 9)]), ERR.BAD_MATCH.BAD_FIELD, 52);
  });

  it('rejects an OXM length that is wrong for its field with OFPBMC_BAD_LEN at the OXM', () => {
    expectError(patch(flowMod, [55, 1, 2]), ERR.BAD_MATCH.BAD_LEN, 52);
    // The mask bit doubles the expected length: in_port/mask would need 8 bytes.
    expectError(patch(flowMod, [54, 1, 0x01]), ERR.BAD_MATCH.BAD_LEN, 52);
  });

  it('rejects an OXM payload that overruns the match with OFPBMC_BAD_LEN at the payload', () => {
    expectError(patch(flowMod, [55, 1, 12]), ERR.BAD_MATCH.BAD_LEN, 56);
  });
});

describe('actions', () => {
  it('rejects an action length that is not a multiple of 8 with OFPBAC_BAD_LEN at the action', () => {
    expectError(patch(packetOut, [26, 2, 12]), ERR.BAD_ACTION.BAD_LEN, 24);
  });

  it('rejects an action length that overruns the action list, or is 0, with OFPBAC_BAD_LEN', () => {
    expectError(patch(packetOut, [26, 2, 24]), ERR.BAD_ACTION.BAD_LEN, 24);
    expectError(patch(packetOut, [26, 2, 0]), ERR.BAD_ACTION.BAD_LEN, 24);
  });

  it('rejects an action list that overruns the message with BAD_LEN at the list', () => {
    expectError(patch(packetOut, [16, 2, 24]), ERR.BAD_REQUEST.BAD_LEN, 24);
  });

  it('rejects an unknown action type with OFPBAC_BAD_TYPE at the action', () => {
    // 1 is OpenFlow 1.0's set_vlan_vid, gone in 1.3.
    expectError(patch(packetOut, [24, 2, 1]), ERR.BAD_ACTION.BAD_TYPE, 24);
    expectError(patch(packetOut, [24, 2, 28]), ERR.BAD_ACTION.BAD_TYPE, 24);
  });

  it('rejects set_field padding of 8 bytes or more with OFPBAC_BAD_SET_LEN at the padding', () => {
    // Spec 7.4.4: OFPBAC_BAD_SET_LEN is the "length problem in set-field action";
    // Open vSwitch answers the same (len != ROUND_UP(4 + 4 + oxm_len, 8)).
    const longer = patch(splice(setField, 40, 0, Array(8).fill(0)), [16, 2, 24], [26, 2, 24]);
    expectError(longer, ERR.BAD_ACTION.BAD_SET_LEN, 34);
  });

  it('rejects non-zero set_field padding with OFPBAC_BAD_SET_ARGUMENT at the padding', () => {
    // Accepting it would lose the byte: the re-encoded action would differ.
    // Open vSwitch: !is_all_zeros(padding) -> OFPBAC_BAD_SET_ARGUMENT.
    expectError(patch(setField, [39, 1, 1]), ERR.BAD_ACTION.BAD_SET_ARGUMENT, 34);
  });
});

describe('instructions', () => {
  it('rejects an unknown instruction with OFPBIC_UNKNOWN_INST at the instruction', () => {
    // 7 is OpenFlow 1.5's stat_trigger.
    expectError(patch(flowMod, [64, 2, 7]), ERR.BAD_INSTRUCTION.UNKNOWN_INST, 64);
  });

  it('rejects a bad instruction length with OFPBIC_BAD_LEN at the instruction', () => {
    expectError(patch(flowMod, [66, 2, 12]), ERR.BAD_INSTRUCTION.BAD_LEN, 64);
    expectError(patch(flowMod, [66, 2, 16]), ERR.BAD_INSTRUCTION.BAD_LEN, 64);
    // 16 bytes that are there, but goto_table's body is 4 bytes: 8 too many.
    expectError(patch(splice(flowMod, 72, 0, Array(8).fill(0)), [66, 2, 16]), ERR.BAD_INSTRUCTION.BAD_LEN, 64);
  });
});

describe('group buckets', () => {
  it('rejects a bucket length under its fixed part or past the message with OFPGMFC_BAD_BUCKET', () => {
    expectError(patch(groupMod, [16, 2, 8]), ERR.GROUP_MOD_FAILED.BAD_BUCKET, 16);
    expectError(patch(groupMod, [16, 2, 40]), ERR.GROUP_MOD_FAILED.BAD_BUCKET, 16);
  });
});

describe('table features', () => {
  it('rejects an unknown property type with OFPTFFC_BAD_TYPE at the property', () => {
    expectError(patch(tableFeatures, [80, 2, 9]), ERR.TABLE_FEATURES_FAILED.BAD_TYPE, 80);
  });

  it('rejects a property length under 4 or past its table with OFPTFFC_BAD_LEN at the property', () => {
    expectError(patch(tableFeatures, [82, 2, 2]), ERR.TABLE_FEATURES_FAILED.BAD_LEN, 80);
    expectError(patch(tableFeatures, [82, 2, 17]), ERR.TABLE_FEATURES_FAILED.BAD_LEN, 80);
  });

  it('rejects a table length under its fixed part with OFPTFFC_BAD_LEN at the length', () => {
    expectError(patch(tableFeatures, [16, 2, 60]), ERR.TABLE_FEATURES_FAILED.BAD_LEN, 16);
  });
});

describe('meter bands', () => {
  it('rejects an unknown band type with OFPMMFC_BAD_BAND at the band', () => {
    expectError(patch(meterMod, [16, 2, 3]), ERR.METER_MOD_FAILED.BAD_BAND, 16);
  });
});

describe('hello elements', () => {
  it('keeps an unknown element, which a peer must ignore, and re-encodes it as it came', () => {
    // An element of type 2 with 3 bytes and 1 of padding, then a version bitmap for 1.3.
    const bytes = fromHex('04000018 01020304  00020007 01020300  00010008 00000010');
    expect(expectOk(bytes)).toStrictEqual({
      type: 'hello',
      version: 4,
      xid,
      elements: [
        { type: 'unknown', code: 2, data: new Uint8Array([1, 2, 3]) },
        { type: 'versionbitmap', bitmaps: [0x10] },
      ],
    });
    expect(toHex(encodeMessage(expectOk(bytes)))).toBe(toHex(bytes));
  });
});

describe('encoding values that do not fit their fields', () => {
  const withMatch = (match: Match) => () =>
    encodeMessage({
      type: 'flow_stats_request',
      xid,
      flags: 0,
      tableId: 0,
      outPort: 0,
      outGroup: 0,
      cookie: 0n,
      cookieMask: 0n,
      match,
    });

  it('throws TypeError for a message field out of range', () => {
    expect(() => encodeMessage({ type: 'table_mod', xid, tableId: 256, config: 0 })).toThrow(TypeError);
  });

  it('throws TypeError for an OXM value outside its wire width, rather than wrapping it', () => {
    // Unchecked, these would encode as vlan_pcp=0, in_port=0xffffffff, in_port=1, pbb_isid=0, metadata=2^64-1.
    expect(withMatch([{ field: 'vlan_pcp', value: 256 }])).toThrow(TypeError);
    expect(withMatch([{ field: 'in_port', value: -1 }])).toThrow(TypeError);
    expect(withMatch([{ field: 'in_port', value: 1.5 }])).toThrow(TypeError);
    expect(withMatch([{ field: 'pbb_isid', value: 0x1000000 }])).toThrow(TypeError);
    expect(withMatch([{ field: 'metadata', value: -1n }])).toThrow(TypeError);
  });

  it('throws TypeError for an opaque OXM of more than 255 bytes, whose length cannot be written', () => {
    // Unchecked, the length 256 would spill into the hasmask bit and the payload
    // decode as 64 empty OXMs of class 0.
    const big = { field: 'opaque', oxmClass: 1, oxmField: 0, hasMask: false, data: new Uint8Array(256) } as const;
    expect(withMatch([big])).toThrow(TypeError);
  });
});

describe('checkMatch', () => {
  const ipv4 = { field: 'eth_type', value: 0x0800 } as const;
  const tcp = { field: 'ip_proto', value: 6 } as const;
  const check = (m: Match) => checkMatch(m);

  it('passes valid matches', () => {
    const valid: Match[] = [
      [],
      [{ field: 'in_port', value: 1 }, { field: 'in_phy_port', value: 2 }],
      [ipv4, tcp, { field: 'tcp_dst', value: 80 }, { field: 'ipv4_src', value: '10.0.0.0', mask: '255.0.0.0' }],
      [
        { field: 'eth_type', value: 0x86dd },
        { field: 'ip_proto', value: 58 },
        { field: 'icmpv6_type', value: 135 },
        { field: 'ipv6_nd_target', value: 'fe80::1' },
      ],
      [{ field: 'vlan_vid', value: OFPVID_PRESENT | 5 }, { field: 'vlan_pcp', value: 7 }],
      [
        { field: 'metadata', value: 0x10n, mask: 0xf0n },
        { field: 'opaque', oxmClass: 1, oxmField: 0, hasMask: false, data: new Uint8Array(4) },
      ],
    ];
    for (const m of valid) expect(check(m), m.map((f) => f.field).join()).toBeUndefined();
  });

  it('passes vlan_pcp under vlan_vid=0x1000/0x1000, "any tag", which is not OFPVID_NONE', () => {
    // The spec's table of VLAN matches gives this masked form for "packets with a
    // VLAN tag", which meets vlan_pcp's prerequisite VLAN_VID != NONE; OVS accepts
    // it, and Ryu's switch test match/07_VLAN_PCP.json installs exactly this flow.
    const anyTag = { field: 'vlan_vid', value: OFPVID_PRESENT, mask: OFPVID_PRESENT } as const;
    expect(check([anyTag, { field: 'vlan_pcp', value: 3 }])).toBeUndefined();
  });

  it('finds a field given twice: OFPBMC_DUP_FIELD', () => {
    expect(check([{ field: 'in_port', value: 1 }, { field: 'in_port', value: 2 }])).toEqual({
      error: ERR.BAD_MATCH.DUP_FIELD,
      field: 'in_port',
    });
  });

  it('finds missing or wrong prerequisites: OFPBMC_BAD_PREREQ', () => {
    const prereq = (field: string) => ({ error: ERR.BAD_MATCH.BAD_PREREQ, field });
    expect(check([ipv4, { field: 'ip_proto', value: 17 }, { field: 'tcp_src', value: 80 }])).toEqual(prereq('tcp_src'));
    expect(check([ipv4, { field: 'tcp_src', value: 80 }])).toEqual(prereq('tcp_src'));
    expect(check([tcp])).toEqual(prereq('ip_proto'));
    const ipv6 = { field: 'eth_type', value: 0x86dd } as const;
    expect(check([ipv6, { field: 'ipv4_dst', value: '10.0.0.1' }])).toEqual(prereq('ipv4_dst'));
    const untagged = { field: 'vlan_vid', value: OFPVID_NONE } as const;
    expect(check([untagged, { field: 'vlan_pcp', value: 3 }])).toEqual(prereq('vlan_pcp'));
    expect(check([{ field: 'vlan_pcp', value: 3 }])).toEqual(prereq('vlan_pcp'));
    expect(check([{ field: 'in_phy_port', value: 1 }])).toEqual(prereq('in_phy_port'));
  });

  it('finds a mask on a field that cannot have one: OFPBMC_BAD_MASK', () => {
    expect(check([{ field: 'in_port', value: 1, mask: 0xff }])).toEqual({
      error: ERR.BAD_MATCH.BAD_MASK,
      field: 'in_port',
    });
  });

  it('finds a value wider than its field: OFPBMC_BAD_VALUE', () => {
    expect(check([{ field: 'vlan_vid', value: OFPVID_PRESENT | 1 }, { field: 'vlan_pcp', value: 8 }])).toEqual({
      error: ERR.BAD_MATCH.BAD_VALUE,
      field: 'vlan_pcp',
    });
    expect(check([{ field: 'vlan_vid', value: 0x2000 }])).toEqual({
      error: ERR.BAD_MATCH.BAD_VALUE,
      field: 'vlan_vid',
    });
  });

  it('finds value bits outside the mask: OFPBMC_BAD_WILDCARDS', () => {
    expect(check([ipv4, { field: 'ipv4_src', value: '10.0.0.1', mask: '255.0.0.0' }])).toEqual({
      error: ERR.BAD_MATCH.BAD_WILDCARDS,
      field: 'ipv4_src',
    });
  });
});
