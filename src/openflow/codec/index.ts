// The tsof OpenFlow 1.3.5 codec: pure functions from bytes to typed messages and
// back, with no I/O. It is the only layer that knows the wire format; the switch
// agent and the controller SDK speak in the decoded types it exports.
//
// Invariants (see schema.ts for how the tables enforce them):
// - Every wire structure is described once, in a table: MESSAGES (messages.ts),
//   OXM_FIELDS (oxm.ts), ACTIONS and INSTRUCTIONS (actions.ts), the structures in
//   structs.ts and the errors in errors.ts. Encoding, decoding, length checks and
//   printing are all driven by those tables.
// - decodeMessage() never throws on wire input: it returns { ok: false } with the
//   OFPT_ERROR type and code a peer should receive and the offset of the fault.
// - For any bytes that decode, encodeMessage(decoded) gives the same bytes back;
//   lengths are always recomputed. Unknown experimenter data is kept as opaque bytes.
// - 64-bit fields are bigint; MAC, IPv4 and IPv6 addresses are strings in their
//   usual text forms; every other number is a plain number.
// - ovs-ofctl's flow syntax (text.ts) is one more function of the same tables:
//   parseFlow() never throws on text, and parse(format(x)) == x for what it can say.

export * from './actions.ts';
export * from './bundle.ts';
export * from './constants.ts';
export * from './errors.ts';
export * from './framer.ts';
export * from './messages.ts';
export * from './oxm.ts';
export { decodeValue, encodeValue, type Codec, type ValueResult } from './schema.ts';
export * from './structs.ts';
export * from './text.ts';
export { TEXT_FIELDS, type TextField } from './text-fields.ts';
export { fromHex, ipv4ToBytes, ipv6ToBytes, macToBytes, toHex } from './wire.ts';
export { hexDump } from './print.ts';
export { formatFrame, frameFlow, NW_FRAG, type FrameFlow, type NshFields } from './frame.ts';
