// Frames from a flow: composeFlow('in_port=1,tcp,nw_src=10.0.0.1,tp_dst=80') is a frame from which a
// switch extracts that flow, as Open vSwitch's flow_compose() (lib/flow.c) makes one for
// `ovs-appctl ofproto/trace -generate` and `ovs-ofctl compose-packet`. The flow is read by the codec's
// one parser of ovs-ofctl's flow syntax (parseMatch) and the frame built by this library's emitters
// (buildPacket), so lengths and checksums are computed as for any frame an app builds. The headers are
// those the flow implies: an 802.1Q tag when vlan_vid says a tag is present; IPv4 or IPv6, ARP, an MPLS
// label stack or a PBB I-TAG by eth_type; TCP, UDP, SCTP, ICMP or ICMPv6 by ip_proto; a Neighbor
// Discovery target and link-layer address option by icmpv6_type.
//
// Defaults are Open vSwitch's, so that a composed frame is the bytes `ovs-ofctl compose-packet` prints
// (test/unit/packet-compose.test.ts): a field not given is zero, IPv4's identification and flags too;
// TCP, UDP and ICMP or ICMPv6 echo carry the 64 bytes 0x00..0x3f; nothing follows an MPLS stack or an
// ICMP message other than echo; a frame is not padded to Ethernet's minimum. Two differences, both because
// the flow syntax is OpenFlow 1.3's match fields, which have no nw_ttl or mpls_ttl as Open vSwitch's has:
// TTLs (IPv4's, IPv6's hop limit, MPLS's) are 64 rather than 0, or every dec_ttl would drop a composed
// frame; and SCTP's CRC32c is computed where Open vSwitch leaves it zero.
//
// What a frame cannot say is refused with the field named and why, never dropped: a mask (a frame has one
// value), a field whose header the flow does not imply (tp_dst without tcp, udp or sctp), metadata and
// tun_id other than 0 (pipeline state: see composeMatch), ipv6_exthdr other than 0 (no extension
// headers are composed). in_port is no header either: it comes back beside the frame.

import { checkMatch, OFPVID_PRESENT, OXM_FIELDS, parseMatch, TEXT_FIELDS, type Match, type OxmBasic, type OxmFieldName } from '../../openflow/codec/index.ts';
import { OVS_FIELDS } from '../../openflow/codec/text-fields.ts';
import { ipv6ToBytes, macToBytes, set16, set32 } from './bytes.ts';
import { ETHERTYPE } from './ethernet.ts';
import { ICMPV6_TYPE, NDP_OPTION } from './icmpv6.ts';
import { IP_PROTO } from './ipv4.ts';
import { buildPacket, type PacketFields } from './packet.ts';
import { TPID } from './vlan.ts';

export interface ComposedFlow {
  frame: Uint8Array;
  /** The flow's in_port, when it has one: where the frame arrives, which no header says. */
  inPort?: number;
}

export type ComposeResult = { ok: true; value: ComposedFlow } | { ok: false; error: string };

const PBB_ETHERTYPE = 0x88e7;
const RARP_ETHERTYPE = 0x8035;
const TTL = 64;
/** Open vSwitch's payload for protocols that carry one. */
const L7 = Uint8Array.from({ length: 64 }, (_, i) => i);
const ICMP_ECHO = [0, 8]; // reply, request
const ICMPV6_ECHO: number[] = [ICMPV6_TYPE.ECHO_REQUEST, ICMPV6_TYPE.ECHO_REPLY];
const ICMPV6_ND: number[] = [ICMPV6_TYPE.NEIGHBOR_SOLICIT, ICMPV6_TYPE.NEIGHBOR_ADVERT];
const ZERO_MAC = '00:00:00:00:00:00';
/** Open vSwitch's own field names, which have no OpenFlow 1.3 match field (reg0, nw_ttl, tun_src...). */
const OVS_NAMES = new Set(OVS_FIELDS.map((row) => row.split(' ')[0].replace(/\*$/, '')));

class ComposeFault extends Error {}
const fail = (why: string): never => {
  throw new ComposeFault(why);
};

/** A field as the flow syntax names it: `tcp_dst (tp_dst)`. */
function nameOf(field: OxmFieldName): string {
  const t = TEXT_FIELDS[field];
  const alias = t.print?.name ?? t.alias?.[0]?.name ?? t.names[1];
  return alias && alias !== t.names[0] ? `${t.names[0]} (${alias})` : t.names[0];
}

