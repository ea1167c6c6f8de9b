// Helpers for the datapath tests: waiting on the datapath thread, and frames
// built with the controller's packet library (an implementation independent of
// the C code under test).

import { buildPacket, type PacketFields } from '../../src/controller/packet/index.ts';
import type { Datapath, OutFrame, PacketIn } from '../../src/datapath/index.ts';

/** Resolves once cond() holds; rejects after ms. */
export async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await new Promise((r) => setTimeout(r, 5))) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
  }
}

/** Takes frames from a memory port until n have come out (the datapath thread works concurrently). */
export async function takeN(dp: Datapath, port: number, n: number): Promise<OutFrame[]> {
  const out: OutFrame[] = [];
  await until(() => (out.push(...dp.take(port)), out.length >= n), `${n} frames out of port ${port}`);
  return out;
}

/** Records packet_in batches. */
export function upcalls(dp: Datapath): PacketIn[][] {
  const batches: PacketIn[][] = [];
  dp.on('packet_in', (b) => batches.push(b));
  return batches;
}

export const H1 = '02:00:00:00:00:01';
export const H2 = '02:00:00:00:00:02';

/** A UDP frame from H1 to H2 whose payload carries n, so frames can be told apart. */
export function numbered(n: number, size = 64, more: Partial<PacketFields> = {}): Uint8Array {
  const payload = new Uint8Array(Math.max(4, size - 42));
  new DataView(payload.buffer).setUint32(0, n);
  return buildPacket({
    eth: { dst: H2, src: H1 },
    ipv4: { src: '192.0.2.1', dst: '192.0.2.2' },
    udp: { srcPort: 4000, dstPort: 5000 },
    payload,
    ...more,
  });
}

/** The number numbered() put into a frame (untagged UDP/IPv4). */
export const numberOf = (frame: Uint8Array): number => new DataView(frame.buffer, frame.byteOffset).getUint32(42);
