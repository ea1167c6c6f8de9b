// The controller's packet library against frames made by others: frames the
// Linux stack sent (captured, and dissected by tshark) and frames os-ken's
// packet library built (and parsed back). Every field tshark or os-ken reads
// must read the same here, every checksum they check must check here, and
// building each layer from what was parsed must give the same bytes back.
// Then the edges: no prefix or random bytes make a parser throw, inconsistent
// lengths give undefined, and a build with a field out of range throws.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildPacket,
  echoIdSeq,
  emitArp,
  emitEthernet,
  emitIcmp,
  emitIcmpv6,
  emitIpv4,
  emitIpv6,
  emitLldp,
  emitTcp,
  emitUdp,
  EthernetView,
  ETHERTYPE,
  icmpEcho,
  icmpv6ChecksumOk,
  IcmpView,
  IP_PROTO,
  Ipv4View,
  ipv6UpperLayer,
  LLDP_TLV,
  macToNumber,
  parseArp,
  parseEthernet,
  parseIcmp,
  parseIpv4,
  parseIpv6,
  parseLldp,
  parseNdp,
  parsePacket,
  parseTcp,
  parseUdp,
  TCP_FLAG,
  tcpOptions,
  TcpView,
  UdpView,
  type Packet,
} from '../../src/controller/packet/index.ts';
import { fromHex, toHex } from '../../src/openflow/codec/index.ts';
import { OSKEN_FRAMES } from '../fixtures/controller-packets/osken-frames.ts';
import { TSHARK_FRAMES } from '../fixtures/controller-packets/tshark-frames.ts';

const FIXTURES = [
  ...Object.entries(TSHARK_FRAMES).map(([name, f]) => ({ name: `kernel ${name}`, bytes: fromHex(f.hex), expect: f.expect })),
  ...Object.entries(OSKEN_FRAMES).map(([name, f]) => ({ name: `os-ken ${name}`, bytes: fromHex(f.hex), expect: f.expect })),
];

/** The bytes the transport header starts at, after IPv6 extension headers. */
function l4Bytes(p: Packet): Uint8Array | undefined {
  if (p.ipv4) return p.ipv4.payload;
  return p.ipv6 && ipv6UpperLayer(p.ipv6)?.payload;
}

/** What tsof reads from a frame, under the keys the fixtures use. */
function observed(frame: Uint8Array): Record<string, unknown> {
  const p = parsePacket(frame)!;
  const o: Record<string, unknown> = {
    'eth.dst': p.eth.dst,
    'eth.src': p.eth.src,
    'eth.ethertype': p.eth.ethertype,
    'eth.vlans': p.eth.vlans,
  };
  const ip = p.ipv4 ?? p.ipv6;
  const l4 = l4Bytes(p);
  const put = (prefix: string, obj: object | undefined) => {
    for (const [k, v] of Object.entries(obj ?? {})) o[`${prefix}.${k}`] = v instanceof Uint8Array ? toHex(v) : v;
  };
  put('arp', p.arp);
  put('ipv4', p.ipv4);
  put('ipv6', p.ipv6);
  put('tcp', p.tcp);
  put('udp', p.udp);
  put('icmp', p.icmp);
  put('icmpv6', p.icmpv6);
  if (p.ipv4) {
    const v = Ipv4View.of(p.eth.payload)!;
    Object.assign(o, { 'ipv4.checksum': v.checksum, 'ipv4.checksumOk': v.checksumOk });
  }
  if (p.tcp) {
    const v = TcpView.of(l4!)!;
    o['tcp.checksum'] = v.checksum;
    o['tcp.checksumOk'] = v.checksumOk(ip!);
    o['tcp.payloadLength'] = p.tcp.payload.length;
    o['tcp.options'] = tcpOptions(p.tcp.options).map((x) => [x.kind, toHex(x.data)]);
    o.payload = toHex(p.tcp.payload);
  }
  if (p.udp) {
    const v = UdpView.of(l4!)!;
    Object.assign(o, { 'udp.checksum': v.checksum, 'udp.checksumOk': v.checksumOk(ip!), 'udp.length': v.length });
    o.payload = toHex(p.udp.payload);
  }
  if (p.icmp) {
    const v = IcmpView.of(l4!)!;
    const { id, seq } = echoIdSeq(p.icmp.rest);
    Object.assign(o, { 'icmp.checksum': v.checksum, 'icmp.checksumOk': v.checksumOk, 'icmp.id': id, 'icmp.seq': seq });
  }
  if (p.icmpv6) {
    o['icmpv6.checksum'] = IcmpView.of(l4!)!.checksum;
    o['icmpv6.checksumOk'] = icmpv6ChecksumOk(l4!, p.ipv6!);
    put('ndp', parseNdp(p.icmpv6));
  }
  if (p.lldp) {
    const id = (x: { subtype: number; id: Uint8Array }) => [x.subtype, toHex(x.id)];
    o['lldp.chassisId'] = id(p.lldp.chassisId);
    o['lldp.portId'] = id(p.lldp.portId);
    o['lldp.ttl'] = p.lldp.ttl;
    o['lldp.tlvs'] = p.lldp.tlvs.map((t) => [t.type, toHex(t.value)]);
  }
  return o;
}

