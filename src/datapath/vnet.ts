// The virtio-net header as the addon passes it with a frame (Linux
// include/uapi/linux/virtio_net.h, struct virtio_net_hdr): 10 bytes, in the
// host's byte order, as packet sockets and legacy virtio use it.

import { endianness } from 'node:os';
import type { VnetHeader } from './types.ts';

export const VNET_HDR_LEN = 10;

const LE = endianness() === 'LE';

export function encodeVnet(h: VnetHeader): Uint8Array {
  const b = new Uint8Array(VNET_HDR_LEN);
  const v = new DataView(b.buffer);
  v.setUint8(0, h.flags);
  v.setUint8(1, h.gsoType);
  v.setUint16(2, h.hdrLen, LE);
  v.setUint16(4, h.gsoSize, LE);
  v.setUint16(6, h.csumStart, LE);
  v.setUint16(8, h.csumOffset, LE);
  return b;
}

export function decodeVnet(b: Uint8Array): VnetHeader {
  const v = new DataView(b.buffer, b.byteOffset, VNET_HDR_LEN);
  return {
    flags: v.getUint8(0),
    gsoType: v.getUint8(1),
    hdrLen: v.getUint16(2, LE),
    gsoSize: v.getUint16(4, LE),
    csumStart: v.getUint16(6, LE),
    csumOffset: v.getUint16(8, LE),
  };
}
