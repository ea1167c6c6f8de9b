// Builders for the messages that program a switch: flow_mod, group_mod and
// meter_mod, with the spec's defaults filled in and the combinations a switch
// would refuse caught before sending, mostly by their types:
//
// - instructions are an object with at most one of each kind, written in the
//   order the spec executes them (5.9: meter, apply, clear, write, metadata,
//   goto), which Open vSwitch also requires on the wire; goto must go forward;
// - a set_field must have its field's prerequisites in the match or set up by
//   an earlier push (OFPBAC_MATCH_INCONSISTENT), checked with the codec's
//   checkMatch; the match itself is built by flowMatch() (match.ts);
// - a group's type decides its buckets: one for indirect, weights only for
//   select, a watched port or group for each fast-failover bucket (5.6.1);
// - a meter's bands share its unit, and BURST is set when a band has a burst.
//
// All of it stays thin over the codec's types: each builder returns the plain
// message, so anything built can be inspected, changed, or written by hand.

import {
  checkMatch,
  errorName,
  OFP_NO_BUFFER,
  OFPCML,
  OFPFC,
  OFPG,
  OFPGC,
  OFPM,
  OFPMC,
  OFPMF,
  OFPP,
  OFPTT,
  OFPVID_PRESENT,
  type Action,
  type Bucket,
  type Instruction,
  type Match,
  type MessageOf,
  type Oxm,
  type OxmBasic,
  type OxmFieldName,
} from '../openflow/codec/index.ts';
import { toMatch, type MatchLike, type ValueOf } from './match.ts';
import { TPID } from './packet/vlan.ts';
import { ETHERTYPE } from './packet/ethernet.ts';
import type { Outgoing } from '../openflow/channel/index.ts';

/** The priority the spec gives a flow_mod that does not choose one. */
export const OFP_DEFAULT_PRIORITY = 0x8000;

// ---- actions ------------------------------------------------------------------------

/** Short forms of the actions: act.output(2), act.setField('eth_dst', mac), act.pushVlan()... */
export const act = {
  /** To a port; maxLen is what a CONTROLLER output sends up (whole packet unless given). */
  output: (port: number, maxLen: number = port === OFPP.CONTROLLER ? OFPCML.NO_BUFFER : 0): Action => ({ type: 'output', port, maxLen }),
  controller: (maxLen: number = OFPCML.NO_BUFFER): Action => ({ type: 'output', port: OFPP.CONTROLLER, maxLen }),
  flood: (): Action => ({ type: 'output', port: OFPP.FLOOD, maxLen: 0 }),
  inPort: (): Action => ({ type: 'output', port: OFPP.IN_PORT, maxLen: 0 }),
  setField: <K extends OxmFieldName>(field: K, value: ValueOf<K>): Action => ({ type: 'set_field', field: { field, value } as Oxm }),
  group: (groupId: number): Action => ({ type: 'group', groupId }),
  setQueue: (queueId: number): Action => ({ type: 'set_queue', queueId }),
  pushVlan: (ethertype: number = TPID.CTAG): Action => ({ type: 'push_vlan', ethertype }),
  popVlan: (): Action => ({ type: 'pop_vlan' }),
  pushMpls: (ethertype: number = ETHERTYPE.MPLS): Action => ({ type: 'push_mpls', ethertype }),
  popMpls: (ethertype: number): Action => ({ type: 'pop_mpls', ethertype }),
  setMplsTtl: (mplsTtl: number): Action => ({ type: 'set_mpls_ttl', mplsTtl }),
  decMplsTtl: (): Action => ({ type: 'dec_mpls_ttl' }),
  setNwTtl: (nwTtl: number): Action => ({ type: 'set_nw_ttl', nwTtl }),
  decNwTtl: (): Action => ({ type: 'dec_nw_ttl' }),
  copyTtlOut: (): Action => ({ type: 'copy_ttl_out' }),
  copyTtlIn: (): Action => ({ type: 'copy_ttl_in' }),
  pushPbb: (ethertype = 0x88e7): Action => ({ type: 'push_pbb', ethertype }),
  popPbb: (): Action => ({ type: 'pop_pbb' }),
};

/**
 * Throws TypeError when a set_field in `actions` lacks its prerequisites: in
 * the match, or made true by an earlier action (push_vlan gives a tag,
 * push_mpls and pop_mpls an ethertype, set_field its value). `match` is what the
 * packet is known to carry when the actions run.
 */
