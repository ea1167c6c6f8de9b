// Bounds-checked reading and growable writing of big-endian wire data, and the
// readable forms of addresses. Everything in the codec reads and writes through
// these two classes, so there is one place where a short buffer is noticed (the
// code schema.ts generates reads `buf` and `dv` directly, after checking `end`).

import type { OfErrorCode } from './errors.ts';

/**
 * Thrown inside the codec when wire input is malformed; caught at the public
 * boundary (decodeMessage and friends), which return it as a value. It never
 * escapes to a caller of the public API, so it is not an Error: capturing an
 * Error's stack cost about 50 good decodes, paid per message by a peer that
 * sends garbage.
 */
export class DecodeError {
  constructor(
    readonly error: OfErrorCode,
    readonly offset: number,
    readonly detail: string,
  ) {}
}

export function fail(error: OfErrorCode, offset: number, detail: string): never {
  throw new DecodeError(error, offset, detail);
}

// Frames cut from one chunk share its ArrayBuffer, so the views on the last
// two buffers seen are kept (and keep them alive until others come): a Reader
// then costs no DataView of its own, also when a body copied out of the chunk
// (into a slab, below) is read right after the frame it came from.
interface Views {
  buffer: ArrayBufferLike | undefined;
  bytes: Uint8Array;
  view: DataView;
}
const noViews = (): Views => ({ buffer: undefined, bytes: new Uint8Array(0), view: new DataView(new ArrayBuffer(0)) });
let last = noViews();
let before = noViews();

/**
 * Reads `input` through views on its whole ArrayBuffer: offsets are absolute in
 * that buffer, from `base` (the input's first byte) to `end` (one past its last).
 * Callers report offsets relative to `base`.
 */
export class Reader {
  readonly buf: Uint8Array;
  readonly dv: DataView;
  readonly base: number;
  readonly end: number;
  off: number;
  constructor(input: Uint8Array) {
    const buffer = input.buffer;
    if (buffer !== last.buffer) {
      const older = last;
      last = buffer === before.buffer ? before : { buffer, bytes: new Uint8Array(buffer), view: new DataView(buffer) };
      before = older;
    }
    this.buf = last.bytes;
    this.dv = last.view;
    this.base = this.off = input.byteOffset;
    this.end = this.base + input.length;
  }
  /** Ensures n more bytes exist before `end`; the error names what was short. */
  need(n: number, end: number, error: OfErrorCode, what: string): void {
    if (this.off + n > end) fail(error, this.off, `${what}: needs ${n} bytes, ${end - this.off} left`);
  }
  u8(): number {
    return this.dv.getUint8(this.off++);
  }
  u16(): number {
    const v = this.dv.getUint16(this.off);
    this.off += 2;
    return v;
  }
  u32(): number {
    const v = this.dv.getUint32(this.off);
    this.off += 4;
    return v;
  }
  u64(): bigint {
    const v = this.dv.getBigUint64(this.off);
    this.off += 8;
    return v;
  }
  bytes(n: number): Uint8Array {
    const v = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }
}

// Copies out of the codec (encoded messages, packet data, opaque bodies) over
// 64 bytes live in shared 64 KiB slabs, as Node's Buffer pool does: V8 keeps
// typed arrays up to 64 bytes on its heap, but allocates any larger one off the
// heap, which costs more than the whole rest of encoding a message. Each copy's
// bytes are its own, but its `.buffer` is the shared slab (so use byteOffset and
// byteLength, or slice() it).
const SLAB = 64 * 1024;
/** V8's largest typed array kept on its own heap (typed_array_max_size_in_heap). */
const ON_HEAP = 64;
/** Larger copies get their own buffer; a slab starts afresh when less is left. */
const POOLED = SLAB / 16;

interface Slab {
  bytes: Uint8Array;
  view: DataView;
  /** bytes.buffer, kept: reading the getter costs as much as making the view on it. */
  buffer: ArrayBuffer;
  used: number;
}

const newSlab = (size: number): Slab => {
  const buffer = new ArrayBuffer(size);
  return { bytes: new Uint8Array(buffer), view: new DataView(buffer), buffer, used: 0 };
};
let slab = newSlab(SLAB);
const align8 = (n: number) => (n + 7) & ~7;

