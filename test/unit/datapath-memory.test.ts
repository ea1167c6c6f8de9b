// The native datapath through memory ports, no root needed: patch forwarding
// byte for byte, upcalls in batches, packet-out, counters, port add/remove and
// the errors the interface promises.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NativeDatapath } from '../../src/datapath/index.ts';
import { numberOf, numbered, takeN, until, upcalls } from '../support/datapath.ts';

let dp: NativeDatapath;
beforeEach(() => {
  dp = new NativeDatapath();
  for (const port of [1, 2, 3]) dp.addPort({ kind: 'memory', port });
});
afterEach(() => dp.close());

describe('patch forwarding', () => {
  it('sends what port 1 receives out of port 2, unchanged and in order, and counts it', async () => {
    dp.setPatch(1, 2);
    const sent = Array.from({ length: 100 }, (_, i) => numbered(i, 60 + i));
    for (const f of sent) expect(dp.inject(1, f)).toBe(true);
    const out = await takeN(dp, 2, 100);
    expect(out.map((f) => f.data)).toEqual(sent);
    expect(out.every((f) => f.vnet === undefined)).toBe(true);
    const bytes = BigInt(sent.reduce((n, f) => n + f.length, 0));
    expect(dp.portStats(1)).toMatchObject({ rxPackets: 100n, rxBytes: bytes, txPackets: 0n });
    expect(dp.portStats(2)).toMatchObject({ rxPackets: 0n, txPackets: 100n, txBytes: bytes, txDropped: 0n });
    expect(dp.take(3)).toEqual([]);
  });

  it('drops and counts as unrouted what arrives on a port with no patch, or whose patch was removed', async () => {
    dp.inject(1, numbered(1));
    await until(() => dp.stats().unrouted === 1n, 'unrouted');
    dp.setPatch(1, 2);
    dp.setPatch(1, null);
    dp.inject(1, numbered(2));
    await until(() => dp.stats().unrouted === 2n, 'unrouted after unpatch');
    expect(dp.take(2)).toEqual([]);
  });

  it('applies a new patch to every packet injected after the call returns', async () => {
    dp.setPatch(1, 2);
    for (let i = 0; i < 50; i++) dp.inject(1, numbered(i));
    dp.setPatch(1, 3);
    for (let i = 50; i < 100; i++) dp.inject(1, numbered(i));
    const [to2, to3] = [await takeN(dp, 2, 50), await takeN(dp, 3, 50)];
    expect(to2.map((f) => numberOf(f.data))).toEqual([...Array(50).keys()]);
    expect(to3.map((f) => numberOf(f.data))).toEqual([...Array(50).keys()].map((i) => i + 50));
  });

  it('forwards both ways at once', async () => {
    dp.setPatch(1, 2);
    dp.setPatch(2, 1);
    dp.inject(1, numbered(1));
    dp.inject(2, numbered(2));
    expect(numberOf((await takeN(dp, 2, 1))[0].data)).toBe(1);
    expect(numberOf((await takeN(dp, 1, 1))[0].data)).toBe(2);
  });
});

describe('upcalls', () => {
  it('delivers 1000 packets in batches, in order, with their input port', async () => {
    const batches = upcalls(dp);
    dp.setUpcall(3, true);
    for (let i = 0; i < 1000; i++) expect(dp.inject(3, numbered(i))).toBe(true);
    await until(() => batches.flat().length === 1000, '1000 upcalls');
    const all = batches.flat();
    expect(all.map((p) => numberOf(p.data))).toEqual([...Array(1000).keys()]);
    expect(all.every((p) => p.inPort === 3 && p.data.length === 64)).toBe(true);
    // Batched: fewer batches than packets, none above the C limit (TSOF_UPCALL_MAX).
    const sizes = batches.map((b) => b.length);
    expect(sizes.length).toBeLessThan(1000);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(256);
    expect(dp.stats()).toMatchObject({ upcallPackets: 1000n, upcallBatches: BigInt(batches.length), upcallDropped: 0n });
  });

  it('stops when turned off, and a patch replaces upcalls', async () => {
    const batches = upcalls(dp);
    dp.setUpcall(1, true);
    dp.inject(1, numbered(1));
    await until(() => batches.length === 1, 'first upcall');
    dp.setUpcall(1, false);
    dp.inject(1, numbered(2));
    await until(() => dp.stats().unrouted === 1n, 'dropped once off');
    dp.setUpcall(1, true);
    dp.setPatch(1, 2);
    dp.inject(1, numbered(3));
    expect(numberOf((await takeN(dp, 2, 1))[0].data)).toBe(3);
    expect(batches.flat().map((p) => numberOf(p.data))).toEqual([1]);
  });
});

