// The datapath's control side through memory ports (no root): flows that
// expire by their timeouts for real, 'flow_removed' events for timeouts and
// for flow, group and meter deletes, group and meter statistics as multipart
// bodies the codec decodes, port-mod (NO_FWD, PORT_DOWN, NO_RECV,
// NO_PACKET_IN), set-config's miss_send_len and fragment handling, and
// NORMAL's MAC aging. The pipeline's own behaviour is tested in C; this checks
// that the control calls reach it and their results come back.

import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FLOW_REMOVED_REASON, PORT_CONFIG, type FlowRemoved } from '../../src/datapath/index.ts';
import { TestDatapath } from '../../src/datapath/testing.ts';
import { decodeMessage, decodeValue, encodeMessage, match, OFPP, type Oxm } from '../../src/openflow/codec/index.ts';
import { addFlow, apply, decodeReplyBody, flowMod, H1, H2, numbered, numberOf, OFPFC, output, portMod, takeN, until, upcalls } from '../support/datapath.ts';

const SEND_FLOW_REM = 1;
const OFPG_ALL = 0xfffffffc;
const OFPM_ALL = 0xffffffff;
const inPort = (port: number): Oxm[] => [{ field: 'in_port', value: port }];

let dp: TestDatapath;
let removed: FlowRemoved[];
beforeEach(() => {
  dp = new TestDatapath();
  for (const port of [1, 2, 3]) dp.addPort({ kind: 'memory', port });
  removed = [];
  dp.on('flow_removed', (f) => removed.push(f));
});
afterEach(() => dp.close());

const matchOf = (f: FlowRemoved): Oxm[] => {
  const r = decodeValue(match, f.match);
  if (!r.ok) throw new Error(`match does not decode: ${r.detail}`);
  return r.value;
};

describe('flow timeouts', () => {
  it('remove flows whose hard or idle timeout passed, reported as flow_removed; traffic keeps an idle flow', async () => {
    addFlow(dp, inPort(1), apply(output(2)), { hardTimeout: 1, flags: SEND_FLOW_REM, cookie: 0xan });
    addFlow(dp, inPort(2), apply(output(1)), { idleTimeout: 1, flags: SEND_FLOW_REM, cookie: 0xbn, priority: 9 });
    addFlow(dp, inPort(3), apply(output(1)), { idleTimeout: 1, flags: SEND_FLOW_REM, cookie: 0xcn });
    // No SEND_FLOW_REM: expires unreported.
    addFlow(dp, [...inPort(3), { field: 'eth_type', value: 0x86dd }], [], { idleTimeout: 1, cookie: 0xdn });
    dp.inject(2, numbered(1, 100));
    await takeN(dp, 1, 1);
    // Traffic on ports 1 and 3 all along: the hard timeout strikes anyway, the idle one does not.
    let n = 2;
    const traffic = setInterval(() => {
      dp.inject(1, numbered(n++));
      dp.inject(3, numbered(n++));
    }, 100);
    try {
      await until(() => removed.length >= 2 && dp.tableStats(0).activeCount === 1, 'three flows expired', 4_000);
    } finally {
      clearInterval(traffic);
    }
    expect(removed).toHaveLength(2);
    const byCookie = new Map(removed.map((f) => [f.cookie, f]));
    expect(new Set(byCookie.keys())).toEqual(new Set([0xan, 0xbn]));
    expect(byCookie.get(0xan)).toMatchObject({ reason: FLOW_REMOVED_REASON.HARD_TIMEOUT, tableId: 0, priority: 100, hardTimeout: 1, idleTimeout: 0 });
    expect(byCookie.get(0xan)!.packetCount).toBeGreaterThan(0n);
    expect(byCookie.get(0xbn)).toMatchObject({ reason: FLOW_REMOVED_REASON.IDLE_TIMEOUT, priority: 9, idleTimeout: 1, packetCount: 1n, byteCount: 100n });
    for (const f of removed) {
      expect(f.durationSec).toBeGreaterThanOrEqual(1);
      expect(f.durationSec).toBeLessThan(4);
      expect(f.durationNsec).toBeLessThan(1e9);
    }
    expect(matchOf(byCookie.get(0xbn)!)).toEqual(inPort(2));
  });
});

