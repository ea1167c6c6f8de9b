// IEEE 802.1Q VLAN tags (clause 9.6): a TPID (0x8100 for a C-tag, 0x88a8 for an
// 802.1ad S-tag) and a TCI of priority (PCP), drop eligibility (DEI) and VLAN
// id. A tag sits between the source MAC and the ethertype; ethernet.ts reads
// and writes any number of them through the two functions here.

import { checkUint, get16, set16 } from './bytes.ts';

export const TPID = { CTAG: 0x8100, STAG: 0x88a8 } as const;
/** TPID and TCI. */
export const VLAN_TAG_LEN = 4;

// Offsets in a tag, from its TPID.
const F_TPID = 0;
const F_TCI = 2;

export interface VlanTag {
  /** 0x8100 (C-tag) or 0x88a8 (S-tag). */
  tpid: number;
  pcp: number;
  dei: number;
  vid: number;
}

export const isTpid = (ethertype: number): boolean => ethertype === TPID.CTAG || ethertype === TPID.STAG;

/** The tag whose TPID is at `off`; the caller has checked that 4 bytes are there. */
export function readVlanTag(b: Uint8Array, off: number): VlanTag {
  const tci = get16(b, off + F_TCI);
  return { tpid: get16(b, off + F_TPID), pcp: tci >> 13, dei: (tci >> 12) & 1, vid: tci & 0xfff };
}

/** Writes a tag at `off`; throws RangeError for a field out of range. */
export function writeVlanTag(b: Uint8Array, off: number, t: VlanTag): void {
  checkUint('VLAN tpid', t.tpid, 16);
  checkUint('VLAN pcp', t.pcp, 3);
  checkUint('VLAN dei', t.dei, 1);
  checkUint('VLAN vid', t.vid, 12);
  set16(b, off + F_TPID, t.tpid);
  set16(b, off + F_TCI, (t.pcp << 13) | (t.dei << 12) | t.vid);
}
