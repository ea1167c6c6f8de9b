// Frames of every kind a switch meets, for checking a frame's summary (codec/frame.ts)
// against ovs-ofctl's: Ethernet with zero to three 802.1Q/802.1ad tags, 802.3 with and
// without LLC/SNAP, ARP and RARP, IPv4 (options, fragments, TCP, UDP, ICMP, SCTP, IGMP,
// ICMPv6 and other protocols inside), IPv6 with chains of extension headers, ICMPv6 and
// neighbour discovery with their options, MPLS stacks, NSH, and random bytes. Well-formed
// frames are built with the controller's packet library (lengths and checksums right);
// then a share of them is damaged: cut short, padded, a length field or a byte changed.

import fc from 'fast-check';
import {
  emitArp,
  emitEthernet,
  emitIcmp,
  emitIcmpv6,
  emitIpv4,
  emitIpv6,
  emitTcp,
  emitUdp,
  type VlanTag,
} from '../../src/controller/packet/index.ts';
import { ipv6ToBytes, ipv6ToString } from '../../src/openflow/codec/wire.ts';

const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const be16 = (v: number) => Uint8Array.of(v >> 8, v);
const be32 = (v: number) => Uint8Array.of(v >>> 24, v >> 16, v >> 8, v);

const mac = bytes(6, 6).map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':'));
const ipv4 = fc.oneof(fc.ipV4(), fc.constant('0.0.0.0'));
/** Addresses of every shape inet_ntop writes differently: random, zero, with an IPv4 tail, one zero group. */
const ipv6 = fc.oneof(
  bytes(16, 16).map((b) => ipv6ToString(b)),
  fc.constantFrom('::', '::1', 'fe80::1', 'ff02::1:ff00:1', '2001:db8:0:1:1:1:1:1'),
  fc.ipV4().map((v4) => `::ffff:${v4}`),
  fc.ipV4().map((v4) => `::${v4}`),
);
const vlan: fc.Arbitrary<VlanTag> = fc.record({
  tpid: fc.constantFrom(0x8100, 0x88a8),
  pcp: fc.integer({ min: 0, max: 7 }),
  dei: fc.integer({ min: 0, max: 1 }),
  vid: fc.oneof(fc.constantFrom(0, 1, 4095), fc.integer({ min: 0, max: 4095 })),
});

/** A transport header and payload for protocol `proto` over addresses `ip` (IPv4 or IPv6 text). */
function transport(ip: { src: string; dst: string }): fc.Arbitrary<{ proto: number; l4: Uint8Array }> {
  const payload = bytes(0, 24);
  return fc.oneof(
    fc
      .record({ srcPort: u16, dstPort: u16, seq: u32, ack: u32, flags: fc.integer({ min: 0, max: 0xfff }), window: u16, urgent: u16, options: fc.constantFrom(0, 4, 12), payload })
      .chain((t) => bytes(t.options, t.options).map((options) => ({ proto: 6, l4: emitTcp({ ...t, options }, t.payload, ip) }))),
    fc.record({ srcPort: u16, dstPort: u16, payload }).map((u) => ({ proto: 17, l4: emitUdp(u, u.payload, ip) })),
    fc.record({ type: u8, code: fc.constantFrom(0, 0, 1, 255), rest: u32, payload }).map((i) => ({ proto: 1, l4: emitIcmp(i, i.payload) })),
    fc.record({ type: fc.constantFrom(1, 128, 129, 133, 134, 135, 136, 137), code: fc.constantFrom(0, 0, 1), rest: u32, payload }).map((i) => ({ proto: 58, l4: emitIcmpv6(i, i.payload, ip) })),
    neighbourDiscovery(ip),
    neighbourDiscovery(ip),
    // SCTP's common header (ports, tag, CRC32c) and IGMP's 8 bytes, raw: the summary reads only their fields.
    bytes(12, 40).map((l4) => ({ proto: 132, l4 })),
    bytes(8, 16).map((l4) => ({ proto: 2, l4 })),
    fc.record({ proto: fc.constantFrom(0, 4, 41, 47, 50, 89, 103, 255), l4: bytes(0, 30) }),
  );
}

