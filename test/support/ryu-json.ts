// Ryu's JSON (to_jsondict(), e.g. { "OFPFlowMod": { ... } }) against the values the
// tsof codec decodes. Ryu and its fork os-ken print messages with the same classes,
// so the Ryu vectors (test/conformance) and the live os-ken cross-check
// (test/interop) both compare through compareWithRyu() here.
//
// The comparison is strict both ways: every JSON field must land on a tsof field,
// every tsof field must be shown by Ryu or be listed as one Ryu has no field for,
// and the lengths and type codes Ryu shows are checked against the wire bytes tsof
// encodes for the value. The mapping is RULES and FAMILIES below, one row for each
// Ryu class that does not map by name alone; every other key maps
// snake_case -> camelCase. Ryu decodes Nicira and ONF extensions into named classes
// (NXActionLearn, conj_id, reg5...), but tsof keeps them opaque. For those the
// experimenter id, the subtype (the first two bytes of an NX action's data) and the
// OXM class and field (EXT_OXMS) are checked; the rest of their payload is counted
// as opaque and not compared.

import {
  action,
  actionId,
  bucket,
  encodeMessage,
  encodeValue,
  flowStats,
  helloElement,
  instruction,
  instructionId,
  match,
  MESSAGES,
  meterBand,
  OFPET_EXPERIMENTER,
  OFPXMC_EXPERIMENTER,
  OFPXMC_OPENFLOW_BASIC,
  oxm,
  oxmFieldById,
  oxmFieldInfo,
  packetQueue,
  queueProp,
  tableFeatureProp,
  tableFeatures,
  ipv6ToBytes,
  toHex,
  type Message,
  type MessageType,
  type Oxm,
} from '../../src/openflow/codec/index.ts';

/** A JSON object or a tsof value, indexed freely: the rules look into both. */
export type Obj = Record<string, any>;

/** JSON.parse that keeps integers beyond 2^53 (u64 cookies, metadata, counters) exact, as bigint. */
export function parseRyuJson(text: string): unknown {
  const BIG = '\u0000bigint:'; // a prefix no Ryu string has, written escaped into the JSON text
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c >= '0' && c <= '9') {
      let j = i;
      while (j < text.length && text[j] >= '0' && text[j] <= '9') j++;
      if (j - i > 15 && !'.eE'.includes(text[j])) {
        out += `${text.slice(last, i)}"\\u0000bigint:${text.slice(i, j)}"`;
        last = j;
      }
      i = j - 1;
    }
  }
  out += text.slice(last);
  return JSON.parse(out, (_k, v) => (typeof v === 'string' && v.startsWith(BIG) ? BigInt(v.slice(BIG.length)) : v));
}

export const u16 = (b: Uint8Array, at: number) => (b[at] << 8) | b[at + 1];
const u32 = (b: Uint8Array, at: number) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
const macText = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
const ipv4Text = (b: Uint8Array) => b.join('.');
const bitsOf = (w: number) => Array.from({ length: 32 }, (_, b) => b).filter((b) => (w >>> b) & 1);

export const isObj = (x: unknown): x is Obj =>
  typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);

// ---- OXMs ------------------------------------------------------------------------------

const NICIRA = 0x2320;
const ONF = 0x4f4e4600;
const NXM_1 = 0x0001;

/**
 * Ryu's names for the non-basic OXMs these tests meet, with the class and field
 * numbers that OVS's meta-flow.h gives them. tsof decodes them as
 * { field: 'opaque', oxmClass, oxmField, hasMask, data }.
 */
