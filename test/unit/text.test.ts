// The flow text syntax (src/openflow/codec/text.ts) on its own: parse(format(x)) == x for
// every flow the syntax can say, exact texts for a few flows, and the errors bad text gets.
// test/interop/text-ofctl.test.ts holds it against ovs-ofctl itself.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Action, Instruction } from '../../src/openflow/codec/actions.ts';
import { OFP_NO_BUFFER, OFPFC, OFPG, OFPGC, OFPGT, OFPM, OFPMC, OFPMF, OFPP } from '../../src/openflow/codec/constants.ts';
import { checkMatch, OXM_FIELDS, oxmFieldInfo, type Match, type Oxm, type OxmFieldName } from '../../src/openflow/codec/oxm.ts';
import {
  formatActions,
  formatFlowMod,
  formatFlowStats,
  formatInstructions,
  formatGroup,
  formatMatch,
  formatMeter,
  parseActions,
  parseFlow,
  parseGroup,
  parseInstructions,
  parseMatch,
  parseMeter,
  type FlowMod,
  type GroupMod,
  type MeterMod,
} from '../../src/openflow/codec/text.ts';
import { ipv4ToBytes, ipv4ToString, ipv6ToBytes, ipv6ToString, macToBytes, macToString } from '../../src/openflow/codec/wire.ts';
import { arbAction, arbOxmOf, arbU16, arbU32, arbU64, arbU8, OXM_FIELD_NAMES } from '../support/arbitraries.ts';

// ---- what the syntax can say ------------------------------------------------------------------
//
// Left out of the generated values, each for a reason of the syntax (as ovs-ofctl's):
// - OXMs of other classes and experimenter actions and instructions: ovs-ofctl names Nicira's
//   by what they do; tsof keeps them opaque and has no text for them.
// - A field twice, or fields in another order: the text has one slot a field, and the parser
//   gives the OXMs in OXM-number order.
// - An all-ones mask (value/ff..ff is exact, and for vlan_vid 0x1fff is) and an all-zero mask
//   (a wildcard: the field goes).
// - Value bits outside the mask or the field's width, missing prerequisites, vlan_pcp without a
//   tag: checkMatch() refuses them; ovs-ofctl's VLAN TCI would add the tag.
// - Ports that are neither numbers up to OFPP_MAX nor reserved names (0xffffff01-0xfffffff7).
// - An output action's max_len on a port other than CONTROLLER (ovs-ofctl keeps none), and
//   set_field with a mask (OpenFlow 1.3 has none).
// - Instructions twice or out of ovs-ofctl's order (meter, actions, clear_actions,
//   write_actions, write_metadata, goto_table), and empty action lists (ovs-ofctl writes none).

const PORT_OK = (p: number) => p <= OFPP.MAX || p >= OFPP.IN_PORT;

const ADDRESS: Record<string, { bytes: (s: string) => Uint8Array; text: (b: Uint8Array) => string }> = {
  mac: { bytes: macToBytes, text: (b) => macToString(b) },
  ipv4: { bytes: ipv4ToBytes, text: (b) => ipv4ToString(b) },
  ipv6: { bytes: ipv6ToBytes, text: (b) => ipv6ToString(b) },
};
const toBig = (kind: string, s: string) => ADDRESS[kind].bytes(s).reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
function fromBig(kind: string, width: number, v: bigint): string {
  const b = new Uint8Array(width);
  for (let i = width - 1; i >= 0; i--, v >>= 8n) b[i] = Number(v & 0xffn);
  return ADDRESS[kind].text(b);
}
const bitsMask = (bits: number) => (1n << BigInt(bits)) - 1n;

