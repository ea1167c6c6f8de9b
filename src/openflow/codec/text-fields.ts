// The names ovs-ofctl's flow syntax gives the OXM match fields, one row per field
// of OXM_FIELDS (oxm.ts), in the order ovs-ofctl prints a match. text.ts drives
// both its parser and its printer from these rows, so a new field is described
// here once (its wire facts stay in OXM_FIELDS).
//
// A row says which names a field answers to anywhere (`names`, the OXM name
// first), which it answers to only in a context (`alias`: tp_src is udp_src
// when the match says udp), which name ovs-ofctl prints in a match and when
// (`print`), how its value is written (`style`), the name set_field prints
// (`set`) and whether ovs-ofctl lets it be masked where the spec does not.
// Facts from Open vSwitch 3.1's meta-flow (ovs-fields(7)), checked against
// `ovs-ofctl -O OpenFlow13`; in_phy_port, pbb_isid and ipv6_exthdr have no
// ovs-ofctl syntax and answer to their OXM names only (a tsof extension).

import type { OxmFieldName } from './oxm.ts';

export const ETH_TYPE = { IP: 0x0800, ARP: 0x0806, RARP: 0x8035, IPV6: 0x86dd, MPLS: 0x8847, MPLSM: 0x8848 } as const;

/** A condition on the rest of the match: `field` is matched exactly to one of `values`. */
export interface TextWhen {
  readonly field: 'eth_type' | 'ip_proto';
  readonly values: readonly number[];
}

/**
 * How a value is written: decimal; hexadecimal with 0x (0 prints as "0", as C's %#x);
 * hexadecimal padded to 4 or 5 digits; a port (names for reserved ports); an address.
 */
export type TextStyle = 'dec' | 'hex' | 'hex4' | 'hex5' | 'port' | 'addr';

export interface TextField {
  /** Names taken in any context, the OXM name first (printed when no `print` applies). */
  readonly names: readonly string[];
  /** Names taken only when the match meets the condition (tp_src for udp_src when ip_proto=17). */
  readonly alias?: readonly { readonly name: string; readonly when: readonly TextWhen[] }[];
  /** The name ovs-ofctl prints in a match, when all of `when` hold (else names[0]). */
  readonly print?: { readonly name: string; readonly when?: readonly TextWhen[] };
  readonly style: TextStyle;
  /** The value style inside set_field, where it differs from `style`. */
  readonly setStyle?: TextStyle;
  /** The name set_field prints (default names[0]). */
  readonly set?: string;
  /** ovs-ofctl takes a mask on this field though table 12 of the spec does not. */
  readonly ovsMaskable?: boolean;
  /** vlan_vid and vlan_pcp: ovs-ofctl reads and writes them as one 802.1Q TCI (see text.ts). */
  readonly tci?: boolean;
  /**
   * A second name whose value is this field's shifted left: nw_tos is ip_dscp << 2. It is the
   * name printed in a match.
   */
  readonly scaled?: { readonly name: string; readonly shift: number };
}

const when = (field: TextWhen['field'], ...values: number[]): TextWhen => ({ field, values });
const IPV4 = when('eth_type', ETH_TYPE.IP);
const IPV6 = when('eth_type', ETH_TYPE.IPV6);
const ARP = when('eth_type', ETH_TYPE.ARP, ETH_TYPE.RARP);
const IP_ANY = when('eth_type', ETH_TYPE.IP, ETH_TYPE.IPV6);
const proto = (p: number) => when('ip_proto', p);

