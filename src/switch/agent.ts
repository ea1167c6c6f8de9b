// The switch agent's OpenFlow semantics (what Open vSwitch calls ofproto): it
// answers each controller connection's messages over the datapath provider,
// keeps the ports and their descriptions, the controllers' roles and
// asynchronous configs, and turns the datapath's events (packet-ins, link
// changes, removed flows) into messages for the connections that asked for
// them. Connections come from connections.ts; the agent does not know TCP.
//
// Invariants:
// - Messages of one connection are handled in order and synchronously: a mod is
//   in force (and its error queued) before the next message is read.
//   Packet-outs are queued to the datapath thread in order, and a barrier
//   waits for those queued before it, so a BARRIER_REPLY follows everything
//   before it (spec 6.2).
// - Each OpenFlow check is made once: flow, group and meter mods and
//   packet-outs reach the native pipeline undecoded and it judges them whole;
//   for the other messages the codec rejects what does not decode (the channel
//   answers) and this file judges roles, config and multipart requests, the
//   datapath provider port-mods.
// - A slave is refused every write with OFPBRC_IS_SLAVE and receives only the
//   asynchronous messages its async config selects (by default port status).
// - Nothing here runs per forwarded packet: packet-ins arrive in batches from
//   the datapath, rate-limited per connection and dropped (counted) while a
//   connection's socket is backed up.

import type { Logger } from 'pino';
import type { Channel } from '../openflow/channel/index.ts';
import {
  decodeValue,
  encodeMessage,
  ERR,
  errorName,
  match as matchCodec,
  OFPCR_ROLE,
  OFPG,
  OFPMPF_MORE,
  OFPP,
  OFPPR,
  OFPQ_ALL,
  OFPT,
  OFPTT,
  OFP_NO_BUFFER,
  ONF_EXPERIMENTER,
  type Match,
  type Message,
  type MessageOf,
  type MessageType,
  type OfErrorCode,
} from '../openflow/codec/index.ts';
import type { Datapath, DatapathStats, FlowRemoved, LinkState, PacketIn, PortInfo, PortSpec, PortStats, TableStats } from '../datapath/index.ts';
import { CAPABILITIES, description, GROUP_FEATURES, meterFeatures, tableFeatures } from './features.ts';
import { Bundles } from './bundles.ts';
import { describePort } from './ports.ts';

/** SwitchAgent.counters(): a reading for observers such as the metrics endpoint. */
export interface SwitchCounters {
  ports: ({ port: number; name: string; live: boolean } & PortStats)[];
  tables: ({ tableId: number } & TableStats)[];
  datapath: DatapathStats;
  agent: { packetIns: number; packetInDrops: number; packetOutsDropped: number };
  connections: { service: boolean; role: string }[];
}

const ROLE_NAMES: Record<number, string> = { [OFPCR_ROLE.EQUAL]: 'equal', [OFPCR_ROLE.MASTER]: 'master', [OFPCR_ROLE.SLAVE]: 'slave' };

export interface AgentOptions {
  datapath: Datapath;
  /** Datapath id (features reply). */
  dpid: bigint;
  log: Logger;
  /** dp_desc in the description reply. */
  dpDesc?: string;
  /** Packet-ins a connection may receive per second (0: no limit), and the burst above it. */
  packetInRate?: number;
  packetInBurst?: number;
}

/** Index 0 of each mask: master or equal; index 1: slave (spec 7.3.10). */
type AsyncConfig = Omit<MessageOf<'get_async_reply'>, 'type' | 'xid' | 'version'>;
/** Spec 6.1.1: packet-ins but for invalid TTL, every port status and flow removed to masters and equals; port status to slaves. */
const DEFAULT_ASYNC: AsyncConfig = {
  packetInMask: [0b011, 0],
  portStatusMask: [0b111, 0b111],
  flowRemovedMask: [0b1111, 0],
};