/** An OXM made valid: value and mask within the field's bits, the value cut to the mask, no all-ones or zero mask. */
function tidy(o: Oxm): Oxm | undefined {
  if (o.field === 'opaque') return undefined;
  const f = oxmFieldInfo(o.field)!;
  // Every value as a number of the field's width, and back to the field's kind.
  const big = (v: unknown) => (typeof v === 'string' ? toBig(f.kind, v) : BigInt(v as number | bigint));
  const back = (v: bigint) => (f.kind === 'u64' ? v : ADDRESS[f.kind] ? fromBig(f.kind, f.width, v) : Number(v));
  let value = o.value as unknown;
  let mask = o.mask as unknown;
  const v = big(value);
  if (v !== undefined) value = back(v & bitsMask(f.bits));
  if (mask !== undefined) {
    const cut = big(mask) & bitsMask(f.bits);
    if (cut === 0n) return undefined;
    // All of the field's bits: exact, as the wire width's all ones is (vlan_vid's 13 bits too).
    if (cut === bitsMask(8 * f.width) || (o.field === 'vlan_vid' && cut === 0x1fffn)) mask = undefined;
    else {
      mask = back(cut);
      value = back(big(value) & cut);
    }
  }
  if ((o.field === 'in_port' || o.field === 'in_phy_port') && !PORT_OK(value as number)) return undefined;
  return (mask === undefined ? { field: o.field, value } : { field: o.field, value, mask }) as Oxm;
}

/** Each field's prerequisite chain, fixed to one choice where several would do. */
function withPrerequisites(fields: Map<string, Oxm>, pick: number): void {
  let changed = true;
  while (changed) {
    changed = false;
    for (const o of [...fields.values()]) {
      const pre = (OXM_FIELDS[o.field as OxmFieldName] as { prereq?: { field: string; values: readonly (number | string)[] } }).prereq;
      if (!pre || fields.has(pre.field)) continue;
      const value = pre.field === 'vlan_vid' ? 0x1000 | (pick & 0xfff) : pre.values.length ? pre.values[pick % pre.values.length] : 1;
      fields.set(pre.field, { field: pre.field, value } as Oxm);
      changed = true;
    }
  }
}

const ORDER = new Map(OXM_FIELD_NAMES.map((n, i) => [n, i]));
const arbValidMatch: fc.Arbitrary<Match> = fc
  .tuple(fc.uniqueArray(fc.constantFrom(...OXM_FIELD_NAMES), { maxLength: 5 }), fc.nat())
  .chain(([names, pick]) =>
    fc.tuple(...names.map((n) => arbOxmOf(n))).map((oxms) => {
      const fields = new Map<string, Oxm>();
      for (const o of oxms) {
        const t = tidy(o);
        if (t) fields.set(t.field, t);
      }
      withPrerequisites(fields, pick);
      return [...fields.values()].sort((a, b) => ORDER.get(a.field as OxmFieldName)! - ORDER.get(b.field as OxmFieldName)!);
    }),
  )
  .filter((m) => checkMatch(m) === undefined);

/** Actions the syntax can say: no experimenter, no max_len but CONTROLLER's, set_field of a tidy basic field. */
const arbSayableAction: fc.Arbitrary<Action> = arbAction
  .map((a): Action | undefined => {
    switch (a.type) {
      case 'experimenter':
        return undefined;
      case 'output':
        if (!PORT_OK(a.port)) return undefined;
        return a.port === OFPP.CONTROLLER ? a : { ...a, maxLen: 0 };
      case 'set_field': {
        if (a.field.field === 'opaque' || a.field.mask !== undefined) return undefined;
        const t = tidy(a.field);
        return t && { ...a, field: t };
      }
      default:
        return a;
    }
  })
  .filter((a): a is Action => a !== undefined);

const actionList = fc.array(arbSayableAction, { minLength: 1, maxLength: 4 });
const arbSayableInstructions: fc.Arbitrary<Instruction[]> = fc
  .record(
    {
      meter: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
      apply: fc.option(actionList, { nil: undefined }),
      clear: fc.boolean(),
      write: fc.option(actionList, { nil: undefined }),
      metadata: fc.option(fc.tuple(arbU64, arbU64), { nil: undefined }),
      goto: fc.option(arbU8, { nil: undefined }),
    },
    { noNullPrototype: true },
  )
  .map((r) => {
    const out: Instruction[] = [];
    if (r.meter !== undefined) out.push({ type: 'meter', meterId: r.meter });
    if (r.apply) out.push({ type: 'apply_actions', actions: r.apply });
    if (r.clear) out.push({ type: 'clear_actions' });
    if (r.write) out.push({ type: 'write_actions', actions: r.write });
    if (r.metadata) out.push({ type: 'write_metadata', metadata: r.metadata[0], metadataMask: r.metadata[1] });
    if (r.goto !== undefined) out.push({ type: 'goto_table', tableId: r.goto });
    return out;
  });

