// The datapath layer: where packets are forwarded, in C, on the datapath's own
// thread (native/, built into build/Release/tsof_native.node). The switch agent
// drives it through the Datapath interface: it adds ports (Linux interfaces
// over AF_PACKET rings, or memory ports for tests), hands over the flow, group
// and meter mods and packet-outs the controller sent (as wire messages; the C
// pipeline checks them and returns the OpenFlow error), sets port config
// (port-mod) and the switch config, reads counters and statistics (multipart
// reply bodies), and receives events: packet-ins in batches ('packet_in'),
// link changes from rtnetlink ('port_status') and removed flows
// ('flow_removed', by timeout or by a mod). docs/native-ports.md describes the
// ports, docs/native.md the pipeline. Tests feed and read memory ports through
// testing.ts, which this entry file does not export.
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
// - Control calls (mods, port-mod, statistics, flow expiry once a second) run
//   on Node's thread, never on the datapath thread: they take the pipeline's
//   lock and may allocate. A link change is in the pipeline's port table
//   before 'port_status' is emitted; a flow a mod removes is reported before
//   the mod returns.
// - Counters are u64 (bigint), exact per counter; drops are counted, never silent.

export { NativeDatapath } from './native.ts';
export * from './types.ts';
