// A tsof-controller app for the role tests: asks each switch for the role in
// TSOF_ROLE (master or slave) with the generation id in TSOF_GENERATION as
// soon as it connects (spec 6.3.7), and logs the reply ('role granted' or
// 'role refused'). Load it before the apps whose messages should go out in
// that role: its request is sent first, and the switch handles a connection's
// messages in order.
//   TSOF_ROLE=master TSOF_GENERATION=1 tsof-controller test/support/role-app.ts examples/learning-switch.ts

import type { Controller } from '../../src/controller/index.ts';

export default function roleApp(controller: Controller): void {
  const role = process.env.TSOF_ROLE;
  const generation = process.env.TSOF_GENERATION ?? '';
  if (role !== 'master' && role !== 'slave') throw new Error(`TSOF_ROLE must be master or slave, got "${role}"`);
  if (!/^\d+$/.test(generation)) throw new Error(`TSOF_GENERATION must be a whole number, got "${generation}"`);
  controller.on('switch', (sw) => {
    sw.requestRole(role, BigInt(generation)).then(
      (r) => controller.log.info({ dpid: `0x${sw.dpid.toString(16)}`, role: r.role, generationId: String(r.generationId) }, 'role granted'),
      (err: unknown) => controller.log.error({ dpid: `0x${sw.dpid.toString(16)}`, err }, 'role refused'),
    );
  });
}
