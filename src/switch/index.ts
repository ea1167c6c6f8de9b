// tsof-switch: an OpenFlow 1.3 switch (what ovs-vswitchd is to Open vSwitch)
// made of three rooms: the native datapath forwards (src/datapath/), the
// agent gives it OpenFlow semantics (agent.ts), the connection manager keeps
// the controllers and listeners (connections.ts). This file wires them
// together, adds and removes ports and traces frames while running (the
// control socket, control.ts; trace.ts), opens a named bridge's NAME.mgmt and
// NAME.snoop sockets (mgmt.ts), and keeps the fail mode: with no controller connected, a
// secure switch forwards only by the flows it has; a standalone one also
// learns like a plain Ethernet switch (OFPP_NORMAL), as Open vSwitch's
// fail-open mode does. The fail-open flow has the match and priority of a
// table-miss flow: a controller's table-miss flow in table 0 is set aside
// while it stands in, and put back when a controller connects.
//
// Invariants:
// - Layers call downwards only: connections -> channel -> codec; agent ->
//   datapath provider -> native. Nothing here touches packets.
// - stop() leaves nothing behind: connections closed, listeners, the
//   control socket and a named bridge's sockets removed, every port detached, the datapath thread ended.

import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { decodeValue, encodeMessage, flowStats, OFPFC, OFPG, OFPP, OFP_NO_BUFFER, type FlowStats } from '../openflow/codec/index.ts';
import { NativeDatapath, type Datapath, type PortSpec } from '../datapath/index.ts';
import type { Channel } from '../openflow/channel/index.ts';
import { SwitchAgent } from './agent.ts';
import { ConnectionManager, type Target, type TlsFiles } from './connections.ts';
import { ControlServer } from './control.ts';
import { bridgePath, Snoop } from './mgmt.ts';
import { UnixListener } from './unix-socket.ts';
import { formatTrace, frameFromHex } from './trace.ts';

export { SwitchAgent, Connection } from './agent.ts';
export { ConnectionManager, formatTarget, parseTarget, type Target, type TlsFiles } from './connections.ts';
export { controlRequest, defaultControlPath, type ControlReply } from './control.ts';
export { bridgePath, isBridgeName } from './mgmt.ts';
export { formatTrace, frameFromHex } from './trace.ts';

export type FailMode = 'secure' | 'standalone';

export interface SwitchOptions {
  dpid: bigint;
  /** Interfaces to attach at start, with their OpenFlow port numbers (0: the next free one). */
  ports: { ifname: string; port: number }[];
  /** Controllers to connect to and listeners to open. */
  targets: Target[];
  tls?: TlsFiles;
  failMode: FailMode;
  log: Logger;
  /** Unix socket for add-port/del-port while running; none when undefined. */
  controlPath?: string;
  /**
   * A bridge name: service connections on /run/tsof/NAME.mgmt (tsof-ofctl NAME, as
   * ovs-ofctl BR), and copies of the controllers' messages on NAME.snoop.
   */
  name?: string;
  dpDesc?: string;
  /** Echo after this much silence, close after twice it (ms); Open vSwitch's inactivity probe. */
  inactivityProbe?: number;
  maxBackoff?: number;
  /** Passive connections served at once; more are refused (default 64). */
  maxConnections?: number;
  /** Bytes unsent to a connection above which its input is left unread (ChannelOptions.maxBacklog; default 256 KiB). */
  maxBacklog?: number;
  packetInRate?: number;
  packetInBurst?: number;
  /**
   * The datapath thread's nice value (default -10, as ovs-ctl runs ovs-vswitchd): on a busy host the
   * forwarding goes ahead of the control side, which keeps the process's. Without the privilege to
   * raise it, a warning, and the thread runs at the process's.
   */
  datapathNice?: number;
}

/** The cookie of the flow fail-open installs, so that it can be told apart and removed. */
const FAIL_OPEN_COOKIE = 0x7f5f_0000_fa11_0000n;

export class TsofSwitch {
  readonly agent: SwitchAgent;
  readonly connections: ConnectionManager;
  private readonly dp: Datapath;
  private readonly log: Logger;
  private control: ControlServer | undefined;
  private readonly local: UnixListener[] = [];
  private readonly snoop: Snoop | undefined;
  private failOpen = false;
  /** While fail-open stands in for it: the flow_mod that puts back the controller's table-miss flow. */
  private tableMiss: Uint8Array | undefined;

