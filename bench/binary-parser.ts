// binary-parser decoders built from tsof's own declarations, timed against tsof's
// compiled decoders on the same bytes (the comparison docs/codec-performance.md
// records). The translator below reads the same MESSAGES, ACTIONS, INSTRUCTIONS
// and OXM_FIELDS tables the codec is compiled from and knows only what FLOW_MOD,
// PACKET_IN and FLOW stats replies need: scalars, addresses, padding, lengths,
// lists, TLV unions and the match.
//
// Usage: npx tsx bench/binary-parser.ts [--seconds N]   (or npm run bench:binary-parser)

// binary-parser 2.3's "exports" map has no "types" entry, so NodeNext resolution
// cannot see its declarations from the package name: they are imported by path.
// @ts-expect-error TS7016, see above
import { Parser as UntypedParser } from 'binary-parser';
import type { Parser as ParserType } from '../node_modules/binary-parser/dist/esm/binary_parser.js';
import {
  decodeMessage,
  match as matchCodec,
  MESSAGES,
  oxm as oxmCodec,
  OXM_FIELDS,
  OFPXMC_OPENFLOW_BASIC,
  type MessageType,
} from '../src/openflow/codec/index.ts';
import {
  ipv4,
  ipv6,
  mac,
  rest,
  u16,
  u32,
  u64,
  u8,
  wireOnly,
  type Codec,
  type ListCodec,
  type StructCodec,
  type TlvCodec,
} from '../src/openflow/codec/schema.ts';
import { ipv4ToString, ipv6ToString, macToString } from '../src/openflow/codec/wire.ts';
import { cases, count, numberArg, rate } from './codec-cases.ts';

const Parser = UntypedParser as typeof ParserType;
type Parser = ParserType;
type Obj = Record<string, any>;
/** Where the structure being parsed ends, from its fields parsed so far. */
type End = (self: Obj) => number;
/** binary-parser calls option functions with `this` set to the object being parsed. */
const ofThis = (f: (self: Obj) => number) =>
  function (this: Obj) {
    return f(this);
  };

const ADDRESSES = [
  [mac, 6, macToString],
  [ipv4, 4, ipv4ToString],
  [ipv6, 16, ipv6ToString],
] as const;

/** Appends one scalar or address field; false when `c` is neither. */
function leaf(p: Parser, name: string, c: Codec<unknown>): boolean {
  const scalar = [u8, u16, u32, u64].findIndex((s) => s.inline === c.inline);
  if (scalar >= 0) {
    p[(['uint8', 'uint16be', 'uint32be', 'uint64be'] as const)[scalar]](name);
    return true;
  }
  const address = ADDRESSES.find(([a]) => a.inline === c.inline);
  if (!address) return false;
  const [, length, text] = address;
  p.buffer(name, { length, formatter: (b: Uint8Array) => text(b, 0) });
  return true;
}

const KINDS: Record<string, Codec<any>> = { u8, u16, u32, u64, mac, ipv4, ipv6 };

/** The OXM value (and mask) parser of each basic field, chosen by (field << 1) | hasMask. */
function oxmParser(): Parser {
  const choices: Record<number, Parser> = {};
  for (const spec of Object.values(OXM_FIELDS)) {
    for (const masked of [0, 1]) {
      const p = new Parser();
      for (const k of masked ? ['value', 'mask'] : ['value']) {
        if (spec.kind === 'u24') p.bit24(k);
        else leaf(p, k, KINDS[spec.kind]);
      }
      choices[(spec.id << 1) | masked] = p;
    }
  }
  return new Parser()
    .uint16be('oxmClass')
    .bit7('field')
    .bit1('hasMask')
    .uint8('length')
    .choice({
      tag: function (this: Obj) {
        return this.oxmClass === OFPXMC_OPENFLOW_BASIC ? (this.field << 1) | this.hasMask : -1;
      },
      choices,
      defaultChoice: new Parser().buffer('data', { length: 'length', clone: true }),
    });
}

const oxm = oxmParser();
const match = new Parser()
  .uint16be('matchType')
  .uint16be('length')
  .array('fields', { type: oxm, lengthInBytes: ofThis((self) => self.length - 4) })
  .seek(ofThis((self) => ((self.length + 7) & ~7) - self.length));

