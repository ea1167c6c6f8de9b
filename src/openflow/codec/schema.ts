// The small language in which every OpenFlow wire structure is described once.
//
// A Codec<T> knows its fixed size (or -1), how to decode T from a Reader up to an
// end offset, how to encode T, and how to print T in the canonical text form. The
// combinators below (scalars, struct, list, tlv) build the codecs for the whole
// protocol from declarations; the TypeScript types of decoded values are inferred
// from the same declarations, so the wire layout and the API cannot drift apart.
//
// Invariants:
// - decode never reads past `end`: every struct checks its fixed part once, every
//   variable part checks its own length; a violation throws DecodeError (caught at
//   the public boundary, never seen by users) carrying the OpenFlow error to send.
// - decode(encode(v)) deep-equals v, and encode(decode(bytes)) equals bytes for
//   every input that decodes (lengths are recomputed, never trusted from values).
// - Keys starting with "_" in a struct are wire-only (padding, lengths): they are
//   not part of the value and are computed on encode.

import { ERR, type OfErrorCode } from './errors.ts';
import {
  DecodeError,
  fail,
  ipv4ToBytes,
  ipv4ToString,
  ipv6ToBytes,
  ipv6ToString,
  macToBytes,
  macToString,
  toHex,
  Reader,
  Writer,
} from './wire.ts';

export interface Codec<T> {
  /** Wire size when fixed, -1 when it depends on the value. */
  readonly size: number;
  decode(r: Reader, end: number): T;
  encode(w: Writer, v: T): void;
  format(v: T): string;
}

export type Infer<C> = C extends Codec<infer T> ? T : never;

/** Copy of a codec with another text form, e.g. enum or flag names. */
export function withFormat<T>(c: Codec<T>, format: (v: T) => string): Codec<T> {
  return { size: c.size, decode: c.decode, encode: c.encode, format };
}

// ---- scalars --------------------------------------------------------------

function uint(bytes: 1 | 2 | 4, read: (r: Reader) => number, write: (w: Writer, v: number) => void): Codec<number> {
  const max = 2 ** (8 * bytes) - 1;
  return {
    size: bytes,
    decode: read,
    encode(w, v) {
      if (!(v >= 0 && v <= max && Number.isInteger(v))) {
        throw new TypeError(`${v} does not fit an unsigned ${8 * bytes}-bit field`);
      }
      write(w, v);
    },
    format: String,
  };
}

export const u8 = uint(1, (r) => r.u8(), (w, v) => w.u8(v));
export const u16 = uint(2, (r) => r.u16(), (w, v) => w.u16(v));
export const u32 = uint(4, (r) => r.u32(), (w, v) => w.u32(v));

export const u64: Codec<bigint> = {
  size: 8,
  decode: (r) => r.u64(),
  encode(w, v) {
    if (typeof v !== 'bigint' || v < 0n || v > 0xffff_ffff_ffff_ffffn) {
      throw new TypeError(`${String(v)} does not fit an unsigned 64-bit field (use a bigint)`);
    }
    w.u64(v);
  },
  format: String,
};

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

function fixedText(n: number, toString: (b: Uint8Array) => string, toBytes: (s: string) => Uint8Array): Codec<string> {
  return {
    size: n,
    decode: (r) => toString(r.bytes(n)),
    encode(w, v) {
      w.bytes(toBytes(v));
    },
    format: (v) => v,
  };
}

export const mac = fixedText(6, (b) => macToString(b), macToBytes);
export const ipv4 = fixedText(4, (b) => ipv4ToString(b), ipv4ToBytes);
export const ipv6 = fixedText(16, (b) => ipv6ToString(b), ipv6ToBytes);

/** A fixed-width, NUL-padded UTF-8 string (port, table and description names). */
export function str(n: number): Codec<string> {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  return {
    size: n,
    decode(r) {
      const b = r.bytes(n);
      const nul = b.indexOf(0);
      return dec.decode(nul < 0 ? b : b.subarray(0, nul));
    },
    encode(w, v) {
      const b = enc.encode(v);
      if (b.length > n) throw new TypeError(`"${v}" is longer than ${n} bytes`);
      w.bytes(b);
      w.zeros(n - b.length);
    },
    format: (v) => JSON.stringify(v),
  };
}

export function bytes(n: number): Codec<Uint8Array> {
  return {
    size: n,
    decode: (r) => r.bytes(n).slice(),
    encode(w, v) {
      if (v.length !== n) throw new TypeError(`expected ${n} bytes, got ${v.length}`);
      w.bytes(v);
    },
    format: (v) => `0x${toHex(v)}`,
  };
}

/** All bytes up to the end of the enclosing structure (packet data, opaque bodies). */
export const rest: Codec<Uint8Array> = {
  size: -1,
  decode: (r, end) => r.bytes(end - r.off).slice(),
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
}
type SpecialCodec = Codec<never> & Special;

