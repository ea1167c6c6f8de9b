// The datapath interface the switch agent drives: ports and their config, the
// OpenFlow tables (flow, group and meter mods as wire messages), packet-out,
// counters and statistics, and the events (packet-ins, link changes, removed
// flows) that come back. The
// native datapath (native.ts) implements it; so could a pure-JavaScript model
// in tests of the agent.

import type { EventEmitter } from 'eventemitter3';

/**
 * A port to add: a Linux interface, or a memory port, which needs no root: tests build switches with them and
 * feed and read them through testing.ts (nothing else reaches a memory port's frames).
 */
export type PortSpec =
  | { kind: 'afpacket'; port: number; ifname: string }
  /** vnet: frames sent out keep their virtio-net header (as an AF_PACKET port does); otherwise they are finished in software. */
  | { kind: 'memory'; port: number; vnet?: boolean };

/** A port as the datapath has it: what ofp_port describes, but its link state (linkState()). */
export interface PortInfo {
  port: number;
  kind: PortSpec['kind'];
  /** The interface's name; mem<N> for a memory port. */
  name: string;
  /** The interface's MAC address (a locally administered one for a memory port). */
  hwAddr: string;
  /** Link speed in Mb/s; 0 when unknown (and for memory ports). */
  speedMbps: number;
  /** The interface's index; 0 for a memory port. */
  ifindex: number;
  /** Frames go out with their virtio-net header (GSO and partial checksums left to the kernel or the reader). */
  vnet: boolean;
  /** PORT_CONFIG bits, as portMod() left them. */
  config: number;
  /** When the port was added (process.hrtime.bigint()), for the duration in port statistics. */
  addedAt: bigint;
}

/** OFPPC_* bits portMod() takes (OpenFlow 1.3). */
export const PORT_CONFIG = { PORT_DOWN: 1, NO_RECV: 4, NO_FWD: 32, NO_PACKET_IN: 64 } as const;

/** Link state, from rtnetlink for interfaces (always up for memory ports). */
export interface LinkState {
  /** IFF_UP: configured up (OpenFlow: not OFPPC_PORT_DOWN). */
  adminUp: boolean;
  /** IFF_LOWER_UP: the link has carrier (OpenFlow: not OFPPS_LINK_DOWN). */
  carrier: boolean;
  /** The interface was deleted. */
  gone: boolean;
  /** adminUp and carrier: the port forwards, and is live for fast-failover groups. */
  live: boolean;
}

/** Per-port counters, as in ofp_port_stats (u64, so bigint like the codec's). */
export interface PortStats {
  rxPackets: bigint;
  rxBytes: bigint;
  /** Frames the kernel dropped because the receive ring was full. */
  rxDropped: bigint;
  /** Frames received truncated. */
  rxErrors: bigint;
  txPackets: bigint;
  txBytes: bigint;
  /** Frames not sent: the device's queue was full, or the link down. */
  txDropped: bigint;
  txErrors: bigint;
}

export interface DatapathStats {
  /** Packets delivered in 'packet_in' batches, and the number of batches. */
  upcallPackets: bigint;
  upcallBatches: bigint;
  /** Packets for JavaScript dropped because it was behind (the queue between the threads was full). */
  upcallDropped: bigint;
  /** Outputs to a port that was being removed, and packet-outs straight to a port that is gone. */
  noPort: bigint;
  /** Checksum or GSO work that could not be done in software (malformed offload metadata). */
  offloadErrors: bigint;
  /** Removed flows that could not be reported (out of memory). */
  removedLost: bigint;
  /** The pipeline on the datapath thread: frames run (received and packet-outs). */
  packets: bigint;
  /** Table lookups answered by the exact-match cache, and by the classifier. */
  emcHits: bigint;
  classifierLookups: bigint;
  /** Dropped: no flow and no table-miss flow. */
  tableMisses: bigint;
  /** Stopped by a TTL decrement (sent up with reason INVALID_TTL). */
  invalidTtl: bigint;
  meterDrops: bigint;
  /** Dropped otherwise: no room to push, groups too deep, fragments, an unknown or down port. */
  dropped: bigint;
  outputs: bigint;
  packetIns: bigint;
}

/** An OpenFlow error for the controller (OFPT_ERROR's type and code, as in the codec's errors.ts). */
export interface OpenFlowError {
  type: number;
  code: number;
}

/** What the pipeline can hold: what a switch over it may advertise. */
export interface DatapathLimits {
  /** Flow tables, numbered from 0. */
  tables: number;
  /** Flows a table holds before OFPFMFC_TABLE_FULL. */
  flowsPerTable: number;
  /** Bands in one meter. */
  meterBands: number;
  /** Groups a packet may pass through, one chained to the next. */
  groupDepth: number;
  ports: number;
}

/** ofp_aggregate_stats_reply. */
export interface AggregateStats {
  packetCount: bigint;
  byteCount: bigint;
  flowCount: number;
}

/** ofp_table_stats' counters. */
export interface TableStats {
  activeCount: number;
  lookupCount: bigint;
  matchedCount: bigint;
}

