// Every OpenFlow 1.3.5 error type and code (spec section 7.4.4), described once.
// The table drives the constants the codec returns (ERR.BAD_REQUEST.BAD_LEN), the
// names the printer shows (OFPBRC_BAD_LEN) and the codec's error-message bodies.

export interface OfErrorCode {
  readonly type: number;
  /** exp_type for OFPET_EXPERIMENTER. */
  readonly code: number;
  /** OFPET_EXPERIMENTER only: whose error it is. */
  readonly experimenter?: number;
}

/** [wire type, prefix of the code names in the spec, code names in wire order] */
const TABLE = {
  HELLO_FAILED: [0, 'OFPHFC', ['INCOMPATIBLE', 'EPERM']],
  BAD_REQUEST: [1, 'OFPBRC', ['BAD_VERSION', 'BAD_TYPE', 'BAD_MULTIPART', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'EPERM', 'BAD_LEN', 'BUFFER_EMPTY', 'BUFFER_UNKNOWN', 'BAD_TABLE_ID', 'IS_SLAVE', 'BAD_PORT', 'BAD_PACKET', 'MULTIPART_BUFFER_OVERFLOW']],
  BAD_ACTION: [2, 'OFPBAC', ['BAD_TYPE', 'BAD_LEN', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'BAD_OUT_PORT', 'BAD_ARGUMENT', 'EPERM', 'TOO_MANY', 'BAD_QUEUE', 'BAD_OUT_GROUP', 'MATCH_INCONSISTENT', 'UNSUPPORTED_ORDER', 'BAD_TAG', 'BAD_SET_TYPE', 'BAD_SET_LEN', 'BAD_SET_ARGUMENT']],
  BAD_INSTRUCTION: [3, 'OFPBIC', ['UNKNOWN_INST', 'UNSUP_INST', 'BAD_TABLE_ID', 'UNSUP_METADATA', 'UNSUP_METADATA_MASK', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'BAD_LEN', 'EPERM']],
  BAD_MATCH: [4, 'OFPBMC', ['BAD_TYPE', 'BAD_LEN', 'BAD_TAG', 'BAD_DL_ADDR_MASK', 'BAD_NW_ADDR_MASK', 'BAD_WILDCARDS', 'BAD_FIELD', 'BAD_VALUE', 'BAD_MASK', 'BAD_PREREQ', 'DUP_FIELD', 'EPERM']],
  FLOW_MOD_FAILED: [5, 'OFPFMFC', ['UNKNOWN', 'TABLE_FULL', 'BAD_TABLE_ID', 'OVERLAP', 'EPERM', 'BAD_TIMEOUT', 'BAD_COMMAND', 'BAD_FLAGS']],
  GROUP_MOD_FAILED: [6, 'OFPGMFC', ['GROUP_EXISTS', 'INVALID_GROUP', 'WEIGHT_UNSUPPORTED', 'OUT_OF_GROUPS', 'OUT_OF_BUCKETS', 'CHAINING_UNSUPPORTED', 'WATCH_UNSUPPORTED', 'LOOP', 'UNKNOWN_GROUP', 'CHAINED_GROUP', 'BAD_TYPE', 'BAD_COMMAND', 'BAD_BUCKET', 'BAD_WATCH', 'EPERM']],
  PORT_MOD_FAILED: [7, 'OFPPMFC', ['BAD_PORT', 'BAD_HW_ADDR', 'BAD_CONFIG', 'BAD_ADVERTISE', 'EPERM']],
  TABLE_MOD_FAILED: [8, 'OFPTMFC', ['BAD_TABLE', 'BAD_CONFIG', 'EPERM']],
  QUEUE_OP_FAILED: [9, 'OFPQOFC', ['BAD_PORT', 'BAD_QUEUE', 'EPERM']],
  SWITCH_CONFIG_FAILED: [10, 'OFPSCFC', ['BAD_FLAGS', 'BAD_LEN', 'EPERM']],
  ROLE_REQUEST_FAILED: [11, 'OFPRRFC', ['STALE', 'UNSUP', 'BAD_ROLE']],
  METER_MOD_FAILED: [12, 'OFPMMFC', ['UNKNOWN', 'METER_EXISTS', 'INVALID_METER', 'UNKNOWN_METER', 'BAD_COMMAND', 'BAD_FLAGS', 'BAD_RATE', 'BAD_BURST', 'BAD_BAND', 'BAD_BAND_VALUE', 'OUT_OF_METERS', 'OUT_OF_BANDS']],
  TABLE_FEATURES_FAILED: [13, 'OFPTFFC', ['BAD_TABLE', 'BAD_METADATA', 'BAD_TYPE', 'BAD_LEN', 'BAD_ARGUMENT', 'EPERM']],
} as const;