/** A neighbour solicitation or advertisement: target, then options (link-layer addresses repeated, empty, cut, unknown). */
function neighbourDiscovery(ip: { src: string; dst: string }): fc.Arbitrary<{ proto: number; l4: Uint8Array }> {
  const option = fc.oneof(
    fc.record({ type: fc.constantFrom(1, 2), mac: fc.oneof(bytes(6, 6), fc.constant(new Uint8Array(6))) }).map(({ type, mac: m }) => concat(Uint8Array.of(type, 1), m)),
    fc.record({ type: fc.constantFrom(1, 2, 3, 5, 14), units: fc.integer({ min: 0, max: 3 }) }).chain(({ type, units }) =>
      bytes(Math.max(units * 8 - 2, 0), Math.max(units * 8 - 2, 0)).map((b) => concat(Uint8Array.of(type, units), b)),
    ),
  );
  return fc
    .record({ type: fc.constantFrom(135, 136), code: fc.constantFrom(0, 0, 0, 1), rest: u32, target: ipv6, options: fc.array(option, { maxLength: 3 }), cut: fc.integer({ min: 0, max: 24 }) })
    .map((n) => {
      let body = concat(ipv6ToBytes(n.target), ...n.options);
      // Now and then cut short: into the options or the target.
      if (n.cut < 6) body = body.subarray(0, Math.max(0, body.length - n.cut * 4));
      return { proto: 58, l4: emitIcmpv6({ type: n.type, code: n.code, rest: n.rest }, body, ip) };
    });
}

/** IPv6 extension headers before `proto`: hop-by-hop, routing, destination options, AH, fragment (first or later). */
function extensions(proto: number): fc.Arbitrary<{ first: number; bytes: Uint8Array }> {
  const header = fc.oneof(
    fc.record({ type: fc.constantFrom(0, 43, 60), len: fc.integer({ min: 0, max: 2 }) }).chain(({ type, len }) =>
      bytes((len + 1) * 8 - 2, (len + 1) * 8 - 2).map((b) => ({ type, body: (next: number) => concat(Uint8Array.of(next, len), b) })),
    ),
    fc.record({ len: fc.integer({ min: 1, max: 4 }) }).chain(({ len }) =>
      bytes((len + 2) * 4 - 2, (len + 2) * 4 - 2).map((b) => ({ type: 51, body: (next: number) => concat(Uint8Array.of(next, len), b) })),
    ),
    fc.record({ offset: fc.constantFrom(0, 0, 1, 185), more: fc.boolean(), res: fc.constantFrom(0, 0, 6), ident: u32 }).map((f) => ({
      type: 44,
      body: (next: number) => concat(Uint8Array.of(next, 0), be16((f.offset << 3) | f.res | (f.more ? 1 : 0)), be32(f.ident)),
    })),
  );
  return fc.array(header, { maxLength: 3 }).map((hs) => {
    let next = proto;
    let out = new Uint8Array(0);
    for (let i = hs.length - 1; i >= 0; i--) {
      out = concat(hs[i].body(next), out);
      next = hs[i].type;
    }
    return { first: next, bytes: out };
  });
}