/** A TLV union: the header, the variant's body merged in, then a seek to the end of its length. */
function tlvParser(t: TlvCodec<unknown>, align: number): Parser {
  const end: End = (self) => self._start + self.length;
  const choices: Record<number, Parser> = {};
  for (const [name, code] of Object.entries(t.codes)) choices[code] = fields(new Parser(), t.bodies[name], end);
  return new Parser()
    .saveOffset('_start')
    .uint16be('type')
    .uint16be('length')
    .choice({ tag: 'type', choices })
    .saveOffset('_at')
    .seek(ofThis((self) => self._start + Math.ceil(self.length / align) * align - self._at));
}

/** A list element: a TLV (actions and instructions align to 8), a struct, or a scalar. */
function itemParser(c: Codec<unknown>): Parser {
  if ('codes' in c) return tlvParser(c as TlvCodec<unknown>, 8);
  const s = c as StructCodec<unknown>;
  return fields(new Parser().saveOffset('_start'), s, (self) => self._start + self._length);
}

/** Appends the fields of a struct declaration; `end` tells variable fields where to stop. */
function fields(p: Parser, s: StructCodec<unknown>, end: End): Parser {
  let sized = '';
  for (const [key, c] of Object.entries(s.fields)) {
    const w = wireOnly(c);
    if (w?.kind === 'pad') p.seek(w.width);
    else if (w?.kind === 'selfLength') p.uint16be('_length');
    else if (w?.kind === 'lengthOf') p.uint16be((sized = `_${w.arg}Length`));
    else if (w?.kind === 'trailingPad') continue; // the TLV seeks to its end
    else if (c === matchCodec) p.nest(key, { type: match });
    else if (c === oxmCodec) p.nest(key, { type: oxm });
    else if (c === rest) p.saveOffset('_at').buffer(key, { length: ofThis((self) => end(self) - self._at), clone: true });
    else if ('item' in c) {
      const field = sized;
      const bytes = field ? (self: Obj) => self[field] : (self: Obj) => end(self) - self._at;
      p.saveOffset('_at').array(key, { type: itemParser((c as ListCodec<unknown>).item), lengthInBytes: ofThis(bytes) });
      sized = '';
    } else if ('codes' in c) p.nest(key, { type: tlvParser(c as TlvCodec<unknown>, 1) });
    else if (!leaf(p, key, c)) throw new Error(`no binary-parser translation for field "${key}"`);
  }
  return p;
}

/** A whole message: the OpenFlow header, the multipart header where there is one, the body. */
function messageParser(type: MessageType): Parser {
  const row = MESSAGES[type] as readonly [number, StructCodec<unknown>, number?];
  const p = new Parser().uint8('version').uint8('ofpt').uint16be('length').uint32be('xid');
  if (row.length === 3) p.uint16be('mpType').uint16be('flags').seek(4);
  return fields(p, row[1], (self) => self.length);
}

// ---- the comparison -----------------------------------------------------------

const PARSERS: Record<string, Parser> = {
  flow_mod_learning: messageParser('flow_mod'),
  flow_mod_ryu_4_2: messageParser('flow_mod'),
  packet_in_64: messageParser('packet_in'),
  flow_stats_reply_100: messageParser('flow_stats_reply'),
};

/** The decoded values binary-parser and tsof must agree on, in one comparable form. */
function summary(m: Obj): string {
  const oxms = (fs: Obj[]) => fs.map((f) => `${f.value}/${f.mask ?? ''}`).join(',');
  const actions = (is: Obj[] = []) => is.map((i) => (i.actions ?? []).length).join(',');
  const flows = m.stats ?? [m];
  return flows
    .map((f: Obj) => `${f.cookie ?? ''} ${f.priority ?? ''} ${oxms(f.match.fields ?? f.match)} ${actions(f.instructions)} ${f.data?.length ?? ''}`)
    .join('|');
}

const seconds = numberArg('seconds', 1);
const rows: string[][] = [];
for (const c of cases()) {
  const parser = PARSERS[c.name];
  const r = decodeMessage(c.bytes);
  if (!r.ok || summary(parser.parse(c.bytes)) !== summary(r.msg)) throw new Error(`binary-parser and tsof disagree on ${c.name}`);
  const ours = rate(() => decodeMessage(c.bytes), seconds).cpu;
  const theirs = rate(() => parser.parse(c.bytes), seconds).cpu;
  rows.push([c.name, String(c.bytes.length), count(ours), count(theirs), `${(ours / theirs).toFixed(1)}x`]);
}
const head = ['message', 'bytes', 'tsof decode/cpu-s', 'binary-parser decode/cpu-s', 'tsof / binary-parser'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
console.log(`decoders compiled from the same declarations, ${seconds} s per measurement, node ${process.version}`);
for (const r of [head, ...rows]) console.log(r.map((v, i) => (i ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  '));
