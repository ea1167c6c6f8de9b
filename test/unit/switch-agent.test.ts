// The switch agent end to end without root: a native datapath with memory
// ports, the agent and its connection manager connecting to tsof's own
// controller SDK over loopback TCP (the interop tests drive tsof-switch with
// ovs-ofctl, os-ken and Open vSwitch). Covers the handshake, mods and their
// errors in barrier order, packet-in and packet-out, multipart replies over
// 64 KiB, roles and generation ids, async config, port status and bad input.

import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Controller,
  deleteFlows,
  ERR,
  flowMod,
  OFPP,
  OFPPR,
  OFPR,
  OpenFlowError,
  packetOut,
  type MessageOf,
  type SwitchHandle,
} from '../../src/controller/index.ts';
import { TestDatapath } from '../../src/datapath/testing.ts';
import {
  BUNDLE_ERR,
  decodeBundleControl,
  decodeMessage,
  encodeBundleAdd,
  encodeBundleControl,
  encodeMessage,
  Framer,
  OFPBCT,
  OFPBF,
  ONF_EXPERIMENTER,
  ONFT,
  type Message,
} from '../../src/openflow/codec/index.ts';
import type { ConnectionManager, SwitchAgent } from '../../src/switch/index.ts';
import { numbered, numberOf, takeN, until } from '../support/datapath.ts';
import { agentWith, connectAgent, silent } from '../support/switch.ts';

const log = silent;
const DPID = 0x51n;
const toPort = (port: number) => ({ type: 'output' as const, port, maxLen: 0 });

interface Rig {
  dp: TestDatapath;
  agent: SwitchAgent;
  conns: ConnectionManager;
  controllers: Controller[];
  handles: SwitchHandle[];
}

/** A switch with memory ports 1-3 connected to n controllers; resolves once every controller has it. */
async function rig(n: number): Promise<Rig> {
  const dp = new TestDatapath();
  const agent = agentWith(dp, DPID, [1, 2, 3]);
  const controllers: Controller[] = [];
  const handles: Promise<SwitchHandle>[] = [];
  for (let i = 0; i < n; i++) {
    const c = new Controller({ port: 0, host: '127.0.0.1', logger: log });
    controllers.push(c);
    handles.push(new Promise((resolve) => c.once('switch', resolve)));
  }
  const ports = await Promise.all(controllers.map((c) => c.listen()));
  const conns = await connectAgent(agent, ports.map((a) => ({ kind: 'tcp', host: '127.0.0.1', port: a.port })));
  return { dp, agent, conns, controllers, handles: await Promise.all(handles) };
}

let r: Rig;
afterEach(async () => {
  await r.conns.stop();
  await Promise.all(r.controllers.map((c) => c.close()));
  r.dp.close();
});