export function checkActions(match: Match, actions: Action[]): void {
  // Only a set_field can be inconsistent; a learning switch's output-only flows cost one scan.
  if (!actions.some((a) => a.type === 'set_field')) return;
  let known = match.filter((f): f is OxmBasic => f.field !== 'opaque');
  const set = (f: OxmBasic) => (known = [...known.filter((k) => k.field !== f.field), f]);
  for (const a of actions) {
    if (a.type === 'push_vlan') set({ field: 'vlan_vid', value: OFPVID_PRESENT });
    else if (a.type === 'pop_vlan') known = known.filter((k) => k.field !== 'vlan_vid' && k.field !== 'vlan_pcp');
    else if (a.type === 'push_mpls' || a.type === 'pop_mpls') set({ field: 'eth_type', value: a.ethertype });
    else if (a.type === 'set_field' && a.field.field !== 'opaque') {
      const f = a.field;
      if (f.mask !== undefined) throw new TypeError(`set_field ${f.field}: OpenFlow 1.3 sets whole fields, without a mask`);
      const bad = checkMatch([...known.filter((k) => k.field !== f.field), f]);
      if (bad?.field === f.field) {
        throw new TypeError(`set_field ${f.field} does not fit this flow (${errorName(bad.error)}): match its prerequisites, e.g. with flowMatch()`);
      }
      set(f);
    }
  }
}

// ---- instructions -------------------------------------------------------------------

/** One instruction of each kind at most; instructions() writes them in the spec's order. */
export interface InstructionSet {
  /** Meter the packet first (meter id). */
  meter?: number;
  /** Apply these actions now, in order. */
  apply?: Action[];
  /** Empty the action set. */
  clear?: boolean;
  /** Merge these into the action set, executed when the pipeline ends. */
  write?: Action[];
  /** Write metadata (all 64 bits, or those of mask). */
  metadata?: bigint | { value: bigint; mask: bigint };
  /** Continue in this table; must be after the flow's own table. */
  goto?: number;
}

export function instructions(s: InstructionSet): Instruction[] {
  const out: Instruction[] = [];
  if (s.meter !== undefined) out.push({ type: 'meter', meterId: s.meter });
  if (s.apply) out.push({ type: 'apply_actions', actions: s.apply });
  if (s.clear) out.push({ type: 'clear_actions' });
  if (s.write) out.push({ type: 'write_actions', actions: s.write });
  if (s.metadata !== undefined) {
    const { value, mask } = typeof s.metadata === 'bigint' ? { value: s.metadata, mask: 0xffffffffffffffffn } : s.metadata;
    out.push({ type: 'write_metadata', metadata: value, metadataMask: mask });
  }
  if (s.goto !== undefined) out.push({ type: 'goto_table', tableId: s.goto });
  return out;
}

// ---- flows --------------------------------------------------------------------------

type FlowMod = Outgoing<MessageOf<'flow_mod'>>;

export type FlowSpec = Partial<Omit<FlowMod, 'type' | 'match' | 'instructions'>> & {
  /** An OXM list or a flowMatch() builder. */
  match?: MatchLike;
  /** Shorthand for instructions: { apply: actions }. */
  actions?: Action[];
  instructions?: InstructionSet | Instruction[];
};

/**
 * A flow_mod, ADD unless command says otherwise, with the spec's defaults:
 * table 0, priority 0x8000, no buffer, any out port and group, no timeouts.
 * Throws TypeError for actions that do not fit the match, a goto that does not
 * go forward, or both `actions` and `instructions`.
 */
export function flowMod(f: FlowSpec): FlowMod {
  const given = f.instructions;
  if (f.actions && given) throw new TypeError('give actions or instructions, not both');
  const set: InstructionSet | undefined = f.actions ? { apply: f.actions } : Array.isArray(given) ? undefined : given;
  const list = set ? instructions(set) : ((given as Instruction[] | undefined) ?? []);
  const m = toMatch(f.match ?? []);
  const tableId = f.tableId ?? 0;
  if (set) {
    if (set.apply) checkActions(m, set.apply);
    // The action set runs pushes and pops before set_fields, whatever the order written (spec 5.10).
    if (set.write) checkActions(m, [...set.write.filter((a) => a.type !== 'set_field'), ...set.write.filter((a) => a.type === 'set_field')]);
    if (set.goto !== undefined && (set.goto <= tableId || set.goto > OFPTT.MAX)) {
      throw new TypeError(`goto table ${set.goto} from table ${tableId}: a flow can only go to a later table (spec 5.1)`);
    }
  }
  // Field by field rather than a rest-spread of f: a learning switch builds one of these per packet-in.
  const fm: FlowMod = {
    type: 'flow_mod',
    cookie: f.cookie ?? 0n,
    cookieMask: f.cookieMask ?? 0n,
    tableId,
    command: f.command ?? OFPFC.ADD,
    idleTimeout: f.idleTimeout ?? 0,
    hardTimeout: f.hardTimeout ?? 0,
    priority: f.priority ?? OFP_DEFAULT_PRIORITY,
    bufferId: f.bufferId ?? OFP_NO_BUFFER,
    outPort: f.outPort ?? OFPP.ANY,
    outGroup: f.outGroup ?? OFPG.ANY,
    flags: f.flags ?? 0,
    match: m,
    instructions: list,
  };
  // No xid property unless given, so that { xid: 1, ...flowMod(f) } keeps its xid.
  if (f.xid !== undefined) fm.xid = f.xid;
  return fm;
}

/**
 * A flow_mod that deletes the flows of `tableId` (all tables by default) whose
 * match is `match` or more specific; strict deletes only the flow with exactly
 * this match and priority. outPort and outGroup narrow it to flows that output there.
 */
