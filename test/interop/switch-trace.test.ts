// tsof-switch's trace verb (like ovs-appctl ofproto/trace): a real tsof-switch on two veths in
// network namespaces, flows, a group and a meter added with ovs-ofctl, then a frame traced over the
// control socket. The trace names each table, flow, instruction and action, the group's bucket and
// the output, and moves no counter: flows, tables, group, meter and ports read the same through
// ovs-ofctl before and after. A flow in ovs-ofctl's syntax traces the same way, through the frame the
// CLI composes from it (the switch is found by its bridge name, or its control socket): the trace
// shows that frame and its flow, and a flow hits the table entry its fields select. The same frame
// sent for real then does what the trace said, and counts.
// Needs root; names are unique per run and only they are removed.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeFlow } from '../../src/controller/packet/index.ts';

const run = promisify(execFile);
const sh = async (cmd: string, ...args: string[]) => (await run(cmd, args, { encoding: 'utf8' })).stdout;
const id = randomBytes(2).toString('hex');
const ns = (h: number) => `tstr${id}h${h}`;
const sw = (h: number) => `tstr${id}s${h}`;
const bridge = `tstr${id}`;
const ctl = `/run/tsof/${bridge}.ctl`;
const listen = 20000 + (parseInt(id, 16) % 20000);
const target = `tcp:127.0.0.1:${listen}`;
const ofctl = (...args: string[]) => sh('ovs-ofctl', '-O', 'OpenFlow13', args[0], target, ...args.slice(1));
const tsofSwitch = (...args: string[]) => sh('node', 'bin/tsof-switch.js', '--ctl', ctl, ...args);
const mac = (h: number) => sh('ip', 'netns', 'exec', ns(h), 'cat', '/sys/class/net/eth0/address').then((s) => s.trim());

