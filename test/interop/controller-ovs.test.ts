// tsof-controller against real peers. First Open vSwitch: a userspace bridge
// (datapath_type=netdev) between two hosts in network namespaces, driven by the
// learning-switch example running in this process; the hosts ping and run iperf3
// across it, the learned flows show in ovs-ofctl, and requests (barrier,
// multipart, one that OVS refuses) settle as they should. Then a raw TCP client
// plays the switch to reach what OVS never does: malformed messages, replies
// split with REPLY_MORE, silence, a packet-in flood, not reading, and an
// incompatible HELLO.
//
// Needs root, OVS, iproute2, ping and iperf3 (npm test installs them). Names are
// unique per run, the controller listens on an ephemeral port (never 6653 or the
// demo's 16653), and clean-up removes only what this file created.
// Everything runs async: the controller shares this event loop, so a blocking
// exec would stall the switch it is testing.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import learningSwitch from '../../examples/learning-switch.ts';
import {
  Controller,
  decodeMessage,
  encodeMessage,
  ERR,
  flowMod,
  Framer,
  OFPFC,
  OFPMPF_MORE,
  OFPG,
  OFPP,
  OFPTT,
  OpenFlowError,
  packetOut,
  RequestError,
  type ControllerOptions,
  type FlowSpec,
  type Match,
  type Message,
  type MessageOf,
  type Port,
  type SwitchHandle,
} from '../../src/controller/index.ts';

const run = promisify(execFile);
const sh = async (cmd: string, ...args: string[]) => (await run(cmd, args, { encoding: 'utf8' })).stdout;
const ns = (name: string, ...cmd: string[]) => sh('ip', 'netns', 'exec', name, ...cmd);
const silent = pino({ level: 'silent' });

/** Resolves with the first event `event` whose arguments pass `test`. */
function waitFor<A extends unknown[]>(
  on: (fn: (...a: A) => void) => void,
  off: (fn: (...a: A) => void) => void,
  test: (...a: A) => boolean = () => true,
  ms = 10_000,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off(fn);
      reject(new Error(`no matching event within ${ms} ms`));
    }, ms);
    const fn = (...a: A) => {
      if (!test(...a)) return;
      clearTimeout(timer);
      off(fn);
      resolve(a);
    };
    on(fn);
  });
}
async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
  }
}
const nextSwitch = (c: Controller, test: (sw: SwitchHandle) => boolean = () => true) =>
  waitFor<[SwitchHandle]>((f) => c.on('switch', f), (f) => c.off('switch', f), test).then(([sw]) => sw);
const nextDown = (c: Controller, sw: SwitchHandle, ms?: number) =>
  waitFor<[SwitchHandle, string]>((f) => c.on('switch-down', f), (f) => c.off('switch-down', f), (s) => s === sw, ms).then(
    ([, reason]) => reason,
  );

// Linux veths hand over TCP with the checksum left to the NIC; the userspace
// datapath forwards the bytes as they are, so TCP needs checksums computed in
// software (ethtool -K eth0 tx off, done with the ioctl ethtool uses).
const TX_CSUM_OFF = `
import array, fcntl, socket, struct
value = array.array('B', struct.pack('II', 0x17, 0))  # ETHTOOL_STXCSUM, off
ifr = struct.pack('16sP', b'eth0', value.buffer_info()[0]).ljust(40, b'\\0')
fcntl.ioctl(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), 0x8946, ifr)  # SIOCETHTOOL
`;

