// tsof-controller's Prometheus metrics: what `--metrics HOST:PORT` serves,
// read from the Controller when scraped (nothing is counted twice). Apps get
// the same registry (the second argument of an app's function) to add their
// own metrics, so one endpoint shows the switches and the apps.

import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Controller } from './controller.ts';
import type { SwitchHandle } from './switch-handle.ts';

const PER_SWITCH: readonly (readonly [string, string, (sw: SwitchHandle) => number])[] = [
  ['tsof_controller_packet_ins_total', 'Packet-ins received from the switch', (sw) => sw.stats.packetIns],
  ['tsof_controller_packet_in_drops_total', "Packet-ins dropped because the apps' queue was full", (sw) => sw.stats.packetInDrops],
  ['tsof_controller_malformed_messages_total', 'Messages from the switch that did not decode (answered with OFPT_ERROR)', (sw) => sw.stats.malformed],
];

/** A registry with the controller's metrics and Node's process metrics (memory, CPU, event-loop lag). */
export function controllerMetrics(controller: Controller): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const dpid = (sw: SwitchHandle) => `0x${sw.dpid.toString(16).padStart(16, '0')}`;
  new Gauge({
    name: 'tsof_controller_switches',
    help: 'Switches connected and past the handshake',
    registers: [registry],
    collect() {
      this.set(controller.switches.size);
    },
  });
  for (const [name, help, read] of PER_SWITCH) {
    new Counter({
      name,
      help,
      labelNames: ['dpid'],
      registers: [registry],
      collect() {
        this.reset();
        for (const sw of controller.switches.values()) this.inc({ dpid: dpid(sw) }, read(sw));
      },
    });
  }
  return registry;
}
