// IPv4 (RFC 791). The view checks once that the header, options included, is
// there and that the total length covers it; the representation keeps every
// field, the options as raw bytes and the flags as their three bits, so a
// parsed packet builds back to the same bytes. The header checksum is computed
// on build; on parse it is only reported (view.checksumOk), since a packet-in
// may carry a checksum that offloading left unfinished.
//
// A packet-in may also be cut short (miss_send_len): a total length beyond the
// captured bytes is accepted and the payload is what was captured. Padding
// after the total length (Ethernet's minimum frame) is not payload.

import { checksum, checkUint, get16, ipv4ToBytes, ipv4ToString, set16, withHeader } from './bytes.ts';

/** IANA protocol numbers, for ipv4.protocol and ipv6.nextHeader. */
export const IP_PROTO = {
  HOPOPT: 0,
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  IPV6_ROUTE: 43,
  IPV6_FRAG: 44,
  AH: 51,
  ICMPV6: 58,
  IPV6_NONXT: 59,
  IPV6_OPTS: 60,
  SCTP: 132,
} as const;

/** Bits of ipv4.flags. */
export const IPV4_FLAG = { DF: 0b010, MF: 0b001 } as const;
export const IPV4_HEADER_LEN = 20;

// Offsets in the header.
const F_VER_IHL = 0;
const F_TOS = 1;
const F_LENGTH = 2;
const F_IDENT = 4;
const F_FLAGS_FRAG = 6;
const F_TTL = 8;
const F_PROTOCOL = 9;
const F_CHECKSUM = 10;
const F_SRC = 12;
const F_DST = 16;

export class Ipv4View {
  private constructor(readonly bytes: Uint8Array) {}

  /** A view when the bytes hold an IPv4 header whose declared lengths are consistent. */
  static of(b: Uint8Array): Ipv4View | undefined {
    if (b.length < IPV4_HEADER_LEN || b[F_VER_IHL] >> 4 !== 4) return undefined;
    const hlen = (b[F_VER_IHL] & 0xf) * 4;
    if (hlen < IPV4_HEADER_LEN || hlen > b.length || get16(b, F_LENGTH) < hlen) return undefined;
    return new Ipv4View(b);
  }

  get headerLength(): number {
    return (this.bytes[F_VER_IHL] & 0xf) * 4;
  }
  get dscp(): number {
    return this.bytes[F_TOS] >> 2;
  }
  get ecn(): number {
    return this.bytes[F_TOS] & 3;
  }
  get totalLength(): number {
    return get16(this.bytes, F_LENGTH);
  }
  get ident(): number {
    return get16(this.bytes, F_IDENT);
  }
  get flags(): number {
    return this.bytes[F_FLAGS_FRAG] >> 5;
  }
  get fragOffset(): number {
    return get16(this.bytes, F_FLAGS_FRAG) & 0x1fff;
  }
  get ttl(): number {
    return this.bytes[F_TTL];
  }
  get protocol(): number {
    return this.bytes[F_PROTOCOL];
  }
  get checksum(): number {
    return get16(this.bytes, F_CHECKSUM);
  }
  get src(): string {
    return ipv4ToString(this.bytes, F_SRC);
  }
  get dst(): string {
    return ipv4ToString(this.bytes, F_DST);
  }
  get options(): Uint8Array {
    return this.bytes.subarray(IPV4_HEADER_LEN, this.headerLength);
  }
  /** Up to the total length, or the end of what was captured. */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLength, Math.min(this.totalLength, this.bytes.length));
  }
  get checksumOk(): boolean {
    return checksum(this.bytes.subarray(0, this.headerLength)) === 0;
  }
}

export interface Ipv4 {
  dscp: number;
  ecn: number;
  ident: number;
  /** Three bits: reserved, DF, MF (IPV4_FLAG). */
  flags: number;
  /** In units of 8 bytes. */
  fragOffset: number;
  ttl: number;
  protocol: number;
  src: string;
  dst: string;
  /** The options as on the wire, padding included: a multiple of 4 bytes. */
  options: Uint8Array;
  payload: Uint8Array;
}

/** What emitIpv4 needs: addresses and protocol, the rest defaulting to 0, except ttl 64 and flags DF. */
export type Ipv4Fields = Pick<Ipv4, 'src' | 'dst' | 'protocol'> & Partial<Omit<Ipv4, 'payload'>>;

export function parseIpv4(b: Uint8Array): Ipv4 | undefined {
  const v = Ipv4View.of(b);
  if (!v) return undefined;
  return {
    dscp: v.dscp,
    ecn: v.ecn,
    ident: v.ident,
    flags: v.flags,
    fragOffset: v.fragOffset,
    ttl: v.ttl,
    protocol: v.protocol,
    src: v.src,
    dst: v.dst,
    options: v.options,
    payload: v.payload,
  };
}

export const ipv4Length = (ip: { options?: Uint8Array }): number => IPV4_HEADER_LEN + (ip.options?.length ?? 0);

/** The packet for a header and payload, total length and header checksum computed. */
export function emitIpv4(ip: Ipv4Fields, payload: Uint8Array): Uint8Array {
  const { dscp = 0, ecn = 0, ident = 0, flags = IPV4_FLAG.DF, fragOffset = 0, ttl = 64, options = new Uint8Array(0) } = ip;
  if (options.length % 4 || options.length > 40) throw new RangeError(`IPv4 options must be a multiple of 4 bytes, at most 40; got ${options.length}`);
  const hlen = ipv4Length(ip);
  checkUint('IPv4 total length', hlen + payload.length, 16);
  checkUint('IPv4 dscp', dscp, 6);
  checkUint('IPv4 ecn', ecn, 2);
  checkUint('IPv4 ident', ident, 16);
  checkUint('IPv4 flags', flags, 3);
  checkUint('IPv4 fragOffset', fragOffset, 13);
  checkUint('IPv4 ttl', ttl, 8);
  checkUint('IPv4 protocol', ip.protocol, 8);
  const out = withHeader(hlen, payload);
  out[F_VER_IHL] = 0x40 | (hlen / 4);
  out[F_TOS] = (dscp << 2) | ecn;
  set16(out, F_LENGTH, out.length);
  set16(out, F_IDENT, ident);
  set16(out, F_FLAGS_FRAG, (flags << 13) | fragOffset);
  out[F_TTL] = ttl;
  out[F_PROTOCOL] = ip.protocol;
  out.set(ipv4ToBytes(ip.src), F_SRC);
  out.set(ipv4ToBytes(ip.dst), F_DST);
  out.set(options, IPV4_HEADER_LEN);
  set16(out, F_CHECKSUM, checksum(out.subarray(0, hlen)));
  return out;
}
