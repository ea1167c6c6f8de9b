// The controller's handle on one switch connection, built on the OpenFlow
// channel (src/openflow/channel/channel.ts: framing, HELLO, echo liveness,
// requests by xid, OFPT_ERROR for bad input and batched writes, with their
// invariants). On top of it: the handshake (FEATURES, then PORT_DESC; spec
// 7.3.1), the datapath's features and ports, roles and the switch config,
// messages confirmed by a barrier, and the bounded packet-in queue between the
// socket and the apps. The Controller creates a SwitchHandle per accepted
// socket; apps get it, handshake done, in the 'switch' event and use send(),
// request(), confirm(), barrier() and ports.
//
// Invariants:
// - No app sees the switch, or any of its asynchronous messages, before the
//   handshake is done; ports are kept current by port-status from then on.
// - An OFPT_ERROR for a message sent with confirm() rejects that call and
//   reaches no app; an xid stays reserved while it is watched.
// - Memory is bounded: at most packetInQueue packet-ins wait for the apps (more
//   are dropped undecoded, counted and logged once per interval), and
//   packet-ins are not handed to the apps while the socket's write buffer is
//   over its high-water mark.

import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import {
  encodeBundleAdd,
  encodeBundleControl,
  encodeMessage,
  errorName,
  OFPBCT,
  OFPBF,
  OFPCR_ROLE,
  OFPPR,
  OFPT,
  ONF_EXPERIMENTER,
  ONFT,
  type Message,
  type MessageOf,
  type Port,
} from '../openflow/codec/index.ts';
import {
  Channel,
  OpenFlowError,
  RequestError,
  type ChannelOptions,
  type Outgoing,
  type ReplyTo,
  type RequestType,
} from '../openflow/channel/index.ts';
import type { ControllerEvents } from './controller.ts';
import { Ring } from './ring.ts';

/** Controller roles (spec 6.3.7): names for OFPCR_ROLE_*. */
export type Role = 'equal' | 'master' | 'slave';
const ROLE_CODE = { equal: OFPCR_ROLE.EQUAL, master: OFPCR_ROLE.MASTER, slave: OFPCR_ROLE.SLAVE, nochange: OFPCR_ROLE.NOCHANGE } as const;
const ROLE_NAME: Record<number, Role> = { [OFPCR_ROLE.EQUAL]: 'equal', [OFPCR_ROLE.MASTER]: 'master', [OFPCR_ROLE.SLAVE]: 'slave' };

/** The channel's timers and request cap, and the handle's own limits. */
export interface SwitchHandleOptions
  extends Pick<ChannelOptions, 'echoInterval' | 'echoTimeout' | 'requestTimeout' | 'maxPendingRequests'> {
  /** Time from connect to the end of the handshake (ms). */
  handshakeTimeout: number;
  /** Packet-ins that may wait for the app; more are dropped. */
  packetInQueue: number;
  /** At most one log line about dropped packet-ins per this many ms. */
  dropLogInterval: number;
}

/** What a SwitchHandle needs from its controller. */
export interface SwitchHandleHost {
  dispatch<E extends keyof ControllerEvents>(event: E, ...args: Parameters<ControllerEvents[E]>): void;
  up(sw: SwitchHandle): void;
  down(sw: SwitchHandle, reason: string, wasReady: boolean): void;
}

/**
 * Packet-ins handed to the app per event-loop turn: enough that their answers
 * leave in few large writes, few enough that replies and other switches get turns too.
 */
const PACKET_IN_BATCH = 256;

const hexDpid = (dpid: bigint) => `0x${dpid.toString(16).padStart(16, '0')}`;

export class SwitchHandle {
  /** Datapath id, from the features reply. */
  dpid = 0n;
  features!: MessageOf<'features_reply'>;
  /** Ports by number, from the port description and kept current by port-status messages. */
  readonly ports = new Map<number, Port>();
  state: 'handshake' | 'ready' | 'closed' = 'handshake';
  /** Packet-ins read and dropped (queue full), and frames that did not decode (counted by the channel). */
  readonly stats: { packetIns: number; packetInDrops: number; readonly malformed: number };
  /** This controller's role at the switch, as the last role reply said; every connection starts as equal. */
  role: Role = 'equal';
  /** The generation id of the last role reply (meaningful for master and slave). */
  generationId: bigint | undefined;

