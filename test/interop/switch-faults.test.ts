// tsof-switch when its controller dies under traffic. A tsof-controller
// process (test/support/patch-app.ts) installs flows that patch port 1 to
// port 2 and a table-miss flow; hosts in namespaces ping through them every
// 10 ms, counted, from before the fault until after the recovery; the controller is killed (SIGKILL) and later a controller
// comes back on the same port (the SDK, in-process, installing nothing).
// - secure: the installed flows forward throughout, not one ping lost; the
//   switch tries again 1 s after the loss, then 2 s, doubling to
//   --max-backoff (its log records each attempt and its wait); the new
//   controller sees the switch (features, ports) and every flow still there.
// - standalone: while no controller is connected the fail-open flow (NORMAL,
//   priority 0) forwards what the controller's flows do not match, between two
//   other hosts; the patched pair keeps its flows, not one ping lost; when a
//   controller is back the fail-open flow goes and the controller's flows,
//   its table-miss flow included, are the table again.
// Needs root; names are unique per run and only they are removed.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Controller, OFPG, OFPP, OFPTT, type SwitchHandle } from '../../src/controller/index.ts';
import { Daemon, exec, freePort, sleep } from '../support/daemon.ts';
import { addHost, inNs, ping, pingUntil, removeHost, type Host } from '../support/hosts.ts';
import { PATCH_FLOWS } from '../support/patch-app.ts';
import { runSwitch, silent } from '../support/switch.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const id = randomBytes(2).toString('hex');
const dpid = BigInt(`0xfa17${id}`);
const hosts: Host[] = [1, 2, 3, 4].map((n) => ({ n, ns: `tsfl-${id}-h${n}`, veth: `tsfl${id}h${n}`, ip: `198.18.9.${n}`, mac: `02:00:00:00:09:0${n}` }));
const [h1, h2, h3, h4] = hosts;
const FAIL_OPEN_FLOW = 'cookie=0x7f5f0000fa110000, priority=0 actions=NORMAL';

/**
 * A ping from a host that forgets its neighbours first, so that it asks ARP again at once: one whose
 * address went unanswered a moment ago is still being resolved, or failed, and sends nothing for a while.
 */
async function pingAfresh(from: Host, to: Host, ...opts: string[]) {
  await inNs(from, 'ip', 'neigh', 'flush', 'all');
  return ping(from, to, ...opts);
}

/** The switch's flows as ovs-ofctl prints them (through its --listen, a service connection), sorted. */
async function flows(listen: number): Promise<string[]> {
  const r = await exec(ROOT, 'ovs-ofctl', ['-O', 'OpenFlow13', '--no-stats', 'dump-flows', `tcp:127.0.0.1:${listen}`]);
  if (r.code !== 0) throw new Error(`ovs-ofctl dump-flows: ${r.stderr}`);
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
}

/** tsof-controller with the patch app; resolves once the switch has its flows. */
async function patchController(port: number): Promise<Daemon> {
  const c = new Daemon('tsof-controller', process.execPath, [
    join(ROOT, 'bin/tsof-controller.js'), '--host', '127.0.0.1', '--port', String(port), '--json', join(ROOT, 'test/support/patch-app.ts'),
  ]);
  await c.waitLog('flows installed', () => true, 30_000);
  return c;
}

/** A controller that installs nothing, on this port; resolves with the switch once it has connected. */
async function bareController(port: number): Promise<{ controller: Controller; sw: SwitchHandle }> {
  const controller = new Controller({ host: '127.0.0.1', port, logger: silent });
  const up = new Promise<SwitchHandle>((resolve) => controller.once('switch', resolve));
  await controller.listen();
  return { controller, sw: await up };
}

/** The switch's flags: these hosts' veths as ports, a controller, a listener for ovs-ofctl. */
function switchFlags(ofPort: number, listen: number, failMode: string, ports: Host[], maxBackoff: number): string[] {
  return [
    '--dpid', `0x${dpid.toString(16)}`,
    ...ports.flatMap((h) => ['--port', `${h.veth}=${h.n}`]),
    '--controller', `tcp:127.0.0.1:${ofPort}`,
    '--listen', `ptcp:${listen}:127.0.0.1`,
    '--fail-mode', failMode,
    '--max-backoff', String(maxBackoff),
    '--ctl', join(tmpdir(), `tsfl${id}-${failMode}.ctl`),
  ];
}

const daemons: Daemon[] = [];
const controllers: Controller[] = [];

beforeAll(async () => {
  execFileSync('bash', [join(ROOT, 'scripts/install-peers.sh'), 'iproute2', 'iputils-ping', 'openvswitch-common'], { stdio: 'inherit' });
  for (const h of hosts) await addHost(h);
});

// Each test's switch and controllers end with it: the next test's switch takes the same hosts' veths.
afterEach(async () => {
  for (const d of daemons.splice(0)) {
    if (d.name === 'tsof-switch' && !d.running) console.log(`tsof-switch exited:\n${d.tail(40)}`);
    await d.stop();
  }
  for (const c of controllers.splice(0)) await c.close();
});

afterAll(async () => {
  for (const h of hosts) await removeHost(h);
});