/** A copy of src[start, end) that owns its bytes. */
export function copyBytes(src: Uint8Array, start: number, end: number): Uint8Array {
  const n = end - start;
  if (n <= ON_HEAP || n > POOLED) return src.slice(start, end);
  if (slab.used + n > slab.bytes.length) slab = newSlab(SLAB);
  const at = slab.used;
  slab.bytes.set(src.subarray(start, end), at);
  slab.used = align8(at + n);
  return new Uint8Array(slab.buffer, at, n);
}

const INITIAL = 256;

/**
 * Writes big-endian values into `buf`, growing it as needed; the value being
 * written runs from `start` to `off`. Growing moves the bytes to the same
 * offsets in a larger buffer, so offsets kept to patch lengths stay valid.
 * A pooled writer writes straight into the shared slab and finish() hands out
 * that part of it (no copy); it serves one value at a time, begun by begin().
 */
export class Writer {
  buf: Uint8Array;
  dv: DataView;
  start = 0;
  off = 0;
  private readonly pooled: boolean;
  constructor(opts: { pooled?: boolean } = {}) {
    this.pooled = opts.pooled ?? false;
    this.buf = this.pooled ? slab.bytes : new Uint8Array(INITIAL);
    this.dv = this.pooled ? slab.view : new DataView(this.buf.buffer);
  }
  /** Starts a new value, dropping whatever an unfinished one wrote. */
  begin(): void {
    if (!this.pooled) {
      this.start = this.off = 0;
      return;
    }
    if (slab.used + POOLED > slab.bytes.length) slab = newSlab(SLAB);
    // Stored only when the slab changed: each store of an object costs a write barrier.
    if (this.buf !== slab.bytes) {
      this.buf = slab.bytes;
      this.dv = slab.view;
    }
    this.start = this.off = slab.used;
  }
  /** Makes room for n more bytes at `off`; `buf` and `dv` may be new afterwards. */
  reserve(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.off + n) size *= 2;
    const buffer = new ArrayBuffer(size);
    const next = new Uint8Array(buffer);
    next.set(this.buf.subarray(this.start, this.off), this.start);
    this.buf = next;
    this.dv = new DataView(buffer);
    if (this.pooled) slab = { bytes: next, view: this.dv, buffer, used: this.start };
  }
  u8(v: number): void {
    this.reserve(1);
    this.dv.setUint8(this.off++, v);
  }
  u16(v: number): void {
    this.reserve(2);
    this.dv.setUint16(this.off, v);
    this.off += 2;
  }
  u32(v: number): void {
    this.reserve(4);
    this.dv.setUint32(this.off, v);
    this.off += 4;
  }
  u64(v: bigint): void {
    this.reserve(8);
    this.dv.setBigUint64(this.off, BigInt.asUintN(64, v));
    this.off += 8;
  }
  bytes(v: Uint8Array): void {
    this.reserve(v.length);
    this.buf.set(v, this.off);
    this.off += v.length;
  }
  zeros(n: number): void {
    this.reserve(n);
    // Padding is short: a loop beats a call to fill().
    const b = this.buf;
    for (let i = this.off, end = this.off + n; i < end; i++) b[i] = 0;
    this.off += n;
  }
  /** Pads with zeros up to the next multiple of `align` counted from `start`. */
  align(start: number, align: number): void {
    const rem = (this.off - start) % align;
    if (rem) this.zeros(align - rem);
  }
  patch16(at: number, v: number): void {
    this.dv.setUint16(at, v);
  }
  patch32(at: number, v: number): void {
    this.dv.setUint32(at, v);
  }
  /** The bytes of the value, which own their memory (see copyBytes). */
  finish(): Uint8Array {
    if (!this.pooled || slab.bytes !== this.buf) return copyBytes(this.buf, this.start, this.off);
    slab.used = align8(this.off);
    return new Uint8Array(slab.buffer, this.start, this.off - this.start);
  }
}

export function lengthError(e: OfErrorCode, offset: number, what: string, len: number, allowed: string): never {
  return fail(e, offset, `${what}: length ${len}, expected ${allowed}`);
}

// ---- readable forms of addresses --------------------------------------------

// Addresses are read and written in place (no intermediate arrays): the codec
// does this for every match field and packet-in.

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const DIGIT = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
const COLON = 0x3a;
const DASH = 0x2d;

