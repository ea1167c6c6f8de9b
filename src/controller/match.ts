// A match builder whose types follow the prerequisites of OpenFlow 1.3 (spec
// 7.2.3.6, the prereq column of the codec's OXM_FIELDS): a field is offered
// only once the fields it depends on are in the match, and the methods that
// choose a protocol add those fields themselves.
//
//   flowMatch().inPort(1).ipv4().ipv4Dst('10.0.0.0/8').tcp().tcpDst(80).build()
//   -> in_port=1, eth_type=0x800, ipv4_dst=10.0.0.0/255.0.0.0, ip_proto=6, tcp_dst=80
//
// flowMatch().tcpDst(80) does not compile, nor does icmp() after ipv6(). build()
// still runs the codec's checkMatch() and throws a TypeError naming the
// OFPBMC error, for what types cannot see: a value wider than its field, value
// bits outside the mask, a field given twice through field().

import {
  checkMatch,
  errorName,
  ipv4ToBytes,
  ipv6ToBytes,
  OFPVID_NONE,
  OFPVID_PRESENT,
  type Match,
  type Oxm,
  type OxmBasic,
  type OxmFieldName,
} from '../openflow/codec/index.ts';
import { ipv6ToString } from './packet/bytes.ts';
import { ETHERTYPE } from './packet/ethernet.ts';
import { ICMPV6_TYPE } from './packet/icmpv6.ts';
import { IP_PROTO } from './packet/ipv4.ts';

/** The value type of a basic OXM field: number, bigint or string. */
export type ValueOf<K extends OxmFieldName> = { [F in OxmBasic as F['field']]: F['value'] }[K];

/** Methods every state has: fields without prerequisites, escapes, and build(). */
interface Common<Self> {
  inPort(port: number): Self;
  /** The physical port under a logical in_port; needs inPort. */
  inPhyPort(port: number): Self;
  metadata(value: bigint, mask?: bigint): Self;
  tunnelId(value: bigint, mask?: bigint): Self;
  ethDst(mac: string, mask?: string): Self;
  ethSrc(mac: string, mask?: string): Self;
  /** A frame tagged with this VLAN id, and priority when given. */
  vlan(vid: number, pcp?: number): Self;
  /** A frame with any VLAN tag. */
  tagged(): Self;
  /** A frame without a VLAN tag. */
  untagged(): Self;
  /** Any basic field, prerequisites left to the caller and checked by build(). */
  field<K extends OxmFieldName>(field: K, value: ValueOf<K>, mask?: ValueOf<K>): Self;
  /** An OXM as it is, e.g. an NXM or experimenter field. */
  oxm(oxm: Oxm): Self;
  /** The OXM list, checked with checkMatch; throws TypeError when the switch would refuse it. */
  build(): Match;
}

/** Before an ethertype is chosen. */
export interface EthMatch extends Common<EthMatch> {
  ipv4(): Ipv4Match;
  ipv6(): Ipv6Match;
  arp(): ArpMatch;
  mpls(multicast?: boolean): MplsMatch;
  ethType(type: 0x0800): Ipv4Match;
  ethType(type: 0x86dd): Ipv6Match;
  ethType(type: 0x0806): ArpMatch;
  ethType(type: number): Common<EthMatch>;
}

interface IpCommon<Self> extends Common<Self> {
  ipDscp(dscp: number): Self;
  ipEcn(ecn: number): Self;
  tcp(): TcpMatch;
  udp(): UdpMatch;
  sctp(): SctpMatch;
}

export interface Ipv4Match extends IpCommon<Ipv4Match> {
  /** An address, with a mask or a prefix: ipv4Src('10.0.0.0/8'), ipv4Src('10.0.0.0', '255.0.0.0'). */
  ipv4Src(addr: string, mask?: string): Ipv4Match;
  ipv4Dst(addr: string, mask?: string): Ipv4Match;
  icmp(): Icmpv4Match;
  ipProto(proto: 6): TcpMatch;
  ipProto(proto: 17): UdpMatch;
  ipProto(proto: 132): SctpMatch;
  ipProto(proto: 1): Icmpv4Match;
  ipProto(proto: number): Common<Ipv4Match>;
}

export interface Ipv6Match extends IpCommon<Ipv6Match> {
  /** An address, with a mask or a prefix: ipv6Src('2001:db8::/32'). */
  ipv6Src(addr: string, mask?: string): Ipv6Match;
  ipv6Dst(addr: string, mask?: string): Ipv6Match;
  ipv6Flabel(label: number, mask?: number): Ipv6Match;
  /** OFPIEH_* bits. */
  ipv6Exthdr(bits: number, mask?: number): Ipv6Match;
  icmpv6(): Icmpv6Match;
  /** ICMPv6 neighbor solicitations (ip_proto 58, icmpv6_type 135). */
  neighborSolicit(): NeighborSolicitMatch;
  neighborAdvert(): NeighborAdvertMatch;
  ipProto(proto: 6): TcpMatch;
  ipProto(proto: 17): UdpMatch;
  ipProto(proto: 132): SctpMatch;
  ipProto(proto: 58): Icmpv6Match;
  ipProto(proto: number): Common<Ipv6Match>;
}

