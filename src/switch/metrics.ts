// tsof-switch's Prometheus metrics: what `--metrics HOST:PORT` serves. Every
// value is read from the switch when Prometheus scrapes (SwitchAgent.counters()):
// nothing is counted twice and nothing runs per packet on Node's thread. Names
// follow Prometheus's conventions (tsof_ prefix, _total for counters, base
// units), with the port's number and interface name, or the table's id, as
// labels.

import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { DatapathStats } from '../datapath/index.ts';
import type { SwitchAgent, SwitchCounters } from './agent.ts';

type Reading = () => SwitchCounters;

/** A counter whose value is read at scrape time (a monotonic count kept elsewhere). */
function counter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: (c: SwitchCounters, set: (labels: Partial<Record<L, string | number>>, v: number | bigint) => void) => void,
  reading: Reading,
): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read(reading(), (labels, v) => this.inc(labels, Number(v)));
    },
  });
}

const PORT_COUNTERS = [
  ['rxPackets', 'tsof_port_rx_packets_total', 'Frames received on the port'],
  ['rxBytes', 'tsof_port_rx_bytes_total', 'Bytes received on the port'],
  ['rxDropped', 'tsof_port_rx_dropped_total', 'Frames dropped on receive (ring full, NO_RECV)'],
  ['rxErrors', 'tsof_port_rx_errors_total', 'Receive errors'],
  ['txPackets', 'tsof_port_tx_packets_total', 'Frames sent on the port'],
  ['txBytes', 'tsof_port_tx_bytes_total', 'Bytes sent on the port'],
  ['txDropped', 'tsof_port_tx_dropped_total', 'Frames dropped on send (queue full, NO_FWD, link down)'],
  ['txErrors', 'tsof_port_tx_errors_total', 'Send errors'],
] as const;

const DATAPATH_COUNTERS: readonly (readonly [keyof DatapathStats, string, string])[] = [
  ['packets', 'tsof_datapath_packets_total', 'Frames the pipeline processed'],
  ['emcHits', 'tsof_datapath_cache_hits_total', 'Table lookups answered by the exact-match cache'],
  ['classifierLookups', 'tsof_datapath_cache_misses_total', 'Table lookups that went to the classifier (cache misses)'],
  ['tableMisses', 'tsof_datapath_table_misses_total', 'Lookups that matched no flow'],
  ['upcallPackets', 'tsof_datapath_upcalls_total', 'Frames sent up to the agent (packet-ins before the per-controller limits)'],
  ['upcallDropped', 'tsof_datapath_upcalls_dropped_total', 'Upcalls dropped because the agent fell behind (its queue from the datapath was full)'],
  ['meterDrops', 'tsof_datapath_meter_drops_total', 'Frames dropped by meter bands'],
  ['invalidTtl', 'tsof_datapath_invalid_ttl_total', 'Frames whose TTL ran out'],
  ['dropped', 'tsof_datapath_dropped_total', 'Frames whose actions output nothing'],
  ['outputs', 'tsof_datapath_outputs_total', 'Frames output to ports'],
];

/** A registry with the switch's metrics and Node's process metrics (memory, CPU, event-loop lag). */
export function switchMetrics(agent: SwitchAgent): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ dpid: `0x${agent.dpid.toString(16).padStart(16, '0')}` });
  collectDefaultMetrics({ register: registry });
  const reading = () => agent.counters();

  for (const [key, name, help] of PORT_COUNTERS) {
    counter(registry, name, help, ['port', 'name'], (c, set) => c.ports.forEach((p) => set({ port: p.port, name: p.name }, p[key])), reading);
  }
  new Gauge({
    name: 'tsof_port_live',
    help: '1 when the port is live (carrier up, not administratively down)',
    labelNames: ['port', 'name'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of reading().ports) this.set({ port: p.port, name: p.name }, p.live ? 1 : 0);
    },
  });

  counter(registry, 'tsof_table_lookups_total', 'Lookups in the table', ['table'], (c, set) => c.tables.forEach((t) => set({ table: t.tableId }, t.lookupCount)), reading);
  counter(registry, 'tsof_table_matches_total', 'Lookups in the table that matched a flow', ['table'], (c, set) => c.tables.forEach((t) => set({ table: t.tableId }, t.matchedCount)), reading);
  new Gauge({
    name: 'tsof_table_flows',
    help: 'Flows in the table',
    labelNames: ['table'],
    registers: [registry],
    collect() {
      this.reset();
      for (const t of reading().tables) this.set({ table: t.tableId }, t.activeCount);
    },
  });

  for (const [key, name, help] of DATAPATH_COUNTERS) counter(registry, name, help, [], (c, set) => set({}, c.datapath[key]), reading);

  counter(registry, 'tsof_packet_ins_total', 'Packet-ins offered to connections, one per connection that wants it', [], (c, set) => set({}, c.agent.packetIns), reading);
  counter(registry, 'tsof_packet_in_drops_total', "Packet-ins dropped by a connection's rate limit or a backed-up socket", [], (c, set) => set({}, c.agent.packetInDrops), reading);
  counter(registry, 'tsof_packet_outs_dropped_total', "Packet-outs dropped because the datapath's queue was full", [], (c, set) => set({}, c.agent.packetOutsDropped), reading);
  new Gauge({
    name: 'tsof_openflow_connections',
    help: 'Open OpenFlow connections: controllers, and service connections that came to a --listen listener',
    labelNames: ['kind', 'role'],
    registers: [registry],
    collect() {
      this.reset();
      for (const kind of ['controller', 'service'] as const) for (const role of ['equal', 'master', 'slave']) this.set({ kind, role }, 0);
      for (const c of reading().connections) this.inc({ kind: c.service ? 'service' : 'controller', role: c.role });
    },
  });
  return registry;
}
