// tsof-switch's fail modes with two hosts in network namespaces: standalone
// forwards as a learning switch while no controller is connected, and stops
// doing so (its fail-open flow removed) once one connects; secure forwards
// nothing without flows. Also: an interface deleted under the switch leaves
// it, SIGTERM leaves no port, socket or process behind, and --metrics serves
// Prometheus's text format, scraped with an HTTP client and parsed. Needs
// root; names are unique per run and only they are removed.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller } from '../../src/controller/index.ts';
import { parseMetrics } from '../support/metrics.ts';

const run = promisify(execFile);
const sh = async (cmd: string, ...args: string[]) => (await run(cmd, args, { encoding: 'utf8' })).stdout;
const id = randomBytes(2).toString('hex');
const ns = (h: number) => `tsfm${id}h${h}`;
const sw = (h: number) => `tsfm${id}s${h}`;
const ctl = `/tmp/tsfm${id}.ctl`;
const ofPort = 20000 + (parseInt(id, 16) % 20000);

/**
 * Whether a reply comes within `seconds`: ping sends every 0.2 s until the first
 * reply or the deadline, so a switch still settling or a busy machine gets time,
 * and a switch that forwards nothing gets the whole deadline to prove it. The
 * host forgets its neighbours first, so ARP crosses the switch too.
 */
async function ping(from: number, to: number, seconds = 5): Promise<boolean> {
  await sh('ip', 'netns', 'exec', ns(from), 'ip', 'neigh', 'flush', 'all');
  try {
    await sh('ip', 'netns', 'exec', ns(from), 'ping', '-c', '1', '-i', '0.2', '-w', String(seconds), `10.77.0.${to}`);
    return true;
  } catch {
    return false;
  }
}

