// IPv6 (RFC 8200). The fixed 40-byte header; extension headers stay in the
// payload, as on the wire, so a parsed packet builds back to the same bytes.
// ipv6UpperLayer() walks them (hop-by-hop, routing, fragment, destination
// options, AH) to the transport header that a checksum and a match care about.
// As in ipv4.ts, a payload length beyond the captured bytes is accepted.

import { checkUint, get16, get32, ipv6ToBytes, ipv6ToString, set16, set32, withHeader } from './bytes.ts';
import { IP_PROTO } from './ipv4.ts';

export const IPV6_HEADER_LEN = 40;

// Offsets in the header.
const F_VER_TC_FLOW = 0;
const F_PAYLOAD_LEN = 4;
const F_NEXT_HEADER = 6;
const F_HOP_LIMIT = 7;
const F_SRC = 8;
const F_DST = 24;

export class Ipv6View {
  private constructor(readonly bytes: Uint8Array) {}

  static of(b: Uint8Array): Ipv6View | undefined {
    return b.length < IPV6_HEADER_LEN || b[F_VER_TC_FLOW] >> 4 !== 6 ? undefined : new Ipv6View(b);
  }

  get trafficClass(): number {
    return (get16(this.bytes, F_VER_TC_FLOW) >> 4) & 0xff;
  }
  get flowLabel(): number {
    return get32(this.bytes, F_VER_TC_FLOW) & 0xfffff;
  }
  get payloadLength(): number {
    return get16(this.bytes, F_PAYLOAD_LEN);
  }
  get nextHeader(): number {
    return this.bytes[F_NEXT_HEADER];
  }
  get hopLimit(): number {
    return this.bytes[F_HOP_LIMIT];
  }
  get src(): string {
    return ipv6ToString(this.bytes, F_SRC);
  }
  get dst(): string {
    return ipv6ToString(this.bytes, F_DST);
  }
  get payload(): Uint8Array {
    return this.bytes.subarray(IPV6_HEADER_LEN, Math.min(IPV6_HEADER_LEN + this.payloadLength, this.bytes.length));
  }
}

export interface Ipv6 {
  trafficClass: number;
  flowLabel: number;
  /** The first header after this one: an extension header or the transport. */
  nextHeader: number;
  hopLimit: number;
  src: string;
  dst: string;
  /** Extension headers included. */
  payload: Uint8Array;
}

/** What emitIpv6 needs; trafficClass and flowLabel default to 0, hopLimit to 64. */
export type Ipv6Fields = Pick<Ipv6, 'src' | 'dst' | 'nextHeader'> & Partial<Omit<Ipv6, 'payload'>>;

export function parseIpv6(b: Uint8Array): Ipv6 | undefined {
  const v = Ipv6View.of(b);
  if (!v) return undefined;
  return {
    trafficClass: v.trafficClass,
    flowLabel: v.flowLabel,
    nextHeader: v.nextHeader,
    hopLimit: v.hopLimit,
    src: v.src,
    dst: v.dst,
    payload: v.payload,
  };
}

export const ipv6Length = (): number => IPV6_HEADER_LEN;

export function emitIpv6(ip: Ipv6Fields, payload: Uint8Array): Uint8Array {
  const { trafficClass = 0, flowLabel = 0, hopLimit = 64 } = ip;
  checkUint('IPv6 payload length', payload.length, 16);
  checkUint('IPv6 trafficClass', trafficClass, 8);
  checkUint('IPv6 flowLabel', flowLabel, 20);
  checkUint('IPv6 nextHeader', ip.nextHeader, 8);
  checkUint('IPv6 hopLimit', hopLimit, 8);
  const out = withHeader(IPV6_HEADER_LEN, payload);
  set32(out, F_VER_TC_FLOW, ((6 << 28) | (trafficClass << 20) | flowLabel) >>> 0);
  set16(out, F_PAYLOAD_LEN, payload.length);
  out[F_NEXT_HEADER] = ip.nextHeader;
  out[F_HOP_LIMIT] = hopLimit;
  out.set(ipv6ToBytes(ip.src), F_SRC);
  out.set(ipv6ToBytes(ip.dst), F_DST);
  return out;
}

/**
 * The transport protocol and its bytes after the extension headers, or
 * undefined when a header is cut short or the packet is a non-first fragment
 * (whose transport header is in another packet).
 */
export function ipv6UpperLayer(ip: Pick<Ipv6, 'nextHeader' | 'payload'>): { protocol: number; payload: Uint8Array } | undefined {
  let protocol = ip.nextHeader;
  let b = ip.payload;
  for (;;) {
    let len: number;
    switch (protocol) {
      case IP_PROTO.HOPOPT:
      case IP_PROTO.IPV6_ROUTE:
      case IP_PROTO.IPV6_OPTS:
        len = b.length >= 2 ? (b[1] + 1) * 8 : Infinity;
        break;
      case IP_PROTO.IPV6_FRAG:
        if (b.length >= 4 && get16(b, 2) >> 3 !== 0) return undefined;
        len = 8;
        break;
      case IP_PROTO.AH:
        len = b.length >= 2 ? (b[1] + 2) * 4 : Infinity;
        break;
      default:
        return { protocol, payload: b };
    }
    if (len > b.length) return undefined;
    protocol = b[0];
    b = b.subarray(len);
  }
}
