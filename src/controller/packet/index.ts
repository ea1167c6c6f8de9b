// The packet library: headers of the frames a controller sees in packet-ins and
// sends in packet-outs, in the manner of smoltcp's wire module. One file per
// protocol, each with its field offsets, a view over the bytes (XxxView.of()
// checks the length once, after which no accessor can fail), and a plain
// representation with parseXxx (bytes -> representation; undefined for bytes
// that do not hold the header, never a throw), xxxLength and emitXxx
// (representation and payload -> bytes, lengths and checksums computed; throws
// only for a field out of range, a programmer's error). Unknown types, codes,
// options and TLVs are kept. Payloads are views, so nothing is copied until an
// app keeps it. packet.ts parses and builds whole frames.

export * from './arp.ts';
export { checksum, type IpAddresses } from './bytes.ts';
export * from './compose.ts';
export * from './ethernet.ts';
export * from './icmp.ts';
export * from './icmpv6.ts';
export * from './ipv4.ts';
export * from './ipv6.ts';
export * from './lldp.ts';
export * from './packet.ts';
export * from './tcp.ts';
export * from './udp.ts';
export * from './vlan.ts';