function special(s: Special): SpecialCodec {
  const unused = () => {
    throw new Error('wire-only field used outside a struct');
  };
  return { ...s, size: s.width, decode: unused, encode: unused, format: unused };
}

/** n zero bytes on encode; skipped on decode. */
export const pad = (n: number) => special({ special: PAD, width: n });
/**
 * Padding after a variable last field up to the end of its TLV, which the TLV
 * writes when it aligns itself (the OXM in a set_field action).
 */
export const trailingPad = (align: number) => special({ special: TRAILING_PAD, width: 0, arg: align });
/** The length of the enclosing struct, in bytes, as a u16 (or u32). */
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

export interface StructCodec<T> extends Codec<T> {
  /** Decodes the fields into an object that already has keys (a TLV's "type"). */
  decodeInto(obj: Record<string, unknown>, r: Reader, end: number): void;
  /** Formats only the fields, "k=v k=v", without the struct's name. */
  formatFields(v: T): string;
  readonly keys: readonly string[];
  readonly minSize: number;
}

interface FieldPlan {
  key: string;
  codec: Codec<any> & Partial<Special>;
}

export function struct<F extends Fields>(fields: F, opts: StructOptions = {}): StructCodec<Shape<F>> {
  const plan: FieldPlan[] = Object.entries(fields).map(([key, codec]) => ({ key, codec }));
  const lenError = opts.lenError ?? ERR.BAD_REQUEST.BAD_LEN;
  const minSize = plan.reduce((n, f) => n + Math.max(0, f.codec.size), 0);
  const variable = plan.some((f) => f.codec.size < 0);
  const hasSelfLength = plan.some((f) => f.codec.special === SELF_LENGTH);
  const size = variable || hasSelfLength || opts.padTo ? -1 : minSize;
  const keys = plan.filter((f) => !f.key.startsWith('_')).map((f) => f.key);
  const label = opts.name ?? 'structure';

  function decodeInto(obj: Record<string, unknown>, r: Reader, outerEnd: number): void {
    const start = r.off;
    r.need(minSize, outerEnd, lenError, label);
    let end = variable ? outerEnd : start + minSize;
    let sizedEnd = -1; // end of the field a lengthOf16 sized
    for (let i = 0; i < plan.length; i++) {
      const { key, codec } = plan[i];
      switch (codec.special) {
        case PAD:
          r.off += codec.width!;
          continue;
        case SELF_LENGTH: {
          const len = r.u16();
          if (len < minSize || start + len > outerEnd) {
            fail(lenError, r.off - 2, `${label}: length ${len} outside ${minSize}..${outerEnd - start}`);
          }
          end = start + len;
          continue;
        }
        case LENGTH_OF:
          sizedEnd = r.u16();
          continue;
        case TRAILING_PAD:
          if (end - r.off >= (codec.arg as number)) fail(lenError, r.off, `${label}: ${end - r.off} bytes of padding`);
          r.off = end;
          continue;
      }
      if (codec.size >= 0) {
        obj[key] = codec.decode(r, end);
      } else if (sizedEnd >= 0) {
        const fieldEnd = r.off + sizedEnd;
        if (fieldEnd > end) fail(lenError, r.off, `${label}: ${key} length ${sizedEnd} overruns`);
        obj[key] = codec.decode(r, fieldEnd);
        if (r.off !== fieldEnd) fail(lenError, r.off, `${label}: ${key} shorter than its length`);
        sizedEnd = -1;
      } else {
        obj[key] = codec.decode(r, end);
      }
    }
    if (r.off !== end) fail(lenError, r.off, `${label}: ${end - r.off} unexpected trailing bytes`);
    if (opts.padTo) {
      const padded = start + Math.ceil((end - start) / opts.padTo) * opts.padTo;
      if (padded > outerEnd) fail(lenError, r.off, `${label}: padding to ${opts.padTo} bytes is missing`);
      r.off = padded;
    }
  }

  function encode(w: Writer, v: Record<string, unknown>): void {
    const start = w.off;
    let lengthAt = -1;
    let sizedAt = -1;
    for (let i = 0; i < plan.length; i++) {
      const { key, codec } = plan[i];
      switch (codec.special) {
        case PAD:
          w.zeros(codec.width!);
          continue;
        case SELF_LENGTH:
          lengthAt = w.off;
          w.u16(0);
          continue;
        case LENGTH_OF:
          sizedAt = w.off;
          w.u16(0);
          continue;
        case TRAILING_PAD:
          continue;
      }
      const value = v[key];
      if (value === undefined) throw new TypeError(`${label}: missing field "${key}"`);
      const before = w.off;
      codec.encode(w, value);
      if (sizedAt >= 0 && codec.size < 0) {
        w.patch16(sizedAt, w.off - before);
        sizedAt = -1;
      }
    }
    if (lengthAt >= 0) w.patch16(lengthAt, w.off - start);
    if (opts.padTo) w.align(start, opts.padTo);
  }

  function formatFields(v: Record<string, unknown>): string {
    return plan
      .filter((f) => !f.key.startsWith('_'))
      .map((f) => `${snake(f.key)}=${f.codec.format(v[f.key])}`)
      .join(' ');
  }

  return {
    size,
    minSize,
    keys,
    decodeInto,
    decode(r, end) {
      const obj: Record<string, unknown> = {};
      decodeInto(obj, r, end);
      return obj as Shape<F>;
    },
    encode: encode as (w: Writer, v: Shape<F>) => void,
    format: (v) => `{${formatFields(v as Record<string, unknown>)}}`,
    formatFields: formatFields as (v: Shape<F>) => string,
  };
}

