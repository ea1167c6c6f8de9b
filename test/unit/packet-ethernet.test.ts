// The Ethernet parser of the controller's packet library: a hand-checked frame
// with two VLAN tags both ways, untagged frames, and the short inputs a
// datapath may hand up (a runt, a tag cut short), which must not throw.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { emitEthernet, ETHERTYPE, formatMac, parseEthernet } from '../../src/controller/packet/index.ts';
import { fromHex } from '../../src/openflow/codec/index.ts';

// dst ff:ff:ff:ff:ff:ff, src 02:00:00:00:00:01, S-tag pcp 5 vid 100, C-tag dei 1 vid 4095, ARP, 4 payload bytes
const QINQ_ARP = fromHex('ffffffffffff 020000000001 88a8 a064 8100 1fff 0806 00010800'.replace(/ /g, ''));

describe('parseEthernet', () => {
  it('reads addresses, both tags and the inner ethertype of a golden frame', () => {
    const eth = parseEthernet(QINQ_ARP)!;
    expect(eth).toMatchObject({
      dst: 'ff:ff:ff:ff:ff:ff',
      src: '02:00:00:00:00:01',
      ethertype: ETHERTYPE.ARP,
      vlans: [
        { tpid: ETHERTYPE.QINQ, pcp: 5, dei: 0, vid: 100 },
        { tpid: ETHERTYPE.VLAN, pcp: 0, dei: 1, vid: 4095 },
      ],
    });
    expect([...eth.payload]).toEqual([0, 1, 8, 0]);
    expect(emitEthernet(eth, eth.payload)).toEqual(QINQ_ARP);
  });

  it('gives undefined for a runt and stops at a tag cut short', () => {
    expect(parseEthernet(QINQ_ARP.subarray(0, 13))).toBeUndefined();
    const cut = parseEthernet(QINQ_ARP.subarray(0, 17))!;
    expect(cut.ethertype).toBe(ETHERTYPE.QINQ);
    expect(cut.vlans).toEqual([]);
  });

  it('round-trips any frame it emits', () => {
    const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => formatMac(b));
    const tag = fc.record({
      tpid: fc.constantFrom(ETHERTYPE.VLAN, ETHERTYPE.QINQ),
      pcp: fc.integer({ min: 0, max: 7 }),
      dei: fc.integer({ min: 0, max: 1 }),
      vid: fc.integer({ min: 0, max: 0xfff }),
    });
    const ethertype = fc.integer({ min: 0, max: 0xffff }).filter((t) => t !== ETHERTYPE.VLAN && t !== ETHERTYPE.QINQ);
    fc.assert(
      fc.property(mac, mac, ethertype, fc.array(tag, { maxLength: 3 }), fc.uint8Array({ maxLength: 64 }), (dst, src, et, vlans, data) => {
        const eth = { dst, src, ethertype: et, vlans };
        expect(parseEthernet(emitEthernet(eth, data))).toEqual({ ...eth, payload: data });
      }),
    );
  });
});
