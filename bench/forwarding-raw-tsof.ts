// The tsof side of bench/forwarding-raw.sh: a datapath forwarding between two
// interfaces with two in_port flows. Prints "ready" once both ports are open, then on SIGTERM the
// counters of both ports as one JSON line, and exits.
// Usage: tsx bench/forwarding-raw-tsof.ts IFNAME1 IFNAME2

import { NativeDatapath } from '../src/datapath/index.ts';
import { patch } from '../test/support/datapath.ts';

const [a, b] = process.argv.slice(2);
if (!a || !b) throw new Error('usage: forwarding-raw-tsof.ts IFNAME1 IFNAME2');
const dp = new NativeDatapath();
dp.addPort({ kind: 'afpacket', port: 1, ifname: a });
dp.addPort({ kind: 'afpacket', port: 2, ifname: b });
patch(dp, 1, 2);
patch(dp, 2, 1);
console.log('ready');
process.on('SIGTERM', () => {
  const json = (v: unknown) => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? Number(x) : x));
  console.log(json({ port1: dp.portStats(1), port2: dp.portStats(2), datapath: dp.stats() }));
  dp.close();
});