describe('flow_removed from mods', () => {
  const groupMod = (command: number, groupId: number) =>
    encodeMessage({
      type: 'group_mod',
      xid: 2,
      command,
      groupType: 0,
      groupId,
      buckets: command === 2 ? [] : [{ weight: 0, watchPort: OFPP.ANY, watchGroup: 0xffffffff, actions: [output(2)] }],
    });
  const meterMod = (command: number, meterId: number) =>
    encodeMessage({ type: 'meter_mod', xid: 3, command, flags: 2, meterId, bands: [{ type: 'drop', rate: 1000, burstSize: 0 }] });

  it('come before the flow mod, group mod or meter mod that removed the flows returns', () => {
    addFlow(dp, inPort(1), apply(output(2)), { flags: SEND_FLOW_REM, cookie: 0x11n });
    addFlow(dp, inPort(2), apply(output(1)), { flags: SEND_FLOW_REM, cookie: 0x12n, tableId: 3, priority: 5 });
    addFlow(dp, inPort(3), apply(output(1)), { cookie: 0x13n }); // no SEND_FLOW_REM
    // Delete everything with cookie 0x1? in every table.
    expect(dp.flowMod(flowMod([], [], { command: OFPFC.DELETE, tableId: 0xff, cookie: 0x10n, cookieMask: 0xf0n }))).toBeNull();
    expect(removed.map((f) => [f.cookie, f.reason, f.tableId, f.priority])).toEqual(
      expect.arrayContaining([[0x11n, FLOW_REMOVED_REASON.DELETE, 0, 100], [0x12n, FLOW_REMOVED_REASON.DELETE, 3, 5]]),
    );
    expect(removed).toHaveLength(2);
    expect(dp.tableStats(0).activeCount).toBe(0);

    removed.length = 0;
    expect(dp.groupMod(groupMod(0, 7))).toBeNull();
    expect(dp.meterMod(meterMod(0, 4))).toBeNull();
    addFlow(dp, inPort(1), apply({ type: 'group', groupId: 7 }), { flags: SEND_FLOW_REM, cookie: 0x21n });
    addFlow(dp, inPort(2), [{ type: 'meter', meterId: 4 }, ...apply(output(1))], { flags: SEND_FLOW_REM, cookie: 0x22n });
    expect(dp.groupMod(groupMod(2, 7))).toBeNull();
    expect(removed.map((f) => [f.cookie, f.reason])).toEqual([[0x21n, FLOW_REMOVED_REASON.GROUP_DELETE]]);
    expect(dp.meterMod(meterMod(2, 4))).toBeNull();
    // OpenFlow 1.3 has no OFPRR_METER_DELETE: DELETE.
    expect(removed.map((f) => [f.cookie, f.reason])).toEqual([[0x21n, FLOW_REMOVED_REASON.GROUP_DELETE], [0x22n, FLOW_REMOVED_REASON.DELETE]]);
    expect(matchOf(removed[1])).toEqual(inPort(2));
    // What the agent sends: the codec's flow_removed, from the event.
    const { match: _, ...fields } = removed[1];
    const sent = decodeMessage(encodeMessage({ type: 'flow_removed', xid: 0, ...fields, match: matchOf(removed[1]) }));
    expect(sent).toMatchObject({ ok: true, msg: { type: 'flow_removed', cookie: 0x22n, reason: FLOW_REMOVED_REASON.DELETE, match: inPort(2) } });
  });
});

