// Three tsof-controller instances clustered over a real three-member etcd
// cluster (Debian's etcd-server, on loopback ports picked here, data in a
// temporary directory), each running examples/learning-switch.ts, and two
// switches connected to all three, each with three hosts in network
// namespaces: an Open vSwitch netdev bridge and a tsof-switch. The switches'
// own views of the roles are sampled all along (ovs-vsctl's Controller table,
// which ovs-vswitchd keeps current; tsof-switch's --metrics connections by
// role):
//
// 1. exactly one instance is each switch's master, the others slave (in the
//    switch's ROLE replies, as each instance logs them), and pings work;
// 2. kill -9 of the bridge's master: another instance is master within the
//    lease TTL plus 2 s, a 10 ms ping on installed flows loses nothing, and
//    packet-ins (a new pair of hosts) reach the new master;
// 3. the same for tsof-switch's master, which is then started again;
// 4. one etcd member killed: nothing changes (no 'switch lost');
// 5. every etcd member killed: the bridge's master steps down after the lease
//    TTL (the switch has no master, never two) while installed flows keep
//    forwarding; etcd back: one master again.
//
// Needs root, etcd-server, Open vSwitch, iproute2 and ping (installed here when
// missing). Names are unique per run (tscl<hex>...), ports are free ports
// (never 6653), and clean-up removes only what was made here.

import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, eventually, freePort, sleep } from '../support/daemon.ts';
import { etcdArgs, etcdEndpoints, etcdHealthy, type EtcdMember } from '../support/etcd.ts';
import { addHost, ping, removeHost, type Host } from '../support/hosts.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const at = (path: string) => join(ROOT, path);
const run = promisify(execFile);
const sh = async (cmd: string, ...args: string[]) => (await run(cmd, args, { encoding: 'utf8' })).stdout;
const TTL = 2; // seconds, --lease-ttl

interface Member extends EtcdMember {
  dir: string;
  proc?: Daemon;
}
interface Instance {
  node: string;
  port: number;
  proc: Daemon;
}

