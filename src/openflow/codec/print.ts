// ovs-ofctl's text of OpenFlow messages (Open vSwitch's ofp-print), one printer
// per message in PRINTERS, as OVS has one print function per message type.
// formatMessage() (messages.ts) prints with them the messages they cover and
// keeps its generic one-line form for the rest, so logs, `tsof-ofctl` and the
// tests show one text, the one ovs-ofctl shows for the same bytes.
//
// The output is checked byte for byte against `ovs-ofctl ofp-print` (Open vSwitch
// 3.1, test/unit/ofctl-print.test.ts), including OVS's own rules that a reader
// would not guess: ports renumbered into 16 bits and sorted, bits OpenFlow 1.3 does
// not define dropped, durations in milliseconds when exact, a table that repeats
// the one before it printed as "ditto", table features in OVS's own terms (its
// field names and order, OVS_FIELDS in text-fields.ts), and values OVS cannot
// decode printed as "***decode error: NAME***" followed by a hex dump of the message.
// A packet-in's or packet-out's frame is summarised as its flow (frame.ts).
//
// Verbosity is ovs-ofctl's: 2 for ofp-print, monitor and snoop, one more for each -m.
// Above 0 a frame's summary is printed, above 1 an echo's payload, above 2 a frame's
// bytes as well (ovs-ofctl's hex dump without the ASCII column).

import type { Message, MessageOf, MessageType } from './messages.ts';
import { decodeMessage, encodeMessage, formatMessage, messageInfo } from './messages.ts';
import { errorCodeName, errorName, OFPET_EXPERIMENTER, ONF_EXPERIMENTER } from './errors.ts';
import { decodeBundleAdd, decodeBundleControl, OFPBCT, OFPBF, ONFT } from './bundle.ts';
import {
  formatActions,
  formatDuration,
  formatFlowMod,
  formatFlowStats,
  formatGroup,
  formatGroupMod,
  formatMatch,
  formatMeter,
  formatMeterMod,
  ovsMatchError,
} from './text.ts';
import { actionId, instructionId } from './actions.ts';
import { OFPXMC_EXPERIMENTER, type OxmId } from './oxm.ts';
import { TABLE_FEATURE_PROPS, type TableFeatures } from './structs.ts';
import { OVS_FIELDS } from './text-fields.ts';
import { readStr, writeStr } from './wire.ts';
import { formatFrame } from './frame.ts';

/** Appends a message's body text to `s.text`; returns an OVS error name when OVS would not decode it. */
type Printer<K extends MessageType> = (msg: MessageOf<K>, s: Out) => string | void;
/** The text so far, and how much ovs-ofctl would print. */
interface Out {
  text: string;
  readonly verbosity: number;
}

/** The title OVS gives each message (ofpraw names): OFPT_* and "OFPST_* request/reply". */
const TITLES: Record<MessageType, string> = {
  hello: 'OFPT_HELLO',
  error: 'OFPT_ERROR',
  echo_request: 'OFPT_ECHO_REQUEST',
  echo_reply: 'OFPT_ECHO_REPLY',
  experimenter: 'OFPT_EXPERIMENTER',
  features_request: 'OFPT_FEATURES_REQUEST',
  features_reply: 'OFPT_FEATURES_REPLY',
  get_config_request: 'OFPT_GET_CONFIG_REQUEST',
  get_config_reply: 'OFPT_GET_CONFIG_REPLY',
  set_config: 'OFPT_SET_CONFIG',
  packet_in: 'OFPT_PACKET_IN',
  flow_removed: 'OFPT_FLOW_REMOVED',
  port_status: 'OFPT_PORT_STATUS',
  packet_out: 'OFPT_PACKET_OUT',
  flow_mod: 'OFPT_FLOW_MOD',
  group_mod: 'OFPT_GROUP_MOD',
  port_mod: 'OFPT_PORT_MOD',
  table_mod: 'OFPT_TABLE_MOD',
  desc_request: 'OFPST_DESC request',
  desc_reply: 'OFPST_DESC reply',
  flow_stats_request: 'OFPST_FLOW request',
  flow_stats_reply: 'OFPST_FLOW reply',
  aggregate_stats_request: 'OFPST_AGGREGATE request',
  aggregate_stats_reply: 'OFPST_AGGREGATE reply',
  table_stats_request: 'OFPST_TABLE request',
  table_stats_reply: 'OFPST_TABLE reply',
  port_stats_request: 'OFPST_PORT request',
  port_stats_reply: 'OFPST_PORT reply',
  queue_stats_request: 'OFPST_QUEUE request',
  queue_stats_reply: 'OFPST_QUEUE reply',
  group_stats_request: 'OFPST_GROUP request',
  group_stats_reply: 'OFPST_GROUP reply',
  group_desc_request: 'OFPST_GROUP_DESC request',
  group_desc_reply: 'OFPST_GROUP_DESC reply',
  group_features_request: 'OFPST_GROUP_FEATURES request',
  group_features_reply: 'OFPST_GROUP_FEATURES reply',
  meter_stats_request: 'OFPST_METER request',
  meter_stats_reply: 'OFPST_METER reply',
  meter_config_request: 'OFPST_METER_CONFIG request',
  meter_config_reply: 'OFPST_METER_CONFIG reply',
  meter_features_request: 'OFPST_METER_FEATURES request',
  meter_features_reply: 'OFPST_METER_FEATURES reply',
  table_features_request: 'OFPST_TABLE_FEATURES request',
  table_features_reply: 'OFPST_TABLE_FEATURES reply',
  port_desc_request: 'OFPST_PORT_DESC request',
  port_desc_reply: 'OFPST_PORT_DESC reply',
  experimenter_stats_request: 'OFPST_EXPERIMENTER request',
  experimenter_stats_reply: 'OFPST_EXPERIMENTER reply',
  barrier_request: 'OFPT_BARRIER_REQUEST',
  barrier_reply: 'OFPT_BARRIER_REPLY',
  queue_get_config_request: 'OFPT_QUEUE_GET_CONFIG_REQUEST',
  queue_get_config_reply: 'OFPT_QUEUE_GET_CONFIG_REPLY',
  role_request: 'OFPT_ROLE_REQUEST',
  role_reply: 'OFPT_ROLE_REPLY',
  get_async_request: 'OFPT_GET_ASYNC_REQUEST',
  get_async_reply: 'OFPT_GET_ASYNC_REPLY',
  set_async: 'OFPT_SET_ASYNC',
  meter_mod: 'OFPT_METER_MOD',
};

// ---- pieces several printers share -------------------------------------------------

