// Structures that messages share (spec 7.2 and 7.3): ports, group buckets, meter
// bands, queues, hello elements and table features with their properties.

import { action, actionId, instructionId } from './actions.ts';
import {
  GROUP_ID,
  GROUP_TYPE,
  PORT_CONFIG,
  PORT_FEATURES,
  PORT_NO,
  PORT_STATE,
  QUEUE_ID,
  TABLE_CONFIG,
  TABLE_ID,
} from './constants.ts';
import { ERR } from './errors.ts';
import { match, oxmId } from './oxm.ts';
import {
  hex32,
  hex64,
  list,
  mac,
  pad,
  rest,
  selfLength16,
  str,
  struct,
  tlv,
  u16,
  u32,
  u64,
  u8,
  withFormat,
  type Codec,
  type Infer,
  type Variant,
} from './schema.ts';

/** A fixed number of elements (group features' max_groups, async config masks). */
export function array<T>(c: Codec<T>, n: number): Codec<T[]> {
  return {
    size: c.size * n,
    decode(r, end) {
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(c.decode(r, end));
      return out;
    },
    encode(w, v) {
      if (v.length !== n) throw new TypeError(`expected ${n} elements, got ${v.length}`);
      for (let i = 0; i < n; i++) c.encode(w, v[i]);
    },
    format: (v) => `[${v.map((x) => c.format(x)).join(', ')}]`,
  };
}

// ---- ports (7.2.1) --------------------------------------------------------------

export const port = struct(
  {
    portNo: PORT_NO.codec,
    _pad: pad(4),
    hwAddr: mac,
    _pad2: pad(2),
    name: str(16),
    config: PORT_CONFIG.codec,
    state: PORT_STATE.codec,
    curr: PORT_FEATURES.codec,
    advertised: PORT_FEATURES.codec,
    supported: PORT_FEATURES.codec,
    peer: PORT_FEATURES.codec,
    currSpeed: u32,
    maxSpeed: u32,
  },
  { name: 'port' },
);
export type Port = Infer<typeof port>;

// ---- groups (7.3.4.2) -----------------------------------------------------------

export const bucket = struct(
  {
    _len: selfLength16,
    weight: u16,
    watchPort: PORT_NO.codec,
    watchGroup: GROUP_ID.codec,
    _pad: pad(4),
    actions: list(action, ERR.BAD_ACTION.BAD_LEN),
  },
  { lenError: ERR.GROUP_MOD_FAILED.BAD_BUCKET, name: 'bucket' },
);
export type Bucket = Infer<typeof bucket>;

// ---- meters (7.3.4.5) -------------------------------------------------------------

const band = <F extends Parameters<typeof struct>[0]>(fields: F) =>
  struct({ rate: u32, burstSize: u32, ...fields }, { lenError: ERR.METER_MOD_FAILED.BAD_BAND, name: 'band' });

export const meterBand = tlv({
  name: 'band',
  variants: {
    drop: [1, band({ _pad: pad(4) })],
    dscp_remark: [2, band({ precLevel: u8, _pad: pad(3) })],
    experimenter: [0xffff, band({ experimenter: hex32, data: rest })],
  },
  lenError: ERR.METER_MOD_FAILED.BAD_BAND,
  typeError: ERR.METER_MOD_FAILED.BAD_BAND,
});
export type MeterBand = Infer<typeof meterBand>;

// ---- queues (7.2.2) -------------------------------------------------------------

const rate = struct({ _pad: pad(4), rate: u16, _pad2: pad(6) }, { name: 'queue property' });

export const queueProp = tlv({
  name: 'queue_prop',
  variants: {
    min_rate: [1, rate],
    max_rate: [2, rate],
    experimenter: [0xffff, struct({ _pad: pad(4), experimenter: hex32, _pad2: pad(4), data: rest })],
  },
  lenError: ERR.BAD_REQUEST.BAD_LEN,
  typeError: ERR.BAD_REQUEST.BAD_TYPE,
  keepUnknown: true,
});
export type QueueProp = Infer<typeof queueProp>;

export const packetQueue = struct(
  { queueId: QUEUE_ID.codec, port: PORT_NO.codec, _len: selfLength16, _pad: pad(6), properties: list(queueProp) },
  { name: 'queue' },
);
export type PacketQueue = Infer<typeof packetQueue>;

// ---- hello elements (7.5.1) -------------------------------------------------------

/** Bit n of the bitmap set means wire version n is supported. */
const bitmaps = withFormat(list(u32), (v) => v.map((x) => `0x${x.toString(16)}`).join(','));

export const helloElement = tlv({
  name: 'hello_elem',
  variants: { versionbitmap: [1, struct({ bitmaps })] },
  lenError: ERR.BAD_REQUEST.BAD_LEN,
  typeError: ERR.BAD_REQUEST.BAD_TYPE,
  align: { to: 8, padding: 'outside' },
  // Unknown elements must be ignored (spec 7.5.1); keeping them lets them re-encode.
  keepUnknown: true,
});
export type HelloElement = Infer<typeof helloElement>;

// ---- table features (7.3.5.5) ----------------------------------------------------

const prop = <F extends Parameters<typeof struct>[0]>(fields: F) =>
  struct(fields, { lenError: ERR.TABLE_FEATURES_FAILED.BAD_LEN, name: 'table feature property' });
const instructionIds = prop({ instructionIds: list(instructionId) });
const tableIds = prop({ tableIds: list(u8) });
const actionIds = prop({ actionIds: list(actionId) });
const oxmIds = prop({ oxmIds: list(oxmId) });
const experimenterProp = prop({ experimenter: hex32, expType: u32, data: rest });

export const TABLE_FEATURE_PROPS = {
  instructions: [0, instructionIds],
  instructions_miss: [1, instructionIds],
  next_tables: [2, tableIds],
  next_tables_miss: [3, tableIds],
  write_actions: [4, actionIds],
  write_actions_miss: [5, actionIds],
  apply_actions: [6, actionIds],
  apply_actions_miss: [7, actionIds],
  match: [8, oxmIds],
  wildcards: [10, oxmIds],
  write_setfield: [12, oxmIds],
  write_setfield_miss: [13, oxmIds],
  apply_setfield: [14, oxmIds],
  apply_setfield_miss: [15, oxmIds],
  experimenter: [0xfffe, experimenterProp],
  experimenter_miss: [0xffff, experimenterProp],
} as const satisfies Record<string, Variant>;

export const tableFeatureProp = tlv({
  name: 'table_feature_prop',
  variants: TABLE_FEATURE_PROPS,
  lenError: ERR.TABLE_FEATURES_FAILED.BAD_LEN,
  typeError: ERR.TABLE_FEATURES_FAILED.BAD_TYPE,
  align: { to: 8, padding: 'outside' },
});
export type TableFeatureProp = Infer<typeof tableFeatureProp>;

export const tableFeatures = struct(
  {
    _length: selfLength16,
    tableId: TABLE_ID.codec,
    _pad: pad(5),
    name: str(32),
    metadataMatch: hex64,
    metadataWrite: hex64,
    config: TABLE_CONFIG.codec,
    maxEntries: u32,
    properties: list(tableFeatureProp),
  },
  { lenError: ERR.TABLE_FEATURES_FAILED.BAD_LEN, name: 'table features' },
);
export type TableFeatures = Infer<typeof tableFeatures>;