/** One controller connection as the agent sees it. */
export class Connection {
  role: number = OFPCR_ROLE.EQUAL;
  async: AsyncConfig = structuredClone(DEFAULT_ASYNC);
  readonly stats = { packetIns: 0, packetInDrops: 0 };
  /** Token bucket for packet-ins. */
  tokens: number;
  refilledAt = Date.now();
  /**
   * Asynchronous messages wanted at all. A service connection (one that came
   * to a passive listener: ovs-ofctl, a monitor) gets none until it sets a
   * nonzero miss_send_len, as in Open vSwitch.
   */
  asyncOn: boolean;
  readonly bundles: Bundles;

  constructor(
    readonly channel: Channel,
    /** A passive listener's connection: it does not count as a controller for the fail mode. */
    readonly service: boolean,
    burst: number,
    dp: Datapath,
  ) {
    this.tokens = burst;
    this.asyncOn = !service;
    this.bundles = new Bundles(dp, channel);
  }

  get isSlave(): boolean {
    return this.role === OFPCR_ROLE.SLAVE;
  }

  /** Whether this connection asked for an async message of this kind and reason. */
  wants(kind: keyof AsyncConfig, reason: number): boolean {
    return this.asyncOn && ((this.async[kind][this.isSlave ? 1 : 0] >>> reason) & 1) === 1;
  }
}

/** Answers one message with an OFPT_ERROR, when there is an error to send. */
type Fail = (e: OfErrorCode | null) => void;
const failWith =
  (ch: Channel, xid: number, bytes: Uint8Array): Fail =>
  (e) => {
    if (e) ch.sendError(xid, e, bytes);
  };

/** What the datapath judges: channels hand these over undecoded (toDatapath). */
export const UNDECODED: ReadonlySet<number> = new Set([OFPT.FLOW_MOD, OFPT.GROUP_MOD, OFPT.METER_MOD, OFPT.PACKET_OUT]);
/** Messages a slave may not send (spec 6.3.7), besides those in UNDECODED. */
const WRITES = new Set<MessageType>(['port_mod', 'table_mod']);
/** Bytes of a multipart reply's headers (ofp_header + ofp_multipart_reply). */
const MP_HEADER = 16;
const MAX_MESSAGE = 0xffff;
const HR_NS = 1_000_000_000n;
/** native/dp.h: entries of a stats body begin with their u16 length at this offset. */
const ENTRY_LENGTH_AT = { flow: 0, group: 0, group_desc: 0, meter: 4, meter_config: 0 } as const;

export class SwitchAgent {
  readonly connections = new Set<Connection>();
  readonly dpid: bigint;
  /** Totals over every connection, closed ones included (a connection's own stats go with it). */
  readonly stats = { packetIns: 0, packetInDrops: 0, packetOutsDropped: 0 };
  private readonly dp: Datapath;
  private readonly log: Logger;
  private readonly dpDesc: string;
  private readonly rate: number;
  private readonly burst: number;
  /** The newest generation id a master or slave request carried (spec 6.3.7); undefined until one does. */
  private generationId: bigint | undefined;
  private config = { flags: 0, missSendLen: 128 };
  /** Packet-outs were queued to the datapath thread since the last barrier. */
  private packetOutsQueued = false;
  /** The table features reply, encoded with xid 0 (the tables are fixed). */
  private tableFeatures: Uint8Array[] | undefined;

  constructor(opts: AgentOptions) {
    this.dp = opts.datapath;
    this.dpid = opts.dpid;
    this.log = opts.log;
    this.dpDesc = opts.dpDesc ?? `tsof-switch dpid 0x${opts.dpid.toString(16).padStart(16, '0')}`;
    this.rate = opts.packetInRate ?? 0;
    this.burst = opts.packetInBurst ?? Math.max(this.rate, 1);
    this.dp.setConfig(this.config.flags, this.config.missSendLen);
    this.dp.on('packet_in', (batch) => this.onPacketIns(batch));
    this.dp.on('port_status', (port, link) => this.onLinkChange(port, link));
    this.dp.on('flow_removed', (flow) => this.onFlowRemoved(flow));
  }

  // ---- ports ----------------------------------------------------------------------

  /** The ports, by number. */
  ports(): readonly Readonly<PortInfo>[] {
    return this.dp.ports();
  }

