// OXM match fields (OpenFlow 1.3.5 section 7.2.3) and the ofp_match that carries them.
//
// OXM_FIELDS below is the one description of every OpenFlow-basic field: its OXM
// number, value type, width in bits, whether it may be masked, and its
// prerequisite. Decoding, encoding, printing and checkMatch() are driven by it.
// OXMs of other classes (Nicira's NXM, experimenters) are kept as opaque TLVs
// that re-encode byte for byte.

import { ERR, type OfErrorCode } from './errors.ts';
import { compile, hex16, hex64, ipv4, ipv6, mac, register, u16, u24, u32, u8, type Codec } from './schema.ts';
import { fail, toHex, Writer, type Reader } from './wire.ts';

export const OFPXMC_OPENFLOW_BASIC = 0x8000;
export const OFPXMC_EXPERIMENTER = 0xffff;
export const OFPMT_OXM = 1;
/** OFPVID_PRESENT: set in vlan_vid when a VLAN tag is present. */
export const OFPVID_PRESENT = 0x1000;
export const OFPVID_NONE = 0;

type Kind = 'u8' | 'u16' | 'u24' | 'u32' | 'u64' | 'mac' | 'ipv4' | 'ipv6';
type KindValue<K extends Kind> = K extends 'u64' ? bigint : K extends 'mac' | 'ipv4' | 'ipv6' ? string : number;

interface FieldSpec {
  /** OXM field number in class OPENFLOW_BASIC. */
  readonly id: number;
  readonly kind: Kind;
  /** Meaningful bits of the value (fewer than its wire width for vlan_vid, ip_dscp...). */
  readonly bits: number;
  readonly maskable: boolean;
  /** Present only if this field has the given value (one of several). */
  readonly prereq?: { readonly field: string; readonly values: readonly (number | string)[] };
  /** Printed in hex (ethertypes, bit sets). */
  readonly hex?: boolean;
}

const IP = { field: 'eth_type', values: [0x0800, 0x86dd] } as const;
const IPV4 = { field: 'eth_type', values: [0x0800] } as const;
const IPV6 = { field: 'eth_type', values: [0x86dd] } as const;
const ARP = { field: 'eth_type', values: [0x0806] } as const;
const MPLS = { field: 'eth_type', values: [0x8847, 0x8848] } as const;
const PBB = { field: 'eth_type', values: [0x88e7] } as const;
const proto = (p: number) => ({ field: 'ip_proto', values: [p] }) as const;
const icmp6 = (...t: number[]) => ({ field: 'icmpv6_type', values: t }) as const;

