// The L2 learning switch, as Ryu's simple_switch_13 and every controller tutorial
// have it. On connect, a table-miss flow sends unmatched packets to the
// controller. For each packet-in: learn that the source MAC lives on the
// in_port; if the destination is known, install a flow (in_port, eth_src,
// eth_dst -> that port, idle 30 s) so the switch forwards the rest itself;
// otherwise flood. It also shows how an app adds its own metric to the ones
// tsof-controller --metrics serves. Run it: npm run app:learning-switch

import {
  ETHERTYPE,
  EthernetView,
  flowMod,
  matchField,
  OFP_NO_BUFFER,
  OFPCML,
  OFPP,
  packetOut,
  type Action,
  type Controller,
  type Match,
  type SwitchHandle,
} from '../src/controller/index.ts';
import { Gauge, type Registry } from 'prom-client';

export default function learningSwitch(controller: Controller, { metrics }: { metrics?: Registry } = {}): void {
  // Keyed by MACs as numbers (eth.srcKey): cheaper to build and hash than their text.
  const macToPort = new WeakMap<SwitchHandle, Map<number, number>>();
  new Gauge({
    name: 'tsof_learning_switch_macs',
    help: 'MAC addresses learned, over all connected switches',
    registers: metrics ? [metrics] : [],
    collect() {
      let n = 0;
      for (const sw of controller.switches.values()) n += macToPort.get(sw)?.size ?? 0;
      this.set(n);
    },
  });

  controller.on('switch', (sw) => {
    macToPort.set(sw, new Map());
    const toController: Action = { type: 'output', port: OFPP.CONTROLLER, maxLen: OFPCML.NO_BUFFER };
    sw.send(flowMod({ priority: 0, match: [], actions: [toController] }));
  });

  controller.on('packet_in', (sw, msg) => {
    const eth = EthernetView.of(msg.data);
    const inPort = matchField(msg.match, 'in_port');
    const table = macToPort.get(sw);
    if (!eth || inPort === undefined || !table || eth.ethertype === ETHERTYPE.LLDP) return;

    table.set(eth.srcKey, inPort);
    const outPort = table.get(eth.dstKey) ?? OFPP.FLOOD;
    const actions: Action[] = [{ type: 'output', port: outPort, maxLen: 0 }];

    if (outPort !== OFPP.FLOOD) {
      const match = [
        { field: 'in_port', value: inPort },
        { field: 'eth_src', value: eth.src },
        { field: 'eth_dst', value: eth.dst },
      ] satisfies Match;
      // With a buffer id the flow_mod also forwards the buffered packet: no packet-out needed.
      sw.send(flowMod({ priority: 1, idleTimeout: 30, match, actions, bufferId: msg.bufferId }));
      if (msg.bufferId !== OFP_NO_BUFFER) return;
    }
    sw.send(packetOut({ inPort, actions, bufferId: msg.bufferId, data: msg.data }));
  });
}