  constructor(private readonly opts: SwitchOptions) {
    this.log = opts.log;
    this.dp = new NativeDatapath();
    const nice = opts.datapathNice ?? -10;
    try {
      this.dp.setNice(nice);
    } catch (err) {
      if (!['EACCES', 'EPERM'].includes((err as NodeJS.ErrnoException).code!)) throw err;
      this.log.warn({ nice }, "no privilege to set the datapath thread's nice value: it runs at the process's");
    }
    this.agent = new SwitchAgent({
      datapath: this.dp,
      dpid: opts.dpid,
      log: opts.log,
      dpDesc: opts.dpDesc,
      packetInRate: opts.packetInRate,
      packetInBurst: opts.packetInBurst,
    });
    const probe = opts.inactivityProbe ?? 5000;
    const channel = { echoInterval: probe, echoTimeout: 2 * probe, requestTimeout: probe, maxPendingRequests: 64, maxBacklog: opts.maxBacklog ?? 256 * 1024 };
    this.connections = new ConnectionManager(
      {
        targets: opts.targets,
        tls: opts.tls,
        channel,
        maxBackoff: opts.maxBackoff ?? 8000,
        maxConnections: opts.maxConnections ?? 64,
        log: opts.log,
      },
      (ch, target) => this.opened(ch, 'service' in target && target.service === true),
    );
    // A snooper is never probed (ovs-ofctl snoop does not answer echoes) and has nothing to say.
    const quiet = { ...channel, echoInterval: 2 ** 31 - 1, echoTimeout: 2 ** 31 - 1, name: 'tsof-switch' };
    if (opts.name) this.snoop = new Snoop(quiet, opts.log.child({ snoop: bridgePath(opts.name, 'snoop') }));
  }

  /** A connection whose HELLO exchange succeeded, from a controller or a service listener. */
  private opened(channel: Channel, service: boolean): void {
    this.agent.attach(channel, service);
    if (!service) this.snoop?.watch(channel);
    this.updateFailMode();
    channel.once('close', () => this.updateFailMode());
  }

  /** A connection to NAME.mgmt: a service connection, as those that come to a --listen ptcp: target. */
  private readonly acceptMgmt = (socket: Socket): void => {
    const path = bridgePath(this.opts.name!, 'mgmt');
    this.connections.accept(socket, { kind: 'ptcp', host: undefined, port: 0, service: true }, this.log.child({ listen: path }));
  };

  async start(): Promise<void> {
    try {
      // The control socket first: it finds out whether this switch is running already.
      if (this.opts.controlPath) this.control = await ControlServer.listen(this.opts.controlPath, this, this.log);
      if (this.opts.name) {
        this.local.push(await UnixListener.listen(bridgePath(this.opts.name, 'mgmt'), this.acceptMgmt, this.log, 'give it another --name', 'listening for OpenFlow connections'));
        this.local.push(await UnixListener.listen(bridgePath(this.opts.name, 'snoop'), this.snoop!.accept, this.log, 'give it another --name', 'listening for snoopers'));
      }
      for (const p of this.opts.ports) this.addPort(p.ifname, p.port);
      this.updateFailMode();
      await this.connections.start();
    } catch (e) {
      await this.stop();
      throw e;
    }
    this.log.info({ dpid: `0x${this.opts.dpid.toString(16)}`, ports: this.agent.ports().length, failMode: this.opts.failMode }, 'tsof-switch started');
  }

  /** Attaches a Linux interface (port 0: the next free number); controllers hear OFPPR_ADD. */
  addPort(ifname: string, port = 0): number {
    for (const p of this.agent.ports()) if (p.name === ifname) throw new Error(`${ifname} is port ${p.port} already`);
    const spec: PortSpec = { kind: 'afpacket', port: port || this.agent.freePortNumber(), ifname };
    return this.agent.addPort(spec).port;
  }

  /** Detaches a port, by interface name or number; controllers hear OFPPR_DELETE. */
  removePort(nameOrNumber: string): number {
    const port = this.agent.ports().find((p) => p.name === nameOrNumber || String(p.port) === nameOrNumber);
    if (!port) throw new Error(`no port named or numbered "${nameOrNumber}"`);
    this.agent.removePort(port.port);
    return port.port;
  }

