// LLDP (IEEE 802.1AB-2016 clause 8): a sequence of TLVs, each with a 7-bit type
// and a 9-bit length, that must start with Chassis ID, Port ID and Time To
// Live and end with End Of LLDPDU. The view walks the TLVs once and checks
// that they fit and come in that order; the representation names the three
// mandatory ones and keeps every other TLV in order as type and bytes, so
// unknown and organizationally specific TLVs survive a round trip.

import { checkUint, get16, set16 } from './bytes.ts';

export const LLDP_TLV = {
  END: 0,
  CHASSIS_ID: 1,
  PORT_ID: 2,
  TTL: 3,
  PORT_DESCRIPTION: 4,
  SYSTEM_NAME: 5,
  SYSTEM_DESCRIPTION: 6,
  SYSTEM_CAPABILITIES: 7,
  MANAGEMENT_ADDRESS: 8,
  ORGANIZATIONALLY_SPECIFIC: 127,
} as const;
/** Subtypes of the Chassis ID TLV (clause 8.5.2.2). */
export const LLDP_CHASSIS_SUBTYPE = { CHASSIS_COMPONENT: 1, INTERFACE_ALIAS: 2, PORT_COMPONENT: 3, MAC_ADDRESS: 4, NETWORK_ADDRESS: 5, INTERFACE_NAME: 6, LOCAL: 7 } as const;
/** Subtypes of the Port ID TLV (clause 8.5.3.2). */
export const LLDP_PORT_SUBTYPE = { INTERFACE_ALIAS: 1, PORT_COMPONENT: 2, MAC_ADDRESS: 3, NETWORK_ADDRESS: 4, INTERFACE_NAME: 5, AGENT_CIRCUIT_ID: 6, LOCAL: 7 } as const;
/** The nearest-bridge group address LLDP frames go to; bridges do not forward it. */
export const LLDP_MAC_NEAREST_BRIDGE = '01:80:c2:00:00:0e';

const TLV_HEADER_LEN = 2;

export interface LldpTlv {
  type: number;
  value: Uint8Array;
}

/** A Chassis ID or Port ID: a subtype and the id, whose form the subtype says (a MAC, a name...). */
export interface LldpId {
  subtype: number;
  id: Uint8Array;
}

export interface Lldp {
  chassisId: LldpId;
  portId: LldpId;
  /** Seconds the receiver may keep the information; 0 withdraws it. */
  ttl: number;
  /** The TLVs between Time To Live and End, in order. */
  tlvs: LldpTlv[];
}

export class LldpView {
  private constructor(
    readonly bytes: Uint8Array,
    /** Offset of each TLV's header, End excluded. */
    private readonly starts: number[],
  ) {}

  /** A view when every TLV fits, the mandatory three come first with their lengths, and End is there. */
  static of(b: Uint8Array): LldpView | undefined {
    const starts: number[] = [];
    for (let off = 0; off + TLV_HEADER_LEN <= b.length; ) {
      const type = b[off] >> 1;
      const len = get16(b, off) & 0x1ff;
      if (off + TLV_HEADER_LEN + len > b.length) return undefined;
      if (type === LLDP_TLV.END) return starts.length >= 3 ? new LldpView(b, starts) : undefined;
      const n = starts.length;
      if (n < 3 && type !== n + 1) return undefined;
      if ((n === 0 || n === 1) && (len < 2 || len > 256)) return undefined;
      if (n === 2 && len !== 2) return undefined;
      starts.push(off);
      off += TLV_HEADER_LEN + len;
    }
    return undefined;
  }

  get count(): number {
    return this.starts.length;
  }
  type(i: number): number {
    return this.bytes[this.starts[i]] >> 1;
  }
  value(i: number): Uint8Array {
    const off = this.starts[i];
    return this.bytes.subarray(off + TLV_HEADER_LEN, off + TLV_HEADER_LEN + (get16(this.bytes, off) & 0x1ff));
  }
  get ttl(): number {
    return get16(this.value(2), 0);
  }
}

const idOf = (v: Uint8Array): LldpId => ({ subtype: v[0], id: v.subarray(1) });

export function parseLldp(b: Uint8Array): Lldp | undefined {
  const v = LldpView.of(b);
  if (!v) return undefined;
  const tlvs: LldpTlv[] = [];
  for (let i = 3; i < v.count; i++) tlvs.push({ type: v.type(i), value: v.value(i) });
  return { chassisId: idOf(v.value(0)), portId: idOf(v.value(1)), ttl: v.ttl, tlvs };
}

/** An id as emitLldp takes it: bytes, or text written as UTF-8. */
export type LldpIdFields = { subtype: number; id: Uint8Array | string };
export type LldpFields = { chassisId: LldpIdFields; portId: LldpIdFields; ttl: number; tlvs?: LldpTlv[] };

const utf8 = new TextEncoder();
const bytesOf = (id: Uint8Array | string) => (typeof id === 'string' ? utf8.encode(id) : id);

function tlvsOf(l: LldpFields): LldpTlv[] {
  const id = (x: LldpIdFields) => Uint8Array.of(x.subtype, ...bytesOf(x.id));
  const ttl = new Uint8Array(2);
  checkUint('LLDP ttl', l.ttl, 16);
  set16(ttl, 0, l.ttl);
  return [
    { type: LLDP_TLV.CHASSIS_ID, value: id(l.chassisId) },
    { type: LLDP_TLV.PORT_ID, value: id(l.portId) },
    { type: LLDP_TLV.TTL, value: ttl },
    ...(l.tlvs ?? []),
    { type: LLDP_TLV.END, value: new Uint8Array(0) },
  ];
}

const sizeOf = (tlvs: LldpTlv[]) => tlvs.reduce((n, t) => n + TLV_HEADER_LEN + t.value.length, 0);

export const lldpLength = (l: LldpFields): number => sizeOf(tlvsOf(l));

/** The LLDPDU, End TLV included; throws RangeError for an id or TLV that does not fit. */
export function emitLldp(l: LldpFields): Uint8Array {
  const tlvs = tlvsOf(l);
  for (const [i, t] of tlvs.entries()) {
    checkUint('LLDP TLV type', t.type, 7);
    checkUint('LLDP TLV length', t.value.length, 9);
    if (i < 2 && (t.value.length < 2 || t.value.length > 256)) throw new RangeError('an LLDP chassis or port id has 1 to 255 bytes');
    if (i >= 3 && i < tlvs.length - 1 && t.type <= LLDP_TLV.TTL) throw new RangeError(`LLDP TLV type ${t.type} may only come first or last`);
  }
  const out = new Uint8Array(sizeOf(tlvs));
  let off = 0;
  for (const t of tlvs) {
    set16(out, off, (t.type << 9) | t.value.length);
    out.set(t.value, off + TLV_HEADER_LEN);
    off += TLV_HEADER_LEN + t.value.length;
  }
  return out;
}

/** An LLDP id or TLV value as text (system names, interface names, the ids tsof's discovery sends). */
export const lldpText = (b: Uint8Array): string => new TextDecoder().decode(b);