  /** Adds a port and tells the controllers (OFPPR_ADD). */
  addPort(spec: PortSpec): Readonly<PortInfo> {
    const taken = this.dp.port(spec.port);
    if (taken) throw new Error(`port ${spec.port} exists (${taken.name})`);
    const port = this.dp.addPort(spec);
    this.log.info({ port: port.port, name: port.name }, 'port added');
    this.portStatus(OFPPR.ADD, port);
    return port;
  }

  /** Removes a port and tells the controllers (OFPPR_DELETE). */
  removePort(portNo: number): void {
    const port = this.dp.port(portNo);
    if (!port) throw new Error(`no port ${portNo}`);
    const desc = this.describe(port);
    this.dp.removePort(portNo);
    this.log.info({ port: portNo, name: port.name }, 'port removed');
    this.broadcast('portStatusMask', OFPPR.DELETE, { type: 'port_status', xid: 0, reason: OFPPR.DELETE, desc });
  }

  /** The next free port number from 1. */
  freePortNumber(): number {
    let n = 1;
    while (this.dp.port(n)) n++;
    return n;
  }

  private describe(port: Readonly<PortInfo>) {
    return describePort(port, this.dp.linkState(port.port));
  }

  private portStatus(reason: number, port: Readonly<PortInfo>): void {
    this.broadcast('portStatusMask', reason, { type: 'port_status', xid: 0, reason, desc: this.describe(port) });
  }

  private onLinkChange(portNo: number, link: LinkState): void {
    const port = this.dp.port(portNo);
    if (!port) return;
    // An interface deleted from under the switch takes its port with it (OFPPR_DELETE).
    if (link.gone) return this.removePort(portNo);
    this.log.info({ port: portNo, carrier: link.carrier, adminUp: link.adminUp }, 'link changed');
    this.portStatus(OFPPR.MODIFY, port);
  }

  // ---- connections ------------------------------------------------------------------

  /** Serves a connection whose HELLO exchange succeeded, until it closes; service: it came to a passive listener. */
  attach(channel: Channel, service: boolean): Connection {
    const conn = new Connection(channel, service, this.burst, this.dp);
    this.connections.add(conn);
    const guard = (xid: number, bytes: Uint8Array, handle: () => void) => {
      try {
        handle();
      } catch (err) {
        // A bug here must not take the switch down: the controller hears of it, the log keeps it.
        this.log.error({ err, type: bytes[1] }, 'handling a message failed');
        channel.sendError(xid, ERR.BAD_REQUEST.EPERM, bytes);
      }
    };
    channel.on('message', (msg, bytes) => guard(msg.xid, bytes, () => this.handle(conn, msg, bytes)));
    channel.on('frame', (ofpt, xid, bytes) => guard(xid, bytes, () => this.toDatapath(conn, ofpt, xid, bytes)));
    channel.on('close', () => this.connections.delete(conn));
    return conn;
  }

  /**
   * What an observer reads (metrics): each port's counters, the tables that
   * have flows or have been looked up in, the datapath's own counters, and
   * the open connections. Read when asked; nothing is kept for it.
   */
  counters(): SwitchCounters {
    const tables: SwitchCounters['tables'] = [];
    for (let tableId = 0; tableId < this.dp.limits.tables; tableId++) {
      const t = this.dp.tableStats(tableId);
      if (t.activeCount > 0 || t.lookupCount > 0n) tables.push({ tableId, ...t });
    }
    return {
      ports: this.dp.ports().map((p) => ({ port: p.port, name: p.name, ...this.dp.portStats(p.port), live: this.dp.linkState(p.port).live })),
      tables,
      datapath: this.dp.stats(),
      agent: { ...this.stats },
      connections: [...this.connections]
        .filter((c) => c.channel.state === 'open')
        .map((c) => ({ service: c.service, role: ROLE_NAMES[c.role] ?? String(c.role) })),
    };
  }

  /** Whether a controller (not a service connection) is connected: the fail modes look at this. */
  get controllerConnected(): boolean {
    for (const c of this.connections) if (!c.service && c.channel.state === 'open') return true;
    return false;
  }

  private broadcast(kind: keyof AsyncConfig, reason: number, msg: Message): void {
    let bytes: Uint8Array | undefined;
    for (const c of this.connections) {
      if (!c.wants(kind, reason)) continue;
      // Encoded once for all: sendBytes copies it into each outbox before anything else is encoded.
      bytes ??= encodeMessage(msg, 0);
      c.channel.sendBytes(bytes);
    }
  }

