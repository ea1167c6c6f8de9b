// tsof-ofctl against ovs-ofctl: every switch verb tsof-ofctl has, run by both
// tools against an Open vSwitch netdev bridge (listening on ptcp:) and against
// tsof-switch (bin/tsof-switch.js on a veth, listening on ptcp:), must print the
// same bytes, durations aside (they tick between the two runs). Switch errors
// too: a meter that does not exist prints the switch's OFPT_ERROR by name and the
// request it answers. Then `monitor TARGET 128`: both tools watch the OVS bridge
// while a port is added and frames are sent to the controller, and print the same
// OFPT_PORT_STATUS and OFPT_PACKET_INs (each frame's summary, and with -m its bytes).
//
// Then the flow, group and meter verbs: before each tool's run the switch is
// reset to the same flows, groups and meters (with ovs-ofctl), so a change verb
// is compared by what it prints and by what it leaves behind. Syntax errors are
// tsof's own (token, position, reason) and only their exit status is compared.
// Last, the proof: the generated flows of test/support/flows-gen.ts go
// into Open vSwitch with ovs-ofctl and into tsof-switch with tsof-ofctl, and
// tsof-ofctl's dump-flows of tsof-switch reads as ovs-ofctl's of Open vSwitch.
//
// Needs root and Open vSwitch (npm test installs it). Names are unique per run,
// the listeners take ephemeral ports, and clean-up removes only what this file
// created.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, exec as run, freePort } from '../support/daemon.ts';
import { generateFlows, GROUPS, METERS } from '../support/flows-gen.ts';

const ROOT = join(import.meta.dirname, '../..');

const exec = (cmd: string, args: string[], input?: string) => run(ROOT, cmd, args, input);
async function sh(cmd: string, ...args: string[]): Promise<string> {
  const r = await exec(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Durations are the only values that change between two runs. */
const normalise = (s: string) => s.replace(/(duration[=:])[0-9.]+s/g, '$1Ds');
/** ovs-ofctl logs to stderr as it decodes some actions (`...|ofp_actions|INFO|OFPAT_SET_MPLS_TTL is deprecated...`): not output. */
const unlogged = (s: string) => s.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z\|\d+\|\w+\|INFO\|.*\n/gm, '');

const VERBS: string[][] = [
  ['show'],
  ['dump-ports'],
  ['dump-ports', '1'],
  ['dump-ports', 'LOCAL'],
  ['dump-ports-desc'],
  ['dump-tables'],
  ['dump-table-features'],
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
  it('prints the port status and packet-ins Open vSwitch sends, as ovs-ofctl monitor does, and with -m', async () => {
    const watch = (cmd: string, args: string[]) => {
      const p = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr!.on('data', (d) => (err += d));
      return { p, text: () => err };
    };
    // ovs-ofctl asks Open vSwitch for its own NXT_PACKET_IN2 unless told the standard format; tsof-ofctl takes the standard one.
    const pairs = [[], ['-m']].map((more) => ({
      ovs: watch('ovs-ofctl', ['-O', 'OpenFlow13', '-P', 'standard', ...more, 'monitor', ovsTarget, '128']),
      tsof: watch(process.execPath, ['bin/tsof-ofctl.js', '-O', 'OpenFlow13', ...more, 'monitor', ovsTarget, '128']),
    }));
    const texts = (t: string, title: string) => t.split(/(?=^OFPT_)/m).filter((b) => b.startsWith(title)).map((b) => b.replace(/ \(xid=0x[0-9a-f]+\)/, ''));
    const seen = async (title: string, n: number) => {
      for (const end = Date.now() + 10_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
        if (pairs.every(({ ovs, tsof }) => texts(ovs.text(), title).length >= n && texts(tsof.text(), title).length >= n)) return;
      }
    };
    try {
      // All connected and their miss_send_len set: a service connection gets asynchronous messages only then.
      const port = ovsTarget.split(':')[2];
      await eventually(async () => (await sh('ss', '-Htn', 'state', 'established', `( sport = :${port} )`)).trim().split('\n').length >= 4, 'the monitors connected');
      await new Promise((r) => setTimeout(r, 1000));
      await sh('ovs-vsctl', '--timeout=5', 'add-port', br, `${br}p2`, '--', 'set', 'interface', `${br}p2`, 'type=internal', 'ofport_request=2');
      // Frames sent to the controller come to every monitor as packet-ins, summarised (and with -m dumped).
      const frames = [FRAME, `${FRAME.slice(0, 28)}8100a00508060001080006040001${'02'.repeat(6)}0a000001${'00'.repeat(6)}0a000002`];
      for (const f of frames) await sh('ovs-ofctl', '-O', 'OpenFlow13', 'packet-out', ovsTarget, `in_port=CONTROLLER packet=${f} actions=controller`);
      await seen('OFPT_PORT_STATUS', 1);
      await seen('OFPT_PACKET_IN', frames.length);
      for (const { ovs, tsof } of pairs) {
        for (const title of ['OFPT_PORT_STATUS', 'OFPT_PACKET_IN']) {
          expect(texts(tsof.text(), title).length, title).toBeGreaterThan(0);
          expect(texts(tsof.text(), title)).toEqual(texts(ovs.text(), title));
        }
      }
      // FRAME is an IPv4 header saying UDP and nothing after it: ports 0, no checksum.
      expect(texts(pairs[0].tsof.text(), 'OFPT_PACKET_IN')[0]).toMatch(/\nudp,vlan_tci=0x0000,dl_src=00:00:00:00:00:01,.*,tp_src=0,tp_dst=0\n$/);
      expect(texts(pairs[1].tsof.text(), 'OFPT_PACKET_IN')[0]).toMatch(/tp_dst=0\n00000000  ff ff ff ff ff ff 00 00-00 00 00 01 08 00 45 00\n/);
    } finally {
      for (const { ovs, tsof } of pairs) {
        ovs.p.kill('SIGTERM');
        tsof.p.kill('SIGTERM');
      }
    }
  }, 30_000);
});