describe('the learning switch on an Open vSwitch netdev bridge', () => {
  const id = randomBytes(2).toString('hex');
  const br = `tsoft${id}br`;
  const hosts = [1, 2].map((n) => ({
    ns: `tsoft-${id}-h${n}`,
    veth: `tsoft${id}h${n}`,
    ip: `10.0.0.${n}`,
    mac: `02:00:00:00:00:0${n}`,
    ofport: n,
  }));
  const dpid = BigInt(`0x0000cafe0000${id}`);
  const controller = new Controller({ host: '127.0.0.1', port: 0, logger: silent });
  const children: ChildProcess[] = [];
  let sw: SwitchHandle;

  beforeAll(async () => {
    try {
      await sh('ovs-vsctl', '--timeout=2', 'show');
    } catch {
      await sh('/usr/share/openvswitch/scripts/ovs-ctl', 'start', '--system-id=random');
    }
    learningSwitch(controller);
    const { port } = await controller.listen();
    for (const h of hosts) {
      await sh('ip', 'netns', 'add', h.ns);
      await sh('ip', 'link', 'add', h.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns);
      await sh('ip', '-n', h.ns, 'link', 'set', 'eth0', 'address', h.mac);
      await sh('ip', '-n', h.ns, 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0');
      await sh('ip', '-n', h.ns, 'link', 'set', 'eth0', 'up');
      await sh('ip', 'link', 'set', h.veth, 'up');
      await ns(h.ns, '/usr/bin/python3', '-c', TX_CSUM_OFF);
    }
    const connected = nextSwitch(controller, (s) => s.dpid === dpid);
    await sh('ovs-vsctl', '--timeout=5', 'add-br', br,
      '--', 'set', 'bridge', br, 'datapath_type=netdev', 'fail-mode=secure', 'protocols=OpenFlow13',
      `other-config:datapath-id=${dpid.toString(16).padStart(16, '0')}`,
      ...hosts.flatMap((h) => ['--', 'add-port', br, h.veth, '--', 'set', 'interface', h.veth, `ofport_request=${h.ofport}`]),
      '--', 'set-controller', br, `tcp:127.0.0.1:${port}`);
    sw = await connected;
  });

  afterAll(async () => {
    for (const c of children) c.kill();
    await sh('ovs-vsctl', '--timeout=5', '--if-exists', 'del-br', br).catch(() => {});
    for (const h of hosts) {
      await sh('ip', 'netns', 'del', h.ns).catch(() => {});
      await sh('ip', 'link', 'del', h.veth).catch(() => {});
    }
    await controller.close();
  });

  it('completes the handshake: dpid, features and the bridge ports', () => {
    expect(sw.dpid).toBe(dpid);
    expect(sw.features.nTables).toBeGreaterThan(0);
    const names = [...sw.ports.values()].map((p: Port) => p.name);
    expect(names).toEqual(expect.arrayContaining([br, ...hosts.map((h) => h.veth)]));
    expect(sw.ports.get(1)?.name).toBe(hosts[0].veth);
  });

  it('lets the hosts ping each other both ways', async () => {
    await ns(hosts[0].ns, 'ping', '-c', '2', '-i', '0.2', '-W', '2', hosts[1].ip);
    await ns(hosts[1].ns, 'ping', '-c', '2', '-i', '0.2', '-W', '2', hosts[0].ip);
  });

  it('installed the table-miss flow and the learned flows, as ovs-ofctl shows them', async () => {
    const flows = await sh('ovs-ofctl', '-O', 'OpenFlow13', '--no-stats', 'dump-flows', br);
    const lines = flows.split('\n').map((l) => l.trim());
    expect(lines).toContain('priority=0 actions=CONTROLLER:65535');
    const [a, b] = hosts;
    expect(lines).toContain(`idle_timeout=30, priority=1,in_port=1,dl_src=${a.mac},dl_dst=${b.mac} actions=output:2`);
    expect(lines).toContain(`idle_timeout=30, priority=1,in_port=2,dl_src=${b.mac},dl_dst=${a.mac} actions=output:1`);
  });

  it('carries TCP: iperf3 across the learning switch', async () => {
    // Not --one-off: an attempt that fails after connecting must not take the server with it.
    const server = spawn('ip', ['netns', 'exec', hosts[1].ns, 'iperf3', '--server'], { stdio: 'ignore' });
    children.push(server);
    let received: number | undefined;
    let failure = '';
    for (let attempt = 0; received === undefined && attempt < 20; attempt++) {
      try {
        const result = JSON.parse(await ns(hosts[0].ns, 'iperf3', '--client', hosts[1].ip, '--time', '1', '--json'));
        received = result.end?.sum_received?.bytes;
        failure = result.error ?? 'no result';
      } catch (e) {
        failure = String(e); // the server is not listening yet
      }
      if (received === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(received, failure).toBeGreaterThan(1_000_000);
  });

  it('resolves barrier() and a flow_stats request with the flows', async () => {
    await sw.barrier();
    const reply = await sw.request({
      type: 'flow_stats_request',
      tableId: OFPTT.ALL,
      outPort: OFPP.ANY,
      outGroup: OFPG.ANY,
      cookie: 0n,
      cookieMask: 0n,
      match: [],
    });
    expect(reply.type).toBe('flow_stats_reply');
    const text = (m: Match) => m.map((f) => `${f.field}=${'value' in f ? f.value : '?'}`).sort().join(',');
    const [a, b] = hosts;
    expect(reply.stats.filter((s) => s.priority === 1).map((s) => text(s.match)).sort()).toEqual([
      `eth_dst=${a.mac},eth_src=${b.mac},in_port=2`,
      `eth_dst=${b.mac},eth_src=${a.mac},in_port=1`,
    ]);
    expect(reply.stats.some((s) => s.priority === 0)).toBe(true);
  });

  it('commits a bundle of flow mods, and commits none of one with a mod the bridge refuses', async () => {
    const cookie = 0xb0b0n;
    const mod = (port: number, actions: FlowSpec['actions']) => flowMod({ tableId: 3, priority: 9, cookie, match: [{ field: 'in_port', value: port }], actions });
    const ours = async () =>
      (await sw.request({ type: 'flow_stats_request', tableId: 3, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie, cookieMask: 0xffffffffffffffffn, match: [] })).stats.length;
    await sw.bundle([mod(1, [{ type: 'output', port: 2, maxLen: 0 }]), mod(2, [{ type: 'output', port: 1, maxLen: 0 }])]);
    expect(await ours()).toBe(2);
    const err = await sw
      .bundle([mod(3, [{ type: 'output', port: 1, maxLen: 0 }]), mod(4, [{ type: 'group', groupId: 77 }]), { ...mod(1, []), command: OFPFC.DELETE }])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenFlowError);
    expect((err as OpenFlowError).is(ERR.BAD_ACTION.BAD_OUT_GROUP)).toBe(true);
    expect(await ours()).toBe(2);
    await sw.confirm({ ...mod(0, []), command: OFPFC.DELETE, cookieMask: 0xffffffffffffffffn });
  });

  it('rejects a request the switch refuses with a typed OpenFlowError', async () => {
    const err = await sw.request({ type: 'queue_get_config_request', port: 77 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenFlowError);
    expect((err as OpenFlowError).is(ERR.QUEUE_OP_FAILED.BAD_PORT)).toBe(true);
    await sw.barrier(); // the connection is fine afterwards
  });

  it("emits 'switch-down' when the switch goes away", async () => {
    const down = nextDown(controller, sw);
    await sh('ovs-vsctl', '--timeout=5', 'del-controller', br);
    expect(await down).toMatch(/closed/);
    expect(controller.switches.has(dpid)).toBe(false);
  });
});

// ---- a raw client playing the switch ------------------------------------------------

/** A switch written by hand on a TCP socket: answers echoes unless told to be silent. */
class RawSwitch {
  private readonly framer = new Framer();
  private readonly inbox: Message[] = [];
  private wake: (() => void) | undefined;
  silent = false;

  private constructor(readonly socket: Socket) {
    socket.on('error', () => {}); // the controller may close first; the tests check what it sent
    socket.on('data', (chunk) => {
      for (const f of this.framer.push(chunk)) {
        if (!f.ok) throw new Error(`controller sent an unframeable message: ${f.detail}`);
        const r = decodeMessage(f.bytes);
        if (!r.ok) throw new Error(`controller sent a malformed message: ${r.detail}`);
        if (r.msg.type === 'echo_request' && !this.silent) this.send({ type: 'echo_reply', xid: r.msg.xid, data: r.msg.data });
        else this.inbox.push(r.msg);
      }
      this.wake?.();
    });
  }

  static async connect(port: number): Promise<RawSwitch> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new RawSwitch(socket);
  }

  send(msg: Message): void {
    this.socket.write(encodeMessage(msg));
  }

  /** The next message from the controller of the given type (others are skipped). */
  async next<K extends Message['type']>(type: K, ms = 3_000): Promise<MessageOf<K>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.type === type);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as MessageOf<K>;
      if (Date.now() > deadline) throw new Error(`no ${type} from the controller within ${ms} ms`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 50);
      });
    }
  }

  /** HELLO, FEATURES and a PORT_DESC reply split in two REPLY_MORE parts. */
  async handshake(dpid: bigint): Promise<void> {
    this.send({ type: 'hello', xid: 1, elements: [{ type: 'versionbitmap', bitmaps: [0x10] }] });
    await this.next('hello');
    const fr = await this.next('features_request');
    this.send({
      type: 'features_reply', xid: fr.xid, datapathId: dpid, nBuffers: 0, nTables: 1, auxiliaryId: 0, capabilities: 0, reserved: 0,
    });
    const pd = await this.next('port_desc_request');
    this.send({ type: 'port_desc_reply', xid: pd.xid, flags: OFPMPF_MORE, ports: [rawPort(1)] });
    this.send({ type: 'port_desc_reply', xid: pd.xid, flags: 0, ports: [rawPort(2)] });
  }
}

