// A packet_out with the spec's defaults filled in, and a typed reader for the
// fields of a match (a packet-in's, a flow-removed's). The builders of flows,
// groups and meters are in flows.ts and match.ts.

import {
  OFP_NO_BUFFER,
  OFPP,
  type Action,
  type Match,
  type MessageOf,
  type OxmBasic,
  type OxmFieldName,
} from '../openflow/codec/index.ts';
import type { ValueOf } from './match.ts';
import type { Outgoing } from '../openflow/channel/index.ts';

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
export function matchField<K extends OxmFieldName>(match: Match, field: K): ValueOf<K> | undefined {
  for (const f of match) if (f.field === field) return (f as OxmBasic).value as ValueOf<K>;
  return undefined;
}
