// ovs-ofctl's flow syntax, both ways: parseFlow() reads a line such as
//   table=2,priority=5,tcp,nw_src=10.0.0.0/8,tp_dst=80 actions=dec_ttl,output:3,goto_table:4
// into the fields of a flow_mod, and formatMatch() / formatInstructions() /
// formatFlowMod() / formatFlowStats() print matches, actions and flows exactly as
// `ovs-ofctl -O OpenFlow13` 3.1 prints them. Both are driven by the codec's
// tables: OXM_FIELDS for the wire facts of each field, TEXT_FIELDS
// (text-fields.ts) for its names and how its value is written, ACTIONS and
// INSTRUCTIONS for what there is to say; nothing here names a match field.
//
// Invariants (test/unit/text.test.ts and test/interop/text-ofctl.test.ts):
// - The parser never throws on text: a mistake is { ok: false, error } naming
//   the token, its character offset (0-based) in the line and why.
// - What ovs-ofctl takes for OpenFlow 1.3, tsof takes and encodes to the flow_mod
//   ovs-ofctl would send; what ovs-ofctl prints for a message, tsof prints.
// - parse(format(x)) == x for every match and instruction list the text can say;
//   the printer falls back to OXM names (tcp_src) where ovs-ofctl's context-bound
//   names (tp_src) would not read back as the same field.
// - Where ovs-ofctl quietly drops what it cannot say, tsof keeps it: fields whose
//   prerequisites are missing stay in the match (the switch answers
//   OFPBMC_BAD_PREREQ) rather than vanishing.

import { ACTIONS, type Action, type Instruction } from './actions.ts';
import { OFP_NO_BUFFER, OFPFC, OFPFF, OFPG, OFPGC, OFPGT, OFPM, OFPMC, OFPMF, OFPP, PORT_NO } from './constants.ts';
import type { FlowStats, MessageOf } from './messages.ts';
import { oxm, OXM_FIELDS, type Match, type Oxm, type OxmBasic, type OxmFieldName } from './oxm.ts';
import {
  SET_SHORTHANDS,
  SHORTHANDS,
  TCI_NAMES,
  TEXT_FIELDS,
  type TciName,
  type TextField,
  type TextStyle,
  type TextWhen,
} from './text-fields.ts';
import { ipv4ToBytes, ipv6ToBytes, ipv6ToString, macToBytes } from './wire.ts';

// ---- results and errors ------------------------------------------------------------------

/** A mistake in flow text: the offending token, where it starts (0-based) and why. */
export interface TextError {
  token: string;
  position: number;
  reason: string;
  /** One line for people: `unknown field "nw_srcc" at 12`. */
  message: string;
}

export type TextResult<T> = { ok: true; value: T } | { ok: false; error: TextError };

/** Thrown inside this module only; the public functions turn it into an error value. */
class TextFault extends Error {
  constructor(
    readonly token: string,
    readonly position: number,
    readonly reason: string,
    readonly why?: string,
  ) {
    super(reason);
  }
}
const fault = (token: string, position: number, reason: string, why?: string): never => {
  throw new TextFault(token, position, reason, why);
};

function attempt<T>(f: () => T): TextResult<T> {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    if (!(e instanceof TextFault)) throw e;
    const message = `${e.reason} "${e.token}" at ${e.position}${e.why ? `: ${e.why}` : ''}`;
    return { ok: false, error: { token: e.token, position: e.position, reason: e.why ? `${e.reason}: ${e.why}` : e.reason, message } };
  }
}

// ---- tokens --------------------------------------------------------------------------------

/** One `key`, `key=value`, `key:value` or `key(value)` item of a line, with offsets. */
interface Item {
  key: string;
  value?: string;
  at: number;
  valueAt: number;
  /** The separator after the key: '=', ':', '(' or none. */
  sep: string;
}

const isDelim = (c: string) => c === ',' || c === ' ' || c === '\t' || c === '\r' || c === '\n';

/**
 * Splits `text` (from offset `base` of the line) into items. `seps` are the characters that
 * end a key and start its value; parentheses nest, so write_actions(a,b) is one item.
 */
function items(text: string, base: number, seps: string): Item[] {
  const out: Item[] = [];
  let i = 0;
  while (i < text.length) {
    if (isDelim(text[i])) {
      i++;
      continue;
    }
    const at = i;
    while (i < text.length && !isDelim(text[i]) && !seps.includes(text[i]) && text[i] !== '(') i++;
    const key = text.slice(at, i);
    if (i >= text.length || isDelim(text[i])) {
      out.push({ key, at: base + at, valueAt: base + i, sep: '' });
      continue;
    }
    const sep = text[i++];
    const valueAt = i;
    if (sep === '(') {
      let depth = 1;
      while (i < text.length && depth > 0) {
        if (text[i] === '(') depth++;
        else if (text[i] === ')') depth--;
        i++;
      }
      if (depth > 0) fault(text.slice(at), base + at, 'unbalanced parentheses in');
      out.push({ key, value: text.slice(valueAt, i - 1), at: base + at, valueAt: base + valueAt, sep });
      continue;
    }
    let depth = 0;
    while (i < text.length && (depth > 0 || !isDelim(text[i]))) {
      if (text[i] === '(') depth++;
      else if (text[i] === ')') depth--;
      i++;
    }
    out.push({ key, value: text.slice(valueAt, i), at: base + at, valueAt: base + valueAt, sep });
  }
  return out;
}

function need(item: Item): string {
  if (item.value === undefined || item.value === '') fault(item.key, item.at, 'missing value for');
  return item.value!;
}

// ---- numbers, ports and addresses ----------------------------------------------------------

/** Decimal or 0x-hex, at most `bits` bits; undefined if it is neither or too wide. */
function parseBig(s: string, bits: number): bigint | undefined {
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(s)) return undefined;
  const v = BigInt(s);
  return v >> BigInt(bits) ? undefined : v;
}

function uint(token: string, at: number, bits: number, what: string): number {
  const v = parseBig(token, bits);
  if (v === undefined) fault(token, at, `bad ${what}`, `expected a number of at most ${bits} bits`);
  return Number(v);
}

function uint64(token: string, at: number, what: string): bigint {
  const v = parseBig(token, 64);
  if (v === undefined) fault(token, at, `bad ${what}`, 'expected a number of at most 64 bits');
  return v!;
}

const PORT_NAMES = new Map(Object.entries(PORT_NO.values).map(([k, v]) => [k.toLowerCase(), v]));
const PORT_BY_VALUE = new Map<number, string>(Object.entries(PORT_NO.values).map(([k, v]) => [v, k]));

/** A port: a reserved name (any case) or a number up to OFPP_MAX. */
function parsePort(token: string, at: number, what = 'port'): number {
  const named = PORT_NAMES.get(token.toLowerCase());
  if (named !== undefined) return named;
  const v = parseBig(token, 32);
  if (v === undefined || v > BigInt(OFPP.MAX)) {
    fault(token, at, `bad ${what}`, 'expected a port number up to 0xffffff00 or a reserved port name');
  }
  return Number(v);
}

/** C's %#x: 0x-hex, but plain 0 for zero. */
const hex = (v: number | bigint) => (v === 0 || v === 0n ? '0' : `0x${v.toString(16)}`);

const formatPort = (p: number) => PORT_BY_VALUE.get(p) ?? String(p);

