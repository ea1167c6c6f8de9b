// tsof-switch driven by real controllers. Three hosts (network namespaces),
// each joined by a veth to a tsof-switch run as a child process
// (bin/tsof-switch.js, secure fail mode, a 1 s inactivity probe), and in turn:
//
// 1. os-ken (Debian's python3-os-ken) running bench/controller's copy of
//    simple_switch_13: every host pings every other, iperf3 runs for 2 s.
// 2. ovs-testcontroller -O OpenFlow13: exact-match flows (vlan_tci, ARP,
//    nw_tos, ICMP fields); every host pings every other.
// 3. tsof-controller with examples/learning-switch.ts: pings and iperf3.
// 4. Two controllers with roles (spec 6.3.7): tsof-controller as master
//    (test/support/role-app.ts, generation 1) installs the learning flows, the
//    SDK in this process is slave (its writes refused); the master is killed
//    (SIGKILL) in the middle of a 10 ms ping on an installed flow, which must
//    lose nothing; the slave then becomes master (generation 2) and its flows
//    let a new pair of hosts ping.
// The flows each controller installed are read back with ovs-ofctl over the
// switch's ptcp: listener.
//
// Needs root, iproute2, ping, iperf3, ovs-ofctl, os-ken and ovs-testcontroller
// (installed here when missing). Names are unique per run (tssc<hex>...),
// OpenFlow ports are free ports picked here (never 6653), and clean-up removes
// only the namespaces, veths, processes and temporary directory made here.
// Everything runs async: the in-process controller shares this event loop.

import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import learningSwitch from '../../examples/learning-switch.ts';
import { Controller, ERR, flowMod, OpenFlowError, type MessageOf, type SwitchHandle } from '../../src/controller/index.ts';
import { Daemon, eventually, freePort, sleep } from '../support/daemon.ts';
import { addHost, inNs, ping, removeHost, type Host } from '../support/hosts.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const at = (path: string) => join(ROOT, path);
const PY = '/usr/bin/python3';
const run = promisify(execFile);
const sh = async (cmd: string, ...args: string[]) => (await run(cmd, args, { encoding: 'utf8' })).stdout;
/** The switch's flows as ovs-ofctl dump-flows prints them, with or without the counters. */
type Flows = (stats?: boolean) => Promise<string[]>;


