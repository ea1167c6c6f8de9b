// Every OpenFlow 1.3.5 message (spec 7.1-7.5), one row each in MESSAGES: its
// name, OFPT type, multipart type where it is one, and its body. Multipart
// requests and replies are flattened into one message per body type, as loxigen
// and Ryu name them (flow_stats_request, port_desc_reply...).
//
// decodeMessage() and encodeMessage() are the codec's public boundary: decoding
// never throws on wire input; it returns the OpenFlow error a peer should get.

import { action, instruction } from './actions.ts';
import {
  BUFFER_ID,
  CAPABILITIES,
  CONFIG_FLAGS,
  CONTROLLER_ROLE,
  FLOW_MOD_COMMAND,
  FLOW_MOD_FLAGS,
  FLOW_REMOVED_REASON,
  GROUP_CAPABILITIES,
  GROUP_ID,
  GROUP_MOD_COMMAND,
  GROUP_TYPE,
  METER_BAND_TYPES,
  METER_CAPABILITIES,
  METER_FLAGS,
  METER_ID,
  METER_MOD_COMMAND,
  MULTIPART_FLAGS,
  OFP_VERSION,
  PACKET_IN_REASON,
  PORT_CONFIG,
  PORT_FEATURES,
  PORT_NO,
  PORT_REASON,
  QUEUE_ID,
  TABLE_CONFIG,
  TABLE_ID,
} from './constants.ts';
import { ERR, errorCodeName, errorTypeName, OFPET_EXPERIMENTER, type OfErrorCode } from './errors.ts';
import { match } from './oxm.ts';
import { ofpPrint } from './print.ts';
import {
  hex32,
  hex64,
  list,
  lengthOf16,
  mac,
  pad,
  rest,
  selfLength16,
  str,
  struct,
  u16,
  u32,
  u64,
  u8,
  type Infer,
  type StructCodec,
  type Tagged,
} from './schema.ts';
import { array, bucket, helloElement, meterBand, packetQueue, port, tableFeatures } from './structs.ts';
import { DecodeError, Reader, toHex, Writer } from './wire.ts';

export const OFPT = {
  HELLO: 0,
  ERROR: 1,
  ECHO_REQUEST: 2,
  ECHO_REPLY: 3,
  EXPERIMENTER: 4,
  FEATURES_REQUEST: 5,
  FEATURES_REPLY: 6,
  GET_CONFIG_REQUEST: 7,
  GET_CONFIG_REPLY: 8,
  SET_CONFIG: 9,
  PACKET_IN: 10,
  FLOW_REMOVED: 11,
  PORT_STATUS: 12,
  PACKET_OUT: 13,
  FLOW_MOD: 14,
  GROUP_MOD: 15,
  PORT_MOD: 16,
  TABLE_MOD: 17,
  MULTIPART_REQUEST: 18,
  MULTIPART_REPLY: 19,
  BARRIER_REQUEST: 20,
  BARRIER_REPLY: 21,
  QUEUE_GET_CONFIG_REQUEST: 22,
  QUEUE_GET_CONFIG_REPLY: 23,
  ROLE_REQUEST: 24,
  ROLE_REPLY: 25,
  GET_ASYNC_REQUEST: 26,
  GET_ASYNC_REPLY: 27,
  SET_ASYNC: 28,
  METER_MOD: 29,
} as const;

export const OFPMP = {
  DESC: 0,
  FLOW: 1,
  AGGREGATE: 2,
  TABLE: 3,
  PORT_STATS: 4,
  QUEUE: 5,
  GROUP: 6,
  GROUP_DESC: 7,
  GROUP_FEATURES: 8,
  METER: 9,
  METER_CONFIG: 10,
  METER_FEATURES: 11,
  TABLE_FEATURES: 12,
  PORT_DESC: 13,
  EXPERIMENTER: 0xffff,
} as const;

const none = struct({});
const data = struct({ data: rest });
const experimenter = struct({ experimenter: hex32, expType: u32, data: rest });

// ---- bodies of plain messages ---------------------------------------------------

/**
 * ofp_error_msg. OFPET_EXPERIMENTER errors carry exp_type where others carry the
 * code, then an experimenter id; `code` holds exp_type for them.
 */