  private readonly channel: Channel;
  private log: Logger;
  /** Messages sent with confirm(): an OFPT_ERROR with their xid is handed here, not to the apps. */
  private readonly watched = new Map<number, (err: MessageOf<'error'>) => void>();
  private readonly packetIns: Ring<MessageOf<'packet_in'>>;
  private drainScheduled = false;
  private nextBundleId = 0;
  private dropsUnlogged = 0;
  private dropLogTimer: NodeJS.Timeout | undefined;
  private readonly handshakeTimer: NodeJS.Timeout;

  constructor(
    socket: Socket,
    private readonly opts: SwitchHandleOptions,
    private readonly host: SwitchHandleHost,
    log: Logger,
  ) {
    this.packetIns = new Ring(opts.packetInQueue);
    const { echoInterval, echoTimeout, requestTimeout, maxPendingRequests } = opts;
    this.channel = new Channel(
      socket,
      {
        echoInterval,
        echoTimeout,
        requestTimeout,
        maxPendingRequests,
        name: 'tsof-controller',
        admit: (bytes) => this.admit(bytes),
        reserved: (xid) => this.watched.has(xid),
      },
      log,
    );
    this.channel.annotate({ switch: this.remote });
    this.log = log.child({ switch: this.remote });
    const channelStats = this.channel.stats;
    this.stats = {
      packetIns: 0,
      packetInDrops: 0,
      get malformed() {
        return channelStats.malformed;
      },
    };
    this.handshakeTimer = setTimeout(() => this.close('handshake timed out'), opts.handshakeTimeout).unref();
    this.channel.on('open', () => this.handshake());
    this.channel.on('message', (msg) => this.receive(msg));
    this.channel.on('drain', () => this.scheduleDrain());
    this.channel.on('close', (reason) => this.closed(reason));
  }

  /** The switch's address and port. */
  get remote(): string {
    return this.channel.remote;
  }

  /** Sends a message; returns its xid. Messages sent after the switch went down are discarded. */
  send(msg: Outgoing): number {
    return this.channel.send(msg);
  }

  /**
   * Sends a request and resolves with its reply: the whole reply for a multipart
   * request, its lists joined across REPLY_MORE parts. Rejects with OpenFlowError
   * when the switch answers with OFPT_ERROR, RequestError otherwise.
   */
  request<M extends Outgoing<MessageOf<RequestType>>>(msg: M, opts?: { timeout?: number }): Promise<ReplyTo<M['type']>> {
    return this.channel.request(msg, opts);
  }

  /** Resolves when the switch has processed every message sent before it (spec 6.2). */
  async barrier(opts?: { timeout?: number }): Promise<void> {
    await this.request({ type: 'barrier_request' }, opts);
  }

  /**
   * Sends messages that have no reply (flow_mod, group_mod, set_config...) and a
   * barrier after them. Resolves when the switch has processed them all, or
   * rejects with the OpenFlowError of the first it refused; errors answered
   * here do not reach the 'error' event.
   */
  async confirm(msgs: Outgoing | Outgoing[], opts?: { timeout?: number }): Promise<void> {
    const errors: OpenFlowError[] = [];
    const xids: number[] = [];
    try {
      for (const m of Array.isArray(msgs) ? msgs : [msgs]) {
        const xid = m.xid ?? this.channel.nextXid();
        this.watched.set(xid, (err) => errors.push(new OpenFlowError(err, m.type)));
        xids.push(xid);
        this.channel.send(m, xid);
      }
      // The switch answers in order (spec 6.2), so every error comes before the barrier's reply.
      await this.barrier(opts);
    } finally {
      for (const xid of xids) this.watched.delete(xid);
    }
    if (errors.length) throw errors[0];
  }

