// The flow of a frame, as Open vSwitch extracts it (lib/flow.c, flow_extract) and as
// ovs-ofctl prints it after a packet-in or packet-out (ofp_packet_to_string):
//   tcp,vlan_tci=0x0000,dl_src=...,dl_dst=...,nw_src=...,nw_dst=...,nw_tos=0,nw_ecn=0,
//   nw_ttl=64,nw_frag=no,tp_src=80,tp_dst=4000,tcp_flags=ack tcp_csum:4a2f
//
// frameFlow() reads the headers a switch matches on, OVS's way: at most two VLAN tags
// (a tag cut short leaves its TPID as the ethertype), 802.3 frames with an LLC/SNAP
// header, up to three MPLS labels, IPv4 and IPv6 only when their lengths fit in the
// frame (a packet-in cut short has none), IPv6 extension headers up to the transport,
// fragments (no transport header in a later one), TCP, UDP, SCTP, ICMP, IGMP, ICMPv6
// with neighbour discovery, ARP and RARP for Ethernet/IPv4, and NSH. As in a datapath, a
// header that does not fit is not an error: the fields it would give stay zero.
//
// formatFrame() prints it. The fields OpenFlow has are a Match printed by text.ts's
// formatMatch (names, value styles and protocol shorthands from text-fields.ts); the
// ones only Open vSwitch's flow has (nw_ttl, nw_frag, tcp_flags, a second VLAN tag...)
// go between them where match_format puts them. Which fields are printed follows OVS's
// flow_wildcards_init_for_packet: every field the frame's protocols have, zero or not.
//
// This lives in the codec, not beside the controller's packet library
// (src/controller/packet/): the codec cannot call up into the SDK, and the two read
// frames by different rules. The library gives an app every header it can read, of a
// frame cut short too, and builds frames; this is a datapath's key extraction, whose
// rules (an IPv4 packet longer than the frame gives no addresses, two tags at most, a
// repeated ND option voids the target) are what the text must follow byte for byte.

import type { Oxm, OxmFieldName } from './oxm.ts';
import { formatMatch, formatTci } from './text.ts';
import { ETH_TYPE } from './text-fields.ts';
import { ipv4ToString, ipv6ToString, macToString } from './wire.ts';

const ETH_TYPE_NSH = 0x894f;
/** 802.1Q's C-tag and 802.1ad's S-tag. */
const TPIDS = [0x8100, 0x88a8];
/** Ethertypes below this are 802.3 lengths. */
const ETH_TYPE_MIN = 0x600;
/** OVS's dl_type for an 802.3 frame without a SNAP ethertype. */
const DL_TYPE_NONE = 0x5ff;
const MAX_VLANS = 2;
const MAX_MPLS = 3;
const VLAN_CFI = 0x1000;
const MPLS_BOS = 0x100;

const PROTO = { HOPOPTS: 0, ICMP: 1, IGMP: 2, TCP: 6, UDP: 17, ROUTING: 43, FRAGMENT: 44, AH: 51, ICMPV6: 58, DSTOPTS: 60, SCTP: 132 } as const;
const ND_SOLICIT = 135;
const ND_ADVERT = 136;

/** nw_frag bits. */
export const NW_FRAG = { ANY: 1, LATER: 2 } as const;

export interface NshFields {
  flags: number;
  ttl: number;
  mdtype: number;
  np: number;
  spi: number;
  si: number;
  /** MD type 1's four context words. */
  context: number[];
}

/** What Open vSwitch's struct flow holds of a frame; zero (or the zero address) where the frame has nothing. */
export interface FrameFlow {
  dlDst: string;
  dlSrc: string;
  dlType: number;
  /** The TCIs of up to two tags, outermost first, each with the CFI bit set to say "a tag", as OVS keeps them. */
  vlans: number[];
  /** Up to three MPLS label stack entries. */
  mpls: number[];
  /** IPv4 source and destination, or ARP's sender and target protocol addresses. */
  nwSrc: string;
  nwDst: string;
  ipv6Src: string;
  ipv6Dst: string;
  ipv6Label: number;
  /** NW_FRAG bits. */
  nwFrag: number;
  /** The IPv4 TOS or IPv6 traffic class byte: DSCP and ECN. */
  nwTos: number;
  nwTtl: number;
  /** The IP protocol after IPv6's extension headers; for ARP, the opcode when it fits in 8 bits. */
  nwProto: number;
  /** Transport ports, or ICMP/ICMPv6/IGMP type and code. */
  tpSrc: number;
  tpDst: number;
  tcpFlags: number;
  /** ARP's sender and target hardware addresses, or ND's source and target link-layer options. */
  arpSha: string;
  arpTha: string;
  ndTarget: string;
  nsh: NshFields;
  /** The bytes from the transport header to the end of the IP packet, when the IP headers were read. */
  l4?: Uint8Array;
}

