// Frames composed from flows (src/controller/packet/compose.ts) against two other implementations:
// - tshark reads every field back: for each kind of header the flow syntax can imply, flows with
//   values drawn at random (fixed seed) are composed, written to a pcap file and dissected, and each
//   field tshark reads must be the value the flow gave; every checksum tshark can check must be good,
//   and no frame may be malformed (but where Open vSwitch too composes less than tshark looks for:
//   ICMPv6 messages without their body, an MPLS stack with nothing after it).
// - Open vSwitch composes the same bytes: `ovs-ofctl compose-packet FLOW` (flow_compose()) for a
//   handful of flows, byte for byte, with nw_ttl=64 or mpls_ttl=64 added to what Open vSwitch is
//   given (tsof's TTLs are 64, since its flow syntax has no nw_ttl); SCTP's CRC32c, which Open
//   vSwitch leaves zero, is the one difference.
// Then what a frame cannot say gets an error that names the field and why.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeFlow } from '../../src/controller/packet/index.ts';
import { ipv6ToBytes, toHex } from '../../src/openflow/codec/index.ts';
import { arbIpv4, arbIpv6, arbMac } from '../support/arbitraries.ts';
import { pcapOfFrames } from '../support/pcap.ts';

const dir = mkdtempSync(join(tmpdir(), 'tsof-compose-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => {
  const r = spawnSync('bash', ['scripts/install-peers.sh', 'tshark', 'openvswitch-common'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`install-peers failed: ${r.stderr}`);
});

function compose(flow: string): Uint8Array {
  const r = composeFlow(flow);
  if (!r.ok) throw new Error(`${flow}: ${r.error}`);
  return r.value.frame;
}

// ---- tshark reads each field back ------------------------------------------------------------

type Kind = 'num' | 'mac' | 'ipv4' | 'ipv6';

/** A field of the flow syntax, the tshark field that reads it, and the values to try. */
interface Field {
  flow: string;
  tshark: string;
  kind: Kind;
  values: fc.Arbitrary<number | string>;
}

const uint = (bits: number) => fc.integer({ min: 0, max: 2 ** bits - 1 });
const field = (flow: string, tshark: string, kind: Kind, values: fc.Arbitrary<number | string>): Field => ({ flow, tshark, kind, values });
const n = (flow: string, tshark: string, bits: number) => field(flow, tshark, 'num', uint(bits));
const fixed = (flow: string, tshark: string, v: number) => field(flow, tshark, 'num', fc.constant(v));

const ETH = [field('dl_src', 'eth.src', 'mac', arbMac), field('dl_dst', 'eth.dst', 'mac', arbMac)];
const VLAN = [n('dl_vlan', 'vlan.id', 12), n('dl_vlan_pcp', 'vlan.priority', 3)];
const IPV4 = [field('nw_src', 'ip.src', 'ipv4', arbIpv4), field('nw_dst', 'ip.dst', 'ipv4', arbIpv4), n('ip_dscp', 'ip.dsfield.dscp', 6), n('nw_ecn', 'ip.dsfield.ecn', 2)];
const IPV6 = [
  field('ipv6_src', 'ipv6.src', 'ipv6', arbIpv6),
  field('ipv6_dst', 'ipv6.dst', 'ipv6', arbIpv6),
  n('ipv6_label', 'ipv6.flow', 20),
  n('ip_dscp', 'ipv6.tclass.dscp', 6),
  n('nw_ecn', 'ipv6.tclass.ecn', 2),
];
const ports = (l4: string) => [n('tp_src', `${l4}.srcport`, 16), n('tp_dst', `${l4}.dstport`, 16)];

/** A kind of frame: the shorthand that implies its headers, its fields, the checksums tshark must find good. */
interface Shape {
  flow: string;
  fields: Field[];
  checksums: string[];
  /**
   * What Open vSwitch composes short of what tshark looks for: ICMPv6 errors, MLD and router advertisements
   * without their body, an MPLS stack with nothing after it.
   */
  malformedOk?: boolean;
}

const SHAPES: Shape[] = [
  { flow: 'tcp', fields: [...ETH, ...IPV4, ...ports('tcp')], checksums: ['ip', 'tcp'] },
  { flow: 'udp', fields: [...ETH, ...VLAN, ...IPV4, ...ports('udp')], checksums: ['ip', 'udp'] },
  { flow: 'sctp', fields: [...IPV4, ...ports('sctp')], checksums: ['ip', 'sctp'] },
  { flow: 'icmp', fields: [...IPV4, n('icmp_type', 'icmp.type', 8), n('icmp_code', 'icmp.code', 8)], checksums: ['ip', 'icmp'] },
  { flow: 'ip', fields: [...ETH, ...VLAN, ...IPV4, field('nw_proto', 'ip.proto', 'num', fc.constantFrom(0, 2, 41, 47, 89, 255))], checksums: ['ip'] },
  { flow: 'tcp6', fields: [...ETH, ...IPV6, ...ports('tcp')], checksums: ['tcp'] },
  { flow: 'udp6', fields: [...VLAN, ...IPV6, ...ports('udp')], checksums: ['udp'] },
  { flow: 'sctp6', fields: [...IPV6, ...ports('sctp')], checksums: ['sctp'] },
  {
    flow: 'icmp6',
    fields: [...IPV6, field('icmpv6_type', 'icmpv6.type', 'num', fc.constantFrom(128, 129, 133)), n('icmpv6_code', 'icmpv6.code', 8)],
    checksums: ['icmpv6'],
  },
  { flow: 'icmp6', fields: [...IPV6, n('icmpv6_type', 'icmpv6.type', 8), n('icmpv6_code', 'icmpv6.code', 8)], checksums: ['icmpv6'], malformedOk: true },
  {
    flow: 'icmp6',
    fields: [
      ...IPV6,
      fixed('icmpv6_type', 'icmpv6.type', 135),
      field('nd_target', 'icmpv6.nd.ns.target_address', 'ipv6', arbIpv6),
      field('nd_sll', 'icmpv6.opt.linkaddr', 'mac', arbMac.filter((m) => m !== '00:00:00:00:00:00')),
    ],
    checksums: ['icmpv6'],
  },
  {
    flow: 'icmp6',
    fields: [
      ...IPV6,
      fixed('icmpv6_type', 'icmpv6.type', 136),
      field('nd_target', 'icmpv6.nd.na.target_address', 'ipv6', arbIpv6),
      field('nd_tll', 'icmpv6.opt.linkaddr', 'mac', arbMac.filter((m) => m !== '00:00:00:00:00:00')),
    ],
    checksums: ['icmpv6'],
  },
  {
    flow: 'arp',
    fields: [
      ...ETH,
      ...VLAN,
      n('arp_op', 'arp.opcode', 16),
      field('arp_spa', 'arp.src.proto_ipv4', 'ipv4', arbIpv4),
      field('arp_tpa', 'arp.dst.proto_ipv4', 'ipv4', arbIpv4),
      field('arp_sha', 'arp.src.hw_mac', 'mac', arbMac),
      field('arp_tha', 'arp.dst.hw_mac', 'mac', arbMac),
    ],
    checksums: [],
  },
  {
    flow: 'mpls',
    fields: [...ETH, n('mpls_label', 'mpls.label', 20), n('mpls_tc', 'mpls.exp', 3), n('mpls_bos', 'mpls.bottom', 1)],
    checksums: [],
    malformedOk: true,
  },
  {
    flow: 'mplsm',
    fields: [n('mpls_label', 'mpls.label', 20), n('mpls_tc', 'mpls.exp', 3), fixed('mpls_bos', 'mpls.bottom', 1)],
    checksums: [],
    malformedOk: true,
  },
  { flow: 'dl_type=0x88e7', fields: [...ETH, n('pbb_isid', 'ieee8021ah.isid', 24)], checksums: [] },
];

/** A value as one text, whichever tool wrote it. */
function norm(kind: Kind, s: string): string {
  if (kind === 'num') return String(Number(s));
  if (kind === 'ipv6') return toHex(ipv6ToBytes(s));
  return s.toLowerCase();
}

const CHECKSUMS = ['ip', 'tcp', 'udp', 'sctp', 'icmp', 'icmpv6'];
const EXPERT_ERROR = 0x800000; // Wireshark's PI_ERROR

describe('composed frames, read back by tshark', () => {
  const cases = SHAPES.flatMap((shape, i) =>
    fc.sample(fc.tuple(...shape.fields.map((f) => f.values)), { seed: 1207 + i, numRuns: 8 }).map((values) => ({
      shape,
      flow: [shape.flow, ...shape.fields.map((f, j) => `${f.flow}=${values[j]}`)].join(','),
      values,
    })),
  );
  const fields = [...new Set(SHAPES.flatMap((s) => s.fields.map((f) => f.tshark)))];
  const columns = [...fields, ...CHECKSUMS.map((c) => `${c}.checksum.status`), '_ws.malformed', '_ws.expert.severity', '_ws.expert.message'];

  it(`reads the ${cases.length} flows' every field, with good checksums`, () => {
    const file = join(dir, 'composed.pcap');
    writeFileSync(file, pcapOfFrames(cases.map((c) => compose(c.flow))));
    const checks = ['ip.check_checksum:TRUE', 'tcp.check_checksum:TRUE', 'udp.check_checksum:TRUE', 'sctp.checksum:CRC-32C'];
    const args = ['-r', file, ...checks.flatMap((o) => ['-o', o]), '-T', 'fields', ...columns.flatMap((f) => ['-e', f])];
    const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 26 });
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.trimEnd().split('\n').map((line) => line.split('\t'));
    expect(rows).toHaveLength(cases.length);
    const wrong: string[] = [];
    rows.forEach((row, i) => {
      const { shape, flow, values } = cases[i];
      const get = (column: string) => row[columns.indexOf(column)];
      shape.fields.forEach((f, j) => {
        // The first occurrence: an MPLS stack's top entry.
        const got = get(f.tshark).split(',')[0];
        if (!got || norm(f.kind, got) !== norm(f.kind, String(values[j]))) wrong.push(`${flow}: ${f.tshark} is "${got}", not ${values[j]}`);
      });
      for (const c of CHECKSUMS) {
        // 1: good. The checksum of each header the frame has is checked and good; no other is there.
        const status = get(`${c}.checksum.status`);
        if (status !== (shape.checksums.includes(c) ? '1' : '')) wrong.push(`${flow}: ${c} checksum status "${status}"`);
      }
      const errors = get('_ws.expert.severity').split(',').some((s) => Number(s) >= EXPERT_ERROR);
      if (!shape.malformedOk && (get('_ws.malformed') || errors)) wrong.push(`${flow}: ${get('_ws.expert.message')}`);
    });
    expect(wrong).toEqual([]);
  });
});