const arbFlowMod: fc.Arbitrary<FlowMod> = fc
  .record(
    {
      cookie: arbU64,
      tableId: fc.integer({ min: 0, max: 254 }),
      idleTimeout: arbU16,
      hardTimeout: arbU16,
      priority: arbU16,
      flags: fc.integer({ min: 0, max: 31 }),
      match: arbValidMatch,
      instructions: arbSayableInstructions,
    },
    { noNullPrototype: true },
  )
  .map((r) => ({
    type: 'flow_mod' as const,
    xid: 0,
    cookieMask: 0n,
    command: OFPFC.ADD,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    ...r,
  }));

const ok = <T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T => {
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};

describe('parse(format(x)) == x', () => {
  it('matches', () => {
    fc.assert(
      fc.property(arbValidMatch, (m) => {
        expect(ok(parseMatch(formatMatch(m)))).toEqual(m);
      }),
      { numRuns: 2000 },
    );
  });

  it('actions, with the match they act on', () => {
    fc.assert(
      fc.property(arbValidMatch, fc.array(arbSayableAction, { maxLength: 6 }), (m, actions) => {
        expect(ok(parseActions(formatActions(actions), m))).toEqual(actions);
      }),
      { numRuns: 2000 },
    );
  });

  it('instructions', () => {
    fc.assert(
      fc.property(arbSayableInstructions, (instructions) => {
        expect(ok(parseInstructions(formatInstructions(instructions)))).toEqual(instructions);
      }),
      { numRuns: 1000 },
    );
  });

  it('whole flows, through the dump-flows --no-stats line', () => {
    fc.assert(
      fc.property(arbFlowMod, (fm) => {
        const line = formatFlowStats({ ...fm, durationSec: 0, durationNsec: 0, packetCount: 0n, byteCount: 0n }, { stats: false });
        expect(ok(parseFlow(line))).toEqual(fm);
      }),
      { numRuns: 1000 },
    );
  });
});

// Groups: types all..ff (others have no word), group ids up to OFPG_MAX, watch groups up to
// OFPG_MAX, fast failover buckets with a watch, buckets with actions the syntax can say.
const arbGroupMod: fc.Arbitrary<GroupMod> = fc
  .record(
    {
      command: fc.constantFrom(OFPGC.ADD, OFPGC.MODIFY),
      groupType: fc.integer({ min: 0, max: 3 }),
      groupId: fc.integer({ min: 0, max: OFPG.MAX }),
      buckets: fc.array(
        fc.record(
          {
            weight: arbU16,
            watchPort: fc.oneof(fc.constant(OFPP.ANY), arbU32.filter(PORT_OK)),
            watchGroup: fc.oneof(fc.constant(OFPG.ANY), fc.integer({ min: 0, max: OFPG.MAX })),
            actions: fc.array(arbSayableAction, { maxLength: 3 }),
          },
          { noNullPrototype: true },
        ),
        { maxLength: 3 },
      ),
    },
    { noNullPrototype: true },
  )
  .filter((g) => g.groupType !== OFPGT.FF || g.buckets.every((b) => b.watchPort !== OFPP.ANY || b.watchGroup !== OFPG.ANY))
  .map((g) => ({ type: 'group_mod' as const, xid: 0, ...g }));