const errorBody: StructCodec<{ errType: number; code: number; experimenter?: number; data: Uint8Array }> = (() => {
  const plain = struct({ errType: u16, code: u16, data: rest });
  const exp = struct({ errType: u16, code: u16, experimenter: hex32, data: rest });
  const isExp = (r: Reader) => r.dv.getUint16(r.off) === OFPET_EXPERIMENTER;
  const tagged = (head: readonly string[]) => {
    const [p, e] = [plain.tagged(head), exp.tagged(head)];
    return (r: Reader, end: number, ...h: unknown[]) => {
      r.need(2, end, ERR.BAD_REQUEST.BAD_LEN, 'error');
      return (isExp(r) ? e : p)(r, end, ...h);
    };
  };
  return {
    ...plain,
    tagged,
    decode: tagged([]),
    encode: (w, v) => (v.errType === OFPET_EXPERIMENTER ? exp : plain).encode(w, v as never),
    formatFields: (v) =>
      v.errType === OFPET_EXPERIMENTER
        ? `OFPET_EXPERIMENTER exp_type=${v.code} experimenter=0x${(v.experimenter ?? 0).toString(16)} data=0x${toHex(v.data)}`
        : `${errorTypeName(v.errType)} ${errorCodeName(v.errType, v.code)} data=0x${toHex(v.data)}`,
  };
})();

const featuresReply = struct({
  datapathId: hex64,
  nBuffers: u32,
  nTables: u8,
  auxiliaryId: u8,
  _pad: pad(2),
  capabilities: CAPABILITIES.codec,
  reserved: u32,
});

const switchConfig = struct({ flags: CONFIG_FLAGS.codec, missSendLen: u16 });

const packetIn = struct({
  bufferId: BUFFER_ID.codec,
  totalLen: u16,
  reason: PACKET_IN_REASON.codec,
  tableId: u8,
  cookie: hex64,
  match,
  _pad: pad(2),
  data: rest,
});

const flowRemoved = struct({
  cookie: hex64,
  priority: u16,
  reason: FLOW_REMOVED_REASON.codec,
  tableId: u8,
  durationSec: u32,
  durationNsec: u32,
  idleTimeout: u16,
  hardTimeout: u16,
  packetCount: u64,
  byteCount: u64,
  match,
});

const portStatus = struct({ reason: PORT_REASON.codec, _pad: pad(7), desc: port });

const packetOut = struct({
  bufferId: BUFFER_ID.codec,
  inPort: PORT_NO.codec,
  _actionsLen: lengthOf16('actions'),
  _pad: pad(6),
  actions: list(action, ERR.BAD_ACTION.BAD_LEN),
  data: rest,
});

const flowMod = struct({
  cookie: hex64,
  cookieMask: hex64,
  tableId: TABLE_ID.codec,
  command: FLOW_MOD_COMMAND.codec,
  idleTimeout: u16,
  hardTimeout: u16,
  priority: u16,
  bufferId: BUFFER_ID.codec,
  outPort: PORT_NO.codec,
  outGroup: GROUP_ID.codec,
  flags: FLOW_MOD_FLAGS.codec,
  _pad: pad(2),
  match,
  instructions: list(instruction, ERR.BAD_INSTRUCTION.BAD_LEN),
});

const groupMod = struct({
  command: GROUP_MOD_COMMAND.codec,
  groupType: GROUP_TYPE.codec,
  _pad: pad(1),
  groupId: GROUP_ID.codec,
  buckets: list(bucket),
});

const portMod = struct({
  portNo: PORT_NO.codec,
  _pad: pad(4),
  hwAddr: mac,
  _pad2: pad(2),
  config: PORT_CONFIG.codec,
  mask: PORT_CONFIG.codec,
  advertise: PORT_FEATURES.codec,
  _pad3: pad(4),
});

const tableMod = struct({ tableId: TABLE_ID.codec, _pad: pad(3), config: TABLE_CONFIG.codec });

const queueGetConfigRequest = struct({ port: PORT_NO.codec, _pad: pad(4) });
const queueGetConfigReply = struct({ port: PORT_NO.codec, _pad: pad(4), queues: list(packetQueue) });

const role = struct({ role: CONTROLLER_ROLE.codec, _pad: pad(4), generationId: hex64 });

/** Index 0 applies to the master or equal role, index 1 to the slave role. */
const asyncConfig = struct({
  packetInMask: array(hex32, 2),
  portStatusMask: array(hex32, 2),
  flowRemovedMask: array(hex32, 2),
});

