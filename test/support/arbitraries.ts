// fast-check arbitraries of every tsof OpenFlow 1.3 message and of the structures
// inside them, for the round-trip and fuzz tests and for the cross-checks against
// os-ken and tshark.
//
// A generated value is exactly what decodeMessage() gives back for its encoding:
// addresses in the codec's own text forms (IPv6 as RFC 5952 text), names of
// printable ASCII short enough to keep their terminating NUL, experimenter action
// and instruction data in whole 8-byte units (so encoding adds no padding), masks
// only on maskable OXM fields, `version` either 4 or left out (the encoder's
// default). Values stay within each field's wire width, not its meaningful bits,
// so they are wire-valid but not necessarily semantically valid (checkMatch may
// refuse a match). Opaque OXMs, experimenter TLVs and kept unknown TLVs are
// included; a peer that cannot parse them needs a .filter().
//
// Everything the codec describes in a table is generated from that table: each
// row of OXM_FIELDS, ACTIONS, INSTRUCTIONS, TABLE_FEATURE_PROPS, the meter band,
// queue property and hello element variants, and each row of MESSAGES, whose
// records are built from the field names of the row's body. A field name without
// an arbitrary here fails at import, so a new row cannot go untested.

import fc from 'fast-check';
import {
  action,
  actionId,
  instruction,
  instructionId,
  type Action,
  type ActionId,
  type Instruction,
  type InstructionId,
} from '../../src/openflow/codec/actions.ts';
import { OFP_VERSION } from '../../src/openflow/codec/constants.ts';
import { OFPET_EXPERIMENTER } from '../../src/openflow/codec/errors.ts';
import {
  flowStats,
  MESSAGES,
  type Message,
  type MessageOf,
  type MessageType,
} from '../../src/openflow/codec/messages.ts';
import {
  OFPXMC_EXPERIMENTER,
  OFPXMC_OPENFLOW_BASIC,
  OXM_FIELDS,
  oxmFieldInfo,
  type Match,
  type Oxm,
  type OxmFieldName,
  type OxmId,
  type OxmOpaque,
} from '../../src/openflow/codec/oxm.ts';
import type { StructCodec, TlvCodec, UnknownTlv } from '../../src/openflow/codec/schema.ts';
import {
  bucket,
  helloElement,
  meterBand,
  packetQueue,
  port,
  queueProp,
  tableFeatureProp,
  tableFeatures,
  type Bucket,
  type HelloElement,
  type MeterBand,
  type PacketQueue,
  type Port,
  type QueueProp,
  type TableFeatureProp,
  type TableFeatures,
} from '../../src/openflow/codec/structs.ts';
import { ipv4ToString, ipv6ToString, macToString } from '../../src/openflow/codec/wire.ts';

// ---- building blocks ---------------------------------------------------------------

export const arbU8 = fc.integer({ min: 0, max: 0xff });
export const arbU16 = fc.integer({ min: 0, max: 0xffff });
export const arbU24 = fc.integer({ min: 0, max: 0xffffff });
export const arbU32 = fc.integer({ min: 0, max: 0xffffffff });
export const arbU64 = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });

const bytesOf = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
export const arbMac = bytesOf(6).map((b) => macToString(b));
export const arbIpv4 = bytesOf(4).map((b) => ipv4ToString(b));
/** Zero groups are drawn often, so every way of placing "::" gets exercised. */
export const arbIpv6 = fc.array(fc.oneof(fc.constant(0), arbU16), { minLength: 8, maxLength: 8 }).map((groups) => {
  const b = new Uint8Array(16);
  groups.forEach((g, i) => {
    b[2 * i] = g >> 8;
    b[2 * i + 1] = g & 0xff;
  });
  return ipv6ToString(b);
});

/** Opaque bytes: packet data, experimenter bodies, unknown TLVs. */
export const arbBytes = (maxLength = 24) => fc.uint8Array({ maxLength });
/** Experimenter action and instruction data: 8-byte units keep the TLV aligned without padding. */
const arbBytes8 = fc.uint8Array({ maxLength: 24 }).map((b) => b.slice(0, b.length & ~7));

/** The text of an n-byte NUL-padded name field: printable ASCII, at most n - 1 characters. */
export const arbName = (n: number) => fc.string({ unit: 'grapheme-ascii', maxLength: n - 1, size: 'max' });

