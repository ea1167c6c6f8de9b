// A load generator for OpenFlow 1.3 controllers in the manner of cbench (oflops):
// N emulated switches connect to a controller, each answers the handshake as a
// switch would (HELLO with a version bitmap, FEATURES, PORT_DESC and the other
// multipart requests, GET_CONFIG, BARRIER, ROLE, ECHO...), then sends
// packet-ins and counts the flow_mods and packet_outs that answer them.
//
// Traffic, per switch, for packet-in number `seq` (also its buffer_id, so every
// answer names the packet-in it answers, as in cbench): the source MAC is host
// seq % macs of that switch (02:ss:hh:hh:hh:hh), arriving on port 1 + host % 4.
// Every 4th packet-in is a broadcast ARP request; the others are 64-byte IPv4
// frames to the previous packet-in's source, which a learning switch has just
// learned. So a learning switch answers 3 in 4 with a flow_mod (which forwards
// the buffered packet) and 1 in 4 with a flooding packet_out. A sample of the
// answers (seq % 251 == 0, so both kinds) is decoded and checked against that.
//
// Modes: throughput keeps `window` packet-ins outstanding per switch (refilled
// in batches, and never past TCP backpressure); latency keeps one outstanding
// per switch and measures its round trip. A packet-in unanswered for 10 s is
// counted lost and its slot freed; an answer that comes later still counts, as
// late. Counting starts after the warm-up.
//
// Several controllers (`ports`, for a cluster of instances): every switch
// connects to each, keeps each connection's role as a switch does (spec
// 6.3.7: one MASTER, a MASTER request demotes the old one, an older
// generation id is refused as stale) and sends packet-ins only on connections
// that are not SLAVE. The run starts once every switch has one master and
// only slaves besides it; the result counts how many switches each controller
// masters and the answers each one gave.
//
// Run: npx tsx bench/controller/cbench.ts --port 6653 [--mode both] (see USAGE)

import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  decodeMessage,
  encodeMessage,
  ERR,
  Framer,
  matchField,
  OFP_NO_BUFFER,
  OFP_VERSION,
  OFPC,
  OFPCR_ROLE,
  OFPP,
  OFPPF,
  OFPPS,
  OFPR,
  OFPT,
  parseEthernet,
  type Action,
  type Message,
  type MessageOf,
  type Outgoing,
  type Port,
} from '../../src/controller/index.ts';

export type Mode = 'throughput' | 'latency';

export interface BenchOptions {
  host: string;
  port: number;
  /** Every switch connects to each of these controller ports (default: `port` alone). */
  ports?: number[];
  mode: Mode;
  /** Emulated switches, one TCP connection each (at most 256). */
  switches: number;
  /** Distinct source MACs per switch before they repeat. */
  macs: number;
  /** Measured seconds, after the warm-up. */
  seconds: number;
  warmup: number;
  /** Packet-ins outstanding per switch in throughput mode. */
  window: number;
  /** The controller's CPU seconds so far; read at the start and end of the measured interval. */
  peerCpu?: () => number;
}

export const DEFAULTS = { host: '127.0.0.1', switches: 16, macs: 100_000, seconds: 10, warmup: 2, window: 256 } as const;

export interface BenchResult {
  mode: Mode;
  switches: number;
  window: number;
  seconds: number;
  responsesPerSec: number;
  flowModsPerSec: number;
  packetOutsPerSec: number;
  /** Responses in each whole second of the measured interval. */
  perSecond: number[];
  /** Round trip from writing a packet-in to reading its answer, microseconds. */
  latencyUs: { mean: number; p50: number; p90: number; p99: number; max: number };
  /** Packet-ins left unanswered for 10 s, and answers that came for them later (counted as responses too). */
  lost: number;
  late: number;
  /** flow_mods and packet_outs that answer no outstanding packet-in (besides the table-miss flow). */
  unmatched: number;
  /** Sampled answers decoded and compared with what a learning switch must send; how many differed, the first few. */
  checked: number;
  wrong: number;
  mismatches: string[];
  /** OFPT_ERRORs and undecodable messages from the controller. */
  controllerErrors: string[];
  /** CPU used during the measured interval, in cores (1 = one core busy throughout). */
  generatorCpu: number;
  /** Per controller port: the switches it was master of when the measured interval began, and its answers per second. */
  controllers: { port: number; masters: number; responsesPerSec: number }[];
  peerCpu?: number;
}

