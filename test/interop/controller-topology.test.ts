// The SDK's second slice against Open vSwitch: three userspace bridges in a
// line (patch ports b1-b2-b3), all driven by one controller on an ephemeral
// port. The topology example must find the four directed links by LLDP and
// drop two when a patch pair is deleted; groups, a meter and a multi-table
// flow built with the builders must show in ovs-ofctl as written, and one the
// switch refuses must reject; set-config must stick; role requests from two
// controllers on one bridge must follow spec 6.3.7 (stale generation ids
// refused, a slave's flow_mod refused); and a fourth bridge must connect over
// TLS with certificates made here by openssl, both sides verified.
//
// Needs root, OVS and openssl. Names are unique per run; clean-up removes the
// bridges, the temporary certificates and the OVS SSL settings this file set
// (it refuses to run over SSL settings someone else made).

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discover, type Link, type Topology } from '../../examples/topology.ts';
import {
  act,
  Controller,
  deleteFlows,
  ERR,
  flowMatch,
  flowMod,
  groupMod,
  meterMod,
  OpenFlowError,
  type SwitchHandle,
} from '../../src/controller/index.ts';

const run = promisify(execFile);
const sh = async (cmd: string, ...args: string[]) => (await run(cmd, args, { encoding: 'utf8' })).stdout;
const vsctl = (...args: string[]) => sh('ovs-vsctl', '--timeout=5', ...args);
const ofctl = async (cmd: string, br: string) =>
  (await sh('ovs-ofctl', '-O', 'OpenFlow13', ...(cmd === 'dump-flows' ? ['--no-stats'] : []), cmd, br)).split('\n').map((l) => l.trim()).filter(Boolean);
const silent = pino({ level: 'silent' });

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
  }
}

/** The switch with this dpid once the controller has it. */
async function switchOf(c: Controller, dpid: bigint): Promise<SwitchHandle> {
  await until(() => c.switches.has(dpid), `switch ${dpid.toString(16)}`);
  return c.switches.get(dpid)!;
}

const rejection = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

