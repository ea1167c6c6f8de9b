// The datapath layer: where packets are forwarded, in C, on the datapath's own
// thread (native/, built into build/Release/tsof_native.node). The switch agent
// drives it through the Datapath interface: it adds ports (Linux interfaces
// over AF_PACKET rings, or memory ports for tests), says where each port's
// packets go, sends packet-outs, reads counters, and receives upcalls: packets
// sent up to JavaScript in batches ('packet_in') and link changes from
// rtnetlink ('port_status'). For now forwarding is a patch panel (each port's
// packets go to one port, up to JavaScript, or nowhere); the OpenFlow pipeline
// replaces it (issue 3). docs/native-ports.md describes the ports.
//
// Invariants:
// - No packet is handled on Node's event loop. JavaScript gets upcalls in
//   batches through a bounded queue; when it falls behind, the datapath drops
//   and counts (upcallDropped) rather than block or grow.
// - A change from JavaScript (add/remove a port, a patch) is applied by the
//   datapath thread between two batches, and the call returns once it is in
//   force: no packet sees half of it.
// - Offloads stay on. A frame with a partial checksum or a GSO frame goes to an
//   interface with its virtio-net header, for the kernel to finish; to a
//   destination that takes plain frames (JavaScript, a memory port without
//   vnet) it is finished in software first. VLAN tags the kernel stripped are
//   put back before anything sees the frame.
// - Counters are u64 (bigint), exact per counter; drops are counted, never silent.

export { NativeDatapath } from './native.ts';
export * from './types.ts';