const PORTS = 4;
const BROADCAST_EVERY = 4;
const FRAME_LEN = 64;
const LOSS_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 15_000;
/** Prime, so that the sample takes every residue mod BROADCAST_EVERY: flow_mods and packet_outs. */
const SAMPLE_EVERY = 251;
const MAX_REPORTED = 10;
/** buffer_id offsets in a flow_mod (after header, cookie, cookie_mask, table, command, timeouts, priority) and a packet_out. */
const FLOW_MOD_BUFFER_ID = 32;
const PACKET_OUT_BUFFER_ID = 8;

// ---- traffic -----------------------------------------------------------------------------

const hostOf = (seq: number, macs: number) => seq % macs;
const portOf = (host: number) => 1 + (host % PORTS);
const isBroadcast = (seq: number) => seq % BROADCAST_EVERY === BROADCAST_EVERY - 1;
const macText = (sw: number, host: number) =>
  [2, sw, host >>> 24, (host >>> 16) & 0xff, (host >>> 8) & 0xff, host & 0xff]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join(':');

/** A packet-in encoded by the codec, and where its per-packet fields sit (checkTemplates() proves them). */
interface Template {
  bytes: Buffer;
  xid: number;
  bufferId: number;
  inPort: number;
  /** Start of the Ethernet frame. */
  data: number;
}