/** A frame as built, and the frame it came from: the same, but for Ethernet padding after the packet. */
function expectSameFrame(built: Uint8Array, frame: Uint8Array): void {
  expect(toHex(built)).toBe(toHex(frame.subarray(0, built.length)));
  expect(frame.subarray(built.length).every((b) => b === 0)).toBe(true);
}

describe.each(FIXTURES)('$name', ({ bytes, expect: want }) => {
  it('parses to the fields the other implementation reads', () => {
    const got = observed(bytes);
    for (const [key, value] of Object.entries(want)) expect({ [key]: got[key] }).toEqual({ [key]: value });
  });

  it('keys its MACs as numbers that spell the same addresses as their text', () => {
    const eth = EthernetView.of(bytes)!;
    expect(eth.srcKey).toBe(parseInt(eth.src.replaceAll(':', ''), 16));
    expect(eth.dstKey).toBe(parseInt(eth.dst.replaceAll(':', ''), 16));
    expect(macToNumber(bytes, 6)).toBe(eth.srcKey);
  });

  it('builds each layer back to the same bytes, checksums included', () => {
    const p = parsePacket(bytes)!;
    expect(toHex(emitEthernet(p.eth, p.eth.payload))).toBe(toHex(bytes));
    const ip = p.ipv4 ?? p.ipv6;
    let l3: Uint8Array | undefined;
    if (p.ipv4) l3 = emitIpv4(p.ipv4, p.ipv4.payload);
    if (p.ipv6) l3 = emitIpv6(p.ipv6, p.ipv6.payload);
    if (p.arp) l3 = emitArp(p.arp);
    if (p.lldp) l3 = emitLldp(p.lldp);
    expect(l3).toBeDefined();
    expectSameFrame(l3!, p.eth.payload);
    const l4 = l4Bytes(p);
    let built: Uint8Array | undefined;
    if (p.tcp) built = emitTcp(p.tcp, p.tcp.payload, ip!);
    if (p.udp) built = emitUdp(p.udp, p.udp.payload, ip!);
    if (p.icmp) built = emitIcmp(p.icmp, p.icmp.payload);
    if (p.icmpv6) built = emitIcmpv6(p.icmpv6, p.icmpv6.payload, p.ipv6!);
    if (built) expect(toHex(built)).toBe(toHex(l4!));
  });

  it('builds the whole frame with buildPacket from the parsed layers', () => {
    const p = parsePacket(bytes)!;
    // Extension headers are not layers buildPacket knows; that frame is rebuilt per layer above.
    if (p.ipv6 && p.ipv6.nextHeader === IP_PROTO.HOPOPT) return;
    const inner = p.tcp ?? p.udp ?? p.icmp ?? p.icmpv6 ?? p.ipv4 ?? p.ipv6;
    const { payload: _eth, ...eth } = p.eth;
    const strip = <T extends { payload: Uint8Array }>(x: T | undefined) => x && (({ payload: _, ...rest }) => rest)(x);
    const built = buildPacket({
      eth,
      arp: p.arp,
      lldp: p.lldp,
      ipv4: strip(p.ipv4),
      ipv6: strip(p.ipv6),
      tcp: strip(p.tcp),
      udp: strip(p.udp),
      icmp: strip(p.icmp),
      icmpv6: strip(p.icmpv6),
      payload: inner?.payload,
    });
    expectSameFrame(built, bytes);
  });

  it('never throws on any prefix of the frame, and reads less as the frame gets shorter', () => {
    for (let n = 0; n <= bytes.length; n++) {
      const p = parsePacket(bytes.subarray(0, n));
      if (n < 14) expect(p).toBeUndefined();
      else expect(p).toBeDefined();
    }
  });
});

