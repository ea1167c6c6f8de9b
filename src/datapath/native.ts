// The native datapath: the addon built from native/ by binding.gyp, behind the
// Datapath interface. This file mostly converts: arguments to what addon.c
// expects, upcall batches (one ArrayBuffer laid out as struct
// tsof_upcall_packets in native/dp.h) to PacketIn views, removed-flow records
// (struct tsof_removed_flow) to 'flow_removed' events, counters to bigint
// fields, error numbers to OpenFlowError. It also keeps what belongs to the
// control side: each port's description (interfaces.ts) and OpenFlow config
// (port-mod, checked here and given to the pipeline again with every link
// change), and the timer that expires flows.

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { EventEmitter } from 'eventemitter3';
import { memoryPortAddress, readInterface } from './interfaces.ts';
import {
  PORT_CONFIG,
  type AggregateStats,
  type DatapathLimits,
  type Datapath,
  type DatapathEvents,
  type DatapathStats,
  type FlowRemoved,
  type LinkState,
  type OpenFlowError,
  type PacketIn,
  type PortInfo,
  type PortSpec,
  type PortStats,
  type TableStats,
  type TraceEvent,
  type VnetHeader,
} from './types.ts';
import { encodeVnet } from './vnet.ts';

/** A datapath in the addon. */
export type Handle = { readonly __brand: 'tsof datapath handle' };

/** native/addon.c's exports that the provider uses (testing.ts has the test-only ones). */
export interface Addon {
  limits: DatapathLimits;
  open(cb: (kind: number, a: ArrayBuffer | number, b?: number) => void): Handle;
  close(h: Handle): void;
  addAfPacket(h: Handle, port: number, ifname: string): number;
  addMemory(h: Handle, port: number, vnet: boolean): void;
  removePort(h: Handle, port: number): void;
  flowMod(h: Handle, message: Uint8Array): number;
  bundleCommit(h: Handle, messages: Uint8Array): [error: number, index: number];
  groupMod(h: Handle, message: Uint8Array): number;
  meterMod(h: Handle, message: Uint8Array): number;
  executePacketOut(h: Handle, message: Uint8Array): number;
  sync(h: Handle): void;
  setNice(h: Handle, nice: number): void;
  packetOut(h: Handle, port: number, frame: Uint8Array, vnet?: Uint8Array): boolean;
  flowStats(h: Handle, request: Uint8Array): Uint8Array | number;
  tableStats(h: Handle, tableId: number): BigUint64Array;
  statsBody(h: Handle, ofpmp: number, id: number): Uint8Array;
  expire(h: Handle): number;
  takeRemoved(h: Handle): ArrayBuffer | undefined;
  portConfig(h: Handle, port: number, config: number): void;
  setConfig(h: Handle, flags: number, missSendLen: number): void;
  setMacAging(h: Handle, seconds: number): void;
  trace(h: Handle, port: number, frame: Uint8Array): ArrayBuffer;
  portStats(h: Handle, port: number): BigUint64Array;
  stats(h: Handle): BigUint64Array;
}

// The package's root, from src/datapath/ (a checkout) or dist/datapath/ (installed). node-gyp-build loads
// build/Release (a source build: npm ci in a checkout, or a compiler at install) or else the prebuilt
// prebuilds/<platform>-<arch>/ binary the package ships. Loaded on first use only: the controller SDK and
// the codec never touch the addon, so they work where it is not built.
const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));
let addon: Addon | undefined;

function loadAddon(): Addon {
  if (!addon) {
    const nodeGypBuild = createRequire(import.meta.url)('node-gyp-build') as (dir: string) => unknown;
    try {
      addon = nodeGypBuild(PACKAGE_ROOT) as Addon;
    } catch (e) {
      throw new Error(
        `tsof's native datapath cannot load on ${process.platform}-${process.arch} (${(e as Error).message.split('\n')[0]}). ` +
          'tsof-switch and the datapath need it; the controller SDK and codec do not. It runs on Linux and builds ' +
          'with a C compiler, make and python3: `npm rebuild tsof` in a project that installed tsof, ' +
          '`npm run install` in a checkout',
        { cause: e },
      );
    }
  }
  return addon;
}

// native/dp.h
const UPCALL_PACKETS = 1;
const UPCALL_LINK = 2;
const UPCALL_HEADER_WORDS = 4;
const UPCALL_ENTRY_WORDS = 14; // struct tsof_upcall_pkt: 8 u32, then 3 u64
const REMOVED_HEADER = 64; // struct tsof_removed_flow: 8 u32, then 4 u64
// native/port.h TSOF_LINK_*
const LINK_ADMIN_UP = 1;
const LINK_CARRIER = 2;
const LINK_GONE = 4;