/** The OpenFlow-basic fields, in OXM number order. */
export const OXM_FIELDS = {
  in_port: { id: 0, kind: 'u32', bits: 32, maskable: false },
  in_phy_port: { id: 1, kind: 'u32', bits: 32, maskable: false, prereq: { field: 'in_port', values: [] } },
  metadata: { id: 2, kind: 'u64', bits: 64, maskable: true },
  eth_dst: { id: 3, kind: 'mac', bits: 48, maskable: true },
  eth_src: { id: 4, kind: 'mac', bits: 48, maskable: true },
  eth_type: { id: 5, kind: 'u16', bits: 16, maskable: false, hex: true },
  vlan_vid: { id: 6, kind: 'u16', bits: 13, maskable: true },
  // vlan_pcp needs a tag: vlan_vid present and not OFPVID_NONE (checked in checkMatch).
  vlan_pcp: { id: 7, kind: 'u8', bits: 3, maskable: false, prereq: { field: 'vlan_vid', values: [] } },
  ip_dscp: { id: 8, kind: 'u8', bits: 6, maskable: false, prereq: IP },
  ip_ecn: { id: 9, kind: 'u8', bits: 2, maskable: false, prereq: IP },
  ip_proto: { id: 10, kind: 'u8', bits: 8, maskable: false, prereq: IP },
  ipv4_src: { id: 11, kind: 'ipv4', bits: 32, maskable: true, prereq: IPV4 },
  ipv4_dst: { id: 12, kind: 'ipv4', bits: 32, maskable: true, prereq: IPV4 },
  tcp_src: { id: 13, kind: 'u16', bits: 16, maskable: false, prereq: proto(6) },
  tcp_dst: { id: 14, kind: 'u16', bits: 16, maskable: false, prereq: proto(6) },
  udp_src: { id: 15, kind: 'u16', bits: 16, maskable: false, prereq: proto(17) },
  udp_dst: { id: 16, kind: 'u16', bits: 16, maskable: false, prereq: proto(17) },
  sctp_src: { id: 17, kind: 'u16', bits: 16, maskable: false, prereq: proto(132) },
  sctp_dst: { id: 18, kind: 'u16', bits: 16, maskable: false, prereq: proto(132) },
  icmpv4_type: { id: 19, kind: 'u8', bits: 8, maskable: false, prereq: proto(1) },
  icmpv4_code: { id: 20, kind: 'u8', bits: 8, maskable: false, prereq: proto(1) },
  arp_op: { id: 21, kind: 'u16', bits: 16, maskable: false, prereq: ARP },
  arp_spa: { id: 22, kind: 'ipv4', bits: 32, maskable: true, prereq: ARP },
  arp_tpa: { id: 23, kind: 'ipv4', bits: 32, maskable: true, prereq: ARP },
  arp_sha: { id: 24, kind: 'mac', bits: 48, maskable: true, prereq: ARP },
  arp_tha: { id: 25, kind: 'mac', bits: 48, maskable: true, prereq: ARP },
  ipv6_src: { id: 26, kind: 'ipv6', bits: 128, maskable: true, prereq: IPV6 },
  ipv6_dst: { id: 27, kind: 'ipv6', bits: 128, maskable: true, prereq: IPV6 },
  ipv6_flabel: { id: 28, kind: 'u32', bits: 20, maskable: true, prereq: IPV6 },
  icmpv6_type: { id: 29, kind: 'u8', bits: 8, maskable: false, prereq: proto(58) },
  icmpv6_code: { id: 30, kind: 'u8', bits: 8, maskable: false, prereq: proto(58) },
  ipv6_nd_target: { id: 31, kind: 'ipv6', bits: 128, maskable: false, prereq: icmp6(135, 136) },
  ipv6_nd_sll: { id: 32, kind: 'mac', bits: 48, maskable: false, prereq: icmp6(135) },
  ipv6_nd_tll: { id: 33, kind: 'mac', bits: 48, maskable: false, prereq: icmp6(136) },
  mpls_label: { id: 34, kind: 'u32', bits: 20, maskable: false, prereq: MPLS },
  mpls_tc: { id: 35, kind: 'u8', bits: 3, maskable: false, prereq: MPLS },
  mpls_bos: { id: 36, kind: 'u8', bits: 1, maskable: false, prereq: MPLS },
  pbb_isid: { id: 37, kind: 'u24', bits: 24, maskable: true, prereq: PBB },
  tunnel_id: { id: 38, kind: 'u64', bits: 64, maskable: true },
  ipv6_exthdr: { id: 39, kind: 'u16', bits: 9, maskable: true, prereq: IPV6, hex: true },
} as const satisfies Record<string, FieldSpec>;

type Fields = typeof OXM_FIELDS;
export type OxmFieldName = keyof Fields;

/** A basic OXM: { field: 'ipv4_src', value: '10.0.0.0', mask: '255.0.0.0' }. */
export type OxmBasic = {
  [K in OxmFieldName]: { field: K; value: KindValue<Fields[K]['kind']>; mask?: KindValue<Fields[K]['kind']> };
}[OxmFieldName];

/** An OXM of another class (NXM, experimenter), kept whole to re-encode as it was. */
export interface OxmOpaque {
  field: 'opaque';
  oxmClass: number;
  oxmField: number;
  hasMask: boolean;
  /** The payload after the 4-byte header (an experimenter id first, for class 0xffff). */
  data: Uint8Array;
}

export type Oxm = OxmBasic | OxmOpaque;

const WIDTH: Record<Kind, number> = { u8: 1, u16: 2, u24: 3, u32: 4, u64: 8, mac: 6, ipv4: 4, ipv6: 16 };