describe('malformed and truncated input', () => {
  const syn = fromHex(TSHARK_FRAMES.tcp_syn.hex);
  const ip = syn.subarray(14);

  it('gives undefined for inconsistent header lengths', () => {
    const bad = (mutate: (b: Uint8Array) => void) => {
      const b = ip.slice();
      mutate(b);
      return b;
    };
    expect(parseIpv4(bad((b) => (b[0] = 0x44)))).toBeUndefined(); // IHL 4 < 5
    expect(parseIpv4(bad((b) => (b[0] = 0x4f)))).toBeDefined(); // IHL 15: 60 bytes, and there are 60
    expect(parseIpv4(bad((b) => (b[0] = 0x4f)).subarray(0, 59))).toBeUndefined();
    expect(parseIpv4(bad((b) => (b[3] = 10)))).toBeUndefined(); // total length under the header
    expect(parseIpv4(bad((b) => (b[0] = 0x65)))).toBeUndefined(); // version 6
    const tcp = ip.subarray(20);
    expect(parseTcp(tcp.subarray(0, 39))).toBeUndefined(); // data offset 10 words, 39 bytes
    const off4 = tcp.slice();
    off4[12] = 0x40;
    expect(parseTcp(off4)).toBeUndefined();
    expect(parseUdp(Uint8Array.of(0, 1, 0, 2, 0, 7, 0, 0))).toBeUndefined(); // length 7 < 8
    expect(parseArp(fromHex(TSHARK_FRAMES.arp_request.hex).subarray(14, 14 + 27))).toBeUndefined();
  });

  it('reads a packet-in cut short by miss_send_len: headers whole, payload what was captured', () => {
    const frame = fromHex(TSHARK_FRAMES.tcp_psh_ack.hex);
    const p = parsePacket(frame.subarray(0, frame.length - 5))!;
    expect(p.ipv4!.payload.length).toBe(frame.length - 14 - 20 - 5);
    expect(p.tcp!.payload.length).toBe(13 - 5);
    expect(TcpView.of(l4Bytes(p)!)!.checksumOk(p.ipv4!)).toBe(false);
  });

  it('leaves out a layer it cannot read and those above it', () => {
    const p = parsePacket(syn.subarray(0, 14 + 20 + 10))!;
    expect(p.ipv4).toBeDefined();
    expect(p.tcp).toBeUndefined();
    const frag = syn.slice();
    frag[14 + 7] = 1; // fragment offset 1: no TCP header in this packet
    expect(parsePacket(frag)!.tcp).toBeUndefined();
  });

  it('checks LLDP TLV order, lengths and the End TLV', () => {
    const lldp = parseEthernet(fromHex(OSKEN_FRAMES.lldp.hex))!.payload;
    expect(parseLldp(lldp)).toBeDefined();
    expect(parseLldp(lldp.subarray(0, lldp.length - 2))).toBeUndefined(); // no End
    const swapped = emitLldp({ chassisId: { subtype: 7, id: 'a' }, portId: { subtype: 7, id: 'b' }, ttl: 1 });
    swapped[0] = LLDP_TLV.PORT_ID << 1;
    expect(parseLldp(swapped)).toBeUndefined();
    const long = lldp.slice();
    long[1] = 0xff; // chassis id TLV longer than the frame
    expect(parseLldp(long)).toBeUndefined();
  });

  it('never throws on random bytes', () => {
    const parsers = [parsePacket, parseIpv4, parseIpv6, parseTcp, parseUdp, parseArp, parseIcmp, parseLldp];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        for (const parse of parsers) parse(b);
        const ip6 = parseIpv6(b);
        if (ip6) ipv6UpperLayer(ip6);
        const icmp = parseIcmp(b);
        if (icmp) parseNdp(icmp);
        if (b.length) tcpOptions(b);
      }),
    );
  });
});