/** Port numbers as OpenFlow has them: 1 to 0xffffff00 (OFPP_MAX). */
function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 0xffffff00) throw new RangeError(`port number out of range: ${port}`);
  return port;
}

function linkState(bits: number): LinkState {
  const adminUp = (bits & LINK_ADMIN_UP) !== 0;
  const carrier = (bits & LINK_CARRIER) !== 0;
  return { adminUp, carrier, gone: (bits & LINK_GONE) !== 0, live: adminUp && carrier };
}

function packetBatch(ab: ArrayBuffer): PacketIn[] {
  const count = new Uint32Array(ab, 0, UPCALL_HEADER_WORDS)[1];
  const e = new Uint32Array(ab, UPCALL_HEADER_WORDS * 4, count * UPCALL_ENTRY_WORDS);
  const q = new BigUint64Array(ab, UPCALL_HEADER_WORDS * 4, (count * UPCALL_ENTRY_WORDS) / 2);
  const batch: PacketIn[] = new Array(count);
  for (let i = 0, w = 0; i < count; i++, w += UPCALL_ENTRY_WORDS) {
    batch[i] = {
      inPort: e[w],
      data: new Uint8Array(ab, e[w + 1], e[w + 2]),
      totalLen: e[w + 3],
      reason: e[w + 4],
      tableId: e[w + 5],
      inPhyPort: e[w + 6],
      cookie: q[w / 2 + 4],
      metadata: q[w / 2 + 5],
      tunnelId: q[w / 2 + 6],
    };
  }
  return batch;
}

const NS_PER_SEC = 1_000_000_000n;

function removedFlows(ab: ArrayBuffer): FlowRemoved[] {
  const w = new Uint32Array(ab);
  const q = new BigUint64Array(ab);
  const flows: FlowRemoved[] = [];
  for (let at = 0; at < ab.byteLength; at += w[at / 4]) {
    const i = at / 4;
    const ns = q[i / 2 + 7];
    flows.push({
      tableId: w[i + 2],
      reason: w[i + 3],
      priority: w[i + 4],
      idleTimeout: w[i + 5],
      hardTimeout: w[i + 6],
      cookie: q[i / 2 + 4],
      packetCount: q[i / 2 + 5],
      byteCount: q[i / 2 + 6],
      durationSec: Number(ns / NS_PER_SEC),
      durationNsec: Number(ns % NS_PER_SEC),
      match: new Uint8Array(ab, at + REMOVED_HEADER, w[i + 1]),
    });
  }
  return flows;
}

const TRACE_EVENT = 64; // struct tsof_trace_event (native/trace.h) before its data

/** Trace records: struct tsof_trace_event, back to back, each padded to 8 bytes. */
function traceEvents(ab: ArrayBuffer): TraceEvent[] {
  const w = new Uint32Array(ab);
  const h = new Uint16Array(ab);
  const q = new BigUint64Array(ab);
  const events: TraceEvent[] = [];
  for (let at = 0; at < ab.byteLength; at += w[at / 4]) {
    const i = at / 4;
    events.push({
      kind: h[i * 2 + 2],
      depth: h[i * 2 + 3],
      code: w[i + 2],
      tableId: w[i + 3],
      id: w[i + 4],
      arg: w[i + 5],
      priority: w[i + 6],
      band: w[i + 7],
      cookie: q[i / 2 + 4],
      metadata: q[i / 2 + 5],
      mask: q[i / 2 + 6],
      len: w[i + 14],
      data: new Uint8Array(ab, at + TRACE_EVENT, w[i + 15]),
    });
  }
  return events;
}

/**
 * Flows' timeouts are in seconds; a check every half second removes each
 * well within a second of its time (a deadline rounds up to the timer
 * wheel's 62.5 ms tick). It runs on Node's thread, with the
 * other control calls (the pipeline's lock serialises them; the datapath
 * thread never waits for it), on a timer that does not keep Node alive.
 */
const EXPIRE_INTERVAL_MS = 500;

/** Offset of packet_count in ofp_flow_stats (byte_count follows). */
const FLOW_STATS_PACKETS = 32;

