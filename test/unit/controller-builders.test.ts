// The flow, group and meter builders: the OXM lists flowMatch() makes (with
// the prerequisites it adds), the instruction order, the checks that throw
// before a switch would refuse the message, and the combinations the types
// refuse (the @ts-expect-error lines fail `tsc` if they ever compile).

import { describe, expect, it } from 'vitest';
import {
  act,
  decodeMessage,
  deleteFlows,
  deleteGroup,
  deleteMeter,
  encodeMessage,
  flowMatch,
  flowMod,
  groupMod,
  instructions,
  meterMod,
  OFPFC,
  OFPG,
  OFPGT,
  OFPM,
  OFPMF,
  OFPP,
  OFPTT,
  type Message,
} from '../../src/controller/index.ts';

/** Encodes and decodes: what a switch would receive. */
function wire<M extends { type: string }>(msg: M): Message {
  const r = decodeMessage(encodeMessage({ xid: 1, ...msg } as unknown as Message));
  if (!r.ok) throw new Error(r.detail);
  return r.msg;
}

describe('flowMatch', () => {
  it('adds the prerequisites of the protocol it is told, in order', () => {
    expect(flowMatch().inPort(1).ipv4().ipv4Dst('10.0.0.0/8').tcp().tcpDst(80).build()).toEqual([
      { field: 'in_port', value: 1 },
      { field: 'eth_type', value: 0x0800 },
      { field: 'ipv4_dst', value: '10.0.0.0', mask: '255.0.0.0' },
      { field: 'ip_proto', value: 6 },
      { field: 'tcp_dst', value: 80 },
    ]);
    expect(flowMatch().ipv6().ipv6Src('2001:db8::/33').neighborSolicit().ndTarget('2001:db8::1').build()).toEqual([
      { field: 'eth_type', value: 0x86dd },
      { field: 'ipv6_src', value: '2001:db8::', mask: 'ffff:ffff:8000::' },
      { field: 'ip_proto', value: 58 },
      { field: 'icmpv6_type', value: 135 },
      { field: 'ipv6_nd_target', value: '2001:db8::1' },
    ]);
    expect(flowMatch().vlan(10, 3).arp().arpOp(1).arpTpa('10.0.0.1/32').build()).toEqual([
      { field: 'vlan_vid', value: 0x100a },
      { field: 'vlan_pcp', value: 3 },
      { field: 'eth_type', value: 0x0806 },
      { field: 'arp_op', value: 1 },
      { field: 'arp_tpa', value: '10.0.0.1' },
    ]);
    expect(flowMatch().ipv6().icmpv6().neighborAdvert().ndTll('02:00:00:00:00:01').build()).toEqual(
      flowMatch().ipv6().neighborAdvert().ndTll('02:00:00:00:00:01').build(),
    );
    expect(flowMatch().ethType(0x0800).ipProto(17).udpSrc(68).build().map((f) => f.field)).toEqual(['eth_type', 'ip_proto', 'udp_src']);
    expect(flowMatch().untagged().build()).toEqual([{ field: 'vlan_vid', value: 0 }]);
    expect(flowMatch().tagged().build()).toEqual([{ field: 'vlan_vid', value: 0x1000, mask: 0x1000 }]);
  });

  it('throws, naming the OFPBMC error, for what its types cannot see', () => {
    expect(() => flowMatch().ipv4().tcp().tcpDst(70000).build()).toThrow(/BAD_VALUE on tcp_dst/);
    expect(() => flowMatch().ipv4().ipv4Src('10.0.0.1/8').build()).toThrow(/BAD_WILDCARDS on ipv4_src/);
    expect(() => flowMatch().inPort(1).field('in_port', 2).build()).toThrow(/DUP_FIELD/);
    expect(() => flowMatch().field('tcp_dst', 80).build()).toThrow(/BAD_PREREQ on tcp_dst/);
    expect(() => flowMatch().ipv4().ipv4Src('10.0.0.256')).toThrow(TypeError);
    expect(() => flowMatch().ipv4().ipv4Src('10.0.0.0/33')).toThrow(/bad prefix/);
    expect(() => flowMatch().vlan(4096)).toThrow(RangeError);
  });

  it('refuses at compile time what has no prerequisites yet', () => {
    const typeErrors = () => {
      // @ts-expect-error tcp_dst needs ip_proto 6
      flowMatch().tcpDst(80);
      // @ts-expect-error and ip_proto needs an IP ethertype
      flowMatch().tcp();
      // @ts-expect-error ICMPv4 over IPv6
      flowMatch().ipv6().icmp();
      // @ts-expect-error a UDP port in a TCP match
      flowMatch().ipv4().tcp().udpDst(53);
      // @ts-expect-error the target link-layer address is in advertisements, not solicitations
      flowMatch().ipv6().icmpv6().neighborSolicit().ndTll('02:00:00:00:00:01');
      // @ts-expect-error ARP fields are not offered after ipv4()
      flowMatch().ipv4().arpOp(1);
    };
    expect(typeof typeErrors).toBe('function');
  });
});