/** Every field of OXM_FIELDS, in the order ovs-ofctl prints a match. */
export const TEXT_FIELDS: { readonly [K in OxmFieldName]: TextField } = {
  tunnel_id: { names: ['tunnel_id', 'tun_id'], print: { name: 'tun_id' }, style: 'hex', set: 'tun_id' },
  metadata: { names: ['metadata'], style: 'hex' },
  in_port: { names: ['in_port'], style: 'port' },
  vlan_vid: { names: ['vlan_vid'], style: 'dec', tci: true },
  vlan_pcp: { names: ['vlan_pcp'], style: 'dec', tci: true },
  eth_src: { names: ['eth_src', 'dl_src'], print: { name: 'dl_src' }, style: 'addr' },
  eth_dst: { names: ['eth_dst', 'dl_dst'], print: { name: 'dl_dst' }, style: 'addr' },
  eth_type: { names: ['eth_type', 'dl_type'], print: { name: 'dl_type' }, style: 'hex4', setStyle: 'hex' },
  ipv6_src: { names: ['ipv6_src'], style: 'addr' },
  ipv6_dst: { names: ['ipv6_dst'], style: 'addr' },
  ipv6_flabel: { names: ['ipv6_flabel', 'ipv6_label'], print: { name: 'ipv6_label' }, style: 'hex5', setStyle: 'hex', set: 'ipv6_label' },
  arp_spa: { names: ['arp_spa'], alias: [{ name: 'nw_src', when: [ARP] }], style: 'addr' },
  arp_tpa: { names: ['arp_tpa'], alias: [{ name: 'nw_dst', when: [ARP] }], style: 'addr' },
  ipv4_src: { names: ['ipv4_src', 'nw_src', 'ip_src'], print: { name: 'nw_src', when: [IPV4] }, style: 'addr', set: 'ip_src' },
  ipv4_dst: { names: ['ipv4_dst', 'nw_dst', 'ip_dst'], print: { name: 'nw_dst', when: [IPV4] }, style: 'addr', set: 'ip_dst' },
  ip_proto: { names: ['ip_proto', 'nw_proto'], print: { name: 'nw_proto', when: [IP_ANY] }, style: 'dec', set: 'nw_proto' },
  arp_op: { names: ['arp_op'], alias: [{ name: 'nw_proto', when: [ARP] }], style: 'dec' },
  arp_sha: { names: ['arp_sha'], style: 'addr' },
  arp_tha: { names: ['arp_tha'], style: 'addr' },
  ip_dscp: { names: ['ip_dscp'], scaled: { name: 'nw_tos', shift: 2 }, style: 'dec' },
  ip_ecn: { names: ['ip_ecn', 'nw_ecn'], print: { name: 'nw_ecn' }, style: 'dec', set: 'nw_ecn' },
  mpls_label: { names: ['mpls_label'], style: 'dec' },
  mpls_tc: { names: ['mpls_tc'], style: 'dec' },
  mpls_bos: { names: ['mpls_bos'], style: 'dec' },
  icmpv4_type: { names: ['icmpv4_type', 'icmp_type'], print: { name: 'icmp_type', when: [IPV4, proto(1)] }, style: 'dec', set: 'icmp_type' },
  icmpv4_code: { names: ['icmpv4_code', 'icmp_code'], print: { name: 'icmp_code', when: [IPV4, proto(1)] }, style: 'dec', set: 'icmp_code' },
  icmpv6_type: {
    names: ['icmpv6_type'],
    alias: [{ name: 'icmp_type', when: [IPV6] }],
    print: { name: 'icmp_type', when: [IPV6, proto(58)] },
    style: 'dec',
  },
  icmpv6_code: {
    names: ['icmpv6_code'],
    alias: [{ name: 'icmp_code', when: [IPV6] }],
    print: { name: 'icmp_code', when: [IPV6, proto(58)] },
    style: 'dec',
  },
  ipv6_nd_target: { names: ['ipv6_nd_target', 'nd_target'], print: { name: 'nd_target' }, style: 'addr', set: 'nd_target', ovsMaskable: true },
  ipv6_nd_sll: { names: ['ipv6_nd_sll', 'nd_sll'], print: { name: 'nd_sll' }, style: 'addr', set: 'nd_sll', ovsMaskable: true },
  ipv6_nd_tll: { names: ['ipv6_nd_tll', 'nd_tll'], print: { name: 'nd_tll' }, style: 'addr', set: 'nd_tll', ovsMaskable: true },
  tcp_src: { names: ['tcp_src', 'tp_src'], print: { name: 'tp_src', when: [IP_ANY, proto(6)] }, style: 'dec', ovsMaskable: true },
  udp_src: {
    names: ['udp_src'],
    alias: [{ name: 'tp_src', when: [proto(17)] }],
    print: { name: 'tp_src', when: [IP_ANY, proto(17)] },
    style: 'dec',
    ovsMaskable: true,
  },
  sctp_src: {
    names: ['sctp_src'],
    alias: [{ name: 'tp_src', when: [proto(132)] }],
    print: { name: 'tp_src', when: [IP_ANY, proto(132)] },
    style: 'dec',
    ovsMaskable: true,
  },
  tcp_dst: { names: ['tcp_dst', 'tp_dst'], print: { name: 'tp_dst', when: [IP_ANY, proto(6)] }, style: 'dec', ovsMaskable: true },
  udp_dst: {
    names: ['udp_dst'],
    alias: [{ name: 'tp_dst', when: [proto(17)] }],
    print: { name: 'tp_dst', when: [IP_ANY, proto(17)] },
    style: 'dec',
    ovsMaskable: true,
  },
  sctp_dst: {
    names: ['sctp_dst'],
    alias: [{ name: 'tp_dst', when: [proto(132)] }],
    print: { name: 'tp_dst', when: [IP_ANY, proto(132)] },
    style: 'dec',
    ovsMaskable: true,
  },
  in_phy_port: { names: ['in_phy_port'], style: 'port' },
  pbb_isid: { names: ['pbb_isid'], style: 'hex' },
  ipv6_exthdr: { names: ['ipv6_exthdr'], style: 'hex' },
};