export function deleteFlows(
  f: { match?: MatchLike; strict?: boolean } & Partial<Pick<FlowMod, 'tableId' | 'priority' | 'outPort' | 'outGroup' | 'cookie' | 'cookieMask'>> = {},
): FlowMod {
  const { strict, ...rest } = f;
  return flowMod({ tableId: OFPTT.ALL, ...rest, command: strict ? OFPFC.DELETE_STRICT : OFPFC.DELETE });
}

// ---- groups -------------------------------------------------------------------------

interface Actions {
  actions: Action[];
}

/** What a group holds, by its type (spec 5.6.1). */
export type GroupSpec =
  /** Every bucket gets a copy: multicast, flooding. */
  | { type: 'all'; buckets: Actions[] }
  /** One bucket per packet, chosen by the switch, weighted. */
  | { type: 'select'; buckets: (Actions & { weight?: number })[] }
  /** One bucket: a shared next hop that many flows point at. */
  | { type: 'indirect'; bucket: Actions }
  /** The first bucket whose watched port or group is live. */
  | { type: 'ff'; buckets: (Actions & ({ watchPort: number; watchGroup?: number } | { watchGroup: number; watchPort?: number }))[] };

const GROUP_TYPE = { all: 0, select: 1, indirect: 2, ff: 3 } as const;

/** An ADD (or MODIFY) group_mod for group `groupId` (0 to OFPG_MAX). */
export function groupMod(g: GroupSpec & { groupId: number; command?: 'add' | 'modify' }): Outgoing<MessageOf<'group_mod'>> {
  if (!Number.isInteger(g.groupId) || g.groupId < 0 || g.groupId > OFPG.MAX) {
    throw new RangeError(`group id must be 0 to OFPG_MAX (0x${OFPG.MAX.toString(16)}), got ${g.groupId}`);
  }
  const bucket = (b: Actions & { weight?: number; watchPort?: number; watchGroup?: number }): Bucket => ({
    weight: g.type === 'select' ? (b.weight ?? 1) : 0,
    watchPort: b.watchPort ?? OFPP.ANY,
    watchGroup: b.watchGroup ?? OFPG.ANY,
    actions: b.actions,
  });
  const buckets = g.type === 'indirect' ? [bucket(g.bucket)] : g.buckets.map(bucket);
  return {
    type: 'group_mod',
    command: g.command === 'modify' ? OFPGC.MODIFY : OFPGC.ADD,
    groupType: GROUP_TYPE[g.type],
    groupId: g.groupId,
    buckets,
  };
}

/** A group_mod that deletes group `groupId`, or every group. */
export const deleteGroup = (groupId: number = OFPG.ALL): Outgoing<MessageOf<'group_mod'>> => ({
  type: 'group_mod',
  command: OFPGC.DELETE,
  groupType: 0,
  groupId,
  buckets: [],
});

// ---- meters -------------------------------------------------------------------------

/** A meter band: rate in the meter's unit; burstSize in kilobits or packets. */
export type BandSpec = { rate: number; burstSize?: number } & ({ type: 'drop' } | { type: 'dscp_remark'; precLevel: number });

/** An ADD (or MODIFY) meter_mod: meter 1 to OFPM_MAX, or the virtual SLOWPATH and CONTROLLER meters. */
export function meterMod(m: {
  meterId: number;
  command?: 'add' | 'modify';
  unit: 'kbps' | 'pktps';
  bands: BandSpec[];
  /** Collect per-meter statistics. */
  stats?: boolean;
}): Outgoing<MessageOf<'meter_mod'>> {
  const virtual = m.meterId === OFPM.SLOWPATH || m.meterId === OFPM.CONTROLLER;
  if (!virtual && (!Number.isInteger(m.meterId) || m.meterId < 1 || m.meterId > OFPM.MAX)) {
    throw new RangeError(`meter id must be 1 to OFPM_MAX (0x${OFPM.MAX.toString(16)}), got ${m.meterId}`);
  }
  if (m.bands.length === 0) throw new TypeError('a meter needs at least one band');
  const burst = m.bands.some((b) => b.burstSize !== undefined);
  const flags = (m.unit === 'kbps' ? OFPMF.KBPS : OFPMF.PKTPS) | (burst ? OFPMF.BURST : 0) | (m.stats ? OFPMF.STATS : 0);
  return {
    type: 'meter_mod',
    command: m.command === 'modify' ? OFPMC.MODIFY : OFPMC.ADD,
    flags,
    meterId: m.meterId,
    bands: m.bands.map((b) =>
      b.type === 'drop'
        ? { type: 'drop', rate: b.rate, burstSize: b.burstSize ?? 0 }
        : { type: 'dscp_remark', rate: b.rate, burstSize: b.burstSize ?? 0, precLevel: b.precLevel },
    ),
  };
}

/** A meter_mod that deletes meter `meterId`, or every meter. */
export const deleteMeter = (meterId: number = OFPM.ALL): Outgoing<MessageOf<'meter_mod'>> => ({
  type: 'meter_mod',
  command: OFPMC.DELETE,
  flags: 0,
  meterId,
  bands: [],
});