function rawPort(portNo: number): Port {
  return {
    portNo, hwAddr: `02:00:00:00:01:0${portNo}`, name: `p${portNo}`, config: 0, state: 0,
    curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0,
  };
}

function packetIn(xid: number): MessageOf<'packet_in'> {
  return {
    type: 'packet_in', xid, bufferId: 0xffffffff, totalLen: 60, reason: 0, tableId: 0, cookie: 0n,
    match: [{ field: 'in_port', value: 1 }], data: new Uint8Array(60),
  };
}

describe('the controller with a raw client as the switch', () => {
  const opts: ControllerOptions = { host: '127.0.0.1', port: 0, logger: silent, echoInterval: 100, echoTimeout: 400 };
  let controller: Controller;
  let port: number;
  let dpidSeq = 0x7000n;

  async function connected(extra?: ControllerOptions): Promise<{ raw: RawSwitch; sw: SwitchHandle; c: Controller }> {
    const c = extra ? new Controller({ ...opts, ...extra }) : controller;
    const p = extra ? (await c.listen()).port : port;
    const dpid = ++dpidSeq;
    const up = nextSwitch(c, (s) => s.dpid === dpid);
    const raw = await RawSwitch.connect(p);
    await raw.handshake(dpid);
    return { raw, sw: await up, c };
  }

  beforeAll(async () => {
    controller = new Controller(opts);
    port = (await controller.listen()).port;
  });
  afterAll(() => controller.close());

  it('joins a PORT_DESC reply sent in REPLY_MORE parts during the handshake', async () => {
    const { sw, raw } = await connected();
    expect([...sw.ports.keys()]).toEqual([1, 2]);
    raw.socket.destroy();
  });

  it('answers malformed messages with the OFPT_ERROR the codec names, and the connection lives on', async () => {
    const { raw, sw } = await connected();
    let wentDown = false;
    controller.on('switch-down', (s) => (wentDown ||= s === sw));

    const good = encodeMessage(packetIn(0x51));
    const badMatch = good.slice();
    badMatch[8 + 16 + 3] = 200; // ofp_match.length past the end of the message
    const unknownType = encodeMessage({ type: 'echo_request', xid: 0x52, data: new Uint8Array(4) });
    unknownType[1] = 99;
    const oldVersion = encodeMessage({ type: 'echo_request', xid: 0x53, data: new Uint8Array(0) });
    oldVersion[0] = 0x01;

    const expected = [
      [badMatch, decodeMessage(badMatch)],
      [unknownType, { ok: false, error: ERR.BAD_REQUEST.BAD_TYPE }],
      [oldVersion, { ok: false, error: ERR.BAD_REQUEST.BAD_VERSION }],
    ] as const;
    for (const [bytes, result] of expected) {
      if (result.ok) throw new Error('the corrupted message still decodes');
      raw.socket.write(bytes);
      const err = await raw.next('error');
      expect({ type: err.errType, code: err.code }).toEqual(result.error);
      expect(err.xid).toBe(new DataView(bytes.buffer, bytes.byteOffset).getUint32(4));
      expect(err.data).toEqual(bytes.subarray(0, 64));
    }
    expect(badMatch.length).toBeGreaterThan(64); // so the 64-byte cut is exercised

    raw.send({ type: 'echo_request', xid: 0x54, data: Uint8Array.of(1, 2, 3) });
    expect(await raw.next('echo_reply')).toMatchObject({ xid: 0x54, data: Uint8Array.of(1, 2, 3) });
    await new Promise((r) => setTimeout(r, 50));
    expect(wentDown).toBe(false);
    expect(sw.state).toBe('ready');
    expect(sw.stats.malformed).toBe(3);
    raw.socket.destroy();
  });

  it('answers a message that cannot be framed with BAD_LEN, sent before it closes the connection', async () => {
    const { raw, sw } = await connected();
    const closed = once(raw.socket, 'close');
    raw.socket.write(Uint8Array.of(0x04, 2, 0, 4, 0, 0, 0, 0x61)); // length 4: under the 8-byte header
    const err = await raw.next('error');
    expect({ type: err.errType, code: err.code }).toEqual(ERR.BAD_REQUEST.BAD_LEN);
    await closed;
    expect(sw.state).toBe('closed');
  });

  it('assembles a multipart reply from REPLY_MORE parts, and rejects on OFPT_ERROR and on timeout', async () => {
    const { raw, sw } = await connected();
    const pending = sw.request({ type: 'port_stats_request', portNo: OFPP.ANY });
    const req = await raw.next('port_stats_request');
    const stat = (portNo: number) => ({
      portNo, rxPackets: 1n, txPackets: 2n, rxBytes: 3n, txBytes: 4n, rxDropped: 0n, txDropped: 0n, rxErrors: 0n,
      txErrors: 0n, rxFrameErr: 0n, rxOverErr: 0n, rxCrcErr: 0n, collisions: 0n, durationSec: 1, durationNsec: 0,
    });
    raw.send({ type: 'port_stats_reply', xid: req.xid, flags: OFPMPF_MORE, stats: [stat(1), stat(2)] });
    raw.send({ type: 'port_stats_reply', xid: req.xid, flags: 0, stats: [stat(3)] });
    const reply = await pending;
    expect(reply.stats.map((s) => s.portNo)).toEqual([1, 2, 3]);

    const refused = sw.request({ type: 'desc_request' });
    const dr = await raw.next('desc_request');
    const { type: errType, code } = ERR.BAD_REQUEST.BAD_MULTIPART;
    raw.send({ type: 'error', xid: dr.xid, errType, code, data: new Uint8Array(0) });
    const err = await refused.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenFlowError);
    expect((err as OpenFlowError).is(ERR.BAD_REQUEST.BAD_MULTIPART)).toBe(true);

    const late = await sw.barrier({ timeout: 100 }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(RequestError);
    expect((late as RequestError).reason).toBe('timeout');
    raw.socket.destroy();
  });

  it('drops a switch that stops answering echoes', async () => {
    const { raw, sw } = await connected();
    raw.silent = true;
    expect(await nextDown(controller, sw, 2_000)).toMatch(/echo timeout/);
    expect((await raw.next('echo_request')).type).toBe('echo_request');
    raw.socket.destroy();
  });

  it("keeps a switch through the controller's own stall: time its event loop was blocked is not the switch's silence", async () => {
    const { raw, sw } = await connected();
    let wentDown = false;
    controller.on('switch-down', (s) => (wentDown ||= s === sw));
    // Two and a half echo timeouts of synchronous work (a big bundle, say), then time for the timers and the I/O.
    for (const end = Date.now() + 1_000; Date.now() < end; );
    await new Promise((r) => setTimeout(r, 300));
    expect(wentDown).toBe(false);
    expect(sw.state).toBe('ready');
    raw.socket.destroy();
  });

  it('bounds the packet-in queue: a flood is dropped and counted, not buffered', async () => {
    const { raw, sw, c } = await connected({ packetInQueue: 4 });
    let delivered = 0;
    c.on('packet_in', () => delivered++);
    const flood = Buffer.concat(Array.from({ length: 200 }, (_, i) => encodeMessage(packetIn(0x1000 + i))));
    raw.socket.write(flood);
    raw.send({ type: 'echo_request', xid: 0x99, data: new Uint8Array(0) });
    await raw.next('echo_reply'); // everything before it has been read
    await new Promise((r) => setImmediate(r));
    expect(sw.stats.packetIns).toBe(200);
    expect(sw.stats.packetInDrops).toBeGreaterThan(0);
    expect(delivered + sw.stats.packetInDrops).toBe(200);
    raw.socket.destroy();
    await c.close();
  });

  it('holds packet-ins back while the switch does not read what the controller writes', async () => {
    const { raw, sw, c } = await connected({ echoInterval: 5_000, echoTimeout: 15_000 });
    let delivered = 0;
    c.on('packet_in', () => delivered++);
    raw.socket.pause();
    const big = packetOut({ actions: [], data: new Uint8Array(60_000) });
    for (let i = 0; i < 400; i++) sw.send(big); // 24 MB: more than the kernel buffers take
    let drained = false;
    const whenDrained = sw.drained().then(() => (drained = true));
    raw.send(packetIn(0x77));
    await until(() => sw.stats.packetIns === 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(drained).toBe(false);
    expect(delivered).toBe(0); // read and queued, but not handed to the app
    raw.socket.resume();
    await whenDrained;
    await until(() => delivered === 1);
    raw.socket.destroy();
    await c.close();
  });

  it('refuses a peer that cannot speak 1.3 with HELLO_FAILED', async () => {
    const raw = await RawSwitch.connect(port);
    const closed = once(raw.socket, 'close');
    raw.send({ type: 'hello', version: 0x01, xid: 9, elements: [] });
    const err = await raw.next('error');
    expect({ type: err.errType, code: err.code }).toEqual(ERR.HELLO_FAILED.INCOMPATIBLE);
    await closed;
  });
});