  /**
   * Sends flow mods as one bundle (ONF's bundle extension for OpenFlow 1.3,
   * which Open vSwitch and tsof-switch speak; what `ovs-ofctl --bundle` does):
   * they take effect in order and together, or none of them does
   * (OFPBF_ATOMIC | OFPBF_ORDERED). As ovs-ofctl: open, the mods, a barrier,
   * then commit, or discard if the switch refused a mod as it was added.
   * Resolves once committed; rejects with the OpenFlowError of the mod that
   * failed (not the commit's OFPBFC_MSG_FAILED that follows it), or of a
   * bundle control the switch refused.
   */
  async bundle(mods: Outgoing<MessageOf<'flow_mod'>>[], opts?: { timeout?: number }): Promise<void> {
    const bundleId = this.nextBundleId;
    this.nextBundleId = (this.nextBundleId + 1) >>> 0;
    const flags = OFPBF.ATOMIC | OFPBF.ORDERED;
    const onf = (expType: number, data: Uint8Array) => ({ type: 'experimenter' as const, experimenter: ONF_EXPERIMENTER, expType, data });
    const control = (ctrlType: number) =>
      this.request(onf(ONFT.BUNDLE_CONTROL, encodeBundleControl({ bundleId, ctrlType, flags, properties: new Uint8Array(0) })), opts);
    const errors: OpenFlowError[] = [];
    const xids: number[] = [];
    try {
      await control(OFPBCT.OPEN_REQUEST);
      for (const m of mods) {
        // The added message carries the ADD_MESSAGE's xid (OpenFlow 1.4, 7.3.9.6).
        const xid = m.xid ?? this.channel.nextXid();
        this.watched.set(xid, (err) => errors.push(new OpenFlowError(err, m.type)));
        xids.push(xid);
        this.channel.send(onf(ONFT.BUNDLE_ADD_MESSAGE, encodeBundleAdd({ bundleId, flags, message: encodeMessage({ ...m, xid } as Message) })), xid);
      }
      await this.barrier(opts);
      await control(errors.length ? OFPBCT.DISCARD_REQUEST : OFPBCT.COMMIT_REQUEST);
    } catch (e) {
      throw errors[0] ?? e;
    } finally {
      for (const xid of xids) this.watched.delete(xid);
    }
    if (errors.length) throw errors[0];
  }

  /**
   * Asks for a role (spec 6.3.7). Master and slave need a generation id, which
   * the switch compares with the newest it has seen: an older one is refused
   * with OFPRRFC_STALE. Resolves with the role the switch granted; a master
   * request turns any other master into a slave.
   */
  async requestRole(role: 'equal'): Promise<{ role: Role; generationId: bigint }>;
  async requestRole(role: 'master' | 'slave', generationId: bigint): Promise<{ role: Role; generationId: bigint }>;
  async requestRole(role: Role, generationId = 0n): Promise<{ role: Role; generationId: bigint }> {
    const reply = await this.request({ type: 'role_request', role: ROLE_CODE[role], generationId });
    return this.noteRole(reply);
  }

  /** The role the switch has for this connection, without changing it (OFPCR_ROLE_NOCHANGE). */
  async queryRole(): Promise<{ role: Role; generationId: bigint }> {
    return this.noteRole(await this.request({ type: 'role_request', role: ROLE_CODE.nochange, generationId: 0n }));
  }

  private noteRole(reply: MessageOf<'role_reply'>): { role: Role; generationId: bigint } {
    const role = ROLE_NAME[reply.role];
    if (!role) throw new RequestError('malformed', 'role_request', `the switch replied with unknown role ${reply.role}`);
    this.role = role;
    this.generationId = reply.generationId;
    return { role, generationId: reply.generationId };
  }

  /** The switch configuration: fragment handling (OFPC_FRAG_*) and how many bytes of a packet a table-miss sends up. */
  async getConfig(opts?: { timeout?: number }): Promise<{ flags: number; missSendLen: number }> {
    const { flags, missSendLen } = await this.request({ type: 'get_config_request' }, opts);
    return { flags, missSendLen };
  }

  /** Sets the switch configuration; resolves once applied, rejects if refused (OFPET_SWITCH_CONFIG_FAILED). */
  async setConfig(config: { flags?: number; missSendLen?: number }, opts?: { timeout?: number }): Promise<void> {
    const now = config.flags === undefined || config.missSendLen === undefined ? await this.getConfig(opts) : undefined;
    await this.confirm({ type: 'set_config', flags: config.flags ?? now!.flags, missSendLen: config.missSendLen ?? now!.missSendLen }, opts);
  }

  /** Resolves when the socket's write buffer is below its high-water mark. */
  drained(): Promise<void> {
    return this.channel.drained();
  }

  /** Closes the connection; pending requests reject and 'switch-down' follows if the handshake was done. */
  close(reason = 'closed by the controller'): void {
    this.channel.close(reason);
  }

  toString(): string {
    return this.state === 'handshake' ? `switch ${this.remote}` : `switch ${hexDpid(this.dpid)}`;
  }

  /** The channel closed (its pending requests have rejected): the switch is gone. */
  private closed(reason: string): void {
    const wasReady = this.state === 'ready';
    this.state = 'closed';
    clearTimeout(this.handshakeTimer);
    this.flushDropLog();
    this.packetIns.clear();
    this.log.info({ reason }, 'switch disconnected');
    this.host.down(this, reason, wasReady);
  }