// The schema's scalars check ranges on encode: a value wider than its field is a TypeError, never wrapped.
const VALUE: Record<Kind, Codec<any>> = { u8, u16, u24, u32, u64: hex64, mac, ipv4, ipv6 };

interface FieldInfo extends FieldSpec {
  name: OxmFieldName;
  width: number;
  value: Codec<any>;
  /** The OXM headers of the field without and with a mask. */
  headers: readonly [number, number];
}

const byName = new Map<string, FieldInfo>();
const byId: (FieldInfo | undefined)[] = [];
for (const [name, spec] of Object.entries(OXM_FIELDS) as [OxmFieldName, FieldSpec][]) {
  const width = WIDTH[spec.kind];
  const header = (hasMask: boolean) =>
    ((OFPXMC_OPENFLOW_BASIC << 16) | (spec.id << 9) | (hasMask ? 0x100 : 0) | (hasMask ? 2 : 1) * width) >>> 0;
  const info: FieldInfo = { ...spec, name, width, value: spec.hex ? hex16 : VALUE[spec.kind], headers: [header(false), header(true)] };
  byName.set(name, info);
  byId[spec.id] = info;
}

export function oxmFieldInfo(name: string): FieldInfo | undefined {
  return byName.get(name);
}

export function oxmFieldById(id: number): FieldInfo | undefined {
  return byId[id];
}

/** The OXM header of a field: class, field, hasmask, length. */
export function oxmHeader(name: OxmFieldName, hasMask: boolean): number {
  return byName.get(name)!.headers[hasMask ? 1 : 0];
}

function formatOxm(v: Oxm): string {
  if (v.field === 'opaque') {
    return `oxm(class=0x${v.oxmClass.toString(16)},field=${v.oxmField}${v.hasMask ? ',masked' : ''},0x${toHex(v.data)})`;
  }
  const f = byName.get(v.field)!;
  const value = f.value.format(v.value);
  if (v.mask === undefined) return `${v.field}=${value}`;
  // As in ovs-ofctl: number masks in hex (in_port=4/0xf), address masks as a prefix length where they are one.
  if (typeof v.mask === 'number') return `${v.field}=${value}/0x${v.mask.toString(16)}`;
  const prefix = f.kind === 'ipv4' || f.kind === 'ipv6' ? prefixLength(bitsOf(f, v.mask), 8 * f.width) : -1;
  return `${v.field}=${value}/${prefix >= 0 ? prefix : f.value.format(v.mask)}`;
}

/** The prefix length of a contiguous mask of `width` bits, or -1. */
function prefixLength(mask: bigint, width: number): number {
  const zeros = ~mask & ((1n << BigInt(width)) - 1n);
  return (zeros & (zeros + 1n)) === 0n ? width - zeros.toString(2).replace(/^0+/, '').length : -1;
}

/** The largest basic OXM: a masked IPv6 address. */
const MAX_OXM = 4 + 2 * 16;

function encodeOpaque(w: Writer, v: OxmOpaque): void {
  if (v.data.length > 0xff) throw new TypeError(`an OXM payload has at most 255 bytes, not ${v.data.length}`);
  w.u32(((v.oxmClass << 16) | (v.oxmField << 9) | (v.hasMask ? 0x100 : 0) | v.data.length) >>> 0);
  w.bytes(v.data);
}

