// TCP (RFC 9293) headers. The representation keeps the options as raw bytes
// (padding and all, so a parsed segment builds back to the same bytes) and
// tcpOptions() lists them; the 12 bits after the data offset are kept whole
// as flags, reserved bits included. The checksum, with the pseudo-header, is
// computed on build and only reported on parse (view.checksumOk).

import { checkUint, get16, get32, set16, set32, transportChecksum, withHeader, type IpAddresses } from './bytes.ts';
import { IP_PROTO } from './ipv4.ts';

export const TCP_HEADER_LEN = 20;
export const TCP_FLAG = { FIN: 0x001, SYN: 0x002, RST: 0x004, PSH: 0x008, ACK: 0x010, URG: 0x020, ECE: 0x040, CWR: 0x080, AE: 0x100 } as const;
export const TCP_OPTION = { END: 0, NOP: 1, MSS: 2, WINDOW_SCALE: 3, SACK_PERMITTED: 4, SACK: 5, TIMESTAMPS: 8 } as const;

// Offsets in the header.
const F_SRC_PORT = 0;
const F_DST_PORT = 2;
const F_SEQ = 4;
const F_ACK = 8;
const F_OFF_FLAGS = 12;
const F_WINDOW = 14;
const F_CHECKSUM = 16;
const F_URGENT = 18;

export class TcpView {
  private constructor(readonly bytes: Uint8Array) {}

  /** A view when the header, options included, is there. */
  static of(b: Uint8Array): TcpView | undefined {
    if (b.length < TCP_HEADER_LEN) return undefined;
    const hlen = (b[F_OFF_FLAGS] >> 4) * 4;
    return hlen < TCP_HEADER_LEN || hlen > b.length ? undefined : new TcpView(b);
  }

  get srcPort(): number {
    return get16(this.bytes, F_SRC_PORT);
  }
  get dstPort(): number {
    return get16(this.bytes, F_DST_PORT);
  }
  get seq(): number {
    return get32(this.bytes, F_SEQ);
  }
  get ack(): number {
    return get32(this.bytes, F_ACK);
  }
  get headerLength(): number {
    return (this.bytes[F_OFF_FLAGS] >> 4) * 4;
  }
  get flags(): number {
    return get16(this.bytes, F_OFF_FLAGS) & 0xfff;
  }
  get window(): number {
    return get16(this.bytes, F_WINDOW);
  }
  get checksum(): number {
    return get16(this.bytes, F_CHECKSUM);
  }
  get urgent(): number {
    return get16(this.bytes, F_URGENT);
  }
  get options(): Uint8Array {
    return this.bytes.subarray(TCP_HEADER_LEN, this.headerLength);
  }
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLength);
  }
  /** Over the whole segment: pass the bytes the IP header's length covers, not a capture cut short. */
  checksumOk(ip: IpAddresses): boolean {
    return transportChecksum(this.bytes, ip, IP_PROTO.TCP) === 0;
  }
}

export interface Tcp {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** TCP_FLAG bits, and the reserved ones as they were. */
  flags: number;
  window: number;
  urgent: number;
  /** As on the wire, padded to a multiple of 4 bytes. */
  options: Uint8Array;
  payload: Uint8Array;
}

/** What emitTcp needs: the ports; seq, ack, flags and urgent default to 0, window to 65535. */
export type TcpFields = Pick<Tcp, 'srcPort' | 'dstPort'> & Partial<Omit<Tcp, 'payload'>>;

export function parseTcp(b: Uint8Array): Tcp | undefined {
  const v = TcpView.of(b);
  if (!v) return undefined;
  return {
    srcPort: v.srcPort,
    dstPort: v.dstPort,
    seq: v.seq,
    ack: v.ack,
    flags: v.flags,
    window: v.window,
    urgent: v.urgent,
    options: v.options,
    payload: v.payload,
  };
}

export const tcpLength = (tcp: { options?: Uint8Array }): number => TCP_HEADER_LEN + (tcp.options?.length ?? 0);

export function emitTcp(tcp: TcpFields, payload: Uint8Array, ip: IpAddresses): Uint8Array {
  const { seq = 0, ack = 0, flags = 0, window = 0xffff, urgent = 0, options = new Uint8Array(0) } = tcp;
  if (options.length % 4 || options.length > 40) throw new RangeError(`TCP options must be a multiple of 4 bytes, at most 40; got ${options.length}`);
  checkUint('TCP srcPort', tcp.srcPort, 16);
  checkUint('TCP dstPort', tcp.dstPort, 16);
  checkUint('TCP seq', seq, 32);
  checkUint('TCP ack', ack, 32);
  checkUint('TCP flags', flags, 12);
  checkUint('TCP window', window, 16);
  checkUint('TCP urgent', urgent, 16);
  const hlen = tcpLength(tcp);
  const out = withHeader(hlen, payload);
  set16(out, F_SRC_PORT, tcp.srcPort);
  set16(out, F_DST_PORT, tcp.dstPort);
  set32(out, F_SEQ, seq);
  set32(out, F_ACK, ack);
  set16(out, F_OFF_FLAGS, ((hlen / 4) << 12) | flags);
  set16(out, F_WINDOW, window);
  set16(out, F_URGENT, urgent);
  out.set(options, TCP_HEADER_LEN);
  set16(out, F_CHECKSUM, transportChecksum(out, ip, IP_PROTO.TCP));
  return out;
}

/**
 * The options as kind and data (without kind and length bytes), up to END;
 * unknown kinds are kept. Stops at an option whose length does not fit.
 */
export function tcpOptions(options: Uint8Array): { kind: number; data: Uint8Array }[] {
  const out: { kind: number; data: Uint8Array }[] = [];
  for (let i = 0; i < options.length; ) {
    const kind = options[i];
    if (kind === TCP_OPTION.END) break;
    if (kind === TCP_OPTION.NOP) {
      i++;
      continue;
    }
    const len = options[i + 1];
    if (i + 1 >= options.length || len < 2 || i + len > options.length) break;
    out.push({ kind, data: options.subarray(i + 2, i + len) });
    i += len;
  }
  return out;
}
