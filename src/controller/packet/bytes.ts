// What every protocol file of the packet library shares: big-endian reads and
// writes on a Uint8Array (no DataView per packet), the Internet checksum of
// RFC 1071 with the IPv4 and IPv6 pseudo-headers of RFC 793 and RFC 8200
// section 8.1, the text forms of addresses (the codec's, so a MAC or an IP
// reads the same in a match and in a parsed packet), and the range checks that
// make a build with a bad field throw instead of writing wrong bytes.

import { ipv4ToBytes, ipv6ToBytes, macToBytes } from '../../openflow/codec/index.ts';
import { ipv4ToString, ipv6ToString, macToString } from '../../openflow/codec/wire.ts';

export { ipv4ToBytes, ipv4ToString, ipv6ToBytes, ipv6ToString, macToBytes, macToString };

export const get16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
export const get32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

export function set16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

export function set32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/** Throws RangeError unless v is an integer that fits in `bits` bits: a programmer error on build. */
export function checkUint(name: string, v: number, bits: number): void {
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits) {
    throw new RangeError(`${name} must be an integer from 0 to ${2 ** bits - 1}, got ${v}`);
  }
}

/** The one's-complement sum of b as 16-bit words (an odd tail padded with zero), added to `sum`, not folded. */
export function sum16(b: Uint8Array, sum = 0): number {
  const n = b.length & ~1;
  for (let i = 0; i < n; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (b.length & 1) sum += b[n] << 8;
  return sum;
}

/** The checksum field value for a sum: folded to 16 bits and complemented. */
export function finish(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** The Internet checksum of b (checksum field included): 0 when b carries a correct checksum. */
export const checksum = (b: Uint8Array, sum = 0): number => finish(sum16(b, sum));

/** The address pair of the IPv4 or IPv6 header a TCP, UDP or ICMPv6 checksum covers. */
export interface IpAddresses {
  src: string;
  dst: string;
}

/**
 * The sum of the pseudo-header: source and destination, protocol and upper-layer
 * length; IPv6 when the addresses are IPv6 text. Throws TypeError for an address
 * that is neither.
 */
export function pseudoHeaderSum(ip: IpAddresses, protocol: number, length: number): number {
  const v6 = ip.src.includes(':');
  const addr = v6 ? ipv6ToBytes : ipv4ToBytes;
  let sum = sum16(addr(ip.src), sum16(addr(ip.dst)));
  // IPv4 has a 16-bit length and IPv6 a 32-bit one; as 16-bit words they sum the same.
  sum += protocol + (length & 0xffff) + Math.floor(length / 0x10000);
  return sum;
}

/** A copy of `payload` behind `headerLength` zero bytes, for a build to fill the header in. */
export function withHeader(headerLength: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(headerLength + payload.length);
  out.set(payload, headerLength);
  return out;
}

/** The checksum of a TCP segment, UDP datagram or ICMPv6 message (checksum field included) with its pseudo-header. */
export const transportChecksum = (b: Uint8Array, ip: IpAddresses, protocol: number): number =>
  checksum(b, pseudoHeaderSum(ip, protocol, b.length));