/** IPv6 as glibc's inet_ntop writes it: RFC 5952, with an IPv4 tail for ::a.b.c.d and ::ffff:a.b.c.d. */
function formatIpv6(s: string): string {
  const b = ipv6ToBytes(s);
  const zero = (from: number, to: number) => b.subarray(from, to).every((x) => x === 0);
  if (zero(0, 10) && ((b[10] === 0xff && b[11] === 0xff) || (b[10] === 0 && b[11] === 0 && !zero(12, 14)))) {
    const tail = `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
    return b[10] ? `::ffff:${tail}` : `::${tail}`;
  }
  return ipv6ToString(b);
}

type Kind = (typeof OXM_FIELDS)[OxmFieldName]['kind'];
type Value = number | bigint | string;

const ADDRESS: Partial<Record<Kind, { bytes: (s: string) => Uint8Array; what: string }>> = {
  mac: { bytes: macToBytes, what: 'an Ethernet address' },
  ipv4: { bytes: ipv4ToBytes, what: 'an IPv4 address' },
  ipv6: { bytes: ipv6ToBytes, what: 'an IPv6 address' },
};

function toBig(kind: Kind, v: Value): bigint {
  if (typeof v !== 'string') return BigInt(v);
  return ADDRESS[kind]!.bytes(v).reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
}

function fromBig(kind: Kind, v: bigint): Value {
  const width = WIDTH[kind];
  if (kind === 'u64') return v;
  if (!ADDRESS[kind]) return Number(v);
  const b = new Uint8Array(width);
  for (let i = width - 1; i >= 0; i--, v >>= 8n) b[i] = Number(v & 0xffn);
  if (kind === 'mac') return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
  if (kind === 'ipv4') return b.join('.');
  return ipv6ToString(b);
}

const WIDTH: Record<Kind, number> = { u8: 1, u16: 2, u24: 3, u32: 4, u64: 8, mac: 6, ipv4: 4, ipv6: 16 };
const allOnes = (kind: Kind) => (1n << BigInt(8 * WIDTH[kind])) - 1n;

/** The prefix length of a contiguous mask of `width` bits, or -1. */
function prefixOf(mask: bigint, width: number): number {
  const zeros = ~mask & ((1n << BigInt(width)) - 1n);
  if ((zeros & (zeros + 1n)) !== 0n) return -1;
  return width - (zeros === 0n ? 0 : zeros.toString(2).length);
}

// ---- match fields: the value of one field -----------------------------------------------------

interface FieldRow {
  name: OxmFieldName;
  kind: Kind;
  bits: number;
  text: TextField;
  /** ovs-ofctl takes a mask on it. */
  maskable: boolean;
}

const ROWS = new Map<OxmFieldName, FieldRow>();
for (const [name, text] of Object.entries(TEXT_FIELDS) as [OxmFieldName, TextField][]) {
  const spec = OXM_FIELDS[name];
  ROWS.set(name, { name, kind: spec.kind, bits: spec.bits, text, maskable: spec.maskable || !!text.ovsMaskable });
}

/** Global names (eth_src, dl_src, tp_src...) and scaled names (nw_tos) to their rows. */
const BY_NAME = new Map<string, { row: FieldRow; shift: number }>();
const ALIASES = new Map<string, { row: FieldRow; when: readonly TextWhen[] }[]>();
for (const row of ROWS.values()) {
  for (const n of row.text.names) BY_NAME.set(n, { row, shift: 0 });
  if (row.text.scaled) BY_NAME.set(row.text.scaled.name, { row, shift: row.text.scaled.shift });
  for (const a of row.text.alias ?? []) ALIASES.set(a.name, [...(ALIASES.get(a.name) ?? []), { row, when: a.when }]);
}
const SHORTHAND = new Map(SHORTHANDS.map((s) => [s.name, s]));
const TCI = new Set<string>(TCI_NAMES);

/** What the match says of eth_type and ip_proto, for context-bound names. */
interface Context {
  ethType?: number;
  ipProto?: number;
}
const holds = (c: Context, w: readonly TextWhen[]) =>
  w.every((x) => {
    const v = x.field === 'eth_type' ? c.ethType : c.ipProto;
    return v !== undefined && x.values.includes(v);
  });

/** The field a name means in a context: a context-bound alias first, then a global name. */
function resolve(name: string, ctx: Context): { row: FieldRow; shift: number } | undefined {
  for (const a of ALIASES.get(name) ?? []) if (holds(ctx, a.when)) return { row: a.row, shift: 0 };
  return BY_NAME.get(name);
}

/**
 * A value of a field's kind from text; `shift` scales it down (nw_tos is ip_dscp << 2). In a
 * match the bits below the shift are dropped, as ovs-ofctl does (nw_tos=5 is nw_tos=4); an
 * action (`strict`) refuses them, as ovs-ofctl does.
 */
function parseValue(row: FieldRow, token: string, at: number, shift = 0, strict = false): Value {
  const addr = ADDRESS[row.kind];
  if (addr) {
    try {
      return fromBig(row.kind, toBig(row.kind, token));
    } catch {
      return fault(token, at, `bad value for ${row.name}`, `expected ${addr.what}`);
    }
  }
  if (row.text.style === 'port') return parsePort(token, at, `value for ${row.name}`);
  const v = parseBig(token, row.bits + shift);
  if (v === undefined) return fault(token, at, `bad value for ${row.name}`, `expected a number of at most ${row.bits + shift} bits`);
  if (strict && v & ((1n << BigInt(shift)) - 1n)) fault(token, at, `bad value for ${row.name}`, `a multiple of ${1 << shift}`);
  return row.kind === 'u64' ? v >> BigInt(shift) : Number(v >> BigInt(shift));
}

/** A mask: the kind's own text, or a prefix length for IP addresses. */
function parseMask(row: FieldRow, token: string, at: number): Value {
  if ((row.kind === 'ipv4' || row.kind === 'ipv6') && /^\d+$/.test(token)) {
    const width = 8 * WIDTH[row.kind];
    const n = Number(token);
    if (n > width) fault(token, at, `bad prefix length for ${row.name}`, `at most ${width}`);
    return fromBig(row.kind, ((1n << BigInt(n)) - 1n) << BigInt(width - n));
  }
  if (ADDRESS[row.kind]) return parseValue(row, token, at);
  const v = parseBig(token, 8 * WIDTH[row.kind]);
  if (v === undefined) fault(token, at, `bad mask for ${row.name}`, `expected a number of at most ${8 * WIDTH[row.kind]} bits`);
  return row.kind === 'u64' ? v! : Number(v);
}

/** value[/mask] as an OXM, the value cut to the mask; undefined for an all-zero mask (a wildcard). */
function parseOxm(row: FieldRow, text: string, at: number, shift: number): Oxm | undefined {
  const slash = text.indexOf('/');
  const valueText = slash < 0 ? text : text.slice(0, slash);
  const value = parseValue(row, valueText, at, shift);
  if (slash < 0) return { field: row.name, value } as Oxm;
  if (!row.maskable) fault(text, at, `${row.name} cannot be masked`);
  const mask = toBig(row.kind, parseMask(row, text.slice(slash + 1), at + slash + 1));
  if (mask === 0n) return undefined;
  const cut = fromBig(row.kind, toBig(row.kind, value) & mask);
  // As ovs-ofctl: an all-ones mask is an exact match.
  if (mask === allOnes(row.kind)) return { field: row.name, value: cut } as Oxm;
  return { field: row.name, value: cut, mask: fromBig(row.kind, mask) } as Oxm;
}

function formatValue(row: FieldRow, v: Value, style: TextStyle = row.text.style): string {
  switch (style) {
    case 'addr':
      return row.kind === 'ipv6' ? formatIpv6(v as string) : (v as string);
    case 'port':
      return formatPort(v as number);
    case 'hex':
      return hex(v as number | bigint);
    case 'hex4':
      return `0x${v.toString(16).padStart(4, '0')}`;
    case 'hex5':
      return `0x${v.toString(16).padStart(5, '0')}`;
    default:
      return String(v);
  }
}

/** A field's value[/mask] as ovs-ofctl prints it in a match. */
function formatMasked(row: FieldRow, v: Value, mask: Value | undefined): string {
  if (mask === undefined || toBig(row.kind, mask) === allOnes(row.kind)) return formatValue(row, v);
  const m = toBig(row.kind, mask);
  if (row.kind === 'ipv4' || row.kind === 'ipv6') {
    const width = 8 * WIDTH[row.kind];
    const p = prefixOf(m, width);
    return `${formatValue(row, v)}/${p >= 0 ? p : formatValue(row, mask)}`;
  }
  if (ADDRESS[row.kind]) return `${v}/${mask}`;
  const style = row.text.style;
  if (style === 'hex5') return `${formatValue(row, v)}/${formatValue(row, mask)}`;
  if (style === 'hex') return `${formatValue(row, v)}/${formatValue(row, mask)}`;
  return `0x${v.toString(16)}/0x${m.toString(16)}`;
}

// ---- the 802.1Q TCI ----------------------------------------------------------------------------
// ovs-ofctl keeps vlan_vid and vlan_pcp as one TCI value and mask: the VID in bits 0-11, the
// CFI bit 12 standing for "a tag is present" (OFPVID_PRESENT in OXM), the PCP in bits 13-15.
// Every VLAN name reads into it; it goes to the wire and comes back as Open vSwitch does.

export interface Tci {
  value: number;
  mask: number;
}
const VID_CFI = 0x1fff;
const CFI = 0x1000;
const PCP = 0xe000;

function tciSet(t: Tci, name: TciName, text: string, at: number): void {
  const slash = text.indexOf('/');
  const valueText = slash < 0 ? text : text.slice(0, slash);
  const maskText = slash < 0 ? undefined : text.slice(slash + 1);
  const noMask = () => maskText !== undefined && fault(text, at, `${name} cannot be masked`);
  switch (name) {
    case 'vlan_tci': {
      const v = uint(valueText, at, 16, 'value for vlan_tci');
      const m = maskText === undefined ? 0xffff : uint(maskText, at + slash + 1, 16, 'mask for vlan_tci');
      t.value = v & m;
      t.mask = m;
      return;
    }
    case 'dl_vlan': {
      noMask();
      const v = uint(valueText, at, 16, 'value for dl_vlan');
      if (v === 0xffff) {
        // No tag at all.
        t.value = 0;
        t.mask = 0xffff;
      } else {
        if (v > 0xfff) fault(valueText, at, 'bad value for dl_vlan', 'a VLAN id is 0 to 4095 (0xffff: no tag)');
        t.value = (t.value & ~VID_CFI) | CFI | v;
        t.mask |= VID_CFI;
      }
      return;
    }
    case 'dl_vlan_pcp':
    case 'vlan_pcp': {
      noMask();
      const p = uint(valueText, at, 3, `value for ${name}`);
      t.value = (t.value & ~PCP) | (p << 13) | CFI;
      t.mask |= PCP | CFI;
      return;
    }
    case 'vlan_vid': {
      const v = uint(valueText, at, 13, 'value for vlan_vid');
      const m = (maskText === undefined ? 0xffff : uint(maskText, at + slash + 1, 16, 'mask for vlan_vid')) & VID_CFI;
      t.value = (t.value & ~VID_CFI) | (v & m);
      t.mask = m | (t.mask & PCP);
      return;
    }
  }
}

/** The OXMs a TCI goes to the wire as (as Open vSwitch writes them). */
function tciOxms(t: Tci): Oxm[] {
  const out: Oxm[] = [];
  const vid = t.value & VID_CFI;
  const vm = t.mask & VID_CFI;
  if (vm === VID_CFI) out.push({ field: 'vlan_vid', value: vid });
  else if (vm) out.push({ field: 'vlan_vid', value: vid, mask: vm });
  if (vid && t.mask & PCP) out.push({ field: 'vlan_pcp', value: (t.value >> 13) & 7 });
  return out;
}

/** The TCI of a match's vlan_vid and vlan_pcp, as Open vSwitch reads them. */
function tciOf(vid: OxmBasic | undefined, pcp: OxmBasic | undefined): Tci {
  const t: Tci = { value: 0, mask: 0 };
  if (vid) {
    const m = (vid.mask === undefined ? 0xffff : (vid.mask as number)) & VID_CFI;
    t.value = (vid.value as number) & m;
    t.mask = m;
  }
  if (pcp) {
    t.value = (t.value & ~PCP) | (((pcp.value as number) & 7) << 13) | CFI;
    t.mask |= PCP | CFI;
  }
  return t;
}

/** A TCI as ovs-ofctl prints it; `index` names an inner tag of a frame's flow (dl_vlan1, vlan_tci1). */
export function formatTci(t: Tci, index = ''): string[] {
  if (!t.mask) return [];
  const vm = t.mask & 0xfff;
  const pm = t.mask & PCP;
  if (t.mask & t.value & CFI && (vm === 0 || vm === 0xfff) && (pm === 0 || pm === PCP) && (vm || pm)) {
    const out: string[] = [];
    if (vm) out.push(`dl_vlan${index}=${t.value & 0xfff}`);
    if (pm) out.push(`dl_vlan_pcp${index}=${(t.value >> 13) & 7}`);
    return out;
  }
  const hex4 = (x: number) => `0x${x.toString(16).padStart(4, '0')}`;
  return [t.mask === 0xffff ? `vlan_tci${index}=${hex4(t.value)}` : `vlan_tci${index}=${hex4(t.value)}/${hex4(t.mask)}`];
}

// ---- matches -----------------------------------------------------------------------------------

const OXM_ORDER = new Map((Object.keys(OXM_FIELDS) as OxmFieldName[]).map((n, i) => [n, i]));
/** OXMs in OXM-number order: how the parser gives a match, one OXM a field. */
const byOxmOrder = (a: Oxm, b: Oxm) => OXM_ORDER.get(a.field as OxmFieldName)! - OXM_ORDER.get(b.field as OxmFieldName)!;

/** Collects a match from items in any order, as ovs-ofctl does: a later item replaces an earlier one. */
class MatchBuilder {
  private fields = new Map<OxmFieldName, Oxm | undefined>();
  private tci?: Tci;
  private pending: Item[] = [];

  /** Takes an item if it is part of a match. */
  take(item: Item): boolean {
    if (SHORTHAND.has(item.key) || TCI.has(item.key) || BY_NAME.has(item.key) || ALIASES.has(item.key)) {
      if (!SHORTHAND.has(item.key)) need(item);
      this.pending.push(item);
      return true;
    }
    return false;
  }

  /** The context the items set: shorthands, eth_type and (outside ARP) ip_proto. */
  private context(): Context {
    const ctx: Context = {};
    for (const it of this.pending) {
      const s = SHORTHAND.get(it.key);
      if (s) ctx.ethType = s.ethType;
      else if (BY_NAME.get(it.key)?.row.name === 'eth_type') ctx.ethType = Number(parseValue(ROWS.get('eth_type')!, it.value!, it.valueAt));
    }
    for (const it of this.pending) {
      const s = SHORTHAND.get(it.key);
      if (s?.ipProto !== undefined) ctx.ipProto = s.ipProto;
      else if (!s && resolve(it.key, ctx)?.row.name === 'ip_proto') {
        ctx.ipProto = Number(parseValue(ROWS.get('ip_proto')!, it.value!, it.valueAt));
      }
    }
    return ctx;
  }

  build(): Match {
    const ctx = this.context();
    for (const it of this.pending) {
      const s = SHORTHAND.get(it.key);
      if (s) {
        if (it.value !== undefined) fault(it.key, it.at, 'a protocol shorthand takes no value:');
        this.fields.set('eth_type', { field: 'eth_type', value: s.ethType });
        if (s.ipProto !== undefined) this.fields.set('ip_proto', { field: 'ip_proto', value: s.ipProto });
      } else if (TCI.has(it.key)) {
        this.tci ??= { value: 0, mask: 0 };
        tciSet(this.tci, it.key as TciName, it.value!, it.valueAt);
      } else {
        const r = resolve(it.key, ctx)!;
        this.fields.set(r.row.name, parseOxm(r.row, it.value!, it.valueAt, r.shift));
      }
    }
    const out = [...this.fields.values()].filter((f): f is Oxm => f !== undefined && f.field !== 'vlan_vid' && f.field !== 'vlan_pcp');
    if (this.tci) out.push(...tciOxms(this.tci));
    return out.sort(byOxmOrder);
  }
}

/** Reads a match alone: `tcp,nw_src=10.0.0.0/8,tp_dst=80`. */
export function parseMatch(text: string): TextResult<Match> {
  return attempt(() => {
    const b = new MatchBuilder();
    for (const it of items(text, 0, '=')) if (!b.take(it)) fault(it.key, it.at, 'unknown field');
    return b.build();
  });
}

/**
 * The error Open vSwitch's decoder gives a match it cannot hold, or undefined: a mask on a
 * field it cannot mask (OFPBMC_BAD_MASK). The message printers (print.ts) print it as OVS does.
 */
export function ovsMatchError(m: Match): string | undefined {
  for (const f of m) {
    if (f.field === 'opaque' || f.mask === undefined) continue;
    const row = ROWS.get(f.field as OxmFieldName);
    if (row && !row.maskable) return 'OFPBMC_BAD_MASK';
  }
}

/** The basic fields of a match by name (the last of a name, as a switch would refuse a duplicate anyway). */
function fieldsOf(m: Match): Map<string, OxmBasic> {
  const out = new Map<string, OxmBasic>();
  for (const f of m) if (f.field !== 'opaque') out.set(f.field, f);
  return out;
}

function contextOf(fields: Map<string, OxmBasic>): Context {
  const exact = (name: string) => {
    const f = fields.get(name);
    return f && f.mask === undefined ? (f.value as number) : undefined;
  };
  return { ethType: exact('eth_type'), ipProto: exact('ip_proto') };
}

/** The name a field is printed under: the context-bound ovs-ofctl name if it reads back as this field. */
function printName(row: FieldRow, ctx: Context): string {
  const p = row.text.print;
  if (p && (!p.when || holds(ctx, p.when)) && resolve(p.name, ctx)?.row === row) return p.name;
  return row.text.names[0];
}

/**
 * A match as ovs-ofctl prints it for OpenFlow 1.3, priority first unless it is the
 * default 32768 (or left out): `priority=5,tcp,nw_src=10.0.0.0/8,tp_dst=80`. Empty for a
 * match of everything. OXMs of other classes, which ovs-ofctl would name, print in the
 * codec's opaque form at the end. `after` puts items of Open vSwitch's flow that OpenFlow
 * has no field for (a frame's nw_ttl, nw_frag...) after a field's place (frame.ts).
 */
export function formatMatch(m: Match, priority?: number, after: Partial<Record<OxmFieldName, readonly string[]>> = {}): string {
  const out: string[] = [];
  if (priority !== undefined && priority !== 0x8000) out.push(`priority=${priority}`);
  const fields = fieldsOf(m);
  const ctx = contextOf(fields);
  const done = new Set<string>();
  const eth = fields.get('eth_type');
  if (eth && eth.mask === undefined) {
    const proto = fields.get('ip_proto');
    const p = proto && proto.mask === undefined ? (proto.value as number) : undefined;
    const s =
      SHORTHANDS.find((x) => x.ethType === eth.value && x.ipProto !== undefined && x.ipProto === p) ??
      SHORTHANDS.find((x) => x.ethType === eth.value && x.ipProto === undefined);
    if (s) {
      out.push(s.name);
      done.add('eth_type');
      if (s.ipProto !== undefined) done.add('ip_proto');
    }
  }
  const fieldText = (row: FieldRow): string[] => {
    if (done.has(row.name)) return [];
    if (row.text.tci) return row.name === 'vlan_vid' ? formatTci(tciOf(fields.get('vlan_vid'), fields.get('vlan_pcp'))) : [];
    const f = fields.get(row.name);
    if (!f) return [];
    if (f.mask !== undefined && toBig(row.kind, f.mask) === 0n) return []; // a wildcard, as ovs-ofctl leaves it out
    const sc = row.text.scaled;
    if (sc && f.mask === undefined && (f.value as number) < 1 << (8 - sc.shift)) return [`${sc.name}=${(f.value as number) << sc.shift}`];
    return [`${printName(row, ctx)}=${formatMasked(row, f.value, f.mask)}`];
  };
  for (const row of ROWS.values()) out.push(...fieldText(row), ...(after[row.name] ?? []));
  for (const f of m) if (f.field === 'opaque') out.push(oxm.format(f));
  return out.join(',');
}

// ---- actions -------------------------------------------------------------------------------------

type ActionOf<K extends Action['type']> = Extract<Action, { type: K }>;

/** What a parser of an action knows: the match (for mod_tp_src's protocol) and whether a tag is there. */
interface ActionContext {
  ctx: Context;
  vlan: boolean;
}

/** The text of each action of ACTIONS: its keyword and how its argument reads and prints. */
interface ActionText<K extends Action['type']> {
  /** Reads `keyword[:arg]`; `arg` is undefined for a bare keyword. */
  parse?: (arg: string | undefined, at: number, keyword: string) => ActionOf<K>;
  format: (a: ActionOf<K>) => string;
}

type NoArg = 'copy_ttl_out' | 'copy_ttl_in' | 'dec_mpls_ttl' | 'pop_vlan' | 'dec_nw_ttl' | 'pop_pbb';
const noArg = <K extends NoArg>(type: K, text: string): ActionText<K> => ({
  parse: (arg, at, kw) => {
    if (arg !== undefined) fault(kw, at, `${kw} takes no argument:`);
    return { type } as ActionOf<K>;
  },
  format: () => text,
});

/** push_vlan:0x8100 and the like; ovs-ofctl pads some ethertypes to 4 digits (pop_mpls:0x0800), not push_vlan's. */
const ethertypeArg = <K extends 'push_vlan' | 'push_mpls' | 'pop_mpls' | 'push_pbb'>(type: K, pad: number): ActionText<K> => ({
  parse: (arg, at, kw) => ({ type, ethertype: uint(arg ?? '', at, 16, `ethertype for ${kw}`) }) as ActionOf<K>,
  format: (a) => `${type}:0x${(a as { ethertype: number }).ethertype.toString(16).padStart(pad, '0')}`,
});

/** Keyed by action type; the keyword is the type's name unless noted. */
const ACTION_TEXT: { [K in Action['type']]: ActionText<K> } = {
  output: {
    parse: (arg, at) => {
      const port = parsePort(arg ?? '', at, 'output port');
      return { type: 'output', port, maxLen: port === OFPP.CONTROLLER ? 0xffff : 0 };
    },
    format: (a) => {
      if (a.port === OFPP.CONTROLLER) return `CONTROLLER:${a.maxLen}`;
      if (a.port >= OFPP.IN_PORT && a.port !== OFPP.ANY) return formatPort(a.port);
      return `output:${formatPort(a.port)}`;
    },
  },
  copy_ttl_out: noArg('copy_ttl_out', 'copy_ttl_out'),
  copy_ttl_in: noArg('copy_ttl_in', 'copy_ttl_in'),
  set_mpls_ttl: {
    parse: (arg, at) => ({ type: 'set_mpls_ttl', mplsTtl: uint(arg ?? '', at, 8, 'TTL') }),
    format: (a) => `set_mpls_ttl(${a.mplsTtl})`,
  },
  dec_mpls_ttl: noArg('dec_mpls_ttl', 'dec_mpls_ttl'),
  push_vlan: ethertypeArg('push_vlan', 1),
  pop_vlan: noArg('pop_vlan', 'pop_vlan'),
  push_mpls: ethertypeArg('push_mpls', 4),
  pop_mpls: ethertypeArg('pop_mpls', 4),
  set_queue: {
    parse: (arg, at) => ({ type: 'set_queue', queueId: uint(arg ?? '', at, 32, 'queue id') }),
    format: (a) => `set_queue:${a.queueId}`,
  },
  group: {
    parse: (arg, at) => ({ type: 'group', groupId: uint(arg ?? '', at, 32, 'group id') }),
    format: (a) => `group:${a.groupId}`,
  },
  set_nw_ttl: {
    parse: (arg, at) => ({ type: 'set_nw_ttl', nwTtl: uint(arg ?? '', at, 8, 'TTL') }),
    format: (a) => `mod_nw_ttl:${a.nwTtl}`,
  },
  dec_nw_ttl: noArg('dec_nw_ttl', 'dec_ttl'),
  set_field: { format: (a) => formatSetField(a.field) },
  push_pbb: ethertypeArg('push_pbb', 4),
  pop_pbb: noArg('pop_pbb', 'pop_pbb'),
  // ovs-ofctl names vendors' actions by what they do; tsof keeps them opaque and cannot read them.
  experimenter: { format: (a) => formatExperimenter(a) },
};

/** Vendors' actions and instructions, kept opaque: no ovs-ofctl syntax reads them back. */
function formatExperimenter(x: { experimenter: number; data: Uint8Array }): string {
  return `experimenter(0x${x.experimenter.toString(16)},${Array.from(x.data, (b) => b.toString(16).padStart(2, '0')).join('')})`;
}

/** Keywords that are another name of an action: ovs-ofctl's spellings. */
const ACTION_KEYWORDS = new Map<string, Action['type']>([
  ...(Object.keys(ACTIONS) as Action['type'][]).filter((t) => ACTION_TEXT[t].parse).map((t) => [t, t] as const),
  ['dec_ttl', 'dec_nw_ttl'],
  ['mod_nw_ttl', 'set_nw_ttl'],
  ['strip_vlan', 'pop_vlan'],
]);

function formatSetField(o: Oxm): string {
  if (o.field === 'opaque') return `set_field:${oxm.format(o)}`;
  const row = ROWS.get(o.field)!;
  const value = formatValue(row, o.value, row.text.setStyle ?? row.text.style);
  const mask = o.mask === undefined ? '' : `/${formatValue(row, o.mask, row.text.setStyle ?? row.text.style)}`;
  return `set_field:${value}${mask}->${row.text.set ?? row.text.names[0]}`;
}

/**
 * set_field:VALUE->FIELD, or a shorthand (mod_dl_src:VALUE) that sets `name`. set_field takes
 * the global names only (icmp_type is ICMPv4's), the shorthands are read in the match's
 * context (mod_tp_src sets udp_src in a udp flow).
 */
function parseSetField(
  name: string,
  valueText: string,
  at: number,
  nameAt: number,
  ac: ActionContext,
  out: Action[],
  inContext = false,
): void {
  if (TCI.has(name)) {
    // dl_vlan (mod_vlan_vid) is a VID that sets the present bit too; vlan_vid is OXM's value as it is.
    if (name === 'vlan_tci') fault(name, nameAt, 'OpenFlow 1.3 cannot set', 'set vlan_vid and vlan_pcp');
    const pcp = name === 'vlan_pcp' || name === 'dl_vlan_pcp';
    const v = uint(valueText, at, name === 'dl_vlan' ? 12 : pcp ? 3 : 13, `value for ${name}`);
    const field: Oxm = pcp ? { field: 'vlan_pcp', value: v } : { field: 'vlan_vid', value: name === 'dl_vlan' ? v | CFI : v };
    out.push({ type: 'set_field', field });
    return;
  }
  const r = inContext ? resolve(name, ac.ctx) : BY_NAME.get(name);
  if (!r) return fault(name, nameAt, 'unknown field');
  if (valueText.includes('/')) fault(valueText, at, `set_field of ${r.row.name} takes no mask in OpenFlow 1.3:`);
  out.push({ type: 'set_field', field: { field: r.row.name, value: parseValue(r.row, valueText, at, r.shift, true) } as Oxm });
}

function parseAction(it: Item, ac: ActionContext, out: Action[]): void {
  const kw = it.key.toLowerCase();
  if (kw === 'drop' && it.value === undefined) return;
  if (kw === 'set_field' || kw === 'load') {
    const v = need(it);
    const arrow = v.lastIndexOf('->');
    if (arrow < 0) fault(v, it.valueAt, 'set_field needs VALUE->FIELD, not');
    parseSetField(v.slice(arrow + 2), v.slice(0, arrow), it.valueAt, it.valueAt + arrow + 2, ac, out);
    return;
  }
  // Own keys only: a line is no place to reach Object.prototype (__proto__).
  const setName = Object.hasOwn(SET_SHORTHANDS, kw) ? SET_SHORTHANDS[kw] : undefined;
  if (setName) {
    const v = need(it);
    if (setName === 'dl_vlan' || setName === 'vlan_pcp') {
      if (!ac.vlan) {
        out.push({ type: 'push_vlan', ethertype: 0x8100 });
        ac.vlan = true;
      }
    }
    if ((setName === 'tp_src' || setName === 'tp_dst') && ac.ctx.ipProto === undefined) {
      fault(it.key, it.at, `${it.key} needs tcp, udp or sctp in the match:`);
    }
    parseSetField(setName, v, it.valueAt, it.at, ac, out, true);
    return;
  }
  if (kw === 'controller' || (kw === 'output' && it.value?.toLowerCase() === 'controller')) {
    // CONTROLLER, CONTROLLER:N, controller(max_len=N)
    let maxLen = 0xffff;
    if (kw === 'controller' && it.value !== undefined) {
      const m = it.sep === '(' ? /^max_len=(.*)$/.exec(it.value) : [it.value, it.value];
      if (!m) fault(it.value, it.valueAt, 'controller() takes max_len=N only, not');
      maxLen = uint(m![1], it.valueAt + (it.sep === '(' ? 8 : 0), 16, 'max_len');
    }
    out.push({ type: 'output', port: OFPP.CONTROLLER, maxLen });
    return;
  }
  const type = ACTION_KEYWORDS.get(kw);
  if (type) {
    out.push(ACTION_TEXT[type].parse!(it.value, it.valueAt, it.key) as Action);
    if (type === 'push_vlan') ac.vlan = true;
    if (type === 'pop_vlan') ac.vlan = false;
    return;
  }
  // A bare port: a number or a reserved name (output:N).
  if (it.value === undefined && (PORT_NAMES.has(kw) || /^(0x[0-9a-f]+|[0-9]+)$/i.test(kw))) {
    const port = parsePort(it.key, it.at, 'output port');
    out.push({ type: 'output', port, maxLen: port === OFPP.CONTROLLER ? 0xffff : 0 });
    return;
  }
  fault(it.key, it.at, 'unknown action');
}

/** Actions in ovs-ofctl's syntax, e.g. a group bucket's: `push_vlan:0x8100,set_field:4100->vlan_vid,output:1`. */
export function parseActions(text: string, matchContext: Match = []): TextResult<Action[]> {
  return attempt(() => actionsOf(text, 0, matchContext));
}

/**
 * What actions start from: the match's eth_type and ip_proto, and whether it guarantees a VLAN
 * tag. The tag is then followed through pushes and pops, into the write_actions after the
 * apply actions, as ovs-ofctl does when it decides whether mod_vlan_vid must push one.
 */
function actionContext(m: Match): ActionContext {
  const fields = fieldsOf(m);
  const vid = fields.get('vlan_vid');
  const vlan = !!vid && ((vid.value as number) & (vid.mask === undefined ? 0xffff : (vid.mask as number)) & CFI) !== 0;
  return { ctx: contextOf(fields), vlan };
}

function actionsOf(text: string, base: number, m: Match): Action[] {
  const ac = actionContext(m);
  const out: Action[] = [];
  for (const it of items(text, base, ':')) parseAction(it, ac, out);
  return out;
}

/** Actions as ovs-ofctl prints them: comma-separated, `drop` for none. */
export function formatActions(actions: readonly Action[]): string {
  return actions.length ? actions.map((a) => (ACTION_TEXT[a.type].format as (x: Action) => string)(a)).join(',') : 'drop';
}

// ---- instructions ---------------------------------------------------------------------------------

type InstrOf<K extends Instruction['type']> = Extract<Instruction, { type: K }>;

/**
 * The text of each instruction, in the one order ovs-ofctl takes and prints them (apply_actions
 * is the bare action list). `parse` reads `keyword[:arg]` or `keyword(arg)`.
 */
interface InstructionText<K extends Instruction['type']> {
  rank: number;
  parse?: (it: Item, ac: ActionContext) => InstrOf<K>;
  format: (i: InstrOf<K>) => string;
}
const INSTRUCTION_TEXT: { [K in Instruction['type']]: InstructionText<K> } = {
  meter: {
    rank: 0,
    parse: (it) => ({ type: 'meter', meterId: uint(need(it), it.valueAt, 32, 'meter id') }),
    format: (i) => `meter:${i.meterId}`,
  },
  apply_actions: { rank: 1, format: (i) => formatActions(i.actions) },
  clear_actions: {
    rank: 2,
    parse: (it) => {
      if (it.value !== undefined) fault(it.key, it.at, 'clear_actions takes no argument:');
      return { type: 'clear_actions' };
    },
    format: () => 'clear_actions',
  },
  write_actions: {
    rank: 3,
    parse: (it, ac) => {
      if (it.sep !== '(') fault(it.key, it.at, 'write_actions needs (ACTIONS):');
      const actions: Action[] = [];
      for (const a of items(it.value!, it.valueAt, ':')) parseAction(a, ac, actions);
      return { type: 'write_actions', actions };
    },
    format: (i) => `write_actions(${formatActions(i.actions)})`,
  },
  write_metadata: {
    rank: 4,
    parse: (it) => {
      const v = need(it);
      const slash = v.indexOf('/');
      const metadata = uint64(slash < 0 ? v : v.slice(0, slash), it.valueAt, 'metadata');
      const metadataMask = slash < 0 ? 0xffff_ffff_ffff_ffffn : uint64(v.slice(slash + 1), it.valueAt + slash + 1, 'metadata mask');
      return { type: 'write_metadata', metadata, metadataMask };
    },
    format: (i) => `write_metadata:${hex(i.metadata)}${i.metadataMask === 0xffff_ffff_ffff_ffffn ? '' : `/${hex(i.metadataMask)}`}`,
  },
  goto_table: {
    rank: 5,
    parse: (it) => ({ type: 'goto_table', tableId: uint(need(it), it.valueAt, 8, 'table') }),
    format: (i) => `goto_table:${i.tableId}`,
  },
  experimenter: {
    rank: 6,
    format: (i) => formatExperimenter(i),
  },
};

/** Instructions in ovs-ofctl's syntax: `meter:1,dec_ttl,output:2,write_metadata:0x1/0xff,goto_table:3`. */
export function parseInstructions(text: string, matchContext: Match = []): TextResult<Instruction[]> {
  return attempt(() => instructionsOf(text, 0, matchContext));
}

function instructionsOf(text: string, base: number, m: Match): Instruction[] {
  const ac = actionContext(m);
  const out: Instruction[] = [];
  let apply: Action[] | undefined;
  let rank = -1;
  let last = '';
  const step = (name: keyof typeof INSTRUCTION_TEXT, it: Item) => {
    const r = INSTRUCTION_TEXT[name].rank;
    if (r < rank || (r === rank && name !== 'apply_actions')) {
      const why = 'ovs-ofctl takes instructions in one order: meter, actions, clear_actions, write_actions, write_metadata, goto_table';
      fault(it.key, it.at, r === rank ? `${name} given twice:` : `${name} must come before ${last}:`, why);
    }
    rank = r;
    last = name === 'apply_actions' ? 'the actions' : name;
  };
  for (const it of items(text, base, ':')) {
    const kw = it.key.toLowerCase();
    const named = Object.hasOwn(INSTRUCTION_TEXT, kw) && kw !== 'apply_actions' && kw !== 'experimenter';
    const instr = named ? (kw as Instruction['type']) : undefined;
    if (instr) {
      step(instr, it);
      out.push(INSTRUCTION_TEXT[instr].parse!(it, ac) as Instruction);
      continue;
    }
    if (kw === 'drop' && it.value === undefined) continue;
    step('apply_actions', it);
    if (!apply) {
      apply = [];
      out.push({ type: 'apply_actions', actions: apply });
    }
    parseAction(it, ac, apply);
  }
  // An action list that came to nothing (drop, write_actions()) is no instruction, as ovs-ofctl writes none.
  return out.filter((i) => (i.type !== 'apply_actions' && i.type !== 'write_actions') || i.actions.length > 0);
}

/**
 * Instructions as ovs-ofctl prints them after `actions=`, in its one order whatever the wire
 * order: `meter:1,output:2,clear_actions,write_actions(...),write_metadata:0x1/0xff,goto_table:3`;
 * `drop` when there is nothing to do.
 */
export function formatInstructions(instructions: readonly Instruction[]): string {
  const sorted = [...instructions]
    .filter((i) => i.type !== 'apply_actions' || i.actions.length > 0)
    .sort((a, b) => INSTRUCTION_TEXT[a.type].rank - INSTRUCTION_TEXT[b.type].rank);
  return sorted.length ? sorted.map((i) => (INSTRUCTION_TEXT[i.type].format as (x: Instruction) => string)(i)).join(',') : 'drop';
}

// ---- flows ------------------------------------------------------------------------------------------

export type FlowModCommand = 'add' | 'modify' | 'modify_strict' | 'delete' | 'delete_strict';
const COMMANDS: Record<FlowModCommand, number> = {
  add: OFPFC.ADD,
  modify: OFPFC.MODIFY,
  modify_strict: OFPFC.MODIFY_STRICT,
  delete: OFPFC.DELETE,
  delete_strict: OFPFC.DELETE_STRICT,
};

/** Flow flags by the word ovs-ofctl uses for each, in the order it prints them. */
const FLAG_WORDS: readonly [string, number][] = [
  ['send_flow_rem', OFPFF.SEND_FLOW_REM],
  ['check_overlap', OFPFF.CHECK_OVERLAP],
  ['reset_counts', OFPFF.RESET_COUNTS],
  ['no_packet_counts', OFPFF.NO_PKT_COUNTS],
  ['no_byte_counts', OFPFF.NO_BYT_COUNTS],
];
const FLAGS = new Map(FLAG_WORDS);

/** dump-flows columns that ovs-ofctl ignores on input, so its output can be fed back. */
const STATS_KEYS = new Set(['duration', 'n_packets', 'n_bytes', 'idle_age', 'hard_age']);

export type FlowMod = MessageOf<'flow_mod'>;

/**
 * Reads one flow in ovs-ofctl's syntax into a flow_mod (xid 0; encodeMessage(msg, xid) numbers
 * it). `command` says what the line is for, as the ovs-ofctl verb would (add-flow: 'add',
 * del-flows: 'delete'...); each command takes the keys ovs-ofctl takes for it:
 * table, priority, cookie (with a mask for all but add), idle_timeout and hard_timeout, the
 * flags, out_port and out_group (deletes), the match, and actions= (add and modify).
 * Defaults as ovs-ofctl: priority 32768, table 0 for add and modify and all tables (255) for
 * deletes, no timeouts, no buffer, out_port and out_group ANY.
 */
export function parseFlow(text: string, opts: { command?: FlowModCommand } = {}): TextResult<FlowMod> {
  const command = opts.command ?? 'add';
  return attempt(() => {
    const isAdd = command === 'add';
    const isMod = command === 'modify' || command === 'modify_strict';
    const takesActions = isAdd || isMod;
    const takesPriority = command !== 'delete';
    const takesOut = command === 'delete' || command === 'delete_strict';

    let head = text;
    let actionsText: string | undefined;
    let actionsAt = 0;
    const a = /(^|[\s,])actions?=/.exec(text);
    if (a) {
      const start = a.index + a[1].length;
      if (!takesActions) fault('actions', start, `${command} takes no`, 'only add and modify flows have actions');
      head = text.slice(0, a.index);
      actionsAt = start + a[0].length - a[1].length;
      actionsText = text.slice(actionsAt);
    } else if (takesActions) {
      fault(text.trim().slice(0, 40), 0, 'missing actions= in', 'a flow to add or modify needs actions= (actions=drop for none)');
    }

    const msg: FlowMod = {
      type: 'flow_mod',
      xid: 0,
      cookie: 0n,
      cookieMask: 0n,
      tableId: 0xff,
      command: COMMANDS[command],
      idleTimeout: 0,
      hardTimeout: 0,
      priority: 0x8000,
      bufferId: OFP_NO_BUFFER,
      outPort: OFPP.ANY,
      outGroup: OFPG.ANY,
      flags: 0,
      match: [],
      instructions: [],
    };
    const match = new MatchBuilder();
    const seen = new Map<string, number>();
    for (const it of items(head, 0, '=')) {
      if (match.take(it)) continue;
      const flag = FLAGS.get(it.key);
      if (flag !== undefined && takesActions && it.value === undefined) {
        msg.flags |= flag;
        continue;
      }
      if (STATS_KEYS.has(it.key)) continue;
      const known = [
        'table',
        'cookie',
        ...(takesPriority ? ['priority'] : []),
        ...(takesActions ? ['idle_timeout', 'hard_timeout'] : []),
        ...(takesOut ? ['out_port', 'out_group'] : []),
      ];
      if (!known.includes(it.key)) {
        if (flag !== undefined || ['priority', 'idle_timeout', 'hard_timeout', 'out_port', 'out_group'].includes(it.key)) {
          fault(it.key, it.at, `${command} takes no`);
        }
        if (it.key === 'importance') fault(it.key, it.at, 'not in OpenFlow 1.3:', 'importance is OpenFlow 1.4');
        fault(it.key, it.at, 'unknown field');
      }
      seen.set(it.key, it.at);
      const v = need(it);
      switch (it.key) {
        case 'table':
          msg.tableId = v.toLowerCase() === 'all' ? 0xff : uint(v, it.valueAt, 8, 'table');
          break;
        case 'priority':
          msg.priority = uint(v, it.valueAt, 16, 'priority');
          break;
        case 'idle_timeout':
          msg.idleTimeout = uint(v, it.valueAt, 16, 'idle_timeout');
          break;
        case 'hard_timeout':
          msg.hardTimeout = uint(v, it.valueAt, 16, 'hard_timeout');
          break;
        case 'out_port':
          msg.outPort = parsePort(v, it.valueAt, 'out_port');
          break;
        case 'out_group':
          msg.outGroup = v.toLowerCase() === 'any' ? OFPG.ANY : v.toLowerCase() === 'all' ? OFPG.ALL : uint(v, it.valueAt, 32, 'out_group');
          break;
        case 'cookie': {
          const slash = v.indexOf('/');
          if (slash < 0) {
            if (takesOut) fault(v, it.valueAt, 'a delete matches a cookie only with a mask:', `cookie=${v}/-1 matches it exactly`);
            // Only an add carries a new cookie in OpenFlow 1.3; a modify without a mask has nowhere to put it.
            if (isAdd) msg.cookie = uint64(v, it.valueAt, 'cookie');
            else uint64(v, it.valueAt, 'cookie');
          } else {
            if (isAdd) fault(v, it.valueAt, 'a flow to add takes no cookie mask:');
            const maskText = v.slice(slash + 1);
            const mask = maskText === '-1' ? 0xffff_ffff_ffff_ffffn : uint64(maskText, it.valueAt + slash + 1, 'cookie mask');
            msg.cookie = uint64(v.slice(0, slash), it.valueAt, 'cookie') & mask;
            msg.cookieMask = mask;
          }
          break;
        }
      }
    }
    msg.match = match.build();
    // As ovs-ofctl: a table of 255 (or none) means every table to a delete and table 0 otherwise.
    if (msg.tableId === 0xff && !takesOut) msg.tableId = 0;
    if (actionsText !== undefined) msg.instructions = instructionsOf(actionsText, actionsAt, msg.match);
    return msg;
  });
}

const COMMAND_NAMES: Record<number, string> = { 0: 'ADD', 1: 'MOD', 2: 'MOD_STRICT', 3: 'DEL', 4: 'DEL_STRICT' };

function flagWords(flags: number): string {
  return FLAG_WORDS.filter(([, bit]) => flags & bit)
    .map(([w]) => `${w} `)
    .join('');
}

/**
 * A flow_mod's body as `ovs-ofctl ofp-print` shows it after the header, e.g.
 * `ADD table:2 priority=5,tcp cookie:0x12 idle:10 send_flow_rem actions=output:3`.
 */
export function formatFlowMod(fm: Omit<FlowMod, 'type' | 'xid'>): string {
  const parts = [COMMAND_NAMES[fm.command] ?? `cmd:${fm.command}`];
  if (fm.tableId !== 0) parts.push(`table:${fm.tableId}`);
  let s = parts.join(' ') + ' ';
  const m = formatMatch(fm.match, fm.priority);
  if (m) s += m + ' ';
  if (fm.command === OFPFC.ADD) {
    // ovs-ofctl keeps all ones as its own "no cookie" mark, so it prints neither.
    if (fm.cookie !== 0n && fm.cookie !== 0xffff_ffff_ffff_ffffn) s += `cookie:0x${fm.cookie.toString(16)} `;
  } else if (fm.cookieMask !== 0n) {
    s += `cookie:0x${fm.cookie.toString(16)}/0x${fm.cookieMask.toString(16)} `;
  }
  if (fm.idleTimeout) s += `idle:${fm.idleTimeout} `;
  if (fm.hardTimeout) s += `hard:${fm.hardTimeout} `;
  if (fm.bufferId !== OFP_NO_BUFFER) s += `buf:0x${fm.bufferId.toString(16)} `;
  if (fm.outPort !== OFPP.ANY) s += `out_port:${formatPort(fm.outPort)} `;
  s += flagWords(fm.flags);
  return `${s}actions=${formatInstructions(fm.instructions)}`;
}

/** ovs-ofctl's durations (ofp_print_duration): whole seconds, or milliseconds when exact, else as many decimals as needed. */
export function formatDuration(sec: number, nsec: number): string {
  if (!nsec) return `${sec}s`;
  if (nsec % 1_000_000 === 0) return `${sec}.${String(nsec / 1_000_000).padStart(3, '0')}s`;
  return `${sec}.${String(nsec).padStart(9, '0').replace(/0+$/, '')}s`;
}

const stat = (v: bigint) => (v === 0xffff_ffff_ffff_ffffn ? '?' : String(v));

/**
 * One flow as `ovs-ofctl dump-flows` prints it (without the leading space):
 * `cookie=0x0, duration=1.5s, table=0, n_packets=0, n_bytes=0, idle_timeout=10, priority=5,tcp actions=drop`.
 * With `stats: false` it is the --no-stats form, which is also a line add-flows reads back.
 */
export function formatFlowStats(
  fs: Omit<FlowStats, 'durationSec' | 'durationNsec' | 'packetCount' | 'byteCount'> & Partial<FlowStats>,
  opts: { stats?: boolean } = {},
): string {
  const stats = opts.stats ?? true;
  let s = '';
  if (stats || fs.cookie) s += `cookie=0x${fs.cookie.toString(16)}, `;
  if (stats) s += `duration=${formatDuration(fs.durationSec ?? 0, fs.durationNsec ?? 0)}, `;
  if (stats || fs.tableId) s += `table=${fs.tableId}, `;
  if (stats) s += `n_packets=${stat(fs.packetCount ?? 0n)}, n_bytes=${stat(fs.byteCount ?? 0n)}, `;
  if (fs.idleTimeout) s += `idle_timeout=${fs.idleTimeout}, `;
  if (fs.hardTimeout) s += `hard_timeout=${fs.hardTimeout}, `;
  s += flagWords(fs.flags);
  const m = formatMatch(fs.match, fs.priority);
  if (m) s += m + ' ';
  return `${s}actions=${formatInstructions(fs.instructions)}`;
}

// ---- groups ------------------------------------------------------------------------------------------

export type GroupModCommand = 'add' | 'modify' | 'delete';
export type GroupMod = MessageOf<'group_mod'>;
type Bucket = GroupMod['buckets'][number];

/** Group types by the word ovs-ofctl uses for each (fast_failover is taken too). */
const GROUP_TYPE_WORDS: readonly string[] = ['all', 'select', 'indirect', 'ff'];
const GROUP_COMMANDS: Record<GroupModCommand, number> = { add: OFPGC.ADD, modify: OFPGC.MODIFY, delete: OFPGC.DELETE };
const GROUP_COMMAND_NAMES: Record<number, string> = { [OFPGC.ADD]: 'ADD', [OFPGC.MODIFY]: 'MOD', [OFPGC.DELETE]: 'DEL' };

/** One bucket: weight, watch_port and watch_group (with ':' or '='), then its actions (`actions=` optional). */
function parseBucket(text: string, at: number, groupType: number): Bucket {
  const bucket: Bucket = { weight: groupType === OFPGT.SELECT ? 1 : 0, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [] };
  const ac = actionContext([]);
  let saidActions = false;
  for (const it of items(text, at, ':=')) {
    switch (it.key.toLowerCase()) {
      case 'weight':
        bucket.weight = uint(need(it), it.valueAt, 16, 'weight');
        break;
      case 'watch_port':
        bucket.watchPort = parsePort(need(it), it.valueAt, 'watch_port');
        break;
      case 'watch_group':
        bucket.watchGroup = uint(need(it), it.valueAt, 32, 'watch_group');
        if (bucket.watchGroup > OFPG.MAX) fault(it.value!, it.valueAt, 'bad watch_group', 'at most 0xffffff00');
        break;
      case 'bucket_id':
        fault(it.key, it.at, 'not in OpenFlow 1.3:', 'bucket ids are OpenFlow 1.5');
        break;
      default:
        saidActions = true;
        if ((it.key === 'actions' || it.key === 'action') && it.sep === '=') {
          for (const a of items(need(it), it.valueAt, ':')) parseAction(a, ac, bucket.actions);
        } else {
          parseAction(it, ac, bucket.actions);
        }
    }
  }
  if (!saidActions) fault(text, at, 'a bucket needs actions (actions=drop for none):');
  if (groupType === OFPGT.FF && bucket.watchPort === OFPP.ANY && bucket.watchGroup === OFPG.ANY) {
    fault(text, at, 'a fast failover bucket needs watch_port or watch_group:');
  }
  return bucket;
}

/**
 * Reads a group in ovs-ofctl's syntax into a group_mod (xid 0), e.g.
 * `group_id=2,type=select,bucket=weight:10,output:1,bucket=weight:20,actions=output:2`.
 * For 'delete' only group_id is taken (group_id=all, or nothing, for every group).
 */
export function parseGroup(text: string, opts: { command?: GroupModCommand } = {}): TextResult<GroupMod> {
  const command = opts.command ?? 'add';
  return attempt(() => {
    const gm: GroupMod = {
      type: 'group_mod',
      xid: 0,
      command: GROUP_COMMANDS[command],
      groupType: OFPGT.ALL,
      groupId: OFPG.ANY,
      buckets: [],
    };
    if (command === 'delete' && text.trim() === '') {
      gm.groupId = OFPG.ALL;
      return gm;
    }
    const b = /(^|[\s,])bucket=/.exec(text);
    const head = b ? text.slice(0, b.index) : text;
    if (b && command === 'delete') fault('bucket', b.index + b[1].length, 'delete takes no');
    let typed = false;
    for (const it of items(head, 0, '=')) {
      const v = need(it);
      if (it.key === 'group_id') {
        gm.groupId = v.toLowerCase() === 'all' ? OFPG.ALL : uint(v, it.valueAt, 32, 'group_id');
        if (gm.groupId > OFPG.MAX && gm.groupId !== OFPG.ALL) fault(v, it.valueAt, 'bad group_id', 'at most 0xffffff00, or all');
      } else if (it.key === 'type' && command !== 'delete') {
        const t = v === 'fast_failover' ? OFPGT.FF : GROUP_TYPE_WORDS.indexOf(v);
        if (t < 0) fault(v, it.valueAt, 'unknown group type', 'all, select, indirect or ff');
        gm.groupType = t;
        typed = true;
      } else fault(it.key, it.at, it.key === 'type' ? 'delete takes no' : 'unknown field');
    }
    if (gm.groupId === OFPG.ANY) fault(text.trim().slice(0, 40), 0, 'missing group_id in');
    if (command !== 'delete' && !typed) fault(text.trim().slice(0, 40), 0, 'missing type= in');
    if (b) {
      // Each bucket runs from its "bucket=" to the next one's.
      const starts: number[] = [];
      const re = /(^|[\s,])bucket=/g;
      for (let m = re.exec(text); m; m = re.exec(text)) starts.push(m.index + m[0].length);
      starts.forEach((start, i) => {
        const end = i + 1 < starts.length ? starts[i + 1] - 'bucket='.length : text.length;
        gm.buckets.push(parseBucket(text.slice(start, end), start, gm.groupType));
      });
    }
    return gm;
  });
}

function formatBucket(b: Bucket, groupType: number): string {
  let s = 'bucket=';
  if (b.weight !== (groupType === OFPGT.SELECT ? 1 : 0)) s += `weight:${b.weight},`;
  if (b.watchPort !== OFPP.ANY) s += `watch_port:${formatPort(b.watchPort)},`;
  if (b.watchGroup !== OFPG.ANY) s += `watch_group:${b.watchGroup},`;
  return `${s}actions=${formatActions(b.actions)}`;
}

/** A group as `ovs-ofctl dump-groups` prints it: `group_id=2,type=select,bucket=weight:10,actions=output:1`. */
export function formatGroup(g: { groupType: number; groupId: number; buckets: readonly Bucket[] }): string {
  const type = GROUP_TYPE_WORDS[g.groupType] ?? 'unknown';
  return [`group_id=${g.groupId},type=${type}`, ...g.buckets.map((b) => formatBucket(b, g.groupType))].join(',');
}

/** A group_mod as `ovs-ofctl ofp-print` shows it on the line after the header: `ADD group_id=1,type=all,bucket=actions=output:1`. */
export function formatGroupMod(gm: Omit<GroupMod, 'type' | 'xid'>): string {
  return `${GROUP_COMMAND_NAMES[gm.command] ?? `cmd:${gm.command}`} ${formatGroup(gm)}`;
}

// ---- meters ------------------------------------------------------------------------------------------

export type MeterModCommand = 'add' | 'modify' | 'delete';
export type MeterMod = MessageOf<'meter_mod'>;
type MeterBand = MeterMod['bands'][number];

const METER_FLAG_WORDS: readonly [string, number][] = [
  ['kbps', OFPMF.KBPS],
  ['pktps', OFPMF.PKTPS],
  ['burst', OFPMF.BURST],
  ['stats', OFPMF.STATS],
];
const METER_IDS: readonly [string, number][] = [
  ['slowpath', OFPM.SLOWPATH],
  ['controller', OFPM.CONTROLLER],
  ['all', OFPM.ALL],
];
const METER_COMMANDS: Record<MeterModCommand, number> = { add: OFPMC.ADD, modify: OFPMC.MODIFY, delete: OFPMC.DELETE };
const METER_COMMAND_NAMES: Record<number, string> = { [OFPMC.ADD]: 'ADD', [OFPMC.MODIFY]: 'MOD', [OFPMC.DELETE]: 'DEL' };

/**
 * Reads a meter in ovs-ofctl's syntax into a meter_mod (xid 0), e.g.
 * `meter=2,pktps,burst,stats,bands=type=drop,rate=100,burst_size=10` (`band=` too). Each
 * `type=` starts a band: drop, or dscp_remark with prec_level. For 'delete' only meter= is taken.
 */
export function parseMeter(text: string, opts: { command?: MeterModCommand } = {}): TextResult<MeterMod> {
  const command = opts.command ?? 'add';
  return attempt(() => {
    const mm: MeterMod = { type: 'meter_mod', xid: 0, command: METER_COMMANDS[command], flags: 0, meterId: 0, bands: [] };
    const b = /(^|[\s,])bands?=/.exec(text);
    if (b && command === 'delete') fault(b[0].replace(/^[\s,]/, ''), b.index + b[1].length, 'delete takes no');
    if (!b && command !== 'delete') fault(text.trim().slice(0, 40), 0, 'missing bands= in');
    const head = b ? text.slice(0, b.index) : text;
    for (const it of items(head, 0, '=')) {
      const flag = METER_FLAG_WORDS.find(([w]) => w === it.key);
      if (flag && it.value === undefined && command !== 'delete') {
        mm.flags |= flag[1];
      } else if (it.key === 'meter') {
        const v = need(it);
        const named = METER_IDS.find(([w]) => w === v.toLowerCase());
        mm.meterId = named ? named[1] : uint(v, it.valueAt, 32, 'meter id');
        if (!named && (mm.meterId === 0 || mm.meterId > OFPM.MAX)) {
          fault(v, it.valueAt, 'bad meter id', 'from 1 to 0xffff0000, or all, controller, slowpath');
        }
      } else fault(it.key, it.at, flag ? 'delete takes no' : 'unknown field');
    }
    if (!mm.meterId) fault(text.trim().slice(0, 40), 0, 'missing meter= in');
    if (command !== 'delete' && !(mm.flags & (OFPMF.KBPS | OFPMF.PKTPS))) {
      fault(text.trim().slice(0, 40), 0, 'a meter needs kbps or pktps:');
    }
    if (!b) return mm;
    const bandsAt = b.index + b[0].length;
    let band: (MeterBand & { at: number }) | undefined;
    const done = () => {
      if (!band) return;
      const { at, ...rest } = band;
      if (rest.type === 'dscp_remark' && !rest.precLevel) fault('type=dscp_remark', at, 'a dscp_remark band needs prec_level:');
      mm.bands.push(rest);
    };
    for (const it of items(text.slice(bandsAt), bandsAt, '=')) {
      const v = need(it);
      if (it.key === 'type') {
        done();
        if (v === 'drop') band = { type: 'drop', rate: 0, burstSize: 0, at: it.at };
        else if (v === 'dscp_remark') band = { type: 'dscp_remark', rate: 0, burstSize: 0, precLevel: 0, at: it.at };
        else fault(v, it.valueAt, 'unknown band type', 'drop or dscp_remark');
      } else if (!band) {
        fault(it.key, it.at, 'a band starts with type=, not');
      } else if (it.key === 'rate') band.rate = uint(v, it.valueAt, 32, 'rate');
      else if (it.key === 'burst_size') {
        if (!(mm.flags & OFPMF.BURST)) fault(it.key, it.at, 'a band has no burst_size without the burst flag:');
        band.burstSize = uint(v, it.valueAt, 32, 'burst_size');
      }
      else if (it.key === 'prec_level' && band.type === 'dscp_remark') band.precLevel = uint(v, it.valueAt, 8, 'prec_level');
      else fault(it.key, it.at, it.key === 'prec_level' ? 'only a dscp_remark band has' : 'unknown band field');
    }
    done();
    if (!mm.bands.length) fault(text.slice(b.index + b[1].length), b.index + b[1].length, 'a meter needs a band:');
    return mm;
  });
}

const formatMeterId = (id: number) => (id <= OFPM.MAX ? String(id) : (METER_IDS.find(([, v]) => v === id)?.[0] ?? 'unknown'));

function formatBand(band: MeterBand, flags: number): string {
  const type = band.type === 'experimenter' ? String(0xffff) : band.type;
  let s = `type=${type} rate=${band.rate}`;
  if (flags & OFPMF.BURST) s += ` burst_size=${band.burstSize}`;
  if (band.type === 'dscp_remark') s += ` prec_level=${band.precLevel}`;
  return s;
}

/**
 * A meter as `ovs-ofctl dump-meters` prints it, one band a line:
 * `meter=2 pktps burst stats bands=\ntype=drop rate=100 burst_size=10`.
 */
export function formatMeter(m: { flags: number; meterId: number; bands: readonly MeterBand[] }): string {
  let s = `meter=${formatMeterId(m.meterId)} `;
  s += METER_FLAG_WORDS.filter(([, bit]) => m.flags & bit)
    .map(([w]) => `${w} `)
    .join('');
  const rest = m.flags & ~(OFPMF.KBPS | OFPMF.PKTPS | OFPMF.BURST | OFPMF.STATS);
  if (rest) s += `flags:0x${rest.toString(16)} `;
  return `${s}bands=${m.bands.map((b) => `\n${formatBand(b, m.flags)}`).join('')}`;
}

/** A meter_mod as `ovs-ofctl ofp-print` shows it after the header: `ADD meter=1 kbps bands=\ntype=drop rate=1000`. */
export function formatMeterMod(mm: Omit<MeterMod, 'type' | 'xid'>): string {
  return `${METER_COMMAND_NAMES[mm.command] ?? `cmd:${mm.command}`} ${formatMeter(mm)}`;
}