/** idleTimeout -> idle_timeout, for text that reads like the specification. */
export function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

// ---- lists ----------------------------------------------------------------------

/** Elements up to the end of the enclosing structure. */
export function list<T>(c: Codec<T>, lenError: OfErrorCode = ERR.BAD_REQUEST.BAD_LEN): Codec<T[]> {
  return {
    size: -1,
    decode(r, end) {
      if (c.size > 0 && (end - r.off) % c.size) {
        fail(lenError, r.off, `list of ${c.size}-byte elements has ${end - r.off} bytes`);
      }
      const out: T[] = [];
      while (r.off < end) out.push(c.decode(r, end));
      return out;
    },
    encode(w, v) {
      for (let i = 0; i < v.length; i++) c.encode(w, v[i]);
    },
    format: (v) => `[${v.map((x) => c.format(x)).join(', ')}]`,
  };
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
  // Inside the implementation a value is any object with a type; the signature types it.
  type Value = { type: string; code?: number; data?: Uint8Array };

  return {
    size: -1,
    byCode,
    codes,
    bodies,
    decode(r, end): any {
      const start = r.off;
      r.need(4, end, opts.lenError, opts.name);
      const code = r.u16();
      const len = r.u16();
      const padded = inside ? len : Math.ceil(len / align) * align;
      if (len < 4 || start + padded > end || (inside && len % align)) {
        fail(opts.lenError, start, `${opts.name}: bad length ${len}`);
      }
      const name = byCode.get(code);
      const bodyEnd = start + len;
      if (name === undefined) {
        if (!opts.keepUnknown) fail(opts.typeError, start, `${opts.name}: unknown type ${code}`);
        const v: UnknownTlv = { type: 'unknown', code, data: r.bytes(len - 4).slice() };
        r.off = start + padded;
        return v;
      }
      const obj: Record<string, unknown> = { type: name };
      const body = bodies[name];
      // With padding inside, a body may stop short of the length by less than `align`.
      const bodyLimit = inside && align > 1 && body.size >= 0 ? Math.min(bodyEnd, r.off + body.size) : bodyEnd;
      body.decodeInto(obj, r, bodyLimit);
      if (bodyEnd - r.off >= align) {
        fail(opts.lenError, start, `${opts.name} ${name}: length ${len} does not fit its body`);
      }
      r.off = start + padded;
      return obj;
    },
    encode(w, v: Value) {
      const start = w.off;
      const code = v.type === 'unknown' ? v.code : codes[v.type];
      if (code === undefined) throw new TypeError(`${opts.name}: unknown type ${String(v.type)}`);
      w.u16(code);
      w.u16(0);
      if (v.type === 'unknown') w.bytes(v.data!);
      else bodies[v.type].encode(w, v);
      if (inside) w.align(start, align);
      w.patch16(start + 2, w.off - start);
      if (!inside) w.align(start, align);
    },
    format(v: Value): string {
      if (v.type === 'unknown') return `${opts.name}_${v.code}(${toHex(v.data!)})`;
      const body = bodies[v.type].formatFields(v);
      return body ? `${v.type}(${body})` : v.type;
    },
  } as TlvCodec<any>;
}

// ---- standalone use of a codec --------------------------------------------------

export type ValueResult<T> = { ok: true; value: T } | { ok: false; error: OfErrorCode; offset: number; detail: string };

/** Decodes one whole structure (an action, a match...) from `buf`; never throws. */
export function decodeValue<T>(c: Codec<T>, buf: Uint8Array): ValueResult<T> {
  const r = new Reader(buf);
  try {
    const value = c.decode(r, buf.length);
    if (r.off !== buf.length) fail(ERR.BAD_REQUEST.BAD_LEN, r.off, `${buf.length - r.off} bytes left over`);
    return { ok: true, value };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, error: e.error, offset: e.offset, detail: e.detail };
    return { ok: false, error: ERR.BAD_REQUEST.BAD_LEN, offset: r.off, detail: `internal decoder error: ${(e as Error).message}` };
  }
}

export function encodeValue<T>(c: Codec<T>, v: T): Uint8Array {
  const w = new Writer();
  c.encode(w, v);
  return w.finish();
}