describe('building', () => {
  const eth = { dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01' };

  it('fills in ethertype and protocol, and lengths and checksums a peer accepts', () => {
    const frame = buildPacket({
      eth: { ...eth, vlans: [{ tpid: ETHERTYPE.VLAN, pcp: 1, dei: 0, vid: 10 }] },
      ipv4: { src: '10.0.0.1', dst: '10.0.0.2', ttl: 9 },
      tcp: { srcPort: 1, dstPort: 2, flags: TCP_FLAG.SYN, options: Uint8Array.of(2, 4, 5, 0xb4) },
      payload: Uint8Array.of(1, 2, 3),
    });
    const p = parsePacket(frame)!;
    expect(p.eth.ethertype).toBe(ETHERTYPE.IPV4);
    expect(p.ipv4).toMatchObject({ protocol: IP_PROTO.TCP, ttl: 9 });
    expect(Ipv4View.of(p.eth.payload)!.checksumOk).toBe(true);
    expect(TcpView.of(p.ipv4!.payload)!.checksumOk(p.ipv4!)).toBe(true);
    expect(tcpOptions(p.tcp!.options)).toEqual([{ kind: 2, data: Uint8Array.of(5, 0xb4) }]);
    const echo = parsePacket(buildPacket({ eth, ipv6: { src: 'fe80::1', dst: 'fe80::2' }, icmpv6: { type: 128, code: 0, rest: icmpEcho(7, 8) } }))!;
    expect(icmpv6ChecksumOk(echo.ipv6!.payload, echo.ipv6!)).toBe(true);
    expect(echoIdSeq(echo.icmpv6!.rest)).toEqual({ id: 7, seq: 8 });
  });

  it('round-trips any IPv4/UDP and IPv6/TCP packet it builds', () => {
    const u16 = fc.integer({ min: 0, max: 0xffff });
    const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join('.'));
    fc.assert(
      fc.property(v4, v4, fc.nat(63), fc.nat(255), u16, u16, fc.uint8Array({ maxLength: 100 }), (src, dst, dscp, ttl, sp, dp, data) => {
        const p = parsePacket(buildPacket({ eth, ipv4: { src, dst, dscp, ttl }, udp: { srcPort: sp, dstPort: dp }, payload: data }))!;
        expect(p.ipv4).toMatchObject({ src, dst, dscp, ttl, protocol: IP_PROTO.UDP });
        expect(p.udp).toEqual({ srcPort: sp, dstPort: dp, payload: data });
        expect(UdpView.of(p.ipv4!.payload)!.checksumOk(p.ipv4!)).toBe(true);
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.nat(0xfffff), fc.nat(0xfff), fc.uint8Array({ maxLength: 100 }), (flowLabel, flags, data) => {
        const ipv6 = { src: '2001:db8::1', dst: '2001:db8::2', flowLabel };
        const p = parsePacket(buildPacket({ eth, ipv6, tcp: { srcPort: 1, dstPort: 2, flags }, payload: data }))!;
        expect(p.ipv6).toMatchObject(ipv6);
        expect(p.tcp).toMatchObject({ flags, payload: data });
        expect(TcpView.of(p.ipv6!.payload)!.checksumOk(p.ipv6!)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('throws for a field out of range or layers that do not go together', () => {
    const ipv4 = { src: '10.0.0.1', dst: '10.0.0.2' };
    expect(() => buildPacket({ eth, ipv4: { ...ipv4, ttl: 256 }, udp: { srcPort: 1, dstPort: 2 } })).toThrow(RangeError);
    expect(() => buildPacket({ eth: { ...eth, vlans: [{ tpid: 0x8100, pcp: 0, dei: 0, vid: 4096 }] }, arp: undefined, ipv4, udp: { srcPort: 1, dstPort: 2 } })).toThrow(/vid/);
    expect(() => buildPacket({ eth, ipv4: { ...ipv4, options: Uint8Array.of(1) }, udp: { srcPort: 1, dstPort: 2 } })).toThrow(/multiple of 4/);
    expect(() => buildPacket({ eth, ipv4: { ...ipv4, src: '10.0.0' }, udp: { srcPort: 1, dstPort: 2 } })).toThrow(TypeError);
    expect(() => buildPacket({ eth, tcp: { srcPort: 1, dstPort: 2 } })).toThrow(/needs an ipv4 or ipv6/);
    expect(() => buildPacket({ eth, ipv6: { src: '::1', dst: '::2' }, icmp: { type: 8, code: 0, rest: 0 } })).toThrow(/icmp goes over ipv4/);
    expect(() => buildPacket({ eth, ipv4 })).toThrow(/ipv4.protocol/);
    expect(() => buildPacket({ eth })).toThrow(/eth.ethertype/);
    expect(() => emitLldp({ chassisId: { subtype: 7, id: '' }, portId: { subtype: 7, id: 'p' }, ttl: 1 })).toThrow(/1 to 255 bytes/);
  });
});
