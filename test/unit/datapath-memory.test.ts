// The native datapath through memory ports, no root needed: forwarding by
// in_port flows byte for byte, packet-ins in batches, packet-out, counters,
// port add/remove and the errors the interface promises. (The OpenFlow
// pipeline's own behaviour end to end: datapath-pipeline.test.ts.)

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OFPP } from '../../src/openflow/codec/index.ts';
import { TestDatapath } from '../../src/datapath/testing.ts';
import { addFlow, apply, numberOf, numbered, output, patch, takeN, toController, until, upcalls } from '../support/datapath.ts';

let dp: TestDatapath;
beforeEach(() => {
  dp = new TestDatapath();
  for (const port of [1, 2, 3]) dp.addPort({ kind: 'memory', port });
});
afterEach(() => dp.close());

describe('forwarding by flows', () => {
  it('sends what port 1 receives out of port 2, unchanged and in order, and counts it', async () => {
    patch(dp, 1, 2);
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

  it('drops and counts as a table miss what no flow matches, also once its flow is removed', async () => {
    dp.inject(1, numbered(1));
    await until(() => dp.stats().tableMisses === 1n, 'table miss');
    patch(dp, 1, 2);
    patch(dp, 1, null);
    dp.inject(1, numbered(2));
    await until(() => dp.stats().tableMisses === 2n, 'table miss after the delete');
    expect(dp.take(2)).toEqual([]);
  });

  it('applies a replaced flow to every packet injected after the call returns, and before it to a prefix', async () => {
    patch(dp, 1, 2);
    for (let i = 0; i < 50; i++) dp.inject(1, numbered(i));
    patch(dp, 1, 3);
    for (let i = 50; i < 100; i++) dp.inject(1, numbered(i));
    // Frames still queued when the flow changed may see the new one: the change is atomic per frame, in order.
    const out: [number, number][] = [];
    await until(() => (out.push(...[2, 3].flatMap((p) => dp.take(p).map((f): [number, number] => [p, numberOf(f.data)]))), out.length >= 100), '100 frames');
    const to2 = out.filter(([p]) => p === 2).map(([, n]) => n);
    const to3 = out.filter(([p]) => p === 3).map(([, n]) => n);
    expect(to2.length).toBeLessThanOrEqual(50);
    expect(to2).toEqual([...Array(to2.length).keys()]);
    expect(to3).toEqual([...Array(100 - to2.length).keys()].map((i) => i + to2.length));
  });

  it('forwards both ways at once', async () => {
    patch(dp, 1, 2);
    patch(dp, 2, 1);
    dp.inject(1, numbered(1));
    dp.inject(2, numbered(2));
    expect(numberOf((await takeN(dp, 2, 1))[0].data)).toBe(1);
    expect(numberOf((await takeN(dp, 1, 1))[0].data)).toBe(2);
  });
});

describe('upcalls', () => {
  it('delivers 2000 packet-ins in batches, in order, with their input port', async () => {
    const batches = upcalls(dp);
    // Each frame goes to the controller twice: the two packet-ins of one datapath turn share a batch whatever the
    // timing, so the batching shows even when the datapath thread takes each frame as soon as it is injected.
    addFlow(dp, [{ field: 'in_port', value: 3 }], apply(output(OFPP.CONTROLLER), output(OFPP.CONTROLLER)));
    for (let i = 0; i < 1000; i++) expect(dp.inject(3, numbered(i))).toBe(true);
    await until(() => batches.flat().length === 2000, '2000 upcalls');
    const all = batches.flat();
    expect(all.map((p) => numberOf(p.data))).toEqual([...Array(2000).keys()].map((i) => i >> 1));
    expect(all.every((p) => p.inPort === 3 && p.data.length === 64 && p.totalLen === 64)).toBe(true);
    expect(all[0]).toMatchObject({ reason: 1, tableId: 0, cookie: 0n, inPhyPort: 3, metadata: 0n, tunnelId: 0n });
    // Batched: fewer batches than packet-ins, none above the C limit (TSOF_UPCALL_MAX).
    const sizes = batches.map((b) => b.length);
    expect(sizes.length).toBeLessThanOrEqual(1000);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(256);
    expect(dp.stats()).toMatchObject({
      upcallPackets: 2000n,
      upcallBatches: BigInt(batches.length),
      upcallDropped: 0n,
      packets: 1000n,
      packetIns: 2000n,
    });
  });

  it('stops when the flow is removed, and a flow to a port replaces it', async () => {
    const batches = upcalls(dp);
    toController(dp, 1);
    dp.inject(1, numbered(1));
    await until(() => batches.length === 1, 'first upcall');
    patch(dp, 1, null);
    dp.inject(1, numbered(2));
    await until(() => dp.stats().tableMisses === 1n, 'dropped once removed');
    toController(dp, 1);
    patch(dp, 1, 2);
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
    expect(dp.ports()[0]).toMatchObject({ port: 1, kind: 'memory', name: 'mem1', hwAddr: '02:7e:00:00:00:01', speedMbps: 0, ifindex: 0, vnet: false, config: 0 });
    expect(dp.port(2)?.name).toBe('mem2');
    expect(dp.port(9)).toBeUndefined();
    expect(dp.linkState(1)).toEqual({ adminUp: true, carrier: true, gone: false, live: true });
  });

  it('refuses a port number twice, and numbers outside 1..OFPP_MAX', () => {
    expect(() => dp.addPort({ kind: 'memory', port: 1 })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => dp.addPort({ kind: 'memory', port: 0 })).toThrow(RangeError);
    expect(() => dp.addPort({ kind: 'memory', port: 0xffffff01 })).toThrow(RangeError);
  });

  it('removes a port: flows to it drop until it is back', async () => {
    patch(dp, 1, 2);
    dp.removePort(2);
    expect(dp.ports().map((p) => p.port)).toEqual([1, 3]);
    dp.inject(1, numbered(1));
    await until(() => dp.stats().dropped === 1n, 'dropped after removal');
    expect(() => dp.take(2)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => dp.removePort(2)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    dp.addPort({ kind: 'memory', port: 2 });
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
    const other = new TestDatapath();
    other.addPort({ kind: 'memory', port: 1 });
    other.close();
    other.close();
    expect(() => other.inject(1, numbered(1))).toThrow(expect.objectContaining({ code: 'ERR_DATAPATH_CLOSED' }));
    expect(() => other.stats()).toThrow(expect.objectContaining({ code: 'ERR_DATAPATH_CLOSED' }));
  });

  it('runs several datapaths side by side', async () => {
    const other = new TestDatapath();
    try {
      other.addPort({ kind: 'memory', port: 1 });
      other.addPort({ kind: 'memory', port: 2 });
      patch(other, 1, 2);
      patch(dp, 1, 3);
      other.inject(1, numbered(1));
      dp.inject(1, numbered(2));
      expect(numberOf((await takeN(other, 2, 1))[0].data)).toBe(1);
      expect(numberOf((await takeN(dp, 3, 1))[0].data)).toBe(2);
    } finally {
      other.close();
    }
  });
});
