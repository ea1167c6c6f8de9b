// AF_PACKET ports on real interfaces: two network namespaces, each joined by a
// veth pair to the datapath in this process, whose flows send port 1 to port 2
// and back. A raw-socket peer (datapath_raw.py, the kernel's own API with the
// tags PACKET_AUXDATA reports) sends from ns1 and receives in ns2; frames must
// arrive byte for byte, VLAN tags included. iperf3 runs TCP through the ports
// with the veths' offloads left on (TSO, checksum offload: GSO frames and
// partial checksums). Link changes must come up as port status and decide a
// fast-failover group's bucket, and 1000 frames sent up to JavaScript must
// arrive in batches.
//
// Needs root, iproute2, iperf3 and /usr/bin/python3. Names are unique per run
// (tsofdp-<hex>-...); clean-up deletes the namespaces and links made here.

import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPacket, type VlanTag } from '../../src/controller/packet/index.ts';
import { NativeDatapath, type LinkState } from '../../src/datapath/index.ts';
import { encodeMessage, OFPP } from '../../src/openflow/codec/index.ts';
import { H1, H2, NO_BUFFER, numberOf, numbered, output, patch, toController, until, upcalls } from '../support/datapath.ts';

const run = promisify(execFile);
const sh = async (...args: string[]) => (await run(args[0], args.slice(1), { encoding: 'utf8' })).stdout;
const RAW = fileURLToPath(new URL('./datapath_raw.py', import.meta.url));
const PY = '/usr/bin/python3';
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('AF_PACKET ports between two network namespaces', () => {
  const id = randomBytes(2).toString('hex');
  const ns = (n: number) => `tsofdp-${id}-n${n}`;
  const sw = (n: number) => `tsofdp-${id}-s${n}`;
  const ip = (n: number) => `198.18.0.${n}`; // RFC 2544 benchmarking range, inside the namespaces only
  const inNs = (n: number, ...cmd: string[]) => sh('ip', 'netns', 'exec', ns(n), ...cmd);
  let dp: NativeDatapath;
  const status: [number, LinkState][] = [];

  beforeAll(async () => {
    for (const n of [1, 2]) {
      await sh('ip', 'netns', 'add', ns(n));
      await sh('ip', 'link', 'add', sw(n), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(n));
      await sh('sysctl', '-qw', `net.ipv6.conf.${sw(n)}.disable_ipv6=1`);
      await sh('ip', 'link', 'set', sw(n), 'up');
      await inNs(n, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
      await inNs(n, 'ip', 'addr', 'add', `${ip(n)}/24`, 'dev', 'eth0');
      await inNs(n, 'ip', 'link', 'set', 'eth0', 'up');
      await inNs(n, 'ip', 'link', 'set', 'lo', 'up');
    }
    dp = new NativeDatapath();
    dp.on('port_status', (port, state) => status.push([port, state]));
    for (const n of [1, 2]) dp.addPort({ kind: 'afpacket', port: n, ifname: sw(n) });
    patch(dp, 1, 2);
    patch(dp, 2, 1);
  });

  afterAll(async () => {
    dp?.close();
    for (const n of [1, 2]) {
      await sh('ip', 'link', 'del', sw(n)).catch(() => undefined);
      await sh('ip', 'netns', 'del', ns(n)).catch(() => undefined);
    }
  });

  /** Sends frames from ns1 and returns what reached ns2 from H1, tags restored. */
  async function across(frames: Uint8Array[]): Promise<string[]> {
    const rx = spawn('ip', ['netns', 'exec', ns(2), PY, RAW, 'recv', 'eth0', H1, String(frames.length), '5']);
    const lines = createInterface({ input: rx.stdout });
    const got: string[] = [];
    const done = new Promise<void>((resolve) => rx.on('close', () => resolve()));
    await new Promise<void>((resolve) => lines.on('line', (l) => (l === 'ready' ? resolve() : got.push(l))));
    const tx = spawn('ip', ['netns', 'exec', ns(1), PY, RAW, 'send', 'eth0']);
    tx.stdin.end(frames.map(hex).join('\n') + '\n');
    await done;
    return got;
  }

  const tagged = (vlans: VlanTag[]) =>
    buildPacket({ eth: { dst: H2, src: H1, vlans }, ipv4: { src: ip(1), dst: ip(2) }, udp: { srcPort: 7, dstPort: 9 }, payload: new Uint8Array(40).fill(0xab) });

  it('forwards frames from ns1 to ns2 unchanged, putting back the VLAN tags the kernel strips', async () => {
    const frames = [
      numbered(1),
      tagged([{ tpid: 0x8100, pcp: 5, dei: 0, vid: 100 }]),
      tagged([{ tpid: 0x8100, pcp: 0, dei: 0, vid: 0 }]), // priority tag: VID 0 is still a tag
      tagged([{ tpid: 0x88a8, pcp: 3, dei: 1, vid: 200 }]), // 802.1ad S-tag: TPID kept
      tagged([{ tpid: 0x88a8, pcp: 1, dei: 0, vid: 300 }, { tpid: 0x8100, pcp: 2, dei: 0, vid: 301 }]), // QinQ
      numbered(2, 1514),
    ];
    const before = dp.portStats(1).rxPackets;
    expect(await across(frames)).toEqual(frames.map(hex));
    expect(dp.portStats(1).rxPackets - before).toBeGreaterThanOrEqual(BigInt(frames.length));
    expect(dp.portStats(2)).toMatchObject({ txErrors: 0n });
  });

  it('pads a frame under the 60-byte Ethernet minimum with zeros, as a NIC does on the wire', async () => {
    const short = numbered(3, 46);
    const padded = new Uint8Array(60);
    padded.set(short);
    const before = dp.portStats(2).txBytes;
    expect(await across([short])).toEqual([hex(padded)]);
    expect(dp.portStats(2).txBytes - before).toBe(60n);
  });

  it('carries TCP (iperf3) with the veth offloads on: GSO frames pass whole', async () => {
    const server = spawn('ip', ['netns', 'exec', ns(2), 'iperf3', '-s', '-1', '-B', ip(2)]);
    try {
      for (let i = 0; ; i++) {
        const listening = (await inNs(2, 'ss', '-ltnH', 'sport', '=', ':5201')).trim() !== '';
        if (listening) break;
        if (i > 100) throw new Error('iperf3 server did not start');
        await new Promise((r) => setTimeout(r, 20));
      }
      const before = dp.portStats(1);
      const report = JSON.parse(await inNs(1, 'iperf3', '-c', ip(2), '-t', '3', '-J'));
      const after = dp.portStats(1);
      const received = report.end.sum_received;
      expect(received.bytes).toBeGreaterThan(10_000_000);
      // Frames above the 1500-byte MTU on average: the kernel handed over GSO frames, and they went out whole.
      const avg = Number(after.rxBytes - before.rxBytes) / Number(after.rxPackets - before.rxPackets);
      expect(avg).toBeGreaterThan(1514);
      expect(dp.stats().offloadErrors).toBe(0n);
    } finally {
      server.kill();
    }
  });

  it('reports link changes as port status (administratively down, carrier lost, and back) and to fast-failover', async () => {
    const next = async (port: number, want: Partial<LinkState>) => {
      await until(() => status.some(([p, s]) => p === port && Object.entries(want).every(([k, v]) => s[k as keyof LinkState] === v)), `port ${port} ${JSON.stringify(want)}`);
      status.length = 0;
    };
    status.length = 0;
    await sh('ip', 'link', 'set', sw(1), 'down');
    await next(1, { adminUp: false, live: false });
    expect(dp.linkState(1)).toMatchObject({ adminUp: false, live: false });
    // The socket of a downed interface carries ENETDOWN until read: the datapath thread must not spin on it.
    const cpu = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 300));
    const used = process.cpuUsage(cpu);
    expect((used.user + used.system) / 1000).toBeLessThan(100);
    await sh('ip', 'link', 'set', sw(1), 'up');
    await next(1, { adminUp: true, carrier: true, live: true });
    // Liveness feeds fast-failover: group 1 sends out of port 2 while it is live, else (port 1 live) to the controller.
    const ff = encodeMessage({
      type: 'group_mod',
      xid: 1,
      command: 0,
      groupType: 3,
      groupId: 1,
      buckets: [
        { weight: 0, watchPort: 2, watchGroup: 0xffffffff, actions: [output(2)] },
        { weight: 0, watchPort: 1, watchGroup: 0xffffffff, actions: [output(OFPP.CONTROLLER)] },
      ],
    });
    expect(dp.groupMod(ff)).toBeNull();
    const batches = upcalls(dp);
    const viaGroup = (n: number) =>
      expect(dp.executePacketOut(encodeMessage({ type: 'packet_out', xid: 2, bufferId: NO_BUFFER, inPort: OFPP.CONTROLLER, actions: [{ type: 'group', groupId: 1 }], data: numbered(n) }))).toBeNull();
    await inNs(2, 'ip', 'link', 'set', 'eth0', 'down');
    await next(2, { adminUp: true, carrier: false, live: false });
    viaGroup(1);
    await until(() => batches.flat().some((p) => numberOf(p.data) === 1), 'the failover bucket');
    const tx = dp.portStats(2).txPackets;
    await inNs(2, 'ip', 'link', 'set', 'eth0', 'up');
    await next(2, { adminUp: true, carrier: true, live: true });
    viaGroup(2);
    await until(() => dp.portStats(2).txPackets > tx, 'out of port 2 again');
    expect(batches.flat().map((p) => numberOf(p.data))).toEqual([1]);
    expect(dp.linkState(2)).toEqual({ adminUp: true, carrier: true, gone: false, live: true });
  });

  it('sends 1000 frames up to JavaScript in batches', async () => {
    const batches = upcalls(dp);
    toController(dp, 1);
    try {
      const frames = Array.from({ length: 1000 }, (_, i) => numbered(i));
      const tx = spawn('ip', ['netns', 'exec', ns(1), PY, RAW, 'send', 'eth0']);
      tx.stdin.end(frames.map(hex).join('\n') + '\n');
      const ours = () => batches.map((b) => b.filter((p) => hex(p.data.subarray(6, 12)) === H1.replaceAll(':', ''))).filter((b) => b.length);
      await until(() => ours().flat().length >= 1000, '1000 upcalls', 10_000);
      const sizes = ours().map((b) => b.length);
      expect(ours().flat().map((p) => numberOf(p.data))).toEqual([...Array(1000).keys()]);
      expect(ours().flat().every((p) => p.inPort === 1)).toBe(true);
      expect(sizes.length).toBeLessThan(100); // the ring hands over a block of frames at a time
      expect(dp.stats().upcallDropped).toBe(0n);
    } finally {
      patch(dp, 1, 2);
    }
  });
});