  // ---- the handshake -----------------------------------------------------------------

  /** After HELLO: FEATURES, then the ports; the apps hear of the switch when both are in. */
  private async handshake(): Promise<void> {
    try {
      const features = await this.request({ type: 'features_request' });
      // Auxiliary connections (spec 6.3.6) would share the main one's dpid; not supported yet.
      if (features.auxiliaryId !== 0) throw new Error(`auxiliary connection ${features.auxiliaryId} is not supported`);
      this.features = features;
      this.dpid = features.datapathId;
      this.log = this.log.child({ dpid: hexDpid(this.dpid) });
      this.channel.annotate({ dpid: hexDpid(this.dpid) });
      const desc = await this.request({ type: 'port_desc_request' });
      for (const p of desc.ports) this.ports.set(p.portNo, p);
    } catch (err) {
      return this.close(`handshake failed: ${(err as Error).message}`);
    }
    clearTimeout(this.handshakeTimer);
    if (this.state === 'closed') return;
    this.state = 'ready';
    this.log.info({ ports: this.ports.size, tables: this.features.nTables }, 'switch connected');
    this.host.up(this);
    this.scheduleDrain();
  }

  // ---- input ------------------------------------------------------------------------

  /** Sees each frame before the channel decodes it: a packet-in that finds the queue full is dropped undecoded. */
  private admit(bytes: Uint8Array): boolean {
    if (bytes[1] !== OFPT.PACKET_IN || this.state !== 'ready') return true;
    this.stats.packetIns++;
    if (!this.packetIns.full) return true;
    this.countDrop();
    return false;
  }

  private receive(msg: Message): void {
    if (msg.type === 'error') {
      const watcher = this.watched.get(msg.xid);
      if (watcher) return watcher(msg);
    }
    if (msg.type === 'port_status') {
      if (msg.reason === OFPPR.DELETE) this.ports.delete(msg.desc.portNo);
      else this.ports.set(msg.desc.portNo, msg.desc);
    }
    // Before the handshake ends no app knows this switch; its async messages are not delivered.
    if (this.state !== 'ready') return;
    if (msg.type === 'packet_in') {
      this.packetIns.push(msg);
      this.scheduleDrain();
    } else {
      this.deliver(msg);
    }
  }

  private deliver(msg: Message): void {
    const h = this.host;
    h.dispatch('message', this, msg);
    switch (msg.type) {
      case 'packet_in':
        return h.dispatch('packet_in', this, msg);
      case 'port_status':
        return h.dispatch('port_status', this, msg);
      case 'flow_removed':
        return h.dispatch('flow_removed', this, msg);
      case 'error':
        this.log.warn({ error: errorName({ type: msg.errType, code: msg.code }), xid: msg.xid }, 'switch reported an error');
        return h.dispatch('error', this, msg);
      case 'experimenter':
        return h.dispatch('experimenter', this, msg);
    }
  }

  // ---- the packet-in queue --------------------------------------------------------------

  private scheduleDrain(): void {
    if (this.drainScheduled || this.channel.congested || this.packetIns.size === 0) return;
    this.drainScheduled = true;
    setImmediate(this.drainPacketIns);
  }

  private readonly drainPacketIns = (): void => {
    this.drainScheduled = false;
    for (let n = 0; n < PACKET_IN_BATCH && !this.channel.congested && this.state === 'ready'; n++) {
      const msg = this.packetIns.shift();
      if (!msg) return;
      this.deliver(msg);
    }
    this.scheduleDrain();
  };

  /** Drops are logged as one count per dropLogInterval, not one line each. */
  private countDrop(): void {
    this.stats.packetInDrops++;
    this.dropsUnlogged++;
    this.dropLogTimer ??= setTimeout(() => this.flushDropLog(), this.opts.dropLogInterval).unref();
  }

  private flushDropLog(): void {
    clearTimeout(this.dropLogTimer);
    this.dropLogTimer = undefined;
    if (this.dropsUnlogged === 0) return;
    this.log.warn(
      { dropped: this.dropsUnlogged, total: this.stats.packetInDrops, capacity: this.packetIns.capacity },
      `packet-in queue full: dropped ${this.dropsUnlogged} packet-ins`,
    );
    this.dropsUnlogged = 0;
  }
}