const meterMod = struct({
  command: METER_MOD_COMMAND.codec,
  flags: METER_FLAGS.codec,
  meterId: METER_ID.codec,
  bands: list(meterBand),
});

// ---- bodies of multipart messages (7.3.5) ----------------------------------------

const DESC_STR = 256;
const desc = struct({
  mfrDesc: str(DESC_STR),
  hwDesc: str(DESC_STR),
  swDesc: str(DESC_STR),
  serialNum: str(32),
  dpDesc: str(DESC_STR),
});

const flowStatsRequest = struct({
  tableId: TABLE_ID.codec,
  _pad: pad(3),
  outPort: PORT_NO.codec,
  outGroup: GROUP_ID.codec,
  _pad2: pad(4),
  cookie: hex64,
  cookieMask: hex64,
  match,
});

export const flowStats = struct(
  {
    _length: selfLength16,
    tableId: u8,
    _pad: pad(1),
    durationSec: u32,
    durationNsec: u32,
    priority: u16,
    idleTimeout: u16,
    hardTimeout: u16,
    flags: FLOW_MOD_FLAGS.codec,
    _pad2: pad(4),
    cookie: hex64,
    packetCount: u64,
    byteCount: u64,
    match,
    instructions: list(instruction, ERR.BAD_INSTRUCTION.BAD_LEN),
  },
  { name: 'flow stats' },
);
export type FlowStats = Infer<typeof flowStats>;

const aggregateReply = struct({ packetCount: u64, byteCount: u64, flowCount: u32, _pad: pad(4) });

const tableStats = struct({
  tableId: u8,
  _pad: pad(3),
  activeCount: u32,
  lookupCount: u64,
  matchedCount: u64,
});

const portStats = struct({
  portNo: PORT_NO.codec,
  _pad: pad(4),
  rxPackets: u64,
  txPackets: u64,
  rxBytes: u64,
  txBytes: u64,
  rxDropped: u64,
  txDropped: u64,
  rxErrors: u64,
  txErrors: u64,
  rxFrameErr: u64,
  rxOverErr: u64,
  rxCrcErr: u64,
  collisions: u64,
  durationSec: u32,
  durationNsec: u32,
});

const queueStats = struct({
  portNo: PORT_NO.codec,
  queueId: QUEUE_ID.codec,
  txBytes: u64,
  txPackets: u64,
  txErrors: u64,
  durationSec: u32,
  durationNsec: u32,
});

const groupStats = struct(
  {
    _length: selfLength16,
    _pad: pad(2),
    groupId: GROUP_ID.codec,
    refCount: u32,
    _pad2: pad(4),
    packetCount: u64,
    byteCount: u64,
    durationSec: u32,
    durationNsec: u32,
    bucketStats: list(struct({ packetCount: u64, byteCount: u64 })),
  },
  { name: 'group stats' },
);

const groupDesc = struct(
  { _length: selfLength16, groupType: GROUP_TYPE.codec, _pad: pad(1), groupId: GROUP_ID.codec, buckets: list(bucket) },
  { name: 'group desc' },
);

/** Indexed by group type (ALL, SELECT, INDIRECT, FF). */
const groupFeatures = struct({
  types: hex32,
  capabilities: GROUP_CAPABILITIES.codec,
  maxGroups: array(u32, 4),
  actions: array(hex32, 4),
});

const meterStats = struct(
  {
    meterId: METER_ID.codec,
    _len: selfLength16,
    _pad: pad(6),
    flowCount: u32,
    packetInCount: u64,
    byteInCount: u64,
    durationSec: u32,
    durationNsec: u32,
    bandStats: list(struct({ packetBandCount: u64, byteBandCount: u64 })),
  },
  { name: 'meter stats' },
);

const meterConfig = struct(
  { _length: selfLength16, flags: METER_FLAGS.codec, meterId: METER_ID.codec, bands: list(meterBand) },
  { name: 'meter config' },
);

const meterFeatures = struct({
  maxMeter: u32,
  bandTypes: METER_BAND_TYPES.codec,
  capabilities: METER_CAPABILITIES.codec,
  maxBands: u8,
  maxColor: u8,
  _pad: pad(2),
});

