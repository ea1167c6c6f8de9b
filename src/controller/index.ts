// The tsof controller SDK: OpenFlow 1.3 apps in TypeScript, in the manner of
// Ryu's app manager. A Controller listens for switches (TCP or TLS, port 6653
// by default), runs the handshake with each (HELLO with a version bitmap, then
// FEATURES and PORT_DESC; spec 6.3.1 and 7.3.1) and emits typed events
// ('switch', 'packet_in', 'port_status'...) that carry a SwitchHandle and the
// message decoded by the codec. Each connection is an OpenFlow channel
// (src/openflow/channel/channel.ts: framing, echo liveness, requests by xid,
// OFPT_ERROR for input that does not decode; its invariants are stated there).
// An app is a module whose default export receives the Controller (see App and
// docs/controller.md). Apps build what they send with flowMatch() and
// flowMod(), groupMod() and meterMod() (match.ts, flows.ts), and parse and
// build packets with packet/.
//
// Invariants:
// - Apps see only decoded, typed messages; only the codec touches the wire.
// - Apps see a switch only once its handshake is done, and an OFPT_ERROR
//   answered through a request or confirm() reaches no 'error' listener.
// - Memory per switch is bounded: packet-ins wait in a fixed-size queue (drops
//   counted and logged) and pause while the socket cannot take more writes
//   (switch-handle.ts); the channel caps the pending requests.

import type { Registry } from 'prom-client';
import type { Cluster } from './cluster/index.ts';
import type { Controller } from './controller.ts';

export { Controller, type ControllerEvents, type ControllerOptions } from './controller.ts';
export * from './flows.ts';
export { matchField, packetOut } from './helpers.ts';
export * from './match.ts';
export * from './packet/index.ts';
export { SwitchHandle, type Role, type SwitchHandleOptions } from './switch-handle.ts';
export {
  OpenFlowError,
  RequestError,
  type MultipartType,
  type Outgoing,
  type ReplyTo,
  type RequestFailure,
  type RequestType,
} from '../openflow/channel/index.ts';
export * from '../openflow/codec/index.ts';

/**
 * What tsof-controller hands an app besides the controller: the Prometheus registry --metrics serves, for the
 * app's own metrics, and with --cluster the Cluster ('tsof/cluster': mastership events, the shared store).
 */
export interface AppContext {
  metrics: Registry;
  cluster?: Cluster;
}

/** An app module's default export: it subscribes to the controller's events (and may await setup). */
export type App = (controller: Controller, context: AppContext) => void | Promise<void>;
