// The OpenFlow pipeline on the datapath thread, end to end through memory
// ports: flow, group, meter and packet-out messages built with the codec
// (every group type and meter band), frames in and expected frames out built
// with the controller's packet library (its own checksums), compared byte for
// byte. The pipeline's full behaviour is tested
// in C (native/test/test_pipeline.c); this checks the wiring: messages in,
// frames and packet-ins out, errors back.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PACKET_IN_REASON } from '../../src/datapath/index.ts';
import { TestDatapath, type OutFrame } from '../../src/datapath/testing.ts';
import { decodeMessage, encodeMessage, OFPP, type Action, type Oxm } from '../../src/openflow/codec/index.ts';
import {
  addFlow,
  apply,
  flowMod,
  H1,
  H2,
  NO_BUFFER,
  numbered,
  numberOf,
  output,
  portMod,
  takeN,
  until,
  upcalls,
} from '../support/datapath.ts';

let dp: TestDatapath;
beforeEach(() => {
  dp = new TestDatapath();
  for (const port of [1, 2, 3]) dp.addPort({ kind: 'memory', port });
});
afterEach(() => dp.close());

const udp = (udpDst = 5000): Oxm[] => [
  { field: 'eth_type', value: 0x0800 },
  { field: 'ip_proto', value: 17 },
  { field: 'udp_dst', value: udpDst },
];
const setField = (field: Oxm): Action => ({ type: 'set_field', field });
const TAG = { tpid: 0x8100, pcp: 0, dei: 0, vid: 42 };