/** What a field's header needs the flow to say: `ip_proto=6`. */
function prerequisite(field: OxmFieldName): string {
  if (field === 'vlan_pcp') return 'a VLAN tag (dl_vlan or vlan_vid)';
  const pre = (OXM_FIELDS[field] as { prereq?: { field: string; values: readonly (number | string)[] } }).prereq!;
  const value = (v: number | string) => (pre.field === 'eth_type' ? `0x${v.toString(16).padStart(4, '0')}` : String(v));
  return pre.values.length ? `${pre.field}=${pre.values.map(value).join(' or ')}` : pre.field;
}

/** The SCTP CRC32c (RFC 4960 appendix B): reflected Castagnoli polynomial. */
const CRC32C = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  return c;
});

function crc32c(b: Uint8Array): number {
  let c = ~0;
  for (const x of b) c = CRC32C[(c ^ x) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** An SCTP common header with no chunks, as Open vSwitch composes it; verification tag 0. */
function sctpHeader(src: number, dst: number): Uint8Array {
  const b = new Uint8Array(12);
  set16(b, 0, src);
  set16(b, 2, dst);
  // The CRC goes on the wire least significant byte first (RFC 4960 appendix B).
  new DataView(b.buffer).setUint32(8, crc32c(b), true);
  return b;
}

/**
 * The frame for a match of exact values. in_port comes back beside it. metadata and tun_id are
 * pipeline state, not headers: Open vSwitch's trace starts its walk with them, but a walk of tsof's
 * datapath starts from a frame and an ingress port, with both 0, so only 0 is taken for them; and
 * in_phy_port only as in_port (tsof-switch's ports are physical).
 */
export function composeMatch(match: Match): ComposeResult {
  try {
    return { ok: true, value: compose(match) };
  } catch (e) {
    if (!(e instanceof ComposeFault)) throw e;
    return { ok: false, error: e.message };
  }
}

/** The frame for a flow in ovs-ofctl's syntax; a syntax error names the token, its offset and why. */
export function composeFlow(text: string): ComposeResult {
  const m = parseMatch(text);
  if (m.ok) return composeMatch(m.value);
  const { reason, token, message } = m.error;
  if (reason === 'unknown field' && OVS_NAMES.has(token)) {
    return { ok: false, error: `${message}: an Open vSwitch field, with no OpenFlow 1.3 match field to say it` };
  }
  return { ok: false, error: message };
}

function compose(match: Match): ComposedFlow {
  const fields = new Map<OxmFieldName, OxmBasic>();
  for (const f of match) {
    if (f.field === 'opaque') fail('an OXM of another class has no header to compose');
    else fields.set(f.field, f);
  }
  const value = <T>(field: OxmFieldName, otherwise: T): T => (fields.get(field)?.value as T | undefined) ?? otherwise;
  const num = (field: OxmFieldName): number => value<number>(field, 0);
  for (const f of fields.values()) {
    // dl_vlan_pcp alone reads as vlan_vid=0x1000/0x1000: a tag, its VID not said, so 0.
    const tagOnly = f.field === 'vlan_vid' && f.mask === OFPVID_PRESENT && f.value === OFPVID_PRESENT;
    if (f.mask !== undefined && !tagOnly) fail(`${nameOf(f.field)} is masked: a frame has one value`);
  }
  const bad = checkMatch(match);
  if (bad) fail(`${nameOf(bad.field as OxmFieldName)} needs ${prerequisite(bad.field as OxmFieldName)} in the flow: a frame has its header only then`);
  if (value('metadata', 0n) !== 0n) {
    fail('metadata is pipeline state, not in a frame: the walk of a received frame starts with metadata 0 (give 0 or leave it out)');
  }
  if (value('tunnel_id', 0n) !== 0n) {
    fail('tun_id is the tunnel a frame came in on, not in the frame: tsof has no tunnel ports, so it is 0 (give 0 or leave it out)');
  }
  const inPort = value<number | undefined>('in_port', undefined);
  if (fields.has('in_phy_port') && num('in_phy_port') !== inPort) {
    fail("in_phy_port differs from in_port: tsof's ports are all physical, so a frame's in_phy_port is its in_port");
  }
  if (num('ipv6_exthdr') !== 0) fail('ipv6_exthdr other than 0: the composer writes no IPv6 extension headers');

  const vid = num('vlan_vid');
  const ethertype = num('eth_type');
  const p: PacketFields = {
    eth: {
      dst: value('eth_dst', ZERO_MAC),
      src: value('eth_src', ZERO_MAC),
      vlans: vid & OFPVID_PRESENT ? [{ tpid: TPID.CTAG, pcp: num('vlan_pcp'), dei: 0, vid: vid & 0xfff }] : [],
      ethertype,
    },
  };
  const proto = num('ip_proto');
  const dscp = num('ip_dscp');
  const ecn = num('ip_ecn');
  if (ethertype === ETHERTYPE.IPV4) {
    p.ipv4 = { src: value('ipv4_src', '0.0.0.0'), dst: value('ipv4_dst', '0.0.0.0'), protocol: proto, dscp, ecn, flags: 0, ttl: TTL };
  } else if (ethertype === ETHERTYPE.IPV6) {
    p.ipv6 = {
      src: value('ipv6_src', '::'),
      dst: value('ipv6_dst', '::'),
      nextHeader: proto,
      trafficClass: (dscp << 2) | ecn,
      flowLabel: num('ipv6_flabel'),
      hopLimit: TTL,
    };
  } else if (ethertype === ETHERTYPE.ARP || ethertype === RARP_ETHERTYPE) {
    p.arp = {
      op: num('arp_op'),
      sha: value('arp_sha', ZERO_MAC),
      spa: value('arp_spa', '0.0.0.0'),
      tha: value('arp_tha', ZERO_MAC),
      tpa: value('arp_tpa', '0.0.0.0'),
    };
  } else if (ethertype === ETHERTYPE.MPLS || ethertype === ETHERTYPE.MPLS_MULTICAST) {
    // Open vSwitch's flow holds three label stack entries and composes them down to the bottom of
    // the stack; the match says the top one, so a top entry that is not the bottom has two zero ones under it.
    const bos = num('mpls_bos');
    p.payload = new Uint8Array(bos ? 4 : 12);
    set32(p.payload, 0, ((num('mpls_label') << 12) | (num('mpls_tc') << 9) | (bos << 8) | TTL) >>> 0);
  } else if (ethertype === PBB_ETHERTYPE) {
    // The I-TAG (IEEE 802.1ah: priority, DEI, UCA 0; the I-SID), then the customer's Ethernet header, zero.
    p.payload = new Uint8Array(4 + 14);
    set32(p.payload, 0, num('pbb_isid'));
  }
  const v4 = !!p.ipv4;
  if (p.ipv4 || p.ipv6) {
    const ports = (l4: 'tcp' | 'udp' | 'sctp') => ({ srcPort: num(`${l4}_src`), dstPort: num(`${l4}_dst`) });
    if (proto === IP_PROTO.TCP) [p.tcp, p.payload] = [{ ...ports('tcp'), window: 0 }, L7];
    else if (proto === IP_PROTO.UDP) [p.udp, p.payload] = [ports('udp'), L7];
    else if (proto === IP_PROTO.SCTP) p.payload = sctpHeader(ports('sctp').srcPort, ports('sctp').dstPort);
    else if (proto === IP_PROTO.ICMP && v4) {
      p.icmp = { type: num('icmpv4_type'), code: num('icmpv4_code'), rest: 0 };
      if (ICMP_ECHO.includes(p.icmp.type) && p.icmp.code === 0) p.payload = L7;
    } else if (proto === IP_PROTO.ICMPV6 && !v4) {
      p.icmpv6 = { type: num('icmpv6_type'), code: num('icmpv6_code'), rest: 0 };
      if (ICMPV6_ECHO.includes(p.icmpv6.type) && p.icmpv6.code === 0) p.payload = L7;
      else if (ICMPV6_ND.includes(p.icmpv6.type) && p.icmpv6.code === 0) p.payload = neighborDiscovery(value);
    }
  }
  return { frame: buildPacket(p), ...(inPort === undefined ? {} : { inPort }) };
}

/** A neighbor solicitation's or advertisement's body: the target, and an address option for a nonzero sll or tll. */
function neighborDiscovery(value: <T>(field: OxmFieldName, otherwise: T) => T): Uint8Array {
  const options = [
    [NDP_OPTION.SOURCE_LL_ADDR, value('ipv6_nd_sll', ZERO_MAC)],
    [NDP_OPTION.TARGET_LL_ADDR, value('ipv6_nd_tll', ZERO_MAC)],
  ].filter(([, mac]) => mac !== ZERO_MAC) as [number, string][];
  const b = new Uint8Array(16 + 8 * options.length);
  b.set(ipv6ToBytes(value('ipv6_nd_target', '::')));
  // Each option: type, length in units of 8 bytes, the address.
  options.forEach(([type, mac], i) => b.set([type, 1, ...macToBytes(mac)], 16 + 8 * i));
  return b;
}
