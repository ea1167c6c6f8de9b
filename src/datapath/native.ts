// The native datapath: the addon built from native/ by binding.gyp, behind the
// Datapath interface. This file only converts: arguments to what addon.c
// expects, upcall batches (one ArrayBuffer laid out as struct
// tsof_upcall_packets in native/dp.h) to PacketIn views, counters to bigint
// fields, error numbers to OpenFlowError.

import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import { EventEmitter } from 'eventemitter3';
import type {
  Datapath,
  DatapathEvents,
  DatapathStats,
  LinkState,
  OpenFlowError,
  OutFrame,
  PacketIn,
  PortInfo,
  PortSpec,
  PortStats,
  TableStats,
  VnetHeader,
} from './types.ts';

type Handle = { readonly __brand: 'tsof datapath handle' };

/** native/addon.c's exports. */
interface Addon {
  open(cb: (kind: number, a: ArrayBuffer | number, b?: number) => void): Handle;
  close(h: Handle): void;
  addAfPacket(h: Handle, port: number, ifname: string): number;
  addMemory(h: Handle, port: number, vnet: boolean): void;
  removePort(h: Handle, port: number): void;
  flowMod(h: Handle, message: Uint8Array): number;
  groupMod(h: Handle, message: Uint8Array): number;
  meterMod(h: Handle, message: Uint8Array): number;
  executePacketOut(h: Handle, message: Uint8Array): number;
  packetOut(h: Handle, port: number, frame: Uint8Array, vnet?: Uint8Array): boolean;
  flowStats(h: Handle, request: Uint8Array): Uint8Array | number;
  tableStats(h: Handle, tableId: number): BigUint64Array;
  inject(h: Handle, port: number, frame: Uint8Array, vnet?: Uint8Array): boolean;
  take(h: Handle, port: number): Uint8Array[];
  portStats(h: Handle, port: number): BigUint64Array;
  stats(h: Handle): BigUint64Array;
}

const ADDON_PATH = '../../build/Release/tsof_native.node';
let addon: Addon | undefined;

function loadAddon(): Addon {
  if (!addon) {
    try {
      addon = createRequire(import.meta.url)(ADDON_PATH) as Addon;
    } catch (e) {
      throw new Error(`the native datapath is not built (${ADDON_PATH}): run npm ci, or npm run install`, { cause: e });
    }
  }
  return addon;
}

// native/dp.h
const UPCALL_PACKETS = 1;
const UPCALL_LINK = 2;
const UPCALL_HEADER_WORDS = 4;
const UPCALL_ENTRY_WORDS = 14; // struct tsof_upcall_pkt: 8 u32, then 3 u64
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

// The header is in the host's byte order, as packet sockets and virtio (legacy) use it.
const LE = endianness() === 'LE';
const VNET_HDR_LEN = 10;

function encodeVnet(h: VnetHeader): Uint8Array {
  const b = new Uint8Array(VNET_HDR_LEN);
  const v = new DataView(b.buffer);
  v.setUint8(0, h.flags);
  v.setUint8(1, h.gsoType);
  v.setUint16(2, h.hdrLen, LE);
  v.setUint16(4, h.gsoSize, LE);
  v.setUint16(6, h.csumStart, LE);
  v.setUint16(8, h.csumOffset, LE);
  return b;
}

function decodeVnet(b: Uint8Array): VnetHeader {
  const v = new DataView(b.buffer, b.byteOffset, VNET_HDR_LEN);
  return {
    flags: v.getUint8(0),
    gsoType: v.getUint8(1),
    hdrLen: v.getUint16(2, LE),
    gsoSize: v.getUint16(4, LE),
    csumStart: v.getUint16(6, LE),
    csumOffset: v.getUint16(8, LE),
  };
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
  readonly #addon = loadAddon();
  readonly #h: Handle;
  readonly #ports = new Map<number, PortInfo>();
  #closed = false;

  constructor() {
    super();
    this.#h = this.#addon.open((kind, a, b) => {
      if (kind === UPCALL_PACKETS) this.emit('packet_in', packetBatch(a as ArrayBuffer));
      else if (kind === UPCALL_LINK) this.emit('port_status', a as number, linkState(b!));
    });
  }

  addPort(spec: PortSpec): PortInfo {
    const port = checkPort(spec.port);
    let info: PortInfo;
    if (spec.kind === 'afpacket') {
      info = { port, kind: spec.kind, ifindex: this.#addon.addAfPacket(this.#h, port, spec.ifname), vnet: true };
    } else {
      info = { port, kind: spec.kind, ifindex: 0, vnet: spec.vnet ?? false };
      this.#addon.addMemory(this.#h, port, info.vnet);
    }
    this.#ports.set(port, info);
    return info;
  }

  removePort(port: number): void {
    this.#addon.removePort(this.#h, port);
    this.#ports.delete(port);
  }

  ports(): PortInfo[] {
    return [...this.#ports.values()];
  }

  flowMod(message: Uint8Array): OpenFlowError | null {
    return ofError(this.#addon.flowMod(this.#h, message));
  }

  groupMod(message: Uint8Array): OpenFlowError | null {
    return ofError(this.#addon.groupMod(this.#h, message));
  }

  meterMod(message: Uint8Array): OpenFlowError | null {
    return ofError(this.#addon.meterMod(this.#h, message));
  }

  executePacketOut(message: Uint8Array): OpenFlowError | null {
    return ofError(this.#addon.executePacketOut(this.#h, message));
  }

  flowStats(request: Uint8Array): { ok: true; body: Uint8Array } | { ok: false; error: OpenFlowError } {
    const r = this.#addon.flowStats(this.#h, request);
    return typeof r === 'number' ? { ok: false, error: ofError(r)! } : { ok: true, body: r };
  }

  tableStats(tableId: number): TableStats {
    const [active, lookupCount, matchedCount] = this.#addon.tableStats(this.#h, tableId);
    return { activeCount: Number(active), lookupCount, matchedCount };
  }

  packetOut(port: number, frame: Uint8Array, vnet?: VnetHeader): boolean {
    return this.#addon.packetOut(this.#h, port, frame, vnet && encodeVnet(vnet));
  }

  #counters(port: number): BigUint64Array {
    return this.#addon.portStats(this.#h, port);
  }

  portStats(port: number): PortStats {
    const [rxPackets, rxBytes, rxDropped, rxErrors, txPackets, txBytes, txDropped, txErrors] = this.#counters(port);
    return { rxPackets, rxBytes, rxDropped, rxErrors, txPackets, txBytes, txDropped, txErrors };
  }

  linkState(port: number): LinkState {
    return linkState(Number(this.#counters(port)[8]));
  }

  stats(): DatapathStats {
    const values = this.#addon.stats(this.#h);
    return Object.fromEntries(STATS.map((name, i) => [name, values[i]])) as unknown as DatapathStats;
  }


  inject(port: number, frame: Uint8Array, vnet?: VnetHeader): boolean {
    return this.#addon.inject(this.#h, port, frame, vnet && encodeVnet(vnet));
  }

  take(port: number): OutFrame[] {
    const withVnet = this.#ports.get(port)?.vnet ?? false;
    return this.#addon.take(this.#h, port).map((b) =>
      withVnet ? { data: b.subarray(VNET_HDR_LEN), vnet: decodeVnet(b) } : { data: b },
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#addon.close(this.#h);
    this.#ports.clear();
  }
}