// ---- Open vSwitch composes the same bytes -----------------------------------------------------

/**
 * The bytes of ovs-ofctl's hex dump: offset, then up to 16 bytes, the eighth and ninth joined by '-'.
 * ovs-ofctl 3.1 exits 1 after the dump when its own flow_extract() of the packet differs from the flow
 * (it counts in_port, which no packet has, and fields of its own no flow syntax sets), so the dump is
 * what counts.
 */
function ovsCompose(flow: string): string {
  const r = spawnSync('ovs-ofctl', ['compose-packet', flow], { encoding: 'utf8' });
  const hex = r.stdout
    .split('\n')
    .filter((l) => /^[0-9a-f]{8} {2}/.test(l))
    .map((l) => l.slice(10, 57).replace(/[ -]/g, ''))
    .join('');
  if (!hex) throw new Error(`ovs-ofctl compose-packet ${flow}: ${r.stderr}${r.stdout}`);
  return hex;
}

describe('composed frames, against ovs-ofctl compose-packet', () => {
  const TTL = ',nw_ttl=64';
  const CASES: [flow: string, ovsExtra: string][] = [
    ['tcp,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=40000,tp_dst=80', TTL],
    ['udp,dl_vlan=10,dl_vlan_pcp=3,nw_tos=184,nw_ecn=1,udp_src=5353,udp_dst=53', TTL],
    ['icmp,icmp_type=8,nw_src=192.168.1.1,nw_dst=192.168.1.2', TTL],
    ['icmp,icmp_type=3,icmp_code=1', TTL],
    ['ip,nw_proto=47,nw_src=10.1.1.1', TTL],
    ['arp,arp_op=1,arp_spa=10.0.0.1,arp_tpa=10.0.0.2,arp_sha=02:00:00:00:00:01', ''],
    ['arp,arp_op=2,arp_spa=10.0.0.2,arp_tpa=10.0.0.1,arp_sha=02:00:00:00:00:02,arp_tha=02:00:00:00:00:01,dl_vlan=7', ''],
    ['udp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,ipv6_label=0x12345,udp_src=546,udp_dst=547', TTL],
    ['tcp6,ipv6_src=fe80::1,ip_dscp=46,tp_dst=22', TTL],
    ['icmp6,icmpv6_type=128,ipv6_dst=ff02::1', TTL],
    ['icmp6,icmpv6_type=135,ipv6_src=2001:db8::1,nd_target=2001:db8::2,nd_sll=02:00:00:00:00:01', TTL],
    ['icmp6,icmpv6_type=136,nd_target=2001:db8::2,nd_tll=02:00:00:00:00:02', TTL],
    ['mpls,mpls_label=100,mpls_tc=5,mpls_bos=1', ',mpls_ttl=64'],
    ['mpls,mpls_label=100', ',mpls_ttl=64'],
    ['dl_type=0x1234,dl_src=02:00:00:00:00:01', ''],
    ['dl_dst=ff:ff:ff:ff:ff:ff', ''],
  ];

  it.each(CASES)('%s', (flow, extra) => {
    expect(toHex(compose(flow))).toBe(ovsCompose(flow + extra));
  });

  it("differs from Open vSwitch's SCTP only in the CRC32c it leaves zero", () => {
    const flow = 'sctp,nw_src=10.0.0.1,sctp_src=5000,sctp_dst=5001';
    const ours = toHex(compose(flow));
    const theirs = ovsCompose(flow + TTL);
    expect(theirs.slice(-8)).toBe('00000000');
    expect(ours.slice(0, -8)).toBe(theirs.slice(0, -8));
    expect(ours.slice(-8)).not.toBe('00000000');
  });
});