// Compiled from OXM_FIELDS as schema.ts compiles structs: a switch on the field
// name whose cases check and write the value (and mask) inline with the header
// they imply, after one reserve for the largest OXM.
const compiled = compile<(w: Writer, v: Oxm) => void>('encode_oxm', ['w', 'v'], ['at', 'b', 'dv', 'x'], (g) => {
  const rejects = new Map<Codec<any>, (x: unknown) => never>();
  g.line(`const at = w.off;`);
  g.line(`if (at + ${MAX_OXM} > w.buf.length) w.reserve(${MAX_OXM});`);
  g.line(`const b = w.buf, dv = w.dv;`);
  g.line(`let x;`);
  g.line(`switch (v.field) {`);
  // Opaque first: the cases are compared in order, and the basic fields come in the table's.
  g.line(`case 'opaque':`);
  g.line(`  ${g.ref(encodeOpaque, 'encodeOpaque')}(w, v);`);
  g.line(`  return;`);
  for (const f of byName.values()) {
    const inline = f.value.inline!;
    let reject = rejects.get(f.value);
    if (!reject) {
      reject = (x) => {
        throw new TypeError(inline.reject(x));
      };
      rejects.set(f.value, reject);
    }
    const put = (k: number) => {
      g.line(`if (${inline.invalid('x', g.ref)}) ${g.ref(reject, `reject_${f.kind}`)}(x);`);
      g.line(inline.write(`at + ${k}`, 'x', g.ref));
    };
    const header = (h: number) => `dv.setUint32(at, 0x${h.toString(16)});`;
    g.line(`case ${JSON.stringify(f.name)}: {`);
    g.line(`x = v.value;`);
    put(4);
    g.line(`x = v.mask;`);
    g.line(`if (x === undefined) {`);
    g.line(header(f.headers[0]));
    g.line(`w.off = at + ${4 + f.width};`);
    g.line(`return;`);
    g.line(`}`);
    put(4 + f.width);
    g.line(header(f.headers[1]));
    g.line(`w.off = at + ${4 + 2 * f.width};`);
    g.line(`return;`);
    g.line(`}`);
  }
  const unknownField = (field: unknown) => {
    throw new TypeError(`unknown OXM field "${String(field)}"`);
  };
  g.line(`default:`);
  g.line(`  ${g.ref(unknownField, 'unknownField')}(v.field);`);
  g.line(`}`);
});
const encodeOxm = compiled.fn;

/** One OXM TLV. A basic field of unknown number or wrong length is an OFPBMC error. */
export const oxm: Codec<Oxm> = {
  size: -1,
  decode(r: Reader, end: number): Oxm {
    const start = r.off;
    r.need(4, end, ERR.BAD_MATCH.BAD_LEN, 'OXM header');
    const header = r.u32();
    const oxmClass = header >>> 16;
    const id = (header >>> 9) & 0x7f;
    const hasMask = (header & 0x100) !== 0;
    const len = header & 0xff;
    r.need(len, end, ERR.BAD_MATCH.BAD_LEN, 'OXM payload');
    if (oxmClass !== OFPXMC_OPENFLOW_BASIC) {
      return { field: 'opaque', oxmClass, oxmField: id, hasMask, data: r.bytes(len).slice() };
    }
    const f = byId[id];
    if (!f) fail(ERR.BAD_MATCH.BAD_FIELD, start, `unknown OXM field ${id}`);
    if (len !== (hasMask ? 2 : 1) * f.width) {
      fail(ERR.BAD_MATCH.BAD_LEN, start, `OXM ${f.name}: length ${len}, expected ${(hasMask ? 2 : 1) * f.width}`);
    }
    const value = f.value.decode(r, end);
    return hasMask ? ({ field: f.name, value, mask: f.value.decode(r, end) } as Oxm) : ({ field: f.name, value } as Oxm);
  },
  encode: encodeOxm,
  format: formatOxm,
};
register(oxm, () => compiled.source);

/** A list of OXMs in ofp_match: type OFPMT_OXM, length without the padding to 8. */
export type Match = Oxm[];

export const match: Codec<Match> = {
  size: -1,
  decode(r, end) {
    const start = r.off;
    r.need(4, end, ERR.BAD_MATCH.BAD_LEN, 'match header');
    const type = r.u16();
    const len = r.u16();
    if (type !== OFPMT_OXM) fail(ERR.BAD_MATCH.BAD_TYPE, start, `match type ${type} (only OXM, 1, is OpenFlow 1.3)`);
    const padded = start + ((len + 7) & ~7);
    if (len < 4 || padded > end) fail(ERR.BAD_MATCH.BAD_LEN, start, `match length ${len}`);
    const fields: Oxm[] = [];
    const fieldsEnd = start + len;
    while (r.off < fieldsEnd) fields.push(oxm.decode(r, fieldsEnd));
    r.off = padded;
    return fields;
  },
  encode(w, v) {
    w.reserve(4);
    const start = w.off;
    w.dv.setUint32(start, OFPMT_OXM << 16); // the length is patched in below
    w.off = start + 4;
    for (let i = 0; i < v.length; i++) encodeOxm(w, v[i]);
    w.patch16(start + 2, w.off - start);
    w.align(start, 8);
  },
  format: (v) => (v.length ? v.map(formatOxm).join(',') : 'any'),
};