const portRequest = struct({ portNo: PORT_NO.codec, _pad: pad(4) });
const groupRequest = struct({ groupId: GROUP_ID.codec, _pad: pad(4) });
const meterRequest = struct({ meterId: METER_ID.codec, _pad: pad(4) });
const queueRequest = struct({ portNo: PORT_NO.codec, queueId: QUEUE_ID.codec });

// ---- the table ---------------------------------------------------------------------

/** [OFPT type, body] or, for multipart messages, [OFPT type, body, OFPMP type]. */
type Row = readonly [number, StructCodec<any>] | readonly [number, StructCodec<any>, number];

const REQ = OFPT.MULTIPART_REQUEST;
const REP = OFPT.MULTIPART_REPLY;

export const MESSAGES = {
  hello: [OFPT.HELLO, struct({ elements: list(helloElement) })],
  error: [OFPT.ERROR, errorBody],
  echo_request: [OFPT.ECHO_REQUEST, data],
  echo_reply: [OFPT.ECHO_REPLY, data],
  experimenter: [OFPT.EXPERIMENTER, experimenter],
  features_request: [OFPT.FEATURES_REQUEST, none],
  features_reply: [OFPT.FEATURES_REPLY, featuresReply],
  get_config_request: [OFPT.GET_CONFIG_REQUEST, none],
  get_config_reply: [OFPT.GET_CONFIG_REPLY, switchConfig],
  set_config: [OFPT.SET_CONFIG, switchConfig],
  packet_in: [OFPT.PACKET_IN, packetIn],
  flow_removed: [OFPT.FLOW_REMOVED, flowRemoved],
  port_status: [OFPT.PORT_STATUS, portStatus],
  packet_out: [OFPT.PACKET_OUT, packetOut],
  flow_mod: [OFPT.FLOW_MOD, flowMod],
  group_mod: [OFPT.GROUP_MOD, groupMod],
  port_mod: [OFPT.PORT_MOD, portMod],
  table_mod: [OFPT.TABLE_MOD, tableMod],
  desc_request: [REQ, none, OFPMP.DESC],
  desc_reply: [REP, desc, OFPMP.DESC],
  flow_stats_request: [REQ, flowStatsRequest, OFPMP.FLOW],
  flow_stats_reply: [REP, struct({ stats: list(flowStats) }), OFPMP.FLOW],
  aggregate_stats_request: [REQ, flowStatsRequest, OFPMP.AGGREGATE],
  aggregate_stats_reply: [REP, aggregateReply, OFPMP.AGGREGATE],
  table_stats_request: [REQ, none, OFPMP.TABLE],
  table_stats_reply: [REP, struct({ stats: list(tableStats) }), OFPMP.TABLE],
  port_stats_request: [REQ, portRequest, OFPMP.PORT_STATS],
  port_stats_reply: [REP, struct({ stats: list(portStats) }), OFPMP.PORT_STATS],
  queue_stats_request: [REQ, queueRequest, OFPMP.QUEUE],
  queue_stats_reply: [REP, struct({ stats: list(queueStats) }), OFPMP.QUEUE],
  group_stats_request: [REQ, groupRequest, OFPMP.GROUP],
  group_stats_reply: [REP, struct({ stats: list(groupStats) }), OFPMP.GROUP],
  group_desc_request: [REQ, none, OFPMP.GROUP_DESC],
  group_desc_reply: [REP, struct({ stats: list(groupDesc) }), OFPMP.GROUP_DESC],
  group_features_request: [REQ, none, OFPMP.GROUP_FEATURES],
  group_features_reply: [REP, groupFeatures, OFPMP.GROUP_FEATURES],
  meter_stats_request: [REQ, meterRequest, OFPMP.METER],
  meter_stats_reply: [REP, struct({ stats: list(meterStats) }), OFPMP.METER],
  meter_config_request: [REQ, meterRequest, OFPMP.METER_CONFIG],
  meter_config_reply: [REP, struct({ stats: list(meterConfig) }), OFPMP.METER_CONFIG],
  meter_features_request: [REQ, none, OFPMP.METER_FEATURES],
  meter_features_reply: [REP, meterFeatures, OFPMP.METER_FEATURES],
  table_features_request: [REQ, struct({ tables: list(tableFeatures) }), OFPMP.TABLE_FEATURES],
  table_features_reply: [REP, struct({ tables: list(tableFeatures) }), OFPMP.TABLE_FEATURES],
  port_desc_request: [REQ, none, OFPMP.PORT_DESC],
  port_desc_reply: [REP, struct({ ports: list(port) }), OFPMP.PORT_DESC],
  experimenter_stats_request: [REQ, experimenter, OFPMP.EXPERIMENTER],
  experimenter_stats_reply: [REP, experimenter, OFPMP.EXPERIMENTER],
  barrier_request: [OFPT.BARRIER_REQUEST, none],
  barrier_reply: [OFPT.BARRIER_REPLY, none],
  queue_get_config_request: [OFPT.QUEUE_GET_CONFIG_REQUEST, queueGetConfigRequest],
  queue_get_config_reply: [OFPT.QUEUE_GET_CONFIG_REPLY, queueGetConfigReply],
  role_request: [OFPT.ROLE_REQUEST, role],
  role_reply: [OFPT.ROLE_REPLY, role],
  get_async_request: [OFPT.GET_ASYNC_REQUEST, none],
  get_async_reply: [OFPT.GET_ASYNC_REPLY, asyncConfig],
  set_async: [OFPT.SET_ASYNC, asyncConfig],
  meter_mod: [OFPT.METER_MOD, meterMod],
} as const satisfies Record<string, Row>;

