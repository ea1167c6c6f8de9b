// tsof-switch --name NAME: a bridge name, as Open vSwitch's. The switch serves
// tools on /run/tsof/NAME.mgmt, so `tsof-ofctl show NAME` works as `ovs-ofctl
// show BR`, and both tools print the same (ovs-ofctl given the socket as
// unix:PATH); these are service connections, so the standalone switch stays
// fail-open while only they are connected. A second switch of the same name is
// refused. /run/tsof/NAME.snoop copies what the switch and its controller say
// to each other: `tsof-ofctl snoop NAME` prints what `ovs-ofctl snoop` prints.
// Stopping removes the sockets.
//
// Needs root and Open vSwitch's ovs-ofctl. The bridge name is unique per run;
// only its sockets are removed.

import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '../../src/openflow/channel/index.ts';
import { Daemon, eventually, freePort, sleep } from '../support/daemon.ts';

const ROOT = join(import.meta.dirname, '../..');
const execFileP = promisify(execFile);

async function exec(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await execFileP(cmd, args, { encoding: 'utf8', cwd: ROOT });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: unknown; message: string };
    return { stdout: err.stdout ?? '', stderr: err.stderr ?? err.message, code: typeof err.code === 'number' ? err.code : 1 };
  }
}
const tsofOfctl = (...args: string[]) => exec(process.execPath, ['bin/tsof-ofctl.js', '-O', 'OpenFlow13', ...args]);
const ovsOfctl = (...args: string[]) => exec('ovs-ofctl', ['-O', 'OpenFlow13', ...args]);
const normalise = (s: string) => s.replace(/(duration[=:])[0-9.]+s/g, '$1Ds');

const name = `tsm${randomBytes(3).toString('hex')}`;
const sockets = ['mgmt', 'snoop', 'ctl'].map((k) => `/run/tsof/${name}.${k}`);
const mgmt = `unix:/run/tsof/${name}.mgmt`;
const dir = mkdtempSync(join(tmpdir(), 'tsof-mgmt-'));
let sw: Daemon;
let controllerPort = 0;

const switchArgs = (n: string, ...more: string[]) => ['bin/tsof-switch.js', '--dpid', '0xbeef', '--name', n, '--json', ...more];

beforeAll(async () => {
  await exec('bash', ['scripts/install-peers.sh', 'openvswitch-common']);
  controllerPort = await freePort();
  // A controller that is not there yet: the switch stays fail-open until it is.
  sw = new Daemon('tsof-switch', process.execPath, [...switchArgs(name, '--controller', `tcp:127.0.0.1:${controllerPort}`, '--max-backoff', '1000')]);
  await sw.waitLog('tsof-switch started');
}, 30_000);

afterAll(async () => {
  await sw?.stop();
  for (const s of sockets) if (!sw?.running) rmSync(s, { force: true });
  rmSync(dir, { recursive: true, force: true });
});