/** Short lists keep nested messages (tables of properties of ids) small and fast. */
const few = <T>(a: fc.Arbitrary<T>, maxLength = 3) => fc.array(a, { maxLength });
const exactly = <T>(a: fc.Arbitrary<T>, n: number) => fc.array(a, { minLength: n, maxLength: n });

/** Arbitraries of the fields of a structure, by API field name. */
type FieldArbs = Readonly<Record<string, fc.Arbitrary<unknown>>>;

const sameFor = (arb: fc.Arbitrary<unknown>, ...names: string[]): FieldArbs =>
  Object.fromEntries(names.map((n) => [n, arb]));

/** A record with exactly the given keys; a key without an arbitrary fails here, at import. */
function fieldsArb(keys: readonly string[], what: string, fields: FieldArbs): fc.Arbitrary<Record<string, unknown>> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const k of keys) {
    const a = fields[k];
    if (!a) throw new Error(`test/support/arbitraries.ts: no arbitrary for field "${k}" of ${what}`);
    model[k] = a;
  }
  return fc.record(model, { noNullPrototype: true });
}

/** The values of a structure codec, with the keys it declares. */
function structArb<T>(codec: StructCodec<T>, what: string, fields: FieldArbs): fc.Arbitrary<T> {
  return fieldsArb(codec.keys, what, fields) as fc.Arbitrary<T>;
}

/**
 * The values of a TLV codec, { type, ...fields }, every variant it knows equally
 * likely; with `keepsUnknown`, also types it does not know (UnknownTlv).
 */
function tlvArb<T>(codec: TlvCodec<T>, what: string, fields: FieldArbs, keepsUnknown = false): fc.Arbitrary<T> {
  const known = Object.entries(codec.bodies).map(([type, body]) =>
    fieldsArb(body.keys, `${what} ${type}`, fields).map((v) => ({ type, ...v })),
  );
  const unknown: fc.Arbitrary<UnknownTlv> = fc.record(
    { type: fc.constant('unknown' as const), code: arbU16.filter((c) => !codec.byCode.has(c)), data: arbBytes(12) },
    { noNullPrototype: true },
  );
  return fc.oneof(...known, ...(keepsUnknown ? [unknown] : [])) as fc.Arbitrary<T>;
}

/** Scalar fields of messages and structures; each name has one width wherever it appears. */
const SCALARS: FieldArbs = {
  ...sameFor(arbU8, 'tableId', 'nTables', 'auxiliaryId', 'reason', 'groupType', 'maxBands', 'maxColor'),
  ...sameFor(arbU16, 'errType', 'code', 'command', 'flags', 'missSendLen', 'totalLen', 'priority'),
  ...sameFor(arbU16, 'idleTimeout', 'hardTimeout', 'weight'),
  ...sameFor(arbU32, 'experimenter', 'expType', 'nBuffers', 'capabilities', 'reserved', 'bufferId', 'inPort'),
  ...sameFor(arbU32, 'outPort', 'outGroup', 'groupId', 'portNo', 'port', 'queueId', 'meterId', 'watchPort'),
  ...sameFor(arbU32, 'watchGroup', 'config', 'mask', 'advertise', 'state', 'curr', 'advertised', 'supported'),
  ...sameFor(arbU32, 'peer', 'currSpeed', 'maxSpeed', 'durationSec', 'durationNsec', 'role', 'activeCount'),
  ...sameFor(arbU32, 'refCount', 'flowCount', 'maxMeter', 'bandTypes', 'types', 'maxEntries'),
  ...sameFor(arbU64, 'datapathId', 'cookie', 'cookieMask', 'packetCount', 'byteCount', 'lookupCount'),
  ...sameFor(arbU64, 'matchedCount', 'rxPackets', 'txPackets', 'rxBytes', 'txBytes', 'rxDropped', 'txDropped'),
  ...sameFor(arbU64, 'rxErrors', 'txErrors', 'rxFrameErr', 'rxOverErr', 'rxCrcErr', 'collisions'),
  ...sameFor(arbU64, 'generationId', 'packetInCount', 'byteInCount', 'metadataMatch', 'metadataWrite'),
  ...sameFor(arbU64, 'packetBandCount', 'byteBandCount'),
  hwAddr: arbMac,
};

// ---- OXM (oxm.ts) ------------------------------------------------------------------------

