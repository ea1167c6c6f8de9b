// tsof-ofctl against ovs-ofctl: every switch verb tsof-ofctl has, run by both
// tools against an Open vSwitch netdev bridge (listening on ptcp:) and against
// tsof-switch (bin/tsof-switch.js on a veth, listening on ptcp:), must print the
// same bytes, durations aside (they tick between the two runs). Switch errors
// too: a meter that does not exist prints the switch's OFPT_ERROR by name and the
// request it answers. Then `monitor TARGET 128`: both tools watch the OVS bridge
// while a port is added, and print the same OFPT_PORT_STATUS.
//
// Needs root and Open vSwitch (npm test installs it). Names are unique per run,
// the listeners take ephemeral ports, and clean-up removes only what this file
// created.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/daemon.ts';

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
async function sh(cmd: string, ...args: string[]): Promise<string> {
  const r = await exec(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Durations are the only values that change between two runs. */
const normalise = (s: string) => s.replace(/(duration[=:])[0-9.]+s/g, '$1Ds');

const VERBS: string[][] = [
  ['show'],
  ['dump-ports'],
  ['dump-ports', '1'],
  ['dump-ports', 'LOCAL'],
  ['dump-ports-desc'],
  ['dump-tables'],
  ['dump-group-features'],
  ['dump-group-stats'],
  ['dump-group-stats', 'group_id=7'],
  ['meter-stats'],
  ['meter-stats', 'meter=3'],
  ['meter-features'],
  ['get-frags'],
];

const id = randomBytes(3).toString('hex');
const br = `tofb${id}`;
const veth = `tofv${id}`;
const dir = mkdtempSync(join(tmpdir(), 'tsof-ofctl-verbs-'));
let ovsTarget = '';
let tsofTarget = '';
let child: ChildProcess | undefined;
let childLog = '';

beforeAll(async () => {
  await sh('bash', 'scripts/install-peers.sh', 'openvswitch-switch', 'openvswitch-common', 'iproute2');
  if ((await exec('ovs-vsctl', ['--timeout=2', 'show'])).code !== 0) {
    await sh('/usr/share/openvswitch/scripts/ovs-ctl', 'start', '--system-id=random');
  }
  const ovsPort = await freePort();
  ovsTarget = `tcp:127.0.0.1:${ovsPort}`;
  await sh('ovs-vsctl', '--timeout=5', 'add-br', br,
    '--', 'set', 'bridge', br, 'datapath_type=netdev', 'fail-mode=secure', 'protocols=OpenFlow13',
    '--', 'set-controller', br, `ptcp:${ovsPort}:127.0.0.1`,
    '--', 'add-port', br, `${br}p1`, '--', 'set', 'interface', `${br}p1`, 'type=internal', 'ofport_request=1');

  await sh('ip', 'link', 'add', veth, 'type', 'veth', 'peer', 'name', `${veth}f`);
  for (const end of [veth, `${veth}f`]) {
    await sh('sysctl', '-qw', `net.ipv6.conf.${end}.disable_ipv6=1`);
    await sh('ip', 'link', 'set', end, 'up');
  }
  const tsofPort = await freePort();
  tsofTarget = `tcp:127.0.0.1:${tsofPort}`;
  child = spawn(
    process.execPath,
    ['bin/tsof-switch.js', '--dpid', `0x${id}`, '--port', `${veth}=1`, '--listen', `ptcp:${tsofPort}:127.0.0.1`,
      '--fail-mode', 'secure', '--ctl', join(dir, 'switch.ctl')],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d) => (childLog += d));
  child.stderr!.on('data', (d) => (childLog += d));
  for (const end = Date.now() + 20_000; ; await new Promise((r) => setTimeout(r, 100))) {
    const ready = await exec('ovs-ofctl', ['-O', 'OpenFlow13', 'show', tsofTarget]);
    const bridge = await exec('ovs-ofctl', ['-O', 'OpenFlow13', 'show', ovsTarget]);
    if (ready.code === 0 && bridge.code === 0) break;
    if (Date.now() > end || child.exitCode !== null) throw new Error(`a switch did not answer:\n${childLog}\n${bridge.stderr}`);
  }
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  await exec('ovs-vsctl', ['--timeout=5', '--if-exists', 'del-br', br]);
  await exec('ip', ['link', 'del', veth]);
  rmSync(dir, { recursive: true, force: true });
});

describe.each([
  ['Open vSwitch', () => ovsTarget],
  ['tsof-switch', () => tsofTarget],
])('tsof-ofctl prints what ovs-ofctl prints, against %s', (_name, target) => {
  it.each(VERBS.map((v) => [v.join(' '), v] as const))('%s', async (_label, [verb, ...args]) => {
    const ovs = await exec('ovs-ofctl', ['-O', 'OpenFlow13', verb, target(), ...args]);
    const tsof = await exec(process.execPath, ['bin/tsof-ofctl.js', '-O', 'OpenFlow13', verb, target(), ...args]);
    expect(tsof.stderr).toBe(ovs.stderr);
    expect(tsof.code).toBe(ovs.code);
    expect(normalise(tsof.stdout)).toBe(normalise(ovs.stdout));
    expect(tsof.stdout).not.toBe('');
  });
});

describe('tsof-ofctl monitor', () => {
  it('prints the port status Open vSwitch sends when a port is added, as ovs-ofctl monitor does', async () => {
    const watch = (cmd: string, args: string[]) => {
      const p = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr!.on('data', (d) => (err += d));
      return { p, text: () => err };
    };
    const ovs = watch('ovs-ofctl', ['-O', 'OpenFlow13', 'monitor', ovsTarget, '128']);
    const tsof = watch(process.execPath, ['bin/tsof-ofctl.js', '-O', 'OpenFlow13', 'monitor', ovsTarget, '128']);
    try {
      // Both connected and their miss_send_len set: a service connection gets asynchronous messages only then.
      await new Promise((r) => setTimeout(r, 2500));
      await sh('ovs-vsctl', '--timeout=5', 'add-port', br, `${br}p2`, '--', 'set', 'interface', `${br}p2`, 'type=internal', 'ofport_request=2');
      const status = (t: string) => t.split(/(?=^OFPT_)/m).filter((b) => b.startsWith('OFPT_PORT_STATUS')).map((b) => b.replace(/ \(xid=0x[0-9a-f]+\)/, ''));
      for (const end = Date.now() + 10_000; status(tsof.text()).length === 0 || status(ovs.text()).length < status(tsof.text()).length; ) {
        if (Date.now() > end) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(status(tsof.text()).length).toBeGreaterThan(0);
      expect(status(tsof.text())).toEqual(status(ovs.text()));
    } finally {
      ovs.p.kill('SIGTERM');
      tsof.p.kill('SIGTERM');
    }
  }, 30_000);
});