  // ---- messages from controllers ------------------------------------------------------

  private handle(conn: Connection, msg: Message, bytes: Uint8Array): void {
    const ch = conn.channel;
    const fail = failWith(ch, msg.xid, bytes);
    if (WRITES.has(msg.type) && conn.isSlave) return fail(ERR.BAD_REQUEST.IS_SLAVE);
    switch (msg.type) {
      case 'features_request':
        ch.send({
          type: 'features_reply',
          xid: msg.xid,
          datapathId: this.dpid,
          nBuffers: 0,
          nTables: this.dp.limits.tables,
          auxiliaryId: 0,
          capabilities: CAPABILITIES,
          reserved: 0,
        });
        return;
      case 'get_config_request':
        ch.send({ type: 'get_config_reply', xid: msg.xid, ...this.config });
        return;
      case 'set_config':
        if (msg.flags & ~3) return fail(ERR.SWITCH_CONFIG_FAILED.BAD_FLAGS);
        if (conn.service) conn.asyncOn = msg.missSendLen > 0;
        // A slave's set_config changes nothing (as in Open vSwitch): the config is the switch's.
        if (conn.isSlave) return;
        this.config = { flags: msg.flags, missSendLen: msg.missSendLen };
        this.dp.setConfig(msg.flags, msg.missSendLen);
        return;
      case 'barrier_request':
        // Mods are in force when handled; packet-outs wait on the datapath thread's queue.
        if (this.packetOutsQueued) {
          this.dp.sync();
          this.packetOutsQueued = false;
        }
        ch.send({ type: 'barrier_reply', xid: msg.xid });
        return;
      case 'port_mod':
        return this.portMod(msg, fail);
      case 'table_mod':
        // OpenFlow 1.3 deprecates the table config bits (7.3.3): nothing to set, only the table to check.
        if (msg.tableId >= this.dp.limits.tables && msg.tableId !== OFPTT.ALL) return fail(ERR.TABLE_MOD_FAILED.BAD_TABLE);
        return;
      case 'role_request':
        return this.roleRequest(conn, msg, fail);
      case 'get_async_request':
        ch.send({ type: 'get_async_reply', xid: msg.xid, ...conn.async });
        return;
      case 'set_async':
        conn.async = { packetInMask: msg.packetInMask, portStatusMask: msg.portStatusMask, flowRemovedMask: msg.flowRemovedMask };
        return;
      case 'queue_get_config_request':
        if (msg.port !== OFPP.ANY && !this.dp.port(msg.port)) return fail(ERR.QUEUE_OP_FAILED.BAD_PORT);
        ch.send({ type: 'queue_get_config_reply', xid: msg.xid, port: msg.port, queues: [] });
        return;
      case 'error':
        this.log.warn({ remote: ch.remote, error: errorName({ type: msg.errType, code: msg.code }) }, 'a controller sent an error');
        return;
      case 'echo_reply':
        return;
      case 'experimenter':
        if (msg.experimenter !== ONF_EXPERIMENTER) return fail(ERR.BAD_REQUEST.BAD_EXPERIMENTER);
        // Bundles are writes (Open vSwitch refuses them to a slave too).
        if (conn.isSlave) return fail(ERR.BAD_REQUEST.IS_SLAVE);
        return conn.bundles.handle(msg, fail);
    }
    if (msg.type.endsWith('_request') && 'flags' in msg) return this.multipart(conn, msg, bytes, fail);
    // Switch-to-controller messages and replies have no meaning here.
    fail(ERR.BAD_REQUEST.BAD_TYPE);
  }

