// tsof-switch under a packet-in flood toward a slow controller: trafgen sends
// table-miss frames as fast as it can into port 1 (a table-miss flow sends
// them to the controller), the controller reads a few hundred packet-ins a
// second, and two other hosts ping each other over installed flows
// meanwhile. The switch must stay bounded: its RSS grows by less than a bound,
// every packet-in it did not deliver is counted in its metrics (after the
// flood, once the controller has read what was queued, delivered plus dropped
// is every frame that missed, exactly), and the installed pair loses no ping.
// No timing is asserted. Needs root; names are unique per run and only they
// are removed.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, eventually, exec, freePort, sleep } from '../support/daemon.ts';
import { addHost, ping, removeHost, type Host } from '../support/hosts.ts';
import { scrape } from '../support/metrics.ts';
import { FLOOD_FRAMES, PacketInSink } from '../support/packet-in-flood.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const id = randomBytes(2).toString('hex');
const hosts: Host[] = [1, 2, 3].map((n) => ({ n, ns: `tspf-${id}-h${n}`, veth: `tspf${id}h${n}`, ip: `198.18.9.${n}`, mac: `02:00:00:00:09:0${n}` }));
const [flooder, h2, h3] = hosts;
/** What the slow controller reads, packet-ins a second: far below the flood. */
const SLOW_RATE = 500;
/** Frames of the flood: a few seconds of trafgen at full speed. */
const FLOOD_FRAMES_SENT = 1_000_000;
/**
 * RSS the switch may grow by during the flood. What it holds for packet-ins is bounded by the datapath's queue
 * to Node (native/dp.h, addon.c) and each connection's outbox; the rest is the heap's churn.
 */
const RSS_BOUND_KB = 64 * 1024;

const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

describe('tsof-switch under a packet-in flood toward a slow controller', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tspf-'));
  const sink = new PacketInSink(SLOW_RATE);
  let sw: Daemon;
  let listen: number;
  let metrics: string;

  const ofctl = async (...args: string[]) => {
    const r = await exec(ROOT, 'ovs-ofctl', ['-O', 'OpenFlow13', ...args]);
    if (r.code !== 0) throw new Error(`ovs-ofctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    const peers = await exec(ROOT, 'bash', ['scripts/install-peers.sh', 'iproute2', 'iputils-ping', 'netsniff-ng', 'openvswitch-common']);
    if (peers.code !== 0) throw new Error(peers.stderr);
    for (const h of hosts) await addHost(h);
    const controller = await sink.listen();
    listen = await freePort();
    metrics = `127.0.0.1:${await freePort()}`;
    sw = new Daemon('tsof-switch', process.execPath, [
      join(ROOT, 'bin/tsof-switch.js'),
      '--dpid', `0x7e5f${id}`,
      ...hosts.flatMap((h) => ['--port', `${h.veth}=${h.n}`]),
      '--controller', `tcp:127.0.0.1:${controller}`,
      '--listen', `ptcp:${listen}:127.0.0.1`,
      '--metrics', metrics,
      '--fail-mode', 'secure',
      // Echo requests wait behind the queued packet-ins: a slow controller must not look dead.
      '--inactivity-probe', '30000',
      '--ctl', join(tmp, 'switch.ctl'),
      '--json',
    ]);
    await sw.waitLog('tsof-switch started');
    await eventually(() => sink.connections === 1, 'the switch connects to the controller');
    const flows = join(tmp, 'flows');
    writeFileSync(flows, ['priority=10,in_port=2,actions=output:3', 'priority=10,in_port=3,actions=output:2', 'priority=0,actions=CONTROLLER:128', ''].join('\n'));
    await ofctl('add-flows', `tcp:127.0.0.1:${listen}`, flows);
    writeFileSync(join(tmp, 'flood.cfg'), FLOOD_FRAMES);
  });

  afterAll(async () => {
    if (sw && !sw.running) console.log(`tsof-switch exited:\n${sw.tail(40)}`);
    await sw?.stop();
    await sink.close();
    for (const h of hosts) await removeHost(h);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('bounds what it queues, counts every packet-in it drops, and forwards the installed pair without loss', async () => {
    expect(await ping(h2, h3, '-c', '3', '-i', '0.2', '-W', '2')).toEqual({ sent: 3, received: 3 });
    const pid = sw.proc.pid!;
    const rssBefore = rssKb(pid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssKb(pid))), 100);
    // trafgen's count ends the flood (stopping it by signal could leave its worker running).
    const flood = new Daemon('trafgen', 'ip', ['netns', 'exec', flooder.ns, 'trafgen', '-o', 'eth0', '-i', join(tmp, 'flood.cfg'), '-P', '1', '-n', String(FLOOD_FRAMES_SENT), '--no-sock-mem', '-Q', '-C']);
    try {
      await sleep(500);
      expect(await ping(h2, h3, '-c', '40', '-i', '0.05', '-W', '2')).toEqual({ sent: 40, received: 40 });
      await flood.exited;
    } finally {
      await flood.stop('SIGKILL');
      clearInterval(sampler);
    }
    expect(rssPeak - rssBefore).toBeLessThan(RSS_BOUND_KB);

    // Once the controller reads as fast as it can, what was queued arrives and the counts settle.
    sink.rate = 0;
    await eventually(async () => {
      const read = sink.packetIns;
      await sleep(500);
      return sink.packetIns === read;
    }, 'the controller reads what was queued');
    const m = await scrape(metrics);
    const missed = m.value('tsof_port_rx_packets_total', { port: '1' })!;
    const upcalls = m.value('tsof_datapath_upcalls_total')!;
    const upcallDrops = m.value('tsof_datapath_upcalls_dropped_total')!;
    const offered = m.value('tsof_packet_ins_total')!;
    const drops = m.value('tsof_packet_in_drops_total')!;
    console.log(
      `flood: ${missed} frames missed, ${upcallDrops} dropped before the agent, ${drops} by the agent, ` +
        `${sink.packetIns} delivered; RSS ${rssBefore} -> peak ${rssPeak} KiB`,
    );
    // The flood outran the controller (or the test proves nothing), and every frame is accounted for.
    expect(drops + upcallDrops).toBeGreaterThan(sink.packetIns);
    expect(upcalls + upcallDrops).toBe(missed);
    expect(offered).toBe(upcalls);
    expect(sink.packetIns + drops).toBe(offered);
  });
});
