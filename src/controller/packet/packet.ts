// A whole frame at once: parsePacket() decodes every layer it knows, as Ryu's
// packet.Packet does, and buildPacket() builds a frame from the layers an app
// names, filling in the ethertype and IP protocol they imply and computing
// every length and checksum. A layer that does not parse is left out and the
// layers above it with it, as a datapath's flow key stops at a header it cannot
// read; parsePacket returns undefined only for a frame shorter than Ethernet's.

import { emitArp, parseArp, type Arp } from './arp.ts';
import { emitEthernet, ETHERTYPE, parseEthernet, type Ethernet } from './ethernet.ts';
import { emitIcmp, parseIcmp, type Icmp } from './icmp.ts';
import { emitIcmpv6, parseIcmpv6, type Icmpv6 } from './icmpv6.ts';
import { emitIpv4, IP_PROTO, parseIpv4, type Ipv4, type Ipv4Fields } from './ipv4.ts';
import { emitIpv6, ipv6UpperLayer, parseIpv6, type Ipv6, type Ipv6Fields } from './ipv6.ts';
import { emitLldp, parseLldp, type Lldp, type LldpFields } from './lldp.ts';
import { emitTcp, parseTcp, type Tcp, type TcpFields } from './tcp.ts';
import { emitUdp, parseUdp, type Udp } from './udp.ts';
import type { VlanTag } from './vlan.ts';

export interface Packet {
  eth: Ethernet;
  arp?: Arp;
  lldp?: Lldp;
  ipv4?: Ipv4;
  ipv6?: Ipv6;
  tcp?: Tcp;
  udp?: Udp;
  icmp?: Icmp;
  icmpv6?: Icmpv6;
}

export function parsePacket(frame: Uint8Array): Packet | undefined {
  const eth = parseEthernet(frame);
  if (!eth) return undefined;
  const p: Packet = { eth };
  let l4: { protocol: number; payload: Uint8Array } | undefined;
  switch (eth.ethertype) {
    case ETHERTYPE.ARP:
      p.arp = parseArp(eth.payload);
      break;
    case ETHERTYPE.LLDP:
      p.lldp = parseLldp(eth.payload);
      break;
    case ETHERTYPE.IPV4:
      p.ipv4 = parseIpv4(eth.payload);
      // A later fragment has no transport header.
      if (p.ipv4?.fragOffset === 0) l4 = p.ipv4;
      break;
    case ETHERTYPE.IPV6:
      p.ipv6 = parseIpv6(eth.payload);
      l4 = p.ipv6 && ipv6UpperLayer(p.ipv6);
      break;
  }
  switch (l4?.protocol) {
    case IP_PROTO.TCP:
      p.tcp = parseTcp(l4.payload);
      break;
    case IP_PROTO.UDP:
      p.udp = parseUdp(l4.payload);
      break;
    case IP_PROTO.ICMP:
      if (p.ipv4) p.icmp = parseIcmp(l4.payload);
      break;
    case IP_PROTO.ICMPV6:
      if (p.ipv6) p.icmpv6 = parseIcmpv6(l4.payload);
      break;
  }
  return p;
}

/** The layers of a frame to build; each implied ethertype or protocol may be left out. */
export interface PacketFields {
  eth: { dst: string; src: string; vlans?: VlanTag[]; ethertype?: number };
  arp?: Arp;
  lldp?: LldpFields;
  ipv4?: Omit<Ipv4Fields, 'protocol'> & { protocol?: number };
  ipv6?: Omit<Ipv6Fields, 'nextHeader'> & { nextHeader?: number };
  tcp?: TcpFields;
  udp?: Omit<Udp, 'payload'>;
  icmp?: Omit<Icmp, 'payload'>;
  icmpv6?: Omit<Icmpv6, 'payload'>;
  /** What the innermost layer carries. */
  payload?: Uint8Array;
}

const L3 = ['arp', 'lldp', 'ipv4', 'ipv6'] as const;
const L4 = ['tcp', 'udp', 'icmp', 'icmpv6'] as const;

/**
 * The frame for `p`, inside out. Throws TypeError for layers that do not go
 * together (two network layers, TCP without IP, ICMP over IPv6...).
 */
export function buildPacket(p: PacketFields): Uint8Array {
  const l3 = L3.filter((k) => p[k]);
  const l4 = L4.filter((k) => p[k]);
  if (l3.length > 1 || l4.length > 1) throw new TypeError(`one layer of each kind, got ${[...l3, ...l4].join(', ')}`);
  const ip = p.ipv4 ?? p.ipv6;
  if (l4.length && !ip) throw new TypeError(`${l4[0]} needs an ipv4 or ipv6 layer`);
  if ((p.icmp && !p.ipv4) || (p.icmpv6 && !p.ipv6)) throw new TypeError('icmp goes over ipv4, icmpv6 over ipv6');
  let b = p.payload ?? new Uint8Array(0);
  let protocol: number | undefined;
  if (p.tcp) [b, protocol] = [emitTcp(p.tcp, b, ip!), IP_PROTO.TCP];
  else if (p.udp) [b, protocol] = [emitUdp(p.udp, b, ip!), IP_PROTO.UDP];
  else if (p.icmp) [b, protocol] = [emitIcmp(p.icmp, b), IP_PROTO.ICMP];
  else if (p.icmpv6) [b, protocol] = [emitIcmpv6(p.icmpv6, b, ip!), IP_PROTO.ICMPV6];
  let ethertype: number | undefined;
  if (p.ipv4) [b, ethertype] = [emitIpv4({ ...p.ipv4, protocol: p.ipv4.protocol ?? need(protocol, 'ipv4.protocol') }, b), ETHERTYPE.IPV4];
  else if (p.ipv6) [b, ethertype] = [emitIpv6({ ...p.ipv6, nextHeader: p.ipv6.nextHeader ?? need(protocol, 'ipv6.nextHeader') }, b), ETHERTYPE.IPV6];
  else if (p.arp) [b, ethertype] = [emitArp(p.arp), ETHERTYPE.ARP];
  else if (p.lldp) [b, ethertype] = [emitLldp(p.lldp), ETHERTYPE.LLDP];
  return emitEthernet({ ...p.eth, ethertype: p.eth.ethertype ?? need(ethertype, 'eth.ethertype') }, b);
}

function need(v: number | undefined, name: string): number {
  if (v === undefined) throw new TypeError(`${name} must be given when no layer above implies it`);
  return v;
}
