// Offloads through memory ports: frames that arrive with a virtio-net header
// (partial checksum, GSO) as a veth with offloads on delivers them. To a port
// that takes plain frames they must come out finished (checksums complete, GSO
// frames cut into segments) exactly as the packet library builds the same
// segments; to a vnet port they pass unchanged with their header.

import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pseudoHeaderSum } from '../../src/controller/packet/bytes.ts';
import { buildPacket, TCP_FLAG, type VlanTag } from '../../src/controller/packet/index.ts';
import { VNET_F, VNET_GSO, type VnetHeader } from '../../src/datapath/index.ts';
import { TestDatapath } from '../../src/datapath/testing.ts';
import { addFlow, apply, H1, H2, output, patch, takeN, toController, until, upcalls } from '../support/datapath.ts';

const V4 = { src: '198.51.100.1', dst: '198.51.100.2' };
const V6 = { src: '2001:db8::1', dst: '2001:db8::2' };
const TCP_CSUM = 16;
const UDP_CSUM = 6;

interface Flow {
  v6: boolean;
  udp: boolean;
  vlan?: VlanTag;
  ident: number;
  seq: number;
  flags: number;
}

/** The frame for one segment (or the whole payload), checksums complete. */
function frame(f: Flow, payload: Uint8Array, i = 0, mss = 0): Uint8Array {
  return buildPacket({
    eth: { dst: H2, src: H1, vlans: f.vlan ? [f.vlan] : [] },
    ...(f.v6 ? { ipv6: { ...V6 } } : { ipv4: { ...V4, ident: (f.ident + i) & 0xffff } }),
    ...(f.udp
      ? { udp: { srcPort: 4000, dstPort: 5000 } }
      : { tcp: { srcPort: 4000, dstPort: 5000, seq: (f.seq + i * mss) >>> 0, ack: 1, flags: f.flags } }),
    payload,
  });
}

const l4Offset = (f: Flow) => 14 + (f.vlan ? 4 : 0) + (f.v6 ? 40 : 20);

/** The frame as the kernel hands it over with a partial checksum: the field holds the pseudo-header sum. */
function partial(f: Flow, payload: Uint8Array): [Uint8Array, VnetHeader] {
  const b = frame(f, payload);
  const l4 = l4Offset(f);
  const field = l4 + (f.udp ? UDP_CSUM : TCP_CSUM);
  let sum = pseudoHeaderSum(f.v6 ? V6 : V4, f.udp ? 17 : 6, b.length - l4);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  b[field] = sum >> 8;
  b[field + 1] = sum & 0xff;
  return [b, { flags: VNET_F.NEEDS_CSUM, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: l4, csumOffset: field - l4 }];
}

/** A GSO frame of payload to be cut in mss pieces, and the segments that must come out. */
function gso(f: Flow, payload: Uint8Array, mss: number): { input: [Uint8Array, VnetHeader]; segments: Uint8Array[] } {
  const [b, vnet] = partial(f, payload);
  const gsoType = f.udp ? VNET_GSO.UDP_L4 : f.v6 ? VNET_GSO.TCPV6 : VNET_GSO.TCPV4;
  const n = Math.max(1, Math.ceil(payload.length / mss));
  const segments = Array.from({ length: n }, (_, i) => {
    const last = i === n - 1;
    const flags = f.flags & ~(last ? 0 : TCP_FLAG.FIN | TCP_FLAG.PSH) & ~(i === 0 ? 0 : TCP_FLAG.CWR);
    return frame({ ...f, flags }, payload.subarray(i * mss, (i + 1) * mss), i, mss);
  });
  return { input: [b, { ...vnet, gsoType, gsoSize: mss, hdrLen: l4Offset(f) + (f.udp ? 8 : 20) }], segments };
}

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const tcp4: Flow = { v6: false, udp: false, ident: 0xfffe, seq: 0xfffff000, flags: TCP_FLAG.ACK | TCP_FLAG.PSH | TCP_FLAG.FIN | TCP_FLAG.CWR };

let dp: TestDatapath;
beforeEach(() => {
  dp = new TestDatapath();
  dp.addPort({ kind: 'memory', port: 1 });
  dp.addPort({ kind: 'memory', port: 2 });
  dp.addPort({ kind: 'memory', port: 3, vnet: true });
  patch(dp, 1, 2);
});
afterEach(() => dp.close());

describe('partial checksums', () => {
  for (const f of [tcp4, { ...tcp4, udp: true }, { ...tcp4, v6: true, vlan: { tpid: 0x88a8, pcp: 5, dei: 1, vid: 4000 } }]) {
    it(`are completed for a plain port (${f.v6 ? 'IPv6' : 'IPv4'} ${f.udp ? 'UDP' : 'TCP'}${f.vlan ? ', tagged' : ''})`, async () => {
      const payload = bytes(999);
      dp.inject(1, ...partial(f, payload));
      const [out] = await takeN(dp, 2, 1);
      expect(out.data).toEqual(frame(f, payload));
    });
  }

  it('pass unchanged, header and all, to a vnet port', async () => {
    patch(dp, 1, 3);
    const [b, vnet] = partial(tcp4, bytes(100));
    dp.inject(1, b, vnet);
    const [out] = await takeN(dp, 3, 1);
    expect(out).toEqual({ data: b, vnet });
  });
});