const EXT_OXMS: Record<string, { oxmClass: number; oxmField: number; kind: 'u8' | 'u32' | 'ipv4'; exp?: [id: number, expType: number] }> = {
  ...Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`reg${i}`, { oxmClass: NXM_1, oxmField: i, kind: 'u32' as const }])),
  tun_ipv4_src: { oxmClass: NXM_1, oxmField: 31, kind: 'ipv4' },
  tun_ipv4_dst: { oxmClass: NXM_1, oxmField: 32, kind: 'ipv4' },
  pkt_mark: { oxmClass: NXM_1, oxmField: 33, kind: 'u32' },
  conj_id: { oxmClass: NXM_1, oxmField: 37, kind: 'u32' },
  ct_state: { oxmClass: NXM_1, oxmField: 105, kind: 'u32' },
  ct_mark: { oxmClass: NXM_1, oxmField: 107, kind: 'u32' },
  // Ryu writes OpenFlow 1.3 pbb_uca as ONF's EXT-256 experimenter OXM (experimenter
  // id, then a 16-bit exp_type), not as OpenFlow 1.4's basic field 41.
  pbb_uca: { oxmClass: 0xffff, oxmField: 0, kind: 'u8', exp: [ONF, 2560] },
};

const be32 = (n: number) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const KIND_SIZE = { u8: 1, u32: 4, ipv4: 4 };
const readKind = (kind: keyof typeof KIND_SIZE, b: Uint8Array) =>
  b.length !== KIND_SIZE[kind] ? `${b.length} bytes` : kind === 'u8' ? b[0] : kind === 'u32' ? u32(b, 0) : ipv4Text(b);

/**
 * Ryu's name of an OXM class and field without an experimenter header: the basic or
 * EXT_OXMS name, else "field_<class << 7 | field>" as Ryu's oxx_fields.py writes
 * for numbers it has no entry for.
 */
function oxmName(oxmClass: number, oxmField: number): string {
  const basic = oxmClass === OFPXMC_OPENFLOW_BASIC ? oxmFieldById(oxmField)?.name : undefined;
  if (basic) return basic;
  const ext = Object.entries(EXT_OXMS).find(([, x]) => !x.exp && x.oxmClass === oxmClass && x.oxmField === oxmField);
  return ext?.[0] ?? `field_${(oxmClass << 7) | oxmField}`;
}

/** Value and mask halves of an OXM payload, as Ryu shows a field it has no type for: base64 bytes. */
function unknownOxm(name: string, payload: Uint8Array, hasMask: boolean): Obj {
  const width = hasMask ? payload.length / 2 : payload.length;
  return { field: name, value: payload.subarray(0, width), mask: hasMask ? payload.subarray(width) : undefined };
}

/**
 * An IPv6 address as Ryu prints it (netaddr, that is the C library's inet_ntop):
 * tsof's RFC 5952 text, except that IPv4-mapped (::ffff:0:0/96) and
 * IPv4-compatible (first six words zero, the seventh not) addresses end in a
 * dotted quad.
 */
function ipv6AsRyu(text: string): string {
  const b = ipv6ToBytes(text);
  const zeros = (n: number) => b.subarray(0, n).every((x) => x === 0);
  const mapped = zeros(10) && b[10] === 0xff && b[11] === 0xff;
  const compatible = zeros(12) && (b[12] | b[13]) !== 0;
  return mapped || compatible ? `::${mapped ? 'ffff:' : ''}${ipv4Text(b.subarray(12))}` : text;
}

/** An OXM as Ryu's OXMTlv shows it: { field, value, mask }, mask undefined when absent. */
function oxmAsRyu(o: Oxm): Obj {
  if (o.field !== 'opaque') {
    if (oxmFieldInfo(o.field)!.kind === 'ipv6') {
      return { field: o.field, value: ipv6AsRyu(o.value as string), mask: o.mask && ipv6AsRyu(o.mask as string) };
    }
    return { field: o.field, value: o.value, mask: o.mask };
  }
  for (const [name, x] of Object.entries(EXT_OXMS)) {
    const head = x.exp ? [...be32(x.exp[0]), x.exp[1] >> 8, x.exp[1] & 0xff] : [];
    if (x.oxmClass !== o.oxmClass || x.oxmField !== o.oxmField || head.some((b, i) => o.data[i] !== b)) continue;
    const payload = o.data.subarray(head.length);
    const width = o.hasMask ? payload.length / 2 : payload.length;
    return {
      field: name,
      value: readKind(x.kind, payload.subarray(0, width)),
      mask: o.hasMask ? readKind(x.kind, payload.subarray(width)) : undefined,
    };
  }
  // Ryu has no name for an experimenter OXM missing from its table (it raises KeyError).
  if (o.oxmClass === OFPXMC_EXPERIMENTER) return { field: `unnamed experimenter OXM field ${o.oxmField}`, value: o.data, mask: undefined };
  return unknownOxm(oxmName(o.oxmClass, o.oxmField), o.data, o.hasMask);
}