/** A well-formed frame of one kind: its ethertype's payload after Ethernet and tags. */
const l3: fc.Arbitrary<{ ethertype: number; payload: Uint8Array }> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ src: ipv4, dst: ipv4 }).chain((ip) =>
    fc
      .record({
        t: transport(ip),
        dscp: fc.integer({ min: 0, max: 63 }),
        ecn: fc.integer({ min: 0, max: 3 }),
        ident: u16,
        flags: fc.constantFrom(0, 2, 2, 2, 1, 3, 4),
        fragOffset: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(1, 100, 0x1fff) }),
        ttl: u8,
        optionWords: fc.constantFrom(0, 0, 1, 3, 10),
      })
      .chain((v) =>
        bytes(v.optionWords * 4, v.optionWords * 4).map((options) => ({
          ethertype: 0x0800,
          payload: emitIpv4({ ...ip, ...v, protocol: v.t.proto, options }, v.t.l4),
        })),
      ),
  ) },
  { weight: 5, arbitrary: fc.record({ src: ipv6, dst: ipv6 }).chain((ip) =>
    fc
      .record({ t: transport(ip), trafficClass: u8, flowLabel: fc.integer({ min: 0, max: 0xfffff }), hopLimit: u8 })
      .chain((v) =>
        extensions(v.t.proto).map((ext) => ({
          ethertype: 0x86dd,
          payload: emitIpv6({ ...ip, ...v, nextHeader: ext.first }, concat(ext.bytes, v.t.l4)),
        })),
      ),
  ) },
  fc
    .record({ op: fc.constantFrom(1, 2, 3, 4, 255, 256, 0x1234), sha: mac, spa: ipv4, tha: mac, tpa: ipv4, rarp: fc.boolean() })
    .map((a) => ({ ethertype: a.rarp ? 0x8035 : 0x0806, payload: emitArp(a) })),
  // ARP for other hardware or protocols, which OVS does not read.
  fc.record({ head: bytes(6, 6), rest: bytes(22, 30) }).map(({ head, rest }) => ({ ethertype: 0x0806, payload: concat(head, rest) })),
  fc
    .record({ labels: fc.array(fc.record({ label: fc.integer({ min: 0, max: 0xfffff }), tc: fc.integer({ min: 0, max: 7 }), ttl: u8 }), { maxLength: 5 }), bos: fc.boolean(), tail: bytes(0, 20), mcast: fc.boolean() })
    .map((m) => ({
      ethertype: m.mcast ? 0x8848 : 0x8847,
      payload: concat(...m.labels.map((l, i) => be32(((l.label << 12) | (l.tc << 9) | (m.bos && i === m.labels.length - 1 ? 0x100 : 0) | l.ttl) >>> 0)), m.tail),
    })),
  fc
    .record({ ver: fc.constantFrom(0, 0, 0, 1), flags: fc.integer({ min: 0, max: 3 }), ttl: fc.integer({ min: 0, max: 63 }), mdtype: fc.constantFrom(1, 1, 2, 0, 15), np: u8, path: u32, words: fc.constantFrom(2, 6, 6, 5, 8), body: bytes(16, 40) })
    .map((n) => {
      const head = concat(be16((n.ver << 14) | (n.flags << 12) | (n.ttl << 6) | n.words), Uint8Array.of(n.mdtype, n.np), be32(n.path));
      return { ethertype: 0x894f, payload: concat(head, n.body) };
    }),
  // 802.3: a length, then LLC with or without SNAP (and its ethertype, maybe one that is no ethertype).
  fc
    .record({ length: fc.integer({ min: 0, max: 0x5ff }), snap: fc.boolean(), oui: fc.constantFrom(0, 0, 1), type: fc.constantFrom(0x0800, 0x0806, 0x86dd, 0x8100, 0x05dc), rest: bytes(0, 30) })
    .map((l) => ({
      ethertype: l.length,
      payload: l.snap ? concat(Uint8Array.of(0xaa, 0xaa, 0x03, 0, 0, l.oui), be16(l.type), l.rest) : concat(Uint8Array.of(0x42, 0x42, 0x03), l.rest),
    })),
  fc.record({ ethertype: fc.oneof(u16, fc.constantFrom(0x88cc, 0x8100, 0x88a8, 0x0800, 0x86dd, 0x8847)), payload: bytes(0, 40) }),
);

/** What happens to a frame after it is built. */
const damage = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cut' as const), keep: fc.integer({ min: 1, max: 99 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pad' as const), n: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('byte' as const), at: fc.integer({ min: 12, max: 80 }), value: u8 }) },
);

/** A frame: Ethernet (tags, ethertype, payload) built whole, then maybe damaged; or random bytes. */
export const arbFrame: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 12, arbitrary: fc
    .record({ dst: mac, src: mac, vlans: fc.oneof({ weight: 6, arbitrary: fc.constant<VlanTag[]>([]) }, { weight: 3, arbitrary: fc.array(vlan, { minLength: 1, maxLength: 3 }) }), l3, damage })
    .map(({ dst, src, vlans, l3: { ethertype, payload }, damage: d }) => {
      const frame = emitEthernet({ dst, src, vlans, ethertype }, payload);
      switch (d.kind) {
        case 'cut':
          return frame.subarray(0, Math.floor((frame.length * d.keep) / 100));
        case 'pad':
          return concat(frame, new Uint8Array(d.n));
        case 'byte':
          if (d.at < frame.length) frame[d.at] = d.value;
          return frame;
        default:
          return frame;
      }
    }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 70 }).chain((n) => bytes(n, n)) },
);
