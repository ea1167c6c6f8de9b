// A tsof-controller app for the fault tests: on each switch that connects it
// patches port 1 to port 2 and back (priority 10) and adds a table-miss flow
// to the controller (priority 0), each with its own cookie, then logs 'flows
// installed'. The flows are proactive: a switch that keeps them needs nothing
// more from the controller to forward between the two ports.
//   tsof-controller test/support/patch-app.ts

import { act, flowMatch, flowMod, type Controller } from '../../src/controller/index.ts';

/** The app's flows as ovs-ofctl --no-stats prints them, to compare a switch's table with. */
export const PATCH_FLOWS = [
  'cookie=0xa1, priority=10,in_port=1 actions=output:2',
  'cookie=0xa2, priority=10,in_port=2 actions=output:1',
  'cookie=0xa0, priority=0 actions=CONTROLLER:65535',
];

/** The app's flow_mods, for a controller in-process to send itself. */
export function patchFlowMods() {
  return [
    flowMod({ cookie: 0xa1n, priority: 10, match: flowMatch().inPort(1), actions: [act.output(2)] }),
    flowMod({ cookie: 0xa2n, priority: 10, match: flowMatch().inPort(2), actions: [act.output(1)] }),
    flowMod({ cookie: 0xa0n, priority: 0, actions: [act.controller()] }),
  ];
}

export default function patchApp(controller: Controller): void {
  controller.on('switch', (sw) => {
    sw.confirm(patchFlowMods()).then(
      () => controller.log.info({ dpid: `0x${sw.dpid.toString(16)}` }, 'flows installed'),
      (err: unknown) => controller.log.error({ err }, 'flows refused'),
    );
  });
}