// ---- the rules ------------------------------------------------------------------------

/** The header fields Ryu's packet library shows for the frames in these vectors (Ethernet, IPv4, ICMP echo). */
function packetAsRyu(b: Uint8Array): Obj {
  const ethertype = u16(b, 12);
  const protocols: Obj[] = [{ ethernet: { dst: macText(b.subarray(0, 6)), src: macText(b.subarray(6, 12)), ethertype } }];
  if (ethertype !== 0x0800) return { protocols };
  const ip = b.subarray(14);
  const ihl = ip[0] & 15;
  protocols.push({
    ipv4: {
      version: ip[0] >> 4,
      header_length: ihl,
      tos: ip[1],
      total_length: u16(ip, 2),
      identification: u16(ip, 4),
      flags: ip[6] >> 5,
      offset: u16(ip, 6) & 0x1fff,
      ttl: ip[8],
      proto: ip[9],
      csum: u16(ip, 10),
      src: ipv4Text(ip.subarray(12, 16)),
      dst: ipv4Text(ip.subarray(16, 20)),
      option: ihl > 5 ? ip.subarray(20, ihl * 4) : undefined,
    },
  });
  if (ip[9] !== 1) return { protocols };
  const icmp = ip.subarray(ihl * 4, u16(ip, 2));
  const echo = { id: u16(icmp, 4), seq: u16(icmp, 6), data: icmp.subarray(8) };
  protocols.push({ icmp: { type: icmp[0], code: icmp[1], csum: u16(icmp, 2), data: { echo } } });
  return { protocols };
}

/** How one Ryu class maps onto its tsof value when snake_case -> camelCase is not enough. */
interface Rule {
  /** Ryu key -> tsof key. SELF is the tsof value itself (Ryu wraps a list that tsof keeps bare). */
  rename?: Record<string, string>;
  /**
   * Ryu keys whose expected value is computed from the tsof value (type codes, other
   * representations) or from its wire bytes.
   */
  derived?: Record<string, (v: any, wire: () => Uint8Array) => unknown>;
  /** The wire bytes of the tsof value. Ryu's len/length is the u16 at lengthAt. */
  wire?: (v: any) => Uint8Array;
  lengthAt?: number;
  /** tsof keys that the derived Ryu keys stand for. */
  covers?: string[];
  /** tsof keys that Ryu has no field for, and why. */
  tsofOnly?: Record<string, string>;
  /**
   * Ryu keys decoded from a payload that tsof keeps opaque. true means every key
   * that is not derived and has no tsof field.
   */
  opaque?: true | string[];
  /** Compare the Ryu fields with this view of the tsof value instead. */
  view?: (v: any) => Obj;
  check?: (v: any) => string | undefined;
}

const SELF = '.';

/** A TLV family: Ryu's `type` (or `property`) is the wire code of tsof's type name; len/length sits at offset 2. */
function tlv(codec: { codes: Readonly<Record<string, number>> } & Parameters<typeof encodeValue>[0], typeKey = 'type'): Rule {
  return {
    wire: (v) => encodeValue(codec, v),
    lengthAt: 2,
    derived: { [typeKey]: (v) => (v.type === 'unknown' ? v.code : codec.codes[v.type]) },
    covers: ['type'],
  };
}

/** A structure that starts a self-length at `at`. */
const sized = (wire: (v: any) => Uint8Array, at: number): Rule => ({ wire, lengthAt: at });

/** The bytes of one multipart reply entry whose codec is not exported: a one-entry reply minus its 16-byte header. */
const entryWire = (type: MessageType) => (v: unknown) =>
  encodeMessage({ type, xid: 0, flags: 0, stats: [v] } as unknown as Message).subarray(16);

const ROUND_TRIP = "not in Ryu's JSON; covered by the byte-exact round trip";