describe('packet-out', () => {
  it('sends frames from JavaScript out of a port', async () => {
    const frames = [numbered(7), numbered(8, 1500)];
    for (const f of frames) expect(dp.packetOut(2, f)).toBe(true);
    expect((await takeN(dp, 2, 2)).map((f) => f.data)).toEqual(frames);
    expect(dp.portStats(2)).toMatchObject({ txPackets: 2n, rxPackets: 0n });
  });

  it('refuses an unknown port', () => {
    expect(() => dp.packetOut(9, numbered(1))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});

describe('ports', () => {
  it('lists ports; a memory port is always live', () => {
    expect(dp.ports().map((p) => p.port)).toEqual([1, 2, 3]);
    expect(dp.ports()[0]).toEqual({ port: 1, kind: 'memory', ifindex: 0, vnet: false });
    expect(dp.linkState(1)).toEqual({ adminUp: true, carrier: true, gone: false, live: true });
  });

  it('refuses a port number twice, and numbers outside 1..OFPP_MAX', () => {
    expect(() => dp.addPort({ kind: 'memory', port: 1 })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => dp.addPort({ kind: 'memory', port: 0 })).toThrow(RangeError);
    expect(() => dp.addPort({ kind: 'memory', port: 0xffffff01 })).toThrow(RangeError);
    expect(() => dp.setPatch(1, 0xfffffffd)).toThrow(RangeError);
  });

  it('removes a port and every patch to it', async () => {
    dp.setPatch(1, 2);
    dp.removePort(2);
    expect(dp.ports().map((p) => p.port)).toEqual([1, 3]);
    dp.inject(1, numbered(1));
    await until(() => dp.stats().unrouted === 1n, 'unrouted after removal');
    expect(() => dp.take(2)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => dp.setPatch(1, 2)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => dp.removePort(2)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    dp.addPort({ kind: 'memory', port: 2 });
    dp.setPatch(1, 2);
    dp.inject(1, numbered(2));
    expect(numberOf((await takeN(dp, 2, 1))[0].data)).toBe(2);
  });

  it('names the step and the errno when an interface cannot be opened', () => {
    // ENODEV as root; EPERM where AF_PACKET sockets are not allowed.
    expect(() => dp.addPort({ kind: 'afpacket', port: 4, ifname: 'tsofdp-none0' })).toThrow(
      expect.objectContaining({ code: expect.stringMatching(/^(ENODEV|EPERM)$/), message: expect.stringContaining('tsofdp-none0') }),
    );
    expect(dp.ports()).toHaveLength(3);
  });

  it('does not inject into a port that is not a memory port, and checks frame arguments', () => {
    expect(() => dp.inject(9, numbered(1))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => dp.inject(1, 'frame' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => dp.inject(1, new Uint8Array(65536 + 65))).toThrow(RangeError);
  });
});

describe('lifecycle', () => {
  it('closes once; after that every call throws', () => {
    const other = new NativeDatapath();
    other.addPort({ kind: 'memory', port: 1 });
    other.close();
    other.close();
    expect(() => other.inject(1, numbered(1))).toThrow(expect.objectContaining({ code: 'ERR_DATAPATH_CLOSED' }));
    expect(() => other.stats()).toThrow(expect.objectContaining({ code: 'ERR_DATAPATH_CLOSED' }));
  });

  it('runs several datapaths side by side', async () => {
    const other = new NativeDatapath();
    try {
      other.addPort({ kind: 'memory', port: 1 });
      other.addPort({ kind: 'memory', port: 2 });
      other.setPatch(1, 2);
      dp.setPatch(1, 3);
      other.inject(1, numbered(1));
      dp.inject(1, numbered(2));
      expect(numberOf((await takeN(other, 2, 1))[0].data)).toBe(1);
      expect(numberOf((await takeN(dp, 3, 1))[0].data)).toBe(2);
    } finally {
      other.close();
    }
  });
});