function checksum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i] << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** An ICMP echo request from 10.77.0.1 to 10.77.0.2, TTL 64, as host 1 would send it to host 2. */
function echoFrame(src: string, dst: string): Uint8Array {
  const f = new Uint8Array(14 + 20 + 8 + 56);
  const v = new DataView(f.buffer);
  f.set(dst.split(':').map((x) => parseInt(x, 16)), 0);
  f.set(src.split(':').map((x) => parseInt(x, 16)), 6);
  v.setUint16(12, 0x0800);
  f.set([0x45, 0, 0, 84, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0, 10, 77, 0, 1, 10, 77, 0, 2], 14);
  v.setUint16(24, checksum(f.subarray(14, 34)));
  f.set([8, 0, 0, 0, 0, 7, 0, 1], 34);
  v.setUint16(36, checksum(f.subarray(34)));
  return f;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Every counter a trace must leave alone, as ovs-ofctl reads them (durations taken out). */
async function counters(): Promise<string> {
  const flows = await ofctl('dump-flows');
  const tables = await ofctl('dump-tables');
  const ports = await ofctl('dump-ports');
  const groups = await ofctl('dump-group-stats');
  const meters = await ofctl('meter-stats');
  return [flows, tables, ports, groups, meters].join('\n').replace(/duration[=:][\d.]+s,? ?/g, '').replace(/ xid=0x[0-9a-f]+/g, '');
}

let child: ChildProcess;

beforeAll(async () => {
  await sh('bash', 'scripts/install-peers.sh', 'iproute2', 'iputils-ping', 'openvswitch-common');
  for (const h of [1, 2]) {
    await sh('ip', 'netns', 'add', ns(h));
    await sh('ip', 'link', 'add', sw(h), 'type', 'veth', 'peer', 'name', `tstr${id}p${h}`);
    await sh('ip', 'link', 'set', `tstr${id}p${h}`, 'netns', ns(h));
    await sh('sysctl', '-qw', `net.ipv6.conf.${sw(h)}.disable_ipv6=1`);
    await sh('ip', 'link', 'set', sw(h), 'up');
    const inNs = (...a: string[]) => sh('ip', 'netns', 'exec', ns(h), ...a);
    await inNs('sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
    await inNs('ip', 'link', 'set', `tstr${id}p${h}`, 'name', 'eth0');
    await inNs('ip', 'addr', 'add', `10.77.0.${h}/24`, 'dev', 'eth0');
    await inNs('ip', 'link', 'set', 'eth0', 'up');
  }
  child = spawn(
    'node',
    ['bin/tsof-switch.js', '--dpid', `0x${id}`, '--name', bridge, '--port', `${sw(1)}=1`, '--port', `${sw(2)}=2`, '--fail-mode', 'secure', '--listen', `ptcp:${listen}:127.0.0.1`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  for (const end = Date.now() + 10_000; !log.includes('tsof-switch started'); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > end || child.exitCode !== null) throw new Error(`tsof-switch did not start:\n${log}`);
  }
  await ofctl('add-meter', 'meter=1,kbps,band=type=drop,rate=10000');
  await ofctl('add-group', 'group_id=5,type=all,bucket=output:2');
  await ofctl('add-flow', 'table=0,priority=100,in_port=1,actions=meter:1,goto_table:1');
  await ofctl('add-flow', 'table=1,priority=50,cookie=0x7,ip,nw_dst=10.77.0.2,actions=dec_ttl,group:5');
  await ofctl('add-flow', 'table=1,priority=60,cookie=0x9,tcp,nw_dst=10.77.0.2,tp_dst=80,actions=set_field:8080->tcp_dst,output:2');
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    const done = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await done;
  }
  for (const h of [1, 2]) {
    await sh('ip', 'link', 'del', sw(h)).catch(() => undefined);
    await sh('ip', 'netns', 'del', ns(h)).catch(() => undefined);
  }
});

describe('tsof-switch trace', () => {
  it('tells tables, flows, instructions, the group and the output, and moves no counter', async () => {
    const frame = echoFrame(await mac(1), await mac(2));
    const before = await counters();
    const text = await tsofSwitch('trace', '1', hex(frame));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^Flow: icmp,in_port=1,.*nw_src=10\.77\.0\.1,nw_dst=10\.77\.0\.2,.*icmp_type=8.* \(98 bytes\)$/);
    const body = lines.slice(2).join('\n');
    expect(body).toContain(
      [
        '0. priority=100,in_port=1, cookie=0x0',
        '    meter:1 -> within its rate',
        '    goto_table:1',
        '1. priority=50,ip,nw_dst=10.77.0.2, cookie=0x7',
        '    apply_actions:',
        '        dec_ttl',
        '        group:5',
        '            -> group 5 (all): 1 bucket',
        '                bucket 0:',
        '                    output:2',
        `                        -> output to port 2 (${sw(2)}): 98 bytes`,
      ].join('\n'),
    );
    // The frame as it leaves: TTL 63, its header checksum updated.
    const out = /^ +frame: ([0-9a-f]+)$/m.exec(text)?.[1];
    const expected = frame.slice();
    expected[22] = 63;
    expected.set([0, 0], 24);
    new DataView(expected.buffer).setUint16(24, checksum(expected.subarray(14, 34)));
    expect(out).toBe(hex(expected));
    expect(lines.at(-2)).toBe(`Outcome: output to port 2 (${sw(2)})`);
    // By interface name, the same.
    expect(await tsofSwitch('trace', sw(1), hex(frame))).toBe(text);
    // No flow, table, port, group or meter counter moved.
    expect(await counters()).toBe(before);
    expect(before).not.toMatch(/n_packets=[1-9]/);
  });

  it('says where a frame is dropped: a miss after goto_table, no flow at all', async () => {
    const frame = echoFrame(await mac(1), await mac(2));
    const arp = frame.slice(0, 42);
    new DataView(arp.buffer).setUint16(12, 0x0806);
    arp.set([0, 1, 8, 0, 6, 4, 0, 1], 14);
    const fromOne = await tsofSwitch('trace', '1', hex(arp));
    expect(fromOne).toMatch(/^Flow: arp,in_port=1,/);
    expect(fromOne).toContain('1. No match.\n    -> drop: no flow in table 1 matches, and it has no table-miss flow\n');
    expect(fromOne).toMatch(/\nOutcome: drop \(no flow in table 1 matches, and it has no table-miss flow\)\n$/);
    const fromTwo = await tsofSwitch('trace', '2', hex(frame));
    expect(fromTwo).toContain('\n0. No match.\n');
    expect(fromTwo).toMatch(/Outcome: drop/);
  });

  it('refuses a frame that is not hex, and a port it does not know', async () => {
    const bad = await run('node', ['bin/tsof-switch.js', '--ctl', ctl, 'trace', '1', 'zz'], { encoding: 'utf8' }).catch((e) => e);
    expect(bad).toMatchObject({ code: 1, stderr: expect.stringContaining('the frame must be hex digits') });
    const noPort = await run('node', ['bin/tsof-switch.js', '--ctl', ctl, 'trace', 'nosuch0', '00'], { encoding: 'utf8' }).catch((e) => e);
    expect(noPort).toMatchObject({ code: 1, stderr: expect.stringContaining('no port named "nosuch0"') });
    const usage = await run('node', ['bin/tsof-switch.js', '--ctl', ctl, 'trace', '1'], { encoding: 'utf8' }).catch((e) => e);
    expect(usage).toMatchObject({ code: 2, stderr: expect.stringContaining('trace needs IN_PORT') });
  });

  it('traces a flow given in flow syntax: the frame composed from it, its flow, the walk', async () => {
    const [src, dst] = [await mac(1), await mac(2)];
    const flow = `in_port=1,icmp,dl_src=${src},dl_dst=${dst},nw_src=10.77.0.1,nw_dst=10.77.0.2,icmp_type=8`;
    const composed = composeFlow(flow);
    if (!composed.ok) throw new Error(composed.error);
    const frame = composed.value.frame;
    const before = await counters();
    const text = await sh('node', 'bin/tsof-switch.js', '--name', bridge, 'trace', flow);
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      `Flow: icmp,in_port=1,dl_src=${src},dl_dst=${dst},nw_src=10.77.0.1,nw_dst=10.77.0.2,nw_tos=0,nw_ecn=0,icmp_type=8,icmp_code=0 (${frame.length} bytes)`,
    );
    expect(lines[1]).toBe(`Frame: ${hex(frame)}`);
    expect(lines.slice(3).join('\n')).toContain(
      [
        '0. priority=100,in_port=1, cookie=0x0',
        '    meter:1 -> within its rate',
        '    goto_table:1',
        '1. priority=50,ip,nw_dst=10.77.0.2, cookie=0x7',
        '    apply_actions:',
        '        dec_ttl',
        '        group:5',
        '            -> group 5 (all): 1 bucket',
        '                bucket 0:',
        '                    output:2',
        `                        -> output to port 2 (${sw(2)}): ${frame.length} bytes`,
      ].join('\n'),
    );
    // The composed echo request leaves with its TTL, 64, one less and its checksum updated.
    const out = frame.slice();
    out[22] = 63;
    out.set([0, 0], 24);
    new DataView(out.buffer).setUint16(24, checksum(out.subarray(14, 34)));
    expect(/^ +frame: ([0-9a-f]+)$/m.exec(text)?.[1]).toBe(hex(out));
    // The control socket's path finds the switch as its name does; nothing moved.
    expect(await tsofSwitch('trace', flow)).toBe(text);
    expect(await counters()).toBe(before);
  });

  it("hits the flow a flow's fields select: tp_dst=80 the rewrite to 8080, tp_dst=81 the IP flow", async () => {
    const tcp = (port: number) => `in_port=1,tcp,nw_src=10.77.0.1,nw_dst=10.77.0.2,tp_src=40000,tp_dst=${port}`;
    const web = await tsofSwitch('trace', tcp(80));
    expect(web).toMatch(/^Flow: tcp,in_port=1,.*nw_src=10\.77\.0\.1,nw_dst=10\.77\.0\.2,.*tp_src=40000,tp_dst=80 \(118 bytes\)\n/);
    expect(web).toContain('1. priority=60,tcp,nw_dst=10.77.0.2,tp_dst=80, cookie=0x9\n    apply_actions:\n        set_field:8080->tcp_dst\n');
    // The frame leaves as if composed with tp_dst=8080: the datapath's checksum update agrees with a full one.
    const rewritten = composeFlow(tcp(8080));
    expect(rewritten.ok && /^ +frame: ([0-9a-f]+)$/m.exec(web)?.[1]).toBe(rewritten.ok && hex(rewritten.value.frame));
    expect(web).toMatch(/\nOutcome: output to port 2 \(.*\)\n$/);
    const other = await tsofSwitch('trace', tcp(81));
    expect(other).toContain('1. priority=50,ip,nw_dst=10.77.0.2, cookie=0x7\n');
  });

  it('refuses a flow it cannot compose, naming the token or field and why', async () => {
    const trace = (...args: string[]) => run('node', ['bin/tsof-switch.js', '--name', bridge, 'trace', ...args], { encoding: 'utf8' }).catch((e) => e);
    expect(await trace('in_port=1,tcp,nw_srcc=10.77.0.1')).toMatchObject({
      code: 1,
      stderr: 'tsof-switch: trace: bad flow: unknown field "nw_srcc" at 14\n',
    });
    expect(await trace('in_port=1,tcp,nw_dst=10.77.0.0/16')).toMatchObject({ code: 1, stderr: expect.stringContaining('ipv4_dst (nw_dst) is masked') });
    expect(await trace('in_port=1,ip,metadata=0x1')).toMatchObject({ code: 1, stderr: expect.stringContaining('metadata is pipeline state') });
    expect(await trace('tcp,tp_dst=80')).toMatchObject({ code: 1, stderr: expect.stringContaining('the flow needs in_port=PORT') });
    expect(await trace('in_port=1', 'tcp')).toMatchObject({ code: 2, stderr: expect.stringContaining('quote the flow') });
  });

  it('the same frame sent for real does what the trace said, and counts', async () => {
    // Host 1 sends the echo request to host 2's address (its neighbour entry set by hand: ARP has no flow).
    await sh('ip', 'netns', 'exec', ns(1), 'ip', 'neigh', 'replace', '10.77.0.2', 'lladdr', await mac(2), 'dev', 'eth0');
    const txBefore = Number(/port {2}2: rx pkts=\d+, bytes=\d+, drop=\d+, errs=\d+, frame=\d+, over=\d+, crc=\d+\s+tx pkts=(\d+)/.exec(await ofctl('dump-ports', '2'))?.[1]);
    await sh('ip', 'netns', 'exec', ns(1), 'ping', '-c', '1', '-W', '1', '10.77.0.2').catch(() => undefined);
    const flows = await ofctl('dump-flows');
    expect(flows).toMatch(/table=1, n_packets=1, .*priority=50,ip,nw_dst=10\.77\.0\.2 actions=dec_ttl,group:5/);
    expect(await ofctl('dump-group-stats')).toMatch(/group_id=5,.*packet_count=1/);
    const txAfter = Number(/port {2}2: rx pkts=\d+, bytes=\d+, drop=\d+, errs=\d+, frame=\d+, over=\d+, crc=\d+\s+tx pkts=(\d+)/.exec(await ofctl('dump-ports', '2'))?.[1]);
    expect(txAfter).toBe(txBefore + 1);
  });
});
