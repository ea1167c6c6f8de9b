// The small language in which every OpenFlow wire structure is described once.
//
// A Codec<T> knows its fixed size (or -1), how to decode T from a Reader up to an
// end offset, how to encode T, and how to print T in the canonical text form. The
// combinators below (scalars, struct, list, tlv) build the codecs for the whole
// protocol from declarations; the TypeScript types of decoded values are inferred
// from the same declarations, so the wire layout and the API cannot drift apart.
//
// The declarations are compiled, not interpreted: struct(), list() and tlv() each
// generate plain JavaScript (new Function) from their field plan, with offsets
// precomputed, fixed-size scalars read and written inline after one length check,
// and every value built as one object literal (one hidden class per structure).
// Scalars carry the source snippets of their reads and writes (Inline), and their
// own decode/encode are compiled from the same snippets. This file is the only
// place that knows what a declaration means; sourceOf(codec) prints the code.
//
// Invariants:
// - decode never reads past `end`: every struct checks its fixed part once, every
//   later run of fixed fields and every variable part checks its own length; a
//   violation throws DecodeError (caught at the public boundary, never seen by
//   users) carrying the OpenFlow error to send.
// - decode(encode(v)) deep-equals v, and encode(decode(bytes)) equals bytes for
//   every input that decodes (lengths are recomputed, never trusted from values).
// - Keys starting with "_" in a struct are wire-only (padding, lengths): they are
//   not part of the value and are computed on encode.
// - A codec whose size is fixed consumes exactly that many bytes.

import { ERR, type OfErrorCode } from './errors.ts';
import {
  copyBytes,
  DecodeError,
  fail,
  ipv4ToString,
  ipv6ToBytes,
  ipv6ToString,
  macToString,
  readStr,
  toHex,
  writeIpv4,
  writeMac,
  writeStr,
  Reader,
  Writer,
} from './wire.ts';

export interface Codec<T> {
  /** Wire size when fixed, -1 when it depends on the value. */
  readonly size: number;
  decode(r: Reader, end: number): T;
  encode(w: Writer, v: T): void;
  format(v: T): string;
  /** For fixed-size leaves: the code struct() inlines for this field. */
  readonly inline?: Inline;
}

export type Infer<C> = C extends Codec<infer T> ? T : never;

/** Registers a value the generated code refers to and returns its identifier. */
export type Ref = (value: unknown, hint: string) => string;

/**
 * Source snippets for reading and writing one fixed-size value. In the generated
 * code `b` is the buffer (Uint8Array), `dv` a DataView on it, `at` an offset
 * expression; the bounds are already checked when a snippet runs.
 */
export interface Inline {
  /** An expression: the value at `at`. */
  read(at: string, ref: Ref): string;
  /** An expression that is true when `v` cannot be written; reject(v) says why. */
  invalid(v: string, ref: Ref): string;
  /** A statement writing a valid `v` at `at` (it may still throw TypeError for bad text). */
  write(at: string, v: string, ref: Ref): string;
  reject(v: unknown): string;
}

/** Copy of a codec with another text form, e.g. enum or flag names. */
export function withFormat<T>(c: Codec<T>, format: (v: T) => string): Codec<T> {
  const copy = { size: c.size, decode: c.decode, encode: c.encode, format, inline: c.inline };
  const source = sources.get(c);
  if (source) sources.set(copy, source);
  return copy;
}

// ---- code generation --------------------------------------------------------

const sources = new WeakMap<object, () => string>();

/** The JavaScript a compiled codec runs, for reading and debugging. */
export function sourceOf(c: Codec<unknown>): string | undefined {
  return sources.get(c)?.();
}

const RESERVED = new Set(
  ('break case catch class const continue debugger default delete do else export extends false finally for function if ' +
    'import in instanceof new null return super switch this throw true try typeof var void while with yield let static ' +
    'enum await implements package protected interface private public arguments eval undefined NaN Infinity')
    .split(' '),
);

/**
 * One generated function: its lines, its local names and the outside values
 * (codecs, helpers) it closes over, passed in as parameters of a wrapper.
 */
class Gen {
  private readonly names = new Set<string>(RESERVED);
  /** Outside values and the names the code knows them by. */
  private readonly refs = new Map<unknown, string>();
  private readonly lines: string[] = [];
  private depth = 1;
  readonly ref: Ref = (value, hint) => {
    let name = this.refs.get(value);
    if (name === undefined) {
      name = this.local(hint);
      this.refs.set(value, name);
    }
    return name;
  };

  /** A fresh identifier that reads like `hint`. */
  local(hint: string): string {
    let base = hint.replace(/[^\w$]/g, '_');
    if (!/^[A-Za-z_$]/.test(base)) base = `_${base}`;
    let name = base;
    for (let i = 2; this.names.has(name); i++) name = `${base}${i}`;
    this.names.add(name);
    return name;
  }

  line(s: string): void {
    if (s.startsWith('}')) this.depth--;
    this.lines.push('  '.repeat(this.depth) + s);
    if (s.endsWith('{')) this.depth++;
  }

  /** Compiles `function name(params) { lines }` with the referenced values in scope. */
  build<F>(name: string, params: string[]): { fn: F; source: string } {
    const fnName = this.local(name);
    const source = `function ${fnName}(${params.join(', ')}) {\n${this.lines.join('\n')}\n}`;
    const factory = new Function(...this.refs.values(), `'use strict';\nreturn ${source}\n//# sourceURL=tsof-codec/${fnName}.js`);
    return { fn: factory(...this.refs.keys()) as F, source };
  }
}

