// The flow tables of bench/forwarding.ts, described once and rendered as
// ovs-ofctl add-flows lines, which ovs-ofctl loads into both tsof-switch and
// Open vSwitch, so both switches run exactly the same tables.
//
// - "ports": in_port=1 -> output:2 and back, the least a switch can do.
// - "100k": 100,000 flows over 4 tables, 25,000 each, on a different field
//   per table, every one an exact match that the generator's frames can hit:
//   table 0 ipv4_src, 1 udp_src, 2 ipv4_dst, 3 udp_dst (then output:2). The
//   frames (forwarding.ts) vary udp_src over 1,000 values, so they meet 1,000
//   flows of table 1 and one of each other table. in_port=2 -> output:1 at a
//   lower priority carries the way back (TCP acknowledgements).

import type { OxmBasic } from '../src/openflow/codec/index.ts';

export type Scenario = 'ports' | '100k';
export const SCENARIOS: readonly Scenario[] = ['ports', '100k'];

export interface BenchFlow {
  table: number;
  priority: number;
  match: OxmBasic[];
  next: { goto: number } | { output: number };
}

const PER_TABLE = 25_000;
const IP = { field: 'eth_type', value: 0x0800 } as const;
const UDP = [IP, { field: 'ip_proto', value: 17 }] as const;
/** 10.a.b.c for the i-th address after base (a 32-bit number). */
const ipv4 = (base: number, i: number): string => {
  const n = base + i;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
};
const NET_SRC = 0x0a000000; // 10.0.0.0: the frames come from 10.0.0.1
const NET_DST = 0x0a800000; // 10.128.0.0: and go to 10.128.0.1
const FIRST_PORT = 1024; // udp ports 1024..26023: the frames use 1024..2023 and 5000

const inPort = (from: number, to: number, priority: number): BenchFlow => ({
  table: 0,
  priority,
  match: [{ field: 'in_port', value: from }],
  next: { output: to },
});

export function flows(scenario: Scenario): BenchFlow[] {
  if (scenario === 'ports') return [inPort(1, 2, 100), inPort(2, 1, 100)];
  const out: BenchFlow[] = [inPort(2, 1, 10)];
  for (let i = 0; i < PER_TABLE; i++) {
    out.push(
      { table: 0, priority: 100, match: [IP, { field: 'ipv4_src', value: ipv4(NET_SRC, i) }], next: { goto: 1 } },
      { table: 1, priority: 100, match: [...UDP, { field: 'udp_src', value: FIRST_PORT + i }], next: { goto: 2 } },
      { table: 2, priority: 100, match: [IP, { field: 'ipv4_dst', value: ipv4(NET_DST, i) }], next: { goto: 3 } },
      { table: 3, priority: 100, match: [...UDP, { field: 'udp_dst', value: FIRST_PORT + i }], next: { output: 2 } },
    );
  }
  return out;
}

// ovs-ofctl's names for the OXM fields used here.
const OVS_NAME: Record<string, string> = {
  in_port: 'in_port',
  eth_type: 'dl_type',
  ip_proto: 'nw_proto',
  ipv4_src: 'nw_src',
  ipv4_dst: 'nw_dst',
  udp_src: 'tp_src',
  udp_dst: 'tp_dst',
};

/** The flow as a line of `ovs-ofctl -O OpenFlow13 add-flows`. */
export function ovsLine(f: BenchFlow): string {
  const match = f.match.map((m) => {
    const name = OVS_NAME[m.field];
    if (!name) throw new Error(`no ovs-ofctl name for ${m.field}`);
    return `${name}=${String(m.value)}`;
  });
  const actions = 'goto' in f.next ? `goto_table:${f.next.goto}` : `output:${f.next.output}`;
  return `table=${f.table},priority=${f.priority},${match.join(',')},actions=${actions}`;
}