/** OFPET_EXPERIMENTER: the body carries an experimenter id and its own type. */
export const OFPET_EXPERIMENTER = 0xffff;

/** ONF's experimenter id ("ONF\0"), of its OpenFlow 1.3 extensions' messages and errors. */
export const ONF_EXPERIMENTER = 0x4f4e4600;

/**
 * OpenFlow 1.4's bundle failures (OFPET_BUNDLE_FAILED's OFPBFC_* codes in wire
 * order), which ONF's bundle extension for 1.3 (EXT-230, bundle.ts) sends as
 * OFPET_EXPERIMENTER errors of ONF with exp_type 2300 + the 1.4 code.
 */
const ONF_BUNDLE_CODES = [
  'UNKNOWN', 'EPERM', 'BAD_ID', 'BUNDLE_EXIST', 'BUNDLE_CLOSED', 'OUT_OF_BUNDLES', 'BAD_TYPE', 'BAD_FLAGS',
  'MSG_BAD_LEN', 'MSG_BAD_XID', 'MSG_UNSUP', 'MSG_CONFLICT', 'MSG_TOO_MANY', 'MSG_FAILED', 'TIMEOUT', 'BUNDLE_IN_PROGRESS',
] as const;
const ONF_BUNDLE_BASE = 2300;

/** BUNDLE_ERR.MSG_FAILED is { type: OFPET_EXPERIMENTER, code: 2313, experimenter: ONF_EXPERIMENTER }. */
export const BUNDLE_ERR = Object.fromEntries(
  ONF_BUNDLE_CODES.map((c, i) => [c, Object.freeze({ type: OFPET_EXPERIMENTER, code: ONF_BUNDLE_BASE + i, experimenter: ONF_EXPERIMENTER })]),
) as unknown as { readonly [K in (typeof ONF_BUNDLE_CODES)[number]]: OfErrorCode };

type Table = typeof TABLE;
type Codes<T extends readonly string[]> = { readonly [K in T[number]]: OfErrorCode };
export type ErrorConstants = { readonly [K in keyof Table]: Codes<Table[K][2]> & { readonly type: number } };

/** ERR.BAD_MATCH.BAD_FIELD is { type: 4, code: 6 }; ERR.BAD_MATCH.type is 4. */
export const ERR = Object.fromEntries(
  Object.entries(TABLE).map(([name, [type, , codes]]) => [
    name,
    Object.freeze({ type, ...Object.fromEntries(codes.map((c, code) => [c, Object.freeze({ type, code })])) }),
  ]),
) as unknown as ErrorConstants;

const byType = new Map<number, { name: string; prefix: string; codes: readonly string[] }>(
  Object.entries(TABLE).map(([name, [type, prefix, codes]]) => [type, { name, prefix, codes }]),
);

/** OFPET_BAD_MATCH, or the number when the type is unknown (it still round-trips). */
export function errorTypeName(type: number): string {
  if (type === OFPET_EXPERIMENTER) return 'OFPET_EXPERIMENTER';
  const t = byType.get(type);
  return t ? `OFPET_${t.name}` : `type ${type}`;
}

/** OFPBMC_BAD_FIELD, or the number when the code is unknown for that type. */
export function errorCodeName(type: number, code: number): string {
  const t = byType.get(type);
  const c = t?.codes[code];
  return t && c ? `${t.prefix}_${c}` : `code ${code}`;
}

export function errorName(e: OfErrorCode): string {
  if (e.type === OFPET_EXPERIMENTER) {
    const bundle = e.experimenter === ONF_EXPERIMENTER ? ONF_BUNDLE_CODES[e.code - ONF_BUNDLE_BASE] : undefined;
    return `OFPET_EXPERIMENTER/${bundle ? `OFPBFC_${bundle}` : `exp_type ${e.code} experimenter 0x${(e.experimenter ?? 0).toString(16)}`}`;
  }
  return `${errorTypeName(e.type)}/${errorCodeName(e.type, e.code)}`;
}

/** Every known (type, code) pair, for tests and for tools that list them. */
export function allErrorCodes(): OfErrorCode[] {
  return [...byType.entries()].flatMap(([type, t]) => t.codes.map((_, code) => ({ type, code })));
}

export function ofError(type: number, code: number): OfErrorCode {
  return { type, code };
}