describe('tsof-switch driven by real controllers, three hosts in network namespaces', () => {
  const id = randomBytes(2).toString('hex');
  const hosts: Host[] = [1, 2, 3].map((n) => ({
    n,
    ns: `tssc-${id}-h${n}`,
    veth: `tssc${id}h${n}`,
    ip: `198.18.0.${n}`, // RFC 2544 benchmarking range, inside the namespaces only
    mac: `02:00:00:00:00:0${n}`,
  }));
  const [h1, h2, h3] = hosts;
  const dir = mkdtempSync(join(tmpdir(), 'tsof-switch-controllers-'));
  const daemons: Daemon[] = [];
  /** What the run measured, printed at the end. */
  const results: Record<string, unknown> = {};
  let switchCount = 0;

  function daemon(name: string, cmd: string, args: string[], env?: Record<string, string>): Daemon {
    const d = new Daemon(name, cmd, args, env);
    daemons.push(d);
    return d;
  }

  /** A tsof-switch over the three veths (host n on port n), connecting to these controller ports. */
  async function startSwitch(controllerPorts: number[]): Promise<{ sw: Daemon; dpid: bigint; flows: Flows }> {
    const dpid = BigInt(`0x75c0${id}0000000${++switchCount}`);
    const listen = await freePort();
    const sw = daemon('tsof-switch', process.execPath, [
      at('bin/tsof-switch.js'),
      '--dpid', `0x${dpid.toString(16)}`,
      ...hosts.flatMap((h) => ['--port', `${h.veth}=${h.n}`]),
      ...controllerPorts.flatMap((p) => ['--controller', `tcp:127.0.0.1:${p}`]),
      '--listen', `ptcp:${listen}:127.0.0.1`,
      '--fail-mode', 'secure',
      '--inactivity-probe', '1000',
      '--max-backoff', '1000',
      '--ctl', join(dir, `switch${switchCount}.ctl`),
      '--json',
    ]);
    await sw.waitLog('tsof-switch started');
    const flows = async (stats = false) =>
      (await sh('ovs-ofctl', '-O', 'OpenFlow13', ...(stats ? [] : ['--no-stats']), 'dump-flows', `tcp:127.0.0.1:${listen}`))
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
    return { sw, dpid, flows };
  }

  /** Waits for the switch's connection to each of these controller ports. */
  const connectedTo = (sw: Daemon, ports: number[]) =>
    Promise.all(ports.map((p) => sw.waitLog('OpenFlow connection up', (r) => r.controller === `tcp:127.0.0.1:${p}`)));

  /** Every host pings every other (3 each, 0.1 s apart); "hA->hB": "received/sent". */
  async function pingAll(among = hosts): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const a of among) {
      for (const b of among) {
        if (a === b) continue;
        const r = await ping(a, b, '-c', '3', '-i', '0.1', '-W', '2');
        out[`h${a.n}->h${b.n}`] = `${r.received}/${r.sent}`;
      }
    }
    return out;
  }
  const lossless = (r: Record<string, string>) => Object.values(r).every((v) => v === '3/3');

  /** iperf3 from one host to another for 2 s; the rate received, in bits per second. */
  async function iperf(client: Host, server: Host): Promise<number> {
    // Not --one-off: an attempt that fails after connecting must not take the server with it.
    const srv = spawn('ip', ['netns', 'exec', server.ns, 'iperf3', '--server'], { stdio: 'ignore' });
    try {
      let failure = '';
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          const result = JSON.parse(await inNs(client, 'iperf3', '--client', server.ip, '--time', '2', '--json'));
          const bps = result.end?.sum_received?.bits_per_second;
          if (typeof bps === 'number') return bps;
          failure = result.error ?? 'no result';
        } catch (e) {
          failure = String(e); // the server is not listening yet
        }
        await sleep(100);
      }
      throw new Error(`iperf3 ${client.ip} -> ${server.ip}: ${failure}`);
    } finally {
      srv.kill();
    }
  }
  const mbps = (bps: number) => `${(bps / 1e6).toFixed(0)} Mbit/s`;

  /** The flow a learning switch installs for frames from a to b (idle 30 s, priority 1), as ovs-ofctl prints it. */
  const learned = (a: Host, b: Host) =>
    `idle_timeout=30, priority=1,in_port=${a.n},dl_src=${a.mac},dl_dst=${b.mac} actions=output:${b.n}`;
  const TABLE_MISS = 'priority=0 actions=CONTROLLER:65535';

  beforeAll(async () => {
    execFileSync('bash', [at('scripts/install-peers.sh'), 'iproute2', 'iputils-ping', 'iperf3', 'openvswitch-common', 'python3-os-ken', 'openvswitch-testcontroller'], {
      stdio: 'inherit',
    });
    for (const h of hosts) await addHost(h);
  });

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    for (const h of hosts) await removeHost(h);
    rmSync(dir, { recursive: true, force: true });
    console.log(`switch-controllers results:\n${JSON.stringify(results, null, 2)}`);
  });

  /** Each case starts from hosts that know no neighbours, so ARP goes through the controller too. */
  const forgetNeighbours = () => Promise.all(hosts.map((h) => sh('ip', '-n', h.ns, 'neigh', 'flush', 'all')));

  describe('os-ken (simple_switch_13)', () => {
    let osken: Daemon;
    let sw: Daemon;
    let flows: Flows;

    beforeAll(async () => {
      await forgetNeighbours();
      const port = await freePort();
      osken = daemon('osken-manager', PY, [
        '/usr/bin/osken-manager', '--ofp-listen-host', '127.0.0.1', '--ofp-tcp-listen-port', String(port),
        at('bench/controller/osken_learning_switch.py'),
      ]);
      ({ sw, flows } = await startSwitch([port]));
      await connectedTo(sw, [port]);
      await eventually(async () => (await flows()).includes(TABLE_MISS), 'the table-miss flow');
    });
    afterAll(async () => {
      await sw?.stop();
      await osken?.stop();
    });

    it('lets every host ping every other', async () => {
      const r = await pingAll();
      results['os-ken pings'] = r;
      expect(lossless(r), JSON.stringify(r)).toBe(true);
      const installed = await flows();
      for (const [a, b] of [[h1, h2], [h2, h1], [h1, h3], [h3, h1], [h2, h3], [h3, h2]]) expect(installed).toContain(learned(a, b));
    });

    it('carries TCP: iperf3 for 2 s', async () => {
      const bps = await iperf(h1, h2);
      results['os-ken iperf3 h1->h2'] = mbps(bps);
      expect(bps).toBeGreaterThan(0);
    });
  });

  describe('ovs-testcontroller (exact-match flows)', () => {
    let tc: Daemon;
    let sw: Daemon;
    let flows: Flows;

    beforeAll(async () => {
      await forgetNeighbours();
      const port = await freePort();
      tc = daemon('ovs-testcontroller', 'ovs-testcontroller', [
        '-O', 'OpenFlow13', `--unixctl=${join(dir, 'testcontroller.ctl')}`, `ptcp:${port}:127.0.0.1`,
      ]);
      ({ sw, flows } = await startSwitch([port]));
      await connectedTo(sw, [port]);
      // Its table-miss flow sends 128 bytes, ovs-testcontroller's miss_send_len.
      await eventually(async () => (await flows()).includes('priority=0 actions=CONTROLLER:128'), 'the table-miss flow');
    });
    afterAll(async () => {
      await sw?.stop();
      await tc?.stop();
    });

    it('lets every host ping every other, over exact-match flows that the pings then hit', async () => {
      const r = await pingAll();
      results['ovs-testcontroller pings'] = r;
      expect(lossless(r), `${JSON.stringify(r)}\n${tc.tail()}`).toBe(true);
      const installed = await flows();
      expect(installed).toContain(
        `idle_timeout=60, priority=1,icmp,in_port=1,vlan_tci=0x0000/0x1fff,dl_src=${h1.mac},dl_dst=${h2.mac},` +
          `nw_src=${h1.ip},nw_dst=${h2.ip},nw_tos=0,icmp_type=8,icmp_code=0 actions=output:2`,
      );
      expect(installed).toContain(
        `idle_timeout=60, priority=1,arp,in_port=2,vlan_tci=0x0000/0x1fff,dl_src=${h2.mac},dl_dst=${h1.mac},` +
          `arp_spa=${h2.ip},arp_tpa=${h1.ip},arp_op=2 actions=output:1`,
      );
      // An echo request and a reply flow per ordered pair; each took the pings after the first (had the datapath
      // missed them, the controller's packet-outs would have delivered the pings all the same).
      const icmp = (await flows(true)).filter((f) => f.includes(',icmp,'));
      const hits = icmp.map((f) => +(/n_packets=(\d+)/.exec(f)?.[1] ?? 0));
      results['ovs-testcontroller ICMP flows, packets each'] = hits.join(' ');
      expect(icmp).toHaveLength(12);
      expect(hits.every((n) => n >= 1), icmp.join('\n')).toBe(true);
    });
  });

  describe('tsof-controller (examples/learning-switch.ts)', () => {
    let controller: Daemon;
    let sw: Daemon;
    let dpid: bigint;
    let flows: Flows;

    beforeAll(async () => {
      await forgetNeighbours();
      const port = await freePort();
      controller = daemon('tsof-controller', process.execPath, [
        at('bin/tsof-controller.js'), '--host', '127.0.0.1', '--port', String(port), '--json', '--metrics', '127.0.0.1:0', at('examples/learning-switch.ts'),
      ]);
      await controller.waitLog('listening for switches');
      ({ sw, dpid, flows } = await startSwitch([port]));
      await connectedTo(sw, [port]);
      await eventually(async () => (await flows()).includes(TABLE_MISS), 'the table-miss flow');
    });
    afterAll(async () => {
      await sw?.stop();
      await controller?.stop();
    });

    it('lets every host ping every other', async () => {
      const r = await pingAll();
      results['tsof-controller pings'] = r;
      expect(lossless(r), JSON.stringify(r)).toBe(true);
      const installed = await flows();
      for (const [a, b] of [[h1, h2], [h2, h1], [h1, h3], [h3, h1], [h2, h3], [h3, h2]]) expect(installed).toContain(learned(a, b));
    });

    it('carries TCP: iperf3 for 2 s', async () => {
      const bps = await iperf(h2, h3);
      results['tsof-controller iperf3 h2->h3'] = mbps(bps);
      expect(bps).toBeGreaterThan(0);
    });

    it('serves its metrics and the app\'s at --metrics', async () => {
      const { metrics: url } = (await controller.waitLog('serving metrics')) as { metrics: string };
      const text = await (await fetch(url)).text();
      const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
      expect(value('tsof_controller_switches')).toBe(1);
      // The pings' first packets of each pair came up as packet-ins: at least one per host.
      expect(value(`tsof_controller_packet_ins_total{dpid="0x${dpid.toString(16).padStart(16, '0')}"}`)).toBeGreaterThanOrEqual(3);
      expect(value(`tsof_controller_packet_in_drops_total{dpid="0x${dpid.toString(16).padStart(16, '0')}"}`)).toBe(0);
      expect(value('tsof_learning_switch_macs')).toBe(3);
    });
  });

  describe('two controllers with roles: the master dies mid-ping, the slave takes over', () => {
    let master: Daemon;
    let masterPort: number;
    let sw: Daemon;
    let dpid: bigint;
    let flows: Flows;
    const standby = new Controller({ host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }) });
    const refused: MessageOf<'error'>[] = [];
    let handle: SwitchHandle;
    let slaveRole: Promise<{ role: string; generationId: bigint }>;

    beforeAll(async () => {
      await forgetNeighbours();
      masterPort = await freePort();
      master = daemon(
        'tsof-controller (master)',
        process.execPath,
        [at('bin/tsof-controller.js'), '--host', '127.0.0.1', '--port', String(masterPort), '--json', at('test/support/role-app.ts'), at('examples/learning-switch.ts')],
        { TSOF_ROLE: 'master', TSOF_GENERATION: '1' },
      );
      // The standby asks to be slave before the learning switch's table-miss flow_mod goes out: that one is refused.
      const connected = new Promise<SwitchHandle>((resolve) =>
        standby.on('switch', (s) => {
          slaveRole = s.requestRole('slave', 1n);
          resolve(s);
        }),
      );
      learningSwitch(standby);
      standby.on('error', (_s, msg) => refused.push(msg));
      const { port } = await standby.listen();
      await master.waitLog('listening for switches');
      ({ sw, dpid, flows } = await startSwitch([masterPort, port]));
      await connectedTo(sw, [masterPort, port]);
      handle = await connected;
    });
    afterAll(async () => {
      await sw?.stop();
      await master?.stop();
      await standby.close();
    });

    it('grants master (generation 1) to one and slave to the other; the slave may not write', async () => {
      expect(handle.dpid).toBe(dpid);
      expect(await slaveRole).toEqual({ role: 'slave', generationId: 1n });
      const granted = await master.waitLog('role granted');
      expect(granted).toMatchObject({ role: 'master', generationId: '1' });
      await eventually(async () => (await flows()).includes(TABLE_MISS), 'the master\'s table-miss flow');
      await eventually(() => refused.length > 0, 'the slave\'s table-miss flow_mod refused');
      expect(refused.map((e) => [e.errType, e.code])).toContainEqual([ERR.BAD_REQUEST.IS_SLAVE.type, ERR.BAD_REQUEST.IS_SLAVE.code]);
      const err = await handle.confirm(flowMod({ priority: 7, match: [], actions: [] })).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(OpenFlowError);
      expect((err as OpenFlowError).is(ERR.BAD_REQUEST.IS_SLAVE)).toBe(true);
    });

    it('loses no packet of a 10 ms ping over an installed flow when the master is killed', async () => {
      const warm = await ping(h1, h2, '-c', '2', '-i', '0.1', '-W', '2');
      expect(warm.received).toBe(2);
      const installed = await flows();
      expect(installed).toContain(learned(h1, h2));
      expect(installed).toContain(learned(h2, h1));

      const started = Date.now();
      const pinging = ping(h1, h2, '-c', '300', '-i', '0.01', '-W', '1');
      await sleep(1_000);
      await master.stop('SIGKILL');
      const closed = await sw.waitLog('OpenFlow connection closed', (r) => r.controller === `tcp:127.0.0.1:${masterPort}`, 5_000);
      const killedAfter = Date.now() - started;
      const r = await pinging;
      const lasted = Date.now() - started;
      results['failover ping h1->h2'] = { ...r, lost: r.sent - r.received, masterKilledAtMs: killedAfter, pingLastedMs: lasted, switchSaw: closed.reason };
      expect(lasted).toBeGreaterThan(killedAfter); // the master went while the ping ran
      expect(r).toEqual({ sent: 300, received: 300 });
    });

    it('lets the slave become master (generation 2) and install flows for a new pair of hosts', async () => {
      expect(await handle.requestRole('master', 2n)).toEqual({ role: 'master', generationId: 2n });
      const stale = await handle.requestRole('slave', 1n).then(() => undefined, (e: unknown) => e);
      expect((stale as OpenFlowError).is(ERR.ROLE_REQUEST_FAILED.STALE)).toBe(true);
      const r = await pingAll([h1, h3]);
      results['after failover pings'] = r;
      expect(lossless(r), JSON.stringify(r)).toBe(true);
      const installed = await flows();
      expect(installed).toContain(learned(h1, h3));
      expect(installed).toContain(learned(h3, h1));
      expect(installed).toContain(learned(h1, h2)); // the dead master's flows stay (secure fail mode)
    });
  });
});