describe('tsof-switch when its controller dies and comes back', () => {
  it('secure: installed flows forward with 0 lost; tries again after 1 s, 2 s, 4 s; the new controller finds the flows', async () => {
    const [ofPort, listen] = [await freePort(), await freePort()];
    const sw = await runSwitch(switchFlags(ofPort, listen, 'secure', [h1, h2], 4000));
    daemons.push(sw);
    const first = await patchController(ofPort);
    daemons.push(first);
    expect(await flows(listen)).toEqual([...PATCH_FLOWS].sort());
    expect(await ping(h1, h2, '-c', '3', '-i', '0.2', '-W', '2')).toEqual({ sent: 3, received: 3 });

    // Pings every 10 ms, through the kill and until the controller is back.
    let back = false;
    const traffic = pingUntil(h1, h2, () => back);
    await sleep(500);
    const killedAt = Date.now();
    await first.stop('SIGKILL');
    // The connection's loss, then 2 failed attempts (the controller is not there): 3 waits logged.
    const down = () => sw.logs('controller connection down').filter((r) => (r.time as number) >= killedAt);
    for (let n = 1; n <= 3; n++) await sw.waitLog('controller connection down', () => down().length >= n, 20_000);
    const restartAt = Date.now();
    const { controller, sw: handle } = await bareController(ofPort);
    controllers.push(controller);
    const up = await sw.waitLog('OpenFlow connection up', (r) => 'controller' in r && (r.time as number) >= restartAt);
    back = true;

    const attempts = down();
    const waits = attempts.map((r) => r.retryInMs as number);
    // Each wait measured from its log record to the next attempt's (the last: to the connection).
    const times = [...attempts.map((r) => r.time as number), up.time as number];
    const gaps = waits.map((_, i) => times[i + 1] - times[i]);
    const pinged = await traffic;
    console.log('secure, controller killed:', JSON.stringify({ pinged, waits, gapsMs: gaps, reasons: attempts.map((r) => r.reason) }));

    expect(pinged.received).toBe(pinged.sent);
    expect(pinged.sent).toBeGreaterThanOrEqual(100);
    expect(waits).toEqual([1000, 2000, 4000]);
    // No attempt came before its wait was over (pino's clock is in whole ms).
    for (let i = 0; i < waits.length; i++) expect(gaps[i]).toBeGreaterThanOrEqual(waits[i] - 1);

    // The new controller sees the same switch, its ports and the first controller's flows.
    expect(handle.dpid).toBe(dpid);
    expect([...handle.ports.keys()].sort()).toEqual([1, 2]);
    const stats = await handle.request({ type: 'flow_stats_request', flags: 0, tableId: OFPTT.ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: 0n, cookieMask: 0n, match: [] });
    expect(stats.stats.map((s) => `0x${s.cookie.toString(16)}/${s.priority}`).sort()).toEqual(['0xa0/0', '0xa1/10', '0xa2/10']);
    expect(await flows(listen)).toEqual([...PATCH_FLOWS].sort());
    expect(await ping(h1, h2, '-c', '3', '-i', '0.2', '-W', '2')).toEqual({ sent: 3, received: 3 });
  }, 90_000);

  it('standalone: fail-open forwards what no flow matches while the controller is gone; the controller\'s flows stay, and are the table again when it is back', async () => {
    const [ofPort, listen] = [await freePort(), await freePort()];
    const sw = await runSwitch(switchFlags(ofPort, listen, 'standalone', hosts, 1000));
    daemons.push(sw);
    const first = await patchController(ofPort);
    daemons.push(first);
    // Connected: the controller's flows and nothing else; h3 and h4 have no flow (their packets go to the
    // controller, which does not answer them).
    expect(await flows(listen)).toEqual([...PATCH_FLOWS].sort());
    expect(await pingAfresh(h3, h4, '-c', '2', '-i', '0.2', '-W', '1')).toEqual({ sent: 2, received: 0 });
    expect(await ping(h1, h2, '-c', '3', '-i', '0.2', '-W', '2')).toEqual({ sent: 3, received: 3 });

    let back = false;
    const traffic = pingUntil(h1, h2, () => back);
    await sleep(500);
    const killedAt = Date.now();
    await first.stop('SIGKILL');
    await sw.waitLog('no controller: fail-open (standalone), forwarding as a learning switch', (r) => (r.time as number) >= killedAt);
    // Fail-open: the NORMAL flow under the controller's; it stands in for the table-miss flow, which has its match and priority.
    const patched = PATCH_FLOWS.filter((f) => !f.includes('priority=0'));
    expect(await flows(listen)).toEqual([...patched, FAIL_OPEN_FLOW].sort());
    expect(await pingAfresh(h3, h4, '-c', '3', '-i', '0.2', '-W', '2')).toEqual({ sent: 3, received: 3 });

    const restartAt = Date.now();
    const { controller } = await bareController(ofPort);
    controllers.push(controller);
    await sw.waitLog('a controller is connected: fail-open ends', (r) => (r.time as number) >= restartAt);
    back = true;
    const pinged = await traffic;
    console.log('standalone, controller killed:', JSON.stringify({ pinged }));

    expect(pinged.received).toBe(pinged.sent);
    expect(pinged.sent).toBeGreaterThanOrEqual(100);
    expect(await flows(listen)).toEqual([...PATCH_FLOWS].sort());
    expect(await pingAfresh(h3, h4, '-c', '2', '-i', '0.2', '-W', '1')).toEqual({ sent: 2, received: 0 });
    expect(sw.logs('fail-open flow not changed')).toEqual([]);
  }, 90_000);
});