describe('group and meter statistics', () => {
  it('are multipart bodies the codec decodes, with bucket and band counters after traffic', async () => {
    const buckets = [
      { weight: 0, watchPort: OFPP.ANY, watchGroup: 0xffffffff, actions: [output(2)] },
      { weight: 0, watchPort: OFPP.ANY, watchGroup: 0xffffffff, actions: [output(3)] },
    ];
    expect(dp.groupMod(encodeMessage({ type: 'group_mod', xid: 1, command: 0, groupType: 0, groupId: 1, buckets }))).toBeNull();
    expect(dp.groupMod(encodeMessage({ type: 'group_mod', xid: 1, command: 0, groupType: 2, groupId: 2, buckets: buckets.slice(1) }))).toBeNull();
    const bands = [
      { type: 'drop' as const, rate: 100_000, burstSize: 1000 },
      { type: 'dscp_remark' as const, rate: 200_000, burstSize: 1000, precLevel: 1 },
    ];
    expect(dp.meterMod(encodeMessage({ type: 'meter_mod', xid: 1, command: 0, flags: 2 | 4 | 8, meterId: 3, bands }))).toBeNull();
    addFlow(dp, inPort(1), [{ type: 'meter', meterId: 3 }, ...apply({ type: 'group', groupId: 1 })]);
    for (let i = 0; i < 5; i++) dp.inject(1, numbered(i, 100));
    await takeN(dp, 2, 5);
    await takeN(dp, 3, 5);

    const groups = decodeReplyBody('group_stats_reply', dp.groupStats(OFPG_ALL)).stats;
    expect(groups.map((g) => g.groupId).sort()).toEqual([1, 2]);
    expect(decodeReplyBody('group_stats_reply', dp.groupStats(1)).stats).toMatchObject([
      {
        groupId: 1,
        refCount: 1,
        packetCount: 5n,
        byteCount: 500n,
        bucketStats: [
          { packetCount: 5n, byteCount: 500n },
          { packetCount: 5n, byteCount: 500n },
        ],
      },
    ]);
    expect(decodeReplyBody('group_stats_reply', dp.groupStats(2)).stats).toMatchObject([{ groupId: 2, refCount: 0, packetCount: 0n, bucketStats: [{ packetCount: 0n }] }]);
    expect(dp.groupStats(99)).toHaveLength(0);
    expect(decodeReplyBody('group_desc_reply', dp.groupDesc(1)).stats).toMatchObject([{ groupId: 1, groupType: 0, buckets }]);
    expect(decodeReplyBody('group_desc_reply', dp.groupDesc(OFPG_ALL)).stats).toHaveLength(2);

    const [meter] = decodeReplyBody('meter_stats_reply', dp.meterStats(3)).stats;
    expect(meter).toMatchObject({ meterId: 3, flowCount: 1, packetInCount: 5n, byteInCount: 500n });
    expect(meter.bandStats).toEqual([
      { packetBandCount: 0n, byteBandCount: 0n },
      { packetBandCount: 0n, byteBandCount: 0n },
    ]);
    expect(decodeReplyBody('meter_stats_reply', dp.meterStats(OFPM_ALL)).stats).toHaveLength(1);
    expect(decodeReplyBody('meter_config_reply', dp.meterConfig(OFPM_ALL)).stats).toMatchObject([{ meterId: 3, flags: 2 | 4 | 8, bands }]);
    expect(dp.meterConfig(4)).toHaveLength(0);
  });
});

describe('port-mod', () => {
  it('NO_FWD and PORT_DOWN keep a port out of FLOOD; PORT_DOWN and NO_RECV drop its input', async () => {
    addFlow(dp, inPort(1), apply(output(OFPP.FLOOD)));
    addFlow(dp, inPort(2), apply(output(1)));
    const flood = async (n: number, ports: number[]) => {
      dp.inject(1, numbered(n));
      for (const p of ports) expect((await takeN(dp, p, 1)).map((f) => numberOf(f.data))).toEqual([n]);
    };
    await flood(1, [2, 3]);
    expect(portMod(dp, 3, PORT_CONFIG.NO_FWD, PORT_CONFIG.NO_FWD)).toBeNull();
    await flood(2, [2]);
    expect(portMod(dp, 3, 0, PORT_CONFIG.NO_FWD)).toBeNull();
    await flood(3, [2, 3]); // had 2 gone to port 3, it would come first
    expect(portMod(dp, 2, PORT_CONFIG.PORT_DOWN, PORT_CONFIG.PORT_DOWN)).toBeNull();
    await flood(4, [3]);
    const dropped = async (n: number) => {
      const before = dp.stats().dropped;
      dp.inject(2, numbered(n));
      await until(() => dp.stats().dropped > before, `frame ${n} dropped`);
    };
    await dropped(5); // port 2 is down
    expect(portMod(dp, 2, 0, PORT_CONFIG.PORT_DOWN)).toBeNull();
    await flood(6, [2, 3]);
    expect(portMod(dp, 2, PORT_CONFIG.NO_RECV, PORT_CONFIG.NO_RECV | PORT_CONFIG.NO_FWD)).toBeNull();
    await dropped(7);
    await flood(8, [2, 3]); // NO_RECV still sends
    expect(portMod(dp, 2, 0, PORT_CONFIG.NO_RECV)).toBeNull();
    dp.inject(2, numbered(9));
    expect((await takeN(dp, 1, 1)).map((f) => numberOf(f.data))).toEqual([9]); // 5 and 7 never came
  });

  it('NO_PACKET_IN stops packet-ins for the port; unknown ports and bits are errors', async () => {
    const batches = upcalls(dp);
    addFlow(dp, [], apply(output(OFPP.CONTROLLER)), { priority: 0 });
    expect(portMod(dp, 1, PORT_CONFIG.NO_PACKET_IN, PORT_CONFIG.NO_PACKET_IN)).toBeNull();
    dp.inject(1, numbered(1));
    dp.inject(2, numbered(2));
    await until(() => dp.stats().packets === 2n && batches.flat().length === 1, 'a packet-in from port 2 only');
    dp.sync(); // a frame is counted as it starts: let the last one finish before port 1 changes
    expect(portMod(dp, 1, 0, PORT_CONFIG.NO_PACKET_IN)).toBeNull();
    dp.inject(1, numbered(3));
    await until(() => batches.flat().length === 2, 'a packet-in from port 1');
    expect(batches.flat().map((p) => [p.inPort, numberOf(p.data)])).toEqual([[2, 2], [1, 3]]);
    // OFPET_PORT_MOD_FAILED: BAD_PORT, BAD_CONFIG (OpenFlow 1.0's NO_FLOOD, 16, is gone in 1.3).
    expect(portMod(dp, 9, 0, PORT_CONFIG.NO_FWD)).toEqual({ type: 7, code: 0 });
    expect(portMod(dp, 1, 16, 16)).toEqual({ type: 7, code: 2 });
    // BAD_HW_ADDR: the address must be the port's (spec 7.3.4.3).
    expect(dp.portMod(1, '02:00:00:00:00:99', 0, PORT_CONFIG.NO_FWD)).toEqual({ type: 7, code: 1 });
  });
});