describe('tsof-switch --name', () => {
  it('serves tsof-ofctl by bridge name as ovs-ofctl is served by unix:NAME.mgmt, as service connections', async () => {
    for (const s of sockets) expect(existsSync(s)).toBe(true);
    for (const verb of ['show', 'dump-flows', 'dump-tables', 'dump-ports-desc']) {
      const tsof = await tsofOfctl(verb, name);
      const ovs = await ovsOfctl(verb, mgmt);
      expect(tsof.stderr).toBe(ovs.stderr);
      expect(tsof.code).toBe(0);
      expect(normalise(tsof.stdout)).toBe(normalise(ovs.stdout));
    }
    // Standalone with no controller: fail-open's NORMAL flow, kept while tools are connected.
    expect((await tsofOfctl('dump-flows', name, '--no-stats')).stdout).toMatch(/priority=0 actions=NORMAL/);
    expect(sw.logs('a controller is connected: fail-open ends')).toEqual([]);
  });

  it('refuses a second switch of the same name, also with another control socket', async () => {
    const r = await exec(process.execPath, switchArgs(name, '--ctl', join(dir, 'other.ctl')));
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain(`/run/tsof/${name}.mgmt: another tsof-switch is running there`);
    const same = await exec(process.execPath, switchArgs(name));
    expect(same.code).toBe(1);
    expect(same.stdout + same.stderr).toContain(`/run/tsof/${name}.ctl: another tsof-switch is running there`);
    // The first switch still answers.
    expect((await tsofOfctl('show', name)).code).toBe(0);
  });

  it('an unknown bridge name is an error, as in ovs-ofctl', async () => {
    const r = await tsofOfctl('show', `${name}x`);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`tsof-ofctl: ${name}x is not a bridge or a socket (no /run/tsof/${name}x.mgmt or /var/run/openvswitch/${name}x.mgmt)\n`);
  });

  it('snoop prints every message between the switch and its controller, as ovs-ofctl snoop does', async () => {
    const watch = (cmd: string, args: string[]) => {
      const p = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr!.on('data', (d) => (err += d));
      return { p, text: () => err };
    };
    const tsof = watch(process.execPath, ['bin/tsof-ofctl.js', '-O', 'OpenFlow13', 'snoop', name]);
    const ovs = watch('ovs-ofctl', ['-O', 'OpenFlow13', 'snoop', `unix:/run/tsof/${name}.snoop`]);
    let server: Server | undefined;
    let ch: Channel | undefined;
    try {
      await eventually(() => sw.logs('snooper connected').length >= 2, 'both snoopers connected');
      // The controller: asks the switch a few things, each answered, all copied.
      const opened = new Promise<Channel>((resolve) => {
        server = createServer((socket) => {
          const c = new Channel(socket, { echoInterval: 60_000, echoTimeout: 120_000, requestTimeout: 5000, maxPendingRequests: 8, name: 'test' }, pino({ level: 'silent' }));
          c.once('open', () => resolve(c));
        }).listen(controllerPort, '127.0.0.1');
      });
      ch = await opened;
      await ch.request({ type: 'features_request' });
      await ch.request({ type: 'get_config_request' });
      ch.send({ type: 'flow_mod', cookie: 5n, cookieMask: 0n, tableId: 0, command: 0, idleTimeout: 0, hardTimeout: 0, priority: 9, bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0, match: [], instructions: [] });
      await ch.request({ type: 'barrier_request' });
      await ch.request({ type: 'echo_request', data: new Uint8Array(0) });
      const messages = (t: string) => t.split(/(?=^OFP)/m).filter((b) => b.startsWith('OFP')).map((b) => b.replace(/\n\d{4}-\d\d-\d\dT.*$/s, '\n'));
      await eventually(() => messages(tsof.text()).some((m) => m.startsWith('OFPT_ECHO_REPLY')) && messages(ovs.text()).some((m) => m.startsWith('OFPT_ECHO_REPLY')), 'the echo reply snooped');
      await sleep(200);
      const seen = messages(tsof.text());
      expect(seen).toEqual(messages(ovs.text()));
      for (const t of ['OFPT_FEATURES_REQUEST', 'OFPT_FEATURES_REPLY', 'OFPT_GET_CONFIG_REPLY', 'OFPT_FLOW_MOD', 'OFPT_BARRIER_REPLY', 'OFPT_ECHO_REQUEST']) {
        expect(seen.some((m) => m.startsWith(t))).toBe(true);
      }
      // A controller is connected now: fail-open ended, and the tools still see the switch by name.
      expect((await tsofOfctl('dump-flows', name, '--no-stats')).stdout).toBe(' cookie=0x5, priority=9 actions=drop\n');
    } finally {
      tsof.p.kill('SIGTERM');
      ovs.p.kill('SIGTERM');
      ch?.close('done');
      server?.close();
    }
  }, 30_000);

  it('removes its sockets when it stops', async () => {
    await sw.stop();
    expect(sw.proc.exitCode).toBe(0);
    for (const s of sockets) expect(existsSync(s)).toBe(false);
  });
});
