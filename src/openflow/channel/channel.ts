// One OpenFlow 1.3 connection, either side of it: the controller SDK and the
// switch agent both speak through a Channel. It frames the byte stream,
// negotiates the version with HELLO (spec 6.3.1), answers echo requests and
// probes a silent peer with its own (6.3.2), numbers requests and settles them
// with their replies (multipart parts joined), answers input that does not
// decode with OFPT_ERROR, and gathers what one event-loop turn sends into one
// socket write (outbox.ts). Everything else reaches the owner as 'message'.
//
// Invariants:
// - Our HELLO is the first message sent; nothing else is delivered before the
//   peer's HELLO has been accepted. A peer without 1.3 gets
//   OFPET_HELLO_FAILED/INCOMPATIBLE and the connection closes.
// - Every frame that does not decode is answered with OFPT_ERROR carrying the
//   codec's type/code, its xid and the first 64 bytes of the frame (7.4.4), and
//   the connection stays up; only a length under 8, after which the stream
//   cannot be framed, closes it. A malformed OFPT_ERROR is never answered, so
//   two peers cannot trade errors forever.
// - Each request settles exactly once: its reply, an OpenFlowError for an
//   OFPT_ERROR with its xid, or a RequestError (timeout, disconnect, overload,
//   malformed reply). At most maxPendingRequests wait.
// - Messages are written in the order they were sent; what was sent before
//   close() still leaves.
// - What a connection holds is bounded: the framer one message (64 KiB), the
//   input one chunk, the output maxBacklog bytes plus the replies to one
//   message, since input stays unread while more waits to go out (a peer that
//   does not read is not served). A peer has echoTimeout to say HELLO, and
//   after it to finish each message: only whole messages count as life, so
//   one that trickles a message or leaves it unfinished is closed.
// - A connection logs its first malformed message, the rest at debug level:
//   never a line per message or per byte.

import type { Socket } from 'node:net';
import { EventEmitter } from 'eventemitter3';
import type { Logger } from 'pino';
import {
  decodeMessage,
  encodeMessage,
  ERR,
  errorName,
  Framer,
  type Frame,
  MESSAGES,
  OFP_VERSION,
  OFPMPF_MORE,
  OFPT,
  type Message,
  type MessageOf,
  type MessageType,
  type OfErrorCode,
} from '../codec/index.ts';
import { OpenFlowError, RequestError } from './errors.ts';
import { Outbox } from './outbox.ts';

/** Names of the multipart messages (flow_stats_request, port_desc_reply...). */
export type MultipartType = {
  [K in MessageType]: (typeof MESSAGES)[K] extends readonly [number, unknown, number] ? K : never;
}[MessageType];

/**
 * A message as a sender writes it: the channel fills in xid, and flags for a
 * multipart message, unless given; version is always 1.3.
 */
export type Outgoing<M extends Message = Message> = M extends { type: MultipartType }
  ? Omit<M, 'xid' | 'version' | 'flags'> & { xid?: number; flags?: number }
  : Omit<M, 'xid' | 'version'> & { xid?: number };

/** Messages that have a reply: barrier_request -> barrier_reply, flow_stats_request -> flow_stats_reply... */
/** Messages request() waits on a reply for: the _request types, and experimenter messages whose reply is one with their xid (ONF's bundle control). */
export type RequestType = Extract<MessageType, `${string}_request`> | 'experimenter';
export type ReplyTo<K> = K extends 'experimenter'
  ? MessageOf<'experimenter'>
  : K extends `${infer B}_request`
    ? MessageOf<Extract<MessageType, `${B}_reply`>>
    : never;

export interface ChannelOptions {
  /** Send an echo request after this long without a message from the peer (ms). */
  echoInterval: number;
  /** Close after this long without a message (ms). */
  echoTimeout: number;
  /** Default time a request waits for its reply (ms). */
  requestTimeout: number;
  /** Requests that may wait for replies; more are refused. */
  maxPendingRequests: number;
  /** Who we are, for the HELLO_FAILED text ("tsof-switch"). */
  name: string;
  /**
   * Looks at each whole frame before it is decoded; false drops it undecoded
   * (a controller's full packet-in queue: a flood costs as little as possible).
   */
  admit?: (bytes: Uint8Array) => boolean;
  /**
   * Message types (OFPT_*) handed over as 'frame', whole and undecoded, once
   * the version is agreed: for an owner that passes them on to a judge of
   * its own (the switch gives mods and packet-outs to the datapath, which
   * decodes and checks them completely).
   */
  undecoded?: ReadonlySet<number>;
  /**
   * Xids the owner holds for messages of its own (a controller's confirm()
   * watches them for OFPT_ERROR); nextXid() skips them as it skips pending requests.
   */
  reserved?: (xid: number) => boolean;
  /**
   * Bytes waiting to go to the peer (in the socket and the outbox) above which
   * its input is left unread until they drain, as Open vSwitch stops serving
   * a connection with too many replies unread: an echo flood or requests
   * whose replies are never read cost this much and no more, and the peer,
   * whose messages are not read meanwhile, is closed by the echo timeout.
   * No limit when undefined (a controller always reads its switches).
   * At least the socket's high-water mark (16 KiB), so that 'drain' follows.
   */
  maxBacklog?: number;
}