/** Every message: its name follows from the Ryu class; a multipart's `type` is the OFPMP code at byte 8. */
const messageRule = (type: MessageType): Rule => ({
  wire: (v) => encodeMessage(v),
  derived: (MESSAGES[type] as readonly unknown[]).length === 3 ? { type: (_v, wire) => u16(wire(), 8) } : {},
  covers: ['type'],
  tsofOnly: { version: ROUND_TRIP, xid: ROUND_TRIP },
});

const fromExperimenter = (id: number) => (v: { experimenter: number }) =>
  v.experimenter === id ? undefined : `experimenter 0x${v.experimenter.toString(16)}, expected 0x${id.toString(16)}`;

/** Nicira actions: the subtype is the first two bytes of tsof's data; the fields after it stay opaque. */
const nxAction: Rule = {
  ...tlv(action),
  derived: { ...tlv(action).derived, subtype: (v) => u16(v.data, 0) },
  covers: ['type', 'data'],
  opaque: true,
  check: fromExperimenter(NICIRA),
};

/** Class families, by name; the first match wins. */
const FAMILIES: [RegExp, Rule][] = [
  [/^OFPActionId$/, tlv(actionId)],
  [/^OFPInstructionId$/, tlv(instructionId)],
  [/^OFPAction/, tlv(action)],
  [/^NXAction/, nxAction],
  [/^OFPInstruction/, tlv(instruction)],
  [/^OFPMeterBand(Drop|DscpRemark|Experimenter)$/, tlv(meterBand)],
  [/^OFPQueueProp/, tlv(queueProp, 'property')],
  [/^OFPTableFeatureProp/, tlv(tableFeatureProp)],
  [/^OFPHelloElem/, tlv(helloElement)],
];

/** OXM ids in table features: Ryu names the field and gives hasmask as 0 or 1. */
const oxmId: Rule = {
  derived: { type: (v) => oxmName(v.oxmClass, v.oxmField), hasmask: (v) => Number(v.hasMask) },
  covers: ['oxmClass', 'oxmField', 'hasMask'],
};

/** The classes that need more than their family's rule. */
const RULES: Record<string, Rule> = {
  OFPErrorMsg: {
    // For OFPET_EXPERIMENTER Ryu sets code to null and gives exp_type, which tsof keeps in code.
    rename: { type: 'errType', exp_type: 'code' },
    derived: { code: (v) => (v.errType === OFPET_EXPERIMENTER ? undefined : v.code) },
    covers: ['code'],
  },
  OFPSwitchFeatures: { tsofOnly: { reserved: 'Ryu keeps it as _reserved, out of its JSON' } },
  OFPPacketOut: {
    // Ryu gives null for a packet_out without data.
    derived: { actions_len: (_v, wire) => u16(wire(), 16), data: (v) => (v.data.length ? v.data : undefined) },
    covers: ['data'],
  },
  // Ryu's class for apply, write and clear_actions shows clear_actions with an empty list, which its wire form lacks.
  OFPInstructionActions: { view: (v) => (v.type === 'clear_actions' ? { ...v, actions: [] } : v) },
  OFPGroupMod: { rename: { type: 'groupType' } },
  OFPGroupDescStats: { ...sized(entryWire('group_desc_reply'), 0), rename: { type: 'groupType' } },
  OFPGroupStats: sized(entryWire('group_stats_reply'), 0),
  OFPMeterStats: sized(entryWire('meter_stats_reply'), 4),
  OFPMeterConfigStats: sized(entryWire('meter_config_reply'), 0),
  OFPFlowStats: sized((v) => encodeValue(flowStats, v), 0),
  OFPBucket: sized((v) => encodeValue(bucket, v), 0),
  OFPPacketQueue: sized((v) => encodeValue(packetQueue, v), 8),
  OFPTableFeaturesStats: sized((v) => encodeValue(tableFeatures, v), 0),
  // Ryu's length is the match length before padding; its type is OFPMT_OXM.
  OFPMatch: {
    rename: { oxm_fields: SELF },
    ...sized((v) => encodeValue(match, v), 2),
    derived: { type: (_v, wire) => u16(wire(), 0) },
  },
  OXMTlv: { view: oxmAsRyu },
  Packet: { view: packetAsRyu },
  OFPOxmId: oxmId,
  OFPExperimenterOxmId: { ...oxmId, rename: { exp_id: 'experimenter' } },
  OFPHelloElemVersionBitmap: {
    derived: { versions: (v: { bitmaps: number[] }) => v.bitmaps.flatMap((w, i) => bitsOf(w).map((b) => 32 * i + b)) },
    covers: ['bitmaps'],
  },
  // Ryu shows these experimenter payloads as lists of numbers: bytes here, u32s below.
  OFPQueuePropExperimenter: { derived: { data: (v) => [...v.data] }, covers: ['data'] },
  OFPTableFeaturePropExperimenter: {
    derived: { data: (v) => Array.from({ length: v.data.length / 4 }, (_, i) => u32(v.data, 4 * i)) },
    covers: ['data'],
  },
  OFPMeterBandExperimenter: {
    tsofOnly: { data: "Ryu's experimenter band has no data field" },
    check: (v) => (v.data.length ? `${v.data.length} bytes of data that Ryu drops` : undefined),
  },
  NXActionUnknown: { derived: { data: (v) => v.data.subarray(2) } },
  ONFFlowMonitorStatsRequest: { opaque: ['body'], covers: ['data'], check: fromExperimenter(ONF) },
};