type Kind = (typeof OXM_FIELDS)[OxmFieldName]['kind'];
const KIND: Record<Kind, fc.Arbitrary<unknown>> = {
  u8: arbU8,
  u16: arbU16,
  u24: arbU24,
  u32: arbU32,
  u64: arbU64,
  mac: arbMac,
  ipv4: arbIpv4,
  ipv6: arbIpv6,
};

export const OXM_FIELD_NAMES = Object.keys(OXM_FIELDS) as OxmFieldName[];

/** One basic OXM field; for a maskable field the mask is present at random unless `masks` is false. */
export function arbOxmOf(field: OxmFieldName, masks = true): fc.Arbitrary<Oxm> {
  const spec = OXM_FIELDS[field];
  const value = KIND[spec.kind];
  const withMask = spec.maskable && masks;
  return fc.record(
    { field: fc.constant(field), value, ...(withMask ? { mask: value } : {}) },
    { requiredKeys: ['field', 'value'], noNullPrototype: true },
  ) as fc.Arbitrary<Oxm>;
}

/** Any OpenFlow-basic OXM, every field of OXM_FIELDS equally likely. */
export const arbOxmBasic: fc.Arbitrary<Oxm> = fc.oneof(...OXM_FIELD_NAMES.map((f) => arbOxmOf(f)));

/** An OXM of another class (NXM 0/1, experimenter 0xffff with its id first, any other). */
export const arbOxmOpaque: fc.Arbitrary<OxmOpaque> = fc
  .record(
    {
      field: fc.constant('opaque' as const),
      oxmClass: fc.oneof(fc.constantFrom(0x0000, 0x0001, OFPXMC_EXPERIMENTER), arbU16),
      oxmField: fc.integer({ min: 0, max: 0x7f }),
      hasMask: fc.boolean(),
      data: arbBytes(16),
    },
    { noNullPrototype: true },
  )
  .filter((o) => o.oxmClass !== OFPXMC_OPENFLOW_BASIC && (o.oxmClass !== OFPXMC_EXPERIMENTER || o.data.length >= 4));

export const arbOxm: fc.Arbitrary<Oxm> = fc.oneof(
  { weight: 4, arbitrary: arbOxmBasic },
  { weight: 1, arbitrary: arbOxmOpaque },
);

export const arbMatch: fc.Arbitrary<Match> = fc.array(arbOxm, { maxLength: 6 });

/** The OXM of a set_field action: any field, never masked (OpenFlow 1.3 has no masked set_field). */
export const arbSetFieldOxm: fc.Arbitrary<Oxm> = fc.oneof(
  { weight: 4, arbitrary: fc.oneof(...OXM_FIELD_NAMES.map((f) => arbOxmOf(f, false))) },
  { weight: 1, arbitrary: arbOxmOpaque },
);

/** An OXM header as table features list it: basic fields with their true lengths, other classes anyhow. */
export const arbOxmId: fc.Arbitrary<OxmId> = fc.oneof(
  fc.oneof(
    ...OXM_FIELD_NAMES.map((name) => {
      const f = oxmFieldInfo(name)!;
      return (f.maskable ? fc.boolean() : fc.constant(false)).map(
        (hasMask): OxmId => ({
          oxmClass: OFPXMC_OPENFLOW_BASIC,
          oxmField: f.id,
          hasMask,
          length: f.width * (hasMask ? 2 : 1),
        }),
      );
    }),
  ),
  fc.record(
    {
      oxmClass: arbU16.filter((c) => c !== OFPXMC_OPENFLOW_BASIC && c !== OFPXMC_EXPERIMENTER),
      oxmField: fc.integer({ min: 0, max: 0x7f }),
      hasMask: fc.boolean(),
      length: arbU8,
    },
    { noNullPrototype: true },
  ),
  fc.record(
    {
      oxmClass: fc.constant(OFPXMC_EXPERIMENTER),
      oxmField: fc.integer({ min: 0, max: 0x7f }),
      hasMask: fc.boolean(),
      length: arbU8,
      experimenter: arbU32,
    },
    { noNullPrototype: true },
  ),
);

// ---- actions and instructions (actions.ts) -------------------------------------------------

/** Every action of ACTIONS. */
export const arbAction: fc.Arbitrary<Action> = tlvArb(action, 'action', {
  ...SCALARS,
  ...sameFor(arbU8, 'mplsTtl', 'nwTtl'),
  ...sameFor(arbU16, 'maxLen', 'ethertype'),
  field: arbSetFieldOxm,
  data: arbBytes8,
});

