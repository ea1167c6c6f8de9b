// Bounds-checked reading and growable writing of big-endian wire data, and the
// readable forms of addresses. Everything in the codec reads and writes through
// these two classes, so there is one place where a short buffer is noticed.

import type { OfErrorCode } from './errors.ts';

/**
 * Thrown inside the codec when wire input is malformed; caught at the public
 * boundary (decodeMessage and friends), which return it as a value. It never
 * escapes to a caller of the public API.
 */
export class DecodeError extends Error {
  constructor(
    readonly error: OfErrorCode,
    readonly offset: number,
    readonly detail: string,
  ) {
    super(`${detail} at offset ${offset}`);
  }
}

export function fail(error: OfErrorCode, offset: number, detail: string): never {
  throw new DecodeError(error, offset, detail);
}

export class Reader {
  readonly dv: DataView;
  off: number;
  constructor(
    readonly buf: Uint8Array,
    off = 0,
  ) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.off = off;
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

const INITIAL = 256;

export class Writer {
  buf = new Uint8Array(INITIAL);
  dv = new DataView(this.buf.buffer);
  off = 0;
  private grow(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.off + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.off));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.grow(1);
    this.dv.setUint8(this.off++, v);
  }
  u16(v: number): void {
    this.grow(2);
    this.dv.setUint16(this.off, v);
    this.off += 2;
  }
  u32(v: number): void {
    this.grow(4);
    this.dv.setUint32(this.off, v);
    this.off += 4;
  }
  u64(v: bigint): void {
    this.grow(8);
    this.dv.setBigUint64(this.off, BigInt.asUintN(64, v));
    this.off += 8;
  }
  bytes(v: Uint8Array): void {
    this.grow(v.length);
    this.buf.set(v, this.off);
    this.off += v.length;
  }
  zeros(n: number): void {
    this.grow(n);
    this.buf.fill(0, this.off, this.off + n);
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
  /** A copy of what was written: the result owns its memory. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.off);
  }
}

export function lengthError(e: OfErrorCode, offset: number, what: string, len: number, allowed: string): never {
  return fail(e, offset, `${what}: length ${len}, expected ${allowed}`);
}

// ---- readable forms of addresses --------------------------------------------

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function macToString(b: Uint8Array, off = 0): string {
  return `${HEX[b[off]]}:${HEX[b[off + 1]]}:${HEX[b[off + 2]]}:${HEX[b[off + 3]]}:${HEX[b[off + 4]]}:${HEX[b[off + 5]]}`;
}

export function macToBytes(s: string): Uint8Array {
  const parts = s.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new TypeError(`not a MAC address: ${JSON.stringify(s)}`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

export function ipv4ToString(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

export function ipv4ToBytes(s: string): Uint8Array {
  const parts = s.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || +p > 255)) {
    throw new TypeError(`not an IPv4 address: ${JSON.stringify(s)}`);
  }
  return Uint8Array.from(parts, Number);
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