describe('one controller', () => {
  beforeEach(async () => {
    r = await rig(1);
  });

  it('completes the handshake: dpid, tables and ports as the datapath has them', async () => {
    const [sw] = r.handles;
    expect(sw.dpid).toBe(DPID);
    expect(sw.features.nTables).toBe(254);
    expect([...sw.ports.keys()].sort()).toEqual([1, 2, 3]);
    const desc = await sw.request({ type: 'desc_request' });
    expect(desc.swDesc).toMatch(/^tsof-switch \d/);
  });

  it('installs flows that forward, and returns each match as it was installed', async () => {
    const [sw] = r.handles;
    const match = [
      { field: 'in_port', value: 1 },
      { field: 'eth_type', value: 0x800 },
      { field: 'ipv4_dst', value: '192.0.2.0', mask: '255.255.255.0' },
    ] as const;
    await sw.confirm(flowMod({ priority: 7, cookie: 0x42n, match: [...match], actions: [toPort(2)] }));
    r.dp.inject(1, numbered(9));
    const [out] = await takeN(r.dp, 2, 1);
    expect(numberOf(out.data)).toBe(9);
    const stats = await sw.request({ type: 'flow_stats_request', tableId: 0xff, outPort: OFPP.ANY, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n, match: [] });
    expect(stats.stats).toHaveLength(1);
    expect(stats.stats[0]).toMatchObject({ priority: 7, cookie: 0x42n, packetCount: 1n, match: [...match] });
    const agg = await sw.request({ type: 'aggregate_stats_request', tableId: 0xff, outPort: OFPP.ANY, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n, match: [] });
    expect(agg).toMatchObject({ packetCount: 1n, flowCount: 1 });
  });

  it("answers a bad mod with the pipeline's error before the barrier reply, and the connection lives on", async () => {
    const [sw] = r.handles;
    const bad = flowMod({ tableId: 3, match: [], instructions: [{ type: 'goto_table', tableId: 2 }] });
    const err = await sw.confirm(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenFlowError);
    expect((err as OpenFlowError).is(ERR.BAD_INSTRUCTION.BAD_TABLE_ID)).toBe(true);
    // The error carries the request's first bytes.
    expect(decodeMessage(encodeMessage({ ...bad, xid: 0 } as Message)).ok).toBe(true);
    expect((err as OpenFlowError).data.length).toBeGreaterThanOrEqual(64);
    await sw.barrier();
  });

  it('sends table misses up as packet-ins, and runs packet-outs', async () => {
    const [sw] = r.handles;
    const got: MessageOf<'packet_in'>[] = [];
    r.controllers[0].on('packet_in', (_, m) => got.push(m));
    await sw.confirm(flowMod({ priority: 0, match: [], actions: [{ type: 'output', port: OFPP.CONTROLLER, maxLen: 0xffff }] }));
    r.dp.inject(3, numbered(5));
    await until(() => got.length === 1, 'packet-in');
    // The table-miss flow's packet-ins say NO_MATCH (spec 5.4).
    expect(got[0]).toMatchObject({ reason: OFPR.NO_MATCH, tableId: 0, match: [{ field: 'in_port', value: 3 }] });
    expect(numberOf(got[0].data)).toBe(5);
    // The barrier's reply comes after the packet-outs before it have run: every frame is out already.
    for (let n = 0; n < 500; n++) sw.send(packetOut({ actions: [toPort(1)], data: numbered(n) }));
    await sw.barrier();
    expect(r.dp.take(1).map((f) => numberOf(f.data))).toEqual(Array.from({ length: 500 }, (_, n) => n));
    // A frame under the Ethernet minimum goes up padded with zeros to 60 bytes, as a port would send it.
    const short = numbered(7, 46);
    r.dp.inject(3, short);
    await until(() => got.length === 2, 'second packet-in');
    expect(got[1].totalLen).toBe(60);
    expect(got[1].data).toEqual(Uint8Array.from([...short, ...new Uint8Array(14)]));
  });

  it('splits replies over 64 KiB with REPLY_MORE: 3000 flows and 254 tables of features', async () => {
    const [sw] = r.handles;
    await sw.confirm(Array.from({ length: 3000 }, (_, i) => flowMod({ priority: 1, match: [{ field: 'metadata', value: BigInt(i) }], actions: [toPort(2)] })));
    const stats = await sw.request({ type: 'flow_stats_request', tableId: 0, outPort: OFPP.ANY, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n, match: [] });
    expect(new Set(stats.stats.map((s) => (s.match[0] as { value: bigint }).value)).size).toBe(3000);
    const features = await sw.request({ type: 'table_features_request', tables: [] });
    expect(features.tables.map((t) => t.tableId)).toEqual(Array.from({ length: 254 }, (_, i) => i));
    await sw.confirm(deleteFlows());
  });

  it('tells the controller of ports added and removed', async () => {
    const [sw] = r.handles;
    const status: MessageOf<'port_status'>[] = [];
    r.controllers[0].on('port_status', (_, m) => status.push(m));
    r.agent.addPort({ kind: 'memory', port: 9 });
    r.agent.removePort(9);
    await until(() => status.length === 2, 'two port-status messages');
    expect(status.map((s) => [s.reason, s.desc.portNo])).toEqual([
      [OFPPR.ADD, 9],
      [OFPPR.DELETE, 9],
    ]);
    expect(sw.ports.has(9)).toBe(false);
  });

  it('refuses what it does not support with the error the spec names', async () => {
    const [sw] = r.handles;
    const errOf = (p: Promise<unknown>) => p.then(() => undefined, (e: OpenFlowError) => e);
    expect((await errOf(sw.request({ type: 'port_stats_request', portNo: 77 })))!.is(ERR.BAD_REQUEST.BAD_PORT)).toBe(true);
    // Table 254 does not exist (ids 0 to 253); found by fuzz_control, which once got OFPFMFC_BAD_TABLE_ID here.
    const noTable = { type: 'flow_stats_request' as const, tableId: 254, outPort: OFPP.ANY, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n, match: [] };
    expect((await errOf(sw.request(noTable)))!.is(ERR.BAD_REQUEST.BAD_TABLE_ID)).toBe(true);
    expect((await errOf(sw.request({ ...noTable, type: 'aggregate_stats_request' as const })))!.is(ERR.BAD_REQUEST.BAD_TABLE_ID)).toBe(true);
    expect((await errOf(sw.confirm({ type: 'port_mod', portNo: 1, hwAddr: '00:00:00:00:00:01', config: 1, mask: 1, advertise: 0 })))!.is(ERR.PORT_MOD_FAILED.BAD_HW_ADDR)).toBe(true);
    expect((await errOf(sw.confirm({ type: 'set_config', flags: 0x80, missSendLen: 128 })))!.is(ERR.SWITCH_CONFIG_FAILED.BAD_FLAGS)).toBe(true);
    expect((await errOf(sw.confirm({ type: 'experimenter', experimenter: 0x2320, expType: 1, data: new Uint8Array(0) })))!.is(ERR.BAD_REQUEST.BAD_EXPERIMENTER)).toBe(true);
    await expect(sw.getConfig()).resolves.toEqual({ flags: 0, missSendLen: 128 });
  });
});