const arbActions = few(arbAction, 4);

/** Every instruction of INSTRUCTIONS. */
export const arbInstruction: fc.Arbitrary<Instruction> = tlvArb(instruction, 'instruction', {
  ...SCALARS,
  ...sameFor(arbU64, 'metadata', 'metadataMask'),
  actions: arbActions,
  data: arbBytes8,
});

const ID_FIELDS: FieldArbs = { experimenter: arbU32, data: arbBytes(12) };
/** Action ids of table features: every ACTIONS type, and unknown types kept as they came. */
export const arbActionId: fc.Arbitrary<ActionId> = tlvArb(actionId, 'action id', ID_FIELDS, true);
export const arbInstructionId: fc.Arbitrary<InstructionId> = tlvArb(instructionId, 'instruction id', ID_FIELDS, true);

// ---- shared structures (structs.ts) ----------------------------------------------------------

/** Hello elements: version bitmaps and unknown elements, which a peer must ignore and we keep. */
export const arbHelloElement: fc.Arbitrary<HelloElement> = tlvArb(
  helloElement,
  'hello element',
  { bitmaps: few(arbU32) },
  true,
);

/** Meter bands of all three kinds: drop, dscp_remark, experimenter. */
export const arbMeterBand: fc.Arbitrary<MeterBand> = tlvArb(meterBand, 'meter band', {
  ...SCALARS,
  ...sameFor(arbU32, 'rate', 'burstSize'),
  precLevel: arbU8,
  data: arbBytes(),
});

/** Queue properties: min_rate, max_rate, experimenter, and unknown ones. */
export const arbQueueProp: fc.Arbitrary<QueueProp> = tlvArb(
  queueProp,
  'queue property',
  { ...SCALARS, rate: arbU16, data: arbBytes() },
  true,
);

export const arbPacketQueue: fc.Arbitrary<PacketQueue> = structArb(packetQueue, 'queue', {
  ...SCALARS,
  properties: few(arbQueueProp),
});

export const arbPort: fc.Arbitrary<Port> = structArb(port, 'port', { ...SCALARS, name: arbName(16) });

export const arbBucket: fc.Arbitrary<Bucket> = structArb(bucket, 'bucket', { ...SCALARS, actions: arbActions });

/** Every table feature property type of TABLE_FEATURE_PROPS. */
export const arbTableFeatureProp: fc.Arbitrary<TableFeatureProp> = tlvArb(tableFeatureProp, 'table feature property', {
  ...SCALARS,
  instructionIds: few(arbInstructionId, 4),
  tableIds: few(arbU8, 8),
  actionIds: few(arbActionId, 4),
  oxmIds: few(arbOxmId, 4),
  data: arbBytes(),
});

export const arbTableFeatures: fc.Arbitrary<TableFeatures> = structArb(tableFeatures, 'table features', {
  ...SCALARS,
  name: arbName(32),
  properties: few(arbTableFeatureProp, 4),
});

// ---- messages (messages.ts) -------------------------------------------------------------------

/** The fields of message bodies and of the entries of multipart replies. */
const MESSAGE_FIELDS: FieldArbs = {
  ...SCALARS,
  data: arbBytes(32),
  match: arbMatch,
  actions: arbActions,
  instructions: few(arbInstruction, 4),
  buckets: few(arbBucket),
  bands: few(arbMeterBand),
  desc: arbPort,
  ports: few(arbPort),
  queues: few(arbPacketQueue),
  tables: few(arbTableFeatures),
  elements: few(arbHelloElement),
  ...sameFor(arbName(256), 'mfrDesc', 'hwDesc', 'swDesc', 'dpDesc'),
  serialNum: arbName(32),
  ...sameFor(exactly(arbU32, 2), 'packetInMask', 'portStatusMask', 'flowRemovedMask'),
  maxGroups: exactly(arbU32, 4),
  bucketStats: few(fieldsArb(['packetCount', 'byteCount'], 'bucket counter', SCALARS)),
  bandStats: few(fieldsArb(['packetBandCount', 'byteBandCount'], 'band counter', SCALARS)),
};