  /**
   * Flow, group and meter mods and packet-outs, undecoded (UNDECODED): the
   * datapath decodes and judges them whole, so the switch has one judge of
   * each, whatever is wrong with them.
   */
  private toDatapath(conn: Connection, ofpt: number, xid: number, bytes: Uint8Array): void {
    const fail = failWith(conn.channel, xid, bytes);
    if (conn.isSlave) return fail(ERR.BAD_REQUEST.IS_SLAVE);
    if (ofpt === OFPT.FLOW_MOD) return fail(this.dp.flowMod(bytes));
    if (ofpt === OFPT.GROUP_MOD) return fail(this.dp.groupMod(bytes));
    if (ofpt === OFPT.METER_MOD) return fail(this.dp.meterMod(bytes));
    try {
      fail(this.dp.executePacketOut(bytes));
      this.packetOutsQueued = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      // The datapath thread is behind: like a full transmit queue, the packet is dropped and counted.
      if (this.stats.packetOutsDropped++ === 0) this.log.warn('packet-out queue full: dropping packet-outs');
    }
  }

  private portMod(msg: MessageOf<'port_mod'>, fail: Fail): void {
    const before = this.dp.port(msg.portNo)?.config;
    const e = this.dp.portMod(msg.portNo, msg.hwAddr, msg.config, msg.mask);
    if (e) return fail(e);
    const port = this.dp.port(msg.portNo)!;
    if (port.config !== before) this.portStatus(OFPPR.MODIFY, port);
  }

  /** Spec 6.3.7: generation ids order master and slave requests; a master request demotes the other masters. */
  private roleRequest(conn: Connection, msg: MessageOf<'role_request'>, fail: Fail): void {
    const { role, generationId } = msg;
    if (role > OFPCR_ROLE.SLAVE) return fail(ERR.ROLE_REQUEST_FAILED.BAD_ROLE);
    if (role === OFPCR_ROLE.MASTER || role === OFPCR_ROLE.SLAVE) {
      // Compared as a wrapping signed difference, so the ids may wrap around 2^64.
      if (this.generationId !== undefined && BigInt.asIntN(64, generationId - this.generationId) < 0n) {
        return fail(ERR.ROLE_REQUEST_FAILED.STALE);
      }
      this.generationId = generationId;
    }
    if (role !== OFPCR_ROLE.NOCHANGE) {
      if (role === OFPCR_ROLE.MASTER) for (const c of this.connections) if (c !== conn && c.role === OFPCR_ROLE.MASTER) c.role = OFPCR_ROLE.SLAVE;
      conn.role = role;
    }
    conn.channel.send({ type: 'role_reply', xid: msg.xid, role: conn.role, generationId: this.generationId ?? 0n });
  }

  // ---- multipart requests (7.3.5) ---------------------------------------------------