function template(broadcast: boolean): Template {
  const f = Buffer.alloc(FRAME_LEN);
  if (broadcast) {
    f.fill(0xff, 0, 6);
    f.writeUInt16BE(0x0806, 12);
    // ARP request (RFC 826) from 10.0.0.1 for 10.0.0.2; the sender MAC is patched with the source.
    f.set([0, 1, 8, 0, 6, 4, 0, 1], 14);
    f.set([10, 0, 0, 1], 28);
    f.set([10, 0, 0, 2], 38);
  } else {
    f.writeUInt16BE(0x0800, 12);
    // IPv4 + UDP 10.0.0.1:1024 -> 10.0.0.2:1024, filling the frame.
    f.set([0x45, 0, 0, FRAME_LEN - 14, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
    f.writeUInt16BE(ipChecksum(f.subarray(14, 34)), 24);
    f.set([4, 0, 4, 0, 0, FRAME_LEN - 34, 0, 0], 34);
  }
  const bytes = Buffer.from(
    encodeMessage({
      type: 'packet_in',
      xid: 0,
      bufferId: 0,
      totalLen: FRAME_LEN,
      reason: OFPR.NO_MATCH,
      tableId: 0,
      cookie: 0n,
      match: [{ field: 'in_port', value: 0 }],
      data: f,
    }),
  );
  // header(8) buffer_id(4) total_len(2) reason(1) table(1) cookie(8), then ofp_match: type, length, OXM header, in_port.
  return { bytes, xid: 4, bufferId: 8, inPort: 32, data: bytes.length - FRAME_LEN };
}

function ipChecksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += (header[i] << 8) | header[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const UNICAST = template(false);
const BROADCAST = template(true);
const PACKET_IN_LEN = UNICAST.bytes.length;
if (BROADCAST.bytes.length !== PACKET_IN_LEN) throw new Error('packet-in templates differ in length');

function writeMac(buf: Buffer, off: number, sw: number, host: number): void {
  buf[off] = 2;
  buf[off + 1] = sw;
  buf.writeUInt32BE(host, off + 2);
}

/** Writes packet-in `seq` of switch `sw` at buf[off]. */
function writePacketIn(buf: Buffer, off: number, sw: number, seq: number, macs: number): void {
  const t = isBroadcast(seq) ? BROADCAST : UNICAST;
  const host = hostOf(seq, macs);
  t.bytes.copy(buf, off);
  buf.writeUInt32BE(seq, off + t.xid);
  buf.writeUInt32BE(seq, off + t.bufferId);
  buf.writeUInt32BE(portOf(host), off + t.inPort);
  writeMac(buf, off + t.data + 6, sw, host);
  if (t === BROADCAST) writeMac(buf, off + t.data + 22, sw, host);
  else writeMac(buf, off + t.data, sw, hostOf(seq + macs - 1, macs));
}

/** The patched offsets must be where the codec reads those fields: decode a packet-in of each kind. */
function checkTemplates(): void {
  for (const seq of [5, BROADCAST_EVERY - 1]) {
    const b = Buffer.alloc(PACKET_IN_LEN);
    writePacketIn(b, 0, 7, seq, 1000);
    const r = decodeMessage(b);
    const m = r.ok && r.msg.type === 'packet_in' ? r.msg : undefined;
    const eth = m && parseEthernet(m.data);
    const dst = isBroadcast(seq) ? 'ff:ff:ff:ff:ff:ff' : macText(7, seq - 1);
    const ok = m?.xid === seq && m.bufferId === seq && matchField(m.match, 'in_port') === portOf(seq);
    if (!ok || eth?.src !== macText(7, seq) || eth.dst !== dst) throw new Error(`packet-in template is wrong: ${JSON.stringify(r)}`);
  }
}
checkTemplates();

/** What a learning switch must answer to packet-in `seq`; undefined when it is right. */
function verify(sw: number, seq: number, macs: number, msg: Message): string | undefined {
  const host = hostOf(seq, macs);
  const outputs = (actions: Action[]) => actions.map((a) => (a.type === 'output' ? a.port : a.type)).join(',');
  if (isBroadcast(seq)) {
    if (msg.type !== 'packet_out') return `expected a flooding packet_out, got ${msg.type}`;
    if (msg.inPort !== portOf(host)) return `packet_out in_port ${msg.inPort}, expected ${portOf(host)}`;
    if (outputs(msg.actions) !== String(OFPP.FLOOD)) return `packet_out actions ${outputs(msg.actions)}, expected FLOOD`;
    return undefined;
  }
  const prev = hostOf(seq + macs - 1, macs);
  if (msg.type !== 'flow_mod') return `expected a flow_mod, got ${msg.type}`;
  const want = { in_port: portOf(host), eth_src: macText(sw, host), eth_dst: macText(sw, prev) };
  for (const [field, value] of Object.entries(want)) {
    const got = matchField(msg.match, field as keyof typeof want);
    if (got !== value) return `flow_mod ${field}=${String(got)}, expected ${value}`;
  }
  if (msg.match.length !== 3) return `flow_mod matches ${msg.match.length} fields, expected 3`;
  if (msg.idleTimeout === 0) return 'flow_mod without idle timeout';
  const apply = msg.instructions.find((i) => i.type === 'apply_actions');
  const out = apply?.type === 'apply_actions' ? outputs(apply.actions) : 'none';
  if (out !== String(portOf(prev))) return `flow_mod outputs to ${out}, expected ${portOf(prev)}`;
  return undefined;
}

// ---- measurement -------------------------------------------------------------------------

/** Latency histogram: 16 log-spaced buckets per power of two of microseconds (under 4.5% error). */
class Histogram {
  private readonly counts = new Float64Array(40 * 16);
  n = 0;
  private sum = 0;
  private max = 0;

  record(us: number): void {
    const i = us < 1 ? 0 : Math.min(this.counts.length - 1, 1 + Math.floor(Math.log2(us) * 16));
    this.counts[i]++;
    this.n++;
    this.sum += us;
    if (us > this.max) this.max = us;
  }

  clear(): void {
    this.counts.fill(0);
    this.n = this.sum = this.max = 0;
  }

  /** Upper edge of the bucket holding the p-th fraction. */
  quantile(p: number): number {
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= p * this.n && seen > 0) return Math.min(this.max, 2 ** (i / 16));
    }
    return this.max;
  }

  summary(): BenchResult['latencyUs'] {
    const mean = this.n ? this.sum / this.n : 0;
    return { mean, p50: this.quantile(0.5), p90: this.quantile(0.9), p99: this.quantile(0.99), max: this.max };
  }
}

interface Counters {
  flowMods: number;
  packetOuts: number;
  lost: number;
  late: number;
  unmatched: number;
  checked: number;
  wrong: number;
  mismatches: string[];
  controllerErrors: string[];
  latency: Histogram;
}

const report = (list: string[], line: string) => list.length < MAX_REPORTED && list.push(line);

/** One switch's connections and the generation id it last accepted in a MASTER or SLAVE request. */
interface Roles {
  connections: EmulatedSwitch[];
  generation?: bigint;
}

const settled = (r: Roles) =>
  r.connections.length === 1 || (r.connections.filter((c) => c.role === OFPCR_ROLE.MASTER).length === 1 && r.connections.every((c) => c.role !== OFPCR_ROLE.EQUAL));

// ---- the emulated switch -----------------------------------------------------------------

class EmulatedSwitch {
  readonly dpid: bigint;
  /** Resolves once the controller has the switch's ports and has installed its table-miss flow. */
  readonly ready: Promise<void>;
  /** Rejects when the connection fails or closes. */
  readonly down: Promise<never>;
  sending = false;
  role: number = OFPCR_ROLE.EQUAL;
  /** Answers counted on this connection. */
  responses = 0;
  private readonly socket: Socket;
  private readonly framer = new Framer();
  private markReady!: () => void;
  private portDescSent = false;
  private tableMissSeen = false;
  /** Next packet-in to send, and the oldest unanswered one. */
  private head = 0;
  private tail = 0;
  private readonly mask: number;
  private readonly sentAt: Float64Array;
  private readonly answered: Uint8Array;
  /** Packet-ins counted lost, in case their answers still come. */
  private readonly given = new Set<number>();
  private paused = false;
  /** Refill only when this many slots are free, so that writes come in batches. */
  private readonly batch: number;

  constructor(
    private readonly index: number,
    private readonly opts: BenchOptions,
    private readonly window: number,
    private readonly c: Counters,
    readonly port: number,
    private readonly roles: Roles,
  ) {
    roles.connections.push(this);
    this.dpid = BigInt(index + 1);
    const size = 2 ** Math.ceil(Math.log2(window));
    this.mask = size - 1;
    this.sentAt = new Float64Array(size);
    this.answered = new Uint8Array(size);
    this.batch = Math.max(1, window >> 3);
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    this.socket = connect({ host: opts.host, port, noDelay: true });
    const hello: Outgoing = { type: 'hello', elements: [{ type: 'versionbitmap', bitmaps: [1 << OFP_VERSION] }] };
    this.socket.on('connect', () => this.send(hello));
    this.socket.on('data', (chunk) => this.onData(chunk));
    this.socket.on('drain', () => {
      this.paused = false;
      this.fill();
    });
    this.down = new Promise((_, reject) => {
      this.socket.on('error', (e) => reject(new Error(`switch ${this.dpid}: ${e.message}`)));
      this.socket.on('close', () => {
        if (this.sending) report(c.controllerErrors, `switch ${this.dpid}: the controller closed the connection during the run`);
        reject(new Error(`switch ${this.dpid}: the controller closed the connection`));
      });
    });
    // Awaited only until the switches are ready; later it shows in the result instead.
    this.down.catch(() => {});
  }

  describe(): string {
    const portDesc = this.portDescSent ? 'answered' : 'not asked';
    const role = Object.entries(OFPCR_ROLE).find(([, v]) => v === this.role)?.[0];
    return `switch ${this.dpid} to ${this.port}: port_desc ${portDesc}, table-miss flow ${this.tableMissSeen ? 'seen' : 'not seen'}, role ${role}`;
  }

  close(): void {
    this.sending = false;
    this.socket.destroy();
  }

  /** Sends packet-ins until `window` are outstanding. */
  fill(): void {
    const free = this.window - (this.head - this.tail);
    // A slave gets no packet-ins (spec 6.3.7).
    if (!this.sending || this.paused || free < this.batch || this.role === OFPCR_ROLE.SLAVE) return;
    const buf = Buffer.allocUnsafe(free * PACKET_IN_LEN);
    const now = performance.now();
    for (let k = 0; k < free; k++) {
      writePacketIn(buf, k * PACKET_IN_LEN, this.index, this.head, this.opts.macs);
      this.sentAt[this.head & this.mask] = now;
      this.head++;
    }
    if (!this.socket.write(buf)) this.paused = true;
  }

  /** Counts packet-ins unanswered for too long as lost, freeing their slots. */
  expire(now: number): void {
    const overdue = () => !this.answered[this.tail & this.mask] && now - this.sentAt[this.tail & this.mask] > LOSS_TIMEOUT_MS;
    while (this.tail < this.head && overdue()) {
      this.c.lost++;
      this.given.add(this.tail);
      this.tail++;
      this.advance();
    }
    this.fill();
  }

  private onData(chunk: Buffer): void {
    const now = performance.now();
    for (const frame of this.framer.push(chunk)) {
      if (!frame.ok) {
        report(this.c.controllerErrors, `switch ${this.dpid}: unframeable input: ${frame.detail}`);
        if (frame.fatal) this.socket.destroy();
        continue;
      }
      const b = frame.bytes;
      // The hot path reads only the buffer id; anything that is not an answer is decoded.
      const at = b[1] === OFPT.FLOW_MOD ? FLOW_MOD_BUFFER_ID : b[1] === OFPT.PACKET_OUT ? PACKET_OUT_BUFFER_ID : 0;
      if (at && b.length >= at + 4) {
        const seq = ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
        if (seq >= this.tail && seq < this.head) {
          this.answer(seq, b, now);
          continue;
        }
        if (this.given.delete(seq)) {
          this.c.late++;
          this.count(b);
          continue;
        }
      }
      this.control(b);
    }
    this.fill();
  }

  private answer(seq: number, b: Uint8Array, now: number): void {
    const i = seq & this.mask;
    if (this.answered[i]) {
      this.c.unmatched++;
      return;
    }
    this.answered[i] = 1;
    this.c.latency.record((now - this.sentAt[i]) * 1000);
    this.count(b);
    if (seq % SAMPLE_EVERY === 0 && seq > 0) {
      this.c.checked++;
      const r = decodeMessage(b);
      const problem = r.ok ? verify(this.index, seq, this.opts.macs, r.msg) : `answer does not decode: ${r.detail}`;
      if (problem) {
        this.c.wrong++;
        report(this.c.mismatches, `switch ${this.dpid} packet-in ${seq}: ${problem}`);
      }
    }
    this.advance();
  }

  private count(b: Uint8Array): void {
    this.responses++;
    if (b[1] === OFPT.FLOW_MOD) this.c.flowMods++;
    else this.c.packetOuts++;
  }

  private advance(): void {
    while (this.tail < this.head && this.answered[this.tail & this.mask]) {
      this.answered[this.tail & this.mask] = 0;
      this.tail++;
    }
  }

  /** Everything but answers to outstanding packet-ins: the handshake, requests, errors. */
  private control(b: Uint8Array): void {
    const r = decodeMessage(b);
    if (!r.ok) {
      report(this.c.controllerErrors, `switch ${this.dpid}: message does not decode: ${r.detail}`);
      this.send({ type: 'error', xid: r.xid ?? 0, errType: r.error.type, code: r.error.code, data: b.subarray(0, 64) });
      return;
    }
    const m = r.msg;
    const xid = m.xid;
    switch (m.type) {
      case 'hello': {
        const bitmap = m.elements.find((e) => e.type === 'versionbitmap');
        const ok = bitmap ? ((bitmap.bitmaps[0] ?? 0) >>> OFP_VERSION) & 1 : (m.version ?? 0) >= OFP_VERSION;
        if (!ok) report(this.c.controllerErrors, `switch ${this.dpid}: the controller does not offer OpenFlow 1.3`);
        return;
      }
      case 'echo_request':
        return this.send({ type: 'echo_reply', xid, data: m.data });
      case 'features_request':
        return this.send({
          type: 'features_reply',
          xid,
          datapathId: this.dpid,
          nBuffers: 256,
          nTables: 254,
          auxiliaryId: 0,
          capabilities: OFPC.FLOW_STATS | OFPC.TABLE_STATS | OFPC.PORT_STATS,
          reserved: 0,
        });
      case 'port_desc_request':
        this.send({ type: 'port_desc_reply', xid, flags: 0, ports: this.ports() });
        this.portDescSent = true;
        return this.checkReady();
      case 'desc_request': {
        const [hwDesc, swDesc] = ['cbench emulated switch', 'bench/controller/cbench.ts'];
        const text = { mfrDesc: 'tsof', hwDesc, swDesc, serialNum: '0', dpDesc: `switch ${this.dpid}` };
        return this.send({ type: 'desc_reply', xid, flags: 0, ...text });
      }
      case 'get_config_request':
        return this.send({ type: 'get_config_reply', xid, flags: 0, missSendLen: 128 });
      case 'barrier_request':
        return this.send({ type: 'barrier_reply', xid });
      case 'role_request':
        return this.roleRequest(m, b);
      case 'get_async_request':
        // The masks the spec gives as defaults (6.1.1).
        return this.send({
          type: 'get_async_reply',
          xid,
          packetInMask: [3, 1],
          portStatusMask: [7, 7],
          flowRemovedMask: [15, 0],
        });
      case 'table_features_request':
        return this.send({ type: 'table_features_reply', xid, flags: 0, tables: [] });
      case 'flow_mod':
        if (m.priority === 0 && m.match.length === 0 && m.bufferId === OFP_NO_BUFFER) {
          this.tableMissSeen = true;
          return this.checkReady();
        }
        this.c.unmatched++;
        return;
      case 'packet_out':
        this.c.unmatched++;
        return;
      case 'error':
        report(this.c.controllerErrors, `switch ${this.dpid}: OFPT_ERROR type ${m.errType} code ${m.code}`);
        return;
      case 'echo_reply':
      case 'set_config':
      case 'set_async':
      case 'group_mod':
      case 'meter_mod':
      case 'port_mod':
      case 'table_mod':
        return;
      default: {
        // Requests this switch does not model (flow stats and the like) get the error a minimal switch gives.
        const e = b[1] === OFPT.MULTIPART_REQUEST ? ERR.BAD_REQUEST.BAD_MULTIPART : ERR.BAD_REQUEST.BAD_TYPE;
        this.send({ type: 'error', xid, errType: e.type, code: e.code, data: b.subarray(0, 64) });
      }
    }
  }

  /** As a switch judges it: a MASTER or SLAVE request with an older generation is stale; a new MASTER demotes the old. */
  private roleRequest(m: MessageOf<'role_request'>, b: Uint8Array): void {
    const r = this.roles;
    if (m.role === OFPCR_ROLE.MASTER || m.role === OFPCR_ROLE.SLAVE) {
      if (r.generation !== undefined && BigInt.asIntN(64, m.generationId - r.generation) < 0n) {
        const e = ERR.ROLE_REQUEST_FAILED.STALE;
        return this.send({ type: 'error', xid: m.xid, errType: e.type, code: e.code, data: b.subarray(0, 64) });
      }
      r.generation = m.generationId;
    }
    if (m.role === OFPCR_ROLE.MASTER) for (const c of r.connections) if (c !== this && c.role === OFPCR_ROLE.MASTER) c.role = OFPCR_ROLE.SLAVE;
    if (m.role !== OFPCR_ROLE.NOCHANGE) this.role = m.role;
    this.send({ type: 'role_reply', xid: m.xid, role: this.role, generationId: r.generation ?? 0n });
    this.fill();
  }

  private checkReady(): void {
    if (this.portDescSent && this.tableMissSeen) this.markReady();
  }

  private ports(): Port[] {
    return Array.from({ length: PORTS }, (_, i) => ({
      portNo: i + 1,
      hwAddr: macText(0xfe, (this.index << 8) | (i + 1)),
      name: `s${this.index + 1}-eth${i + 1}`,
      config: 0,
      state: OFPPS.LIVE,
      curr: OFPPF['10GB_FD'] | OFPPF.COPPER,
      advertised: 0,
      supported: 0,
      peer: 0,
      currSpeed: 10_000_000,
      maxSpeed: 10_000_000,
    }));
  }

  private send(msg: Outgoing): void {
    this.socket.write(encodeMessage({ ...msg, xid: msg.xid ?? 0 } as Message));
  }
}

// ---- a run -------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Connects the switches, waits for every handshake, runs warm-up then the measured interval, disconnects. */
export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  if (opts.switches < 1 || opts.switches > 256) throw new RangeError('switches must be 1..256');
  const window = opts.mode === 'latency' ? 1 : opts.window;
  const c: Counters = {
    ...{ flowMods: 0, packetOuts: 0, lost: 0, late: 0, unmatched: 0, checked: 0, wrong: 0 },
    ...{ mismatches: [], controllerErrors: [], latency: new Histogram() },
  };
  const ports = opts.ports ?? [opts.port];
  const groups: Roles[] = Array.from({ length: opts.switches }, () => ({ connections: [] }));
  const switches = groups.flatMap((roles, i) => ports.map((port) => new EmulatedSwitch(i, opts, window, c, port, roles)));
  const expiry = setInterval(() => {
    const now = performance.now();
    for (const sw of switches) sw.expire(now);
  }, 200);
  try {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const stuck = switches.map((s) => s.describe()).join('\n  ');
        reject(new Error(`handshakes not done after ${CONNECT_TIMEOUT_MS} ms:\n  ${stuck}`));
      }, CONNECT_TIMEOUT_MS);
    });
    const roles = (async () => {
      while (!groups.every(settled)) await sleep(50);
    })();
    await Promise.race([Promise.all([...switches.map((s) => s.ready), roles]), timeout, ...switches.map((s) => s.down)]).finally(() =>
      clearTimeout(timer),
    );

    for (const sw of switches) {
      sw.sending = true;
      sw.fill();
    }
    await sleep(opts.warmup * 1000);

    const responses = () => c.flowMods + c.packetOuts;
    const start = { t: performance.now(), cpu: process.cpuUsage(), peer: opts.peerCpu?.(), ...c };
    const byPort = (f: (s: EmulatedSwitch) => number) => ports.map((p) => switches.filter((s) => s.port === p).reduce((n, s) => n + f(s), 0));
    const masters = byPort((s) => (s.role === OFPCR_ROLE.MASTER || ports.length === 1 ? 1 : 0));
    const answeredBefore = byPort((s) => s.responses);
    c.latency.clear();
    const perSecond: number[] = [];
    let last = responses();
    // The measured interval is exactly `seconds` ticks, so every second has its count.
    await new Promise<void>((done) => {
      const ticker = setInterval(() => {
        perSecond.push(responses() - last);
        last = responses();
        if (perSecond.length < opts.seconds) return;
        clearInterval(ticker);
        done();
      }, 1000);
    });
    const wall = (performance.now() - start.t) / 1000;
    const cpu = process.cpuUsage(start.cpu);
    const peer = opts.peerCpu?.();
    const answered = byPort((s) => s.responses);
    const flowMods = c.flowMods - start.flowMods;
    const packetOuts = c.packetOuts - start.packetOuts;
    return {
      mode: opts.mode,
      switches: opts.switches,
      window,
      seconds: wall,
      responsesPerSec: (flowMods + packetOuts) / wall,
      flowModsPerSec: flowMods / wall,
      packetOutsPerSec: packetOuts / wall,
      perSecond,
      latencyUs: c.latency.summary(),
      lost: c.lost - start.lost,
      late: c.late - start.late,
      unmatched: c.unmatched - start.unmatched,
      checked: c.checked,
      wrong: c.wrong,
      mismatches: c.mismatches,
      controllerErrors: c.controllerErrors,
      generatorCpu: (cpu.user + cpu.system) / 1e6 / wall,
      peerCpu: peer !== undefined && start.peer !== undefined ? (peer - start.peer) / wall : undefined,
      controllers: ports.map((port, i) => ({ port, masters: masters[i], responsesPerSec: (answered[i] - answeredBefore[i]) / wall })),
    };
  } finally {
    clearInterval(expiry);
    for (const sw of switches) sw.close();
  }
}

