// UDP (RFC 768). The checksum, with the IPv4 or IPv6 pseudo-header, is
// computed on build (a computed 0 goes on the wire as 0xffff, since 0 means
// "no checksum" over IPv4); on parse it is only reported (view.checksumOk).

import { checkUint, get16, set16, transportChecksum, withHeader, type IpAddresses } from './bytes.ts';
import { IP_PROTO } from './ipv4.ts';

export const UDP_HEADER_LEN = 8;

// Offsets in the header.
const F_SRC_PORT = 0;
const F_DST_PORT = 2;
const F_LENGTH = 4;
const F_CHECKSUM = 6;

export class UdpView {
  private constructor(readonly bytes: Uint8Array) {}

  static of(b: Uint8Array): UdpView | undefined {
    return b.length < UDP_HEADER_LEN || get16(b, F_LENGTH) < UDP_HEADER_LEN ? undefined : new UdpView(b);
  }

  get srcPort(): number {
    return get16(this.bytes, F_SRC_PORT);
  }
  get dstPort(): number {
    return get16(this.bytes, F_DST_PORT);
  }
  get length(): number {
    return get16(this.bytes, F_LENGTH);
  }
  get checksum(): number {
    return get16(this.bytes, F_CHECKSUM);
  }
  /** Up to the length field, or the end of what was captured. */
  get payload(): Uint8Array {
    return this.bytes.subarray(UDP_HEADER_LEN, Math.min(this.length, this.bytes.length));
  }
  /** True when the checksum is right or absent (0); false too when the datagram was cut short. */
  checksumOk(ip: IpAddresses): boolean {
    if (this.checksum === 0) return true;
    return this.length <= this.bytes.length && transportChecksum(this.bytes.subarray(0, this.length), ip, IP_PROTO.UDP) === 0;
  }
}

export interface Udp {
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

export function parseUdp(b: Uint8Array): Udp | undefined {
  const v = UdpView.of(b);
  return v && { srcPort: v.srcPort, dstPort: v.dstPort, payload: v.payload };
}

export const udpLength = (): number => UDP_HEADER_LEN;

/** The datagram, length and checksum computed over the pseudo-header of `ip` (an IPv4 or IPv6 header's addresses). */
export function emitUdp(udp: Omit<Udp, 'payload'>, payload: Uint8Array, ip: IpAddresses): Uint8Array {
  checkUint('UDP srcPort', udp.srcPort, 16);
  checkUint('UDP dstPort', udp.dstPort, 16);
  checkUint('UDP length', UDP_HEADER_LEN + payload.length, 16);
  const out = withHeader(UDP_HEADER_LEN, payload);
  set16(out, F_SRC_PORT, udp.srcPort);
  set16(out, F_DST_PORT, udp.dstPort);
  set16(out, F_LENGTH, out.length);
  set16(out, F_CHECKSUM, transportChecksum(out, ip, IP_PROTO.UDP) || 0xffff);
  return out;
}