// Meters: kbps or pktps, the flags ovs-ofctl has words for, burst sizes only with the burst
// flag, dscp_remark bands with a prec_level (ovs-ofctl refuses the others), no experimenter bands.
const arbMeterMod: fc.Arbitrary<MeterMod> = fc
  .record(
    {
      command: fc.constantFrom(OFPMC.ADD, OFPMC.MODIFY),
      flags: fc.integer({ min: 0, max: 15 }).filter((f) => (f & (OFPMF.KBPS | OFPMF.PKTPS)) !== 0),
      meterId: fc.oneof(fc.integer({ min: 1, max: OFPM.MAX }), fc.constantFrom(OFPM.SLOWPATH, OFPM.CONTROLLER, OFPM.ALL)),
      bands: fc.array(
        fc.oneof(
          fc.record({ type: fc.constant('drop' as const), rate: arbU32, burstSize: arbU32 }, { noNullPrototype: true }),
          fc.record(
            { type: fc.constant('dscp_remark' as const), rate: arbU32, burstSize: arbU32, precLevel: fc.integer({ min: 1, max: 255 }) },
            { noNullPrototype: true },
          ),
        ),
        { minLength: 1, maxLength: 3 },
      ),
    },
    { noNullPrototype: true },
  )
  .map((m) => ({
    type: 'meter_mod' as const,
    xid: 0,
    ...m,
    bands: m.flags & OFPMF.BURST ? m.bands : m.bands.map((b) => ({ ...b, burstSize: 0 })),
  }));

describe('parse(format(x)) == x for groups and meters', () => {
  const command = (c: number): 'add' | 'modify' => (c === 0 ? 'add' : 'modify');
  it('groups, through the dump-groups line', () => {
    fc.assert(
      fc.property(arbGroupMod, (g) => {
        expect(ok(parseGroup(formatGroup(g), { command: command(g.command) }))).toEqual(g);
      }),
      { numRuns: 500 },
    );
  });

  it('meters, through the dump-meters text with its lines joined', () => {
    fc.assert(
      fc.property(arbMeterMod, (m) => {
        expect(ok(parseMeter(formatMeter(m).replace(/\n/g, ' '), { command: command(m.command) }))).toEqual(m);
      }),
      { numRuns: 500 },
    );
  });
});

