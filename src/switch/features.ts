// What tsof-switch tells controllers it is and can do: the features reply, the
// description strings, and the table, group and meter features, made from the
// datapath's limits (native/pipeline.h, group.h, meter.h, through the
// provider), so that what is advertised is what the pipeline holds.

import { readFileSync } from 'node:fs';
import {
  ACTIONS,
  INSTRUCTIONS,
  OFPC,
  OFPGFC,
  OFPM,
  OFPMF,
  OFPXMC_OPENFLOW_BASIC,
  OXM_FIELDS,
  type MessageOf,
  type OxmId,
  type TableFeatures,
} from '../openflow/codec/index.ts';
import type { DatapathLimits } from '../datapath/index.ts';


const VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

export const CAPABILITIES = OFPC.FLOW_STATS | OFPC.TABLE_STATS | OFPC.PORT_STATS | OFPC.GROUP_STATS;

export function description(dpDesc: string): Omit<MessageOf<'desc_reply'>, 'type' | 'xid' | 'version' | 'flags'> {
  return {
    mfrDesc: 'The tsof project',
    hwDesc: 'tsof native datapath (AF_PACKET)',
    swDesc: `tsof-switch ${VERSION}`,
    serialNum: 'None',
    dpDesc,
  };
}

/** Bytes of a field's value on the wire, by its kind in OXM_FIELDS. */
const KIND_LEN = { u8: 1, u16: 2, u24: 3, u32: 4, u64: 8, mac: 6, ipv4: 4, ipv6: 16 } as const;
const ALL_FIELDS: OxmId[] = Object.values(OXM_FIELDS).map((f) => ({
  oxmClass: OFPXMC_OPENFLOW_BASIC,
  oxmField: f.id,
  hasMask: false,
  length: KIND_LEN[f.kind],
}));
/** Every field can be wildcarded; the maskable ones with a mask. */
const MATCH_FIELDS: OxmId[] = ALL_FIELDS.map((id, i) => {
  const f = Object.values(OXM_FIELDS)[i];
  return f.maskable ? { ...id, hasMask: true, length: id.length * 2 } : id;
});
/** set_field takes any field but the pipeline's own (in_port, in_phy_port, metadata). */
const SETTABLE = ALL_FIELDS.filter((id) => id.oxmField > 2);
const ACTION_IDS = Object.keys(ACTIONS)
  .filter((t) => t !== 'experimenter')
  .map((type) => ({ type }));
const INSTRUCTION_IDS = Object.keys(INSTRUCTIONS)
  .filter((t) => t !== 'experimenter')
  .map((type) => ({ type }));

/** ofp_table_features of every table: each takes every match field, instruction and action; goto_table only forward. */
export function tableFeatures(limits: DatapathLimits): TableFeatures[] {
  const tables: TableFeatures[] = [];
  for (let tableId = 0; tableId < limits.tables; tableId++) {
    const next = Array.from({ length: limits.tables - 1 - tableId }, (_, i) => tableId + 1 + i);
    const props = [
      { type: 'instructions', instructionIds: INSTRUCTION_IDS },
      { type: 'instructions_miss', instructionIds: INSTRUCTION_IDS },
      { type: 'next_tables', tableIds: next },
      { type: 'next_tables_miss', tableIds: next },
      { type: 'write_actions', actionIds: ACTION_IDS },
      { type: 'write_actions_miss', actionIds: ACTION_IDS },
      { type: 'apply_actions', actionIds: ACTION_IDS },
      { type: 'apply_actions_miss', actionIds: ACTION_IDS },
      { type: 'match', oxmIds: MATCH_FIELDS },
      { type: 'wildcards', oxmIds: ALL_FIELDS },
      { type: 'write_setfield', oxmIds: SETTABLE },
      { type: 'write_setfield_miss', oxmIds: SETTABLE },
      { type: 'apply_setfield', oxmIds: SETTABLE },
      { type: 'apply_setfield_miss', oxmIds: SETTABLE },
    ];
    tables.push({
      tableId,
      name: `table${tableId}`,
      metadataMatch: 0xffffffffffffffffn,
      metadataWrite: 0xffffffffffffffffn,
      config: 0,
      maxEntries: limits.flowsPerTable,
      properties: props as TableFeatures['properties'],
    });
  }
  return tables;
}

/** Every group type, selects weighted and live-aware, groups chained (up to DatapathLimits.groupDepth). */
export const GROUP_FEATURES = {
  types: 0b1111,
  capabilities: OFPGFC.SELECT_WEIGHT | OFPGFC.SELECT_LIVENESS | OFPGFC.CHAINING,
  maxGroups: [0xffffff00, 0xffffff00, 0xffffff00, 0xffffff00],
  actions: Array(4).fill(
    Object.values(ACTIONS)
      .map(([code]) => code)
      .filter((code) => code < 32)
      .reduce<number>((bits, code) => (bits | (1 << code)) >>> 0, 0),
  ),
};

/** Drop and DSCP-remark bands, in kb/s or packets/s, with bursts and statistics. */
export function meterFeatures(limits: DatapathLimits) {
  return {
    maxMeter: OFPM.MAX,
    bandTypes: (1 << 1) | (1 << 2),
    capabilities: OFPMF.KBPS | OFPMF.PKTPS | OFPMF.BURST | OFPMF.STATS,
    maxBands: limits.meterBands,
    maxColor: 0,
  };
}