async function flows(listen: number): Promise<string[]> {
  const out = await sh('ovs-ofctl', '-O', 'OpenFlow13', '--no-stats', 'dump-flows', `tcp:127.0.0.1:${listen}`);
  // --no-stats prints the flows alone, without the reply's title line.
  return out.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** Starts tsof-switch on the two host links; resolves once its listener answers. */
async function startSwitch(...flags: string[]): Promise<ChildProcess> {
  const child = spawn('node', ['bin/tsof-switch.js', '--dpid', `0x${id}`, '--port', `${sw(1)}=1`, '--port', `${sw(2)}=2`, '--ctl', ctl, ...flags], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  for (const end = Date.now() + 10_000; !log.includes('tsof-switch started'); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > end || child.exitCode !== null) throw new Error(`tsof-switch did not start:\n${log}`);
  }
  return child;
}

async function stopSwitch(child: ChildProcess): Promise<number | null> {
  const done = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return done;
}

beforeAll(async () => {
  await sh('bash', 'scripts/install-peers.sh', 'iproute2', 'iputils-ping', 'openvswitch-common');
  for (const h of [1, 2]) {
    await sh('ip', 'netns', 'add', ns(h));
    await sh('ip', 'link', 'add', sw(h), 'type', 'veth', 'peer', 'name', `tsfm${id}p${h}`);
    await sh('ip', 'link', 'set', `tsfm${id}p${h}`, 'netns', ns(h));
    await sh('sysctl', '-qw', `net.ipv6.conf.${sw(h)}.disable_ipv6=1`);
    await sh('ip', 'link', 'set', sw(h), 'up');
    const inNs = (...a: string[]) => sh('ip', 'netns', 'exec', ns(h), ...a);
    await inNs('sysctl', '-qw', `net.ipv6.conf.all.disable_ipv6=1`);
    await inNs('ip', 'link', 'set', `tsfm${id}p${h}`, 'name', 'eth0');
    await inNs('ip', 'addr', 'add', `10.77.0.${h}/24`, 'dev', 'eth0');
    await inNs('ip', 'link', 'set', 'eth0', 'up');
  }
});

afterAll(async () => {
  for (const h of [1, 2]) {
    await sh('ip', 'link', 'del', sw(h)).catch(() => undefined);
    await sh('ip', 'netns', 'del', ns(h)).catch(() => undefined);
  }
});

describe('fail modes', () => {
  it('standalone: a learning switch without a controller, until one connects', async () => {
    const listen = ofPort + 1;
    const child = await startSwitch('--fail-mode', 'standalone', '--controller', `tcp:127.0.0.1:${ofPort}`, '--max-backoff', '500', '--listen', `ptcp:${listen}:127.0.0.1`);
    try {
      expect(await flows(listen)).toEqual(['cookie=0x7f5f0000fa110000, priority=0 actions=NORMAL']);
      expect(await ping(1, 2)).toBe(true);
      // A controller that installs nothing: once it is connected the switch forwards by (no) flows.
      const controller = new Controller({ host: '127.0.0.1', port: ofPort, logger: pino({ level: 'silent' }) });
      const connected = new Promise((resolve) => controller.once('switch', resolve));
      await controller.listen();
      await connected;
      try {
        expect(await flows(listen)).toEqual([]);
        expect(await ping(1, 2, 2)).toBe(false);
      } finally {
        await controller.close();
      }
    } finally {
      expect(await stopSwitch(child)).toBe(0);
    }
  });

  it('an interface deleted while attached takes its port with it', async () => {
    const child = await startSwitch('--fail-mode', 'secure');
    const extra = `tsfm${id}x`;
    try {
      await sh('ip', 'link', 'add', extra, 'type', 'veth', 'peer', 'name', `${extra}p`);
      expect(await sh('node', 'bin/tsof-switch.js', '--ctl', ctl, 'add-port', extra)).toBe('3\n');
      await sh('ip', 'link', 'del', extra);
      const ports = async () => sh('node', 'bin/tsof-switch.js', '--ctl', ctl, 'list-ports');
      for (const end = Date.now() + 5000; (await ports()).includes(extra); await new Promise((r) => setTimeout(r, 100))) {
        if (Date.now() > end) throw new Error(`${extra} is still a port after its interface was deleted`);
      }
      expect(await ports()).toBe(`1\t${sw(1)}\n2\t${sw(2)}\n`);
    } finally {
      await sh('ip', 'link', 'del', extra).catch(() => undefined);
      expect(await stopSwitch(child)).toBe(0);
    }
  });

  it('secure: nothing forwards without flows; SIGTERM leaves nothing behind', async () => {
    const child = await startSwitch('--fail-mode', 'secure');
    expect(await ping(1, 2, 2)).toBe(false);
    expect(existsSync(ctl)).toBe(true);
    // A second switch on the same control socket is refused, and leaves the first one's socket alone.
    const second = await run('node', ['bin/tsof-switch.js', '--dpid', '0x1', '--ctl', ctl], { encoding: 'utf8' }).catch((e: { code: number; stderr: string }) => e);
    expect(second).toMatchObject({ code: 1, stderr: expect.stringContaining('another tsof-switch is running there') });
    expect(existsSync(ctl)).toBe(true);
    expect(await stopSwitch(child)).toBe(0);
    expect(existsSync(ctl)).toBe(false);
    // The interfaces are free again: no packet socket holds them (a new switch can take them at once).
    const again = await startSwitch('--fail-mode', 'standalone');
    expect(await ping(1, 2)).toBe(true);
    expect(await stopSwitch(again)).toBe(0);
  });
});

describe('metrics', () => {
  it('--metrics serves ports, tables, the datapath, packet-ins and connections to a scraper', async () => {
    const listen = ofPort + 1;
    const metrics = ofPort + 2;
    const child = await startSwitch('--fail-mode', 'standalone', '--listen', `ptcp:${listen}:127.0.0.1`, '--metrics', `127.0.0.1:${metrics}`);
    try {
      expect(await ping(1, 2)).toBe(true);
      const res = await fetch(`http://127.0.0.1:${metrics}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const m = parseMetrics(await res.text());
      const dpid = `0x${id.padStart(16, '0')}`;
      expect(m.samples.filter((s) => s.name.startsWith('tsof_')).every((s) => s.labels.dpid === dpid)).toBe(true);
      expect(m.types.get('tsof_port_rx_packets_total')).toBe('counter');
      expect(m.types.get('tsof_table_flows')).toBe('gauge');
      // The ping crossed both ports (ARP and ICMP each way) through table 0's NORMAL flow.
      for (const port of [1, 2]) {
        expect(m.value('tsof_port_rx_packets_total', { port: String(port), name: sw(port) })).toBeGreaterThanOrEqual(2);
        expect(m.value('tsof_port_tx_packets_total', { port: String(port), name: sw(port) })).toBeGreaterThanOrEqual(2);
        expect(m.value('tsof_port_live', { port: String(port) })).toBe(1);
      }
      expect(m.value('tsof_table_flows', { table: '0' })).toBe(1);
      const lookups = m.value('tsof_table_lookups_total', { table: '0' })!;
      expect(lookups).toBeGreaterThanOrEqual(4);
      expect(m.value('tsof_table_matches_total', { table: '0' })).toBe(lookups);
      expect(m.value('tsof_datapath_packets_total')).toBeGreaterThanOrEqual(4);
      expect(m.value('tsof_datapath_cache_hits_total')! + m.value('tsof_datapath_cache_misses_total')!).toBeGreaterThanOrEqual(lookups);
      expect(m.value('tsof_packet_in_drops_total')).toBe(0);
      expect(m.value('tsof_openflow_connections', { kind: 'controller', role: 'equal' })).toBe(0);
      expect(m.value('process_resident_memory_bytes')).toBeGreaterThan(0);
      // The same counter through OpenFlow, read later: at least what the scrape saw.
      const ports = await sh('ovs-ofctl', '-O', 'OpenFlow13', 'dump-ports', `tcp:127.0.0.1:${listen}`, '1');
      expect(Number(/port {2}1: rx pkts=(\d+)/.exec(ports)?.[1])).toBeGreaterThanOrEqual(m.value('tsof_port_rx_packets_total', { port: '1' })!);
      expect((await fetch(`http://127.0.0.1:${metrics}/`)).status).toBe(404);
    } finally {
      expect(await stopSwitch(child)).toBe(0);
    }
  });
});
