// One switch connection: framing and decoding, the handshake, echo liveness,
// requests matched to replies by xid (roles and the switch config among them),
// messages confirmed by a barrier, the bounded packet-in queue, and writes
// gathered into one per event-loop turn (outbox.ts). The Controller creates a
// Switch per accepted socket; apps get it, handshake done, in the 'switch'
// event and use send(), request(), barrier() and ports.
//
// Invariants:
// - Every frame that does not decode is answered with OFPT_ERROR carrying the
//   codec's type/code and the first 64 bytes of the frame (spec 7.4.4), and the
//   connection stays up; only a length under 8, after which the stream cannot be
//   framed, closes it. A malformed OFPT_ERROR is logged, never answered, so two
//   peers cannot trade errors forever.
// - Each pending request settles exactly once: with its reply (multipart parts
//   joined), an OpenFlowError for an OFPT_ERROR with its xid, or a RequestError
//   (timeout, disconnect, overload, malformed reply). An OFPT_ERROR for a
//   message sent with confirm() rejects that call and reaches no app.
// - Memory is bounded: at most packetInQueue packet-ins wait for the app (more
//   are dropped undecoded, counted and logged once per interval), at most
//   maxPendingRequests requests wait for replies, and packet-ins are not handed
//   to the app while the socket's write buffer is over its high-water mark.

import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import {
  decodeMessage,
  encodeMessage,
  ERR,
  errorName,
  Framer,
  MESSAGES,
  OFP_VERSION,
  OFPCR_ROLE,
  OFPMPF_MORE,
  OFPPR,
  OFPT,
  type Message,
  type MessageOf,
  type MessageType,
  type OfErrorCode,
  type Port,
} from '../openflow/codec/index.ts';
import type { ControllerEvents } from './controller.ts';
import { OpenFlowError, RequestError } from './errors.ts';
import { Outbox } from './outbox.ts';
import { Ring } from './ring.ts';

/** Names of the multipart messages (flow_stats_request, port_desc_reply...). */
export type MultipartType = {
  [K in MessageType]: (typeof MESSAGES)[K] extends readonly [number, unknown, number] ? K : never;
}[MessageType];

/**
 * A message as an app writes it: the switch fills in xid, and flags for a
 * multipart request, unless given; version is always 1.3.
 */
export type Outgoing<M extends Message = Message> = M extends { type: MultipartType }
  ? Omit<M, 'xid' | 'version' | 'flags'> & { xid?: number; flags?: number }
  : Omit<M, 'xid' | 'version'> & { xid?: number };

/** Messages that have a reply: barrier_request -> barrier_reply, flow_stats_request -> flow_stats_reply... */
export type RequestType = Extract<MessageType, `${string}_request`>;
export type ReplyTo<K> = K extends `${infer B}_request` ? MessageOf<Extract<MessageType, `${B}_reply`>> : never;

/** Controller roles (spec 6.3.7): names for OFPCR_ROLE_*. */
export type Role = 'equal' | 'master' | 'slave';
const ROLE_CODE = { equal: OFPCR_ROLE.EQUAL, master: OFPCR_ROLE.MASTER, slave: OFPCR_ROLE.SLAVE, nochange: OFPCR_ROLE.NOCHANGE } as const;
const ROLE_NAME: Record<number, Role> = { [OFPCR_ROLE.EQUAL]: 'equal', [OFPCR_ROLE.MASTER]: 'master', [OFPCR_ROLE.SLAVE]: 'slave' };

export interface SwitchOptions {
  /** Send an echo request after this long without a message from the switch (ms). */
  echoInterval: number;
  /** Drop the switch after this long without a message (ms). */
  echoTimeout: number;
  /** Default time a request waits for its reply (ms). */
  requestTimeout: number;
  /** Time from connect to the end of the handshake (ms). */
  handshakeTimeout: number;
  /** Packet-ins that may wait for the app; more are dropped. */
  packetInQueue: number;
  /** Requests that may wait for replies; more are refused. */
  maxPendingRequests: number;
  /** At most one log line about dropped packet-ins per this many ms. */
  dropLogInterval: number;
}

/** What a Switch needs from its controller. */
export interface SwitchHost {
  dispatch<E extends keyof ControllerEvents>(event: E, ...args: Parameters<ControllerEvents[E]>): void;
  up(sw: Switch): void;
  down(sw: Switch, reason: string, wasReady: boolean): void;
}

