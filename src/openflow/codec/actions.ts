// Actions (spec 7.2.5) and instructions (7.2.4), and the id-only forms that table
// features list. Each is one row: wire type code and the body after type/len.

import { GROUP_ID, MAX_LEN, METER_ID, PORT_NO, QUEUE_ID, TABLE_ID } from './constants.ts';
import { ERR } from './errors.ts';
import { oxm } from './oxm.ts';
import {
  hex16,
  hex32,
  hex64,
  list,
  pad,
  rest,
  struct,
  tlv,
  trailingPad,
  u32,
  u64,
  u8,
  type Infer,
  type StructCodec,
  type Variant,
} from './schema.ts';

const lenError = ERR.BAD_ACTION.BAD_LEN;
const body = <F extends Parameters<typeof struct>[0]>(fields: F) => struct(fields, { lenError, name: 'action' });
const empty = body({ _pad: pad(4) });
const ethertype = body({ ethertype: hex16, _pad: pad(2) });

export const OFPAT_EXPERIMENTER = 0xffff;

export const ACTIONS = {
  output: [0, body({ port: PORT_NO.codec, maxLen: MAX_LEN.codec, _pad: pad(6) })],
  copy_ttl_out: [11, empty],
  copy_ttl_in: [12, empty],
  set_mpls_ttl: [15, body({ mplsTtl: u8, _pad: pad(3) })],
  dec_mpls_ttl: [16, empty],
  push_vlan: [17, ethertype],
  pop_vlan: [18, empty],
  push_mpls: [19, ethertype],
  pop_mpls: [20, ethertype],
  set_queue: [21, body({ queueId: QUEUE_ID.codec })],
  group: [22, body({ groupId: GROUP_ID.codec })],
  set_nw_ttl: [23, body({ nwTtl: u8, _pad: pad(3) })],
  dec_nw_ttl: [24, empty],
  // Spec 7.4.4 and Open vSwitch: length problems are BAD_SET_LEN, non-zero padding BAD_SET_ARGUMENT.
  set_field: [
    25,
    struct(
      { field: oxm, _pad: trailingPad(8, ERR.BAD_ACTION.BAD_SET_ARGUMENT) },
      { lenError: ERR.BAD_ACTION.BAD_SET_LEN, name: 'action' },
    ),
  ],
  push_pbb: [26, ethertype],
  pop_pbb: [27, empty],
  // Nicira, ONF and other vendors' actions stay opaque: experimenter id and the rest.
  experimenter: [OFPAT_EXPERIMENTER, body({ experimenter: hex32, data: rest })],
} as const satisfies Record<string, Variant>;

export const action = tlv({
  name: 'action',
  variants: ACTIONS,
  lenError,
  typeError: ERR.BAD_ACTION.BAD_TYPE,
  align: { to: 8, padding: 'inside' },
});
export type Action = Infer<typeof action>;

const instr = <F extends Parameters<typeof struct>[0]>(fields: F) =>
  struct(fields, { lenError: ERR.BAD_INSTRUCTION.BAD_LEN, name: 'instruction' });
const actionList = instr({ _pad: pad(4), actions: list(action, lenError) });

export const OFPIT_EXPERIMENTER = 0xffff;

export const INSTRUCTIONS = {
  goto_table: [1, instr({ tableId: TABLE_ID.codec, _pad: pad(3) })],
  write_metadata: [2, instr({ _pad: pad(4), metadata: hex64, metadataMask: hex64 })],
  write_actions: [3, actionList],
  apply_actions: [4, actionList],
  clear_actions: [5, instr({ _pad: pad(4) })],
  meter: [6, instr({ meterId: METER_ID.codec })],
  experimenter: [OFPIT_EXPERIMENTER, instr({ experimenter: hex32, data: rest })],
} as const satisfies Record<string, Variant>;

export const instruction = tlv({
  name: 'instruction',
  variants: INSTRUCTIONS,
  lenError: ERR.BAD_INSTRUCTION.BAD_LEN,
  typeError: ERR.BAD_INSTRUCTION.UNKNOWN_INST,
  align: { to: 8, padding: 'inside' },
});
export type Instruction = Infer<typeof instruction>;

/**
 * The id form of a TLV family, as table features list them: the same type codes
 * with a 4-byte header only, or the experimenter id for experimenter types.
 */
function idsOf<V extends Record<string, Variant>>(variants: V, experimenterCode: number, name: string) {
  const noBody = struct({}, { name });
  const ids = Object.fromEntries(
    Object.entries(variants).map(([k, [code]]) => [
      k,
      [code, code === experimenterCode ? struct({ experimenter: hex32, data: rest }, { name }) : noBody],
    ]),
  ) as unknown as { [K in keyof V]: readonly [number, StructCodec<K extends 'experimenter' ? { experimenter: number; data: Uint8Array } : {}>] };
  return tlv({
    name,
    variants: ids,
    lenError: ERR.TABLE_FEATURES_FAILED.BAD_LEN,
    typeError: ERR.TABLE_FEATURES_FAILED.BAD_ARGUMENT,
    keepUnknown: true,
  });
}

export const actionId = idsOf(ACTIONS, OFPAT_EXPERIMENTER, 'action_id');
export type ActionId = Infer<typeof actionId>;
export const instructionId = idsOf(INSTRUCTIONS, OFPIT_EXPERIMENTER, 'instruction_id');
export type InstructionId = Infer<typeof instructionId>;
