// The switch's connection manager (Open vSwitch's connmgr): active
// connections to controllers (tcp:, ssl:), reconnected with exponential
// backoff, and passive listeners (ptcp:, pssl:) for controllers and tools
// such as ovs-ofctl. Targets are written as ovs-vsctl set-controller takes
// them. Each connection becomes a Channel; once its HELLO exchange succeeds
// it is handed to the agent.
//
// Invariants:
// - An active target has at most one connection at a time; after it closes
//   the next attempt waits min(2^n s, maxBackoff), n the attempts that failed
//   since a connection last reached HELLO (1 s, 2 s, 4 s... after its loss).
// - TLS, both ways, verifies the peer's certificate against the CA given
//   (the switch's own certificate is presented to the peer); a peer that
//   fails is refused and logged, never served.
// - At most maxConnections passive connections at once; more are refused.
// - Each connection refused or closed is logged once, with the reason (and
//   how many malformed messages it sent): never a line per message or byte.
//   What one connection may hold is bounded by its channel (channel.ts).

import { connect as tcpConnect, createServer, isIP, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { Channel, type ChannelOptions } from '../openflow/channel/index.ts';
import { OFP_TCP_PORT } from '../openflow/codec/index.ts';
import { UNDECODED } from './agent.ts';

export type Target =
  | { kind: 'tcp' | 'ssl'; host: string; port: number }
  | {
      kind: 'ptcp' | 'pssl';
      host: string | undefined;
      port: number;
      /**
       * Its connections are service connections (ovs-ofctl, monitors), not
       * controllers: they do not end fail-open, and get asynchronous messages
       * only once they ask (Open vSwitch's management socket); otherwise a
       * controller connects here (ovs-vsctl set-controller ptcp:).
       */
      service?: boolean;
    };

/** PEM key, certificate and CA certificate for ssl: and pssl: targets. */
export interface TlsFiles {
  key: Buffer;
  cert: Buffer;
  ca: Buffer;
}

export interface ConnectionManagerOptions {
  targets: Target[];
  tls?: TlsFiles;
  channel: Omit<ChannelOptions, 'name' | 'admit' | 'undecoded'>;
  /** Longest wait between attempts to reach an active target (ms). */
  maxBackoff: number;
  /** Passive connections served at once. */
  maxConnections: number;
  log: Logger;
}

const INITIAL_BACKOFF = 1000;

function parsePort(text: string, target: string): number {
  if (!/^\d+$/.test(text) || +text > 65535) throw new Error(`"${target}": "${text}" is not a TCP port`);
  return +text;
}

/** "[::1]" -> "::1"; a bare IPv4 or host name as it is. */
function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * tcp:HOST[:PORT], ssl:HOST[:PORT], ptcp:[PORT][:IP], pssl:[PORT][:IP], as
 * Open vSwitch writes them (IPv6 addresses in brackets); the port is 6653 when
 * not given.
 */
export function parseTarget(text: string): Target {
  const m = /^(tcp|ssl|ptcp|pssl):(.*)$/.exec(text);
  if (!m) throw new Error(`"${text}": a target is tcp:HOST[:PORT], ssl:HOST[:PORT], ptcp:[PORT][:IP] or pssl:[PORT][:IP]`);
  const kind = m[1] as Target['kind'];
  const rest = m[2];
  if (kind === 'tcp' || kind === 'ssl') {
    const hp = /^(\[[^\]]+\]|[^:]+)(?::(.*))?$/.exec(rest);
    if (!hp) throw new Error(`"${text}": the host is missing`);
    return { kind, host: unbracket(hp[1]), port: hp[2] === undefined ? OFP_TCP_PORT : parsePort(hp[2], text) };
  }
  const pi = /^([^:]*)(?::(.*))?$/.exec(rest)!;
  const host = pi[2] === undefined ? undefined : unbracket(pi[2]);
  if (host !== undefined && isIP(host) === 0) throw new Error(`"${text}": "${pi[2]}" is not an IP address`);
  return { kind, host, port: pi[1] === '' ? OFP_TCP_PORT : parsePort(pi[1], text) };
}

export function formatTarget(t: Target): string {
  const host = t.host?.includes(':') ? `[${t.host}]` : t.host;
  return t.kind === 'tcp' || t.kind === 'ssl' ? `${t.kind}:${host}:${t.port}` : `${t.kind}:${t.port}${host ? `:${host}` : ''}`;
}