/** Ryu message classes whose names do not follow OFP<CamelCase of the tsof name>, with or without "Stats". */
const MESSAGE_NAMES: Record<string, MessageType> = {
  OFPErrorMsg: 'error',
  OFPSwitchFeatures: 'features_reply',
  ONFFlowMonitorStatsRequest: 'experimenter_stats_request',
};

function messageType(cls: string): MessageType | undefined {
  if (cls in MESSAGE_NAMES) return MESSAGE_NAMES[cls];
  if (!cls.startsWith('OFP')) return undefined;
  const name = cls.slice(3).replace(/[A-Z]/g, (c, i) => (i ? '_' : '') + c.toLowerCase());
  return [name, name.replace('_stats_', '_')].find((n) => n in MESSAGES) as MessageType | undefined;
}

function ruleFor(cls: string): Rule {
  const type = messageType(cls);
  const family = type ? messageRule(type) : (FAMILIES.find(([re]) => re.test(cls))?.[1] ?? {});
  const own = RULES[cls] ?? {};
  return {
    ...family,
    ...own,
    rename: { ...family.rename, ...own.rename },
    derived: { ...family.derived, ...own.derived },
    covers: [...(family.covers ?? []), ...(own.covers ?? [])],
    tsofOnly: { ...family.tsofOnly, ...own.tsofOnly },
  };
}

const camel = (key: string) => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Ryu's { "OFPFlowMod": {...} }: the class name and its fields. */
function asClass(x: unknown): [string, Obj] | undefined {
  if (!isObj(x)) return undefined;
  const keys = Object.keys(x);
  return keys.length === 1 && /^[A-Z]/.test(keys[0]) && isObj(x[keys[0]]) ? [keys[0], x[keys[0]]] : undefined;
}

const show = (v: unknown) =>
  v instanceof Uint8Array
    ? `0x${toHex(v)}`
    : JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? `0x${toHex(x)}` : x));

/** A JSON scalar against a tsof one: base64 against bytes, null against absent, numbers against bigints by value. */
function sameScalar(ryu: unknown, ours: unknown): boolean {
  if (ryu === null) return ours === undefined;
  if (ours instanceof Uint8Array) return ryu === Buffer.from(ours).toString('base64');
  if (typeof ours === 'bigint') return (typeof ryu === 'number' || typeof ryu === 'bigint') && BigInt(ryu) === ours;
  return ryu === ours;
}

