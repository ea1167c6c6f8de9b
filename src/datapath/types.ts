// The datapath interface the switch agent drives: ports, forwarding, packet-out,
// counters, and the upcalls (packets and link changes) that come back. The
// native datapath (native.ts) implements it; so could a pure-JavaScript model
// in tests of the agent.

import type { EventEmitter } from 'eventemitter3';

/** A port to add: a Linux interface, or a memory port that tests feed and read. */
export type PortSpec =
  | { kind: 'afpacket'; port: number; ifname: string }
  /** vnet: frames sent out keep their virtio-net header (as an AF_PACKET port does); otherwise they are finished in software. */
  | { kind: 'memory'; port: number; vnet?: boolean };

export interface PortInfo {
  port: number;
  kind: PortSpec['kind'];
  /** The interface's index; 0 for a memory port. */
  ifindex: number;
  /** Frames go out with their virtio-net header (GSO and partial checksums left to the kernel or the reader). */
  vnet: boolean;
}

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
  /** Packets received on a port with neither a patch nor upcalls. */
  unrouted: bigint;
  /** Checksum or GSO work that could not be done in software (malformed offload metadata). */
  offloadErrors: bigint;
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

/** A packet sent up to JavaScript. data is a view into the batch's memory (no copy). */
export interface PacketIn {
  inPort: number;
  data: Uint8Array;
}

/** What left a memory port. */
export interface OutFrame {
  data: Uint8Array;
  /** Present when the port was opened with vnet. */
  vnet?: VnetHeader;
}

export interface DatapathEvents {
  /** Packets sent up, in batches: all those of one turn of the datapath's loop. */
  packet_in: [batch: PacketIn[]];
  /** A port's link state changed. */
  port_status: [port: number, state: LinkState];
}

export interface Datapath extends EventEmitter<DatapathEvents> {
  addPort(spec: PortSpec): PortInfo;
  /** Removes the port, and every patch that pointed to it. */
  removePort(port: number): void;
  ports(): PortInfo[];
  /** Packets received on inPort go out of outPort (null: dropped). Replaces upcalls on inPort. */
  setPatch(inPort: number, outPort: number | null): void;
  /** Packets received on inPort go up in 'packet_in' batches (or are dropped). Replaces a patch. */
  setUpcall(inPort: number, on: boolean): void;
  /** Queues a frame to be sent out of port; false when the queue is full (try again later). */
  packetOut(port: number, frame: Uint8Array, vnet?: VnetHeader): boolean;
  portStats(port: number): PortStats;
  linkState(port: number): LinkState;
  stats(): DatapathStats;
  /** Memory ports: a frame arrives on port as if from a wire; false when the input ring is full. */
  inject(port: number, frame: Uint8Array, vnet?: VnetHeader): boolean;
  /** Memory ports: the frames sent out of port since the last call. */
  take(port: number): OutFrame[];
  /** Stops the datapath's thread and closes every port. Idempotent. */
  close(): void;
}