export class ConnectionManager {
  private readonly servers: Server[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly channels = new Set<Channel>();
  private passive = 0;
  private stopped = false;
  /** The wait before the first attempt after a loss: 1 s, or less if maxBackoff says so. */
  private readonly firstBackoff: number;

  constructor(
    private readonly opts: ConnectionManagerOptions,
    /** Called with each channel whose HELLO exchange succeeded. */
    private readonly onOpen: (channel: Channel, target: Target) => void,
  ) {
    if (opts.targets.some((t) => t.kind === 'ssl' || t.kind === 'pssl') && !opts.tls) {
      throw new Error('ssl: and pssl: targets need a private key, a certificate and a CA certificate');
    }
    this.firstBackoff = Math.min(INITIAL_BACKOFF, opts.maxBackoff);
  }

  /** Listens on the passive targets (rejects if one cannot bind) and starts reaching the active ones. */
  async start(): Promise<void> {
    for (const t of this.opts.targets) {
      if (t.kind === 'ptcp' || t.kind === 'pssl') await this.listen(t);
    }
    for (const t of this.opts.targets) {
      if (t.kind === 'tcp' || t.kind === 'ssl') this.reach(t, this.firstBackoff);
    }
  }

  /** The bound ports of the passive targets, in order (useful with port 0). */
  listening(): number[] {
    return this.servers.map((s) => (s.address() as { port: number }).port);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const ch of [...this.channels]) ch.close('the switch is stopping');
    await Promise.all(this.servers.map((s) => new Promise<void>((done) => s.close(() => done()))));
  }

  /**
   * Serves a socket that came to a passive target, this manager's listeners' or one opened elsewhere (a
   * bridge's NAME.mgmt Unix socket, mgmt.ts): counted against maxConnections, closed by stop().
   */
  accept(socket: Socket, t: Target, log: Logger): void {
    if (this.passive >= this.opts.maxConnections) {
      log.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}`, max: this.opts.maxConnections }, 'too many connections: refused');
      socket.destroy();
      return;
    }
    this.passive++;
    socket.once('close', () => this.passive--);
    this.serve(socket, t, log);
  }

  private listen(t: Extract<Target, { kind: 'ptcp' | 'pssl' }>): Promise<void> {
    const log = this.opts.log.child({ listen: formatTarget(t) });
    const accept = (socket: Socket) => this.accept(socket, t, log);
    const tls = this.opts.tls;
    const server =
      t.kind === 'pssl' ? createTlsServer({ ...tls, requestCert: true, rejectUnauthorized: true }, accept) : createServer(accept);
    server.on('tlsClientError', (err, socket) => log.warn({ err: err.message, remote: `${socket.remoteAddress}:${socket.remotePort}` }, 'TLS handshake failed: refused'));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(t.port, t.host, () => {
        server.off('error', reject);
        server.on('error', (err) => log.error({ err }, 'listener failed'));
        this.servers.push(server);
        log.info({ port: (server.address() as { port: number }).port }, 'listening for OpenFlow connections');
        resolve();
      });
    });
  }

  private reach(t: Extract<Target, { kind: 'tcp' | 'ssl' }>, backoff: number): void {
    if (this.stopped) return;
    const log = this.opts.log.child({ controller: formatTarget(t) });
    const tls = this.opts.tls;
    // Controllers are named by address, as Open vSwitch does: the CA vouches for the peer, not a host name.
    const socket =
      t.kind === 'ssl'
        ? tlsConnect({ host: t.host, port: t.port, ...tls, rejectUnauthorized: true, checkServerIdentity: () => undefined })
        : tcpConnect({ host: t.host, port: t.port });
    let served = false;
    let opened = false;
    const retry = (reason: string) => {
      if (this.stopped) return;
      const wait = opened ? this.firstBackoff : backoff;
      log.info({ reason, retryInMs: wait }, 'controller connection down');
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.reach(t, Math.min(wait * 2, this.opts.maxBackoff));
      }, wait);
      this.timers.add(timer);
    };
    socket.once(t.kind === 'ssl' ? 'secureConnect' : 'connect', () => {
      served = true;
      const ch = this.serve(socket, t, log);
      ch.once('open', () => (opened = true));
      ch.once('close', retry);
    });
    socket.once('error', (err) => {
      // Before the channel exists, an error ends the attempt; after, the channel reports it.
      if (!served) {
        socket.destroy();
        retry(err.message);
      }
    });
  }

  private serve(socket: Socket, t: Target, log: Logger): Channel {
    const ch = new Channel(socket, { ...this.opts.channel, name: 'tsof-switch', undecoded: UNDECODED }, log.child({ remote: `${socket.remoteAddress}:${socket.remotePort}` }));
    this.channels.add(ch);
    ch.once('open', () => {
      log.info({ remote: ch.remote }, 'OpenFlow connection up');
      this.onOpen(ch, t);
    });
    ch.once('close', (reason) => {
      this.channels.delete(ch);
      log.info({ remote: ch.remote, reason, ...(ch.stats.malformed ? { malformed: ch.stats.malformed } : {}) }, 'OpenFlow connection closed');
    });
    return ch;
  }
}