  private multipart(conn: Connection, msg: Message, bytes: Uint8Array, fail: Fail): void {
    const ch = conn.channel;
    const xid = msg.xid;
    // A request in several parts only makes sense for table features, which this switch does not let controllers set.
    if ((msg as { flags: number }).flags & OFPMPF_MORE) return fail(ERR.BAD_REQUEST.MULTIPART_BUFFER_OVERFLOW);
    switch (msg.type) {
      case 'desc_request':
        ch.send({ type: 'desc_reply', xid, ...description(this.dpDesc) });
        return;
      case 'flow_stats_request': {
        const r = this.dp.flowStats(bytes);
        if (!r.ok) return fail(r.error);
        return this.sendBody(ch, xid, bytes, r.body, ENTRY_LENGTH_AT.flow);
      }
      case 'aggregate_stats_request': {
        const r = this.dp.aggregateStats(bytes);
        if (!r.ok) return fail(r.error);
        ch.send({ type: 'aggregate_stats_reply', xid, packetCount: r.packetCount, byteCount: r.byteCount, flowCount: r.flowCount });
        return;
      }
      case 'table_stats_request': {
        const stats = Array.from({ length: this.dp.limits.tables }, (_, tableId) => ({ tableId, ...this.dp.tableStats(tableId) }));
        return this.sendList(ch, { type: 'table_stats_reply', xid, stats, flags: 0 }, 'stats');
      }
      case 'port_stats_request': {
        const ports = this.selectPorts(msg.portNo);
        if (!ports) return fail(ERR.BAD_REQUEST.BAD_PORT);
        const now = process.hrtime.bigint();
        const stats = ports.map((p) => {
          const s = this.dp.portStats(p.port);
          const up = now - p.addedAt;
          return {
            portNo: p.port,
            ...s,
            rxFrameErr: 0n,
            rxOverErr: 0n,
            rxCrcErr: 0n,
            collisions: 0n,
            durationSec: Number(up / HR_NS),
            durationNsec: Number(up % HR_NS),
          };
        });
        return this.sendList(ch, { type: 'port_stats_reply', xid, stats, flags: 0 }, 'stats');
      }
      case 'port_desc_request': {
        const ports = this.dp.ports().map((p) => this.describe(p));
        return this.sendList(ch, { type: 'port_desc_reply', xid, ports, flags: 0 }, 'ports');
      }
      case 'queue_stats_request':
        // No queues are configured: every port's list is empty, an unknown port is an error (7.3.5.8).
        if (msg.portNo !== OFPP.ANY && !this.dp.port(msg.portNo)) return fail(ERR.QUEUE_OP_FAILED.BAD_PORT);
        if (msg.queueId !== OFPQ_ALL) return fail(ERR.QUEUE_OP_FAILED.BAD_QUEUE);
        ch.send({ type: 'queue_stats_reply', xid, stats: [] });
        return;
      case 'group_stats_request':
        return this.sendBody(ch, xid, bytes, this.dp.groupStats(msg.groupId), ENTRY_LENGTH_AT.group);
      case 'group_desc_request':
        return this.sendBody(ch, xid, bytes, this.dp.groupDesc(OFPG.ALL), ENTRY_LENGTH_AT.group_desc);
      case 'group_features_request':
        ch.send({ type: 'group_features_reply', xid, ...GROUP_FEATURES });
        return;
      case 'meter_stats_request':
        return this.sendBody(ch, xid, bytes, this.dp.meterStats(msg.meterId), ENTRY_LENGTH_AT.meter);
      case 'meter_config_request':
        return this.sendBody(ch, xid, bytes, this.dp.meterConfig(msg.meterId), ENTRY_LENGTH_AT.meter_config);
      case 'meter_features_request':
        ch.send({ type: 'meter_features_reply', xid, ...meterFeatures(this.dp.limits) });
        return;
      case 'table_features_request':
        // Setting the tables' features (a request with a body) is refused: the pipeline is fixed (7.3.5.18.1).
        if (msg.tables.length) return fail(ERR.TABLE_FEATURES_FAILED.EPERM);
        // The tables never change: their reply is encoded once (ovs-ofctl asks for it before each command).
        this.tableFeatures ??= this.encodeList({ type: 'table_features_reply', xid: 0, tables: tableFeatures(this.dp.limits), flags: 0 }, 'tables');
        for (const part of this.tableFeatures) {
          new DataView(part.buffer, part.byteOffset).setUint32(4, xid);
          ch.sendBytes(part);
        }
        return;
      case 'experimenter_stats_request':
        return fail(ERR.BAD_REQUEST.BAD_EXPERIMENTER);
    }
    fail(ERR.BAD_REQUEST.BAD_MULTIPART);
  }

  /** The ports a port stats request selects: one, or all for OFPP_ANY; undefined for an unknown port. */
  private selectPorts(portNo: number): readonly Readonly<PortInfo>[] | undefined {
    if (portNo === OFPP.ANY) return this.dp.ports();
    const p = this.dp.port(portNo);
    return p && [p];
  }

  /**
   * A multipart reply from a list, in as many messages as it takes (each under
   * 64 KiB, all but the last flagged REPLY_MORE; spec 7.3.5).
   */
  private sendList<M extends Message>(ch: Channel, reply: M, key: keyof M & string): void {
    for (const part of this.encodeList(reply, key)) ch.sendBytes(part);
  }

  /** sendList's messages, encoded. */
  private encodeList<M extends Message>(reply: M, key: keyof M & string): Uint8Array[] {
    const items = reply[key] as unknown[];
    const part = (from: number, to: number, flags: number) =>
      encodeMessage({ ...reply, [key]: items.slice(from, to), flags } as M, reply.xid);
    try {
      return [part(0, items.length, 0)];
    } catch (e) {
      if (!(e instanceof RangeError)) throw e; // over 64 KiB: cut below
    }
    const empty = part(0, 0, 0).length;
    // Each entry measured once (its encoding alone, less the empty reply), then cut greedily.
    const sizes = items.map((_, i) => part(i, i + 1, 0).length - empty);
    const parts: Uint8Array[] = [];
    let start = 0;
    while (start < items.length) {
      let end = start;
      for (let size = empty; end < items.length && size + sizes[end] <= MAX_MESSAGE; end++) size += sizes[end];
      if (end === start) throw new RangeError(`one ${reply.type} entry is over 64 KiB`);
      parts.push(part(start, end, end < items.length ? OFPMPF_MORE : 0));
      start = end;
    }
    return parts;
  }