const num = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (cores: number) => `${Math.round(cores * 100)}%`;

export function formatResult(r: BenchResult): string {
  const l = r.latencyUs;
  const us = (n: number) => `${n < 100 ? n.toFixed(1) : num(n)} µs`;
  return [
    `${r.mode}: ${r.switches} switches, window ${r.window}, ${r.seconds.toFixed(1)} s measured`,
    `  responses/s ${num(r.responsesPerSec)} (flow_mod ${num(r.flowModsPerSec)}, packet_out ${num(r.packetOutsPerSec)})`,
    `  per second: ${r.perSecond.map(num).join(' ')}`,
    `  latency mean ${us(l.mean)}, p50 ${us(l.p50)}, p90 ${us(l.p90)}, p99 ${us(l.p99)}, max ${us(l.max)}`,
    `  lost ${r.lost} (${r.late} answered late), unmatched ${r.unmatched}, checked ${r.checked} answers, ${r.wrong} wrong`,
    `  CPU: generator ${pct(r.generatorCpu)}` + (r.peerCpu === undefined ? '' : `, controller ${pct(r.peerCpu)}`),
    ...(r.controllers.length > 1 ? r.controllers.map((x) => `  controller :${x.port}: master of ${x.masters}, responses/s ${num(x.responsesPerSec)}`) : []),
    ...r.mismatches.map((m) => `  WRONG: ${m}`),
    ...r.controllerErrors.map((m) => `  CONTROLLER ERROR: ${m}`),
  ].join('\n');
}

