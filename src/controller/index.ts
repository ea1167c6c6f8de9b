// The tsof controller SDK: OpenFlow 1.3 apps in TypeScript, in the manner of
// Ryu's app manager. A Controller listens for switches (TCP or TLS, port 6653
// by default), runs the handshake with each (HELLO with a version bitmap, then
// FEATURES and PORT_DESC; spec 6.3.1 and 7.3.1), keeps it alive with echoes,
// and emits typed events ('switch', 'packet_in', 'port_status'...) that carry
// a Switch handle and the message decoded by the codec. An app is a module
// whose default export receives the Controller (see App and docs/controller.md).
// Apps build what they send with flowMatch() and flowMod(), groupMod() and
// meterMod() (match.ts, flows.ts), and parse and build packets with packet/.
//
// Invariants:
// - Apps see only decoded, typed messages; only the codec touches the wire.
// - Input that does not decode is answered with the OFPT_ERROR the codec names
//   (with the first 64 bytes of the offending message) and the connection lives
//   on; a connection closes only when its stream cannot be framed, the peer
//   cannot speak 1.3, or it falls silent past the echo timeout.
// - Every request settles once: reply, OpenFlowError or RequestError.
// - Memory per switch is bounded: packet-ins wait in a fixed-size queue (drops
//   counted and logged), pending requests are capped, and packet-ins pause
//   while the socket cannot take more writes.

import type { Controller } from './controller.ts';

export { Controller, type ControllerEvents, type ControllerOptions } from './controller.ts';
export { OpenFlowError, RequestError, type RequestFailure } from './errors.ts';
export * from './flows.ts';
export { matchField, packetOut } from './helpers.ts';
export * from './match.ts';
export * from './packet/index.ts';
export { Switch, type MultipartType, type Outgoing, type ReplyTo, type RequestType, type Role, type SwitchOptions } from './switch.ts';
export * from '../openflow/codec/index.ts';

/** An app module's default export: it subscribes to the controller's events (and may await setup). */
export type App = (controller: Controller) => void | Promise<void>;