type Table = typeof MESSAGES;
export type MessageType = keyof Table;

/** The header fields every message has; version defaults to 0x04 on encode. */
interface Header<K> {
  type: K;
  version?: number;
  xid: number;
}

type BodyOf<R> = R extends readonly [number, infer C, number]
  ? { flags: number } & Infer<C>
  : R extends readonly [number, infer C]
    ? Infer<C>
    : never;

/** One decoded OpenFlow message: a union discriminated by `type`. */
export type Message = { [K in MessageType]: Header<K> & BodyOf<Table[K]> }[MessageType];
/** The message of one type: MessageOf<'flow_mod'>. */
export type MessageOf<K extends MessageType> = Extract<Message, { type: K }>;

interface Entry {
  name: MessageType;
  ofpt: number;
  mp: number; // -1 for a plain message
  body: StructCodec<any>;
  /** Decodes the body into the whole message: (r, end, type, version, xid[, flags]). */
  decode: Tagged;
}

const byName = new Map<string, Entry>();
const plain: (Entry | undefined)[] = [];
const mpRequest = new Map<number, Entry>();
const mpReply = new Map<number, Entry>();
for (const [name, row] of Object.entries(MESSAGES) as [MessageType, Row][]) {
  const mp = row.length === 3 ? row[2] : -1;
  const head = mp < 0 ? ['type', 'version', 'xid'] : ['type', 'version', 'xid', 'flags'];
  const e: Entry = { name, ofpt: row[0], mp, body: row[1], decode: row[1].tagged(head) };
  byName.set(name, e);
  if (e.mp < 0) plain[e.ofpt] = e;
  else (e.ofpt === REQ ? mpRequest : mpReply).set(e.mp, e);
}

export function messageInfo(type: MessageType): { ofpt: number; mp?: number } {
  const e = byName.get(type)!;
  return e.mp < 0 ? { ofpt: e.ofpt } : { ofpt: e.ofpt, mp: e.mp };
}

// ---- decode and encode ---------------------------------------------------------------

export type DecodeResult =
  | { ok: true; msg: Message }
  | {
      ok: false;
      /** The OFPT_ERROR type and code to send back. */
      error: OfErrorCode;
      /** Byte offset in the message where decoding failed. */
      offset: number;
      detail: string;
      /** The offending message's xid, when its header could be read. */
      xid?: number;
    };

function failure(error: OfErrorCode, offset: number, detail: string, xid?: number): DecodeResult {
  return { ok: false, error, offset, detail, xid };
}

/**
 * Decodes exactly one message (a frame from the Framer). Never throws: malformed
 * input gives the error a switch or controller should answer with.
 */