/** An OXM header without a value, as table features list them: { field, hasMask, length }. */
export interface OxmId {
  oxmClass: number;
  oxmField: number;
  hasMask: boolean;
  length: number;
  /** Present for class OFPXMC_EXPERIMENTER. */
  experimenter?: number;
}

export const oxmId: Codec<OxmId> = {
  size: -1,
  decode(r, end) {
    r.need(4, end, ERR.TABLE_FEATURES_FAILED.BAD_LEN, 'OXM id');
    const h = r.u32();
    const id: OxmId = { oxmClass: h >>> 16, oxmField: (h >>> 9) & 0x7f, hasMask: (h & 0x100) !== 0, length: h & 0xff };
    if (id.oxmClass === OFPXMC_EXPERIMENTER) {
      r.need(4, end, ERR.TABLE_FEATURES_FAILED.BAD_LEN, 'experimenter OXM id');
      id.experimenter = r.u32();
    }
    return id;
  },
  encode(w, v) {
    w.u32(((v.oxmClass << 16) | (v.oxmField << 9) | (v.hasMask ? 0x100 : 0) | v.length) >>> 0);
    if (v.oxmClass === OFPXMC_EXPERIMENTER) w.u32(v.experimenter ?? 0);
  },
  format(v) {
    const name = v.oxmClass === OFPXMC_OPENFLOW_BASIC ? byId[v.oxmField]?.name : undefined;
    return (name ?? `oxm(0x${v.oxmClass.toString(16)},${v.oxmField})`) + (v.hasMask ? '/mask' : '');
  },
};

// ---- semantic checks -------------------------------------------------------------

/** A value of any kind as an unsigned integer, for bit checks. */
function bitsOf(f: FieldInfo, v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  const w = new Writer();
  f.value.encode(w, v);
  return w.finish().reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
}

/**
 * What a switch checks of a decoded match before it installs a flow (spec 7.2.3.6
 * and 7.2.3.8): each field once, masks only where allowed, no value bits outside
 * the mask or the field's width, prerequisites present with a matching value.
 * Returns the OFPBMC error to send, or undefined.
 */
export function checkMatch(m: Match): { error: OfErrorCode; field: string } | undefined {
  const seen = new Map<string, OxmBasic>();
  for (const f of m) {
    if (f.field === 'opaque') continue;
    if (seen.has(f.field)) return { error: ERR.BAD_MATCH.DUP_FIELD, field: f.field };
    seen.set(f.field, f);
  }
  for (const f of seen.values()) {
    const info = byName.get(f.field)!;
    if (f.mask !== undefined && !info.maskable) return { error: ERR.BAD_MATCH.BAD_MASK, field: f.field };
    const value = bitsOf(info, f.value);
    if (value >> BigInt(info.bits)) return { error: ERR.BAD_MATCH.BAD_VALUE, field: f.field };
    if (f.mask !== undefined && (value & ~bitsOf(info, f.mask)) !== 0n) {
      return { error: ERR.BAD_MATCH.BAD_WILDCARDS, field: f.field };
    }
    const pre = (info as FieldSpec).prereq;
    if (!pre) continue;
    const dep = seen.get(pre.field);
    if (!dep) return { error: ERR.BAD_MATCH.BAD_PREREQ, field: f.field };
    if (pre.values.length && (dep.mask !== undefined || !pre.values.includes(dep.value as number))) {
      return { error: ERR.BAD_MATCH.BAD_PREREQ, field: f.field };
    }
    // vlan_pcp needs a tag: OFPVID_PRESENT matched as set, exactly or under a mask (0x1000/0x1000).
    if (f.field === 'vlan_pcp') {
      const mask = dep.mask === undefined ? 0xffff : (dep.mask as number);
      if (((dep.value as number) & mask & OFPVID_PRESENT) === 0) return { error: ERR.BAD_MATCH.BAD_PREREQ, field: f.field };
    }
  }
  return undefined;
}