interface Pending {
  request: string;
  reply: string;
  /** Multipart parts received so far, before the one without REPLY_MORE. */
  parts: Message[];
  resolve(msg: Message): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

const MULTIPART = new Set<string>(Object.entries(MESSAGES).filter(([, row]) => row.length === 3).map(([name]) => name));
/** The list fields of multipart replies, joined across REPLY_MORE parts. */
const PART_LISTS = ['stats', 'ports', 'tables'] as const;
const ERROR_DATA_LEN = 64;
/**
 * Packet-ins handed to the app per event-loop turn: enough that their answers
 * leave in few large writes, few enough that replies and other switches get turns too.
 */
const PACKET_IN_BATCH = 256;
/** Bytes gathered before writing within a turn, so that a turn that sends a lot meets the socket's backpressure. */
const FLUSH_AT = 64 * 1024;
const NO_BYTES = new Uint8Array(0);

const hexDpid = (dpid: bigint) => `0x${dpid.toString(16).padStart(16, '0')}`;

export class Switch {
  /** Datapath id, from the features reply. */
  dpid = 0n;
  features!: MessageOf<'features_reply'>;
  /** Ports by number, from the port description and kept current by port-status messages. */
  readonly ports = new Map<number, Port>();
  readonly remote: string;
  state: 'handshake' | 'ready' | 'closed' = 'handshake';
  readonly stats = { packetIns: 0, packetInDrops: 0, malformed: 0 };
  /** This controller's role at the switch, as the last role reply said; every connection starts as equal. */
  role: Role = 'equal';
  /** The generation id of the last role reply (meaningful for master and slave). */
  generationId: bigint | undefined;

  private log: Logger;
  private readonly framer = new Framer();
  private readonly pending = new Map<number, Pending>();
  /** Messages sent with confirm(): an OFPT_ERROR with their xid is handed here, not to the apps. */
  private readonly watched = new Map<number, (err: MessageOf<'error'>) => void>();
  private readonly packetIns: Ring<MessageOf<'packet_in'>>;
  private lastXid = 0;
  private lastRx = Date.now();
  private congested = false;
  private drainScheduled = false;
  private dropsUnlogged = 0;
  private dropLogTimer: NodeJS.Timeout | undefined;
  private readonly liveness: NodeJS.Timeout;
  private readonly handshakeTimer: NodeJS.Timeout;
  private helloSeen = false;
  /** What this event-loop turn sent, written in one go when the turn ends (one syscall, not one per message). */
  private readonly outbox = new Outbox();
  private flushScheduled = false;
  private readonly flushTurn = () => {
    this.flushScheduled = false;
    this.flush();
  };
  private hello!: { resolve(): void; reject(e: Error): void };

  constructor(
    private readonly socket: Socket,
    private readonly opts: SwitchOptions,
    private readonly host: SwitchHost,
    log: Logger,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.log = log.child({ switch: this.remote });
    this.packetIns = new Ring(opts.packetInQueue);
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('drain', () => {
      this.congested = false;
      this.scheduleDrain();
    });
    socket.on('error', (err) => this.close(`socket error: ${err.message}`));
    socket.on('close', () => this.close('connection closed by the switch'));
    const tick = Math.min(opts.echoInterval, opts.echoTimeout) / 2;
    this.liveness = setInterval(() => this.checkLiveness(), tick).unref();
    this.handshakeTimer = setTimeout(() => this.close('handshake timed out'), opts.handshakeTimeout).unref();
    this.handshake().then(
      () => {
        clearTimeout(this.handshakeTimer);
        if (this.state === 'closed') return;
        this.state = 'ready';
        this.log.info({ ports: this.ports.size, tables: this.features.nTables }, 'switch connected');
        this.host.up(this);
        this.scheduleDrain();
      },
      (err: Error) => this.close(`handshake failed: ${err.message}`),
    );
  }

  /** Sends a message; returns its xid. Messages sent after the switch went down are discarded. */
  send(msg: Outgoing): number {
    return this.sendAs(msg, msg.xid ?? this.nextXid());
  }

