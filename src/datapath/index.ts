// The datapath layer: where packets are forwarded, in C, on the datapath's own
// thread (native/, built into build/Release/tsof_native.node). The switch agent
// drives it through the Datapath interface: it adds ports (Linux interfaces
// over AF_PACKET rings, or memory ports for tests), hands over the flow, group
// and meter mods and packet-outs the controller sent (as wire messages; the C
// pipeline checks them and returns the OpenFlow error), reads counters, and
// receives upcalls: packet-ins in batches ('packet_in') and link changes from
// rtnetlink ('port_status'). docs/native-ports.md describes the ports,
// docs/native.md the pipeline.
//
// Invariants:
// - No packet is handled on Node's event loop. JavaScript gets upcalls in
//   batches through a bounded queue; when it falls behind, the datapath drops
//   and counts (upcallDropped) rather than block or grow.
// - A change from JavaScript (add/remove a port, a flow/group/meter mod) is in
//   force when the call returns, and no packet sees half of it: ports change
//   between two batches, mods at a pipeline version a frame reads once.
// - Offloads stay on. A frame with a partial checksum or a GSO frame goes to an
//   interface with its virtio-net header, for the kernel to finish; to a
//   destination that takes plain frames (JavaScript, a memory port without
//   vnet) it is finished in software first. VLAN tags the kernel stripped are
//   put back before anything sees the frame.
// - Counters are u64 (bigint), exact per counter; drops are counted, never silent.

export { NativeDatapath } from './native.ts';
export * from './types.ts';