export interface TcpMatch extends Common<TcpMatch> {
  tcpSrc(port: number): TcpMatch;
  tcpDst(port: number): TcpMatch;
}
export interface UdpMatch extends Common<UdpMatch> {
  udpSrc(port: number): UdpMatch;
  udpDst(port: number): UdpMatch;
}
export interface SctpMatch extends Common<SctpMatch> {
  sctpSrc(port: number): SctpMatch;
  sctpDst(port: number): SctpMatch;
}
export interface Icmpv4Match extends Common<Icmpv4Match> {
  icmpv4Type(type: number): Icmpv4Match;
  icmpv4Code(code: number): Icmpv4Match;
}
export interface Icmpv6Match extends Common<Icmpv6Match> {
  icmpv6Code(code: number): Icmpv6Match;
  icmpv6Type(type: 135): NeighborSolicitMatch;
  icmpv6Type(type: 136): NeighborAdvertMatch;
  icmpv6Type(type: number): Icmpv6Match;
  neighborSolicit(): NeighborSolicitMatch;
  neighborAdvert(): NeighborAdvertMatch;
}
export interface NeighborSolicitMatch extends Common<NeighborSolicitMatch> {
  icmpv6Code(code: number): NeighborSolicitMatch;
  ndTarget(addr: string): NeighborSolicitMatch;
  ndSll(mac: string): NeighborSolicitMatch;
}
export interface NeighborAdvertMatch extends Common<NeighborAdvertMatch> {
  icmpv6Code(code: number): NeighborAdvertMatch;
  ndTarget(addr: string): NeighborAdvertMatch;
  ndTll(mac: string): NeighborAdvertMatch;
}
export interface ArpMatch extends Common<ArpMatch> {
  arpOp(op: number): ArpMatch;
  arpSpa(addr: string, mask?: string): ArpMatch;
  arpTpa(addr: string, mask?: string): ArpMatch;
  arpSha(mac: string, mask?: string): ArpMatch;
  arpTha(mac: string, mask?: string): ArpMatch;
}
export interface MplsMatch extends Common<MplsMatch> {
  mplsLabel(label: number): MplsMatch;
  mplsTc(tc: number): MplsMatch;
  mplsBos(bos: number): MplsMatch;
}

/** Anything that gives a match: a builder in any state. */
export type MatchLike = Match | Common<unknown>;

/** An empty match to build on. */
export const flowMatch = (): EthMatch => new Builder() as unknown as EthMatch;

/** The OXM list of a match or a builder (built, so checked). */
export const toMatch = (m: MatchLike): Match => (Array.isArray(m) ? m : (m as Common<unknown>).build());

/** Address and mask from "a.b.c.d/len" or an explicit mask; no mask for a full-length prefix. */
function prefixed(addr: string, mask: string | undefined, bits: 32 | 128): [string, string | undefined] {
  const slash = addr.indexOf('/');
  if (slash < 0) return [addr, mask];
  const len = Number(addr.slice(slash + 1));
  if (!Number.isInteger(len) || len < 0 || len > bits || mask !== undefined) throw new TypeError(`bad prefix: ${addr}`);
  const host = addr.slice(0, slash);
  if (len === bits) return [host, undefined];
  const bytes = new Uint8Array(bits / 8).map((_, i) => (0xff00 >> Math.min(8, Math.max(0, len - 8 * i))) & 0xff);
  return [host, bits === 32 ? bytes.join('.') : ipv6ToString(bytes)];
}

/** Every method of every state; the interfaces above decide which a caller sees. */
class Builder {
  private readonly fields: Oxm[] = [];

  private add(field: OxmFieldName, value: unknown, mask?: unknown): this {
    this.fields.push((mask === undefined ? { field, value } : { field, value, mask }) as Oxm);
    return this;
  }

  field(field: OxmFieldName, value: unknown, mask?: unknown) {
    return this.add(field, value, mask);
  }
  oxm(oxm: Oxm) {
    this.fields.push(oxm);
    return this;
  }
  build(): Match {
    const bad = checkMatch(this.fields);
    if (bad) throw new TypeError(`invalid match: ${errorName(bad.error)} on ${bad.field} (${JSON.stringify(this.fields, big)})`);
    return [...this.fields];
  }

  inPort(p: number) {
    return this.add('in_port', p);
  }
  inPhyPort(p: number) {
    return this.add('in_phy_port', p);
  }
  metadata(v: bigint, m?: bigint) {
    return this.add('metadata', v, m);
  }
  tunnelId(v: bigint, m?: bigint) {
    return this.add('tunnel_id', v, m);
  }
  ethDst(v: string, m?: string) {
    return this.add('eth_dst', v, m);
  }
  ethSrc(v: string, m?: string) {
    return this.add('eth_src', v, m);
  }
  vlan(vid: number, pcp?: number) {
    if (!Number.isInteger(vid) || vid < 0 || vid > 0xfff) throw new RangeError(`VLAN id must be 0 to 4095, got ${vid}`);
    this.add('vlan_vid', (vid | OFPVID_PRESENT) >>> 0);
    return pcp === undefined ? this : this.add('vlan_pcp', pcp);
  }
  tagged() {
    return this.add('vlan_vid', OFPVID_PRESENT, OFPVID_PRESENT);
  }
  untagged() {
    return this.add('vlan_vid', OFPVID_NONE);
  }