export function decodeMessage(buf: Uint8Array): DecodeResult {
  if (buf.length < 8) return failure(ERR.BAD_REQUEST.BAD_LEN, 0, `message of ${buf.length} bytes, shorter than a header`);
  const r = new Reader(buf);
  const { base, end } = r;
  const version = r.u8();
  const ofpt = r.u8();
  const length = r.u16();
  const xid = r.u32();
  if (length !== buf.length) {
    return failure(ERR.BAD_REQUEST.BAD_LEN, 2, `header length ${length}, message has ${buf.length} bytes`, xid);
  }
  if (version !== OFP_VERSION && ofpt !== OFPT.HELLO) {
    return failure(ERR.BAD_REQUEST.BAD_VERSION, 0, `version 0x${version.toString(16)} is not OpenFlow 1.3`, xid);
  }
  try {
    let entry = plain[ofpt];
    let msg: Message;
    if (ofpt === REQ || ofpt === REP) {
      r.need(8, end, ERR.BAD_REQUEST.BAD_LEN, 'multipart header');
      const mp = r.u16();
      entry = (ofpt === REQ ? mpRequest : mpReply).get(mp);
      if (!entry) return failure(ERR.BAD_REQUEST.BAD_MULTIPART, 8, `unknown multipart type ${mp}`, xid);
      const flags = r.u16();
      r.off += 4;
      msg = entry.decode(r, end, entry.name, version, xid, flags);
    } else {
      if (!entry) return failure(ERR.BAD_REQUEST.BAD_TYPE, 1, `unknown message type ${ofpt}`, xid);
      msg = entry.decode(r, end, entry.name, version, xid);
    }
    if (r.off !== end) {
      return failure(ERR.BAD_REQUEST.BAD_LEN, r.off - base, `${end - r.off} bytes after the ${entry.name} body`, xid);
    }
    return { ok: true, msg };
  } catch (e) {
    // Offsets inside the codec count from the start of the Reader's buffer.
    if (e instanceof DecodeError) return failure(e.error, e.offset - base, e.detail, xid);
    // A bug, not bad input; still an answer rather than a crash.
    return failure(ERR.BAD_REQUEST.BAD_LEN, r.off - base, `internal decoder error: ${(e as Error).message}`, xid);
  }
}

// Encoding is synchronous, so one writer, straight into the shared slab, serves every call.
const writer = new Writer({ pooled: true });

/**
 * Encodes a message; throws TypeError for a value that cannot be put on the wire.
 * An xid given here replaces msg.xid, so a sender numbering its messages copies none.
 */
export function encodeMessage(msg: Message, xid: number = msg.xid): Uint8Array {
  const entry = byName.get(msg.type);
  if (!entry) throw new TypeError(`unknown message type "${String(msg.type)}"`);
  const w = writer;
  w.begin();
  // The header (and multipart header) directly; begin() leaves room for it. Its length is patched in below.
  const start = w.start;
  const b = w.buf;
  const dv = w.dv;
  b[start] = msg.version ?? OFP_VERSION;
  b[start + 1] = entry.ofpt;
  dv.setUint32(start + 4, xid);
  if (entry.mp >= 0) {
    dv.setUint16(start + 8, entry.mp);
    dv.setUint16(start + 10, (msg as { flags: number }).flags);
    dv.setUint32(start + 12, 0);
    w.off = start + 16;
  } else {
    w.off = start + 8;
  }
  entry.body.encode(w, msg);
  const length = w.off - start;
  if (length > 0xffff) throw new RangeError(`${msg.type} is ${length} bytes, over the 65535 an OpenFlow message can have`);
  w.patch16(start + 2, length);
  return w.finish();
}

/**
 * The canonical text of a message: ovs-ofctl's, from the per-message printers in
 * print.ts, for the messages they cover; a generic one-line form for the others.
 * `verbosity` is ovs-ofctl's (2 unless -m adds to it; see print.ts).
 */
export function formatMessage(msg: Message, verbosity = 2): string {
  const ovs = ofpPrint(msg, verbosity);
  if (ovs !== undefined) return ovs;
  const entry = byName.get(msg.type)!;
  const title =
    entry.mp < 0
      ? `OFPT_${entry.name.toUpperCase()}`
      : `OFPMP_${Object.entries(OFPMP).find(([, v]) => v === entry.mp)![0]} ${entry.ofpt === REQ ? 'request' : 'reply'}`;
  const version = msg.version === undefined || msg.version === OFP_VERSION ? 'OF1.3' : `version 0x${msg.version.toString(16)}`;
  const flags = entry.mp >= 0 ? ` flags=${MULTIPART_FLAGS.codec.format((msg as { flags: number }).flags)}` : '';
  const body = entry.body.formatFields(msg);
  return `${title} (${version}) (xid=0x${msg.xid.toString(16)}):${flags}${body ? ' ' + body : ''}`;
}
