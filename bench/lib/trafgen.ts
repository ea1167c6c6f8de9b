// trafgen (netsniff-ng) between two hosts in network namespaces, each with an
// eth0 (bench/forwarding.ts's topology, test/support/hosts.ts's): one worker
// sends a frame template as fast as it can from one host; what the sender's
// eth0 transmitted is "offered", what the receiver's eth0 received is
// "delivered" (the receiver need not be the frames' destination: it counts
// and drops).

import { setTimeout as sleep } from 'node:timers/promises';
import { sh, start, stop, type Started } from './run.ts';

/** A counter of eth0 in namespace ns (/sys/class/net/eth0/statistics/NAME). */
export const counter = (ns: string, name: 'rx_packets' | 'tx_packets'): number =>
  Number(sh('ip', 'netns', 'exec', ns, 'cat', `/sys/class/net/eth0/statistics/${name}`));

/**
 * Starts trafgen in namespace ns, sending conf out of eth0 on one worker until stopped (SIGINT): as fast as it
 * can, or `rate` frames per second (-b); and `count` frames at most, if given (-n).
 */
export const startTrafgen = (ns: string, conf: string, rate?: number, count?: number): Started =>
  start('ip', ['netns', 'exec', ns, 'trafgen', '-o', 'eth0', '-i', conf, '-P', '1', '--no-sock-mem', '-Q', '-C',
    ...(rate ? ['-b', `${rate}pps`] : []), ...(count ? ['-n', String(count)] : [])]);

/** Frames per second from's eth0 sent and to's eth0 received while trafgen ran in from (after 1 s of warm-up). */
export async function udpRate(from: string, to: string, conf: string, seconds: number): Promise<{ offered: number; delivered: number }> {
  const gen = startTrafgen(from, conf);
  await sleep(1000);
  const rx0 = counter(to, 'rx_packets');
  const tx0 = counter(from, 'tx_packets');
  await sleep(seconds * 1000);
  const rx1 = counter(to, 'rx_packets');
  const tx1 = counter(from, 'tx_packets');
  await stop(gen, 'SIGINT');
  return { offered: (tx1 - tx0) / seconds, delivered: (rx1 - rx0) / seconds };
}

/**
 * trafgen's description of 64-byte UDP frames (60 on the wire before the FCS) from 02:..:01 / 10.0.0.1 to
 * 02:..:02 / 10.128.0.1, port 5000, over 1000 source ports: what the forwarding benchmarks send.
 */
export const UDP_64 = `{ eth(da=02:00:00:00:00:02, sa=02:00:00:00:00:01),
  ipv4(saddr=10.0.0.1, daddr=10.128.0.1, ttl=64),
  udp(sp=dinc(1024, 2023), dp=5000),
  fill(0x00, 18) }\n`;