  ethType(t: number) {
    return this.add('eth_type', t);
  }
  ipv4() {
    return this.ethType(ETHERTYPE.IPV4);
  }
  ipv6() {
    return this.ethType(ETHERTYPE.IPV6);
  }
  arp() {
    return this.ethType(ETHERTYPE.ARP);
  }
  mpls(multicast = false) {
    return this.ethType(multicast ? ETHERTYPE.MPLS_MULTICAST : ETHERTYPE.MPLS);
  }

  ipDscp(v: number) {
    return this.add('ip_dscp', v);
  }
  ipEcn(v: number) {
    return this.add('ip_ecn', v);
  }
  ipProto(p: number) {
    return this.add('ip_proto', p);
  }
  tcp() {
    return this.ipProto(IP_PROTO.TCP);
  }
  udp() {
    return this.ipProto(IP_PROTO.UDP);
  }
  sctp() {
    return this.ipProto(IP_PROTO.SCTP);
  }
  icmp() {
    return this.ipProto(IP_PROTO.ICMP);
  }
  icmpv6() {
    return this.ipProto(IP_PROTO.ICMPV6);
  }

  ipv4Src(a: string, m?: string) {
    return this.add('ipv4_src', ...checked(prefixed(a, m, 32), ipv4ToBytes));
  }
  ipv4Dst(a: string, m?: string) {
    return this.add('ipv4_dst', ...checked(prefixed(a, m, 32), ipv4ToBytes));
  }
  ipv6Src(a: string, m?: string) {
    return this.add('ipv6_src', ...checked(prefixed(a, m, 128), ipv6ToBytes));
  }
  ipv6Dst(a: string, m?: string) {
    return this.add('ipv6_dst', ...checked(prefixed(a, m, 128), ipv6ToBytes));
  }
  ipv6Flabel(v: number, m?: number) {
    return this.add('ipv6_flabel', v, m);
  }
  ipv6Exthdr(v: number, m?: number) {
    return this.add('ipv6_exthdr', v, m);
  }

  tcpSrc(p: number) {
    return this.add('tcp_src', p);
  }
  tcpDst(p: number) {
    return this.add('tcp_dst', p);
  }
  udpSrc(p: number) {
    return this.add('udp_src', p);
  }
  udpDst(p: number) {
    return this.add('udp_dst', p);
  }
  sctpSrc(p: number) {
    return this.add('sctp_src', p);
  }
  sctpDst(p: number) {
    return this.add('sctp_dst', p);
  }
  icmpv4Type(t: number) {
    return this.add('icmpv4_type', t);
  }
  icmpv4Code(c: number) {
    return this.add('icmpv4_code', c);
  }
  icmpv6Type(t: number) {
    return this.add('icmpv6_type', t);
  }
  icmpv6Code(c: number) {
    return this.add('icmpv6_code', c);
  }
  neighborSolicit() {
    return this.icmpv6Only().icmpv6Type(ICMPV6_TYPE.NEIGHBOR_SOLICIT);
  }
  neighborAdvert() {
    return this.icmpv6Only().icmpv6Type(ICMPV6_TYPE.NEIGHBOR_ADVERT);
  }
  /** Called on an IPv6 match, neighborSolicit() and neighborAdvert() choose ICMPv6 first. */
  private icmpv6Only() {
    return this.fields.some((f) => f.field === 'ip_proto') ? this : this.icmpv6();
  }
  ndTarget(a: string) {
    return this.add('ipv6_nd_target', a);
  }
  ndSll(m: string) {
    return this.add('ipv6_nd_sll', m);
  }
  ndTll(m: string) {
    return this.add('ipv6_nd_tll', m);
  }

  arpOp(op: number) {
    return this.add('arp_op', op);
  }
  arpSpa(a: string, m?: string) {
    return this.add('arp_spa', ...checked(prefixed(a, m, 32), ipv4ToBytes));
  }
  arpTpa(a: string, m?: string) {
    return this.add('arp_tpa', ...checked(prefixed(a, m, 32), ipv4ToBytes));
  }
  arpSha(v: string, m?: string) {
    return this.add('arp_sha', v, m);
  }
  arpTha(v: string, m?: string) {
    return this.add('arp_tha', v, m);
  }

  mplsLabel(v: number) {
    return this.add('mpls_label', v);
  }
  mplsTc(v: number) {
    return this.add('mpls_tc', v);
  }
  mplsBos(v: number) {
    return this.add('mpls_bos', v);
  }
}

/** Address and mask, each parsed once so that a typo throws here and not in the encoder. */
function checked(pair: [string, string | undefined], parse: (s: string) => Uint8Array): [string, string | undefined] {
  parse(pair[0]);
  if (pair[1] !== undefined) parse(pair[1]);
  return pair;
}

const big = (_: string, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v);