/** What code generators outside this file write with (the OXM encoder in oxm.ts). */
export interface Emitter {
  line(s: string): void;
  readonly ref: Ref;
}

/**
 * Compiles `function name(params) { lines }` from what `emit` writes, for a codec
 * declared outside this file; `locals` are the names its lines declare, which
 * referenced values must not take. register(codec, source) lets sourceOf show it.
 */
export function compile<F>(
  name: string,
  params: string[],
  locals: string[],
  emit: (g: Emitter) => void,
): { fn: F; source: string } {
  const g = new Gen();
  for (const n of [...params, ...locals]) g.local(n);
  emit(g);
  return g.build<F>(name, params);
}

/** Lets sourceOf show the code of a codec built with compile(). */
export function register(c: Codec<any>, source: () => string): void {
  sources.set(c, source);
}

const IDENT = /^[A-Za-z_$][\w$]*$/;
/** `k` as a key in an object literal, and as a property access. */
const literalKey = (k: string) => (IDENT.test(k) ? k : JSON.stringify(k));
const member = (k: string) => (IDENT.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`);
const plus = (base: string, k: number) => (k === 0 ? base : `${base} + ${k}`);
/** Writer.reserve(n) at `at` (=== w.off) with its usual no-op case inline: V8 stops inlining calls in big generated functions. */
const reserve = (at: string, n: number) => `if (${at} + ${n} > w.buf.length) w.reserve(${n});`;

// ---- scalars --------------------------------------------------------------

/** A fixed-size leaf: decode and encode are compiled from its snippets. */
function leaf<T>(size: number, inline: Inline, format: (v: T) => string): Codec<T> {
  const d = new Gen();
  d.line(`const b = r.buf, dv = r.dv, at = r.off;`);
  d.line(`r.off = at + ${size};`);
  d.line(`return ${inline.read('at', d.ref)};`);
  const dec = d.build<Codec<T>['decode']>('decode_leaf', ['r']);
  const e = new Gen();
  const reject = e.ref((v: unknown) => {
    throw new TypeError(inline.reject(v));
  }, 'reject');
  e.line(`if (${inline.invalid('v', e.ref)}) ${reject}(v);`);
  e.line(`w.reserve(${size});`);
  e.line(`const b = w.buf, dv = w.dv, at = w.off;`);
  e.line(inline.write('at', 'v', e.ref));
  e.line(`w.off = at + ${size};`);
  const enc = e.build<Codec<T>['encode']>('encode_leaf', ['w', 'v']);
  const c: Codec<T> = { size, decode: dec.fn, encode: enc.fn, format, inline };
  sources.set(c, () => `${dec.source}\n${enc.source}`);
  return c;
}

function uint(bytes: 1 | 2 | 3 | 4): Codec<number> {
  // (v >>> 0) === v holds exactly for the integers 0..2^32-1; & masks the narrower widths.
  const fits = bytes === 4 ? (v: string) => `(${v} >>> 0) !== ${v}` : (v: string) => `(${v} & 0x${'ff'.repeat(bytes)}) !== ${v}`;
  // A DataView has no 24-bit access: a byte, then 16 bits.
  const read = {
    1: (at: string) => `b[${at}]`,
    2: (at: string) => `dv.getUint16(${at})`,
    3: (at: string) => `((b[${at}] << 16) | dv.getUint16(${at} + 1))`,
    4: (at: string) => `dv.getUint32(${at})`,
  }[bytes];
  const write = {
    1: (at: string, v: string) => `b[${at}] = ${v};`,
    2: (at: string, v: string) => `dv.setUint16(${at}, ${v});`,
    3: (at: string, v: string) => `b[${at}] = ${v} >>> 16; dv.setUint16(${at} + 1, ${v} & 0xffff);`,
    4: (at: string, v: string) => `dv.setUint32(${at}, ${v});`,
  }[bytes];
  return leaf<number>(
    bytes,
    {
      read,
      invalid: (v) => `typeof ${v} !== 'number' || ${fits(v)}`,
      write,
      reject: (v) => `${String(v)} does not fit an unsigned ${8 * bytes}-bit field`,
    },
    String,
  );
}

export const u8 = uint(1);
export const u16 = uint(2);
/** Only OXM's pbb_isid is 24 bits wide. */
export const u24 = uint(3);
export const u32 = uint(4);

export const u64: Codec<bigint> = leaf<bigint>(
  8,
  {
    read: (at) => `dv.getBigUint64(${at})`,
    invalid: (v) => `typeof ${v} !== 'bigint' || ${v} < 0n || ${v} > 0xffffffffffffffffn`,
    write: (at, v) => `dv.setBigUint64(${at}, ${v});`,
    reject: (v) => `${String(v)} does not fit an unsigned 64-bit field (use a bigint)`,
  },
  String,
);

/** Cookies, metadata and datapath ids read best in hex. */
export const hex64 = withFormat(u64, (v) => `0x${v.toString(16)}`);
export const hex32 = withFormat(u32, (v) => `0x${v.toString(16)}`);
export const hex16 = withFormat(u16, (v) => `0x${v.toString(16)}`);

/** Prints the name of a known value and the number of any other. */
export function named<T extends number>(c: Codec<number>, names: Record<number, string>): Codec<T> {
  return withFormat(c, (v) => names[v] ?? String(v)) as Codec<T>;
}

/** Prints set bits by name, unknown bits in hex: "SEND_FLOW_REM|0x100". */
export function flags(c: Codec<number>, names: Record<number, string>): Codec<number> {
  return withFormat(c, (v) => {
    if (v === 0) return '0';
    const out: string[] = [];
    let rest = v;
    for (const [bit, name] of Object.entries(names)) {
      const b = Number(bit);
      if ((v & b) === b && b !== 0) {
        out.push(name);
        rest &= ~b;
      }
    }
    if (rest) out.push(`0x${(rest >>> 0).toString(16)}`);
    return out.join('|');
  });
}

/** An address in its text form; the helpers parse and print it in place. */
function address(n: number, what: string, toString: (b: Uint8Array, at: number) => string, write: (b: Uint8Array, at: number, s: string) => void): Codec<string> {
  return leaf<string>(
    n,
    {
      read: (at, ref) => `${ref(toString, `${what}ToString`)}(b, ${at})`,
      invalid: (v) => `typeof ${v} !== 'string'`,
      write: (at, v, ref) => `${ref(write, `write_${what}`)}(b, ${at}, ${v});`,
      reject: (v) => `not a${what === 'mac' ? '' : 'n'} ${what.toUpperCase()} address: ${String(v)}`,
    },
    (v) => v,
  );
}

export const mac = address(6, 'mac', macToString, writeMac);
export const ipv4 = address(4, 'ipv4', ipv4ToString, writeIpv4);
export const ipv6 = address(16, 'ipv6', ipv6ToString, (b, at, s) => b.set(ipv6ToBytes(s), at));

/** A fixed-width, NUL-padded UTF-8 string (port, table and description names). */
export function str(n: number): Codec<string> {
  return leaf<string>(
    n,
    {
      read: (at, ref) => `${ref(readStr, 'readStr')}(b, ${at}, ${n})`,
      invalid: (v) => `typeof ${v} !== 'string'`,
      write: (at, v, ref) => `${ref(writeStr, 'writeStr')}(b, ${at}, ${n}, ${v});`,
      reject: (v) => `${String(v)} is not a string`,
    },
    (v) => JSON.stringify(v),
  );
}

export function bytes(n: number): Codec<Uint8Array> {
  return leaf<Uint8Array>(
    n,
    {
      read: (at, ref) => `${ref(copyBytes, 'copyBytes')}(b, ${at}, ${at} + ${n})`,
      invalid: (v) => `!(${v} instanceof Uint8Array) || ${v}.length !== ${n}`,
      write: (at, v) => `b.set(${v}, ${at});`,
      reject: (v) => `expected ${n} bytes, got ${v instanceof Uint8Array ? v.length : String(v)}`,
    },
    (v) => `0x${toHex(v)}`,
  );
}

/** All bytes up to the end of the enclosing structure (packet data, opaque bodies). */
export const rest: Codec<Uint8Array> = {
  size: -1,
  decode(r, end) {
    const v = copyBytes(r.buf, r.off, end);
    r.off = end;
    return v;
  },
  encode: (w, v) => w.bytes(v),
  format: (v) => (v.length ? `0x${toHex(v)}` : '""'),
};

// ---- wire-only fields ---------------------------------------------------------

const PAD = Symbol('pad');
const SELF_LENGTH = Symbol('self length');
const LENGTH_OF = Symbol('length of');
const TRAILING_PAD = Symbol('trailing pad');

interface Special {
  special: typeof PAD | typeof SELF_LENGTH | typeof LENGTH_OF | typeof TRAILING_PAD;
  width: number;
  /** lengthOf16: the sized field; trailingPad: the alignment. */
  arg?: string | number;
  /** trailingPad: the error for padding that is not all zeros, where that is checked. */
  nonZero?: OfErrorCode;
}
type SpecialCodec = Codec<never> & Special;

function special(s: Special): SpecialCodec {
  const unused = () => {
    throw new Error('wire-only field used outside a struct');
  };
  return { ...s, size: s.width, decode: unused, encode: unused, format: unused };
}

/** What a wire-only field is, for tools that read declarations (bench/binary-parser.ts). */
export function wireOnly(
  c: Codec<unknown>,
): { kind: 'pad' | 'selfLength' | 'lengthOf' | 'trailingPad'; width: number; arg?: string | number } | undefined {
  const { special: s, width, arg } = c as Codec<unknown> & Partial<Special>;
  if (s === undefined) return undefined;
  const kind = s === PAD ? 'pad' : s === SELF_LENGTH ? 'selfLength' : s === LENGTH_OF ? 'lengthOf' : 'trailingPad';
  return { kind, width: width!, arg };
}

/** n zero bytes on encode; skipped on decode. */
export const pad = (n: number) => special({ special: PAD, width: n });
/**
 * Padding after a variable last field up to the end of its TLV, which the TLV
 * writes when it aligns itself (the OXM in a set_field action). With `nonZero`,
 * padding that is not all zeros is that error (as Open vSwitch checks set_field).
 */
export const trailingPad = (align: number, nonZero?: OfErrorCode) =>
  special({ special: TRAILING_PAD, width: 0, arg: align, nonZero });
/** The length of the enclosing struct, in bytes, as a u16. */
export const selfLength16 = special({ special: SELF_LENGTH, width: 2 });
/** The byte length of the named later field of the same struct, as a u16. */
export const lengthOf16 = (target: string) => special({ special: LENGTH_OF, width: 2, arg: target });

// ---- struct -------------------------------------------------------------------

type Fields = Record<string, Codec<any>>;
export type Shape<F extends Fields> = {
  -readonly [K in keyof F as K extends `_${string}` ? never : K]: Infer<F[K]>;
} & {};

export interface StructOptions {
  /** The error for a length that does not fit; BAD_REQUEST/BAD_LEN by default. */
  lenError?: OfErrorCode;
  /** When set, the structure is followed by padding to this multiple, outside its length field. */
  padTo?: number;
  /** Printed with the value, e.g. "match". */
  name?: string;
}

/** A decoder whose object starts with given keys: tagged(['type'])(r, end, 'output'). */
export type Tagged = (r: Reader, end: number, ...head: unknown[]) => any;

export interface StructCodec<T> extends Codec<T> {
  /**
   * A decoder that builds `{ ...head, ...fields }` as one object literal, the head
   * values passed after `end` (a TLV's "type", a message's type, version and xid).
   */
  tagged(head: readonly string[]): Tagged;
  /** Formats only the fields, "k=v k=v", without the struct's name. */
  formatFields(v: T): string;
  /** The declaration the codec was compiled from. */
  readonly fields: Readonly<Fields>;
  readonly keys: readonly string[];
  readonly minSize: number;
}

interface FieldPlan {
  key: string;
  codec: Codec<any> & Partial<Special>;
}

/** What a struct declaration means, worked out once for the code generators. */
interface Layout {
  plan: FieldPlan[];
  label: string;
  minSize: number;
  variable: boolean;
  selfLength: boolean;
  padTo: number;
  /** The wire size of the run of fixed fields starting at plan[i] (up to the next variable one). */
  runFrom(i: number): number;
  /** Throws the DecodeError of a malformed struct (cold path, kept out of generated code). */
  short(at: number, need: number, end: number): never;
  trailing(at: number, end: number): never;
  badLength(at: number, len: number, room: number): never;
  sizedOverrun(at: number, key: string, len: number): never;
  sizedShort(at: number, key: string): never;
  trailingPadding(at: number, left: number): never;
  nonZeroPadding(at: number, error: OfErrorCode): never;
  noPadding(at: number): never;
  /** Throws the TypeError for an unencodable field value. */
  reject(key: string, v: unknown): never;
}

/** Bytes a field takes in the fixed part: none for variable fields and trailing padding. */
const fixedWidth = (c: Codec<any> & Partial<Special>) => (c.special === TRAILING_PAD ? 0 : Math.max(0, c.size));

function layout(fields: Fields, opts: StructOptions): Layout {
  const plan: FieldPlan[] = Object.entries(fields).map(([key, codec]) => ({ key, codec }));
  const minSize = plan.reduce((n, f) => n + fixedWidth(f.codec), 0);
  const lenError = opts.lenError ?? ERR.BAD_REQUEST.BAD_LEN;
  const label = opts.name ?? 'structure';
  const byKey = new Map(plan.map((f) => [f.key, f.codec]));
  for (let i = 0; i < plan.length; i++) {
    const { codec } = plan[i];
    if (codec.special !== LENGTH_OF) continue;
    const next = plan.slice(i + 1).find((f) => f.codec.size < 0);
    if (next?.key !== codec.arg) throw new Error(`${label}: lengthOf16('${codec.arg}') must precede that variable field`);
  }
  return {
    plan,
    label,
    minSize,
    variable: plan.some((f) => f.codec.size < 0),
    selfLength: plan.some((f) => f.codec.special === SELF_LENGTH),
    padTo: opts.padTo ?? 0,
    runFrom(i) {
      let n = 0;
      for (; i < plan.length && plan[i].codec.size >= 0; i++) n += fixedWidth(plan[i].codec);
      return n;
    },
    short: (at, need, end) => fail(lenError, at, `${label}: needs ${need} bytes, ${end - at} left`),
    trailing: (at, end) => fail(lenError, at, `${label}: ${end - at} unexpected trailing bytes`),
    badLength: (at, len, room) => fail(lenError, at, `${label}: length ${len} outside ${minSize}..${room}`),
    sizedOverrun: (at, k, len) => fail(lenError, at, `${label}: ${k} length ${len} overruns`),
    sizedShort: (at, k) => fail(lenError, at, `${label}: ${k} shorter than its length`),
    trailingPadding: (at, left) => fail(lenError, at, `${label}: ${left} bytes of padding`),
    nonZeroPadding: (at, e) => fail(e, at, `${label}: padding is not all zeros`),
    noPadding: (at) => fail(lenError, at, `${label}: padding to ${opts.padTo} bytes is missing`),
    reject(k, v) {
      if (v === undefined) throw new TypeError(`${label}: missing field "${k}"`);
      const inline = byKey.get(k)?.inline;
      throw new TypeError(inline ? inline.reject(v) : `${label}: bad value for "${k}"`);
    },
  };
}

/** The layout each struct() codec was compiled from, for TLVs that inline a fixed body. */
const layouts = new WeakMap<object, Layout>();
/**
 * The statements with which each tlv() codec encodes `v`, for lists to write in their
 * loop: a TLV encoder is too big for V8 to inline, and a call per element costs.
 * `done` ends a variant that needs no padding ("return", or "continue" in a loop).
 */
const inlineEncoders = new WeakMap<object, (g: Gen, done: string) => void>();
/** The names those statements declare, besides `w`. */
const TLV_LOCALS = ['v', 'b', 'dv', 'start', 'at', 'x'];

/** Where the generated code is in the structure: a base expression plus a constant, or r.off / w.off. */
interface Cursor {
  base: string;
  k: number;
}

function genDecode(s: Layout, head: readonly string[]): { fn: Tagged; source: string } {
  const g = new Gen();
  const $ = (v: unknown, hint: string) => g.ref(v, hint);
  for (const n of ['r', 'b', 'dv', 'start', 'at']) g.local(n);
  const heads = head.map((h) => g.local(h));
  // Without a length field of its own, a variable struct ends where its container says.
  const param = g.local(s.variable && !s.selfLength ? 'end' : 'outerEnd');
  const end = param === 'end' ? 'end' : g.local('end');
  const values: [string, string][] = [];

  g.line(`const b = r.buf, dv = r.dv, start = r.off;`);
  if (s.minSize > 0) g.line(`if (start + ${s.minSize} > ${param}) ${$(s.short, 'short')}(start, ${s.minSize}, ${param});`);
  if (end !== param) g.line(`${s.selfLength ? 'let' : 'const'} ${end} = ${s.variable ? param : `start + ${s.minSize}`};`);
  let cur: Cursor | null = { base: 'start', k: 0 };
  let atDeclared = false;
  let atEnd = false; // after trailing padding, which runs to the end
  let sized = '';
  const at = () => plus(cur!.base, cur!.k);
  /** Puts the cursor in r.off (where it already is before any field), for a codec that reads from there. */
  const sync = () => {
    if (cur && (cur.base !== 'start' || cur.k)) g.line(`r.off = ${at()};`);
  };

  s.plan.forEach(({ key: k, codec: c }, i) => {
    if (!cur && c.size >= 0 && c.special !== TRAILING_PAD) {
      // A run of fixed fields after a variable one checks its own length.
      const run = s.runFrom(i);
      g.line(`${atDeclared ? '' : 'let '}at = r.off;`);
      atDeclared = true;
      g.line(`if (at + ${run} > ${end}) ${$(s.short, 'short')}(at, ${run}, ${end});`);
      cur = { base: 'at', k: 0 };
    }
    switch (c.special) {
      case PAD:
        cur!.k += c.width!;
        return;
      case SELF_LENGTH: {
        const len = g.local('length');
        g.line(`const ${len} = dv.getUint16(${at()});`);
        g.line(`if (${len} < ${s.minSize} || start + ${len} > ${param}) ${$(s.badLength, 'badLength')}(${at()}, ${len}, ${param} - start);`);
        g.line(`${end} = start + ${len};`);
        cur!.k += 2;
        return;
      }
      case LENGTH_OF:
        sized = g.local(`${c.arg}Length`);
        g.line(`const ${sized} = dv.getUint16(${at()});`);
        cur!.k += 2;
        return;
      case TRAILING_PAD:
        sync();
        cur = null;
        g.line(`if (${end} - r.off >= ${c.arg}) ${$(s.trailingPadding, 'trailingPadding')}(r.off, ${end} - r.off);`);
        if (c.nonZero) {
          g.line(`for (let i = r.off; i < ${end}; i++) if (b[i] !== 0) ${$(s.nonZeroPadding, 'nonZeroPadding')}(r.off, ${$(c.nonZero, 'nonZero')});`);
        }
        atEnd = true;
        return;
    }
    const local = g.local(k);
    values.push([k, local]);
    if (c.inline) {
      g.line(`const ${local} = ${c.inline.read(at(), g.ref)};`);
      cur!.k += c.size;
    } else if (c.size >= 0) {
      sync();
      g.line(`const ${local} = ${$(c, `c_${k}`)}.decode(r, ${end});`);
      cur!.k += c.size;
    } else if (sized) {
      sync();
      cur = null;
      const fieldEnd = g.local(`${k}End`);
      g.line(`const ${fieldEnd} = r.off + ${sized};`);
      g.line(`if (${fieldEnd} > ${end}) ${$(s.sizedOverrun, 'sizedOverrun')}(r.off, ${JSON.stringify(k)}, ${sized});`);
      g.line(`const ${local} = ${$(c, `c_${k}`)}.decode(r, ${fieldEnd});`);
      g.line(`if (r.off !== ${fieldEnd}) ${$(s.sizedShort, 'sizedShort')}(r.off, ${JSON.stringify(k)});`);
      sized = '';
    } else {
      sync();
      cur = null;
      g.line(`const ${local} = ${$(c, `c_${k}`)}.decode(r, ${end});`);
    }
  });

  const last = cur ? at() : 'r.off';
  // A fixed struct without a length field of its own ends where its fields do.
  if ((s.variable || s.selfLength) && !atEnd) g.line(`if (${last} !== ${end}) ${$(s.trailing, 'trailing')}(${last}, ${end});`);
  if (s.padTo) {
    const padded = g.local('padded');
    g.line(`const ${padded} = start + Math.ceil((${end} - start) / ${s.padTo}) * ${s.padTo};`);
    g.line(`if (${padded} > ${param}) ${$(s.noPadding, 'noPadding')}(${end});`);
    g.line(`r.off = ${padded};`);
  } else {
    g.line(`r.off = ${end};`);
  }
  const props = [...head.map((h, i) => [h, heads[i]]), ...values].map(([k, l]) => (k === l ? k : `${literalKey(k)}: ${l}`));
  g.line(`return ${props.length ? `{ ${props.join(', ')} }` : '{}'};`);
  return g.build<Tagged>(`decode_${s.label}`, ['r', param, ...heads]);
}

/** Statements writing `n` zero bytes at cursor offset `k` (padding), in as few stores as possible. */
function emitZeros(g: Gen, base: string, k: number, n: number): void {
  for (let j = 0; j < n; ) {
    const step = n - j >= 4 ? 4 : n - j >= 2 ? 2 : 1;
    g.line(step === 1 ? `b[${plus(base, k + j)}] = 0;` : `dv.setUint${8 * step}(${plus(base, k + j)}, 0);`);
    j += step;
  }
}

/**
 * Statements writing one fixed-size field (padding, an inline scalar or a fixed
 * codec) of `v` at the cursor, which they advance; `b` and `dv` already cover it.
 * Struct encoders and TLV encoders that inline a fixed body share this.
 */
function emitFixed(g: Gen, k: string, c: Codec<any> & Partial<Special>, cur: Cursor, reject: string): void {
  const at = plus(cur.base, cur.k);
  if (c.special === PAD) {
    emitZeros(g, cur.base, cur.k, c.width!);
  } else if (c.inline) {
    g.line(`x = v${member(k)};`);
    g.line(`if (${c.inline.invalid('x', g.ref)}) ${reject}(${JSON.stringify(k)}, x);`);
    g.line(c.inline.write(at, 'x', g.ref));
  } else {
    g.line(`x = v${member(k)};`);
    g.line(`if (x === undefined) ${reject}(${JSON.stringify(k)}, x);`);
    g.line(`w.off = ${at};`);
    g.line(`${g.ref(c, `c_${k}`)}.encode(w, x);`);
  }
  cur.k += c.size;
}

/**
 * Statements encoding struct `s` from `v`. The struct starts at `start + head`:
 * a TLV writes its header (`head` bytes) first and has then already reserved it
 * with the struct's first run of fixed fields and loaded b and dv. The caller
 * declares start, b, dv, at and x.
 */
function emitEncode(g: Gen, s: Layout, head: number): void {
  const reject = g.ref(s.reject, 'reject');
  const self = plus('start', head);
  const patches: string[] = [];
  let cur: Cursor | null = head ? { base: 'start', k: head } : null;
  let sizedAt = '';
  const at = () => plus(cur!.base, cur!.k);

  s.plan.forEach(({ key: k, codec: c }, i) => {
    if (!cur && c.size >= 0 && c.special !== TRAILING_PAD) {
      // Room for the whole run of fixed fields at once; the buffer may move.
      const run = s.runFrom(i);
      const base = i === 0 ? 'start' : 'at';
      if (i > 0) g.line(`at = w.off;`);
      if (run > 0) {
        g.line(reserve(base, run));
        g.line(`b = w.buf; dv = w.dv;`);
      }
      cur = { base, k: 0 };
    }
    switch (c.special) {
      case SELF_LENGTH:
        patches.push(`w.patch16(${at()}, w.off - ${self});`);
        cur!.k += 2;
        return;
      case LENGTH_OF:
        sizedAt = g.local(`${c.arg}At`);
        g.line(`const ${sizedAt} = ${at()};`);
        cur!.k += 2;
        return;
      case TRAILING_PAD:
        return;
    }
    if (c.size >= 0) {
      emitFixed(g, k, c, cur!, reject);
      return;
    }
    g.line(`x = v${member(k)};`);
    g.line(`if (x === undefined) ${reject}(${JSON.stringify(k)}, x);`);
    if (cur) g.line(`w.off = ${at()};`);
    if (sizedAt) {
      const before = g.local(`${k}Start`);
      g.line(`const ${before} = w.off;`);
      g.line(`${g.ref(c, `c_${k}`)}.encode(w, x);`);
      g.line(`w.patch16(${sizedAt}, w.off - ${before});`);
      sizedAt = '';
    } else {
      g.line(`${g.ref(c, `c_${k}`)}.encode(w, x);`);
    }
    cur = null;
  });
  if (cur) g.line(`w.off = ${at()};`);
  for (const p of patches) g.line(p);
  if (s.padTo) g.line(`w.align(${self}, ${s.padTo});`);
}

function genEncode(s: Layout): { fn: (w: Writer, v: any) => void; source: string } {
  const g = new Gen();
  for (const n of ['w', 'v', 'b', 'dv', 'start', 'at', 'x']) g.local(n);
  g.line(`const start = w.off;`);
  const firstVariable = s.plan.findIndex((f) => f.codec.size < 0);
  const locals = [
    s.minSize > 0 && 'b, dv',
    firstVariable >= 0 && s.plan.slice(firstVariable).some((f) => fixedWidth(f.codec) > 0) && 'at',
    s.plan.some((f) => !f.codec.special) && 'x',
  ].filter(Boolean);
  if (locals.length) g.line(`let ${locals.join(', ')};`);
  emitEncode(g, s, 0);
  return g.build(`encode_${s.label}`, ['w', 'v']);
}

export function struct<F extends Fields>(fields: F, opts: StructOptions = {}): StructCodec<Shape<F>> {
  const s = layout(fields, opts);
  const size = s.variable || s.selfLength || s.padTo ? -1 : s.minSize;
  const keys = s.plan.filter((f) => !f.key.startsWith('_')).map((f) => f.key);
  const decoders = new Map<string, { fn: Tagged; source: string }>();
  const decoder = (head: readonly string[]) => {
    const id = head.join();
    let d = decoders.get(id);
    if (!d) decoders.set(id, (d = genDecode(s, head)));
    return d;
  };
  const plain = decoder([]);
  const enc = genEncode(s);

  function formatFields(v: Record<string, unknown>): string {
    return s.plan
      .filter((f) => !f.key.startsWith('_'))
      .map((f) => `${snake(f.key)}=${f.codec.format(v[f.key])}`)
      .join(' ');
  }

  const c: StructCodec<Shape<F>> = {
    size,
    fields,
    minSize: s.minSize,
    keys,
    tagged: (head) => decoder(head).fn,
    decode: plain.fn,
    encode: enc.fn,
    format: (v) => `{${formatFields(v as Record<string, unknown>)}}`,
    formatFields: formatFields as (v: Shape<F>) => string,
  };
  sources.set(c, () => `${plain.source}\n\n${enc.source}`);
  layouts.set(c, s);
  return c;
}

/** idleTimeout -> idle_timeout, for text that reads like the specification. */
export function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

// ---- lists ----------------------------------------------------------------------

export interface ListCodec<T> extends Codec<T[]> {
  readonly item: Codec<T>;
}

/** Elements up to the end of the enclosing structure. */
export function list<T>(c: Codec<T>, lenError: OfErrorCode = ERR.BAD_REQUEST.BAD_LEN): ListCodec<T> {
  // Compiled per list so that each loop calls one element codec (a monomorphic call
  // site), or for a TLV has the element's encoding in it.
  const d = new Gen();
  const item = d.ref(c, 'item');
  if (c.size > 0) {
    const uneven = (at: number, end: number) => fail(lenError, at, `list of ${c.size}-byte elements has ${end - at} bytes`);
    d.line(`if ((end - r.off) % ${c.size}) ${d.ref(uneven, 'uneven')}(r.off, end);`);
  }
  d.line(`const out = [];`);
  d.line(`while (r.off < end) out.push(${item}.decode(r, end));`);
  d.line(`return out;`);
  const dec = d.build<Codec<T[]>['decode']>('decode_list', ['r', 'end']);
  const e = new Gen();
  const emit = inlineEncoders.get(c);
  if (emit) {
    for (const n of ['w', 'list', 'i', ...TLV_LOCALS]) e.local(n);
    e.line(`for (let i = 0; i < list.length; i++) {`);
    e.line(`const v = list[i];`);
    emit(e, 'continue');
    e.line(`}`);
  } else {
    e.line(`for (let i = 0; i < list.length; i++) ${e.ref(c, 'item')}.encode(w, list[i]);`);
  }
  const enc = e.build<Codec<T[]>['encode']>('encode_list', ['w', 'list']);
  const l: ListCodec<T> = {
    size: -1,
    item: c,
    decode: dec.fn,
    encode: enc.fn,
    format: (v) => `[${v.map((x) => c.format(x)).join(', ')}]`,
  };
  sources.set(l, () => `${dec.source}\n${enc.source}`);
  return l;
}

// ---- type-length-value unions ---------------------------------------------------

/** A variant: its wire type code and the body after the 4-byte type/length header. */
export type Variant = readonly [code: number, body: StructCodec<any>];
type Variants = Record<string, Variant>;

/** The value of a TLV: { type: 'output', port, maxLen } and so on. */
export type TlvValue<V extends Variants> = {
  [K in keyof V]: { type: K } & Infer<V[K][1]>;
}[keyof V];

/** A TLV type this codec does not know, kept to re-encode byte for byte. */
export interface UnknownTlv {
  type: 'unknown';
  code: number;
  data: Uint8Array;
}

export interface TlvOptions<V extends Variants, K extends boolean> {
  name: string;
  variants: V;
  lenError: OfErrorCode;
  typeError: OfErrorCode;
  /**
   * Lengths are multiples of this. "inside": the padding is counted in the length
   * (actions, instructions); "outside": it follows the length (match, properties).
   */
  align?: { to: number; padding: 'inside' | 'outside' };
  /** Keep unknown types as UnknownTlv instead of failing with typeError. */
  keepUnknown?: K;
}

export interface TlvCodec<T> extends Codec<T> {
  readonly byCode: ReadonlyMap<number, string>;
  readonly codes: Readonly<Record<string, number>>;
  readonly bodies: Readonly<Record<string, StructCodec<any>>>;
}

export function tlv<V extends Variants, K extends boolean = false>(
  opts: TlvOptions<V, K>,
): TlvCodec<TlvValue<V> | (K extends true ? UnknownTlv : never)> {
  const byCode = new Map<number, string>();
  const codes: Record<string, number> = {};
  const bodies: Record<string, StructCodec<any>> = {};
  for (const [name, [code, body]] of Object.entries(opts.variants)) {
    byCode.set(code, name);
    codes[name] = code;
    bodies[name] = body;
  }
  const align = opts.align?.to ?? 1;
  const inside = opts.align?.padding !== 'outside';
  const { name, lenError } = opts;
  const errors = {
    short: (at: number, end: number) => fail(lenError, at, `${name}: needs 4 bytes, ${end - at} left`),
    badLength: (at: number, len: number) => fail(lenError, at, `${name}: bad length ${len}`),
    unknownType: (at: number, code: number) => fail(opts.typeError, at, `${name}: unknown type ${code}`),
    misfit: (at: number, len: number, type: string) => fail(lenError, at, `${name} ${type}: length ${len} does not fit its body`),
  };

  const d = new Gen();
  const $ = (v: unknown, hint: string) => d.ref(v, hint);
  d.line(`const dv = r.dv, start = r.off;`);
  d.line(`if (start + 4 > end) ${$(errors.short, 'short')}(start, end);`);
  d.line(`const code = dv.getUint16(start), length = dv.getUint16(start + 2);`);
  d.line(`const padded = ${inside || align === 1 ? 'length' : `Math.ceil(length / ${align}) * ${align}`};`);
  const misaligned = inside && align > 1 ? ` || length % ${align}` : '';
  d.line(`if (length < 4 || start + padded > end${misaligned}) ${$(errors.badLength, 'badLength')}(start, length);`);
  d.line(`const bodyEnd = start + length;`);
  d.line(`r.off = start + 4;`);
  d.line(`let v;`);
  d.line(`switch (code) {`);
  for (const [variant, code] of Object.entries(codes)) {
    const body = bodies[variant];
    // With padding inside, a body may stop short of the length by less than `align`.
    const limit = inside && align > 1 && body.size >= 0 ? `Math.min(bodyEnd, start + ${4 + body.size})` : 'bodyEnd';
    d.line(`case ${code}:`);
    d.line(`  v = ${$(body.tagged(['type']), `decode_${variant}`)}(r, ${limit}, ${JSON.stringify(variant)});`);
    d.line(`  break;`);
  }
  d.line(`default:`);
  if (opts.keepUnknown) {
    d.line(`  r.off = start + padded;`);
    d.line(`  return { type: 'unknown', code, data: ${$(copyBytes, 'copyBytes')}(r.buf, start + 4, bodyEnd) };`);
  } else {
    d.line(`  ${$(errors.unknownType, 'unknownType')}(start, code);`);
  }
  d.line(`}`);
  d.line(`if (bodyEnd - r.off >= ${align}) ${$(errors.misfit, 'misfit')}(start, length, v.type);`);
  d.line(`r.off = start + padded;`);
  d.line(`return v;`);
  const dec = d.build<Codec<any>['decode']>(`decode_${name}_tlv`, ['r', 'end']);

  const unknownType = (type: unknown) => {
    throw new TypeError(`${name}: unknown type ${String(type)}`);
  };
  const emit = (e: Gen, done: string) => {
    e.line(`const start = w.off;`);
    e.line(`let b, dv, at, x;`);
    e.line(`switch (v.type) {`);
    for (const [variant, code] of Object.entries(codes)) {
      e.line(`case ${JSON.stringify(variant)}: {`);
      // Bodies are written here, not called: the header goes into the same reserved run as their fixed fields.
      const body = layouts.get(bodies[variant]);
      if (!body) {
        e.line(reserve('start', 4));
        e.line(`w.off = start + 4;`);
        e.line(`w.dv.setUint16(start, ${code});`);
        e.line(`${e.ref(bodies[variant], `c_${variant}`)}.encode(w, v);`);
        e.line(`break;`);
      } else if (bodies[variant].size >= 0) {
        // Fixed: the length and any padding are known now.
        const total = 4 + body.minSize;
        const padded = Math.ceil(total / align) * align;
        const header = (code * 0x10000 + (inside ? padded : total)).toString(16).padStart(8, '0');
        e.line(reserve('start', padded));
        e.line(`b = w.buf; dv = w.dv;`);
        e.line(`dv.setUint32(start, 0x${header});`);
        const cur: Cursor = { base: 'start', k: 4 };
        const reject = e.ref(body.reject, 'reject');
        for (const f of body.plan) emitFixed(e, f.key, f.codec, cur, reject);
        emitZeros(e, 'start', total, padded - total);
        e.line(`w.off = start + ${padded};`);
        e.line(`${done};`);
      } else {
        e.line(reserve('start', 4 + body.runFrom(0)));
        e.line(`b = w.buf; dv = w.dv;`);
        e.line(`dv.setUint16(start, ${code});`);
        emitEncode(e, body, 4);
        e.line(`break;`);
      }
      e.line(`}`);
    }
    e.line(`case 'unknown':`);
    e.line(`  ${reserve('start', 4)}`);
    e.line(`  w.off = start + 4;`);
    e.line(`  w.dv.setUint16(start, v.code);`);
    e.line(`  w.bytes(v.data);`);
    e.line(`  break;`);
    e.line(`default:`);
    e.line(`  ${e.ref(unknownType, 'unknownType')}(v.type);`);
    e.line(`}`);
    if (inside && align > 1) e.line(`w.align(start, ${align});`);
    e.line(`w.patch16(start + 2, w.off - start);`);
    if (!inside && align > 1) e.line(`w.align(start, ${align});`);
  };
  const e = new Gen();
  for (const n of ['w', ...TLV_LOCALS]) e.local(n);
  emit(e, 'return');
  const enc = e.build<Codec<any>['encode']>(`encode_${name}_tlv`, ['w', 'v']);

  type Value = { type: string; code?: number; data?: Uint8Array };
  const c = {
    size: -1,
    byCode,
    codes,
    bodies,
    decode: dec.fn,
    encode: enc.fn,
    format(v: Value): string {
      if (v.type === 'unknown') return `${name}_${v.code}(${toHex(v.data!)})`;
      const body = bodies[v.type].formatFields(v);
      return body ? `${v.type}(${body})` : v.type;
    },
  } as TlvCodec<any>;
  sources.set(c, () => `${dec.source}\n\n${enc.source}`);
  inlineEncoders.set(c, emit);
  return c;
}

// ---- standalone use of a codec --------------------------------------------------

export type ValueResult<T> = { ok: true; value: T } | { ok: false; error: OfErrorCode; offset: number; detail: string };

/** Decodes one whole structure (an action, a match...) from `buf`; never throws. */
export function decodeValue<T>(c: Codec<T>, buf: Uint8Array): ValueResult<T> {
  const r = new Reader(buf);
  try {
    const value = c.decode(r, r.end);
    if (r.off !== r.end) fail(ERR.BAD_REQUEST.BAD_LEN, r.off, `${r.end - r.off} bytes left over`);
    return { ok: true, value };
  } catch (e) {
    // Offsets inside the codec count from the start of the Reader's buffer.
    if (e instanceof DecodeError) return { ok: false, error: e.error, offset: e.offset - r.base, detail: e.detail };
    const detail = `internal decoder error: ${(e as Error).message}`;
    return { ok: false, error: ERR.BAD_REQUEST.BAD_LEN, offset: r.off - r.base, detail };
  }
}

export function encodeValue<T>(c: Codec<T>, v: T): Uint8Array {
  const w = new Writer();
  c.encode(w, v);
  return w.finish();
}