// ---- command line ------------------------------------------------------------------------

const USAGE = `usage: npx tsx bench/controller/cbench.ts --port N [options]
  --host ADDR       controller address (default ${DEFAULTS.host})
  --port N          controller port
  --mode M          throughput, latency or both (default both)
  --switches N      emulated switches (default ${DEFAULTS.switches})
  --macs N          source MACs per switch (default ${DEFAULTS.macs})
  --seconds S       measured seconds per mode (default ${DEFAULTS.seconds})
  --warmup S        warm-up seconds per mode (default ${DEFAULTS.warmup})
  --window N        packet-ins outstanding per switch in throughput mode (default ${DEFAULTS.window})`;

/** The numeric options shared with run.ts, parsed from parseArgs string values. */
export function numericOptions(values: Record<string, string | boolean | undefined>) {
  const n = (name: keyof typeof DEFAULTS & string, fallback: number, min: number) => {
    const v = values[name];
    if (v === undefined) return fallback;
    const x = Number(v);
    if (!Number.isInteger(x) || x < min) throw new Error(`--${name} must be a whole number >= ${min}, got "${String(v)}"`);
    return x;
  };
  return {
    switches: n('switches', DEFAULTS.switches, 1),
    macs: n('macs', DEFAULTS.macs, 2),
    seconds: n('seconds', DEFAULTS.seconds, 1),
    warmup: n('warmup', DEFAULTS.warmup, 0),
    window: n('window', DEFAULTS.window, 1),
  };
}