describe('two controllers', () => {
  beforeEach(async () => {
    r = await rig(2);
  });

  it('orders master and slave by generation id; a slave may not write and gets no packet-ins', async () => {
    const [a, b] = r.handles;
    expect(await a.requestRole('master', 10n)).toEqual({ role: 'master', generationId: 10n });
    expect(await b.requestRole('slave', 10n)).toEqual({ role: 'slave', generationId: 10n });
    const stale = await b.requestRole('master', 9n).catch((e: OpenFlowError) => e);
    expect((stale as OpenFlowError).is(ERR.ROLE_REQUEST_FAILED.STALE)).toBe(true);
    const refused = await b.confirm(flowMod({ match: [], actions: [] })).catch((e: OpenFlowError) => e);
    expect((refused as OpenFlowError).is(ERR.BAD_REQUEST.IS_SLAVE)).toBe(true);

    const seen = [0, 0];
    r.controllers.forEach((c, i) => c.on('packet_in', () => seen[i]++));
    await a.confirm(flowMod({ priority: 0, match: [], actions: [{ type: 'output', port: OFPP.CONTROLLER, maxLen: 128 }] }));
    r.dp.inject(1, numbered(1));
    await until(() => seen[0] === 1, 'packet-in at the master');
    // The new master demotes the old one.
    expect(await b.requestRole('master', 11n)).toEqual({ role: 'master', generationId: 11n });
    expect(await a.queryRole()).toEqual({ role: 'slave', generationId: 11n });
    r.dp.inject(1, numbered(2));
    await until(() => seen[1] === 1, 'packet-in at the new master');
    await a.barrier();
    expect(seen).toEqual([1, 1]);
  });

  it('follows each connection\'s async config', async () => {
    const [a, b] = r.handles;
    await a.confirm({ type: 'set_async', packetInMask: [0, 0], portStatusMask: [0b111, 0b111], flowRemovedMask: [0b1111, 0] });
    expect(await a.request({ type: 'get_async_request' })).toMatchObject({ packetInMask: [0, 0] });
    const seen = [0, 0];
    r.controllers.forEach((c, i) => c.on('packet_in', () => seen[i]++));
    await b.confirm(flowMod({ priority: 0, match: [], actions: [{ type: 'output', port: OFPP.CONTROLLER, maxLen: 128 }] }));
    r.dp.inject(2, numbered(1));
    await until(() => seen[1] === 1, 'packet-in at b');
    await a.barrier();
    expect(seen[0]).toBe(0);
  });
});

