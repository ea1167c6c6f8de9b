// The Controller: a TCP or TLS server for OpenFlow switches (spec 6.3.3) and
// the event bus apps listen on. It owns the SwitchHandle of each connection and
// the map of ready switches by datapath id; a second connection from the same
// datapath replaces the first (the switch reconnected). A listener that throws
// is logged and the other listeners still run: one app's bug does not stall a
// switch.

import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { EventEmitter } from 'eventemitter3';
import { pino, type Logger } from 'pino';
import { OFP_TCP_PORT, type Message, type MessageOf } from '../openflow/codec/index.ts';
import { SwitchHandle, type SwitchHandleHost, type SwitchHandleOptions } from './switch-handle.ts';

/** Every event a Controller emits; a listener gets the switch first, then the message. */
export interface ControllerEvents {
  /** A switch finished the handshake: dpid, features and ports are known. */
  switch: (sw: SwitchHandle) => void;
  /** A switch that had emitted 'switch' is gone; its pending requests have rejected. */
  'switch-down': (sw: SwitchHandle, reason: string) => void;
  packet_in: (sw: SwitchHandle, msg: MessageOf<'packet_in'>) => void;
  port_status: (sw: SwitchHandle, msg: MessageOf<'port_status'>) => void;
  flow_removed: (sw: SwitchHandle, msg: MessageOf<'flow_removed'>) => void;
  /** An OFPT_ERROR that answers no pending request (e.g. a failed flow_mod sent with send()). */
  error: (sw: SwitchHandle, msg: MessageOf<'error'>) => void;
  experimenter: (sw: SwitchHandle, msg: MessageOf<'experimenter'>) => void;
  /** Every message not consumed as a reply or by the connection itself, before its own event. */
  message: (sw: SwitchHandle, msg: Message) => void;
}

export interface ControllerOptions extends Partial<SwitchHandleOptions> {
  /** TCP port to listen on; 6653 by default, 0 for any free port. */
  port?: number;
  /** Address to listen on; all addresses by default. */
  host?: string;
  logger?: Logger;
  /**
   * Listen with TLS instead of TCP: at least `key` and `cert` (PEM). Give `ca`
   * and `requestCert: true` to accept only switches with a certificate it signed.
   */
  tls?: TlsOptions;
}

const DEFAULTS: SwitchHandleOptions = {
  echoInterval: 5_000,
  echoTimeout: 15_000,
  requestTimeout: 5_000,
  handshakeTimeout: 10_000,
  packetInQueue: 1024,
  maxPendingRequests: 4096,
  dropLogInterval: 5_000,
};

export class Controller extends EventEmitter<ControllerEvents> {
  /** Switches that finished the handshake, by datapath id. */
  readonly switches = new Map<bigint, SwitchHandle>();
  readonly log: Logger;
  private readonly opts: SwitchHandleOptions;
  private readonly port: number;
  private readonly host: string | undefined;
  private readonly tls: TlsOptions | undefined;
  private readonly connections = new Set<SwitchHandle>();
  private server: Server | undefined;
  private readonly hooks: SwitchHandleHost;

  constructor(opts: ControllerOptions = {}) {
    super();
    const { port, host, logger, tls, ...switchOpts } = opts;
    this.port = port ?? OFP_TCP_PORT;
    this.host = host;
    this.tls = tls;
    if (tls && (!tls.key || !tls.cert)) throw new TypeError('the tls option needs a key and a cert');
    this.log = logger ?? pino({ name: 'tsof-controller' });
    this.opts = { ...DEFAULTS, ...Object.fromEntries(Object.entries(switchOpts).filter(([, v]) => v !== undefined)) };
    this.hooks = {
      dispatch: (event, ...args) => {
        try {
          (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
        } catch (err) {
          this.log.error({ err, event }, `a '${event}' listener threw`);
        }
      },
      up: (sw) => {
        const old = this.switches.get(sw.dpid);
        if (old) old.close('replaced by a new connection from the same datapath');
        this.switches.set(sw.dpid, sw);
        this.hooks.dispatch('switch', sw);
      },
      down: (sw, reason, wasReady) => {
        this.connections.delete(sw);
        if (this.switches.get(sw.dpid) === sw) this.switches.delete(sw.dpid);
        if (wasReady) this.hooks.dispatch('switch-down', sw, reason);
      },
    };
  }

  /** Starts listening; resolves with the bound address (the actual port when port is 0). */
  async listen(): Promise<AddressInfo> {
    if (this.server) throw new Error('the controller is already listening');
    const accept = (socket: Socket) => {
      this.connections.add(new SwitchHandle(socket, this.opts, this.hooks, this.log));
    };
    // A TLS switch is handed over once its handshake is done; one that fails it never becomes a SwitchHandle.
    const server = this.tls ? createTlsServer(this.tls, accept) : createServer(accept);
    server.on('tlsClientError', (err, socket) =>
      this.log.warn({ err: err.message, remote: `${socket.remoteAddress}:${socket.remotePort}` }, 'TLS handshake with a switch failed'),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.log.error({ err }, 'listening socket failed'));
    this.server = server;
    const addr = server.address() as AddressInfo;
    this.log.info({ address: addr.address, port: addr.port, tls: Boolean(this.tls) }, 'listening for switches');
    return addr;
  }

  /** Stops listening and closes every switch connection. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const sw of [...this.connections]) sw.close('controller shutting down');
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