// ---- the flow, group and meter verbs ------------------------------------------------------

const FRAME = 'ffffffffffff0000000000010800' + '45000014000100004011f97f0a0000010a000002';
const BASE_FLOWS = [
  'priority=5,ip actions=output:1',
  'priority=6,tcp,tp_dst=80 actions=group:1',
  'table=1,priority=7,cookie=0x10,udp actions=meter:1,output:1',
  'table=1,priority=8,arp actions=drop',
];
const FLOWS_FILE = [
  '# a comment, then a blank line',
  '',
  'priority=9,ip,nw_dst=10.0.0.0/8 actions=dec_ttl,output:1',
  'add table=2,priority=3 actions=goto_table:3',
  'delete_strict priority=5,ip',
  'modify tcp actions=output:1',
].join('\n');
const REPLACE_FILE = ['priority=5,ip actions=output:2', 'table=1,priority=8,arp actions=drop', 'table=3,priority=1,cookie=0x5 actions=drop'].join('\n');
const GROUPS_FILE = ['group_id=7,type=all,bucket=output:1', 'modify group_id=1,type=all,bucket=output:1,bucket=output:1', 'delete group_id=2'].join('\n');

/** Each verb with its arguments (FILE: a file of the contents given, '-' with them on stdin). */
const CHANGES: { args: string[]; file?: string; stdin?: string }[] = [
  { args: ['add-flow', 'T', 'priority=10,ip,nw_src=10.0.0.1 actions=mod_nw_dst:10.0.0.9,output:1'] },
  { args: ['add-flow', 'T', 'priority=5,ip actions=group:99'] },
  { args: ['add-flow', 'T', 'table=1,priority=5 actions=meter:77,output:1'] },
  { args: ['add-flow', 'T', '-'], stdin: 'priority=11,arp actions=output:1\npriority=12,udp actions=drop\n' },
  { args: ['add-flows', 'T', 'FILE'], file: FLOWS_FILE },
  { args: ['add-flows', 'T', '-'], stdin: FLOWS_FILE },
  { args: ['mod-flows', 'T', 'ip actions=output:2'] },
  { args: ['--strict', 'mod-flows', 'T', 'priority=5,ip actions=output:2'] },
  { args: ['del-flows', 'T', 'ip'] },
  { args: ['--strict', 'del-flows', 'T', 'table=1,priority=8,arp'] },
  { args: ['del-flows', 'T', 'table=1'] },
  { args: ['del-flows', 'T'] },
  { args: ['replace-flows', 'T', 'FILE'], file: REPLACE_FILE },
  { args: ['add-group', 'T', 'group_id=3,type=select,bucket=weight:5,output:1,bucket=weight:6,output:1'] },
  { args: ['add-group', 'T', 'group_id=1,type=all,bucket=output:1'] },
  { args: ['add-groups', 'T', 'FILE'], file: GROUPS_FILE },
  { args: ['mod-group', 'T', 'group_id=2,type=all,bucket=output:1'] },
  { args: ['mod-group', 'T', 'group_id=55,type=all,bucket=output:1'] },
  { args: ['del-groups', 'T', 'group_id=2'] },
  { args: ['del-groups', 'T'] },
  { args: ['add-meter', 'T', 'meter=3,pktps,burst,band=type=drop,rate=10,burst_size=5'] },
  { args: ['add-meter', 'T', 'meter=1,kbps,band=type=drop,rate=5'] },
  { args: ['mod-meter', 'T', 'meter=1,kbps,stats,band=type=drop,rate=7'] },
  { args: ['mod-meter', 'T', 'meter=66,kbps,band=type=drop,rate=7'] },
  { args: ['del-meters', 'T', 'meter=1'] },
  { args: ['del-meter', 'T', 'meter=1'] },
  { args: ['del-meters', 'T'] },
  { args: ['packet-out', 'T', `in_port=CONTROLLER packet=${FRAME} actions=output:1`] },
  // The error carries the packet-out back, its frame summarised.
  { args: ['packet-out', 'T', `in_port=1 packet=${FRAME} actions=group:99`] },
  { args: ['packet-out', 'T', 'CONTROLLER', 'output:1', FRAME, FRAME] },
];
const DUMPS: string[][] = [
  ['dump-flows', 'T'],
  ['dump-flows', 'T', 'table=1'],
  ['dump-flows', 'T', 'tcp,tp_dst=80'],
  ['--no-stats', 'dump-flows', 'T'],
  ['--rsort', 'dump-flows', 'T'],
  ['dump-aggregate', 'T'],
  ['dump-aggregate', 'T', 'ip'],
  ['dump-groups', 'T'],
  ['dump-groups', 'T', '1'],
  ['dump-meters', 'T'],
  ['dump-meters', 'T', 'meter=1'],
  ['queue-stats', 'T'],
  ['diff-flows', 'T', 'FILE'],
];
const SYNTAX_ERRORS: string[][] = [
  ['add-flow', 'T', 'nw_srcc=1 actions=drop'],
  ['add-flow', 'T', 'ip,nw_src=1.2.3.4/33 actions=drop'],
  ['mod-flows', 'T', 'ip'],
  ['add-group', 'T', 'group_id=1,type=sideways,bucket=output:1'],
  ['add-meter', 'T', 'meter=1,band=type=drop,rate=1'],
  ['packet-out', 'T', `in_port=1 packet=${FRAME} actions=output:nowhere`],
];