describe('three clustered tsof-controllers over a three-member etcd, one OVS bridge', () => {
  const id = randomBytes(2).toString('hex');
  const br = `tscl${id}br`;
  const dpid = BigInt(`0x0000c1a5${id}0001`);
  const hosts: Host[] = [1, 2, 3].map((n) => ({ n, ns: `tscl-${id}-h${n}`, veth: `tscl${id}h${n}`, ip: `198.18.1.${n}`, mac: `02:00:00:00:01:0${n}` }));
  const [h1, h2, h3] = hosts;
  const tsofDpid = BigInt(`0x0000c1a6${id}0001`);
  const tsofHosts: Host[] = [1, 2, 3].map((n) => ({ n, ns: `tscl-${id}-t${n}`, veth: `tscl${id}t${n}`, ip: `198.18.2.${n}`, mac: `02:00:00:00:02:0${n}` }));
  const [t1, t2, t3] = tsofHosts;
  let tsofSwitch: Daemon | undefined;
  let tsofListen = 0;
  let tsofMetrics = 0;
  const dir = mkdtempSync(join(tmpdir(), 'tsof-cluster-'));
  const members: Member[] = [];
  const instances: Instance[] = [];
  const results: Record<string, unknown> = {};
  /** Every sample of the switch's view: how many masters it had. */
  const samples: { at: number; masters: string[] }[] = [];
  /** The same for tsof-switch: its master connections, from its metrics. */
  const tsofSamples: number[] = [];
  let sampling = true;
  let sampler: Promise<void> | undefined;

  function startMember(m: Member): void {
    m.proc = new Daemon(`etcd ${m.name}`, '/usr/bin/etcd', etcdArgs(m, members, m.dir, `tscl-${id}`));
  }

  /** The switch's view: the role of each of our controller targets, from OVS's Controller table. */
  async function roles(): Promise<Map<string, string>> {
    const out = await sh('ovs-vsctl', '--timeout=5', '--format=csv', '--data=bare', '--no-headings', '--columns=target,role', 'list', 'controller');
    const ours = new Map(instances.map((i) => [`tcp:127.0.0.1:${i.port}`, i.node]));
    const view = new Map<string, string>();
    for (const line of out.split('\n')) {
      const [target, role] = line.split(',');
      const node = ours.get(target);
      if (node) view.set(node, role);
    }
    return view;
  }
  const masters = async () => [...(await roles())].filter(([, r]) => r === 'master').map(([n]) => n);
  const instance = (node: string) => instances.find((i) => i.node === node)!;
  const hex = (d: bigint) => d.toString(16).padStart(16, '0');
  const mastered = (i: Instance, d = dpid) => i.proc.logs('switch mastered').filter((r) => r.dpid === hex(d));
  /** Each instance's role as the switch last answered its ROLE_REQUEST (the 'role granted' log). */
  const granted = (d: bigint) => new Map(alive().map((i) => [i.node, i.proc.logs('role granted').filter((r) => r.dpid === hex(d)).at(-1)?.role as string | undefined]));
  const grantedMasters = (d: bigint) => [...granted(d)].filter(([, r]) => r === 'master').map(([n]) => n);
  /** tsof-switch's own count of its controller connections in each role. */
  async function tsofRoles(): Promise<Record<string, number>> {
    const text = await (await fetch(`http://127.0.0.1:${tsofMetrics}/metrics`)).text();
    const view: Record<string, number> = {};
    // Labels kind, role and the registry's dpid, in whatever order prom-client prints them.
    for (const m of text.matchAll(/^tsof_openflow_connections\{(.*)\} (\d+)$/gm)) {
      const role = /role="(\w+)"/.exec(m[1])?.[1];
      if (role && m[1].includes('kind="controller"')) view[role] = +m[2];
    }
    return view;
  }
  const alive = () => instances.filter((i) => i.proc.running);

  const flows = async () => (await sh('ovs-ofctl', '-O', 'OpenFlow13', '--no-stats', 'dump-flows', br)).split('\n').map((l) => l.trim());
  const tsofFlows = async () =>
    (await sh('ovs-ofctl', '-O', 'OpenFlow13', '--no-stats', 'dump-flows', `tcp:127.0.0.1:${tsofListen}`)).split('\n').map((l) => l.trim());
  const learned = (a: Host, b: Host) => `idle_timeout=30, priority=1,in_port=${a.n},dl_src=${a.mac},dl_dst=${b.mac} actions=output:${b.n}`;

  beforeAll(async () => {
    execFileSync('bash', [at('scripts/install-peers.sh'), 'etcd-server', 'openvswitch-switch', 'openvswitch-common', 'iproute2', 'iputils-ping'], { stdio: 'inherit' });
    try {
      await sh('ovs-vsctl', '--timeout=2', 'show');
    } catch {
      await sh('/usr/share/openvswitch/scripts/ovs-ctl', 'start', '--system-id=random');
    }
    for (const n of [1, 2, 3]) members.push({ name: `m${n}`, client: await freePort(), peer: await freePort(), dir: join(dir, `etcd${n}`) });
    members.forEach(startMember);
    await eventually(async () => (await Promise.all(members.map(etcdHealthy))).every(Boolean), 'a healthy etcd cluster', 20_000);

    const endpoints = etcdEndpoints(members);
    for (const n of [1, 2, 3]) {
      const port = await freePort();
      const node = `c${n}`;
      instances.push({
        node,
        port,
        proc: new Daemon(`tsof-controller ${node}`, process.execPath, [
          at('bin/tsof-controller.js'), '--host', '127.0.0.1', '--port', String(port), '--json',
          '--cluster', endpoints, '--node-id', node, '--lease-ttl', String(TTL), at('examples/learning-switch.ts'),
        ]),
      });
    }
    await Promise.all(instances.map((i) => i.proc.waitLog('listening for switches')));

    for (const h of hosts) await addHost(h);
    await sh('ovs-vsctl', '--timeout=5', 'add-br', br,
      '--', 'set', 'bridge', br, 'datapath_type=netdev', 'fail-mode=secure', 'protocols=OpenFlow13',
      `other-config:datapath-id=${dpid.toString(16).padStart(16, '0')}`,
      ...hosts.flatMap((h) => ['--', 'add-port', br, h.veth, '--', 'set', 'interface', h.veth, `ofport_request=${h.n}`]));
    await sh('ovs-vsctl', '--timeout=5', 'set-controller', br, ...instances.map((i) => `tcp:127.0.0.1:${i.port}`));

    for (const h of tsofHosts) await addHost(h);
    tsofListen = await freePort();
    tsofMetrics = await freePort();
    tsofSwitch = new Daemon('tsof-switch', process.execPath, [
      at('bin/tsof-switch.js'), '--dpid', `0x${hex(tsofDpid)}`,
      ...tsofHosts.flatMap((h) => ['--port', `${h.veth}=${h.n}`]),
      ...instances.flatMap((i) => ['--controller', `tcp:127.0.0.1:${i.port}`]),
      '--fail-mode', 'secure', '--inactivity-probe', '1000', '--max-backoff', '1000',
      '--listen', `ptcp:${tsofListen}:127.0.0.1`, '--metrics', `127.0.0.1:${tsofMetrics}`,
      '--ctl', join(dir, 'tsof-switch.ctl'), '--json',
    ]);
    await tsofSwitch.waitLog('tsof-switch started');

    sampler = (async () => {
      while (sampling) {
        samples.push({ at: Date.now(), masters: await masters().catch(() => []) });
        tsofSamples.push((await tsofRoles().catch(() => ({}) as Record<string, number>)).master ?? 0);
        await sleep(50);
      }
    })();
  });

  afterAll(async () => {
    sampling = false;
    await sampler;
    await sh('ovs-vsctl', '--timeout=5', '--if-exists', 'del-br', br).catch(() => undefined);
    await tsofSwitch?.stop();
    for (const h of tsofHosts) await removeHost(h);
    await Promise.all(instances.map((i) => i.proc.stop()));
    await Promise.all(members.map((m) => m.proc?.stop()));
    for (const h of hosts) await removeHost(h);
    rmSync(dir, { recursive: true, force: true });
    results['role samples of the switch'] = samples.length;
    results['role samples of tsof-switch'] = tsofSamples.length;
    if (process.env.TSOF_CLUSTER_LOGS) for (const i of instances) console.log(`${i.node}:\n${i.proc.lines.filter((l) => !/etcd watch|etcd lease/.test(l)).join('\n')}`);
    console.log(`cluster results:\n${JSON.stringify(results, null, 2)}`);
  });

  it('elects exactly one master; the other instances are slaves; pings work', async () => {
    await eventually(async () => {
      const view = await roles();
      return view.size === 3 && [...view.values()].filter((r) => r === 'master').length === 1 && [...view.values()].filter((r) => r === 'slave').length === 2;
    }, 'one master and two slaves in the switch\'s view', 20_000);
    const [m] = await masters();
    const granted = mastered(instance(m));
    expect(granted).toHaveLength(1);
    expect(BigInt(granted[0].generationId as string)).toBeGreaterThan(0n);
    for (const i of instances) if (i.node !== m) expect(mastered(i)).toHaveLength(0);
    results['first master'] = { node: m, generationId: granted[0].generationId };

    const a = await ping(h1, h2, '-c', '3', '-i', '0.1', '-W', '2');
    const b = await ping(h2, h1, '-c', '3', '-i', '0.1', '-W', '2');
    expect([a, b]).toEqual([{ sent: 3, received: 3 }, { sent: 3, received: 3 }]);
    const installed = await flows();
    expect(installed).toContain(learned(h1, h2));
    expect(installed).toContain(learned(h2, h1));
  });

  it('tsof-switch too: one master and two slaves in its ROLE replies and its own count; pings work', async () => {
    await eventually(async () => {
      const view = [...granted(tsofDpid).values()];
      return view.filter((r) => r === 'master').length === 1 && view.filter((r) => r === 'slave').length === 2;
    }, 'one master and two slaves in tsof-switch\'s ROLE replies', 20_000);
    expect(await tsofRoles()).toEqual({ equal: 0, master: 1, slave: 2 });
    const [m] = grantedMasters(tsofDpid);
    expect(mastered(instance(m), tsofDpid)).toHaveLength(1);
    results['tsof-switch first master'] = { node: m, generationId: mastered(instance(m), tsofDpid)[0].generationId };
    const a = await ping(t1, t2, '-c', '3', '-i', '0.1', '-W', '2');
    const b = await ping(t2, t1, '-c', '3', '-i', '0.1', '-W', '2');
    expect([a, b]).toEqual([{ sent: 3, received: 3 }, { sent: 3, received: 3 }]);
    expect(await tsofFlows()).toContain(learned(t1, t2));
  });

  it('kill -9 of the master: a new master within the bound, no packet lost on installed flows, packet-ins to it', async () => {
    const [old] = await masters();
    const victim = instance(old);
    const gen = BigInt(mastered(victim)[0].generationId as string);
    const started = Date.now();
    const pinging = ping(h1, h2, '-c', '600', '-i', '0.01', '-W', '1');
    await sleep(1_000);
    const killedAt = Date.now();
    await victim.proc.stop('SIGKILL');
    let next: Instance | undefined;
    await eventually(() => (next = alive().find((i) => mastered(i).length > 0)) !== undefined, 'a new master', (TTL + 5) * 1000);
    const rec = mastered(next!)[0];
    const failoverMs = (rec.time as number) - killedAt;
    const r = await pinging;
    results['failover'] = { from: old, to: next!.node, failoverMs, generationId: rec.generationId, ping: { ...r, lost: r.sent - r.received, lastedMs: Date.now() - started } };
    expect(failoverMs).toBeLessThanOrEqual(TTL * 1000 + 2_000);
    expect(BigInt(rec.generationId as string)).toBeGreaterThan(gen);
    expect(r).toEqual({ sent: 600, received: 600 });
    await eventually(async () => (await masters()).join() === next!.node, 'the switch sees the new master');

    // h3 never talked: its ARP and first pings are packet-ins, which only the new master gets and answers.
    const before = (await flows()).filter((f) => f.includes(h3.mac)).length;
    expect(before).toBe(0);
    const p = await ping(h1, h3, '-c', '3', '-i', '0.1', '-W', '2');
    expect(p).toEqual({ sent: 3, received: 3 });
    expect(await flows()).toContain(learned(h3, h1));
  });

  it('tsof-switch: kill -9 of its master, a new master within the bound, no packet lost, packet-ins to it', async () => {
    // The bridge's failover may have moved this switch too: take its master now.
    await eventually(() => grantedMasters(tsofDpid).length === 1, 'tsof-switch has a master', (TTL + 5) * 1000);
    const [old] = grantedMasters(tsofDpid);
    const victim = instance(old);
    const gen = BigInt(mastered(victim, tsofDpid).at(-1)!.generationId as string);
    const pinging = ping(t1, t2, '-c', '600', '-i', '0.01', '-W', '1');
    await sleep(1_000);
    const killedAt = Date.now();
    await victim.proc.stop('SIGKILL');
    const after = (i: Instance) => mastered(i, tsofDpid).find((r) => (r.time as number) > killedAt);
    let next: Instance | undefined;
    await eventually(() => (next = alive().find(after)) !== undefined, 'a new master of tsof-switch', (TTL + 5) * 1000);
    const rec = after(next!)!;
    const failoverMs = (rec.time as number) - killedAt;
    const r = await pinging;
    results['tsof-switch failover'] = { from: old, to: next!.node, failoverMs, generationId: rec.generationId, ping: { ...r, lost: r.sent - r.received } };
    expect(failoverMs).toBeLessThanOrEqual(TTL * 1000 + 2_000);
    expect(BigInt(rec.generationId as string)).toBeGreaterThan(gen);
    expect(r).toEqual({ sent: 600, received: 600 });
    await eventually(async () => (await tsofRoles()).master === 1, 'tsof-switch counts one master');

    // t3 never talked: only the new master gets its packet-ins.
    expect((await tsofFlows()).filter((f) => f.includes(t3.mac))).toEqual([]);
    expect(await ping(t1, t3, '-c', '3', '-i', '0.1', '-W', '2')).toEqual({ sent: 3, received: 3 });
    expect(await tsofFlows()).toContain(learned(t3, t1));

    // The killed instance again (same node id and port): a slave of both switches, which keep their masters.
    const bridgeMaster = await masters();
    victim.proc = new Daemon(`tsof-controller ${old}`, process.execPath, victim.proc.proc.spawnargs.slice(1));
    await eventually(() => granted(tsofDpid).get(old) === 'slave' && granted(dpid).get(old) === 'slave', `${old} back as a slave of both switches`, 20_000);
    expect(grantedMasters(tsofDpid)).toEqual([next!.node]);
    expect(await masters()).toEqual(bridgeMaster);
  });

  it('losing one etcd member of three changes nothing', async () => {
    const [m] = await masters();
    const lostBefore = alive().map((i) => i.proc.logs('switch lost').length);
    await members[0].proc!.stop('SIGKILL');
    const r = await ping(h1, h2, '-c', String(TTL * 2 * 20), '-i', '0.05', '-W', '1'); // two lease TTLs
    expect(r.received).toBe(r.sent);
    expect(await masters()).toEqual([m]);
    expect(alive().map((i) => i.proc.logs('switch lost').length)).toEqual(lostBefore);
    startMember(members[0]);
    await eventually(() => etcdHealthy(members[0]), 'the member back');
  });

  it('losing all of etcd: the master steps down after the lease TTL, flows keep forwarding; etcd back: one master again', async () => {
    const [m] = await masters();
    const master = instance(m);
    const lostOf = (i: Instance) => i.proc.logs('switch lost').filter((r) => r.dpid === hex(dpid));
    const grantedOf = (i: Instance) => i.proc.logs('role granted').filter((r) => r.dpid === hex(dpid));
    const lost = lostOf(master).length;
    const pinging = ping(h1, h2, '-c', String((TTL + 2) * 50), '-i', '0.02', '-W', '1');
    const stoppedAt = Date.now();
    const grants = grantedOf(master).length;
    await Promise.all(members.map((x) => x.proc!.stop('SIGKILL')));
    // ovs-vswitchd writes a role change to its database only with a connection change: the master's own
    // ROLE reply is the switch's word here.
    const slave = await master.proc.waitLog('role granted', (r) => r.dpid === hex(dpid) && r.role === 'slave' && r.time as number > stoppedAt, (TTL + 3) * 1000);
    const stepDownMs = (slave.time as number) - stoppedAt;
    expect(grantedOf(master).length).toBe(grants + 1);
    expect(lostOf(master).length).toBe(lost + 1);
    expect(stepDownMs).toBeGreaterThanOrEqual(TTL * 1000 - 1000); // the last keepalive left up to TTL/3 before
    expect(stepDownMs).toBeLessThanOrEqual(TTL * 1000);
    const r = await pinging;
    expect(r.received).toBe(r.sent);
    for (const i of alive()) expect(mastered(i).filter((x) => (x.time as number) > stoppedAt)).toEqual([]);

    const backAt = Date.now();
    members.forEach(startMember);
    let again: Instance | undefined;
    const isBack = (i: Instance) => mastered(i).some((x) => (x.time as number) > backAt);
    await eventually(() => (again = alive().find(isBack)) !== undefined, 'one master again', 20_000);
    const rec = mastered(again!).find((x) => (x.time as number) > backAt)!;
    await sleep(500);
    expect(alive().filter(isBack)).toHaveLength(1);
    results['etcd lost'] = { stepDownMs, ping: r, masterAgainAfterEtcdRestartMs: (rec.time as number) - backAt, master: again!.node, generationId: rec.generationId };
    const p = await ping(h2, h3, '-c', '3', '-i', '0.1', '-W', '2');
    expect(p).toEqual({ sent: 3, received: 3 });
  });

  it('the switch never had two masters at once', () => {
    const worst = Math.max(...samples.map((s) => s.masters.length));
    results['role samples, most masters at once'] = worst;
    expect(samples.length).toBeGreaterThan(50);
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('tsof-switch never had two masters at once', () => {
    const worst = Math.max(...tsofSamples);
    results['tsof-switch role samples, most masters at once'] = worst;
    expect(tsofSamples.length).toBeGreaterThan(50);
    expect(worst).toBeLessThanOrEqual(1);
  });
});
