// A packet-in flood, for the flood test and benchmark (bench/packet-in.ts):
// the frames trafgen sends, and a controller that only counts packet-ins, the
// same one for tsof-switch and Open vSwitch.
//
// The frames miss every flow and no cache can keep them: each has a random
// source MAC, IPv4 source and UDP source port (to an unknown destination MAC).
//
// The controller listens for switches, says HELLO, answers echo requests and
// counts OFPT_PACKET_IN messages, framed by their header and never decoded,
// so that it costs as little as a controller can. It reads as fast as it can,
// or, while `rate` is set, at most that many messages a second: the rest waits
// in the kernel's socket buffers (it reads nothing meanwhile), as behind a
// controller that has fallen behind. Echo requests are answered when read, in
// their turn.

import { createServer, type Server, type Socket } from 'node:net';
import { encodeMessage, Framer, OFP_VERSION, OFPT, type Frame, type Message } from '../../src/openflow/codec/index.ts';

const HELLO = encodeMessage({ type: 'hello', xid: 1, elements: [{ type: 'versionbitmap', bitmaps: [1 << OFP_VERSION] }] } as Message);
/**
 * trafgen's configuration of the flood: 60-byte IPv4/UDP frames (64 with the FCS) from 02:xx:xx:xx:xx:xx and
 * 10.x.x.x, random port, to 02:00:00:00:99:99 and 10.255.0.1:5000, the IPv4 checksum right.
 */
export const FLOOD_FRAMES = `{ 0x02, 0x00, 0x00, 0x00, 0x99, 0x99, 0x02, drnd(5), c16(0x0800),
  0x45, 0x00, c16(46), drnd(2), 0x00, 0x00, 64, 17, csumip(14, 33), 10, drnd(3), 10, 255, 0, 1,
  drnd(2), c16(5000), c16(26), c16(0), fill(0x00, 18) }
`;

/** Reading at a rate happens in slices of this many milliseconds. */
const SLICE_MS = 10;

export class PacketInSink {
  /** Packet-ins read so far, over every connection. */
  packetIns = 0;
  /** Messages a second it reads at most; 0: as fast as it can. Takes effect at once. */
  rate: number;
  private readonly server: Server;
  private readonly readers = new Set<Reader>();
  private readonly ticker: NodeJS.Timeout;

  constructor(rate = 0) {
    this.rate = rate;
    this.server = createServer((socket) => {
      const r = new Reader(socket, this);
      this.readers.add(r);
      socket.on('close', () => this.readers.delete(r));
    });
    this.ticker = setInterval(() => {
      for (const r of this.readers) r.tick();
    }, SLICE_MS);
  }

  /** Connections open now. */
  get connections(): number {
    return this.readers.size;
  }

  /** Messages one reader may take in a slice while rate is set. */
  get slice(): number {
    return Math.max(1, Math.round((this.rate * SLICE_MS) / 1000));
  }

  /** Listens on 127.0.0.1 (port 0: the kernel's pick); resolves with the port. */
  listen(port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve((this.server.address() as { port: number }).port));
    });
  }

  close(): Promise<void> {
    clearInterval(this.ticker);
    for (const r of this.readers) r.socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** One switch's connection. */
class Reader {
  private readonly framer = new Framer();
  /** Frames read from the socket and not yet taken (rate set); the socket is paused while any wait. */
  private held: Frame[] = [];
  /** Messages taken in this slice. */
  private taken = 0;

  constructor(
    readonly socket: Socket,
    private readonly sink: PacketInSink,
  ) {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk) => {
      this.held.push(...this.framer.push(chunk));
      this.take();
    });
    socket.write(HELLO);
  }

  /** A new slice: its allowance, and reading again once nothing is held. */
  tick(): void {
    this.taken = 0;
    this.take();
  }

  private take(): void {
    const limit = this.sink.rate > 0 ? this.sink.slice : Infinity;
    let i = 0;
    for (; i < this.held.length && this.taken < limit; i++, this.taken++) this.handle(this.held[i]);
    this.held = i === this.held.length ? [] : this.held.slice(i);
    if (this.held.length) this.socket.pause();
    else this.socket.resume();
    if (limit === Infinity) this.taken = 0;
  }

  private handle(frame: Frame): void {
    if (!frame.ok) return;
    const b = frame.bytes;
    if (b[1] === OFPT.PACKET_IN) this.sink.packetIns++;
    else if (b[1] === OFPT.ECHO_REQUEST) {
      const reply = Uint8Array.from(b);
      reply[1] = OFPT.ECHO_REPLY;
      this.socket.write(reply);
    }
  }
}