const ofctl = (tool: 'ovs' | 'tsof', args: string[], input?: string) =>
  tool === 'ovs'
    ? exec('ovs-ofctl', ['-O', 'OpenFlow13', ...args], input)
    : exec(process.execPath, ['bin/tsof-ofctl.js', '-O', 'OpenFlow13', ...args], input);

async function must(args: string[], input?: string): Promise<string> {
  const r = await ofctl('ovs', args, input);
  if (r.code !== 0) throw new Error(`ovs-ofctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The same flows, groups and meters, written with ovs-ofctl. */
async function reset(t: string): Promise<void> {
  await must(['del-flows', t]);
  await must(['del-groups', t]);
  await must(['del-meters', t]);
  await must(['add-groups', t, '-'], GROUPS.slice(0, 2).join('\n'));
  await must(['add-meter', t, METERS[0]]);
  await must(['add-flows', t, '-'], BASE_FLOWS.join('\n'));
}

/**
 * What a switch holds, as ovs-ofctl reads it: flows without their counters, and groups (a line each), in a fixed
 * order, since a switch lists them in its own (Open vSwitch's group order changes from one reset to the next).
 */
async function state(t: string): Promise<string> {
  const sorted = async (args: string[]) => (await must(args)).split('\n').sort().join('\n');
  return `${await sorted(['--no-stats', 'dump-flows', t])}\n${await sorted(['dump-groups', t])}\n${await must(['dump-meters', t])}`;
}

function argsFor(args: string[], t: string, name: string, file?: string): string[] {
  if (file !== undefined) writeFileSync(join(dir, name), file + '\n');
  return args.map((a) => (a === 'T' ? t : a === 'FILE' ? join(dir, name) : a));
}

describe.each([
  ['Open vSwitch', () => ovsTarget],
  ['tsof-switch', () => tsofTarget],
])('the flow, group and meter verbs print and do what ovs-ofctl does, against %s', (name, target) => {
  it.each(CHANGES.map((c) => [c.args.join(' ').replace(FRAME, 'FRAME'), c] as const))('%s', async (_label, c) => {
    const runs = [];
    for (const tool of ['ovs', 'tsof'] as const) {
      await reset(target());
      const r = await ofctl(tool, argsFor(c.args, target(), `${name}-${tool}`, c.file), c.stdin);
      runs.push({ ...r, stderr: unlogged(r.stderr), state: await state(target()) });
    }
    const [ovs, tsof] = runs;
    expect(tsof.stderr).toBe(ovs.stderr);
    expect(tsof.code).toBe(ovs.code);
    expect(tsof.stdout).toBe(ovs.stdout);
    expect(tsof.state).toBe(ovs.state);
  }, 30_000);

  it.each(DUMPS.map((d) => [d.join(' '), d] as const))('%s', async (_label, args) => {
    await reset(target());
    const file = ['priority=5,ip actions=output:1', 'table=1,priority=7,cookie=0x10,udp actions=meter:1,output:1'].join('\n');
    const ovs = await ofctl('ovs', argsFor(args, target(), `${name}-dump`, file));
    const tsof = await ofctl('tsof', argsFor(args, target(), `${name}-dump`, file));
    expect(tsof.stderr).toBe(unlogged(ovs.stderr));
    expect(tsof.code).toBe(ovs.code);
    expect(normalise(tsof.stdout)).toBe(normalise(ovs.stdout));
    if (args[0] !== 'queue-stats') expect(tsof.stdout).not.toBe('');
  }, 30_000);

  it.each(SYNTAX_ERRORS.map((e) => [e.join(' ').replace(FRAME, 'FRAME'), e] as const))('refuses %s, naming the token and its position', async (_label, args) => {
    const ovs = await ofctl('ovs', argsFor(args, target(), 'x'));
    const tsof = await ofctl('tsof', argsFor(args, target(), 'x'));
    expect(ovs.code).toBe(1);
    expect(tsof.code).toBe(1);
    expect(tsof.stdout).toBe('');
    expect(tsof.stderr).toMatch(/^tsof-ofctl: .* "[^"]*" at \d+/);
  }, 30_000);
});

describe('the generated flows, loaded by each tool into its switch', () => {
  it('give the dump-flows text ovs-ofctl prints for Open vSwitch, and each tool prints the same for each switch', async () => {
    const files = { flows: generateFlows(11, 300).join('\n'), groups: GROUPS.join('\n') };
    for (const [tool, t] of [['ovs', ovsTarget], ['tsof', tsofTarget]] as const) {
      await must(['del-flows', t]);
      await must(['del-groups', t]);
      await must(['del-meters', t]);
      for (const m of METERS) expect((await ofctl(tool, ['add-meter', t, m])).code).toBe(0);
      writeFileSync(join(dir, `groups-${tool}`), files.groups);
      writeFileSync(join(dir, `flows-${tool}`), files.flows);
      expect((await ofctl(tool, ['add-groups', t, join(dir, `groups-${tool}`)])).stderr).toBe('');
      const r = await ofctl(tool, ['add-flows', t, join(dir, `flows-${tool}`)]);
      expect(unlogged(r.stderr)).toBe('');
      expect(r.code).toBe(0);
    }
    const ovsDump = await ofctl('ovs', ['dump-flows', ovsTarget]);
    const tsofDump = await ofctl('tsof', ['dump-flows', tsofTarget]);
    // The switches list flows in orders of their own, and count and time them apart.
    const flows = (text: string) =>
      text.split('\n').filter((l) => l.startsWith(' ')).map((l) => l.replace(/ duration=[^,]*,| n_packets=[^,]*,| n_bytes=[^,]*,/g, '')).sort();
    expect(flows(tsofDump.stdout)).toHaveLength(300);
    expect(flows(tsofDump.stdout)).toEqual(flows(ovsDump.stdout));
    for (const t of [ovsTarget, tsofTarget]) {
      const ovs = await ofctl('ovs', ['dump-flows', t]);
      const tsof = await ofctl('tsof', ['dump-flows', t]);
      expect(normalise(tsof.stdout)).toBe(normalise(ovs.stdout));
      expect(tsof.stderr).toBe(unlogged(ovs.stderr));
      const ovsPlain = await ofctl('ovs', ['--no-stats', 'dump-flows', t]);
      expect((await ofctl('tsof', ['--no-stats', 'dump-flows', t])).stdout).toBe(ovsPlain.stdout);
    }
    for (const t of [ovsTarget, tsofTarget]) {
      await must(['del-flows', t]);
      await must(['del-groups', t]);
      await must(['del-meters', t]);
    }
  }, 120_000);
});