// OFPMP_* bodies addon.c builds.
const OFPMP = { GROUP: 6, GROUP_DESC: 7, METER: 9, METER_CONFIG: 10 } as const;
// OFPET_PORT_MOD_FAILED and its codes.
const PORT_MOD_FAILED = 7;
const OFPPMFC = { BAD_PORT: 0, BAD_HW_ADDR: 1, BAD_CONFIG: 2 } as const;
const PORT_CONFIG_BITS = Object.values(PORT_CONFIG).reduce((a: number, b) => a | b, 0);

/** addon.c's (type << 16 | code), 0 for none. */
function ofError(e: number): OpenFlowError | null {
  return e === 0 ? null : { type: e >>> 16, code: e & 0xffff };
}

/** The datapath counters, in the order the addon returns them. */
const STATS = [
  'upcallPackets',
  'upcallBatches',
  'upcallDropped',
  'noPort',
  'offloadErrors',
  'removedLost',
  'packets',
  'emcHits',
  'classifierLookups',
  'tableMisses',
  'invalidTtl',
  'meterDrops',
  'dropped',
  'outputs',
  'packetIns',
] as const satisfies readonly (keyof DatapathStats)[];

export class NativeDatapath extends EventEmitter<DatapathEvents> implements Datapath {
  /** The addon and this datapath in it: also for the test-only calls of testing.ts. */
  protected readonly addon = loadAddon();
  protected readonly handle: Handle;
  readonly limits: DatapathLimits = this.addon.limits;
  readonly #ports = new Map<number, PortInfo>();
  readonly #expiry: NodeJS.Timeout;
  #closed = false;