/**
 * The virtio-net header that travels with a frame whose checksum or
 * segmentation was left to the output (Linux include/uapi/linux/virtio_net.h).
 */
export interface VnetHeader {
  /** VNET_F.NEEDS_CSUM, VNET_F.DATA_VALID */
  flags: number;
  /** VNET_GSO.* */
  gsoType: number;
  hdrLen: number;
  /** Payload bytes per segment. */
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

export const VNET_F = { NEEDS_CSUM: 1, DATA_VALID: 2 } as const;
export const VNET_GSO = { NONE: 0, TCPV4: 1, UDP: 3, TCPV6: 4, UDP_L4: 5, ECN: 0x80 } as const;

/** OFPR_* */
export const PACKET_IN_REASON = { NO_MATCH: 0, ACTION: 1, INVALID_TTL: 2 } as const;

/**
 * A packet-in: what OFPT_PACKET_IN carries. data is a view into the batch's
 * memory (no copy), already truncated to the max_len the flow asked for.
 * A GSO frame comes up as its segments, each a packet-in of its own.
 */
export interface PacketIn {
  inPort: number;
  data: Uint8Array;
  /** The frame's length before truncation. */
  totalLen: number;
  /** PACKET_IN_REASON */
  reason: number;
  tableId: number;
  /** The flow's cookie, or all-ones from an action set, group or packet-out. */
  cookie: bigint;
  /** The pipeline fields for the packet-in's match. */
  inPhyPort: number;
  metadata: bigint;
  tunnelId: bigint;
}

/** OFPRR_* (OpenFlow 1.3; a meter delete reports DELETE). */
export const FLOW_REMOVED_REASON = { IDLE_TIMEOUT: 0, HARD_TIMEOUT: 1, DELETE: 2, GROUP_DELETE: 3 } as const;

/**
 * A flow left its table: what OFPT_FLOW_REMOVED carries, named as the codec's
 * flow_removed message has it. Only flows added with OFPFF_SEND_FLOW_REM are
 * reported (the pipeline filters), each once.
 */
export interface FlowRemoved {
  tableId: number;
  /** FLOW_REMOVED_REASON */
  reason: number;
  priority: number;
  idleTimeout: number;
  hardTimeout: number;
  cookie: bigint;
  packetCount: bigint;
  byteCount: bigint;
  durationSec: number;
  durationNsec: number;
  /** The flow's ofp_match as it was added, padding included (decode it with the codec's match). */
  match: Uint8Array;
}

/**
 * A packet trace's events, native/trace.h's enum tsof_trace_kind: what the
 * frame met, in order (which fields each kind uses is listed there).
 */
export const TRACE_KIND = {
  FLOW: 1,
  TABLE: 2,
  INSTRUCTION: 3,
  ACTION_SET: 4,
  ACTION: 5,
  GROUP: 6,
  BUCKET: 7,
  NORMAL: 8,
  OUTPUT: 9,
  PACKET_IN: 10,
  DROP: 11,
} as const;

/** Why a trace's frame, or a copy of it, went no further: native/trace.h's enum tsof_trace_drop. */
export const TRACE_DROP = {
  TABLE_MISS: 1,
  NO_RECV: 2,
  FRAGMENT: 3,
  METER: 4,
  INVALID_TTL: 5,
  NO_ROOM: 6,
  PORT: 7,
  IN_PORT: 8,
  TOO_DEEP: 9,
  NO_BUCKET: 10,
  NO_PACKET_IN: 11,
  NORMAL: 12,
  NORMAL_PORT: 13,
} as const;

/** A group event's bucket when none was live (TSOF_TRACE_NONE). */
export const TRACE_NONE = 0xffffffff;

/**
 * One event of a packet trace: native/trace.h's struct tsof_trace_event, field for field. OpenFlow
 * structures in data are in wire form: FLOW an ofp_match of the key, TABLE the flow's ofp_match,
 * ACTION and WRITE_ACTIONS ofp_action TLVs, OUTPUT and PACKET_IN the frame.
 */
export interface TraceEvent {
  /** TRACE_KIND */
  kind: number;
  /** 0, one more inside each group bucket. */
  depth: number;
  code: number;
  tableId: number;
  id: number;
  arg: number;
  priority: number;
  band: number;
  cookie: bigint;
  metadata: bigint;
  mask: bigint;
  /** The frame's length then. */
  len: number;
  data: Uint8Array;
}

export interface DatapathEvents {
  /** Packet-ins, in batches: all those of one turn of the datapath's loop. */
  packet_in: [batch: PacketIn[]];
  /** A port's link state changed (already in force in the pipeline: OFPPS_LINK_DOWN). */
  port_status: [port: number, state: LinkState];
  /**
   * A flow was removed: by its idle or hard timeout (checked about once a
   * second), or by a flow, group or meter mod or a bundle, in which case the
   * event comes before flowMod(), groupMod(), meterMod() or bundleCommit()
   * returns. Its counters are final: the call waits until the datapath can
   * count no more packets on the flow (it ends the batch it is in).
   */
  flow_removed: [flow: FlowRemoved];
}

export interface Datapath extends EventEmitter<DatapathEvents> {
  readonly limits: DatapathLimits;
  /** Adds a port; throws when the number is taken or the interface cannot be opened. */
  addPort(spec: PortSpec): Readonly<PortInfo>;
  /** Removes the port (flows that output to it stay, and drop). */
  removePort(port: number): void;
  /** The ports, by number. */
  ports(): Readonly<PortInfo>[];
  port(port: number): Readonly<PortInfo> | undefined;
  /**
   * OFPT_FLOW_MOD, OFPT_GROUP_MOD, OFPT_METER_MOD: the whole message as the
   * codec encodes it. Applied atomically for the packets, and in force when
   * the call returns; null, or the error to send the controller. (No packet
   * buffers: a flow mod with a buffer id is applied and answered BUFFER_UNKNOWN.)
   */
  flowMod(message: Uint8Array): OpenFlowError | null;
  groupMod(message: Uint8Array): OpenFlowError | null;
  meterMod(message: Uint8Array): OpenFlowError | null;
  /**
   * A bundle's OFPT_FLOW_MODs, whole messages back to back, committed in
   * order and atomically: all in force together when the call returns (one
   * change for the packets), or, when one fails, none of them; then its
   * error and index. Flow-removed events of its deletes come only on success.
   * (A flow mod with a buffer id fails it: BUFFER_UNKNOWN.)
   */
  bundleCommit(messages: Uint8Array): { error: OpenFlowError; index: number } | null;
  /**
   * OFPT_PACKET_OUT, the whole message: its actions run on the datapath thread
   * (OFPP_TABLE through the tables). null once queued, or the error to send
   * (buffer ids are not supported: BUFFER_UNKNOWN). Throws EAGAIN when the queue is full.
   */
  executePacketOut(message: Uint8Array): OpenFlowError | null;
  /**
   * Returns once every packet-out queued before the call has run on the
   * datapath thread (a barrier's promise: spec 6.2).
   */
  sync(): void;
  /**
   * The datapath thread's nice value, -20 to 19 (setpriority(2)); the rest of
   * the process keeps its own, so forwarding can go ahead of the control side
   * on a busy host. Throws EACCES or EPERM without the privilege to raise it.
   */
  setNice(nice: number): void;
  /** Queues a frame to be sent out of port as it is, without the pipeline; false when the queue is full. */
  packetOut(port: number, frame: Uint8Array, vnet?: VnetHeader): boolean;
  /**
   * OFPT_MULTIPART_REQUEST for OFPMP_FLOW, the whole message: the ofp_flow_stats
   * entries of the flows it selects, back to back (a reply's body, for the
   * caller to split into replies), or the error to send.
   */
  flowStats(request: Uint8Array): { ok: true; body: Uint8Array } | { ok: false; error: OpenFlowError };
  /**
   * OFPMP_AGGREGATE, the whole request message (its body is a flow stats
   * request's): the counters summed over the flows it selects, or the error.
   */
  aggregateStats(request: Uint8Array): ({ ok: true } & AggregateStats) | { ok: false; error: OpenFlowError };
  tableStats(tableId: number): TableStats;
  /**
   * Multipart reply bodies for OFPMP_GROUP (ofp_group_stats with bucket
   * counters), OFPMP_GROUP_DESC, OFPMP_METER (ofp_meter_stats with band
   * counters) and OFPMP_METER_CONFIG: the entries of one group or meter, or
   * of all (OFPG_ALL, OFPM_ALL), back to back; empty for an unknown id.
   */
  groupStats(groupId: number): Uint8Array;
  groupDesc(groupId: number): Uint8Array;
  meterStats(meterId: number): Uint8Array;
  meterConfig(meterId: number): Uint8Array;
  /**
   * OFPT_PORT_MOD: the PORT_CONFIG bits under mask take their values from
   * config. PORT_DOWN: nothing in or out; NO_RECV: input dropped; NO_FWD:
   * nothing sent; NO_PACKET_IN: no packet-ins for its input. hwAddr must be
   * the port's (spec 7.3.4.3). null, or the error: BAD_PORT, BAD_HW_ADDR,
   * BAD_CONFIG for other bits.
   */
  portMod(port: number, hwAddr: string, config: number, mask: number): OpenFlowError | null;
  /** OFPT_SET_CONFIG: fragment handling (OFPC_FRAG_*) and the max_len of invalid-TTL packet-ins. */
  setConfig(flags: number, missSendLen: number): void;
  /** How long OFPP_NORMAL remembers an address it has not seen, in seconds (default 300; 0 remembers nothing). */
  setMacAging(seconds: number): void;
  /**
   * Traces a frame as if received on inPort, through the pipeline as it is now (like Open vSwitch's
   * ofproto/trace), with no side effect: nothing is sent or counted, no meter token is taken,
   * NORMAL learns nothing. The events, in order.
   */
  trace(inPort: number, frame: Uint8Array): TraceEvent[];
  portStats(port: number): PortStats;
  linkState(port: number): LinkState;
  stats(): DatapathStats;
  /** Stops the datapath's thread and closes every port. Idempotent. */
  close(): void;
}
