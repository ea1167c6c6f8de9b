// A named bridge's local sockets, as ovs-vswitchd opens
// /var/run/openvswitch/BR.mgmt and BR.snoop for ovs-ofctl:
// - /run/tsof/NAME.mgmt: OpenFlow service connections (tsof-ofctl NAME,
//   ovs-ofctl unix:...), served by the agent as the --listen ptcp: ones are.
// - /run/tsof/NAME.snoop: each connection gets, after its HELLO, a copy of
//   every OpenFlow message the switch receives from or sends to a controller
//   connection (tsof-ofctl snoop NAME). What a snooper sends is ignored.
//
// Invariants:
// - The sockets are unix-socket.ts's: another switch's live one is never taken
//   over, only root reaches them, stop removes them.
// - Snooping costs nothing while no one snoops: controller channels carry a
//   tap only while a snooper is connected.

import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { Channel, type ChannelOptions } from '../openflow/channel/index.ts';

/** Where a bridge's sockets go: tsof-ofctl looks there for a bare NAME. */
export const RUN_DIR = '/run/tsof';

export function bridgePath(name: string, kind: 'mgmt' | 'snoop' | 'ctl'): string {
  return `${RUN_DIR}/${name}.${kind}`;
}

/** A bridge name: what a file name and tsof-ofctl's NAME target take. */
export function isBridgeName(name: string): boolean {
  return /^[A-Za-z][\w.-]*$/.test(name);
}

/**
 * Snoopers and the controller channels they watch. A channel's tap is set
 * while at least one snooper is connected, and each message it reports goes
 * to every snooper as it is (the snoop channel copies it into its outbox).
 */
export class Snoop {
  /** Every snoop connection, open or still in HELLO. */
  private readonly channels = new Set<Channel>();
  private readonly snoopers = new Set<Channel>();
  private readonly watched = new Set<Channel>();
  // A snooper that does not keep up loses copies rather than make the switch hold them.
  private readonly tap = (bytes: Uint8Array) => {
    for (const s of this.snoopers) if (!s.congested) s.sendBytes(bytes);
  };

  constructor(
    private readonly channelOptions: ChannelOptions,
    private readonly log: Logger,
  ) {}

  /** A controller connection: copied to snoopers while it is open. */
  watch(ch: Channel): void {
    this.watched.add(ch);
    if (this.snoopers.size) ch.tap = this.tap;
    ch.once('close', () => this.watched.delete(ch));
  }

  /** A connection to NAME.snoop: HELLO, then copies. It is never probed: a snooper need not answer echoes. */
  accept = (socket: Socket): void => {
    const ch = new Channel(socket, this.channelOptions, this.log);
    this.channels.add(ch);
    ch.once('open', () => {
      this.snoopers.add(ch);
      if (this.snoopers.size === 1) for (const w of this.watched) w.tap = this.tap;
      this.log.info('snooper connected');
    });
    ch.once('close', () => {
      this.channels.delete(ch);
      if (!this.snoopers.delete(ch)) return;
      if (this.snoopers.size === 0) for (const w of this.watched) w.tap = undefined;
      this.log.info('snooper disconnected');
    });
  };

  close(): void {
    for (const s of [...this.channels]) s.close('the switch is stopping');
  }
}