describe('raw connections', () => {
  beforeEach(async () => {
    r = await rig(0);
  });

  /** A passive listener and a raw socket to it: what it answers to what we write. */
  async function exchange(messages: Uint8Array[], want: number): Promise<Message[]> {
    const passive = await connectAgent(r.agent, [{ kind: 'ptcp', host: '127.0.0.1', port: 0 }]);
    const got: Message[] = [];
    const socket = connect(passive.listening()[0], '127.0.0.1');
    const framer = new Framer();
    socket.on('data', (chunk) => {
      for (const f of framer.push(chunk)) if (f.ok) got.push((decodeMessage(f.bytes) as { msg: Message }).msg);
    });
    for (const m of messages) socket.write(m);
    try {
      await until(() => got.length >= want, `${want} messages`);
    } finally {
      socket.destroy();
      await passive.stop();
    }
    return got;
  }

  const hello = (bitmap: number) => encodeMessage({ type: 'hello', xid: 1, elements: [{ type: 'versionbitmap', bitmaps: [bitmap] }] } as Message);

  it('refuses a peer without OpenFlow 1.3 with HELLO_FAILED', async () => {
    const [, err] = await exchange([hello(1 << 1)], 2);
    expect(err).toMatchObject({ type: 'error', errType: ERR.HELLO_FAILED.INCOMPATIBLE.type, code: ERR.HELLO_FAILED.INCOMPATIBLE.code });
  });

  it('answers malformed input with an error carrying its xid and first 64 bytes, then goes on', async () => {
    const bad = encodeMessage({ ...flowMod({ match: [], actions: [toPort(1)] }), xid: 77 } as Message).slice();
    bad[bad.length - 16 + 1] = 99; // the action's type: unknown
    const [, err, reply] = await exchange([hello(1 << 4), bad, encodeMessage({ type: 'barrier_request', xid: 78 } as Message)], 3);
    expect(err).toMatchObject({ type: 'error', xid: 77, errType: ERR.BAD_ACTION.BAD_TYPE.type, code: ERR.BAD_ACTION.BAD_TYPE.code });
    expect((err as MessageOf<'error'>).data).toEqual(bad.subarray(0, 64));
    expect(reply).toMatchObject({ type: 'barrier_reply', xid: 78 });
  });
  describe('bundles (ONF\'s extension for OpenFlow 1.3)', () => {
    const onf = (xid: number, expType: number, data: Uint8Array) =>
      encodeMessage({ type: 'experimenter', xid, experimenter: ONF_EXPERIMENTER, expType, data } as Message);
    const ctrl = (xid: number, ctrlType: number, bundleId = 7, flags = OFPBF.ATOMIC | OFPBF.ORDERED) =>
      onf(xid, ONFT.BUNDLE_CONTROL, encodeBundleControl({ bundleId, ctrlType, flags, properties: new Uint8Array(0) }));
    const inner = (xid: number, port: number, extra: object = {}) =>
      encodeMessage({ ...flowMod({ match: [{ field: 'in_port', value: port }], actions: [toPort(2)], ...extra }), xid } as Message);
    const add = (xid: number, message: Uint8Array, bundleId = 7, flags = OFPBF.ATOMIC | OFPBF.ORDERED) =>
      onf(xid, ONFT.BUNDLE_ADD_MESSAGE, encodeBundleAdd({ bundleId, flags, message }));
    const flowCount = encodeMessage({
      type: 'aggregate_stats_request', xid: 90, flags: 0, tableId: 0xff, outPort: OFPP.ANY, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n, match: [],
    } as Message);
    const ctrlType = (m: Message) => m.type === 'experimenter' && decodeBundleControl(m.data).ok && (decodeBundleControl(m.data) as { value: { ctrlType: number } }).value.ctrlType;
    const errorOf = (m: Message) => m.type === 'error' && { xid: m.xid, code: m.code, experimenter: m.experimenter };

    it('commits its flow mods together, answering open, close and commit', async () => {
      const got = await exchange([hello(1 << 4), ctrl(2, OFPBCT.OPEN_REQUEST), add(3, inner(3, 1)), add(4, inner(4, 3)), ctrl(5, OFPBCT.CLOSE_REQUEST), ctrl(6, OFPBCT.COMMIT_REQUEST), flowCount], 5);
      expect(got.slice(1, 4).map(ctrlType)).toEqual([OFPBCT.OPEN_REPLY, OFPBCT.CLOSE_REPLY, OFPBCT.COMMIT_REPLY]);
      expect(got.slice(1, 4).map((m) => m.xid)).toEqual([2, 5, 6]);
      expect(got[4]).toMatchObject({ type: 'aggregate_stats_reply', flowCount: 2 });
    });

    it('applies none when one fails: its error with its ADD_MESSAGE\'s xid and bytes, then MSG_FAILED', async () => {
      const bad = add(4, inner(4, 3, { actions: [{ type: 'group', groupId: 9 }] }));
      const got = await exchange([hello(1 << 4), add(3, inner(3, 1)), bad, add(5, inner(5, 2)), ctrl(6, OFPBCT.COMMIT_REQUEST), flowCount], 4);
      expect(got[1]).toMatchObject({ type: 'error', xid: 4, errType: ERR.BAD_ACTION.BAD_OUT_GROUP.type, code: ERR.BAD_ACTION.BAD_OUT_GROUP.code });
      expect((got[1] as MessageOf<'error'>).data).toEqual(bad.subarray(0, 64));
      expect(errorOf(got[2])).toEqual({ xid: 6, code: BUNDLE_ERR.MSG_FAILED.code, experimenter: ONF_EXPERIMENTER });
      expect(got[3]).toMatchObject({ type: 'aggregate_stats_reply', flowCount: 0 });
    });

    it('holds thousands of flow mods (its buffer grows) and finds the one that fails among them', async () => {
      const N = 3000; // about 300 KiB of flow mods: the buffer doubles from 64 KiB three times
      const adds = Array.from({ length: N }, (_, i) => add(100 + i, inner(100 + i, 1 + i)));
      let got = await exchange([hello(1 << 4), ...adds, ctrl(6, OFPBCT.COMMIT_REQUEST), flowCount], 3);
      expect(ctrlType(got[1])).toBe(OFPBCT.COMMIT_REPLY);
      expect(got[2]).toMatchObject({ type: 'aggregate_stats_reply', flowCount: N });
      const bad = add(100 + N, inner(100 + N, 1, { actions: [{ type: 'group', groupId: 9 }] }));
      got = await exchange([hello(1 << 4), ...adds, bad, add(101 + N, inner(101 + N, 2)), ctrl(6, OFPBCT.COMMIT_REQUEST), flowCount], 4);
      expect(got[1]).toMatchObject({ type: 'error', xid: 100 + N, errType: ERR.BAD_ACTION.BAD_OUT_GROUP.type });
      expect((got[1] as MessageOf<'error'>).data).toEqual(bad.subarray(0, 64));
      expect(errorOf(got[2])).toEqual({ xid: 6, code: BUNDLE_ERR.MSG_FAILED.code, experimenter: ONF_EXPERIMENTER });
      expect(got[3]).toMatchObject({ type: 'aggregate_stats_reply', flowCount: N });
    });

    it('refuses what OpenFlow 1.4 says to refuse, as Open vSwitch does, and discards', async () => {
      const group = encodeMessage({ type: 'group_mod', xid: 12, command: 0, groupType: 0, groupId: 1, buckets: [] } as Message);
      const badXid = add(13, inner(99, 1));
      const got = await exchange(
        [
          hello(1 << 4),
          ctrl(2, OFPBCT.COMMIT_REQUEST, 1), // no such bundle
          ctrl(3, OFPBCT.OPEN_REQUEST, 1),
          ctrl(4, OFPBCT.OPEN_REQUEST, 1), // exists: refused, and dropped
          ctrl(5, OFPBCT.CLOSE_REQUEST, 1), // so this one has no bundle
          ctrl(6, OFPBCT.OPEN_REQUEST, 2),
          ctrl(7, OFPBCT.CLOSE_REQUEST, 2),
          add(8, inner(8, 1), 2), // closed
          ctrl(9, OFPBCT.OPEN_REQUEST, 3, OFPBF.ATOMIC),
          ctrl(10, OFPBCT.COMMIT_REQUEST, 3, OFPBF.ORDERED), // other flags
          ctrl(11, OFPBCT.OPEN_REPLY, 4), // a reply is no request
          add(12, group, 4), // only flow mods
          badXid,
          ctrl(14, OFPBCT.OPEN_REQUEST, 5),
          add(15, inner(15, 1), 5),
          ctrl(16, OFPBCT.DISCARD_REQUEST, 5),
          ctrl(17, OFPBCT.COMMIT_REQUEST, 5), // discarded
          flowCount,
        ],
        17,
      );
      const E = BUNDLE_ERR;
      expect(got.slice(1, 13).map((m) => errorOf(m) || { xid: m.xid, reply: ctrlType(m) })).toEqual([
        { xid: 2, code: E.BAD_ID.code, experimenter: ONF_EXPERIMENTER },
        { xid: 3, reply: OFPBCT.OPEN_REPLY },
        { xid: 4, code: E.BAD_ID.code, experimenter: ONF_EXPERIMENTER },
        { xid: 5, code: E.BAD_ID.code, experimenter: ONF_EXPERIMENTER },
        { xid: 6, reply: OFPBCT.OPEN_REPLY },
        { xid: 7, reply: OFPBCT.CLOSE_REPLY },
        { xid: 8, code: E.BUNDLE_CLOSED.code, experimenter: ONF_EXPERIMENTER },
        { xid: 9, reply: OFPBCT.OPEN_REPLY },
        { xid: 10, code: E.BAD_FLAGS.code, experimenter: ONF_EXPERIMENTER },
        { xid: 11, code: E.BAD_TYPE.code, experimenter: ONF_EXPERIMENTER },
        { xid: 12, code: E.MSG_UNSUP.code, experimenter: ONF_EXPERIMENTER },
        { xid: 13, code: E.MSG_BAD_XID.code, experimenter: ONF_EXPERIMENTER },
      ]);
      expect(got.slice(13, 16).map((m) => errorOf(m) || { xid: m.xid, reply: ctrlType(m) })).toEqual([
        { xid: 14, reply: OFPBCT.OPEN_REPLY },
        { xid: 16, reply: OFPBCT.DISCARD_REPLY },
        { xid: 17, code: E.BAD_ID.code, experimenter: ONF_EXPERIMENTER },
      ]);
      expect(got[16]).toMatchObject({ type: 'aggregate_stats_reply', flowCount: 0 });
    });

    it('ends the bundles of a connection with it', async () => {
      await exchange([hello(1 << 4), ctrl(2, OFPBCT.OPEN_REQUEST, 8), add(3, inner(3, 1), 8), flowCount], 3);
      const got = await exchange([hello(1 << 4), ctrl(4, OFPBCT.COMMIT_REQUEST, 8), flowCount], 3);
      expect(errorOf(got[1])).toEqual({ xid: 4, code: BUNDLE_ERR.BAD_ID.code, experimenter: ONF_EXPERIMENTER });
      expect(got[2]).toMatchObject({ type: 'aggregate_stats_reply', flowCount: 0 });
    });
  });
});