/** "01:02:03:04:05:06", built flat in one call (a learning switch hashes these). */
export function macToString(b: Uint8Array, off = 0): string {
  const d = DIGIT;
  return String.fromCharCode(
    d[b[off] >> 4], d[b[off] & 15], COLON,
    d[b[off + 1] >> 4], d[b[off + 1] & 15], COLON,
    d[b[off + 2] >> 4], d[b[off + 2] & 15], COLON,
    d[b[off + 3] >> 4], d[b[off + 3] & 15], COLON,
    d[b[off + 4] >> 4], d[b[off + 4] & 15], COLON,
    d[b[off + 5] >> 4], d[b[off + 5] & 15],
  ); // prettier-ignore
}

/** Hex digit values by char code (ASCII), -1 for anything else. */
const HEX_VALUE = Int8Array.from({ length: 128 }, (_, c) => {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  c |= 0x20;
  return c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
});

/** The value of a hex digit's char code, or -1. */
function hexDigit(c: number): number {
  return c < 128 ? HEX_VALUE[c] : -1;
}

const isSep = (c: number) => c === COLON || c === DASH;

/** Writes a MAC address ("01:02:03:04:05:06", "-" also allowed, 1 or 2 digits a part) at `at`. */
export function writeMac(b: Uint8Array, at: number, s: string): void {
  if (s.length === 17) {
    // The usual form, two digits a part, unrolled; anything odd takes the general
    // loop. (No closures in here: tsx wraps every one it creates in a naming call.)
    const h0 = hexDigit(s.charCodeAt(0)), l0 = hexDigit(s.charCodeAt(1));
    const h1 = hexDigit(s.charCodeAt(3)), l1 = hexDigit(s.charCodeAt(4));
    const h2 = hexDigit(s.charCodeAt(6)), l2 = hexDigit(s.charCodeAt(7));
    const h3 = hexDigit(s.charCodeAt(9)), l3 = hexDigit(s.charCodeAt(10));
    const h4 = hexDigit(s.charCodeAt(12)), l4 = hexDigit(s.charCodeAt(13));
    const h5 = hexDigit(s.charCodeAt(15)), l5 = hexDigit(s.charCodeAt(16));
    const digits = h0 | l0 | h1 | l1 | h2 | l2 | h3 | l3 | h4 | l4 | h5 | l5;
    const seps = isSep(s.charCodeAt(2)) && isSep(s.charCodeAt(5)) && isSep(s.charCodeAt(8));
    if (digits >= 0 && seps && isSep(s.charCodeAt(11)) && isSep(s.charCodeAt(14))) {
      b[at] = (h0 << 4) | l0;
      b[at + 1] = (h1 << 4) | l1;
      b[at + 2] = (h2 << 4) | l2;
      b[at + 3] = (h3 << 4) | l3;
      b[at + 4] = (h4 << 4) | l4;
      b[at + 5] = (h5 << 4) | l5;
      return;
    }
  }
  let part = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : COLON;
    const h = hexDigit(c);
    if (h >= 0 && digits < 2 && part < 6) {
      if (digits++ === 0) b[at + part] = 0;
      b[at + part] = (b[at + part] << 4) | h;
    } else if ((c === COLON || c === DASH) && digits > 0 && part < 6) {
      part++;
      digits = 0;
    } else {
      part = -1;
      break;
    }
  }
  if (part !== 6) throw new TypeError(`not a MAC address: ${JSON.stringify(s)}`);
}

export function macToBytes(s: string): Uint8Array {
  const out = new Uint8Array(6);
  writeMac(out, 0, s);
  return out;
}

export function ipv4ToString(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** Writes a dotted-quad IPv4 address (1 to 3 decimal digits a part, each at most 255) at `at`. */
export function writeIpv4(b: Uint8Array, at: number, s: string): void {
  let part = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e;
    if (c >= 0x30 && c <= 0x39 && digits < 3) {
      value = value * 10 + c - 0x30;
      digits++;
    } else if (c === 0x2e && digits > 0 && value <= 255 && part < 4) {
      b[at + part++] = value;
      digits = 0;
      value = 0;
    } else {
      part = -1;
      break;
    }
  }
  if (part !== 4) throw new TypeError(`not an IPv4 address: ${JSON.stringify(s)}`);
}