  constructor() {
    super();
    this.handle = this.addon.open((kind, a, b) => {
      if (kind === UPCALL_PACKETS) this.emit('packet_in', packetBatch(a as ArrayBuffer));
      else if (kind === UPCALL_LINK) this.#linkChanged(a as number, b!);
    });
    this.#expiry = setInterval(() => {
      this.addon.expire(this.handle);
      this.#emitRemoved();
    }, EXPIRE_INTERVAL_MS).unref();
  }

  /** The pipeline learns of the change (OFPPS_LINK_DOWN) before anyone hears of it. */
  #linkChanged(port: number, bits: number): void {
    const info = this.#ports.get(port);
    if (!info) return; // removed (or closed) since
    this.addon.portConfig(this.handle, port, info.config);
    this.emit('port_status', port, linkState(bits));
  }

  /** 'flow_removed' for what the last control calls removed. */
  #emitRemoved(): void {
    const records = this.addon.takeRemoved(this.handle);
    if (records) for (const flow of removedFlows(records)) this.emit('flow_removed', flow);
  }

  /** A flow, group or meter mod's result, after the events for the flows it removed. */
  #modResult(e: number): OpenFlowError | null {
    this.#emitRemoved();
    return ofError(e);
  }

  addPort(spec: PortSpec): Readonly<PortInfo> {
    const port = checkPort(spec.port);
    const common = { port, config: 0, addedAt: process.hrtime.bigint() };
    let info: PortInfo;
    if (spec.kind === 'afpacket') {
      const ifindex = this.addon.addAfPacket(this.handle, port, spec.ifname);
      info = { ...common, kind: spec.kind, name: spec.ifname, ...readInterface(spec.ifname), ifindex, vnet: true };
    } else {
      info = { ...common, kind: spec.kind, name: `mem${port}`, hwAddr: memoryPortAddress(port), speedMbps: 0, ifindex: 0, vnet: spec.vnet ?? false };
      this.addon.addMemory(this.handle, port, info.vnet);
    }
    this.#ports.set(port, info);
    return info;
  }

  removePort(port: number): void {
    this.addon.removePort(this.handle, port);
    this.#ports.delete(port);
  }

  ports(): Readonly<PortInfo>[] {
    return [...this.#ports.values()].sort((a, b) => a.port - b.port);
  }

  port(port: number): Readonly<PortInfo> | undefined {
    return this.#ports.get(port);
  }

  portMod(port: number, hwAddr: string, config: number, mask: number): OpenFlowError | null {
    const info = this.#ports.get(port);
    if (!info) return { type: PORT_MOD_FAILED, code: OFPPMFC.BAD_PORT };
    if (hwAddr !== info.hwAddr) return { type: PORT_MOD_FAILED, code: OFPPMFC.BAD_HW_ADDR };
    if (mask & ~PORT_CONFIG_BITS) return { type: PORT_MOD_FAILED, code: OFPPMFC.BAD_CONFIG };
    info.config = ((info.config & ~mask) | (config & mask)) >>> 0;
    this.addon.portConfig(this.handle, port, info.config);
    return null;
  }

  flowMod(message: Uint8Array): OpenFlowError | null {
    return this.#modResult(this.addon.flowMod(this.handle, message));
  }

  bundleCommit(messages: Uint8Array): { error: OpenFlowError; index: number } | null {
    const [e, index] = this.addon.bundleCommit(this.handle, messages);
    const error = this.#modResult(e);
    return error && { error, index };
  }

  groupMod(message: Uint8Array): OpenFlowError | null {
    return this.#modResult(this.addon.groupMod(this.handle, message));
  }

  meterMod(message: Uint8Array): OpenFlowError | null {
    return this.#modResult(this.addon.meterMod(this.handle, message));
  }

  executePacketOut(message: Uint8Array): OpenFlowError | null {
    return ofError(this.addon.executePacketOut(this.handle, message));
  }

  sync(): void {
    this.addon.sync(this.handle);
  }

  setNice(nice: number): void {
    if (!Number.isInteger(nice) || nice < -20 || nice > 19) throw new RangeError(`nice: an integer from -20 to 19, not ${nice}`);
    this.addon.setNice(this.handle, nice);
  }

  flowStats(request: Uint8Array): { ok: true; body: Uint8Array } | { ok: false; error: OpenFlowError } {
    const r = this.addon.flowStats(this.handle, request);
    return typeof r === 'number' ? { ok: false, error: ofError(r)! } : { ok: true, body: r };
  }

  aggregateStats(request: Uint8Array): ({ ok: true } & AggregateStats) | { ok: false; error: OpenFlowError } {
    const r = this.flowStats(request);
    if (!r.ok) return r;
    const v = new DataView(r.body.buffer, r.body.byteOffset, r.body.byteLength);
    const sum = { ok: true as const, packetCount: 0n, byteCount: 0n, flowCount: 0 };
    for (let at = 0; at < r.body.length; at += v.getUint16(at)) {
      sum.packetCount += v.getBigUint64(at + FLOW_STATS_PACKETS);
      sum.byteCount += v.getBigUint64(at + FLOW_STATS_PACKETS + 8);
      sum.flowCount++;
    }
    return sum;
  }

  tableStats(tableId: number): TableStats {
    const [active, lookupCount, matchedCount] = this.addon.tableStats(this.handle, tableId);
    return { activeCount: Number(active), lookupCount, matchedCount };
  }

  groupStats(groupId: number): Uint8Array {
    return this.addon.statsBody(this.handle, OFPMP.GROUP, groupId);
  }

  groupDesc(groupId: number): Uint8Array {
    return this.addon.statsBody(this.handle, OFPMP.GROUP_DESC, groupId);
  }

  meterStats(meterId: number): Uint8Array {
    return this.addon.statsBody(this.handle, OFPMP.METER, meterId);
  }

  meterConfig(meterId: number): Uint8Array {
    return this.addon.statsBody(this.handle, OFPMP.METER_CONFIG, meterId);
  }

  setConfig(flags: number, missSendLen: number): void {
    this.addon.setConfig(this.handle, flags, missSendLen);
  }

  setMacAging(seconds: number): void {
    this.addon.setMacAging(this.handle, seconds);
  }

  trace(inPort: number, frame: Uint8Array): TraceEvent[] {
    return traceEvents(this.addon.trace(this.handle, checkPort(inPort), frame));
  }

  packetOut(port: number, frame: Uint8Array, vnet?: VnetHeader): boolean {
    return this.addon.packetOut(this.handle, port, frame, vnet && encodeVnet(vnet));
  }

  #counters(port: number): BigUint64Array {
    return this.addon.portStats(this.handle, port);
  }

  portStats(port: number): PortStats {
    const [rxPackets, rxBytes, rxDropped, rxErrors, txPackets, txBytes, txDropped, txErrors] = this.#counters(port);
    return { rxPackets, rxBytes, rxDropped, rxErrors, txPackets, txBytes, txDropped, txErrors };
  }

  linkState(port: number): LinkState {
    return linkState(Number(this.#counters(port)[8]));
  }

  stats(): DatapathStats {
    const values = this.addon.stats(this.handle);
    return Object.fromEntries(STATS.map((name, i) => [name, values[i]])) as unknown as DatapathStats;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#expiry);
    this.addon.close(this.handle);
    this.#ports.clear();
  }
}