function compare(ryu: unknown, ours: unknown, path: string, issues: string[]): void {
  const cls = asClass(ryu);
  if (cls) return compareClass(cls[0], cls[1], ours, path, issues);
  if (Array.isArray(ryu)) {
    if (!Array.isArray(ours) || ours.length !== ryu.length) {
      issues.push(`${path}: Ryu has ${ryu.length} elements, tsof ${show(ours)}`);
      return;
    }
    ryu.forEach((r, i) => compare(r, ours[i], `${path}[${i}]`, issues));
    return;
  }
  if (isObj(ryu)) {
    // A plain object of a view (packet headers): the same keys on both sides.
    if (!isObj(ours)) return void issues.push(`${path}: Ryu ${show(ryu)}, tsof ${show(ours)}`);
    for (const k of new Set([...Object.keys(ryu), ...Object.keys(ours)])) compare(ryu[k], ours[k], `${path}.${k}`, issues);
    return;
  }
  if (!sameScalar(ryu, ours)) issues.push(`${path}: Ryu ${show(ryu)}, tsof ${show(ours)}`);
}

function compareClass(cls: string, fields: Obj, ours: unknown, path: string, issues: string[]): void {
  const rule = ruleFor(cls);
  const type = messageType(cls);
  if (type && (ours as Obj)?.type !== type) {
    issues.push(`${path}: Ryu ${cls} should be tsof ${type}, is ${show((ours as Obj)?.type)}`);
    return;
  }
  const target = rule.view ? rule.view(ours) : ours;
  if (!isObj(target) && !Array.isArray(target)) {
    issues.push(`${path}: Ryu ${cls}, tsof ${show(ours)}`);
    return;
  }
  const used = new Set<string>();
  compareFields(cls, fields, rule, ours, target as Obj, path, issues, used);
  if (!isObj(target)) return;
  for (const k of Object.keys(target)) {
    if (!used.has(k) && !rule.covers!.includes(k) && !(k in rule.tsofOnly!)) {
      issues.push(`${path}.${k}: tsof field that Ryu's ${cls} lacks`);
    }
  }
  const problem = rule.check?.(ours);
  if (problem) issues.push(`${path}: ${problem}`);
}

function compareFields(cls: string, fields: Obj, rule: Rule, ours: any, target: Obj, path: string, issues: string[], used: Set<string>): void {
  let bytes: Uint8Array | undefined;
  const wire = () => (bytes ??= rule.wire!(ours));
  for (const [key, value] of Object.entries(fields)) {
    const at = `${path}.${key}`;
    const tsofKey = rule.rename?.[key] ?? camel(key);
    const opaque = rule.opaque === true ? !(tsofKey in target) : !!rule.opaque?.includes(key);
    if (rule.derived && key in rule.derived) {
      compare(value, rule.derived[key](target, wire), at, issues);
    } else if ((key === 'len' || key === 'length') && rule.lengthAt !== undefined) {
      compare(value, u16(wire(), rule.lengthAt), at, issues);
    } else if (opaque) {
      continue; // Ryu decoded it from a payload that tsof keeps as bytes
    } else if (key === 'body' && messageType(cls)) {
      compareBody(value, target, at, issues, used);
    } else if (tsofKey === SELF) {
      compare(value, target, at, issues);
    } else if (tsofKey in target || value === null) {
      used.add(tsofKey);
      compare(value, target[tsofKey], at, issues);
    } else {
      issues.push(`${at}: no tsof field "${tsofKey}"`);
    }
  }
}

/**
 * A multipart body. Lists go to stats/ports/tables. A single body (desc,
 * aggregate, features, experimenter) is flattened into the message; Ryu wraps some
 * of them in a one-element list.
 */
function compareBody(body: unknown, target: Obj, at: string, issues: string[], used: Set<string>): void {
  const listKey = ['stats', 'ports', 'tables'].find((k) => k in target);
  if (listKey) {
    used.add(listKey);
    return compare(body, target[listKey], at, issues);
  }
  const cls = asClass(Array.isArray(body) && body.length === 1 ? body[0] : body);
  if (!cls) return void issues.push(`${at}: cannot flatten ${show(body)}`);
  compareFields(cls[0], cls[1], ruleFor(cls[0]), target, target, at, issues, used);
}

/** Every mismatch between Ryu's JSON and the decoded message, and every field only one side has. */
export function compareWithRyu(ryu: unknown, msg: Message): string[] {
  const issues: string[] = [];
  compare(ryu, msg, '', issues);
  return issues;
}

