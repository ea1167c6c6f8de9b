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

/**
 * Open vSwitch's own field list (meta-flow, OVS 3.1), in its order, which is the order
 * ovs-ofctl prints a table's fields in (dump-table-features). A row is the name
 * ovs-ofctl prints (`*` after it: a field of any length), then the OXM or NXM headers
 * that stand for it as CLASS:FIELD:LENGTH, the class in hex, an experimenter class as
 * ffff.EXPERIMENTER (its length counts the experimenter id's 4 bytes). A field with no
 * header cannot be named in OpenFlow but keeps its place.
 */
export const OVS_FIELDS: readonly string[] = [
  'dp_hash ffff.2320:0:8 1:35:4',
  'recirc_id 1:36:4',
  'packet_type 8000:44:4',
  'conj_id 1:37:4',
  'tun_id 8000:38:8 1:16:8',
  'tun_src 1:31:4',
  'tun_dst 1:32:4',
  'tun_ipv6_src 1:109:16',
  'tun_ipv6_dst 1:110:16',
  'tun_flags 1:104:2',
  'tun_ttl',
  'tun_tos',
  'tun_gbp_id 1:38:2',
  'tun_gbp_flags 1:39:1',
  'tun_erspan_idx ffff.2320:11:8',
  'tun_erspan_ver ffff.2320:12:5',
  'tun_erspan_dir ffff.2320:13:5',
  'tun_erspan_hwid ffff.2320:14:5',
  'tun_gtpu_flags ffff.2320:15:5',
  'tun_gtpu_msgtype ffff.2320:16:5',
  'tun_metadata0* 1:40:124',
  'tun_metadata1* 1:41:124',
  'tun_metadata2* 1:42:124',
  'tun_metadata3* 1:43:124',
  'tun_metadata4* 1:44:124',
  'tun_metadata5* 1:45:124',
  'tun_metadata6* 1:46:124',
  'tun_metadata7* 1:47:124',
  'tun_metadata8* 1:48:124',
  'tun_metadata9* 1:49:124',
  'tun_metadata10* 1:50:124',
  'tun_metadata11* 1:51:124',
  'tun_metadata12* 1:52:124',
  'tun_metadata13* 1:53:124',
  'tun_metadata14* 1:54:124',
  'tun_metadata15* 1:55:124',
  'tun_metadata16* 1:56:124',
  'tun_metadata17* 1:57:124',
  'tun_metadata18* 1:58:124',
  'tun_metadata19* 1:59:124',
  'tun_metadata20* 1:60:124',
  'tun_metadata21* 1:61:124',
  'tun_metadata22* 1:62:124',
  'tun_metadata23* 1:63:124',
  'tun_metadata24* 1:64:124',
  'tun_metadata25* 1:65:124',
  'tun_metadata26* 1:66:124',
  'tun_metadata27* 1:67:124',
  'tun_metadata28* 1:68:124',
  'tun_metadata29* 1:69:124',
  'tun_metadata30* 1:70:124',
  'tun_metadata31* 1:71:124',
  'tun_metadata32* 1:72:124',
  'tun_metadata33* 1:73:124',
  'tun_metadata34* 1:74:124',
  'tun_metadata35* 1:75:124',
  'tun_metadata36* 1:76:124',
  'tun_metadata37* 1:77:124',
  'tun_metadata38* 1:78:124',
  'tun_metadata39* 1:79:124',
  'tun_metadata40* 1:80:124',
  'tun_metadata41* 1:81:124',
  'tun_metadata42* 1:82:124',
  'tun_metadata43* 1:83:124',
  'tun_metadata44* 1:84:124',
  'tun_metadata45* 1:85:124',
  'tun_metadata46* 1:86:124',
  'tun_metadata47* 1:87:124',
  'tun_metadata48* 1:88:124',
  'tun_metadata49* 1:89:124',
  'tun_metadata50* 1:90:124',
  'tun_metadata51* 1:91:124',
  'tun_metadata52* 1:92:124',
  'tun_metadata53* 1:93:124',
  'tun_metadata54* 1:94:124',
  'tun_metadata55* 1:95:124',
  'tun_metadata56* 1:96:124',
  'tun_metadata57* 1:97:124',
  'tun_metadata58* 1:98:124',
  'tun_metadata59* 1:99:124',
  'tun_metadata60* 1:100:124',
  'tun_metadata61* 1:101:124',
  'tun_metadata62* 1:102:124',
  'tun_metadata63* 1:103:124',
  'metadata 8000:2:8',
  'in_port 0:0:2',
  'in_port_oxm 8000:0:4',
  'actset_output ffff.4f4e4600:43:8 8000:43:4',
  'skb_priority',
  'pkt_mark 1:33:4',
  'ct_state 1:105:4',
  'ct_zone 1:106:2',
  'ct_mark 1:107:4',
  'ct_label 1:108:16',
  'ct_nw_proto 1:119:1',
  'ct_nw_src 1:120:4',
  'ct_nw_dst 1:121:4',
  'ct_ipv6_src 1:122:16',
  'ct_ipv6_dst 1:123:16',
  'ct_tp_src 1:124:2',
  'ct_tp_dst 1:125:2',
  'reg0 1:0:4',
  'reg1 1:1:4',
  'reg2 1:2:4',
  'reg3 1:3:4',
  'reg4 1:4:4',
  'reg5 1:5:4',
  'reg6 1:6:4',
  'reg7 1:7:4',
  'reg8 1:8:4',
  'reg9 1:9:4',
  'reg10 1:10:4',
  'reg11 1:11:4',
  'reg12 1:12:4',
  'reg13 1:13:4',
  'reg14 1:14:4',
  'reg15 1:15:4',
  'xreg0 8001:0:8',
  'xreg1 8001:1:8',
  'xreg2 8001:2:8',
  'xreg3 8001:3:8',
  'xreg4 8001:4:8',
  'xreg5 8001:5:8',
  'xreg6 8001:6:8',
  'xreg7 8001:7:8',
  'xxreg0 1:111:16',
  'xxreg1 1:112:16',
  'xxreg2 1:113:16',
  'xxreg3 1:114:16',
  'eth_src 8000:4:6 0:2:6',
  'eth_dst 8000:3:6 0:1:6',
  'eth_type 8000:5:2 0:3:2',
  'vlan_tci 0:4:2',
  'dl_vlan',
  'vlan_vid 8000:6:2',
  'dl_vlan_pcp',
  'vlan_pcp 8000:7:1',
  'mpls_label 8000:34:4',
  'mpls_tc 8000:35:1',
  'mpls_bos 8000:36:1',
  'mpls_ttl 1:30:1',
  'ip_src 8000:11:4 0:7:4',
  'ip_dst 8000:12:4 0:8:4',
  'ipv6_src 8000:26:16 1:19:16',
  'ipv6_dst 8000:27:16 1:20:16',
  'ipv6_label 8000:28:4 1:27:4',
  'nw_proto 8000:10:1 0:6:1',
  'nw_tos 0:5:1',
  'ip_dscp 8000:8:1',
  'nw_ecn 8000:9:1 1:28:1',
  'nw_ttl 1:29:1',
  'ip_frag 1:26:1',
  'arp_op 8000:21:2 0:15:2',
  'arp_spa 8000:22:4 0:16:4',
  'arp_tpa 8000:23:4 0:17:4',
  'arp_sha 8000:24:6 1:17:6',
  'arp_tha 8000:25:6 1:18:6',
  'tcp_src 8000:13:2 0:9:2',
  'tcp_dst 8000:14:2 0:10:2',
  'tcp_flags ffff.4f4e4600:42:6 8000:42:2 1:34:2',
  'udp_src 8000:15:2 0:11:2',
  'udp_dst 8000:16:2 0:12:2',
  'sctp_src 8000:17:2',
  'sctp_dst 8000:18:2',
  'icmp_type 8000:19:1 0:13:1',
  'icmp_code 8000:20:1 0:14:1',
  'icmpv6_type 8000:29:1 1:21:1',
  'icmpv6_code 8000:30:1 1:22:1',
  'nd_target 8000:31:16 1:23:16',
  'nd_sll 8000:32:6 1:24:6',
  'nd_tll 8000:33:6 1:25:6',
  'nd_reserved 1000:1:4',
  'nd_options_type 1000:2:1',
  'nsh_flags ffff.5ad650:1:5',
  'nsh_mdtype ffff.5ad650:2:5',
  'nsh_np ffff.5ad650:3:5',
  'nsh_spi ffff.5ad650:4:8',
  'nsh_si ffff.5ad650:5:5',
  'nsh_c1 ffff.5ad650:6:8',
  'nsh_c2 ffff.5ad650:7:8',
  'nsh_c3 ffff.5ad650:8:8',
  'nsh_c4 ffff.5ad650:9:8',
  'nsh_ttl ffff.5ad650:10:5',
];
