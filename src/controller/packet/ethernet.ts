// Ethernet II frames (IEEE 802.3 clause 3) with any number of 802.1Q / 802.1ad
// VLAN tags (IEEE 802.1Q clause 9). parseEthernet() reads the header of a frame
// from a packet-in; emitEthernet() builds one for a packet-out.
//
// As a datapath does, a frame too short for a header is not an error: parse
// returns undefined, and a tag cut short ends the tag list with its TPID as
// the ethertype. Nothing here throws on packet bytes.

import { macToBytes } from '../../openflow/codec/index.ts';

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
const TAG_LEN = 4;

export interface VlanTag {
  /** 0x8100 (C-tag) or 0x88a8 (S-tag). */
  tpid: number;
  pcp: number;
  dei: number;
  vid: number;
}

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

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** The colon-separated lower-case text of the 6 bytes at off, as the codec writes MACs. */
export function formatMac(b: Uint8Array, off = 0): string {
  return `${HEX[b[off]]}:${HEX[b[off + 1]]}:${HEX[b[off + 2]]}:${HEX[b[off + 3]]}:${HEX[b[off + 4]]}:${HEX[b[off + 5]]}`;
}

export function parseEthernet(frame: Uint8Array): Ethernet | undefined {
  if (frame.length < ETH_HEADER_LEN) return undefined;
  const vlans: VlanTag[] = [];
  let off = 12;
  let ethertype = (frame[off] << 8) | frame[off + 1];
  while ((ethertype === ETHERTYPE.VLAN || ethertype === ETHERTYPE.QINQ) && off + 2 + TAG_LEN <= frame.length) {
    const tci = (frame[off + 2] << 8) | frame[off + 3];
    vlans.push({ tpid: ethertype, pcp: tci >> 13, dei: (tci >> 12) & 1, vid: tci & 0xfff });
    off += TAG_LEN;
    ethertype = (frame[off] << 8) | frame[off + 1];
  }
  return { dst: formatMac(frame, 0), src: formatMac(frame, 6), ethertype, vlans, payload: frame.subarray(off + 2) };
}

/** The frame for a header and payload; the tags are written outermost first. */
export function emitEthernet(eth: Omit<Ethernet, 'payload' | 'vlans'> & { vlans?: VlanTag[] }, payload: Uint8Array): Uint8Array {
  const vlans = eth.vlans ?? [];
  const head = ETH_HEADER_LEN + TAG_LEN * vlans.length;
  const out = new Uint8Array(head + payload.length);
  const dv = new DataView(out.buffer);
  out.set(macToBytes(eth.dst), 0);
  out.set(macToBytes(eth.src), 6);
  let off = 12;
  for (const t of vlans) {
    dv.setUint16(off, t.tpid);
    dv.setUint16(off + 2, (t.pcp << 13) | (t.dei << 12) | t.vid);
    off += TAG_LEN;
  }
  dv.setUint16(off, eth.ethertype);
  out.set(payload, head);
  return out;
}