  private sendAs(msg: Outgoing, xid: number): number {
    // The codec takes the xid apart from the message: the app's object is neither copied nor changed.
    const unflagged = MULTIPART.has(msg.type) && (msg as { flags?: number }).flags === undefined;
    const bytes = encodeMessage((unflagged ? { ...msg, flags: 0 } : msg) as Message, xid);
    if (this.state === 'closed') return xid;
    this.outbox.append(bytes);
    if (this.outbox.size >= FLUSH_AT) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushTurn);
    }
    return xid;
  }

  private flush(): void {
    if (this.outbox.size === 0 || this.socket.destroyed) return;
    this.socket.write(this.outbox.take());
    // Congested only if the kernel did not take it all: write() returns false for any chunk over the high-water mark.
    if (this.socket.writableLength >= this.socket.writableHighWaterMark) this.congested = true;
  }

  /**
   * Sends a request and resolves with its reply: the whole reply for a multipart
   * request, its lists joined across REPLY_MORE parts. Rejects with OpenFlowError
   * when the switch answers with OFPT_ERROR, RequestError otherwise.
   */
  request<M extends Outgoing<MessageOf<RequestType>>>(msg: M, opts: { timeout?: number } = {}): Promise<ReplyTo<M['type']>> {
    if (this.state === 'closed') return Promise.reject(new RequestError('disconnected', msg.type, 'the switch is down'));
    if (this.pending.size >= this.opts.maxPendingRequests) {
      return Promise.reject(new RequestError('overload', msg.type, `${this.pending.size} requests already wait for replies`));
    }
    const xid = msg.xid ?? this.nextXid();
    if (this.pending.has(xid)) throw new RangeError(`xid ${xid} already has a request waiting`);
    const timeout = opts.timeout ?? this.opts.requestTimeout;
    return new Promise((resolve, reject) => {
      // Sent first: a message that cannot be encoded rejects here and leaves nothing pending.
      this.sendAs(msg as Outgoing, xid);
      const timer = setTimeout(() => {
        this.pending.delete(xid);
        reject(new RequestError('timeout', msg.type, `no reply within ${timeout} ms`));
      }, timeout);
      const reply = msg.type.replace(/_request$/, '_reply');
      this.pending.set(xid, { request: msg.type, reply, parts: [], resolve: resolve as (m: Message) => void, reject, timer });
    });
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
        const xid = m.xid ?? this.nextXid();
        this.watched.set(xid, (err) => errors.push(new OpenFlowError(err, m.type)));
        xids.push(xid);
        this.sendAs(m, xid);
      }
      // The switch answers in order (spec 6.2), so every error comes before the barrier's reply.
      await this.barrier(opts);
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
    if (!this.congested || this.state === 'closed') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** Closes the connection; pending requests reject and 'switch-down' follows if the handshake was done. */
  close(reason = 'closed by the controller'): void {
    if (this.state === 'closed') return;
    const wasReady = this.state === 'ready';
    this.state = 'closed';
    clearInterval(this.liveness);
    clearTimeout(this.handshakeTimer);
    this.flushDropLog();
    // What was sent before closing (an OFPT_ERROR, say) still goes out.
    this.flush();
    this.socket.destroySoon();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new RequestError('disconnected', p.request, `connection closed: ${reason}`));
    }
    this.pending.clear();
    this.packetIns.clear();
    this.hello.reject(new Error(reason));
    this.log.info({ reason }, 'switch disconnected');
    this.host.down(this, reason, wasReady);
  }

  toString(): string {
    return this.state === 'handshake' ? `switch ${this.remote}` : `switch ${hexDpid(this.dpid)}`;
  }

  // ---- handshake and liveness --------------------------------------------------------

  private async handshake(): Promise<void> {
    const helloDone = new Promise<void>((resolve, reject) => (this.hello = { resolve, reject }));
    this.send({ type: 'hello', elements: [{ type: 'versionbitmap', bitmaps: [1 << OFP_VERSION] }] });
    await helloDone;
    const features = await this.request({ type: 'features_request' });
    // Auxiliary connections (spec 6.3.6) would share the main one's dpid; not supported yet.
    if (features.auxiliaryId !== 0) throw new Error(`auxiliary connection ${features.auxiliaryId} is not supported`);
    this.features = features;
    this.dpid = features.datapathId;
    this.log = this.log.child({ dpid: hexDpid(this.dpid) });
    const desc = await this.request({ type: 'port_desc_request' });
    for (const p of desc.ports) this.ports.set(p.portNo, p);
  }

  /** Version negotiation (spec 6.3.1): 1.3 must be in the peer's bitmap, or under its version when it sends none. */
  private onHello(msg: MessageOf<'hello'>): void {
    if (this.helloSeen) return;
    this.helloSeen = true;
    const bitmap = msg.elements.find((e) => e.type === 'versionbitmap');
    const ok = bitmap ? ((bitmap.bitmaps[0] ?? 0) >>> OFP_VERSION) & 1 : (msg.version ?? 0) >= OFP_VERSION;
    if (ok) return this.hello.resolve();
    const text = `tsof-controller speaks OpenFlow 1.3 only; peer offered version 0x${(msg.version ?? 0).toString(16)}`;
    this.sendError(msg.xid, ERR.HELLO_FAILED.INCOMPATIBLE, new TextEncoder().encode(text));
    this.hello.reject(new Error(text));
  }

  private checkLiveness(): void {
    const idle = Date.now() - this.lastRx;
    if (idle >= this.opts.echoTimeout) this.close(`no message for ${idle} ms (echo timeout)`);
    else if (idle >= this.opts.echoInterval) this.send({ type: 'echo_request', data: NO_BYTES });
  }

  // ---- input ------------------------------------------------------------------------

  private onData(chunk: Uint8Array): void {
    this.lastRx = Date.now();
    for (const frame of this.framer.push(chunk)) {
      if (this.state === 'closed') return;
      if (!frame.ok) {
        this.malformed(frame.bytes ?? NO_BYTES, frame.error, frame.detail);
        if (frame.fatal) this.close(`unframeable input: ${frame.detail}`);
        continue;
      }
      const bytes = frame.bytes;
      if (bytes[1] === OFPT.PACKET_IN && this.state === 'ready') {
        this.stats.packetIns++;
        // Dropped before decoding: a flood costs as little as possible.
        if (this.packetIns.full) {
          this.countDrop();
          continue;
        }
      }
      const r = decodeMessage(bytes);
      if (r.ok) this.receive(r.msg);
      else this.malformed(bytes, r.error, r.detail, r.xid);
    }
  }

  private receive(msg: Message): void {
    if (msg.type === 'echo_request') {
      this.send({ type: 'echo_reply', xid: msg.xid, data: msg.data });
      return;
    }
    if (msg.type === 'hello') return this.onHello(msg);
    const p = this.pending.get(msg.xid);
    if (p && (msg.type === p.reply || msg.type === 'error')) return this.settle(msg.xid, p, msg);
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

  private settle(xid: number, p: Pending, msg: Message): void {
    if (msg.type !== 'error' && MULTIPART.has(msg.type) && (msg as { flags: number }).flags & OFPMPF_MORE) {
      p.parts.push(msg);
      return;
    }
    clearTimeout(p.timer);
    this.pending.delete(xid);
    if (msg.type === 'error') p.reject(new OpenFlowError(msg, p.request));
    else p.resolve(p.parts.length ? joinParts([...p.parts, msg]) : msg);
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

  private malformed(bytes: Uint8Array, error: OfErrorCode, detail: string, xid?: number): void {
    this.stats.malformed++;
    const id = xid ?? (bytes.length >= 8 ? new DataView(bytes.buffer, bytes.byteOffset).getUint32(4) : 0);
    this.log.warn({ error: errorName(error), detail, xid: id }, 'malformed message from the switch');
    const p = this.pending.get(id);
    if (p) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(new RequestError('malformed', p.request, `reply did not decode: ${detail}`));
    }
    if (bytes[1] !== OFPT.ERROR) this.sendError(id, error, bytes.subarray(0, ERROR_DATA_LEN));
  }

  private sendError(xid: number, e: OfErrorCode, data: Uint8Array): void {
    this.send({ type: 'error', xid, errType: e.type, code: e.code, data });
  }

  // ---- the packet-in queue --------------------------------------------------------------

  private scheduleDrain(): void {
    if (this.drainScheduled || this.congested || this.packetIns.size === 0) return;
    this.drainScheduled = true;
    setImmediate(this.drainPacketIns);
  }

  private readonly drainPacketIns = (): void => {
    this.drainScheduled = false;
    for (let n = 0; n < PACKET_IN_BATCH && !this.congested && this.state === 'ready'; n++) {
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

  private nextXid(): number {
    do this.lastXid = (this.lastXid + 1) >>> 0;
    while (this.lastXid === 0 || this.pending.has(this.lastXid) || this.watched.has(this.lastXid));
    return this.lastXid;
  }
}

/** One reply from its REPLY_MORE parts: the list fields joined, experimenter data concatenated. */
function joinParts(parts: Message[]): Message {
  const joined: Record<string, unknown> = { ...parts[parts.length - 1] };
  for (const key of PART_LISTS) {
    if (key in joined) joined[key] = parts.flatMap((p) => (p as unknown as Record<string, unknown[]>)[key]);
  }
  if (joined.type === 'experimenter_stats_reply') {
    joined.data = Buffer.concat(parts.map((p) => (p as MessageOf<'experimenter_stats_reply'>).data));
  }
  return joined as unknown as Message;
}