/** OVS's bit lists: names in bit order, leftover bits in hex; "0" for none. */
function bitNames(bits: number, names: Record<number, string>, sep = ' '): string {
  if (!bits) return '0';
  const out: string[] = [];
  let rest = bits >>> 0;
  for (let i = 0; i < 32; i++) {
    const bit = 2 ** i;
    if (rest & bit && names[bit]) {
      out.push(names[bit]);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest) out.push(`0x${rest.toString(16)}`);
  return out.join(sep);
}

class Unprintable extends Error {}

/** OVS keeps ports in 16 bits: 0..0xfeff as they are, 0xffffff00.. as 0xff00..; others are an error. */
function port16(p: number): number {
  if (p < 0xff00) return p;
  if (p >= 0xffffff00) return p - 0xffff0000;
  throw new Unprintable('OFPBAC_BAD_OUT_PORT');
}

const RESERVED_PORTS: Record<number, string> = {
  0xfff7: 'UNSET',
  0xfff8: 'IN_PORT',
  0xfff9: 'TABLE',
  0xfffa: 'NORMAL',
  0xfffb: 'FLOOD',
  0xfffc: 'ALL',
  0xfffd: 'CONTROLLER',
  0xfffe: 'LOCAL',
  0xffff: 'ANY',
};

const portName = (p16: number) => RESERVED_PORTS[p16] ?? String(p16);

const PORT_CONFIG_NAMES = { 1: 'PORT_DOWN', 4: 'NO_RECV', 32: 'NO_FWD', 64: 'NO_PACKET_IN' };
const PORT_STATE_NAMES = { 1: 'LINK_DOWN', 2: 'BLOCKED', 4: 'LIVE' };
const PORT_FEATURE_NAMES = [
  '10MB-HD', '10MB-FD', '100MB-HD', '100MB-FD', '1GB-HD', '1GB-FD', '10GB-FD', '40GB-FD',
  '100GB-FD', '1TB-FD', 'OTHER', 'COPPER', 'FIBER', 'AUTO_NEG', 'AUTO_PAUSE', 'AUTO_PAUSE_ASYM',
].reduce<Record<number, string>>((m, name, i) => ((m[1 << i] = name), m), {});

/** A port name as OVS shows it: at most 15 bytes, cut at the first byte that is not printable ASCII. */
function printableName(name: string): string {
  const b = new Uint8Array(16);
  writeStr(b, 0, 16, name);
  let n = 0;
  while (n < 15 && b[n] >= 0x20 && b[n] < 0x7f) n++;
  return String.fromCharCode(...b.subarray(0, n));
}

type Port = MessageOf<'port_desc_reply'>['ports'][number];

/** ofputil_phy_port_format. */
function formatPort(p: Port, p16: number): string {
  const mac = p.hwAddr;
  let s = ` ${portName(p16)}(${printableName(p.name)}): addr:${mac}\n`;
  s += `     config:     ${bitNames(p.config & 0x65, PORT_CONFIG_NAMES)}\n`;
  s += `     state:      ${bitNames(p.state & 7, PORT_STATE_NAMES)}\n`;
  const features: [string, number][] = [
    ['current:    ', p.curr],
    ['advertised: ', p.advertised],
    ['supported:  ', p.supported],
    ['peer:       ', p.peer],
  ];
  for (const [label, f] of features) if (f & 0xffff) s += `     ${label}${bitNames(f & 0xffff, PORT_FEATURE_NAMES)}\n`;
  s += `     speed: ${Math.floor(p.currSpeed / 1000)} Mbps now, ${Math.floor(p.maxSpeed / 1000)} Mbps max\n`;
  return s;
}

/** ofputil_phy_ports_format: sorted by port number; a port OVS cannot number ends the list with its error. */
function formatPorts(ports: Port[], s: { text: string }): string | void {
  const decoded: [Port, number][] = [];
  let error: string | undefined;
  for (const p of ports) {
    try {
      decoded.push([p, port16(p.portNo)]);
    } catch (e) {
      error = (e as Error).message;
      break;
    }
  }
  decoded.sort((a, b) => a[1] - b[1]);
  for (const [p, p16] of decoded) s.text += formatPort(p, p16);
  return error;
}

/** Port counters; all ones means the switch does not count it (spec 7.3.5.6): "?". */
const counters = (list: readonly (readonly [string, bigint])[]) =>
  list.map(([name, v]) => `${name}=${v === 0xffffffffffffffffn ? '?' : v}`).join(', ');

const GROUP_NAMES: Record<number, string> = { 0xfffffffc: 'ALL', 0xffffffff: 'ANY' };

function meterName(id: number, sep: string): string {
  const name = id <= 0xffff0000 ? String(id) : ({ 0xfffffffd: 'slowpath', 0xfffffffe: 'controller', 0xffffffff: 'all' }[id] ?? 'unknown');
  return `meter${sep}${name}`;
}

/** OpenFlow 1.3 action bits (OFPAT_*) in the order and with the names OVS prints them (ofpact_bitmap_format). */
const ACTION_BITS: [number, string][] = [
  [0, 'output'], [22, 'group'], [25, 'set_field'], [18, 'strip_vlan'], [17, 'push_vlan'], [23, 'mod_nw_ttl'],
  [24, 'dec_ttl'], [15, 'set_mpls_ttl'], [16, 'dec_mpls_ttl'], [19, 'push_mpls'], [20, 'pop_mpls'], [21, 'set_queue'],
];

function actionBits(bits: number): string {
  const names = ACTION_BITS.filter(([bit]) => (bits >>> bit) & 1).map(([, name]) => name);
  return names.length ? names.join(' ') : '<none>';
}

/** ds_put_printable: printable ASCII as it is, other bytes (and \ and ") as octal escapes. */
function printable(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += c < 0x20 || c > 0x7e || c === 0x5c || c === 0x22 ? `\\${c.toString(8).padStart(3, '0')}` : String.fromCharCode(c);
  return s;
}

// ---- table features (ofputil_decode_table_features, ofputil_table_features_format) ---

/** OVS's field ids (meta-flow order) and names, and the id each OXM/NXM header stands for. */
const OVS_FIELD_NAMES: string[] = [];
const OVS_FIELD_BY_HEADER = new Map<string, { id: number; length: number; anyLength: boolean }>();
OVS_FIELDS.forEach((row, id) => {
  const [name, ...headers] = row.split(' ');
  const anyLength = name.endsWith('*');
  OVS_FIELD_NAMES.push(anyLength ? name.slice(0, -1) : name);
  for (const h of headers) {
    const [cls, field, length] = h.split(':');
    OVS_FIELD_BY_HEADER.set(`${cls}:${field}`, { id, length: Number(length), anyLength });
  }
});

/** A set of things as the bits of a bigint: fields by OVS id, next tables by number. */
type Bits = bigint;
const bit = (i: number): Bits => 1n << BigInt(i);

/** What a table can do on a hit or on a miss, as OVS abstracts it. */
interface ActionFeatures {
  /** OFPAT_* bits OVS knows (ACTION_BITS). */
  actions: number;
  setFields: Bits;
}
interface InstructionFeatures {
  next: Bits;
  /** OVS's instruction numbers (OVS_INSTRUCTIONS). */
  instructions: number;
  write: ActionFeatures;
  apply: ActionFeatures;
}
interface Features {
  tableId: number;
  name: string;
  metadataMatch: bigint;
  metadataWrite: bigint;
  maxEntries: number;
  nonmiss: InstructionFeatures;
  miss: InstructionFeatures;
  match: Bits;
  mask: Bits;
  wildcard: Bits;
}

/** OVS numbers instructions in its own order: meter first. Index: OFPIT code; value: OVS's number. */
const OVS_INSTRUCTIONS: Record<number, number> = { 6: 0, 4: 1, 5: 2, 3: 3, 2: 4, 1: 5 };
const INSTRUCTION_NAMES = ['meter', 'apply_actions', 'clear_actions', 'write_actions', 'write_metadata', 'goto_table'];
const KNOWN_ACTIONS = ACTION_BITS.reduce((m, [b]) => m | (1 << b), 0);
/** Properties OpenFlow 1.3 requires once each: the non-miss ones (even codes 0..14). */
const REQUIRED_PROPS = 0x5555;

/** A table OVS would not decode; the message is OVS's error name. */
export class FeaturesError extends Error {}

/** The OVS ids of an OXM id list: [exact, masked]; ids of fields OVS does not know are skipped. */
function ovsFields(ids: readonly OxmId[]): [Bits, Bits] {
  let exact = 0n;
  let masked = 0n;
  for (const h of ids) {
    const experimenter = h.oxmClass === OFPXMC_EXPERIMENTER;
    const extra = experimenter ? 4 : 0;
    if (h.length < extra) throw new FeaturesError('OFPBMC_BAD_LEN');
    const payload = h.length - extra;
    const length = (h.hasMask ? Math.floor(payload / 2) : payload) + extra;
    const key = `${h.oxmClass.toString(16)}${experimenter ? `.${(h.experimenter ?? 0).toString(16)}` : ''}:${h.oxmField}`;
    const f = OVS_FIELD_BY_HEADER.get(key);
    if (!f || (f.length !== length && !f.anyLength)) continue;
    if (h.hasMask) masked |= bit(f.id);
    else exact |= bit(f.id);
  }
  return [exact, masked];
}

function exactFields(ids: readonly OxmId[]): Bits {
  const [exact, masked] = ovsFields(ids);
  if (masked) throw new FeaturesError('OFPBMC_BAD_MASK');
  return exact;
}

const emptyActions = (): ActionFeatures => ({ actions: 0, setFields: 0n });
const emptyInstructions = (): InstructionFeatures => ({ next: 0n, instructions: 0, write: emptyActions(), apply: emptyActions() });

/** A table as OVS reads it (loosely, as a controller: what it does not know is skipped). */
function ovsFeatures(t: TableFeatures): Features {
  if (t.tableId === 0xff) throw new FeaturesError('OFPTFFC_BAD_TABLE');
  const nameBytes = new Uint8Array(32);
  writeStr(nameBytes, 0, 32, t.name);
  const f: Features = {
    tableId: t.tableId,
    name: readStr(nameBytes, 0, 31),
    metadataMatch: t.metadataMatch,
    metadataWrite: t.metadataWrite,
    maxEntries: t.maxEntries,
    nonmiss: emptyInstructions(),
    miss: emptyInstructions(),
    match: 0n,
    mask: 0n,
    wildcard: 0n,
  };
  let seen = 0;
  for (const p of t.properties) {
    const code = TABLE_FEATURE_PROPS[p.type][0];
    if (code < 32) {
      if (seen & (1 << code)) throw new FeaturesError('OFPTFFC_BAD_FEATURES');
      seen |= 1 << code;
    }
    const tif = code & 1 ? f.miss : f.nonmiss;
    switch (p.type) {
      case 'instructions':
      case 'instructions_miss':
        for (const id of p.instructionIds) {
          const inst = OVS_INSTRUCTIONS[id.type === 'unknown' ? id.code : instructionId.codes[id.type]];
          if (inst !== undefined) tif.instructions |= 1 << inst;
        }
        break;
      case 'next_tables':
      case 'next_tables_miss':
        for (const id of p.tableIds) {
          if (id >= 255) throw new FeaturesError('OFPBPC_BAD_VALUE');
          tif.next |= bit(id);
        }
        break;
      case 'write_actions':
      case 'write_actions_miss':
      case 'apply_actions':
      case 'apply_actions_miss': {
        let bits = 0;
        for (const id of p.actionIds) {
          const c = id.type === 'unknown' ? id.code : actionId.codes[id.type];
          if (c < 32) bits |= 1 << c;
        }
        tif[p.type.startsWith('write') ? 'write' : 'apply'].actions = bits & KNOWN_ACTIONS;
        break;
      }
      case 'match':
        [f.match, f.mask] = ovsFields(p.oxmIds);
        break;
      case 'wildcards':
        f.wildcard = exactFields(p.oxmIds);
        break;
      case 'write_setfield':
      case 'write_setfield_miss':
        tif.write.setFields = exactFields(p.oxmIds);
        break;
      case 'apply_setfield':
      case 'apply_setfield_miss':
        tif.apply.setFields = exactFields(p.oxmIds);
        break;
      case 'experimenter_miss':
        // Type 0xffff is read as an experimenter property (experimenter 0 refused), whose type OVS
        // then cuts to its exp_type: the data is read as the property of that type, if it is one.
        if (p.experimenter === 0) throw new FeaturesError('OFPBPC_BAD_EXPERIMENTER');
        rawProperty(f, p.expType, p.data);
        break;
      default:
        break;
    }
  }
  if ((seen & REQUIRED_PROPS) !== REQUIRED_PROPS) throw new FeaturesError('OFPTFFC_BAD_FEATURES');
  // A miss property left out is the same as its non-miss one.
  const { nonmiss, miss } = f;
  if (!(seen & (1 << 1))) miss.instructions = nonmiss.instructions;
  if (!(seen & (1 << 3))) miss.next = nonmiss.next;
  if (!(seen & (1 << 5))) miss.write.actions = nonmiss.write.actions;
  if (!(seen & (1 << 7))) miss.apply.actions = nonmiss.apply.actions;
  if (!(seen & (1 << 13))) miss.write.setFields = nonmiss.write.setFields;
  if (!(seen & (1 << 15))) miss.apply.setFields = nonmiss.apply.setFields;
  // Maskable fields are matchable and can be wildcarded; only matchable fields can be.
  f.match |= f.mask;
  f.wildcard = (f.wildcard | f.mask) & f.match;
  return f;
}

/** The TLV ids of an id list in raw bytes (4-byte headers, any length from 4 up): their types. */
function rawIds(data: Uint8Array): number[] {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const types: number[] = [];
  for (let at = 0; at < data.length; ) {
    if (data.length - at < 4) throw new FeaturesError('OFPBPC_BAD_LEN');
    const length = v.getUint16(at + 2);
    if (length < 4 || length > data.length - at) throw new FeaturesError('OFPBPC_BAD_LEN');
    types.push(v.getUint16(at));
    at += length;
  }
  return types;
}

/** OXM ids in raw bytes. */
function rawOxmIds(data: Uint8Array): OxmId[] {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const ids: OxmId[] = [];
  for (let at = 0; at < data.length; ) {
    if (data.length - at < 4) throw new FeaturesError('OFPBMC_BAD_LEN');
    const h = v.getUint32(at);
    const id: OxmId = { oxmClass: h >>> 16, oxmField: (h >>> 9) & 0x7f, hasMask: (h & 0x100) !== 0, length: h & 0xff };
    if (id.oxmClass === OFPXMC_EXPERIMENTER) {
      if (data.length - at < 8) throw new FeaturesError('OFPBMC_BAD_LEN');
      id.experimenter = v.getUint32(at + 4);
      if (id.length < 4) throw new FeaturesError('OFPBMC_BAD_LEN');
      at += 8;
    } else {
      at += 4;
    }
    ids.push(id);
  }
  return ids;
}

/** A property of type `code` (an experimenter property's exp_type) from raw bytes, as OVS reads it. */
function rawProperty(f: Features, code: number, data: Uint8Array): void {
  const tif = code & 1 ? f.miss : f.nonmiss;
  switch (code) {
    case 0:
    case 1:
      tif.instructions = 0;
      for (const type of rawIds(data)) if (OVS_INSTRUCTIONS[type] !== undefined) tif.instructions |= 1 << OVS_INSTRUCTIONS[type];
      break;
    case 2:
    case 3:
      tif.next = 0n;
      for (const id of data) {
        if (id >= 255) throw new FeaturesError('OFPBPC_BAD_VALUE');
        tif.next |= bit(id);
      }
      break;
    case 4:
    case 5:
    case 6:
    case 7: {
      const bits = rawIds(data).reduce((m, type) => (type < 32 ? m | (1 << type) : m), 0);
      tif[code < 6 ? 'write' : 'apply'].actions = bits & KNOWN_ACTIONS;
      break;
    }
    case 8:
      [f.match, f.mask] = ovsFields(rawOxmIds(data));
      break;
    case 10:
      f.wildcard = exactFields(rawOxmIds(data));
      break;
    case 12:
    case 13:
      tif.write.setFields = exactFields(rawOxmIds(data));
      break;
    case 14:
    case 15:
      tif.apply.setFields = exactFields(rawOxmIds(data));
      break;
    default:
      break;
  }
}

const sameActions = (a: ActionFeatures, b: ActionFeatures) => a.actions === b.actions && a.setFields === b.setFields;
const noActions = (a: ActionFeatures) => !a.actions && !a.setFields;

/**
 * Next tables, where a table that follows the other by one may list that other table
 * (which the other cannot list itself: goto_table only goes forward) and still be the same.
 */
function sameNext(a: Bits, aId: number, b: Bits, bId: number): boolean {
  if (bId === aId + 1 && a & bit(bId) && !(b & bit(bId))) return ((a ^ b) & ~bit(bId)) === 0n;
  if (aId === bId + 1) return sameNext(b, bId, a, aId);
  return a === b;
}

const sameInstructions = (a: InstructionFeatures, aId: number, b: InstructionFeatures, bId: number) =>
  sameNext(a.next, aId, b.next, bId) && a.instructions === b.instructions && sameActions(a.write, b.write) && sameActions(a.apply, b.apply);
const noInstructions = (t: InstructionFeatures) => !t.next && !t.instructions && noActions(t.write) && noActions(t.apply);

const sameFeatures = (a: Features, b: Features) =>
  a.metadataMatch === b.metadataMatch &&
  a.metadataWrite === b.metadataWrite &&
  a.maxEntries === b.maxEntries &&
  sameInstructions(a.nonmiss, a.tableId, b.nonmiss, b.tableId) &&
  sameInstructions(a.miss, a.tableId, b.miss, b.tableId) &&
  a.match === b.match;

/** The length of the common prefix of a and b that ends in "_" (0: none). */
function commonPrefix(a: string, b: string): number {
  let n = 0;
  for (let i = 0; i < a.length && a[i] === b[i]; i++) if (a[i] === '_') n = i + 1;
  return n;
}

/** "reg0", "reg1": the same but for a number one larger at the end. */
function sequential(a: string, b: string): boolean {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  if (i === a.length && i === b.length) return false;
  const x = a.slice(i);
  const y = b.slice(i);
  const digits = /^[0-9]+$/;
  return digits.test(x) && digits.test(y) && x.length < 10 && y.length < 10 && Number(x) + 1 === Number(y);
}

/**
 * Names with OVS's two abbreviations: a run with a common prefix ending in "_" as
 * prefix{a,b,...} (nested), and a run of numbered names as first...last.
 */
function abbreviate(names: string[], prefix: number): string {
  const out: string[] = [];
  let rest = names;
  while (rest.length) {
    let prefixRun = rest.length < 2 ? rest.length : 1;
    let extra = 0;
    if (rest.length >= 2) {
      extra = commonPrefix(rest[0].slice(prefix), rest[1].slice(prefix));
      if (extra) {
        prefixRun = 2;
        while (prefixRun < rest.length && commonPrefix(rest[0].slice(prefix), rest[prefixRun].slice(prefix))) prefixRun++;
      }
    }
    let suffixRun = 1;
    while (suffixRun < rest.length && sequential(rest[suffixRun - 1], rest[suffixRun])) suffixRun++;
    if (suffixRun === 2) suffixRun = 1; // "x0...x1" says no more than "x0 x1"
    const run = Math.max(prefixRun, suffixRun);
    if (suffixRun >= prefixRun) {
      out.push(rest[0].slice(prefix) + (run > 1 ? `...${rest[run - 1].slice(prefix)}` : ''));
    } else {
      out.push(`${rest[0].slice(prefix, prefix + extra)}{${abbreviate(rest.slice(0, run), prefix + extra)}}`);
    }
    rest = rest.slice(run);
  }
  return out.join(prefix ? ',' : ' ');
}

function fieldNames(bits: Bits): string {
  const names = OVS_FIELD_NAMES.filter((_, i) => bits & bit(i));
  return names.length ? ` ${abbreviate(names, 0)}` : '';
}

function actionFeatures(a: ActionFeatures): string {
  let s = '';
  if (a.actions) s += `        actions: ${actionBits(a.actions)}\n`;
  if (a.setFields) s += `        supported on Set-Field:${fieldNames(a.setFields)}\n`;
  return s;
}

function instructionFeatures(t: InstructionFeatures, prev: InstructionFeatures | undefined): string {
  let s = '';
  if (t.next) {
    const ranges: string[] = [];
    for (let start = 0; start < 255; start++) {
      if (!(t.next & bit(start))) continue;
      let end = start;
      while (end + 1 < 255 && t.next & bit(end + 1)) end++;
      ranges.push(end === start ? `${start}` : `${start}-${end}`);
      start = end;
    }
    s += `      next tables: ${ranges.join(',')}\n`;
  }
  if (t.instructions) {
    if (prev && t.instructions === prev.instructions) s += '      (same instructions)\n';
    else s += `      instructions: ${INSTRUCTION_NAMES.filter((_, i) => (t.instructions >> i) & 1).join(' ')}\n`;
  }
  if (prev && sameActions(t.write, prev.write) && sameActions(t.apply, prev.apply) && t.write.setFields) {
    s += '      (same actions)\n';
  } else if (!sameActions(t.write, t.apply)) {
    s += `      Write-Actions features:\n${actionFeatures(t.write)}      Apply-Actions features:\n${actionFeatures(t.apply)}`;
  } else if (!noActions(t.write)) {
    s += `      Write-Actions and Apply-Actions features:\n${actionFeatures(t.write)}`;
  }
  return s;
}

/**
 * ovs-ofctl's text of table features, table by table: a table with no name that repeats
 * the one before is not printed but gathered into "tables N...M: ditto". ovs-ofctl's
 * dump-table-features keeps the table before and the run of dittos from one reply
 * message to the next, so one printer serves every message of a reply.
 */
export class TableFeaturesText {
  private prev?: Features;
  private firstDitto = -1;
  private lastDitto = -1;
  text = '';

  /** Adds the tables of one message; throws a FeaturesError (its message: OVS's error name) for one OVS would not decode. */
  add(tables: readonly TableFeatures[]): void {
    for (const t of tables) {
      let f: Features;
      try {
        f = ovsFeatures(t);
      } catch (e) {
        this.finish();
        throw e;
      }
      this.table(f);
      this.prev = f;
    }
  }

  /** Prints the run of dittos still open. */
  finish(): void {
    if (this.firstDitto < 0) return;
    const [first, last] = [this.firstDitto, this.lastDitto];
    this.text += first === last ? `\n  table ${first}: ditto\n` : `\n  tables ${first}...${last}: ditto\n`;
    this.firstDitto = -1;
  }

  private table(f: Features): void {
    const prev = this.prev;
    const same = prev !== undefined && sameFeatures(f, prev);
    if (same && !f.name) {
      if (this.firstDitto < 0) this.firstDitto = f.tableId;
      this.lastDitto = f.tableId;
      return;
    }
    this.finish();
    let s = `\n  table ${f.tableId}${f.name ? ` ("${f.name}")` : ''}:`;
    if (same) {
      this.text += s + ' ditto';
      return;
    }
    s += '\n';
    if (f.metadataMatch || f.metadataWrite) s += `    metadata: match=${hex0x(f.metadataMatch)} write=${hex0x(f.metadataWrite)}\n`;
    if (f.maxEntries) s += `    max_entries=${f.maxEntries}\n`;
    const prevId = prev ? prev.tableId : 0;
    if (prev && sameInstructions(f.nonmiss, f.tableId, prev.nonmiss, prevId) && sameInstructions(f.miss, f.tableId, prev.miss, prevId)) {
      if (!noInstructions(f.nonmiss)) s += '    (same instructions)\n';
    } else if (!sameInstructions(f.nonmiss, f.tableId, f.miss, f.tableId)) {
      s += `    instructions (other than table miss):\n${instructionFeatures(f.nonmiss, prev?.nonmiss)}`;
      s += `    instructions (table miss):\n${instructionFeatures(f.miss, prev?.miss)}`;
    } else if (!noInstructions(f.nonmiss)) {
      s += `    instructions (table miss and others):\n${instructionFeatures(f.nonmiss, prev?.nonmiss)}`;
    }
    if (f.match) {
      if (prev && f.match === prev.match) {
        s += '    (same matching)\n';
      } else {
        s += '    matching:\n';
        const kinds: [string, Bits][] = [
          ['arbitrary mask', f.mask & f.wildcard],
          ['exact match or wildcard', ~f.mask & f.wildcard],
          ['must exact match', ~f.mask & ~f.wildcard],
        ];
        for (const [title, bits] of kinds) if (f.match & bits) s += `      ${title}:${fieldNames(f.match & bits)}\n`;
      }
    }
    this.text += s;
  }
}

/** C's %#x: 0x and the hex digits, "0" for zero. */
const hex0x = (v: bigint) => (v ? `0x${v.toString(16)}` : '0');

// ---- the printers, one per message ------------------------------------------------

const nothing = () => {};

const switchConfig = (m: MessageOf<'get_config_reply'> | MessageOf<'set_config'>, s: { text: string }) => {
  // A set-config with flags 1.3 does not define is refused; a reply is printed regardless.
  if (m.type === 'set_config' && m.flags & ~3) return 'OFPSCFC_BAD_FLAGS';
  const frag = ['normal', 'drop', 'reassemble', 'nx-match'][m.flags & 3];
  s.text += ` frags=${frag} miss_send_len=${m.missSendLen}\n`;
};

/** ofp_print_echo: the payload's length, and its bytes from verbosity 2. */
function echoPayload(m: MessageOf<'echo_request' | 'echo_reply'>, s: Out) {
  s.text += ` ${m.data.length} bytes of payload\n`;
  if (m.data.length && s.verbosity > 1) s.text += hexDump(m.data) + '\n';
}

/** ofputil_flow_stats_request_format: table and out_port when set, then the match (no cookie, no out_group). */
function flowStatsRequest(m: MessageOf<'flow_stats_request' | 'aggregate_stats_request'>, s: { text: string }) {
  const bad = ovsMatchError(m.match);
  if (bad) return bad;
  if (m.tableId !== 0xff) s.text += ` table=${m.tableId}`;
  if (m.outPort !== OFPP_ANY) s.text += ` out_port=${portName(port16(m.outPort))}`;
  s.text += ` ${formatMatch(m.match)}`;
}

/** OVS refuses an instruction list that names one instruction twice. */
function instructionError(instructions: readonly { type: string }[]): string | undefined {
  const seen = new Set(instructions.map((i) => i.type));
  return seen.size < instructions.length ? 'OFPBIC_DUP_INST' : undefined;
}

/** ofputil_check_group_mod: OVS refuses what a group of its type cannot have. */
function groupModError(m: MessageOf<'group_mod'>): string | undefined {
  if (m.groupType > 3) return 'OFPGMFC_BAD_TYPE';
  if (m.command > 2) return 'OFPGMFC_BAD_COMMAND';
  if (m.groupType === 2 && m.command !== 2 && m.buckets.length !== 1) return 'OFPGMFC_INVALID_GROUP';
  for (const b of m.buckets) {
    if (b.weight && m.groupType !== 1) return 'OFPGMFC_INVALID_GROUP';
    const live = b.watchPort !== OFPP_ANY || b.watchGroup !== 0xffffffff;
    if (live && (m.groupType === 0 || m.groupType === 2)) return 'OFPGMFC_WATCH_UNSUPPORTED';
    if (!live && m.groupType === 3) return 'OFPGMFC_INVALID_GROUP';
  }
}

const OFPP_ANY = 0xffffffff;
const OFP_NO_BUFFER = 0xffffffff;
const FLOW_REMOVED_REASONS = ['idle', 'hard', 'delete', 'group_delete', 'meter_delete', 'eviction'];
const PACKET_IN_REASONS = ['no_match', 'action', 'invalid_ttl', 'action_set', 'group', 'packet_out'];
const queueName = (q: number) => (q === 0xffffffff ? 'ALL' : String(q));

function tableFeatures(m: MessageOf<'table_features_request' | 'table_features_reply'>, s: { text: string }): string | void {
  const t = new TableFeaturesText();
  try {
    t.add(m.tables);
    t.finish();
  } catch (e) {
    if (!(e instanceof FeaturesError)) throw e;
    return e.message;
  } finally {
    s.text += t.text;
  }
}

const PRINTERS: { [K in MessageType]?: Printer<K> } = {
  error(m, s) {
    // OVS knows no experimenter errors but its own (ONF's bundle errors among them), and no code outside the spec's tables.
    const name =
      m.errType === OFPET_EXPERIMENTER
        ? m.experimenter === ONF_EXPERIMENTER
          ? errorName({ type: m.errType, code: m.code, experimenter: m.experimenter }).split('/')[1]
          : undefined
        : errorCodeName(m.errType, m.code);
    if (name === undefined || !name.startsWith('OFP')) return 'OFPBRC_BAD_LEN';
    s.text += ` ${name}\n`;
    s.text += m.errType === 0 ? printable(m.data) : embedded(m.data);
  },

  // ONF's bundle messages (the only experimenter messages ofpPrint takes): as OVS's ofputil_format_bundle_*.
  experimenter(m, s) {
    const control = m.expType === ONFT.BUNDLE_CONTROL;
    const r = control ? decodeBundleControl(m.data) : decodeBundleAdd(m.data);
    if (!r.ok) return 'OFPBRC_BAD_LEN';
    // C's %#x: no 0x for zero.
    s.text += `\n bundle_id=${r.value.bundleId ? `0x${r.value.bundleId.toString(16)}` : '0'}`;
    if ('ctrlType' in r.value) s.text += ` type=${BUNDLE_CONTROL_NAMES[r.value.ctrlType] ?? ''}`;
    s.text += ` flags=${bitNames(r.value.flags, BUNDLE_FLAG_NAMES)}\n`;
    if ('message' in r.value) {
      const inner = decodeMessage(r.value.message);
      s.text += inner.ok ? formatMessage(inner.msg, s.verbosity) : `***decode error: ${errorCodeName(inner.error.type, inner.error.code)}***\n${hexDump(r.value.message)}`;
    }
  },

  echo_request: echoPayload,
  echo_reply: echoPayload,

  features_request: nothing,
  features_reply(m, s) {
    s.text += ` dpid:${m.datapathId.toString(16).padStart(16, '0')}\n`;
    s.text += `n_tables:${m.nTables}, n_buffers:${m.nBuffers}`;
    if (m.auxiliaryId) s.text += `, auxiliary_id:${m.auxiliaryId}`;
    // OVS's capability bits are OpenFlow 1.0's: GROUP_STATS (1.3's bit 3) is its bit 4.
    const caps = (m.capabilities & 0x167) | (m.capabilities & 8 ? 0x10 : 0);
    s.text += `\ncapabilities: ${bitNames(caps, CAPABILITY_NAMES)}\n`;
  },

  get_config_request: nothing,
  get_config_reply: switchConfig,
  set_config: switchConfig,

  port_status(m, s) {
    const reason = ['ADD', 'DEL', 'MOD'][m.reason];
    if (reason === undefined) return 'NXBRC_BAD_REASON';
    const p16 = port16(m.desc.portNo);
    s.text += ` ${reason}:${formatPort(m.desc, p16)}`;
  },

  port_desc_request(_m, s) {
    s.text += ' port=ANY';
  },
  port_desc_reply(m, s) {
    s.text += '\n';
    return formatPorts(m.ports, s);
  },

  port_stats_request(m, s) {
    s.text += ` port_no=${portName(port16(m.portNo))}`;
  },
  port_stats_reply(m, s) {
    // The count is of the ports OVS can number, up to the first it cannot.
    const bad = m.stats.findIndex((p) => p.portNo >= 0xff00 && p.portNo < 0xffffff00);
    s.text += ` ${bad < 0 ? m.stats.length : bad} ports\n`;
    for (const p of m.stats) {
      const p16 = port16(p.portNo);
      const rx = [['pkts', p.rxPackets], ['bytes', p.rxBytes], ['drop', p.rxDropped], ['errs', p.rxErrors], ['frame', p.rxFrameErr], ['over', p.rxOverErr], ['crc', p.rxCrcErr]] as const;
      const tx = [['pkts', p.txPackets], ['bytes', p.txBytes], ['drop', p.txDropped], ['errs', p.txErrors], ['coll', p.collisions]] as const;
      s.text += `  port ${p16 < 10 ? ' ' : ''}${portName(p16)}: rx ${counters(rx)}\n           tx ${counters(tx)}\n`;
      if (p.durationSec !== 0xffffffff) s.text += `           duration=${formatDuration(p.durationSec, p.durationNsec)}\n`;
    }
  },

  table_stats_request: nothing,
  // OpenFlow 1.3's table stats carry no features, so every table after the first has the same (none):
  // a run of tables whose counters repeat the one before is printed as "ditto".
  table_stats_reply(m, s) {
    let first = -1;
    let last = -1;
    const finish = () => {
      if (first < 0) return;
      s.text += first === last ? `\n  table ${first}: ditto\n` : `\n  tables ${first}...${last}: ditto\n`;
    };
    m.stats.forEach((t, i) => {
      const prev = m.stats[i - 1];
      if (prev && t.activeCount === prev.activeCount && t.lookupCount === prev.lookupCount && t.matchedCount === prev.matchedCount) {
        if (first < 0) first = t.tableId;
        last = t.tableId;
        return;
      }
      finish();
      first = -1;
      s.text += `\n  table ${t.tableId}:\n    active=${t.activeCount}, lookup=${t.lookupCount}, matched=${t.matchedCount}\n`;
    });
    finish();
  },

  group_stats_request(m, s) {
    s.text += ` group_id=${GROUP_NAMES[m.groupId] ?? m.groupId}`;
  },
  group_stats_reply(m, s) {
    for (const g of m.stats) {
      s.text += `\n group_id=${g.groupId},duration=${formatDuration(g.durationSec, g.durationNsec)},ref_count=${g.refCount},packet_count=${g.packetCount},byte_count=${g.byteCount}`;
      g.bucketStats.forEach((b, i) => {
        if (b.packetCount !== 0xffffffffffffffffn) s.text += `,bucket${i}:packet_count=${b.packetCount},byte_count=${b.byteCount}`;
      });
    }
  },

  group_features_request: nothing,
  group_features_reply(m, s) {
    s.text += `\n Group table:\n    Types:  0x${m.types.toString(16)}\n    Capabilities:  0x${m.capabilities.toString(16)}\n`;
    ['all', 'select', 'indirect', 'fast failover'].forEach((name, i) => {
      if (!((m.types >>> i) & 1)) return;
      const max = m.maxGroups[i];
      s.text += `    ${name} group:\n       max_groups=${max ? `0x${max.toString(16)}` : '0'}\n       actions: ${actionBits(m.actions[i])}\n`;
    });
  },

  meter_stats_request(m, s) {
    s.text += ` ${meterName(m.meterId, '=')}`;
  },
  meter_stats_reply(m, s) {
    for (const ms of m.stats) {
      s.text += `\n${meterName(ms.meterId, ':')} flow_count:${ms.flowCount} packet_in_count:${ms.packetInCount} byte_in_count:${ms.byteInCount} duration:${formatDuration(ms.durationSec, ms.durationNsec)} bands:\n`;
      ms.bandStats.forEach((b, i) => (s.text += `${i}: packet_count:${b.packetBandCount} byte_count:${b.byteBandCount}\n`));
    }
  },

  meter_features_request: nothing,
  meter_features_reply(m, s) {
    s.text += `\nmax_meter:${m.maxMeter} max_bands:${m.maxBands} max_color:${m.maxColor}\n`;
    s.text += `band_types: ${bitNames(m.bandTypes, { 2: 'drop', 4: 'dscp_remark' })}\n`;
    s.text += `capabilities: ${bitNames(m.capabilities, { 1: 'kbps', 2: 'pktps', 4: 'burst', 8: 'stats' })}\n`;
  },

  // The flow, group and meter messages: their flows, groups and meters are the text syntax's
  // (text.ts), so dump-flows lines, flow_mods and add-flows input are written in one place.
  flow_mod(m, s) {
    const bad = ovsMatchError(m.match) ?? instructionError(m.instructions);
    if (bad) return bad;
    s.text += ` ${formatFlowMod(m)}`;
  },

  flow_removed(m, s) {
    const bad = ovsMatchError(m.match);
    if (bad) return bad;
    s.text += ` ${formatMatch(m.match, m.priority)} reason=${FLOW_REMOVED_REASONS[m.reason] ?? m.reason}`;
    if (m.tableId !== 0xff) s.text += ` table_id=${m.tableId}`;
    if (m.cookie !== 0n) s.text += ` cookie:0x${m.cookie.toString(16)}`;
    s.text += ` duration${formatDuration(m.durationSec, m.durationNsec)} idle${m.idleTimeout}`;
    if (m.hardTimeout) s.text += ` hard${m.hardTimeout}`;
    s.text += ` pkts${m.packetCount} bytes${m.byteCount}\n`;
  },

  flow_stats_request: flowStatsRequest,
  flow_stats_reply(m, s) {
    for (const f of m.stats) {
      const bad = ovsMatchError(f.match) ?? instructionError(f.instructions);
      if (bad) return bad;
      s.text += `\n ${formatFlowStats(f)}`;
    }
  },

  aggregate_stats_request: flowStatsRequest,
  aggregate_stats_reply(m, s) {
    s.text += ` packet_count=${m.packetCount} byte_count=${m.byteCount} flow_count=${m.flowCount}`;
  },

  queue_stats_request(m, s) {
    s.text += ` port=${portName(port16(m.portNo))} queue=${queueName(m.queueId)}`;
  },
  queue_stats_reply(m, s) {
    s.text += ` ${m.stats.length} queues\n`;
    for (const q of m.stats) {
      const stat = (v: bigint) => (v === 0xffffffffffffffffn ? '?' : String(v));
      s.text += `  port ${portName(port16(q.portNo))} queue ${queueName(q.queueId)}: bytes=${stat(q.txBytes)}, pkts=${stat(q.txPackets)}, errors=${stat(q.txErrors)}, `;
      s.text += `duration=${q.durationSec === 0xffffffff ? '?' : formatDuration(q.durationSec, q.durationNsec)}\n`;
    }
  },

  group_mod(m, s) {
    const bad = groupModError(m);
    if (bad) return bad;
    s.text += `\n ${formatGroupMod(m)}`;
  },
  group_desc_request(_m, s) {
    s.text += ' group_id=ALL';
  },
  group_desc_reply(m, s) {
    for (const g of m.stats) s.text += `\n ${formatGroup(g)}`;
  },

  meter_mod(m, s) {
    if (m.bands.some((b) => b.type === 'experimenter')) return 'OFPMMFC_BAD_BAND';
    s.text += ` ${formatMeterMod(m)}`;
  },
  meter_config_request(m, s) {
    s.text += ` ${meterName(m.meterId, '=')}`;
  },
  meter_config_reply(m, s) {
    for (const mc of m.stats) {
      if (mc.bands.some((b) => b.type === 'experimenter')) return 'OFPMMFC_BAD_BAND';
      s.text += `\n${formatMeter(mc)}\n`;
    }
  },

  // The frame is summarised on a line of its own (even no frame at all, for a packet-in).
  packet_in(m, s) {
    const bad = ovsMatchError(m.match);
    if (bad) return bad;
    if (m.tableId) s.text += ` table_id=${m.tableId}`;
    if (m.cookie !== 0xffffffffffffffffn) s.text += ` cookie=0x${m.cookie.toString(16)}`;
    s.text += ` total_len=${m.totalLen} ${formatMatch(m.match)} (via ${PACKET_IN_REASONS[m.reason] ?? m.reason}) data_len=${m.data.length}`;
    if (m.bufferId === OFP_NO_BUFFER) {
      s.text += ' (unbuffered)';
      if (m.totalLen !== m.data.length) s.text += ' (***total_len != data_len***)';
    } else {
      s.text += ` buffer=0x${m.bufferId.toString(16).padStart(8, '0')}`;
      if (m.totalLen < m.data.length) s.text += ' (***total_len < data_len***)';
    }
    s.text += '\n';
    if (s.verbosity > 0) s.text += formatFrame(m.data) + '\n';
    if (s.verbosity > 2) s.text += frameDump(m.data);
  },
  packet_out(m, s) {
    s.text += ` ${formatMatch([{ field: 'in_port', value: m.inPort }])} actions=${formatActions(m.actions)}`;
    if (m.bufferId !== OFP_NO_BUFFER) {
      s.text += ` buffer=0x${m.bufferId.toString(16).padStart(8, '0')}`;
      return;
    }
    s.text += ` data_len=${m.data.length}`;
    if (s.verbosity > 0 && m.data.length) s.text += `\n${formatFrame(m.data)}\n`;
    if (s.verbosity > 2) s.text += frameDump(m.data);
  },

  // ofp-print prints a request's tables as a reply's, the dittos within the one message.
  table_features_request: tableFeatures,
  table_features_reply: tableFeatures,

  barrier_request: nothing,
  barrier_reply: nothing,
};

const CAPABILITY_NAMES = {
  1: 'FLOW_STATS',
  2: 'TABLE_STATS',
  4: 'PORT_STATS',
  0x10: 'GROUP_STATS',
  0x20: 'IP_REASM',
  0x40: 'QUEUE_STATS',
  0x100: 'PORT_BLOCKED',
};

const BUNDLE_CONTROL_NAMES = Object.fromEntries(Object.entries(OFPBCT).map(([name, v]) => [v, name])) as Record<number, string>;
const BUNDLE_FLAG_NAMES = { [OFPBF.ATOMIC]: 'atomic', [OFPBF.ORDERED]: 'ordered' };
const ONF_TITLES: Record<number, string> = { [ONFT.BUNDLE_CONTROL]: 'ONFT_BUNDLE_CONTROL', [ONFT.BUNDLE_ADD_MESSAGE]: 'ONFT_BUNDLE_ADD_MESSAGE' };

/** OVS's title of a message (ofpraw names), or undefined for an experimenter message it has no name for. */
const titleOfMessage = (msg: Message): string | undefined =>
  msg.type !== 'experimenter' ? TITLES[msg.type] : msg.experimenter === ONF_EXPERIMENTER ? ONF_TITLES[msg.expType] : undefined;

// ---- the frame OVS puts around every printer (ofp_to_string) ----------------------

/** ovs-ofctl's text of msg at a verbosity, without the final newline, or undefined for a message no printer covers yet. */
export function ofpPrint(msg: Message, verbosity: number): string | undefined {
  const printer = PRINTERS[msg.type] as Printer<MessageType> | undefined;
  const title = titleOfMessage(msg);
  if (!printer || !title) return undefined;
  // OVS's check of a message's length by its type comes before its title: a table features reply holds a table.
  if (msg.type === 'table_features_reply' && !msg.tables.length) return `***decode error: OFPBRC_BAD_LEN***\n${hexDump(encodeMessage(msg))}`;
  const s = { text: `${title} (OF1.3) (xid=0x${msg.xid.toString(16)}):`, verbosity };
  const headerLength = s.text.length;
  const flags = (msg as { flags?: number }).flags;
  if (flags && title.startsWith('OFPST')) {
    s.text += ' flags=';
    if (flags & 1) s.text += '[more]';
    if (flags & ~1) s.text += `[***unknown flags 0x${(flags & ~1).toString(16).padStart(4, '0')}***]`;
  }
  let error: string | void;
  try {
    error = printer(msg, s);
  } catch (e) {
    if (!(e instanceof Unprintable)) throw e;
    error = e.message;
  }
  let text = s.text;
  if (error) {
    text = text.length > headerLength ? newline(chompSpace(text)) : text + ' ';
    text += `***decode error: ${error}***\n` + hexDump(encodeMessage(msg)) + '\n';
  } else {
    text = chompSpace(text);
  }
  return newline(text).slice(0, -1);
}

const chompSpace = (t: string) => (t.endsWith(' ') ? t.slice(0, -1) : t);
const newline = (t: string) => (t.length && !t.endsWith('\n') ? t + '\n' : t);

/** The message an OFPT_ERROR carries back (its first bytes), printed as ofp_to_string prints it (at verbosity 1), with a newline. */
function embedded(b: Uint8Array): string {
  if (b.length === 0) return 'OpenFlow message is empty\n';
  if (b.length < 8) return `OpenFlow packet too short (only ${b.length} bytes):\n${hexDump(b)}\n`;
  const length = (b[2] << 8) | b[3];
  if (length > b.length) {
    const title = b[0] === 4 ? titleOf(b) : undefined;
    const xid = new DataView(b.buffer, b.byteOffset).getUint32(4);
    return `${title ? `${title} (OF1.3) (xid=0x${xid.toString(16)}):\n` : ''}(***truncated to ${b.length} bytes from ${length}***)\n${hexDump(b)}\n`;
  }
  if (length < b.length) return `(***only uses ${length} bytes out of ${b.length}***)\n${hexDump(b)}\n`;
  const r = decodeMessage(b);
  return r.ok ? formatMessage(r.msg, 1) + '\n' : `***decode error: ${errorCodeName(r.error.type, r.error.code)}***\n${hexDump(b)}\n`;
}

/** The title of a message from its header alone (a cut-short message). */
function titleOf(b: Uint8Array): string | undefined {
  const multipart = b[1] === 18 || b[1] === 19;
  if (multipart && b.length < 12) return undefined;
  const mp = multipart ? (b[8] << 8) | b[9] : undefined;
  const type = (Object.keys(TITLES) as MessageType[]).find((t) => {
    const info = messageInfo(t);
    return info.ofpt === b[1] && info.mp === mp;
  });
  return type && TITLES[type];
}

/** A frame's bytes as ovs-ofctl dumps them after its summary: no ASCII column, each line ending in a newline. */
function frameDump(b: Uint8Array): string {
  let text = '';
  for (let start = 0; start < b.length; start += 16) {
    let line = `${start.toString(16).padStart(8, '0')}  `;
    b.subarray(start, start + 16).forEach((x, i) => (line += x.toString(16).padStart(2, '0') + (i === 7 ? '-' : ' ')));
    // OVS trims the space after the last byte, not the '-' after an eighth.
    text += `${line.endsWith(' ') ? line.slice(0, -1) : line}\n`;
  }
  return text;
}

/**
 * The ovs-ofctl hex dump (offset, 16 bytes with a '-' after the eighth, ASCII),
 * with a caret line under the byte at `mark` when one is given.
 */
export function hexDump(b: Uint8Array, mark?: number): string {
  const lines: string[] = [];
  const rows = Math.max(1, Math.ceil(b.length / 16));
  // An offset at or past the end is marked just after the last byte.
  const markRow = mark === undefined ? -1 : Math.min(Math.floor(mark / 16), rows - 1);
  for (let row = 0; row < rows; row++) {
    const start = row * 16;
    const chunk = b.subarray(start, start + 16);
    let hex = '';
    let ascii = '';
    for (let i = 0; i < 16; i++) {
      hex += i < chunk.length ? chunk[i].toString(16).padStart(2, '0') + (i === 7 ? '-' : ' ') : '   ';
      if (i < chunk.length) ascii += chunk[i] >= 0x20 && chunk[i] < 0x7f ? String.fromCharCode(chunk[i]) : '.';
    }
    lines.push(`${start.toString(16).padStart(8, '0')}  ${hex}|${ascii.padEnd(16)}|`);
    if (row === markRow) {
      const col = Math.min(mark! - start, 16);
      lines.push(`${' '.repeat(10 + 3 * col)}^^ offset ${mark}`);
    }
  }
  return lines.join('\n');
}
