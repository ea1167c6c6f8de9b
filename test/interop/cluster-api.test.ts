// The Cluster API in this process, over a real one-member etcd (Debian's
// etcd-server on a free loopback port, data in a temporary directory): two
// Controllers, each with a Cluster, and one Open vSwitch netdev bridge
// connected to both. Mastership is read back from the switch itself with ROLE
// requests (OFPCR_ROLE_NOCHANGE); the shared store is checked for get/put,
// prefixes, compare-and-set, update() under contention and watch().
//
// Needs root, etcd-server and Open vSwitch (installed here when missing).

import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, type StoreEvent } from '../../src/controller/cluster/index.ts';
import { Controller, type SwitchHandle } from '../../src/controller/index.ts';
import { Daemon, eventually, freePort } from '../support/daemon.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const sh = async (cmd: string, ...args: string[]) => (await run(cmd, args, { encoding: 'utf8' })).stdout;
const silent = pino({ level: 'silent' });

describe('the Cluster API over a real etcd and an OVS bridge', () => {
  const id = randomBytes(2).toString('hex');
  const br = `tsca${id}br`;
  const dpid = BigInt(`0x0000c1a6${id}0001`);
  const dir = mkdtempSync(join(tmpdir(), 'tsof-cluster-api-'));
  let etcd: Daemon;
  const nodes: { controller: Controller; cluster: Cluster; events: string[]; port: number }[] = [];
  const handle = (i: number): SwitchHandle => nodes[i].controller.switches.get(dpid)!;
  /** Each node's role as the switch reports it. */
  const roles = () => Promise.all(nodes.map((_, i) => handle(i).queryRole().then((r) => r.role)));

  beforeAll(async () => {
    execFileSync('bash', [join(ROOT, 'scripts/install-peers.sh'), 'etcd-server', 'openvswitch-switch', 'openvswitch-common'], { stdio: 'inherit' });
    try {
      await sh('ovs-vsctl', '--timeout=2', 'show');
    } catch {
      await sh('/usr/share/openvswitch/scripts/ovs-ctl', 'start', '--system-id=random');
    }
    const [client, peer] = [await freePort(), await freePort()];
    etcd = new Daemon('etcd', '/usr/bin/etcd', [
      '--name', 'solo', '--data-dir', join(dir, 'etcd'),
      '--listen-client-urls', `http://127.0.0.1:${client}`, '--advertise-client-urls', `http://127.0.0.1:${client}`,
      '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
      '--initial-cluster', `solo=http://127.0.0.1:${peer}`, '--heartbeat-interval', '100', '--election-timeout', '500',
    ]);
    await eventually(() => fetch(`http://127.0.0.1:${client}/health`).then((r) => r.ok, () => false), 'etcd up');
    for (const node of ['a', 'b']) {
      const controller = new Controller({ host: '127.0.0.1', port: 0, logger: silent });
      const cluster = new Cluster(controller, { endpoints: [`etcd://127.0.0.1:${client}`], nodeId: node, leaseTtl: 2 });
      const events: string[] = [];
      cluster.on('switchMastered', (sw, gen) => events.push(`mastered ${sw.dpid === dpid} ${gen}`));
      cluster.on('switchLost', (d, reason) => events.push(`lost ${d === dpid} ${reason}`));
      await cluster.start();
      const { port } = await controller.listen();
      nodes.push({ controller, cluster, events, port });
    }
    await sh('ovs-vsctl', '--timeout=5', 'add-br', br, '--', 'set', 'bridge', br, 'datapath_type=netdev', 'fail-mode=secure', 'protocols=OpenFlow13',
      `other-config:datapath-id=${dpid.toString(16).padStart(16, '0')}`);
    await sh('ovs-vsctl', '--timeout=5', 'set-controller', br, ...nodes.map((n) => `tcp:127.0.0.1:${n.port}`));
  });

  afterAll(async () => {
    await sh('ovs-vsctl', '--timeout=5', '--if-exists', 'del-br', br).catch(() => undefined);
    for (const n of nodes) {
      await n.cluster.close();
      await n.controller.close();
    }
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes one node master and the other slave, as the switch itself reports', async () => {
    await eventually(() => nodes.every((n) => n.controller.switches.has(dpid)), 'the switch at both nodes');
    await eventually(() => nodes.some((n) => n.cluster.mastered.length === 1), 'a master');
    expect((await roles()).sort()).toEqual(['master', 'slave']);
    const m = nodes.findIndex((n) => n.cluster.mastered.length === 1);
    expect(nodes[m].events).toHaveLength(1);
    expect(nodes[m].events[0]).toMatch(/^mastered true \d+$/);
    expect(nodes[1 - m].events).toEqual([]);
    expect(nodes[1 - m].cluster.master(dpid)).toEqual(nodes[m].cluster.master(dpid));
  });

  it('hands a switch over on request, with a newer generation', async () => {
    const m = nodes.findIndex((n) => n.cluster.mastered.length === 1);
    const before = nodes[m].cluster.master(dpid)!.generation;
    expect(await nodes[m].cluster.handOver(dpid)).toBe(true);
    await eventually(() => nodes[1 - m].cluster.mastered.length === 1, 'the other node master');
    expect(nodes[m].events.at(-1)).toBe('lost true handed over');
    const after = nodes[1 - m].cluster.master(dpid)!;
    expect(after.node).toBe(nodes[1 - m].cluster.nodeId);
    expect(after.generation).toBeGreaterThan(before);
    const r = await roles();
    expect(r[1 - m]).toBe('master');
    expect(r[m]).toBe('slave');
    expect(handle(1 - m).generationId).toBe(after.generation);
  });

  it('shares typed state: get/put/delete, prefixes, compare-and-set, update and watch', async () => {
    const a = nodes[0].cluster.store<{ port: number }>('macs');
    const b = nodes[1].cluster.store<{ port: number }>('macs');
    const seen: StoreEvent<{ port: number }>[] = [];
    const stop = await b.watch('sw1/', (e) => seen.push(e));

    expect(await a.get('sw1/02:00:00:00:00:01')).toBeUndefined();
    await a.put('sw1/02:00:00:00:00:01', { port: 1 });
    await a.put('sw1/02:00:00:00:00:02', { port: 2 });
    await a.put('sw2/02:00:00:00:00:03', { port: 3 });
    expect(await b.get('sw1/02:00:00:00:00:01')).toEqual({ port: 1 });
    expect(await b.list('sw1/')).toEqual(new Map([['sw1/02:00:00:00:00:01', { port: 1 }], ['sw1/02:00:00:00:00:02', { port: 2 }]]));

    const e = (await a.entry('sw1/02:00:00:00:00:01'))!;
    expect(await b.compareAndSet('sw1/02:00:00:00:00:01', e.revision, { port: 5 })).toBe(true);
    expect(await a.compareAndSet('sw1/02:00:00:00:00:01', e.revision, { port: 6 })).toBe(false); // a stale revision
    expect(await a.compareAndSet('sw1/02:00:00:00:00:09', undefined, { port: 9 })).toBe(true); // only if absent
    expect(await a.compareAndSet('sw1/02:00:00:00:00:09', undefined, { port: 9 })).toBe(false);
    expect(await a.get('sw1/02:00:00:00:00:01')).toEqual({ port: 5 });

    // 20 increments from both nodes at once: none lost.
    await a.put('counter', { port: 0 });
    const inc = (s: typeof a) => s.update('counter', (old) => ({ port: (old?.port ?? 0) + 1 }), 100);
    await Promise.all(Array.from({ length: 10 }, () => [inc(a), inc(b)]).flat());
    expect(await b.get('counter')).toEqual({ port: 20 });

    expect(await a.delete('sw1/02:00:00:00:00:02')).toBe(true);
    expect(await a.delete('sw1/02:00:00:00:00:02')).toBe(false);
    await eventually(() => seen.some((x) => x.type === 'delete'), 'the delete seen');
    await stop();
    expect(seen.map((x) => `${x.type} ${x.key} ${x.type === 'put' ? x.value.port : ''}`)).toEqual([
      'put sw1/02:00:00:00:00:01 1',
      'put sw1/02:00:00:00:00:02 2',
      'put sw1/02:00:00:00:00:01 5',
      'put sw1/02:00:00:00:00:09 9',
      'delete sw1/02:00:00:00:00:02 ',
    ]);
  });
});