describe('flowMod', () => {
  it('fills in the defaults and writes instructions in the spec order', () => {
    const fm = flowMod({
      tableId: 1,
      priority: 10,
      match: flowMatch().inPort(3),
      instructions: { goto: 2, write: [act.output(1)], metadata: 5n, apply: [act.decNwTtl()], clear: true, meter: 7 },
    });
    expect(fm).toMatchObject({ command: OFPFC.ADD, bufferId: 0xffffffff, outPort: OFPP.ANY, outGroup: OFPG.ANY, tableId: 1, priority: 10 });
    expect(fm.instructions.map((i) => i.type)).toEqual(['meter', 'apply_actions', 'clear_actions', 'write_actions', 'write_metadata', 'goto_table']);
    expect(wire(fm)).toMatchObject({ ...fm, xid: 1 });
    expect(flowMod({ actions: [act.flood()] }).instructions).toEqual(instructions({ apply: [act.flood()] }));
    expect(act.output(OFPP.CONTROLLER)).toEqual({ type: 'output', port: OFPP.CONTROLLER, maxLen: 0xffff });
  });

  it('checks set_field against the match and earlier pushes', () => {
    const tcp = flowMatch().ipv4().tcp();
    expect(() => flowMod({ match: tcp, actions: [act.setField('tcp_dst', 8080), act.output(1)] })).not.toThrow();
    expect(() => flowMod({ match: flowMatch().ipv4(), actions: [act.setField('tcp_dst', 8080)] })).toThrow(/set_field tcp_dst.*BAD_PREREQ/);
    expect(() => flowMod({ actions: [act.setField('vlan_pcp', 3)] })).toThrow(/vlan_pcp/);
    expect(() => flowMod({ actions: [act.pushVlan(), act.setField('vlan_vid', 0x1005), act.setField('vlan_pcp', 3)] })).not.toThrow();
    expect(() => flowMod({ instructions: { write: [act.setField('vlan_pcp', 3), act.pushVlan()] } })).not.toThrow();
    expect(() => flowMod({ actions: [act.pushVlan(), act.popVlan(), act.setField('vlan_pcp', 3)] })).toThrow(/vlan_pcp/);
    expect(() => flowMod({ match: tcp, actions: [act.setField('ipv4_dst', '10.0.0.300')] })).toThrow(TypeError);
  });

  it('refuses a goto that does not go forward, and actions with instructions', () => {
    expect(() => flowMod({ tableId: 3, instructions: { goto: 3 } })).toThrow(/later table/);
    expect(() => flowMod({ instructions: { goto: 255 } })).toThrow(/later table/);
    expect(() => flowMod({ actions: [], instructions: { goto: 1 } })).toThrow(/not both/);
  });

  it('deletes in every table by default, strict on request', () => {
    expect(deleteFlows()).toMatchObject({ command: OFPFC.DELETE, tableId: OFPTT.ALL, match: [], instructions: [] });
    const strict = deleteFlows({ tableId: 0, strict: true, priority: 5, match: flowMatch().inPort(1) });
    expect(strict).toMatchObject({ command: OFPFC.DELETE_STRICT, tableId: 0, priority: 5, match: [{ field: 'in_port', value: 1 }] });
  });
});