describe('the SDK on three Open vSwitch bridges', () => {
  const id = randomBytes(2).toString('hex');
  const br = (n: number) => `tsoft${id}t${n}`;
  const patch = (a: number, b: number) => `tsoft${id}p${a}${b}`;
  const dpid = (n: number) => BigInt(`0x0000cafe${id}000${n}`);
  const controller = new Controller({ host: '127.0.0.1', port: 0, logger: silent });
  const second = new Controller({ host: '127.0.0.1', port: 0, logger: silent });
  const certDir = mkdtempSync(join(tmpdir(), 'tsof-tls-'));
  const pem = (name: string) => join(certDir, name);
  let tlsController: Controller;
  let topology: Topology;
  let sslIsOurs = false;
  const added: Link[] = [];
  const deleted: Link[] = [];

  const bridge = (n: number, ...controllers: string[]) =>
    vsctl('add-br', br(n), '--', 'set', 'bridge', br(n), 'datapath_type=netdev', 'fail-mode=secure', 'protocols=OpenFlow13',
      `other-config:datapath-id=${dpid(n).toString(16).padStart(16, '0')}`, '--', 'set-controller', br(n), ...controllers);
  const link = (a: number, b: number) =>
    vsctl(
      'add-port', br(a), patch(a, b), '--', 'set', 'interface', patch(a, b), 'type=patch', `options:peer=${patch(b, a)}`, `ofport_request=${10 + b}`,
      '--', 'add-port', br(b), patch(b, a), '--', 'set', 'interface', patch(b, a), 'type=patch', `options:peer=${patch(a, b)}`, `ofport_request=${10 + a}`,
    );

  beforeAll(async () => {
    try {
      await vsctl('show');
    } catch {
      await sh('/usr/share/openvswitch/scripts/ovs-ctl', 'start', '--system-id=random');
    }
    // Self-signed certificates, one for the controller and one for the switch; each side trusts the other's.
    for (const who of ['controller', 'switch']) {
      await sh('openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', `/CN=tsof-test-${who}`, '-keyout', pem(`${who}-key.pem`), '-out', pem(`${who}-cert.pem`));
    }
    tlsController = new Controller({
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      tls: {
        key: readFileSync(pem('controller-key.pem')),
        cert: readFileSync(pem('controller-cert.pem')),
        ca: readFileSync(pem('switch-cert.pem')),
        requestCert: true,
        rejectUnauthorized: true,
      },
    });
    topology = discover(controller, 200);
    topology.on('link-add', (l) => added.push(l));
    topology.on('link-delete', (l) => deleted.push(l));
    const [{ port }, { port: port2 }] = [await controller.listen(), await second.listen()];
    await bridge(1, `tcp:127.0.0.1:${port}`);
    await bridge(2, `tcp:127.0.0.1:${port}`);
    await bridge(3, `tcp:127.0.0.1:${port}`, `tcp:127.0.0.1:${port2}`);
    await link(1, 2);
    await link(2, 3);
  });

  afterAll(async () => {
    topology?.stop();
    for (const n of [1, 2, 3, 4]) await vsctl('--if-exists', 'del-br', br(n)).catch(() => {});
    if (sslIsOurs) await vsctl('del-ssl').catch(() => {});
    rmSync(certDir, { recursive: true, force: true });
    await Promise.all([controller.close(), second.close(), tlsController?.close()]);
  });

  const end = (n: number, port: number) => ({ dpid: dpid(n), port });
  const text = (l: Link) => `${l.src.dpid.toString(16)}:${l.src.port}->${l.dst.dpid.toString(16)}:${l.dst.port}`;

  it('discovers the four directed links by LLDP', async () => {
    const want = [
      { src: end(1, 12), dst: end(2, 11) },
      { src: end(2, 11), dst: end(1, 12) },
      { src: end(2, 13), dst: end(3, 12) },
      { src: end(3, 12), dst: end(2, 13) },
    ].map(text);
    await until(() => topology.links().length >= 4, 'four links');
    expect(topology.links().map(text).sort()).toEqual(want.sort());
    expect(added.map(text).sort()).toEqual(want.sort());
    const flows = await ofctl('dump-flows', br(1));
    expect(flows).toContain('priority=65535,dl_dst=01:80:c2:00:00:0e,dl_type=0x88cc actions=CONTROLLER:65535');
  });

  it('installs groups, a meter and a multi-table flow as built, and rejects one the switch refuses', async () => {
    const sw = await switchOf(controller, dpid(1));
    await sw.confirm([
      groupMod({ groupId: 1, type: 'all', buckets: [{ actions: [act.output(12)] }, { actions: [act.controller(128)] }] }),
      groupMod({ groupId: 2, type: 'select', buckets: [{ weight: 3, actions: [act.output(12)] }, { actions: [act.output(12)] }] }),
      groupMod({ groupId: 3, type: 'indirect', bucket: { actions: [act.decNwTtl(), act.group(1)] } }),
      groupMod({ groupId: 4, type: 'ff', buckets: [{ watchPort: 12, actions: [act.output(12)] }, { watchGroup: 1, actions: [act.group(1)] }] }),
      meterMod({ meterId: 5, unit: 'kbps', stats: true, bands: [{ type: 'drop', rate: 1000, burstSize: 100 }] }),
      flowMod({
        priority: 100,
        match: flowMatch().inPort(12).ipv4().ipv4Dst('10.1.0.0/16').tcp().tcpDst(80),
        instructions: { meter: 5, apply: [act.setField('tcp_dst', 8080)], write: [act.group(3)], goto: 1 },
      }),
      flowMod({ tableId: 1, priority: 1, match: flowMatch().vlan(7), actions: [act.popVlan(), act.output(12)] }),
    ]);
    const groups = await ofctl('dump-groups', br(1));
    expect(groups).toEqual(expect.arrayContaining([
      'group_id=1,type=all,bucket=actions=output:12,bucket=actions=CONTROLLER:128',
      // ovs-ofctl leaves out weight:1, the default.
      'group_id=2,type=select,bucket=weight:3,actions=output:12,bucket=actions=output:12',
      'group_id=3,type=indirect,bucket=actions=dec_ttl,group:1',
      'group_id=4,type=ff,bucket=watch_port:12,actions=output:12,bucket=watch_group:1,actions=group:1',
    ]));
    expect(await ofctl('dump-meters', br(1))).toContain('meter=5 kbps burst stats bands=');
    const flows = await ofctl('dump-flows', br(1));
    expect(flows).toEqual(expect.arrayContaining([
      'priority=100,tcp,in_port=12,nw_dst=10.1.0.0/16,tp_dst=80 actions=meter:5,set_field:8080->tcp_dst,write_actions(group:3),goto_table:1',
      'table=1, priority=1,dl_vlan=7 actions=pop_vlan,output:12',
    ]));
    let errorEvents = 0;
    const count = () => errorEvents++;
    controller.on('error', count);
    const err = await rejection(sw.confirm([flowMod({ priority: 5, actions: [act.group(99)] }), flowMod({ priority: 6, actions: [] })]));
    controller.off('error', count);
    expect(err).toBeInstanceOf(OpenFlowError);
    expect((err as OpenFlowError).is(ERR.BAD_ACTION.BAD_OUT_GROUP)).toBe(true);
    expect(errorEvents).toBe(0); // answered by confirm(), not broadcast to the apps
    expect(await ofctl('dump-flows', br(1))).toContain('priority=6 actions=drop'); // the message after it still went through
    await sw.confirm(deleteFlows({ tableId: 1 }));
    expect((await ofctl('dump-flows', br(1))).some((l) => l.includes('table=1'))).toBe(false);
  });

  it('sets the switch config and reads it back', async () => {
    const sw = await switchOf(controller, dpid(2));
    await sw.setConfig({ missSendLen: 256 });
    expect(await sw.getConfig()).toEqual({ flags: 0, missSendLen: 256 });
    await sw.setConfig({ missSendLen: 0xffff });
    expect((await sw.getConfig()).missSendLen).toBe(0xffff);
  });

  it('drops the links of a deleted patch pair, and keeps the others', async () => {
    await vsctl('del-port', br(2), patch(2, 3), '--', 'del-port', br(3), patch(3, 2));
    await until(() => topology.links().length === 2, 'two links left');
    expect(topology.links().map(text).sort()).toEqual([{ src: end(1, 12), dst: end(2, 11) }, { src: end(2, 11), dst: end(1, 12) }].map(text).sort());
    expect(deleted.map(text).sort()).toEqual([{ src: end(2, 13), dst: end(3, 12) }, { src: end(3, 12), dst: end(2, 13) }].map(text).sort());
  });

  it('follows role requests from two controllers: master moves, stale ids and a slave\'s flow_mod are refused', async () => {
    const a = await switchOf(controller, dpid(3));
    const b = await switchOf(second, dpid(3));
    expect(await a.queryRole()).toMatchObject({ role: 'equal' });
    expect(await a.requestRole('master', 10n)).toEqual({ role: 'master', generationId: 10n });
    expect(await b.requestRole('master', 11n)).toEqual({ role: 'master', generationId: 11n });
    expect((await a.queryRole()).role).toBe('slave');
    expect(a.role).toBe('slave');
    const stale = await rejection(a.requestRole('master', 9n));
    expect(stale).toBeInstanceOf(OpenFlowError);
    expect((stale as OpenFlowError).is(ERR.ROLE_REQUEST_FAILED.STALE)).toBe(true);
    const refused = await rejection(a.confirm(flowMod({ priority: 1, actions: [] })));
    expect((refused as OpenFlowError).is(ERR.BAD_REQUEST.IS_SLAVE)).toBe(true);
    expect(await a.requestRole('master', 12n)).toEqual({ role: 'master', generationId: 12n });
    expect((await b.queryRole()).role).toBe('slave');
    expect(await b.requestRole('equal')).toMatchObject({ role: 'equal' });
    await a.confirm(flowMod({ priority: 1, actions: [] }));
  });

  it('accepts a switch over TLS, both certificates verified, and refuses a client without one', async () => {
    const existing = (await vsctl('get-ssl')).trim();
    if (existing) throw new Error(`OVS already has SSL settings that this test will not replace:\n${existing}`);
    await vsctl('set-ssl', pem('switch-key.pem'), pem('switch-cert.pem'), pem('controller-cert.pem'));
    sslIsOurs = true;
    const { port } = await tlsController.listen();
    await bridge(4, `ssl:127.0.0.1:${port}`);
    const sw = await switchOf(tlsController, dpid(4));
    expect(sw.ports.size).toBeGreaterThan(0);
    await sw.barrier();

    const anonymous = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    const outcome = await new Promise<string>((resolve) => {
      anonymous.on('error', (e) => resolve(`error: ${e.message}`));
      anonymous.on('close', () => resolve('closed'));
      anonymous.on('data', () => resolve('data'));
    });
    expect(outcome).not.toBe('data');
    expect(tlsController.switches.size).toBe(1);
  });
});