describe('texts', () => {
  const fm = (line: string, command?: Parameters<typeof parseFlow>[1]) => ok(parseFlow(line, command));

  it('reads a flow into the flow_mod ovs-ofctl would send', () => {
    expect(fm('table=2,priority=5,cookie=0x12,idle_timeout=10,send_flow_rem,tcp,nw_src=10.0.0.0/8,tp_dst=80 actions=dec_ttl,output:3,goto_table:4')).toEqual({
      type: 'flow_mod',
      xid: 0,
      cookie: 0x12n,
      cookieMask: 0n,
      tableId: 2,
      command: OFPFC.ADD,
      idleTimeout: 10,
      hardTimeout: 0,
      priority: 5,
      bufferId: OFP_NO_BUFFER,
      outPort: OFPP.ANY,
      outGroup: OFPG.ANY,
      flags: 1,
      match: [
        { field: 'eth_type', value: 0x0800 },
        { field: 'ip_proto', value: 6 },
        { field: 'ipv4_src', value: '10.0.0.0', mask: '255.0.0.0' },
        { field: 'tcp_dst', value: 80 },
      ],
      instructions: [
        { type: 'apply_actions', actions: [{ type: 'dec_nw_ttl' }, { type: 'output', port: 3, maxLen: 0 }] },
        { type: 'goto_table', tableId: 4 },
      ],
    });
  });

  it('prints as ovs-ofctl', () => {
    const m = fm('priority=5,udp6,ipv6_src=2001:db8::/32,tp_src=53,vlan_vid=0x1005,vlan_pcp=3,metadata=0/0xff actions=mod_tp_dst:9,CONTROLLER:128,write_actions(group:2)');
    expect(formatFlowMod(m)).toBe(
      'ADD priority=5,udp6,metadata=0/0xff,dl_vlan=5,dl_vlan_pcp=3,ipv6_src=2001:db8::/32,tp_src=53 actions=set_field:9->udp_dst,CONTROLLER:128,write_actions(group:2)',
    );
    expect(formatFlowStats({ ...m, cookie: 0x5n, tableId: 1, durationSec: 3, durationNsec: 500_000_000, packetCount: 7n, byteCount: 700n })).toBe(
      'cookie=0x5, duration=3.500s, table=1, n_packets=7, n_bytes=700, priority=5,udp6,metadata=0/0xff,dl_vlan=5,dl_vlan_pcp=3,ipv6_src=2001:db8::/32,tp_src=53 actions=set_field:9->udp_dst,CONTROLLER:128,write_actions(group:2)',
    );
    expect(formatInstructions([])).toBe('drop');
    expect(formatMatch([])).toBe('');
  });

  it('names a field by OXM where the ovs-ofctl name would read back as another', () => {
    // udp_src without ip_proto=17: tp_src would read back as tcp_src.
    const m: Match = [{ field: 'udp_src', value: 5 }, { field: 'icmpv6_type', value: 1 }];
    expect(formatMatch(m)).toBe('icmpv6_type=1,udp_src=5');
    expect(ok(parseMatch('icmpv6_type=1,udp_src=5'))).toEqual(m);
  });

  it('reads nw_tos as ovs-ofctl does: the DSCP bits, ECN bits dropped', () => {
    expect(ok(parseMatch('ip,nw_tos=5'))).toEqual([
      { field: 'eth_type', value: 0x0800 },
      { field: 'ip_dscp', value: 1 },
    ]);
  });

  it('keeps fields whose prerequisites are missing (ovs-ofctl drops them)', () => {
    expect(ok(parseMatch('tcp_dst=80'))).toEqual([{ field: 'tcp_dst', value: 80 }]);
  });

  it('pushes a VLAN tag for mod_vlan_vid only where the packet has none', () => {
    expect(ok(parseInstructions('mod_vlan_vid:5,mod_vlan_pcp:2'))).toEqual([
      {
        type: 'apply_actions',
        actions: [
          { type: 'push_vlan', ethertype: 0x8100 },
          { type: 'set_field', field: { field: 'vlan_vid', value: 0x1005 } },
          { type: 'set_field', field: { field: 'vlan_pcp', value: 2 } },
        ],
      },
    ]);
    expect(ok(parseActions('mod_vlan_vid:5', ok(parseMatch('dl_vlan=3'))))).toEqual([{ type: 'set_field', field: { field: 'vlan_vid', value: 0x1005 } }]);
  });

  it('reads deletes and modifies with their own keys and defaults', () => {
    expect(fm('cookie=0x10/0xf0,out_port=3,out_group=7,tcp', { command: 'delete' })).toMatchObject({
      command: OFPFC.DELETE,
      tableId: 0xff,
      cookie: 0x10n,
      cookieMask: 0xf0n,
      outPort: 3,
      outGroup: 7,
      priority: 0x8000,
      instructions: [],
    });
    expect(fm('priority=7,in_port=1', { command: 'delete_strict' })).toMatchObject({ command: OFPFC.DELETE_STRICT, priority: 7 });
    expect(fm('cookie=0x1/-1,in_port=1 actions=drop', { command: 'modify' })).toMatchObject({
      command: OFPFC.MODIFY,
      tableId: 0,
      cookie: 1n,
      cookieMask: 0xffff_ffff_ffff_ffffn,
    });
  });

  it('takes dump-flows output back', () => {
    expect(fm(' cookie=0x5, duration=3.5s, table=1, n_packets=7, n_bytes=700, idle_age=2, priority=5,ip actions=drop')).toMatchObject({
      cookie: 5n,
      tableId: 1,
      priority: 5,
      match: [{ field: 'eth_type', value: 0x0800 }],
      instructions: [],
    });
  });

  it('has OXM-only names for the fields ovs-ofctl lacks (a tsof extension)', () => {
    const m = ok(parseMatch('in_port=1,in_phy_port=2,dl_type=0x88e7,pbb_isid=0x10/0xf0,ipv6,ipv6_exthdr=0x4'));
    expect(formatMatch(m)).toBe('ipv6,in_port=1,in_phy_port=2,pbb_isid=0x10/0xf0,ipv6_exthdr=0x4');
    expect(formatActions(ok(parseActions('copy_ttl_in,copy_ttl_out,push_pbb:0x88e7,pop_pbb')))).toBe('copy_ttl_in,copy_ttl_out,push_pbb:0x88e7,pop_pbb');
  });
});

