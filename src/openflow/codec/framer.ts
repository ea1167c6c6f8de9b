// Cuts a TCP byte stream into OpenFlow messages. Every message starts with the
// 8-byte header (version u8, type u8, length u16, xid u32; spec 7.1) and its
// length covers the whole message, so the length alone frames the stream.
// Invariants: frames come out in stream order and nothing before an error is
// lost; a whole message that sits inside one chunk is returned as a view of that
// chunk (no copy), and only a message that spans chunks is copied, once, into a
// buffer of its own length, so many small chunks cost O(total bytes).
// A length under 8 leaves no way to find the next message: that error is fatal,
// the framer drops what it holds and every later push() returns [].
// A wrong version is not fatal (the length still frames the stream); HELLO is
// exempt, since version negotiation (spec 6.3.1) reads its version itself.

import { ERR, type OfErrorCode } from './errors.ts';

/**
 * ok: exactly one whole message (header.length bytes). Not ok: bytes is the
 * message with the wrong version, or for a fatal bad length its 8-byte header.
 */
export type Frame =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; error: OfErrorCode; detail: string; fatal: boolean; bytes?: Uint8Array };

const HEADER_LEN = 8;
const OFPT_HELLO = 0;

const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

export class Framer {
  private readonly version: number;
  /** Header bytes of a message that spans chunks, until its length is known. */
  private readonly head = new Uint8Array(HEADER_LEN);
  /** The spanning message once its length is known. */
  private msg: Uint8Array | null = null;
  /** Bytes of the spanning message received so far. */
  private have = 0;
  private dead = false;

  constructor(opts: { version?: number } = {}) {
    const version = opts.version ?? 0x04;
    if (!Number.isInteger(version) || version < 1 || version > 0xff) {
      throw new RangeError(`OpenFlow version must be 1..255, got ${version}`);
    }
    this.version = version;
  }

  /** Bytes held waiting for the rest of a message. */
  get buffered(): number {
    return this.have;
  }

  /** All frames this chunk completes, in stream order. */
  push(chunk: Uint8Array): Frame[] {
    const out: Frame[] = [];
    if (this.dead) return out;
    let off = this.have > 0 ? this.resume(chunk, out) : 0;
    while (!this.dead && off < chunk.length) {
      const rest = chunk.length - off;
      if (rest >= HEADER_LEN) {
        const len = (chunk[off + 2] << 8) | chunk[off + 3];
        if (len < HEADER_LEN) {
          this.die(out, len, chunk.subarray(off, off + HEADER_LEN));
          break;
        }
        if (len <= rest) {
          out.push(this.frame(chunk.subarray(off, off + len)));
          off += len;
          continue;
        }
      }
      // The message runs past this chunk: resume() takes all of the rest.
      off += this.resume(chunk.subarray(off), out);
    }
    return out;
  }

  /** Feeds the spanning message; returns how many bytes of chunk it took. */
  private resume(chunk: Uint8Array, out: Frame[]): number {
    let off = 0;
    if (this.msg === null) {
      off = Math.min(HEADER_LEN - this.have, chunk.length);
      this.head.set(chunk.subarray(0, off), this.have);
      this.have += off;
      if (this.have < HEADER_LEN) return off;
      const len = (this.head[2] << 8) | this.head[3];
      if (len < HEADER_LEN) {
        this.die(out, len, this.head.slice());
        return off;
      }
      this.msg = new Uint8Array(len);
      this.msg.set(this.head);
    }
    const n = Math.min(this.msg.length - this.have, chunk.length - off);
    this.msg.set(chunk.subarray(off, off + n), this.have);
    this.have += n;
    if (this.have === this.msg.length) {
      out.push(this.frame(this.msg));
      this.msg = null;
      this.have = 0;
    }
    return off + n;
  }

  private frame(bytes: Uint8Array): Frame {
    const version = bytes[0];
    if (version === this.version || (bytes[1] === OFPT_HELLO && version >= 1)) return { ok: true, bytes };
    return {
      ok: false,
      error: ERR.BAD_REQUEST.BAD_VERSION,
      detail: `message version ${hex(version)} is not the negotiated version ${hex(this.version)}`,
      fatal: false,
      bytes,
    };
  }

  private die(out: Frame[], len: number, header: Uint8Array): void {
    this.dead = true;
    this.have = 0; // drop a split header: nothing more is framed
    out.push({
      ok: false,
      error: ERR.BAD_REQUEST.BAD_LEN,
      detail: `message length ${len} is shorter than the 8-byte header; the stream cannot be framed`,
      fatal: true,
      bytes: header,
    });
  }
}
