// ARP for IPv4 over Ethernet (RFC 826): the only kind a controller meets. A view
// checks the length once and reads any ARP header; the plain representation
// is for the Ethernet/IPv4 kind only (hardware type 1, protocol 0x0800, lengths
// 6 and 4), so parseArp() gives undefined for other kinds or short input.
// Unknown operations are kept as numbers.

import { checkUint, get16, ipv4ToBytes, ipv4ToString, macToBytes, macToString, set16 } from './bytes.ts';
import { ETHERTYPE } from './ethernet.ts';

export const ARP_OP = { REQUEST: 1, REPLY: 2 } as const;
export const ARP_HTYPE_ETHERNET = 1;
/** The header for Ethernet/IPv4. */
export const ARP_LEN = 28;

// Offsets; the addresses are those of the Ethernet/IPv4 layout.
const F_HTYPE = 0;
const F_PTYPE = 2;
const F_HLEN = 4;
const F_PLEN = 5;
const F_OPER = 6;
const F_SHA = 8;
const F_SPA = 14;
const F_THA = 18;
const F_TPA = 24;
const FIXED_LEN = 8;

export class ArpView {
  private constructor(readonly bytes: Uint8Array) {}

  /** A view when the fixed part and both address pairs of the lengths it declares fit. */
  static of(b: Uint8Array): ArpView | undefined {
    if (b.length < FIXED_LEN || b.length < FIXED_LEN + 2 * (b[F_HLEN] + b[F_PLEN])) return undefined;
    return new ArpView(b);
  }

  get htype(): number {
    return get16(this.bytes, F_HTYPE);
  }
  get ptype(): number {
    return get16(this.bytes, F_PTYPE);
  }
  get hlen(): number {
    return this.bytes[F_HLEN];
  }
  get plen(): number {
    return this.bytes[F_PLEN];
  }
  get op(): number {
    return get16(this.bytes, F_OPER);
  }
  /** Whether this is the Ethernet/IPv4 kind that the representation covers. */
  get ethernetIpv4(): boolean {
    return this.htype === ARP_HTYPE_ETHERNET && this.ptype === ETHERTYPE.IPV4 && this.hlen === 6 && this.plen === 4;
  }
}

export interface Arp {
  op: number;
  /** Sender hardware and protocol address. */
  sha: string;
  spa: string;
  /** Target hardware and protocol address. */
  tha: string;
  tpa: string;
}

export function parseArp(b: Uint8Array): Arp | undefined {
  const v = ArpView.of(b);
  if (!v?.ethernetIpv4) return undefined;
  return {
    op: v.op,
    sha: macToString(b, F_SHA),
    spa: ipv4ToString(b, F_SPA),
    tha: macToString(b, F_THA),
    tpa: ipv4ToString(b, F_TPA),
  };
}

export const arpLength = (): number => ARP_LEN;

export function emitArp(arp: Arp): Uint8Array {
  checkUint('ARP op', arp.op, 16);
  const out = new Uint8Array(ARP_LEN);
  set16(out, F_HTYPE, ARP_HTYPE_ETHERNET);
  set16(out, F_PTYPE, ETHERTYPE.IPV4);
  out[F_HLEN] = 6;
  out[F_PLEN] = 4;
  set16(out, F_OPER, arp.op);
  out.set(macToBytes(arp.sha), F_SHA);
  out.set(ipv4ToBytes(arp.spa), F_SPA);
  out.set(macToBytes(arp.tha), F_THA);
  out.set(ipv4ToBytes(arp.tpa), F_TPA);
  return out;
}
