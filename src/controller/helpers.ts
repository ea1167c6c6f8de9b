// Shorthands for the messages apps send most, with the defaults of the spec
// filled in, and a typed reader for match fields. Builders that check
// prerequisites and instruction order at the type level are still to come
// (issue 5); these only save the typing of defaults.

import {
  OFP_NO_BUFFER,
  OFPFC,
  OFPG,
  OFPP,
  type Action,
  type Instruction,
  type Match,
  type MessageOf,
  type OxmBasic,
  type OxmFieldName,
} from '../openflow/codec/index.ts';
import type { Outgoing } from './switch.ts';

/** The priority the spec gives a flow_mod that does not choose one. */
export const OFP_DEFAULT_PRIORITY = 0x8000;

type FlowMod = Outgoing<MessageOf<'flow_mod'>>;

/**
 * A flow_mod (ADD unless command says otherwise). `actions` is shorthand for a
 * single apply_actions instruction; give `instructions` for anything else.
 */
export function flowMod(f: Partial<Omit<FlowMod, 'type'>> & { actions?: Action[] }): FlowMod {
  const { actions, ...rest } = f;
  const instructions: Instruction[] = actions ? [{ type: 'apply_actions', actions }] : [];
  return {
    type: 'flow_mod',
    cookie: 0n,
    cookieMask: 0n,
    tableId: 0,
    command: OFPFC.ADD,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: OFP_DEFAULT_PRIORITY,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: 0,
    match: [],
    instructions,
    ...rest,
  };
}

/** A packet_out of `data`, or of the packet the switch buffered when bufferId is given. */
export function packetOut(p: {
  actions: Action[];
  inPort?: number;
  bufferId?: number;
  data?: Uint8Array;
}): Outgoing<MessageOf<'packet_out'>> {
  const bufferId = p.bufferId ?? OFP_NO_BUFFER;
  return {
    type: 'packet_out',
    bufferId,
    inPort: p.inPort ?? OFPP.CONTROLLER,
    actions: p.actions,
    // A buffered packet is sent as the switch holds it; data would be ignored.
    data: bufferId === OFP_NO_BUFFER ? (p.data ?? new Uint8Array(0)) : new Uint8Array(0),
  };
}

/** The value of one field of a match: matchField(msg.match, 'in_port') is a number or undefined. */
export function matchField<K extends OxmFieldName>(match: Match, field: K): FieldValue<K> | undefined {
  for (const f of match) if (f.field === field) return (f as OxmBasic).value as FieldValue<K>;
  return undefined;
}

type FieldValue<K extends OxmFieldName> = { [F in OxmBasic as F['field']]: F['value'] }[K];