/**
 * The protocol shorthands of a match (`tcp` is eth_type=0x0800,ip_proto=6), in the order
 * the printer tries them: one with ip_proto before the plain one of its ethertype.
 */
export const SHORTHANDS: readonly { readonly name: string; readonly ethType: number; readonly ipProto?: number }[] = [
  { name: 'icmp', ethType: ETH_TYPE.IP, ipProto: 1 },
  { name: 'tcp', ethType: ETH_TYPE.IP, ipProto: 6 },
  { name: 'udp', ethType: ETH_TYPE.IP, ipProto: 17 },
  { name: 'sctp', ethType: ETH_TYPE.IP, ipProto: 132 },
  { name: 'ip', ethType: ETH_TYPE.IP },
  { name: 'icmp6', ethType: ETH_TYPE.IPV6, ipProto: 58 },
  { name: 'tcp6', ethType: ETH_TYPE.IPV6, ipProto: 6 },
  { name: 'udp6', ethType: ETH_TYPE.IPV6, ipProto: 17 },
  { name: 'sctp6', ethType: ETH_TYPE.IPV6, ipProto: 132 },
  { name: 'ipv6', ethType: ETH_TYPE.IPV6 },
  { name: 'arp', ethType: ETH_TYPE.ARP },
  { name: 'rarp', ethType: ETH_TYPE.RARP },
  { name: 'mpls', ethType: ETH_TYPE.MPLS },
  { name: 'mplsm', ethType: ETH_TYPE.MPLSM },
];

/**
 * The 802.1Q names ovs-ofctl reads into one TCI value and mask (text.ts): `vlan_tci` is the
 * whole TCI, `dl_vlan` the VID with a tag present (0xffff: no tag), `dl_vlan_pcp` and
 * `vlan_pcp` the priority (a tag present), `vlan_vid` the VID and present bit as in OXM.
 */
export const TCI_NAMES = ['vlan_tci', 'dl_vlan', 'dl_vlan_pcp', 'vlan_vid', 'vlan_pcp'] as const;
export type TciName = (typeof TCI_NAMES)[number];

/**
 * ovs-ofctl's shorthand actions that are a set_field, by the field name they set (resolved
 * in the match's context, so mod_tp_src sets udp_src in a udp flow). mod_vlan_vid and
 * mod_vlan_pcp also push a tag first when the packet cannot have one.
 */
export const SET_SHORTHANDS: Readonly<Record<string, string>> = {
  mod_dl_src: 'eth_src',
  mod_dl_dst: 'eth_dst',
  mod_nw_src: 'ipv4_src',
  mod_nw_dst: 'ipv4_dst',
  mod_nw_tos: 'nw_tos',
  mod_nw_ecn: 'ip_ecn',
  mod_tp_src: 'tp_src',
  mod_tp_dst: 'tp_dst',
  set_tunnel: 'tunnel_id',
  set_tunnel64: 'tunnel_id',
  mod_vlan_vid: 'dl_vlan',
  mod_vlan_pcp: 'vlan_pcp',
};