export function ipv4ToBytes(s: string): Uint8Array {
  const out = new Uint8Array(4);
  writeIpv4(out, 0, s);
  return out;
}

/** RFC 5952 text: lower case, the longest run (2+) of zero groups as "::". */
export function ipv6ToString(b: Uint8Array, off = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[off + 2 * i] << 8) | b[off + 2 * i + 1]);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

export function ipv6ToBytes(s: string): Uint8Array {
  const bad = () => new TypeError(`not an IPv6 address: ${JSON.stringify(s)}`);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const text = s.replace(/(\d+\.\d+\.\d+\.\d+)$/, (v4) => {
    const b = ipv4ToBytes(v4);
    return `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  });
  const halves = text.split('::');
  if (halves.length > 2) throw bad();
  const parse = (h: string) =>
    h === ''
      ? []
      : h.split(':').map((x) => {
          if (!/^[0-9a-fA-F]{1,4}$/.test(x)) throw bad();
          return parseInt(x, 16);
        });
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  const given = head.length + rest.length;
  if (halves.length === 1 ? given !== 8 : given > 7) throw bad();
  const groups = [...head, ...Array<number>(8 - given).fill(0), ...rest];
  const out = new Uint8Array(16);
  groups.forEach((x, i) => {
    out[2 * i] = x >> 8;
    out[2 * i + 1] = x & 0xff;
  });
  return out;
}

const utf8 = new TextDecoder();
const utf8Fatal = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/**
 * Reads a NUL-terminated string of at most n bytes as UTF-8. Bytes that are not
 * UTF-8 become lone surrogates U+DC80..U+DCFF (Python's "surrogateescape"), so a
 * name of any bytes decodes without loss and writeStr gives the same bytes back.
 */
export function readStr(b: Uint8Array, at: number, n: number): string {
  let len = 0;
  while (len < n && b[at + len] !== 0) len++;
  const bytes = b.subarray(at, at + len);
  try {
    return utf8Fatal.decode(bytes);
  } catch {
    let out = '';
    let from = 0;
    for (let i = 0; i < bytes.length; ) {
      const n = utf8SequenceLength(bytes, i);
      if (n) {
        i += n;
        continue;
      }
      out += utf8.decode(bytes.subarray(from, i)) + String.fromCharCode(0xdc00 + bytes[i]);
      from = ++i;
    }
    return out + utf8.decode(bytes.subarray(from));
  }
}

/** The length of the well-formed UTF-8 sequence at b[i] (RFC 3629 table 3-7), or 0. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k] >= lo && b[i + k] <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const [lo, hi] = c === 0xe0 ? [0xa0, 0xbf] : c === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const [lo, hi] = c === 0xf0 ? [0x90, 0xbf] : c === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

const ESCAPED = /[\udc80-\udcff]/;

/** Writes `s` as UTF-8 at `at`, NUL-padded to n bytes; escaped bytes (see readStr) as themselves. */
export function writeStr(b: Uint8Array, at: number, n: number, s: string): void {
  if (!ESCAPED.test(s)) {
    const { written, read } = utf8Encoder.encodeInto(s, b.subarray(at, at + n));
    if (read !== s.length) throw new TypeError(`"${s}" is longer than ${n} bytes`);
    b.fill(0, at + written, at + n);
    return;
  }
  const parts: number[] = [];
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const paired = i > 0 && s.charCodeAt(i - 1) >= 0xd800 && s.charCodeAt(i - 1) <= 0xdbff;
    if (c < 0xdc80 || c > 0xdcff || paired) continue;
    parts.push(...utf8Encoder.encode(s.slice(from, i)), c - 0xdc00);
    from = i + 1;
  }
  parts.push(...utf8Encoder.encode(s.slice(from)));
  const bytes = Uint8Array.from(parts);
  if (bytes.length > n) throw new TypeError(`"${s}" is longer than ${n} bytes`);
  b.set(bytes, at);
  b.fill(0, at + bytes.length, at + n);
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]];
  return s;
}

export function fromHex(s: string): Uint8Array {
  const clean = s.replace(/0x/gi, '').replace(/[\s:,]/g, '');
  if (clean.length % 2 || /[^0-9a-fA-F]/.test(clean)) throw new TypeError('not a hex string');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}