// ---- what a frame cannot say ------------------------------------------------------------------

describe('flows that make no frame', () => {
  it.each([
    ['tcp,nw_srcc=10.0.0.1', 'unknown field "nw_srcc" at 4'],
    ['tcp,nw_src=10.0.0.256', 'bad value for ipv4_src "10.0.0.256" at 11: expected an IPv4 address'],
    ['tcp,reg0=1', 'unknown field "reg0" at 4: an Open vSwitch field, with no OpenFlow 1.3 match field to say it'],
    ['ip,nw_ttl=5', 'unknown field "nw_ttl" at 3: an Open vSwitch field'],
    ['tcp,nw_src=10.0.0.0/8', 'ipv4_src (nw_src) is masked: a frame has one value'],
    ['tp_dst=80', 'tcp_dst (tp_dst) needs ip_proto=6 in the flow'],
    ['arp_op=1', 'arp_op (nw_proto) needs eth_type=0x0806 in the flow'],
    ['icmp6,nd_sll=02:00:00:00:00:01', 'ipv6_nd_sll (nd_sll) needs icmpv6_type=135 in the flow'],
    ['tcp,metadata=0x5', 'metadata is pipeline state, not in a frame'],
    ['tcp,tun_id=7', 'tun_id is the tunnel a frame came in on'],
    ['in_port=1,in_phy_port=2,tcp', 'in_phy_port differs from in_port'],
    ['ipv6,ipv6_exthdr=0x40', 'ipv6_exthdr other than 0'],
  ])('%s', (flow, error) => {
    const r = composeFlow(flow);
    expect(r.ok ? 'composed' : r.error).toContain(error);
  });

  it('gives in_port back beside the frame, and takes what a walk starts with anyway', () => {
    const r = composeFlow('in_port=7,in_phy_port=7,metadata=0,tun_id=0,tcp');
    expect(r.ok && r.value.inPort).toBe(7);
    expect(r.ok && toHex(r.value.frame)).toBe(toHex(compose('tcp')));
    const none = composeFlow('tcp');
    expect(none.ok && 'inPort' in none.value).toBe(false);
  });
});