export interface ChannelEvents {
  /** The peer's HELLO was accepted: OpenFlow 1.3 is spoken. */
  open: [];
  /** A message that is neither HELLO, an echo request, nor the reply to a request. */
  message: [msg: Message, bytes: Uint8Array];
  /** A whole message of one of the `undecoded` types: its type, xid and bytes. */
  frame: [ofpt: number, xid: number, bytes: Uint8Array];
  /** The socket's write buffer fell below its high-water mark again. */
  drain: [];
  /** The channel closed (once); pending requests have rejected. */
  close: [reason: string];
}

const MULTIPART = new Set<string>(Object.entries(MESSAGES).filter(([, row]) => row.length === 3).map(([name]) => name));
/** The list fields of multipart replies, joined across REPLY_MORE parts. */
const PART_LISTS = ['stats', 'ports', 'tables'] as const;
/** Bytes of an offending message an OFPT_ERROR carries back (spec 7.4.4: at least 64). */
export const ERROR_DATA_LEN = 64;
/** Bytes gathered before writing within a turn, so that a turn that sends a lot meets the socket's backpressure. */
const FLUSH_AT = 64 * 1024;
const NO_BYTES = new Uint8Array(0);

interface Pending {
  request: string;
  reply: string;
  /** Multipart parts received so far, before the one without REPLY_MORE. */
  parts: Message[];
  resolve(msg: Message): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class Channel extends EventEmitter<ChannelEvents> {
  readonly remote: string;
  state: 'hello' | 'open' | 'closed' = 'hello';
  readonly stats = { malformed: 0 };
  /** Input is left unread: more than maxBacklog bytes wait to go to the peer. */
  paused = false;
  /** The socket's write buffer is over its high-water mark: hold back what can wait. */
  congested = false;
  /**
   * Sees every whole message received (once framed) and sent (as queued), while set: the
   * switch copies a controller's connection to its snoopers (src/switch/mgmt.ts).
   */
  tap: ((bytes: Uint8Array) => void) | undefined;

  private readonly framer = new Framer();
  /** Frames of the last chunk not yet handled, while paused; the socket is paused too, so no more come. */
  private held: Frame[] = [];
  private readonly pending = new Map<number, Pending>();
  private lastXid = 0;
  private lastRx = Date.now();
  /** The liveness check's period, and when it last ran. */
  private readonly tick: number;
  private lastCheck = Date.now();
  private readonly liveness: NodeJS.Timeout;
  /** What this event-loop turn sent, written in one go when the turn ends (one syscall, not one per message). */
  private readonly outbox = new Outbox();
  private flushScheduled = false;
  private readonly flushTurn = () => {
    this.flushScheduled = false;
    this.flush();
  };

  constructor(
    private readonly socket: Socket,
    private readonly opts: ChannelOptions,
    private log: Logger,
  ) {
    super();
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('drain', () => {
      this.congested = false;
      if (this.paused) this.unpause();
      this.emit('drain');
    });
    socket.on('error', (err) => this.close(`socket error: ${err.message}`));
    socket.on('close', () => this.close('connection closed by the peer'));
    this.tick = Math.min(opts.echoInterval, opts.echoTimeout) / 2;
    this.liveness = setInterval(() => this.checkLiveness(), this.tick).unref();
    this.send({ type: 'hello', elements: [{ type: 'versionbitmap', bitmaps: [1 << OFP_VERSION] }] });
  }

  /** Logs from here on carry these fields too (the dpid, once known). */
  annotate(fields: Record<string, unknown>): void {
    this.log = this.log.child(fields);
  }

  /** Sends a message; returns its xid. Messages sent after close are discarded. */
  send(msg: Outgoing, xid = msg.xid ?? this.nextXid()): number {
    // The codec takes the xid apart from the message: the sender's object is neither copied nor changed.
    const unflagged = MULTIPART.has(msg.type) && (msg as { flags?: number }).flags === undefined;
    this.sendBytes(encodeMessage((unflagged ? { ...msg, flags: 0 } : msg) as Message, xid));
    return xid;
  }

  /** Sends a message already encoded (its xid in place). */
  sendBytes(bytes: Uint8Array): void {
    if (this.state === 'closed') return;
    this.tap?.(bytes);
    this.outbox.append(bytes);
    if (this.outbox.size >= FLUSH_AT) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushTurn);
    }
  }

  /** Answers a message with OFPT_ERROR: its xid and its first 64 bytes. */
  sendError(xid: number, e: OfErrorCode, offending: Uint8Array): void {
    this.send({ type: 'error', xid, errType: e.type, code: e.code, experimenter: e.experimenter, data: offending.subarray(0, ERROR_DATA_LEN) });
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
   * when the peer answers with OFPT_ERROR, RequestError otherwise.
   */
  request<M extends Outgoing<MessageOf<RequestType>>>(msg: M, opts: { timeout?: number } = {}): Promise<ReplyTo<M['type']>> {
    if (this.state === 'closed') return Promise.reject(new RequestError('disconnected', msg.type, 'the connection is down'));
    if (this.pending.size >= this.opts.maxPendingRequests) {
      return Promise.reject(new RequestError('overload', msg.type, `${this.pending.size} requests already wait for replies`));
    }
    const xid = msg.xid ?? this.nextXid();
    if (this.pending.has(xid)) throw new RangeError(`xid ${xid} already has a request waiting`);
    const timeout = opts.timeout ?? this.opts.requestTimeout;
    return new Promise((resolve, reject) => {
      // Sent first: a message that cannot be encoded rejects here and leaves nothing pending.
      this.send(msg as Outgoing, xid);
      const timer = setTimeout(() => {
        this.pending.delete(xid);
        reject(new RequestError('timeout', msg.type, `no reply within ${timeout} ms`));
      }, timeout);
      const reply = msg.type.replace(/_request$/, '_reply');
      this.pending.set(xid, { request: msg.type, reply, parts: [], resolve: resolve as (m: Message) => void, reject, timer });
    });
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

  /** An xid no pending request uses and the owner has not reserved. */
  nextXid(): number {
    do this.lastXid = (this.lastXid + 1) >>> 0;
    while (this.lastXid === 0 || this.pending.has(this.lastXid) || this.opts.reserved?.(this.lastXid));
    return this.lastXid;
  }

  /** Closes the connection once; pending requests reject, then 'close' is emitted. */
  close(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearInterval(this.liveness);
    // What was sent before closing (an OFPT_ERROR, say) still goes out.
    this.flush();
    // A peer that does not read would hold the socket, its buffer and a connection slot for good: it gets the echo timeout.
    if (this.paused) this.socket.destroy();
    else {
      this.socket.destroySoon();
      if (!this.socket.destroyed) setTimeout(() => this.socket.destroy(), this.opts.echoTimeout).unref();
    }
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new RequestError('disconnected', p.request, `connection closed: ${reason}`));
    }
    this.pending.clear();
    this.held = [];
    this.emit('close', reason);
  }

  // ---- input ------------------------------------------------------------------------

  /** Bytes sent and not yet taken by the kernel. */
  get backlog(): number {
    return this.socket.writableLength + this.outbox.size;
  }

  private onData(chunk: Uint8Array): void {
    const frames = this.framer.push(chunk);
    if (this.held.length) this.held.push(...frames);
    else this.handle(frames, 0);
  }

  /** Handles frames from i on; stops, holding the rest, while the backlog is over its limit. */
  private handle(frames: Frame[], i: number): void {
    const max = this.opts.maxBacklog;
    for (; i < frames.length; i++) {
      if (this.state === 'closed') return;
      // The outbox is written first: the kernel may take it all.
      if (max !== undefined && this.backlog > max && (this.flush(), this.backlog > max)) {
        this.held = frames.slice(i);
        this.pause();
        return;
      }
      this.handleFrame(frames[i]);
    }
    this.held = [];
  }

  private handleFrame(frame: Frame): void {
    // A whole message is a sign of life once HELLO is done; before it, only HELLO is (onHello).
    if (this.state === 'open') this.lastRx = Date.now();
    if (!frame.ok) {
      this.malformed(frame.bytes ?? NO_BYTES, frame.error, frame.detail);
      if (frame.fatal) this.close(`unframeable input: ${frame.detail}`);
      return;
    }
    const bytes = frame.bytes;
    this.tap?.(bytes);
    if (this.opts.admit && this.state === 'open' && !this.opts.admit(bytes)) return;
    if (this.state === 'open' && this.opts.undecoded?.has(bytes[1])) {
      this.emit('frame', bytes[1], new DataView(bytes.buffer, bytes.byteOffset).getUint32(4), bytes);
      return;
    }
    const r = decodeMessage(bytes);
    if (r.ok) this.receive(r.msg, bytes);
    else this.malformed(bytes, r.error, r.detail, r.xid);
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    // Over maxBacklog, hence over the high-water mark: the socket says 'drain' once the peer has read it all.
    this.socket.pause();
    this.log.debug({ backlog: this.backlog }, 'the peer is not reading: its input waits');
  }

  private unpause(): void {
    this.paused = false;
    this.handle(this.held, 0);
    if (!this.paused && this.state !== 'closed') this.socket.resume();
  }

  private receive(msg: Message, bytes: Uint8Array): void {
    if (msg.type === 'hello') return this.onHello(msg);
    // Nothing but HELLO counts before the version is agreed.
    if (this.state !== 'open') return;
    if (msg.type === 'echo_request') {
      this.send({ type: 'echo_reply', xid: msg.xid, data: msg.data });
      return;
    }
    const p = this.pending.get(msg.xid);
    if (p && (msg.type === p.reply || msg.type === 'error')) return this.settle(msg.xid, p, msg);
    this.emit('message', msg, bytes);
  }

  /** Version negotiation (spec 6.3.1): 1.3 must be in the peer's bitmap, or under its version when it sends none. */
  private onHello(msg: MessageOf<'hello'>): void {
    if (this.state !== 'hello') return;
    const bitmap = msg.elements.find((e) => e.type === 'versionbitmap');
    const ok = bitmap ? ((bitmap.bitmaps[0] ?? 0) >>> OFP_VERSION) & 1 : (msg.version ?? 0) >= OFP_VERSION;
    if (!ok) {
      const text = `${this.opts.name} speaks OpenFlow 1.3 only; the peer offered version 0x${(msg.version ?? 0).toString(16)}`;
      this.send({ type: 'error', xid: msg.xid, errType: ERR.HELLO_FAILED.INCOMPATIBLE.type, code: ERR.HELLO_FAILED.INCOMPATIBLE.code, data: new TextEncoder().encode(text) });
      this.close(`version negotiation failed: ${text}`);
      return;
    }
    this.state = 'open';
    this.lastRx = Date.now();
    this.emit('open');
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

  private malformed(bytes: Uint8Array, error: OfErrorCode, detail: string, xid?: number): void {
    this.stats.malformed++;
    const id = xid ?? (bytes.length >= 8 ? new DataView(bytes.buffer, bytes.byteOffset).getUint32(4) : 0);
    const fields = { error: errorName(error), detail, xid: id };
    if (this.stats.malformed === 1) this.log.warn(fields, 'malformed message from the peer (any more are logged at debug level)');
    else this.log.debug(fields, 'malformed message from the peer');
    const p = this.pending.get(id);
    if (p) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(new RequestError('malformed', p.request, `reply did not decode: ${detail}`));
    }
    if (bytes[1] !== OFPT.ERROR) this.sendError(id, error, bytes);
  }

  /** Why a connection that went quiet is closed, in one line. */
  private idleReason(idle: number): string {
    if (this.state === 'hello') return `no HELLO within ${idle} ms`;
    if (this.paused) return `the peer does not read: ${this.backlog} bytes wait to go to it, its input unread for ${idle} ms`;
    if (this.framer.buffered) return `a message unfinished for ${idle} ms (${this.framer.buffered} bytes of it came)`;
    return `no message for ${idle} ms (echo timeout)`;
  }

  private checkLiveness(): void {
    if (this.paused && this.backlog <= this.opts.maxBacklog!) this.unpause();
    const now = Date.now();
    // Time this process did not run (a long synchronous task, such as a big bundle's commit) is not the peer's
    // silence: its messages may wait unread, and timers run before I/O once the loop is free.
    const stall = now - this.lastCheck - this.tick;
    if (stall > this.tick) this.lastRx = Math.min(now, this.lastRx + stall);
    this.lastCheck = now;
    const idle = now - this.lastRx;
    if (idle >= this.opts.echoTimeout) this.close(this.idleReason(idle));
    else if (idle >= this.opts.echoInterval && this.state === 'open') this.send({ type: 'echo_request', data: NO_BYTES });
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
