// ONOS 2.x's OpenFlow 1.3 connection sequence replayed against the switch
// agent, each reply checked as ONOS's OFChannelHandler and its switch driver
// would: ONOS waits for the switch's HELLO, asks for features and port
// descriptions, sets miss_send_len to 0xffff followed by a barrier and reads
// the config back, asks for meter features and the description, takes the
// master role with generation 0, installs its default flows (ARP and LLDP to
// the controller, as its host and link providers do) and then polls flow,
// table, port, group-desc, group and meter statistics every few seconds (one
// round here; the poll is the same each time). No root: memory ports.

import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeDatapath } from '../../src/datapath/index.ts';
import { Channel } from '../../src/openflow/channel/index.ts';
import { OFPCR_ROLE, OFPG, OFPM, OFPP, OFPTT, type Message } from '../../src/openflow/codec/index.ts';
import type { ConnectionManager } from '../../src/switch/index.ts';
import { agentWith, connectAgent, silent } from '../support/switch.ts';

const log = silent;
const DPID = 0x0000_0000_0000_0a01n;
const ANY_FLOW = { tableId: OFPTT.ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: 0n, cookieMask: 0n, match: [] };
/** ONOS's flow rules carry its app id in the cookie's top bits. */
const ONOS_COOKIE = 0x0001_0000_0000_0001n;

let dp: NativeDatapath;
let conns: ConnectionManager;
let onos: Channel;
const unsolicited: Message[] = [];

beforeAll(async () => {
  dp = new NativeDatapath();
  conns = await connectAgent(agentWith(dp, DPID, [1, 2]), [{ kind: 'ptcp', host: '127.0.0.1', port: 0 }]);
  const socket = connect(conns.listening()[0], '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  onos = new Channel(socket, { echoInterval: 5000, echoTimeout: 15000, requestTimeout: 5000, maxPendingRequests: 64, name: 'onos-replay' }, log);
  onos.on('message', (m) => unsolicited.push(m));
  // ONOS sends nothing before the switch's HELLO has come.
  await new Promise<void>((resolve) => onos.once('open', () => resolve()));
});

afterAll(async () => {
  onos.close('done');
  await conns.stop();
  dp.close();
});

describe("ONOS 2.x's connection sequence", () => {
  it('features: the dpid, no buffers, no auxiliary connection, statistics it can poll', async () => {
    const f = await onos.request({ type: 'features_request' });
    expect(f).toMatchObject({ datapathId: DPID, auxiliaryId: 0, nBuffers: 0 });
    expect(f.nTables).toBeGreaterThan(0);
    // FLOW_STATS, TABLE_STATS, PORT_STATS, GROUP_STATS
    expect(f.capabilities & 0b1111).toBe(0b1111);
  });

  it('port descriptions: every port with a name, an address and its state', async () => {
    const d = await onos.request({ type: 'port_desc_request' });
    expect(d.ports.map((p) => p.portNo)).toEqual([1, 2]);
    for (const p of d.ports) {
      expect(p.name).not.toBe('');
      expect(p.hwAddr).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    }
  });

  it('set_config miss_send_len 0xffff, barrier, get_config reads it back', async () => {
    onos.send({ type: 'set_config', flags: 0, missSendLen: 0xffff });
    await onos.request({ type: 'barrier_request' });
    expect(await onos.request({ type: 'get_config_request' })).toMatchObject({ flags: 0, missSendLen: 0xffff });
  });

  it('meter features and the description', async () => {
    const m = await onos.request({ type: 'meter_features_request' });
    expect(m.maxMeter).toBeGreaterThan(0);
    expect(m.bandTypes & 0b10).toBe(0b10); // drop bands
    const desc = await onos.request({ type: 'desc_request' });
    expect(desc.mfrDesc).not.toBe('');
    expect(desc.swDesc).toMatch(/^tsof-switch/);
  });

  it('role request: master with generation 0', async () => {
    expect(await onos.request({ type: 'role_request', role: OFPCR_ROLE.MASTER, generationId: 0n })).toMatchObject({
      role: OFPCR_ROLE.MASTER,
      generationId: 0n,
    });
  });

  it("ONOS's default flows go in, and flow stats give each match back as it was installed", async () => {
    const toController = [{ type: 'apply_actions' as const, actions: [{ type: 'output' as const, port: OFPP.CONTROLLER, maxLen: 0xffff }] }];
    const flows = [
      { priority: 40000, match: [{ field: 'eth_type' as const, value: 0x88cc }] },
      { priority: 40000, match: [{ field: 'eth_type' as const, value: 0x8942 }] },
      { priority: 40000, match: [{ field: 'eth_type' as const, value: 0x0806 }] },
      { priority: 5, match: [{ field: 'eth_type' as const, value: 0x0800 }] },
    ];
    for (const f of flows) {
      onos.send({
        type: 'flow_mod',
        cookie: ONOS_COOKIE,
        cookieMask: 0n,
        tableId: 0,
        command: 0,
        idleTimeout: 0,
        hardTimeout: 0,
        priority: f.priority,
        bufferId: 0xffffffff,
        outPort: OFPP.ANY,
        outGroup: OFPG.ANY,
        flags: 1, // SEND_FLOW_REM, as ONOS sets
        match: f.match,
        instructions: toController,
      });
    }
    await onos.request({ type: 'barrier_request' });
    const stats = await onos.request({ type: 'flow_stats_request', ...ANY_FLOW });
    expect(stats.stats).toHaveLength(flows.length);
    for (const f of flows) {
      const got = stats.stats.find((s) => s.priority === f.priority && JSON.stringify(s.match) === JSON.stringify(f.match));
      expect(got, JSON.stringify(f.match)).toMatchObject({ cookie: ONOS_COOKIE, flags: 1, instructions: toController, tableId: 0 });
    }
  });

  it('the statistics poll: flow, table, port, group desc, group and meter', async () => {
    const [flow, table, port, groupDesc, group, meter] = await Promise.all([
      onos.request({ type: 'flow_stats_request', ...ANY_FLOW }),
      onos.request({ type: 'table_stats_request' }),
      onos.request({ type: 'port_stats_request', portNo: OFPP.ANY }),
      onos.request({ type: 'group_desc_request' }),
      onos.request({ type: 'group_stats_request', groupId: OFPG.ALL }),
      onos.request({ type: 'meter_stats_request', meterId: OFPM.ALL }),
    ]);
    expect(flow.stats).toHaveLength(4);
    expect(table.stats.find((t) => t.tableId === 0)?.activeCount).toBe(4);
    expect(port.stats.map((p) => p.portNo)).toEqual([1, 2]);
    expect(groupDesc.stats).toEqual([]);
    expect(group.stats).toEqual([]);
    expect(meter.stats).toEqual([]);
    // Nothing arrived that ONOS did not ask for (no errors, no stray replies).
    expect(unsolicited).toEqual([]);
  });
});