const ZERO_MAC = '00:00:00:00:00:00';
const get16 = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];
const get32 = (b: Uint8Array, o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

/** The flow of an Ethernet frame, field for field what OVS's flow_extract gives. */
export function frameFlow(frame: Uint8Array): FrameFlow {
  const f: FrameFlow = {
    dlDst: ZERO_MAC, dlSrc: ZERO_MAC, dlType: 0, vlans: [], mpls: [],
    nwSrc: '0.0.0.0', nwDst: '0.0.0.0', ipv6Src: '::', ipv6Dst: '::', ipv6Label: 0,
    nwFrag: 0, nwTos: 0, nwTtl: 0, nwProto: 0, tpSrc: 0, tpDst: 0, tcpFlags: 0,
    arpSha: ZERO_MAC, arpTha: ZERO_MAC, ndTarget: '::',
    nsh: { flags: 0, ttl: 0, mdtype: 0, np: 0, spi: 0, si: 0, context: [0, 0, 0, 0] },
  };
  if (frame.length < 14) return f;
  f.dlDst = macToString(frame, 0);
  f.dlSrc = macToString(frame, 6);
  let at = 12;
  // A tag counts only with the ethertype after it there too.
  while (f.vlans.length < MAX_VLANS && isVlan(get16(frame, at)) && frame.length - at >= 6) {
    f.vlans.push(get16(frame, at + 2) | VLAN_CFI);
    at += 4;
  }
  [f.dlType, at] = ethertype(frame, at);

  if (f.dlType === ETH_TYPE.MPLS || f.dlType === ETH_TYPE.MPLSM) {
    for (; at + 4 <= frame.length; at += 4) {
      const lse = get32(frame, at);
      if (f.mpls.length < MAX_MPLS) f.mpls.push(lse);
      if (lse & MPLS_BOS) break;
    }
    return f;
  }
  const l3 = frame.subarray(at);
  if (f.dlType === ETH_TYPE.IP) ipv4(f, l3);
  else if (f.dlType === ETH_TYPE.IPV6) ipv6(f, l3);
  else if (f.dlType === ETH_TYPE.ARP || f.dlType === ETH_TYPE.RARP) arp(f, l3);
  else if (f.dlType === ETH_TYPE_NSH) nsh(f, l3);
  return f;
}

const isVlan = (t: number) => TPIDS.includes(t);

/** The ethertype at `at` and where its payload starts: an 802.3 length is followed by LLC, and SNAP may name a type. */
function ethertype(b: Uint8Array, at: number): [number, number] {
  const t = get16(b, at);
  at += 2;
  if (t >= ETH_TYPE_MIN) return [t, at];
  if (b.length - at < 8) return [DL_TYPE_NONE, at];
  const snap = b[at] === 0xaa && b[at + 1] === 0xaa && b[at + 2] === 0x03 && b[at + 3] === 0 && b[at + 4] === 0 && b[at + 5] === 0;
  if (!snap) return [DL_TYPE_NONE, at];
  const snapType = get16(b, at + 6);
  return [snapType >= ETH_TYPE_MIN ? snapType : DL_TYPE_NONE, at + 8];
}

/** An IPv4 header whose lengths the frame holds; options skipped, padding after the total length ignored. */
function ipv4(f: FrameFlow, b: Uint8Array): void {
  if (b.length < 20) return;
  const hlen = (b[0] & 0xf) * 4;
  const total = get16(b, 2);
  if (hlen < 20 || hlen > b.length || total > b.length || hlen > total) return;
  f.nwSrc = ipv4ToString(b, 12);
  f.nwDst = ipv4ToString(b, 16);
  f.nwTos = b[1];
  f.nwTtl = b[8];
  f.nwProto = b[9];
  const frag = get16(b, 6);
  // MF or an offset; the reserved and DF bits do not make a fragment.
  if (frag & 0x3fff) f.nwFrag = NW_FRAG.ANY | (frag & 0x1fff ? NW_FRAG.LATER : 0);
  transport(f, b.subarray(hlen, total));
}

/** The IPv6 header, when its payload length fits, and the extension headers OVS walks to the transport. */
function ipv6(f: FrameFlow, b: Uint8Array): void {
  if (b.length < 40) return;
  const plen = get16(b, 4);
  if (40 + plen > b.length) return;
  f.ipv6Src = ipv6ToString(b, 8);
  f.ipv6Dst = ipv6ToString(b, 24);
  let proto = b[6];
  let frag = 0;
  let p = b.subarray(40, 40 + plen);
  // Each extension header must have its first 8 bytes and then its whole length; one that does not
  // leaves the flow with the addresses only.
  for (;;) {
    if (proto !== PROTO.HOPOPTS && proto !== PROTO.ROUTING && proto !== PROTO.DSTOPTS && proto !== PROTO.AH && proto !== PROTO.FRAGMENT) break;
    if (p.length < 8) return;
    const next = p[0];
    let len: number;
    if (proto === PROTO.FRAGMENT) {
      len = 8;
      const offlg = get16(p, 2);
      if (offlg) {
        frag = NW_FRAG.ANY;
        // A later fragment: the transport header is in the first, and the protocol says so.
        if (offlg & 0xfff8) {
          frag |= NW_FRAG.LATER;
          proto = PROTO.FRAGMENT;
          p = p.subarray(len);
          break;
        }
      }
    } else {
      len = proto === PROTO.AH ? (p[1] + 2) * 4 : (p[1] + 1) * 8;
    }
    if (len > p.length) return;
    proto = next;
    p = p.subarray(len);
  }
  const tcFlow = get32(b, 0);
  f.ipv6Label = tcFlow & 0xfffff;
  f.nwTos = (tcFlow >>> 20) & 0xff;
  f.nwTtl = b[7];
  f.nwProto = proto;
  f.nwFrag = frag;
  transport(f, p);
}

/** The transport header of an IP packet (`b` ends where the IP length says). */
function transport(f: FrameFlow, b: Uint8Array): void {
  f.l4 = b;
  if (f.nwFrag & NW_FRAG.LATER) return;
  switch (f.nwProto) {
    case PROTO.TCP: {
      const hlen = (b[12] >> 4) * 4;
      if (b.length < 20 || hlen < 20 || hlen > b.length) return;
      f.tcpFlags = get16(b, 12) & 0xfff;
      ports(f, b);
      return;
    }
    case PROTO.UDP:
      if (b.length >= 8) ports(f, b);
      return;
    case PROTO.SCTP:
      if (b.length >= 12) ports(f, b);
      return;
    case PROTO.ICMP:
    case PROTO.IGMP:
      if (b.length >= 8) [f.tpSrc, f.tpDst] = [b[0], b[1]];
      return;
    case PROTO.ICMPV6:
      if (b.length >= 8) {
        [f.tpSrc, f.tpDst] = [b[0], b[1]];
        if (b[1] === 0 && (b[0] === ND_SOLICIT || b[0] === ND_ADVERT)) neighbourDiscovery(f, b.subarray(8));
      }
      return;
  }
}

function ports(f: FrameFlow, b: Uint8Array): void {
  f.tpSrc = get16(b, 0);
  f.tpDst = get16(b, 2);
}

/**
 * A neighbour solicitation's or advertisement's target and link-layer address options.
 * OVS stops quietly at an option of length 0 or one that runs past the end, and voids the
 * target and both addresses when an address option comes twice.
 */
function neighbourDiscovery(f: FrameFlow, b: Uint8Array): void {
  if (b.length < 16) return;
  let sll: string | undefined;
  let tll: string | undefined;
  for (let at = 16; b.length - at >= 8; ) {
    const len = b[at + 1] * 8;
    if (!len || len > b.length - at) break;
    const type = b[at];
    if (len === 8 && (type === 1 || type === 2)) {
      const mac = macToString(b, at + 2);
      const seen = type === 1 ? sll : tll;
      // OVS tells "seen" by a non-zero address: a zero one may come again.
      if (seen !== undefined && seen !== ZERO_MAC) return;
      if (type === 1) sll = mac;
      else tll = mac;
    }
    at += len;
  }
  f.ndTarget = ipv6ToString(b, 0);
  f.arpSha = sll ?? ZERO_MAC;
  f.arpTha = tll ?? ZERO_MAC;
}

/** ARP and RARP for Ethernet and IPv4 only; an opcode above 255 reads as 0. */
function arp(f: FrameFlow, b: Uint8Array): void {
  if (b.length < 28 || get16(b, 0) !== 1 || get16(b, 2) !== ETH_TYPE.IP || b[4] !== 6 || b[5] !== 4) return;
  f.nwSrc = ipv4ToString(b, 14);
  f.nwDst = ipv4ToString(b, 24);
  const op = get16(b, 6);
  if (op <= 0xff) f.nwProto = op;
  f.arpSha = macToString(b, 8);
  f.arpTha = macToString(b, 18);
}

/** A version 0 NSH base and service path header; MD type 1's context words (it must be 24 bytes). */
function nsh(f: FrameFlow, b: Uint8Array): void {
  if (b.length < 8) return;
  const word = get16(b, 0);
  const length = (word & 0x3f) * 4;
  if (length > b.length || word >> 14 !== 0) return;
  const mdtype = b[2];
  if (mdtype === 1 && length !== 24) return;
  const path = get32(b, 4);
  const context = mdtype === 1 ? [get32(b, 8), get32(b, 12), get32(b, 16), get32(b, 20)] : [0, 0, 0, 0];
  f.nsh = { flags: (word >> 12) & 3, ttl: (word >> 6) & 0x3f, mdtype, np: b[3], spi: path >>> 8, si: path & 0xff, context };
}

// ---- the text ------------------------------------------------------------------------------

/** OVS's names of the TCP flag bits, lowest first. */
const TCP_FLAG_NAMES = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr', 'ns', '[200]', '[400]', '[800]'];
const NW_FRAG_NAMES = ['no', 'first', '<error>', 'later'];

const tcpFlagsText = (flags: number) =>
  flags ? TCP_FLAG_NAMES.filter((_, i) => (flags >> i) & 1).join('|') : '0';

/**
 * A frame's one-line summary as ovs-ofctl prints it after a packet-in or packet-out: its
 * flow, then the transport checksum as it is in the frame.
 */
export function formatFrame(frame: Uint8Array): string {
  const f = frameFlow(frame);
  const match: Oxm[] = [];
  const add = (field: OxmFieldName, value: number | string) => match.push({ field, value } as Oxm);
  const extra: Partial<Record<OxmFieldName, string[]>> = {};
  const after = (field: OxmFieldName, ...items: string[]) => (extra[field] ??= []).push(...items);

  // The first tag always shows (an untagged frame as vlan_tci=0x0000), the one after a tag too.
  const tcis = f.vlans.length < MAX_VLANS ? [...f.vlans, 0] : f.vlans;
  tcis.forEach((tci, i) => after('vlan_pcp', ...formatTci({ value: tci, mask: 0xffff }, i ? String(i) : '')));
  add('eth_src', f.dlSrc);
  add('eth_dst', f.dlDst);
  add('eth_type', f.dlType);

  const ip = f.dlType === ETH_TYPE.IP || f.dlType === ETH_TYPE.IPV6;
  if (f.dlType === ETH_TYPE.ARP || f.dlType === ETH_TYPE.RARP) {
    add('arp_spa', f.nwSrc);
    add('arp_tpa', f.nwDst);
    add('arp_op', f.nwProto);
    add('arp_sha', f.arpSha);
    add('arp_tha', f.arpTha);
  } else if (f.dlType === ETH_TYPE.MPLS || f.dlType === ETH_TYPE.MPLSM) {
    // Labels down to the bottom of the stack, or all three places when there is none.
    const n = f.mpls.findIndex((lse) => lse & MPLS_BOS) + 1 || MAX_MPLS;
    const lse = (i: number) => f.mpls[i] ?? 0;
    add('mpls_label', lse(0) >>> 12);
    add('mpls_tc', (lse(0) >> 9) & 7);
    after('mpls_tc', `mpls_ttl=${lse(0) & 0xff}`);
    add('mpls_bos', (lse(0) >> 8) & 1);
    for (let i = 1; i < n; i++) after('mpls_bos', `mpls_lse${i}=${lse(i)}`);
  } else if (ip || f.dlType === ETH_TYPE_NSH) {
    if (f.dlType === ETH_TYPE.IP) {
      add('ipv4_src', f.nwSrc);
      add('ipv4_dst', f.nwDst);
      add('ip_proto', f.nwProto);
    } else if (f.dlType === ETH_TYPE.IPV6) {
      add('ipv6_src', f.ipv6Src);
      add('ipv6_dst', f.ipv6Dst);
      add('ipv6_flabel', f.ipv6Label);
      add('ip_proto', f.nwProto);
    } else {
      const n = f.nsh;
      after('ipv4_dst', `nsh_flags=${n.flags}`, `nsh_ttl=${n.ttl}`, `nsh_mdtype=${n.mdtype}`, `nsh_np=${n.np}`, `nsh_spi=0x${n.spi.toString(16)}`, `nsh_si=${n.si}`);
      if (n.mdtype === 1) after('ipv4_dst', ...n.context.map((c, i) => `nsh_c${i + 1}=0x${c.toString(16)}`));
      // Outside IP, OpenFlow's ip_proto would print under its own name.
      after('ip_proto', `nw_proto=${f.nwProto}`);
    }
    add('ip_dscp', f.nwTos >> 2);
    add('ip_ecn', f.nwTos & 3);
    after('ip_ecn', `nw_ttl=${f.nwTtl}`);
    after('mpls_bos', `nw_frag=${NW_FRAG_NAMES[f.nwFrag]}`);
    if (ip && !(f.nwFrag & NW_FRAG.LATER)) transportText(f, add, after);
  }
  return formatMatch(match, undefined, extra) + checksumText(f);
}

type Add = (field: OxmFieldName, value: number | string) => void;
type After = (field: OxmFieldName, ...items: string[]) => void;

/** The transport fields: OpenFlow's where the protocol and IP version have them, tp_src/tp_dst where OVS has only those. */
function transportText(f: FrameFlow, add: Add, after: After): void {
  const v4 = f.dlType === ETH_TYPE.IP;
  switch (f.nwProto) {
    case PROTO.TCP:
      add('tcp_src', f.tpSrc);
      add('tcp_dst', f.tpDst);
      after('sctp_dst', `tcp_flags=${tcpFlagsText(f.tcpFlags)}`);
      return;
    case PROTO.UDP:
      add('udp_src', f.tpSrc);
      add('udp_dst', f.tpDst);
      return;
    case PROTO.SCTP:
      add('sctp_src', f.tpSrc);
      add('sctp_dst', f.tpDst);
      return;
  }
  if (v4 && f.nwProto === PROTO.ICMP) {
    add('icmpv4_type', f.tpSrc);
    add('icmpv4_code', f.tpDst);
  } else if (!v4 && f.nwProto === PROTO.ICMPV6) {
    add('icmpv6_type', f.tpSrc);
    add('icmpv6_code', f.tpDst);
    if (f.tpDst === 0 && (f.tpSrc === ND_SOLICIT || f.tpSrc === ND_ADVERT)) {
      add('ipv6_nd_target', f.ndTarget);
      add('ipv6_nd_sll', f.arpSha);
      add('ipv6_nd_tll', f.arpTha);
    }
  } else if (f.nwProto === PROTO.ICMP || f.nwProto === PROTO.ICMPV6 || f.nwProto === PROTO.IGMP) {
    after('sctp_dst', `tp_src=${f.tpSrc}`, `tp_dst=${f.tpDst}`);
  }
}

/** The checksum field of the transport header, when the IP packet holds that header's fixed part. */
function checksumText(f: FrameFlow): string {
  const b = f.l4;
  if (!b) return '';
  const hex = (v: number) => v.toString(16);
  switch (f.nwProto) {
    case PROTO.TCP:
      return b.length >= 20 ? ` tcp_csum:${hex(get16(b, 16))}` : '';
    case PROTO.UDP:
      return b.length >= 8 ? ` udp_csum:${hex(get16(b, 6))}` : '';
    case PROTO.SCTP:
      return b.length >= 12 ? ` sctp_csum:${hex(get32(b, 8))}` : '';
    case PROTO.ICMP:
      return b.length >= 8 ? ` icmp_csum:${hex(get16(b, 2))}` : '';
    case PROTO.ICMPV6:
      return b.length >= 4 ? ` icmp6_csum:${hex(get16(b, 2))}` : '';
    default:
      return '';
  }
}