/** The entries of a multipart reply's `stats`, with the keys of the entry's codec in messages.ts. */
const stats = (what: string, ...keys: string[]) => ({ stats: few(fieldsArb(keys, what, MESSAGE_FIELDS)) });

/** Field names that mean something else in one message, and the entries of each stats reply. */
const OVERRIDES: Partial<Record<MessageType, FieldArbs>> = {
  flow_mod: { command: arbU8 },
  group_features_reply: { actions: exactly(arbU32, 4) },
  flow_stats_reply: stats('flow stats', ...flowStats.keys),
  table_stats_reply: stats('table stats', 'tableId', 'activeCount', 'lookupCount', 'matchedCount'),
  port_stats_reply: stats(
    'port stats',
    'portNo',
    'rxPackets',
    'txPackets',
    'rxBytes',
    'txBytes',
    'rxDropped',
    'txDropped',
    'rxErrors',
    'txErrors',
    'rxFrameErr',
    'rxOverErr',
    'rxCrcErr',
    'collisions',
    'durationSec',
    'durationNsec',
  ),
  queue_stats_reply: stats(
    'queue stats',
    'portNo',
    'queueId',
    'txBytes',
    'txPackets',
    'txErrors',
    'durationSec',
    'durationNsec',
  ),
  group_stats_reply: stats(
    'group stats',
    'groupId',
    'refCount',
    'packetCount',
    'byteCount',
    'durationSec',
    'durationNsec',
    'bucketStats',
  ),
  group_desc_reply: stats('group desc', 'groupType', 'groupId', 'buckets'),
  meter_stats_reply: stats(
    'meter stats',
    'meterId',
    'flowCount',
    'packetInCount',
    'byteInCount',
    'durationSec',
    'durationNsec',
    'bandStats',
  ),
  meter_config_reply: stats('meter config', 'flags', 'meterId', 'bands'),
};

/** Bodies with variants their field names do not show. */
const VARIANTS: Partial<Record<MessageType, fc.Arbitrary<Record<string, unknown>>>> = {
  // OFPET_EXPERIMENTER errors carry exp_type in `code` and an experimenter id.
  error: fc.oneof(
    fieldsArb(MESSAGES.error[1].keys, 'error', {
      ...MESSAGE_FIELDS,
      errType: arbU16.filter((t) => t !== OFPET_EXPERIMENTER),
    }),
    fieldsArb(['errType', 'code', 'experimenter', 'data'], 'experimenter error', {
      ...MESSAGE_FIELDS,
      errType: fc.constant(OFPET_EXPERIMENTER),
    }),
  ),
};

function messageArb(type: MessageType): fc.Arbitrary<Message> {
  const row: readonly [number, StructCodec<unknown>, number?] = MESSAGES[type];
  const multipart = row[2] !== undefined;
  const overrides = OVERRIDES[type] ?? {};
  for (const k of Object.keys(overrides)) {
    if (!row[1].keys.includes(k)) throw new Error(`test/support/arbitraries.ts: ${type} has no field "${k}"`);
  }
  const body = VARIANTS[type] ?? fieldsArb(row[1].keys, type, { ...MESSAGE_FIELDS, ...overrides });
  const header = fc.record(
    { xid: arbU32, version: fc.constant(OFP_VERSION), ...(multipart ? { flags: arbU16 } : {}) },
    { requiredKeys: multipart ? ['xid', 'flags'] : ['xid'], noNullPrototype: true },
  );
  return fc.tuple(header, body).map(([h, b]) => ({ type, ...h, ...b }) as Message);
}

/** Every message type of MESSAGES, in table order. */
export const MESSAGE_TYPES = Object.keys(MESSAGES) as MessageType[];

// Built for every row now, so a row this file cannot generate fails at import.
const BY_TYPE = new Map(MESSAGE_TYPES.map((t) => [t, messageArb(t)]));

/** Messages of one type, e.g. arbMessageOf('flow_mod'). */
export function arbMessageOf<K extends MessageType>(type: K): fc.Arbitrary<MessageOf<K>> {
  const a = BY_TYPE.get(type);
  if (!a) throw new Error(`test/support/arbitraries.ts: unknown message type "${type}"`);
  return a as fc.Arbitrary<MessageOf<K>>;
}

/** A message of any type, each type equally likely. */
export const arbMessage: fc.Arbitrary<Message> = fc.oneof(...MESSAGE_TYPES.map((t) => arbMessageOf(t)));
