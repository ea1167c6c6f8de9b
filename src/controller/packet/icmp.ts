// ICMP for IPv4 (RFC 792). Every message starts with type, code, checksum and
// four bytes whose meaning depends on the type (identifier and sequence number
// for echo, a gateway for redirect...), kept whole as `rest`; the body after
// them is the payload. ICMPv6 (icmpv6.ts) has the same layout and reuses the
// view and the representation; only its checksum differs. Types and codes are
// plain numbers, so unknown ones are kept.

import { checksum, checkUint, get16, get32, set16, set32, withHeader } from './bytes.ts';

export const ICMP_TYPE = {
  ECHO_REPLY: 0,
  DEST_UNREACHABLE: 3,
  REDIRECT: 5,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
  PARAMETER_PROBLEM: 12,
} as const;
export const ICMP_HEADER_LEN = 8;

// Offsets in the header.
const F_TYPE = 0;
const F_CODE = 1;
const F_CHECKSUM = 2;
const F_REST = 4;

/** An ICMP or ICMPv6 message. */
export class IcmpView {
  private constructor(readonly bytes: Uint8Array) {}

  static of(b: Uint8Array): IcmpView | undefined {
    return b.length < ICMP_HEADER_LEN ? undefined : new IcmpView(b);
  }

  get type(): number {
    return this.bytes[F_TYPE];
  }
  get code(): number {
    return this.bytes[F_CODE];
  }
  get checksum(): number {
    return get16(this.bytes, F_CHECKSUM);
  }
  get rest(): number {
    return get32(this.bytes, F_REST);
  }
  get payload(): Uint8Array {
    return this.bytes.subarray(ICMP_HEADER_LEN);
  }
  /** The ICMP (v4) checksum, over the whole message. */
  get checksumOk(): boolean {
    return checksum(this.bytes) === 0;
  }
}

export interface Icmp {
  type: number;
  code: number;
  /** The second word of the header: for echo, identifier << 16 | sequence (see icmpEcho). */
  rest: number;
  payload: Uint8Array;
}

export function parseIcmp(b: Uint8Array): Icmp | undefined {
  const v = IcmpView.of(b);
  return v && { type: v.type, code: v.code, rest: v.rest, payload: v.payload };
}

export const icmpLength = (): number => ICMP_HEADER_LEN;

/** The message with its header written and the checksum field zero; `sum` computes the checksum. */
export function emitIcmpHeader(icmp: Omit<Icmp, 'payload'>, payload: Uint8Array, sum: (b: Uint8Array) => number): Uint8Array {
  checkUint('ICMP type', icmp.type, 8);
  checkUint('ICMP code', icmp.code, 8);
  checkUint('ICMP rest', icmp.rest, 32);
  const out = withHeader(ICMP_HEADER_LEN, payload);
  out[F_TYPE] = icmp.type;
  out[F_CODE] = icmp.code;
  set32(out, F_REST, icmp.rest);
  set16(out, F_CHECKSUM, sum(out));
  return out;
}

export const emitIcmp = (icmp: Omit<Icmp, 'payload'>, payload: Uint8Array): Uint8Array =>
  emitIcmpHeader(icmp, payload, (b) => checksum(b));

/** The rest-of-header word of an echo request or reply, and back. */
export const icmpEcho = (id: number, seq: number): number => ((id << 16) | seq) >>> 0;
export const echoIdSeq = (rest: number): { id: number; seq: number } => ({ id: rest >>> 16, seq: rest & 0xffff });