export const NUMERIC_FLAGS = {
  switches: { type: 'string' },
  macs: { type: 'string' },
  seconds: { type: 'string' },
  warmup: { type: 'string' },
  window: { type: 'string' },
} as const;

async function main(argv: string[]): Promise<number> {
  let opts;
  try {
    const flags = { ...NUMERIC_FLAGS, host: { type: 'string' }, port: { type: 'string' }, mode: { type: 'string' } } as const;
    const { values } = parseArgs({ args: argv, options: flags });
    const mode = values.mode ?? 'both';
    if (!['throughput', 'latency', 'both'].includes(mode)) {
      throw new Error(`--mode must be throughput, latency or both, got "${mode}"`);
    }
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error('--port N is required (1-65535)');
    const modes: Mode[] = mode === 'both' ? ['throughput', 'latency'] : [mode as Mode];
    opts = { ...numericOptions(values), host: values.host ?? DEFAULTS.host, port, modes };
  } catch (e) {
    process.stderr.write(`cbench: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  let failed = false;
  for (const mode of opts.modes) {
    const r = await runBench({ ...opts, mode });
    process.stdout.write(`${formatResult(r)}\n`);
    if (r.responsesPerSec === 0 || r.wrong > 0) failed = true;
  }
  return failed ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`cbench: ${err.message}\n`);
      process.exit(1);
    },
  );
}