describe('through pipeline actions', () => {
  // push_vlan + set vlan_vid, then output to a plain port and to a vnet port: the plain one gets the frame
  // finished on a copy, the vnet one the partial frame with csum_start (and hdr_len) moved by the tag.
  const tagged = { ...tcp4, vlan: { tpid: 0x8100, pcp: 0, dei: 0, vid: 42 } };
  beforeEach(() =>
    addFlow(dp, [{ field: 'in_port', value: 1 }], apply(
      { type: 'push_vlan', ethertype: 0x8100 },
      { type: 'set_field', field: { field: 'vlan_vid', value: 0x1000 | 42 } },
      output(2),
      output(3),
    )),
  );

  it('keep a partial checksum right for both kinds of port', async () => {
    const payload = bytes(700);
    dp.inject(1, ...partial(tcp4, payload));
    expect((await takeN(dp, 2, 1))[0].data).toEqual(frame(tagged, payload));
    const [b, vnet] = partial(tagged, payload);
    expect(await takeN(dp, 3, 1)).toEqual([{ data: b, vnet }]);
  });

  it('segment a GSO frame after the push for a plain port, and pass it whole to a vnet port', async () => {
    const payload = bytes(5000);
    dp.inject(1, ...gso(tcp4, payload, 1448).input);
    const { input, segments } = gso(tagged, payload, 1448);
    expect((await takeN(dp, 2, segments.length)).map((o) => o.data)).toEqual(segments);
    expect(await takeN(dp, 3, 1)).toEqual([{ data: input[0], vnet: input[1] }]);
  });
});

describe('GSO frames', () => {
  const cases: [string, Flow, number, number][] = [
    ['TCPv4, sequence and IPv4 id wrapping', tcp4, 10_000, 1448],
    ['TCPv6 with a VLAN tag', { ...tcp4, v6: true, vlan: { tpid: 0x8100, pcp: 3, dei: 0, vid: 100 } }, 6000, 1440],
    ['UDP_L4 over IPv4', { ...tcp4, udp: true }, 4000, 1000],
    ['UDP_L4 over IPv6', { ...tcp4, udp: true, v6: true }, 3001, 1000],
    ['TCPv4 that fits one segment', tcp4, 500, 1448],
  ];
  for (const [name, f, len, mss] of cases) {
    it(`are segmented for a plain port: ${name}`, async () => {
      const { input, segments } = gso(f, bytes(len), mss);
      dp.inject(1, ...input);
      const out = await takeN(dp, 2, segments.length);
      expect(out.map((o) => o.data)).toEqual(segments);
      expect(dp.stats().offloadErrors).toBe(0n);
    });
  }

  it('pass whole, with their header, to a vnet port', async () => {
    patch(dp, 1, 3);
    const { input } = gso(tcp4, bytes(20_000), 1448);
    dp.inject(1, ...input);
    expect(await takeN(dp, 3, 1)).toEqual([{ data: input[0], vnet: input[1] }]);
  });

  it('are segmented before they go up to JavaScript', async () => {
    const batches = upcalls(dp);
    toController(dp, 1);
    const { input, segments } = gso(tcp4, bytes(5000), 1000);
    dp.inject(1, ...input);
    await until(() => batches.flat().length === segments.length, 'segments upcalled');
    expect(batches.flat().map((p) => p.data)).toEqual(segments);
  });

  it('match the packet library for any payload, segment size, flags, tag and IP version', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          v6: fc.boolean(),
          udp: fc.boolean(),
          vlan: fc.option(fc.record({ tpid: fc.constantFrom(0x8100, 0x88a8), pcp: fc.nat(7), dei: fc.nat(1), vid: fc.nat(4095) }), { nil: undefined }),
          ident: fc.nat(0xffff),
          seq: fc.nat(0xffffffff),
          flags: fc.nat(0xff),
        }),
        fc.integer({ min: 0, max: 20_000 }),
        fc.integer({ min: 80, max: 9000 }),
        async (f, len, mss) => {
          const { input, segments } = gso(f, bytes(len, len), mss);
          dp.inject(1, ...input);
          const out = await takeN(dp, 2, segments.length);
          expect(out.map((o) => o.data)).toEqual(segments);
        },
      ),
      {
        numRuns: 60,
        // A later TCP segment whose checksum computes to 0: TCP sends 0, only UDP sends 0xffff.
        examples: [[{ v6: false, udp: false, vlan: undefined, ident: 0, seq: 4294836197, flags: 192 }, 17950, 88]],
      },
    );
    expect(dp.stats().offloadErrors).toBe(0n);
  });
});

describe('bad offload metadata', () => {
  const bad: [string, (v: VnetHeader) => VnetHeader][] = [
    ['csum_start past the end', (v) => ({ ...v, gsoType: 0, csumStart: 2000 })],
    ['the checksum field past the end', (v) => ({ ...v, gsoType: 0, csumOffset: 1100 })],
    ['UFO, which no kernel produces', (v) => ({ ...v, gsoType: VNET_GSO.UDP })],
    ['a TCPv6 type on an IPv4 frame', (v) => ({ ...v, gsoType: VNET_GSO.TCPV6 })],
    ['GSO without a partial checksum', (v) => ({ ...v, flags: 0 })],
    ['segment size 0', (v) => ({ ...v, gsoSize: 0 })],
    ['more segments than the datapath finishes in software', (v) => ({ ...v, gsoSize: 3 })],
    ['csum_start inside the IP header', (v) => ({ ...v, csumStart: 20 })],
  ];
  for (const [name, spoil] of bad) {
    it(`is counted and the frame dropped, never read past: ${name}`, async () => {
      const { input } = gso(tcp4, bytes(1000), 100);
      dp.inject(1, input[0], spoil(input[1]));
      await until(() => dp.stats().offloadErrors === 1n, 'offload error counted');
      expect(dp.take(2)).toEqual([]);
    });
  }
});