describe('errors name the token, its position and why', () => {
  // Pieces of real lines, glued at random, and lines cut or with a character changed.
  const PIECES = ['table=', 'priority=', 'cookie=0x1/', 'tcp', 'ipv6', ',', ' ', 'nw_src=', '10.0.0.0/', '8', 'fe80::', '/64', 'dl_vlan=',
    'vlan_tci=0x1000/', 'actions=', 'output:', 'CONTROLLER', 'set_field:', '->', 'eth_src', 'write_actions(', ')', 'goto_table:',
    'meter:', 'mod_vlan_vid:', '0x', 'ff:ff', '4294967295', '(', '=', ':', '/', 'drop', 'bucket=', 'type=', 'bands='];
  const arbText = fc.oneof(
    fc.array(fc.constantFrom(...PIECES), { maxLength: 12 }).map((xs) => xs.join('')),
    fc.string({ maxLength: 40 }),
  );

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(arbText, fc.constantFrom(...(['add', 'modify', 'delete', 'delete_strict'] as const)), (text, command) => {
        for (const r of [parseFlow(text, { command }), parseMatch(text), parseInstructions(text), parseGroup(text), parseMeter(text)]) {
          if (!r.ok) {
            expect(r.error.position).toBeGreaterThanOrEqual(0);
            expect(r.error.position).toBeLessThanOrEqual(text.length);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  const err = (line: string, command?: Parameters<typeof parseFlow>[1]) => {
    const r = parseFlow(line, command);
    if (r.ok) throw new Error(`took ${line}`);
    expect(line.slice(r.error.position).startsWith(r.error.token)).toBe(true);
    return r.error.message;
  };

  it.each([
    ['ip,nw_srcc=1 actions=drop', 'unknown field "nw_srcc" at 3'],
    ['ip,nw_src=1.2.3.400 actions=drop', 'bad value for ipv4_src "1.2.3.400" at 10: expected an IPv4 address'],
    ['ip,nw_src=1.2.3.4/33 actions=drop', 'bad prefix length for ipv4_src "33" at 18: at most 32'],
    ['mpls,mpls_label=5/0xff actions=drop', 'mpls_label cannot be masked "5/0xff" at 16'],
    ['mpls,mpls_label=1048576 actions=drop', 'bad value for mpls_label "1048576" at 16: expected a number of at most 20 bits'],
    ['dl_vlan=4096 actions=drop', 'bad value for dl_vlan "4096" at 8: a VLAN id is 0 to 4095 (0xffff: no tag)'],
    ['in_port=0xfffffff0 actions=drop', 'bad value for in_port "0xfffffff0" at 8: expected a port number up to 0xffffff00 or a reserved port name'],
    ['priority=65536 actions=drop', 'bad priority "65536" at 9: expected a number of at most 16 bits'],
    ['ip', 'missing actions= in "ip" at 0: a flow to add or modify needs actions= (actions=drop for none)'],
    ['cookie=0x1/0xff actions=drop', 'a flow to add takes no cookie mask: "0x1/0xff" at 7'],
    ['importance=5 actions=drop', 'not in OpenFlow 1.3: "importance" at 0: importance is OpenFlow 1.4'],
    ['in_port=1 actions=frobnicate:3', 'unknown action "frobnicate" at 18'],
    ['actions=output:1,meter:1', 'meter must come before the actions: "meter" at 17: ovs-ofctl takes instructions in one order: meter, actions, clear_actions, write_actions, write_metadata, goto_table'],
    ['actions=goto_table:1,goto_table:2', 'goto_table given twice: "goto_table" at 21: ovs-ofctl takes instructions in one order: meter, actions, clear_actions, write_actions, write_metadata, goto_table'],
    ['actions=set_field:1->nosuchfield', 'unknown field "nosuchfield" at 21'],
    ['actions=set_field:1', 'set_field needs VALUE->FIELD, not "1" at 18'],
    ['actions=set_field:1.2.3.4/8->ip_src', 'set_field of ipv4_src takes no mask in OpenFlow 1.3: "1.2.3.4/8" at 18'],
    ['actions=push_vlan:0x10000', 'bad ethertype for push_vlan "0x10000" at 18: expected a number of at most 16 bits'],
    ['actions=output:', 'bad output port "" at 15: expected a port number up to 0xffffff00 or a reserved port name'],
    ['actions=write_actions(output:1', 'unbalanced parentheses in "write_actions(output:1" at 8'],
    ['actions=mod_tp_src:5', 'mod_tp_src needs tcp, udp or sctp in the match: "mod_tp_src" at 8'],
    ['tcp,tp_src=x actions=drop', 'bad value for tcp_src "x" at 11: expected a number of at most 16 bits'],
    ['ip actions=mod_nw_tos:5', 'bad value for ip_dscp "5" at 22: a multiple of 4'],
    ['__proto__=1 actions=drop', 'unknown field "__proto__" at 0'],
    ['actions=__proto__:1,constructor', 'unknown action "__proto__" at 8'],
    ['ip,nw_tos=256 actions=drop', 'bad value for ip_dscp "256" at 10: expected a number of at most 8 bits'],
  ])('%s', (line, message) => {
    expect(err(line)).toBe(message);
  });

  it.each([
    ['group_id=1,type=al,bucket=output:1', 'unknown group type "al" at 16: all, select, indirect or ff'],
    ['type=all,bucket=output:1', 'missing group_id in "type=all,bucket=output:1" at 0'],
    ['group_id=1,bucket=output:1', 'missing type= in "group_id=1,bucket=output:1" at 0'],
    ['group_id=1,type=ff,bucket=output:1', 'a fast failover bucket needs watch_port or watch_group: "output:1" at 26'],
    ['group_id=1,type=all,bucket=weight:5', 'a bucket needs actions (actions=drop for none): "weight:5" at 27'],
    ['group_id=1,type=all,bucket=bucket_id:1,output:1', 'not in OpenFlow 1.3: "bucket_id" at 27: bucket ids are OpenFlow 1.5'],
    ['group_id=1,type=all,bucket=output:1,frob:2', 'unknown action "frob" at 36'],
  ])('group %s', (line, message) => {
    const r = parseGroup(line);
    expect(r.ok ? 'taken' : r.error.message).toBe(message);
  });

  it.each([
    ['meter=1,band=type=drop,rate=5', 'a meter needs kbps or pktps: "meter=1,band=type=drop,rate=5" at 0'],
    ['meter=0,kbps,band=type=drop,rate=5', 'bad meter id "0" at 6: from 1 to 0xffff0000, or all, controller, slowpath'],
    ['meter=1,kbps', 'missing bands= in "meter=1,kbps" at 0'],
    ['meter=1,kbps,band=rate=5', 'a band starts with type=, not "rate" at 18'],
    ['meter=1,kbps,band=type=drop,rate=5,burst_size=3', 'a band has no burst_size without the burst flag: "burst_size" at 35'],
    ['meter=1,kbps,band=type=dscp_remark,rate=5', 'a dscp_remark band needs prec_level: "type=dscp_remark" at 18'],
    ['meter=1,kbps,band=type=drop,rate=5,prec_level=1', 'only a dscp_remark band has "prec_level" at 35'],
    ['meter=1,kbps,band=type=police,rate=5', 'unknown band type "police" at 23: drop or dscp_remark'],
  ])('meter %s', (line, message) => {
    const r = parseMeter(line);
    expect(r.ok ? 'taken' : r.error.message).toBe(message);
  });

  it('refuses keys a command does not take', () => {
    expect(err('in_port=1 actions=drop', { command: 'delete' })).toBe('delete takes no "actions" at 10: only add and modify flows have actions');
    expect(err('priority=3,in_port=1', { command: 'delete' })).toBe('delete takes no "priority" at 0');
    expect(err('cookie=3,in_port=1', { command: 'delete' })).toBe('a delete matches a cookie only with a mask: "3" at 7: cookie=3/-1 matches it exactly');
    expect(err('out_port=3 actions=drop')).toBe('add takes no "out_port" at 0');
  });
});