  /**
   * A multipart reply from a datapath stats body (wire entries back to back),
   * cut between entries into messages under 64 KiB.
   */
  private sendBody(ch: Channel, xid: number, request: Uint8Array, body: Uint8Array, lengthAt: number): void {
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const mpType = (request[8] << 8) | request[9];
    let start = 0;
    do {
      let end = start;
      while (end < body.length) {
        const len = view.getUint16(end + lengthAt);
        if (end + len - start > MAX_MESSAGE - MP_HEADER) break;
        end += len;
      }
      const part = new Uint8Array(MP_HEADER + end - start);
      const dv = new DataView(part.buffer);
      part[0] = request[0];
      part[1] = 19; // OFPT_MULTIPART_REPLY
      dv.setUint16(2, part.length);
      dv.setUint32(4, xid);
      dv.setUint16(8, mpType);
      dv.setUint16(10, end < body.length ? OFPMPF_MORE : 0);
      part.set(body.subarray(start, end), MP_HEADER);
      ch.sendBytes(part);
      start = end;
    } while (start < body.length);
  }

  // ---- events from the datapath -----------------------------------------------------

  private onPacketIns(batch: PacketIn[]): void {
    const now = Date.now();
    for (const p of batch) {
      let bytes: Uint8Array | undefined;
      for (const c of this.connections) {
        if (c.channel.state !== 'open' || !c.wants('packetInMask', p.reason)) continue;
        c.stats.packetIns++;
        this.stats.packetIns++;
        if (!this.admitPacketIn(c, now)) {
          c.stats.packetInDrops++;
          this.stats.packetInDrops++;
          continue;
        }
        bytes ??= encodeMessage(packetInMessage(p), 0);
        c.channel.sendBytes(bytes);
      }
    }
  }

  /** The slow path's bound: a connection's rate, and none while its socket is backed up. */
  private admitPacketIn(c: Connection, now: number): boolean {
    if (c.channel.congested) return false;
    if (this.rate === 0) return true;
    c.tokens = Math.min(this.burst, c.tokens + ((now - c.refilledAt) * this.rate) / 1000);
    c.refilledAt = now;
    if (c.tokens < 1) return false;
    c.tokens--;
    return true;
  }

  private onFlowRemoved(f: FlowRemoved): void {
    const m = decodeValue(matchCodec, f.match);
    if (!m.ok) {
      this.log.error({ detail: m.detail }, 'a removed flow has a match that does not decode');
      return;
    }
    const { match: _raw, ...fields } = f;
    this.broadcast('flowRemovedMask', f.reason, { type: 'flow_removed', xid: 0, ...fields, match: m.value });
  }

  /** Detaches every connection; the datapath is the caller's to close. */
  close(): void {
    for (const c of [...this.connections]) c.channel.close('the switch is stopping');
  }
}

/** The packet-in for a datapath upcall: the pipeline fields that are set, in the match (spec 7.4.1). */
function packetInMessage(p: PacketIn): MessageOf<'packet_in'> {
  const match: Match = [{ field: 'in_port', value: p.inPort }];
  if (p.inPhyPort !== p.inPort) match.push({ field: 'in_phy_port', value: p.inPhyPort });
  if (p.metadata !== 0n) match.push({ field: 'metadata', value: p.metadata });
  if (p.tunnelId !== 0n) match.push({ field: 'tunnel_id', value: p.tunnelId });
  return {
    type: 'packet_in',
    xid: 0,
    bufferId: OFP_NO_BUFFER,
    totalLen: p.totalLen,
    reason: p.reason,
    tableId: p.tableId,
    cookie: p.cookie,
    match,
    data: p.data,
  };
}