  /**
   * How the datapath would handle this frame (hex) received on a port (name or number) now, as
   * text (trace.ts), the frame shown when showFrame; nothing is sent, counted or learned.
   */
  trace(nameOrNumber: string, frameHex: string, showFrame = false): string {
    const named = this.agent.ports().find((p) => p.name === nameOrNumber);
    const port = named?.port ?? (/^\d+$/.test(nameOrNumber) ? +nameOrNumber : NaN);
    if (!(port >= 1 && port <= OFPP.MAX)) throw new Error(`no port named "${nameOrNumber}", and not a port number`);
    const frame = frameFromHex(frameHex);
    return formatTrace(this.dp.trace(port, frame), frame, (n) => this.dp.port(n)?.name, showFrame);
  }

  async stop(): Promise<void> {
    await this.control?.close();
    this.snoop?.close();
    await Promise.all(this.local.splice(0).map((l) => l.close()));
    await this.connections.stop();
    this.agent.close();
    for (const p of this.agent.ports()) this.agent.removePort(p.port);
    this.dp.close();
    this.log.info('tsof-switch stopped');
  }

  /**
   * Standalone without a controller: a lowest-priority NORMAL flow in table 0; taken out when one connects.
   * Adding it replaces a table-miss flow (same match and priority), which is read first and added again after.
   */
  private updateFailMode(): void {
    const want = this.opts.failMode === 'standalone' && !this.agent.controllerConnected;
    if (want === this.failOpen) return;
    this.failOpen = want;
    const restore = this.tableMiss;
    this.tableMiss = want ? this.tableMissFlow() : undefined;
    // Putting the table-miss flow back replaces the fail-open flow in one step: no frame finds neither.
    const e = this.dp.flowMod(
      restore ??
        encodeMessage({
          type: 'flow_mod',
          xid: 0,
          cookie: FAIL_OPEN_COOKIE,
          cookieMask: 0xffffffffffffffffn,
          tableId: 0,
          command: want ? OFPFC.ADD : OFPFC.DELETE_STRICT,
          idleTimeout: 0,
          hardTimeout: 0,
          priority: 0,
          bufferId: OFP_NO_BUFFER,
          outPort: OFPP.ANY,
          outGroup: OFPG.ANY,
          flags: 0,
          match: [],
          instructions: want ? [{ type: 'apply_actions', actions: [{ type: 'output', port: OFPP.NORMAL, maxLen: 0 }] }] : [],
        }),
    );
    if (e) this.log.error({ error: e }, 'fail-open flow not changed');
    this.log.info(want ? 'no controller: fail-open (standalone), forwarding as a learning switch' : 'a controller is connected: fail-open ends');
  }

  /**
   * A flow_mod that adds table 0's table-miss flow again as it is now; undefined if it has none. A flow that
   * replaces another takes over its counters: the table-miss flow's count goes on, with fail-open's in it.
   */
  private tableMissFlow(): Uint8Array | undefined {
    const r = this.dp.flowStats(
      encodeMessage({ type: 'flow_stats_request', xid: 0, flags: 0, tableId: 0, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: 0n, cookieMask: 0n, match: [] }),
    );
    if (!r.ok) return undefined;
    // The body is ofp_flow_stats entries, each led by its 16-bit length.
    const view = new DataView(r.body.buffer, r.body.byteOffset, r.body.byteLength);
    let miss: FlowStats | undefined;
    for (let at = 0; at + 2 <= r.body.length && !miss; ) {
      const len = view.getUint16(at);
      if (len === 0) break;
      const f = decodeValue(flowStats, r.body.subarray(at, at + len));
      if (f.ok && f.value.priority === 0 && f.value.match.length === 0) miss = f.value;
      at += len;
    }
    if (!miss) return undefined;
    const { cookie, idleTimeout, hardTimeout, flags, instructions } = miss;
    return encodeMessage({
      type: 'flow_mod',
      xid: 0,
      cookie,
      cookieMask: 0n,
      tableId: 0,
      command: OFPFC.ADD,
      idleTimeout,
      hardTimeout,
      priority: 0,
      bufferId: OFP_NO_BUFFER,
      outPort: OFPP.ANY,
      outGroup: OFPG.ANY,
      flags,
      match: [],
      instructions,
    });
  }
}
