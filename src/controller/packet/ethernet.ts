// Ethernet II frames (IEEE 802.3 clause 3) with any number of 802.1Q / 802.1ad
// VLAN tags (vlan.ts). parseEthernet() reads the header of a frame from a
// packet-in; emitEthernet() builds one for a packet-out.
//
// As a datapath does, a frame too short for a header is not an error: parse
// returns undefined, and a tag cut short ends the tag list with its TPID as
// the ethertype. Nothing here throws on packet bytes.

import { checkUint, get16, get32, macToBytes, macToString, set16, withHeader } from './bytes.ts';
import { isTpid, readVlanTag, VLAN_TAG_LEN, writeVlanTag, type VlanTag } from './vlan.ts';

export const ETHERTYPE = {
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100,
  IPV6: 0x86dd,
  MPLS: 0x8847,
  MPLS_MULTICAST: 0x8848,
  QINQ: 0x88a8,
  LLDP: 0x88cc,
} as const;

export const ETH_HEADER_LEN = 14;

// Offsets in the header.
const F_DST = 0;
const F_SRC = 6;
const F_TYPE = 12;

export interface Ethernet {
  dst: string;
  src: string;
  /** The ethertype after the last VLAN tag: what the payload is. */
  ethertype: number;
  /** Outermost first; empty for an untagged frame. */
  vlans: VlanTag[];
  /** The bytes after the header and tags (a view, not a copy). */
  payload: Uint8Array;
}

/** The colon-separated lower-case text of the 6 bytes at off, as the codec writes MACs. */
export const formatMac = (b: Uint8Array, off = 0): string => macToString(b, off);

/** The 6 bytes at off as one 48-bit integer: a Map key that costs no string to build or hash. */
export const macToNumber = (b: Uint8Array, off = 0): number => get16(b, off) * 0x1_0000_0000 + get32(b, off + 2);

/** A view of a frame's untagged header, checked once to be long enough; a hot path reads it without allocating. */
export class EthernetView {
  private constructor(readonly bytes: Uint8Array) {}

  static of(frame: Uint8Array): EthernetView | undefined {
    return frame.length < ETH_HEADER_LEN ? undefined : new EthernetView(frame);
  }

  get dst(): string {
    return macToString(this.bytes, F_DST);
  }
  get src(): string {
    return macToString(this.bytes, F_SRC);
  }
  /** dst as a number (macToNumber), for keying a table of MACs. */
  get dstKey(): number {
    return macToNumber(this.bytes, F_DST);
  }
  /** src as a number (macToNumber). */
  get srcKey(): number {
    return macToNumber(this.bytes, F_SRC);
  }
  /** The first ethertype: a TPID when the frame is tagged. */
  get ethertype(): number {
    return get16(this.bytes, F_TYPE);
  }
  /** Whether the destination is a group (multicast or broadcast) address. */
  get multicast(): boolean {
    return (this.bytes[F_DST] & 1) === 1;
  }
}

export function parseEthernet(frame: Uint8Array): Ethernet | undefined {
  const view = EthernetView.of(frame);
  if (!view) return undefined;
  const vlans: VlanTag[] = [];
  let off = F_TYPE;
  let ethertype = view.ethertype;
  while (isTpid(ethertype) && off + 2 + VLAN_TAG_LEN <= frame.length) {
    vlans.push(readVlanTag(frame, off));
    off += VLAN_TAG_LEN;
    ethertype = get16(frame, off);
  }
  return { dst: view.dst, src: view.src, ethertype, vlans, payload: frame.subarray(off + 2) };
}

/** The length of the header with its tags. */
export const ethernetLength = (eth: { vlans?: VlanTag[] }): number => ETH_HEADER_LEN + VLAN_TAG_LEN * (eth.vlans?.length ?? 0);

/** The frame for a header and payload; the tags are written outermost first. */
export function emitEthernet(eth: Omit<Ethernet, 'payload' | 'vlans'> & { vlans?: VlanTag[] }, payload: Uint8Array): Uint8Array {
  const out = withHeader(ethernetLength(eth), payload);
  out.set(macToBytes(eth.dst), F_DST);
  out.set(macToBytes(eth.src), F_SRC);
  let off = F_TYPE;
  for (const t of eth.vlans ?? []) {
    writeVlanTag(out, off, t);
    off += VLAN_TAG_LEN;
  }
  checkUint('ethertype', eth.ethertype, 16);
  set16(out, off, eth.ethertype);
  return out;
}
