// Flows of mixed masks, as ovs-ofctl add-flows lines: six shapes mixing exact
// and masked matches over several fields, each at its own priority (100 to
// 150), in table 0, every flow unique; actions output to ports 1 to 4. The
// flow-table benchmark loads them to measure absorption, memory and expiry,
// the lookup benchmark as the table that frames are looked up in.
//
//   priority=100  eth_dst                      02:00:<u>
//   priority=110  eth_src/ff:ff:ff:ff:ff:00    02:01:<u << 8>
//   priority=120  ipv4_src                     10.0.0.0 + u
//   priority=130  ipv4_dst/24, ipv4_src/16     11.0.0.0 + 256u, 192.168.0.0
//   priority=140  ipv4_dst, tcp_dst            12.0.0.0 + u, 80 + u % 1000
//   priority=150  in_port, vlan_vid, eth_dst/ff:ff:ff:ff:ff:00   1 + u % 8, u % 4096, 02:03:<u << 8>
//
// where u is the flow's number within its shape (flow i is shape i % 6, u = i / 6).

import { writeFileSync } from 'node:fs';

export const ip = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
/** A locally administered MAC address: 02, then hi, then n's low 32 bits. */
const mac = (hi: number, n: number): string =>
  [2, hi, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0')).join(':');

/** At most this many flows (u stays within the shapes' fields). */
export const MAX_MIXED_FLOWS = 1 << 24;

/** The i-th flow: one of six shapes, unique by i within its shape (i < MAX_MIXED_FLOWS); extra is added to its match. */
export function mixedFlowLine(i: number, extra = ''): string {
  const u = Math.floor(i / 6);
  const m = [
    `priority=100,dl_dst=${mac(0, u)}`,
    `priority=110,dl_src=${mac(1, u << 8)}/ff:ff:ff:ff:ff:00`,
    `priority=120,ip,nw_src=${ip(0x0a000000 + u)}`,
    `priority=130,ip,nw_dst=${ip((0x0b000000 + u * 256) >>> 0)}/24,nw_src=192.168.0.0/16`,
    `priority=140,tcp,nw_dst=${ip(0x0c000000 + u)},tp_dst=${80 + (u % 1000)}`,
    `priority=150,in_port=${1 + (u % 8)},dl_vlan=${u % 4096},dl_dst=${mac(3, u << 8)}/ff:ff:ff:ff:ff:00`,
  ][i % 6]!;
  return `table=0,${m}${extra},actions=output:${1 + (i % 4)}`;
}

/** Writes flows from (inclusive) to to (exclusive) to file, one add-flows line each. */
export function writeMixedFlows(file: string, from: number, to: number, extra = ''): void {
  const lines: string[] = [];
  for (let i = from; i < to; i++) lines.push(mixedFlowLine(i, extra));
  writeFileSync(file, lines.join('\n') + '\n');
}