describe('groupMod and meterMod', () => {
  it('gives each group type its buckets', () => {
    const all = groupMod({ groupId: 1, type: 'all', buckets: [{ actions: [act.output(1)] }, { actions: [act.output(2)] }] });
    expect(all).toMatchObject({ command: 0, groupType: OFPGT.ALL, groupId: 1 });
    expect(all.buckets.map((b) => [b.weight, b.watchPort, b.watchGroup])).toEqual([
      [0, OFPP.ANY, OFPG.ANY],
      [0, OFPP.ANY, OFPG.ANY],
    ]);
    const select = groupMod({ groupId: 2, type: 'select', buckets: [{ actions: [], weight: 5 }, { actions: [] }] });
    expect(select.buckets.map((b) => b.weight)).toEqual([5, 1]);
    const indirect = groupMod({ groupId: 3, command: 'modify', type: 'indirect', bucket: { actions: [act.output(4)] } });
    expect(indirect).toMatchObject({ command: 1, groupType: OFPGT.INDIRECT, buckets: [{ actions: [act.output(4)] }] });
    const ff = groupMod({ groupId: 4, type: 'ff', buckets: [{ watchPort: 1, actions: [act.output(1)] }, { watchGroup: 3, actions: [] }] });
    expect(ff.buckets.map((b) => [b.watchPort, b.watchGroup])).toEqual([
      [1, OFPG.ANY],
      [OFPP.ANY, 3],
    ]);
    for (const g of [all, select, indirect, ff, deleteGroup(), deleteGroup(4)]) expect(wire(g)).toMatchObject(g);
    expect(deleteGroup()).toMatchObject({ command: 2, groupId: OFPG.ALL });
    expect(() => groupMod({ groupId: OFPG.ALL, type: 'all', buckets: [] })).toThrow(RangeError);
    const typeErrors = () => {
      // @ts-expect-error an indirect group has one bucket
      groupMod({ groupId: 1, type: 'indirect', buckets: [] });
      // @ts-expect-error a fast-failover bucket watches a port or a group
      groupMod({ groupId: 1, type: 'ff', buckets: [{ actions: [] }] });
      // @ts-expect-error weights are for select groups
      groupMod({ groupId: 1, type: 'all', buckets: [{ actions: [], weight: 2 }] });
    };
    expect(typeof typeErrors).toBe('function');
  });

  it('sets a meter\'s flags from its unit, bands and stats', () => {
    const m = meterMod({ meterId: 1, unit: 'kbps', stats: true, bands: [{ type: 'drop', rate: 1000, burstSize: 100 }] });
    expect(m).toMatchObject({ command: 0, flags: OFPMF.KBPS | OFPMF.BURST | OFPMF.STATS, meterId: 1 });
    const p = meterMod({ meterId: OFPM.CONTROLLER, command: 'modify', unit: 'pktps', bands: [{ type: 'dscp_remark', rate: 10, precLevel: 1 }] });
    expect(p).toMatchObject({ command: 1, flags: OFPMF.PKTPS, bands: [{ type: 'dscp_remark', rate: 10, burstSize: 0, precLevel: 1 }] });
    for (const x of [m, p, deleteMeter(), deleteMeter(1)]) expect(wire(x)).toMatchObject(x);
    expect(deleteMeter()).toMatchObject({ command: 2, meterId: OFPM.ALL });
    expect(() => meterMod({ meterId: 0, unit: 'kbps', bands: [{ type: 'drop', rate: 1 }] })).toThrow(RangeError);
    expect(() => meterMod({ meterId: 1, unit: 'kbps', bands: [] })).toThrow(/one band/);
  });
});