describe('flows', () => {
  it('forward what matches in_port and L2-L4 fields; the rest misses the table', async () => {
    addFlow(dp, [{ field: 'in_port', value: 1 }, { field: 'eth_dst', value: '02:00:00:00:00:02' }, ...udp()], apply(output(2)));
    dp.inject(1, numbered(1));
    dp.inject(1, numbered(2, 64, { udp: { srcPort: 4000, dstPort: 5001 } }));
    dp.inject(2, numbered(3));
    const [out] = await takeN(dp, 2, 1);
    expect(out.data).toEqual(numbered(1));
    await until(() => dp.stats().tableMisses === 2n, 'two misses');
    expect(dp.take(2)).toEqual([]);
    expect(dp.tableStats(0)).toEqual({ activeCount: 1, lookupCount: 3n, matchedCount: 1n });
  });

  it('set IPv4 and UDP fields with their checksums', async () => {
    addFlow(dp, udp(), apply(setField({ field: 'ipv4_src', value: '10.1.2.3' }), setField({ field: 'udp_src', value: 999 }), output(2)));
    dp.inject(1, numbered(7));
    const [out] = await takeN(dp, 2, 1);
    expect(out.data).toEqual(numbered(7, 64, { ipv4: { src: '10.1.2.3', dst: '192.0.2.2' }, udp: { srcPort: 999, dstPort: 5000 } }));
  });

  it('push a VLAN tag and set its VID; pop it on the way back', async () => {
    addFlow(dp, [{ field: 'in_port', value: 1 }], apply({ type: 'push_vlan', ethertype: 0x8100 }, setField({ field: 'vlan_vid', value: 0x1000 | 42 }), output(2)));
    addFlow(dp, [{ field: 'in_port', value: 2 }, { field: 'vlan_vid', value: 0x1000 | 42 }], apply({ type: 'pop_vlan' }, output(1)));
    const tagged = numbered(1, 64, { eth: { dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', vlans: [TAG] } });
    dp.inject(1, numbered(1));
    expect((await takeN(dp, 2, 1))[0].data).toEqual(tagged);
    dp.inject(2, tagged);
    expect((await takeN(dp, 1, 1))[0].data).toEqual(numbered(1));
  });

  it('flood to every port but the ingress one, and send back with IN_PORT', async () => {
    addFlow(dp, [{ field: 'in_port', value: 1 }], apply(output(OFPP.FLOOD)));
    addFlow(dp, [{ field: 'in_port', value: 2 }], apply(output(OFPP.IN_PORT)));
    dp.inject(1, numbered(1));
    dp.inject(2, numbered(2));
    expect((await takeN(dp, 2, 2)).map((f) => f.data)).toEqual([numbered(1), numbered(2)]);
    expect((await takeN(dp, 3, 1)).map((f) => f.data)).toEqual([numbered(1)]);
    expect(dp.take(1)).toEqual([]);
  });

  it('return the OpenFlow error of a refused flow mod, and leave the table as it was; no buffers', () => {
    // OFPP_ANY is no port to output to: OFPET_BAD_ACTION, OFPBAC_BAD_OUT_PORT.
    expect(dp.flowMod(flowMod([], apply(output(OFPP.ANY))))).toEqual({ type: 2, code: 4 });
    // goto-table backwards: OFPET_BAD_INSTRUCTION, OFPBIC_BAD_TABLE_ID.
    expect(dp.flowMod(flowMod([], [{ type: 'goto_table', tableId: 0 }], { tableId: 3 }))).toEqual({ type: 3, code: 2 });
    // A truncated message: OFPET_BAD_REQUEST, OFPBRC_BAD_LEN.
    expect(dp.flowMod(flowMod([], apply(output(2))).subarray(0, 40))).toEqual({ type: 1, code: 6 });
    expect(dp.tableStats(0).activeCount).toBe(0);
    // No packet buffers: the flow goes in, and the answer is OFPET_BAD_REQUEST, OFPBRC_BUFFER_UNKNOWN.
    expect(dp.flowMod(flowMod([], apply(output(2)), { bufferId: 5 }))).toEqual({ type: 1, code: 8 });
    expect(dp.tableStats(0).activeCount).toBe(1);
  });
});

describe('NORMAL', () => {
  it('is a learning switch: two hosts find each other after one flood', async () => {
    addFlow(dp, [], apply(output(OFPP.NORMAL)));
    const reply = (n: number) => numbered(n, 64, { eth: { dst: H1, src: H2 }, ipv4: { src: '192.0.2.2', dst: '192.0.2.1' } });
    const outputs = async (n: bigint) => until(() => dp.stats().outputs === n, `${n} outputs`);
    // H2 unknown: flooded to 2 and 3; H1 is learned on 1.
    dp.inject(1, numbered(1));
    expect((await takeN(dp, 2, 1))[0].data).toEqual(numbered(1));
    expect((await takeN(dp, 3, 1))[0].data).toEqual(numbered(1));
    // H2 answers from 2: straight to 1, and is learned on 2.
    dp.inject(2, reply(2));
    expect((await takeN(dp, 1, 1))[0].data).toEqual(reply(2));
    await outputs(3n);
    expect(dp.take(3)).toEqual([]);
    // From now on H1 and H2 talk on their ports only, a packet-out's NORMAL too.
    dp.inject(1, numbered(3));
    expect((await takeN(dp, 2, 1))[0].data).toEqual(numbered(3));
    const packetOut = encodeMessage({ type: 'packet_out', xid: 3, bufferId: NO_BUFFER, inPort: OFPP.CONTROLLER, actions: [output(OFPP.NORMAL)], data: reply(4) });
    expect(dp.executePacketOut(packetOut)).toBeNull();
    expect((await takeN(dp, 1, 1))[0].data).toEqual(reply(4));
    await outputs(5n);
    expect([dp.take(1), dp.take(2), dp.take(3)]).toEqual([[], [], []]);
  });
});

describe('flow statistics', () => {
  it('report the flows a request selects, with their counters, as ofp_flow_stats the codec decodes', async () => {
    addFlow(dp, [{ field: 'in_port', value: 1 }], apply(output(2)), { cookie: 0x11n });
    addFlow(dp, [{ field: 'in_port', value: 2 }], apply(output(1)), { cookie: 0x22n, priority: 7, idleTimeout: 30 });
    dp.inject(1, numbered(1));
    dp.inject(1, numbered(2, 100));
    await takeN(dp, 2, 2);
    const request = (cookie: bigint, cookieMask: bigint) =>
      encodeMessage({ type: 'flow_stats_request', xid: 4, flags: 0, tableId: 0xff, outPort: OFPP.ANY, outGroup: 0xffffffff, cookie, cookieMask, match: [] });
    const reply = (body: Uint8Array) => {
      // The body under a multipart reply header (OFPT_MULTIPART_REPLY, OFPMP_FLOW), as the agent sends it.
      const msg = new Uint8Array(16 + body.length);
      const v = new DataView(msg.buffer);
      v.setUint8(0, 4);
      v.setUint8(1, 19);
      v.setUint16(2, msg.length);
      v.setUint32(4, 4);
      v.setUint16(8, 1);
      msg.set(body, 16);
      const r = decodeMessage(msg);
      if (!r.ok || r.msg.type !== 'flow_stats_reply') throw new Error(`reply does not decode: ${JSON.stringify(r)}`);
      return r.msg.stats;
    };
    const one = dp.flowStats(request(0x11n, 0xffn));
    if (!one.ok) throw new Error('refused');
    expect(reply(one.body)).toMatchObject([
      { tableId: 0, priority: 100, cookie: 0x11n, packetCount: 2n, byteCount: 164n, match: [{ field: 'in_port', value: 1 }], instructions: apply(output(2)) },
    ]);
    const all = dp.flowStats(request(0n, 0n));
    if (!all.ok) throw new Error('refused');
    expect(reply(all.body).map((f) => [f.cookie, f.priority, f.idleTimeout, f.packetCount])).toEqual(
      expect.arrayContaining([[0x11n, 100, 0, 2n], [0x22n, 7, 30, 0n]]),
    );
    // A bad match in the request: OFPET_BAD_MATCH, OFPBMC_BAD_PREREQ (udp_dst without ip_proto).
    const bad = encodeMessage({ type: 'flow_stats_request', xid: 5, flags: 0, tableId: 0xff, outPort: OFPP.ANY, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n, match: [{ field: 'udp_dst', value: 1 }] });
    expect(dp.flowStats(bad)).toEqual({ ok: false, error: { type: 4, code: 9 } });
  });
});

describe('groups', () => {
  it('send a copy through every bucket of an all group, each with its own actions', async () => {
    const groupMod = encodeMessage({
      type: 'group_mod',
      xid: 2,
      command: 0,
      groupType: 0,
      groupId: 1,
      buckets: [
        { weight: 0, watchPort: OFPP.ANY, watchGroup: 0xffffffff, actions: [output(2)] },
        { weight: 0, watchPort: OFPP.ANY, watchGroup: 0xffffffff, actions: [setField({ field: 'ipv4_dst', value: '198.51.100.9' }), output(3)] },
      ],
    });
    expect(dp.groupMod(groupMod)).toBeNull();
    addFlow(dp, [{ field: 'in_port', value: 1 }], apply({ type: 'group', groupId: 1 }));
    dp.inject(1, numbered(5));
    expect((await takeN(dp, 2, 1))[0].data).toEqual(numbered(5));
    expect((await takeN(dp, 3, 1))[0].data).toEqual(numbered(5, 64, { ipv4: { src: '192.0.2.1', dst: '198.51.100.9' } }));
    // A flow naming a group that does not exist: OFPET_BAD_ACTION, OFPBAC_BAD_OUT_GROUP.
    expect(dp.flowMod(flowMod([{ field: 'in_port', value: 2 }], apply({ type: 'group', groupId: 9 })))).toEqual({ type: 2, code: 9 });
  });
});

describe('group types', () => {
  const bucket = (actions: Action[], more: { weight?: number; watchPort?: number } = {}) => ({
    weight: more.weight ?? 0,
    watchPort: more.watchPort ?? OFPP.ANY,
    watchGroup: 0xffffffff,
    actions,
  });
  const group = (groupType: number, buckets: ReturnType<typeof bucket>[]) =>
    dp.groupMod(encodeMessage({ type: 'group_mod', xid: 3, command: 0, groupType, groupId: 1, buckets }));
  const toGroup = () => addFlow(dp, [{ field: 'in_port', value: 1 }], apply({ type: 'group', groupId: 1 }));
  /** A frame of UDP flow n (its source port), numbered n. */
  const flowFrame = (n: number) => numbered(n, 64, { udp: { srcPort: 1000 + n, dstPort: 5000 } });

  it('select: each flow keeps to one bucket, and the flows use both', async () => {
    expect(group(1, [bucket([output(2)], { weight: 1 }), bucket([output(3)], { weight: 1 })])).toBeNull();
    toGroup();
    for (let round = 0; round < 2; round++) for (let n = 0; n < 32; n++) dp.inject(1, flowFrame(n));
    const out2: number[] = [];
    const out3: number[] = [];
    await until(() => {
      out2.push(...dp.take(2).map((f) => numberOf(f.data)));
      out3.push(...dp.take(3).map((f) => numberOf(f.data)));
      return out2.length + out3.length === 64;
    }, '64 frames out');
    expect(out2.length).toBeGreaterThan(0);
    expect(out3.length).toBeGreaterThan(0);
    expect(out2.filter((n) => out3.includes(n))).toEqual([]);
  });

  it('all, two buckets to one port: more outputs than a queue holds leave whole and in order', async () => {
    expect(group(0, [bucket([output(2)]), bucket([output(2)])])).toBeNull();
    toGroup();
    // Up to 64 frames per received batch, two outputs each: the port's queue fills before the batch ends.
    for (let n = 0; n < 1000; n++) expect(dp.inject(1, numbered(n))).toBe(true);
    const out = await takeN(dp, 2, 2000);
    expect(out.map((f) => numberOf(f.data))).toEqual(Array.from({ length: 2000 }, (_, i) => i >> 1));
  });

  it('indirect: its one bucket', async () => {
    expect(group(2, [bucket([setField({ field: 'ipv4_dst', value: '198.51.100.7' }), output(3)])])).toBeNull();
    toGroup();
    dp.inject(1, numbered(1));
    expect((await takeN(dp, 3, 1))[0].data).toEqual(numbered(1, 64, { ipv4: { src: '192.0.2.1', dst: '198.51.100.7' } }));
  });

  it('fast-failover: the first live bucket, by the watched port', async () => {
    expect(group(3, [bucket([output(2)], { watchPort: 2 }), bucket([output(3)], { watchPort: 3 })])).toBeNull();
    toGroup();
    dp.inject(1, numbered(1));
    expect(numberOf((await takeN(dp, 2, 1))[0].data)).toBe(1);
    expect(portMod(dp, 2, 1, 1)).toBeNull(); // OFPPC_PORT_DOWN: bucket 1 is not live
    dp.inject(1, numbered(2));
    expect(numberOf((await takeN(dp, 3, 1))[0].data)).toBe(2);
    expect(portMod(dp, 2, 0, 1)).toBeNull();
    dp.inject(1, numbered(3));
    expect(numberOf((await takeN(dp, 2, 1))[0].data)).toBe(3);
    expect(dp.take(3)).toHaveLength(0);
  });
});

describe('meter bands', () => {
  const PKTPS = 2;
  const BURST = 4;
  const meter = (band: { type: 'drop'; rate: number; burstSize: number } | { type: 'dscp_remark'; rate: number; burstSize: number; precLevel: number }) =>
    dp.meterMod(encodeMessage({ type: 'meter_mod', xid: 4, command: 0, flags: PKTPS | BURST, meterId: 1, bands: [band] }));
  const metered = () => addFlow(dp, [{ field: 'in_port', value: 1 }], [{ type: 'meter', meterId: 1 }, ...apply(output(2))]);
  const AF11 = 10;

  it('drop: a burst of 10 packets at 10 packets/s lets about 10 of 100 back-to-back frames through', async () => {
    expect(meter({ type: 'drop', rate: 10, burstSize: 10 })).toBeNull();
    metered();
    for (let n = 0; n < 100; n++) dp.inject(1, numbered(n));
    const out: OutFrame[] = [];
    await until(() => (out.push(...dp.take(2)), BigInt(out.length) + dp.stats().meterDrops === 100n), 'every frame out or dropped');
    expect(out.length).toBeGreaterThanOrEqual(10);
    expect(out.length).toBeLessThan(20); // the bucket refills by 10/s while the frames run
  });

  it('dscp_remark: the frames beyond the rate go on with AF11 raised to AF12', async () => {
    expect(meter({ type: 'dscp_remark', rate: 10, burstSize: 10, precLevel: 1 })).toBeNull();
    metered();
    const frame = (n: number, dscp: number) => numbered(n, 64, { ipv4: { src: '192.0.2.1', dst: '192.0.2.2', dscp } });
    for (let n = 0; n < 100; n++) dp.inject(1, frame(n, AF11));
    const out = await takeN(dp, 2, 100);
    const remarked = out.filter((f) => f.data.toString() === frame(numberOf(f.data), 12).toString());
    const kept = out.filter((f) => f.data.toString() === frame(numberOf(f.data), AF11).toString());
    expect(kept.length).toBeGreaterThanOrEqual(10);
    expect(kept.length + remarked.length).toBe(100);
    expect(remarked.length).toBeGreaterThan(80);
  });
});

describe('packet-ins', () => {
  it('come from a table-miss flow with reason NO_MATCH, its cookie and table, truncated to max_len', async () => {
    const batches = upcalls(dp);
    addFlow(dp, [], [{ type: 'goto_table', tableId: 4 }], { priority: 0 });
    addFlow(dp, [], apply(output(OFPP.CONTROLLER, 32)), { priority: 0, tableId: 4, cookie: 0xabcdn });
    dp.inject(2, numbered(9, 80));
    await until(() => batches.flat().length === 1, 'a packet-in');
    const [pin] = batches.flat();
    expect(pin).toMatchObject({ inPort: 2, reason: PACKET_IN_REASON.NO_MATCH, tableId: 4, cookie: 0xabcdn, totalLen: 80, inPhyPort: 2 });
    expect(pin.data).toEqual(numbered(9, 80).subarray(0, 32));
  });

  it('come from a TTL decrement that finds TTL 1, with reason INVALID_TTL, and the frame goes nowhere else', async () => {
    const batches = upcalls(dp);
    addFlow(dp, udp(), apply({ type: 'dec_nw_ttl' }, output(2)));
    const ttl1 = numbered(3, 64, { ipv4: { src: '192.0.2.1', dst: '192.0.2.2', ttl: 1 } });
    dp.inject(1, ttl1);
    dp.inject(1, numbered(4));
    const [out] = await takeN(dp, 2, 1);
    expect(out.data).toEqual(numbered(4, 64, { ipv4: { src: '192.0.2.1', dst: '192.0.2.2', ttl: 63 } }));
    await until(() => batches.flat().length === 1, 'a packet-in');
    expect(batches.flat()[0]).toMatchObject({ inPort: 1, reason: PACKET_IN_REASON.INVALID_TTL, data: ttl1 });
    expect(dp.stats()).toMatchObject({ invalidTtl: 1n, outputs: 1n, packetIns: 1n });
  });
});

describe('packet-out', () => {
  const packetOut = (inPort: number, actions: Action[], data: Uint8Array, bufferId = NO_BUFFER) =>
    encodeMessage({ type: 'packet_out', xid: 3, bufferId, inPort, actions, data });

  it('runs its actions, and OFPP_TABLE sends the frame through the flows', async () => {
    addFlow(dp, [{ field: 'in_port', value: 1 }], apply(setField({ field: 'udp_dst', value: 7 }), output(3)));
    expect(dp.executePacketOut(packetOut(OFPP.CONTROLLER, [output(2)], numbered(1)))).toBeNull();
    expect(dp.executePacketOut(packetOut(1, [output(OFPP.TABLE)], numbered(2)))).toBeNull();
    expect((await takeN(dp, 2, 1))[0].data).toEqual(numbered(1));
    expect((await takeN(dp, 3, 1))[0].data).toEqual(numbered(2, 64, { udp: { srcPort: 4000, dstPort: 7 } }));
  });

  it('returns the error for a buffer id, an in_port, a length or a bad action', () => {
    // OFPET_BAD_REQUEST, OFPBRC_BUFFER_UNKNOWN; OFPBRC_BAD_PORT; OFPBRC_BAD_LEN; OFPET_BAD_ACTION, OFPBAC_BAD_OUT_PORT.
    expect(dp.executePacketOut(packetOut(1, [output(2)], numbered(1), 7))).toEqual({ type: 1, code: 8 });
    expect(dp.executePacketOut(packetOut(OFPP.ANY, [output(2)], numbered(1)))).toEqual({ type: 1, code: 11 });
    const actionsPastTheEnd = packetOut(1, [output(2)], numbered(1));
    new DataView(actionsPastTheEnd.buffer, actionsPastTheEnd.byteOffset).setUint16(16, 0xfff0);
    expect(dp.executePacketOut(actionsPastTheEnd)).toEqual({ type: 1, code: 6 });
    expect(dp.executePacketOut(packetOut(1, [output(OFPP.ANY)], numbered(1)))).toEqual({ type: 2, code: 4 });
  });
});