describe('set-config and NORMAL', () => {
  it('miss_send_len truncates invalid-TTL packet-ins; FRAG_DROP drops fragments', async () => {
    const batches = upcalls(dp);
    addFlow(dp, inPort(1), apply({ type: 'dec_nw_ttl' }, output(2)));
    const ttl1 = (n: number) => numbered(n, 64, { ipv4: { src: '192.0.2.1', dst: '192.0.2.2', ttl: 1 } });
    dp.setConfig(0, 20);
    dp.inject(1, ttl1(1));
    await until(() => batches.flat().length === 1, 'an invalid-TTL packet-in');
    expect(batches.flat()[0]).toMatchObject({ totalLen: 64, data: ttl1(1).subarray(0, 20) });
    // OFPC_FRAG_DROP: a first fragment (MF) is dropped before table 0; a whole datagram passes.
    dp.setConfig(1, 128);
    dp.inject(1, numbered(2, 64, { ipv4: { src: '192.0.2.1', dst: '192.0.2.2', flags: 1 } }));
    dp.inject(1, numbered(3));
    expect((await takeN(dp, 2, 1)).map((f) => numberOf(f.data))).toEqual([3]);
    expect(() => dp.setConfig(0, 0x10000)).toThrow(RangeError);
  });

  it('MAC aging: NORMAL with an aging time of 0 remembers nothing and floods', async () => {
    addFlow(dp, [], apply(output(OFPP.NORMAL)), { priority: 0 });
    const eth = (n: number, src: string, dst: string) => numbered(n, 64, { eth: { src, dst } });
    const [H3, H4, BROADCAST] = ['02:00:00:00:00:03', '02:00:00:00:00:04', 'ff:ff:ff:ff:ff:ff'];
    dp.setMacAging(0);
    dp.inject(1, eth(1, H1, H2)); // floods
    await takeN(dp, 2, 1);
    dp.inject(2, eth(2, H2, H1)); // H1 not remembered: floods, to port 3 too
    expect((await takeN(dp, 3, 2)).map((f) => numberOf(f.data))).toEqual([1, 2]);
    dp.setMacAging(300);
    dp.inject(1, eth(3, H3, BROADCAST)); // floods, H3 learned on port 1
    await takeN(dp, 2, 1);
    dp.inject(2, eth(4, H4, H3)); // to port 1 only
    expect((await takeN(dp, 1, 2)).map((f) => numberOf(f.data))).toEqual([2, 4]);
    dp.inject(1, eth(5, H3, BROADCAST));
    expect((await takeN(dp, 3, 2)).map((f) => numberOf(f.data))).toEqual([3, 5]);
  });
});

describe("the datapath thread's nice value", () => {
  /** Nice values of this process's threads by name: the 19th field of /proc/self/task/TID/stat. */
  const niceOf = (name: string): number[] =>
    readdirSync('/proc/self/task')
      .map((tid) => readFileSync(`/proc/self/task/${tid}/stat`, 'utf8'))
      .filter((stat) => stat.includes(`(${name})`))
      .map((stat) => Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));

  it('is set on that thread alone; out-of-range values are refused', () => {
    const before = niceOf('node');
    // Lowering a priority needs no privilege, so this runs as any user.
    dp.setNice(7);
    expect(niceOf('tsof-dp')).toContain(7);
    expect(niceOf('node')).toEqual(before);
    expect(() => dp.setNice(20)).toThrow(RangeError);
    expect(() => dp.setNice(-21)).toThrow(RangeError);
    expect(() => dp.setNice(1.5)).toThrow(RangeError);
  });
});
