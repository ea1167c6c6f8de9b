// ICMPv6 (RFC 4443): ICMP's layout (icmp.ts: type, code, checksum, a
// type-specific word, body) with a checksum over the IPv6 pseudo-header.
// Neighbor Discovery (RFC 4861) rides on it; parseNdp() reads the target and
// the options of its messages, keeping unknown options, for the OpenFlow
// fields ipv6_nd_target, ipv6_nd_sll and ipv6_nd_tll.

import { ipv6ToString, macToString, transportChecksum, type IpAddresses } from './bytes.ts';
import { emitIcmpHeader, IcmpView, parseIcmp, type Icmp } from './icmp.ts';
import { IP_PROTO } from './ipv4.ts';

export const ICMPV6_TYPE = {
  DEST_UNREACHABLE: 1,
  PACKET_TOO_BIG: 2,
  TIME_EXCEEDED: 3,
  PARAMETER_PROBLEM: 4,
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
  MLD_QUERY: 130,
  MLD_REPORT: 131,
  MLD_DONE: 132,
  ROUTER_SOLICIT: 133,
  ROUTER_ADVERT: 134,
  NEIGHBOR_SOLICIT: 135,
  NEIGHBOR_ADVERT: 136,
  REDIRECT: 137,
  MLDV2_REPORT: 143,
} as const;
export const NDP_OPTION = { SOURCE_LL_ADDR: 1, TARGET_LL_ADDR: 2, PREFIX_INFO: 3, REDIRECTED_HEADER: 4, MTU: 5 } as const;

export type Icmpv6 = Icmp;

export const parseIcmpv6: (b: Uint8Array) => Icmpv6 | undefined = parseIcmp;

/** Whether an ICMPv6 message's checksum, over the pseudo-header of `ip`, is right. */
export function icmpv6ChecksumOk(b: Uint8Array, ip: IpAddresses): boolean {
  return IcmpView.of(b) !== undefined && transportChecksum(b, ip, IP_PROTO.ICMPV6) === 0;
}

export const emitIcmpv6 = (icmp: Omit<Icmpv6, 'payload'>, payload: Uint8Array, ip: IpAddresses): Uint8Array =>
  emitIcmpHeader(icmp, payload, (b) => transportChecksum(b, ip, IP_PROTO.ICMPV6));

export interface Ndp {
  /** Neighbor solicitation, advertisement and redirect: the address asked or told about. */
  target?: string;
  /** Source and target link-layer addresses, when their option is there. */
  sll?: string;
  tll?: string;
  /** Every option in order, unknown ones included; data without type and length bytes. */
  options: { type: number; data: Uint8Array }[];
}

/** Bytes before the options: after the type-specific word, a target (NS, NA) or more (RA, redirect). */
const NDP_FIXED: Record<number, number> = { 133: 0, 134: 8, 135: 16, 136: 16, 137: 32 };

/** The Neighbor Discovery content of an ICMPv6 message, or undefined for other types and short ones. */
export function parseNdp(icmp: Icmpv6): Ndp | undefined {
  const fixed = NDP_FIXED[icmp.type];
  if (fixed === undefined || icmp.payload.length < fixed) return undefined;
  const b = icmp.payload;
  const ndp: Ndp = { options: [] };
  if (fixed >= 16) ndp.target = ipv6ToString(b, 0);
  for (let i = fixed; i + 2 <= b.length; ) {
    const len = b[i + 1] * 8; // in units of 8 bytes, type and length included
    if (len === 0 || i + len > b.length) return undefined;
    const opt = { type: b[i], data: b.subarray(i + 2, i + len) };
    ndp.options.push(opt);
    if (opt.data.length >= 6 && opt.type === NDP_OPTION.SOURCE_LL_ADDR) ndp.sll = macToString(opt.data);
    if (opt.data.length >= 6 && opt.type === NDP_OPTION.TARGET_LL_ADDR) ndp.tll = macToString(opt.data);
    i += len;
  }
  return ndp;
}
