// A minimal pcap writer so that Wireshark's dissectors can check what tsof
// encodes: frames as they are (pcapOfFrames), or OpenFlow messages, each
// payload becoming one Ethernet/IPv4/TCP frame of a single connection, client
// to server on the OpenFlow port, with sequence numbers that follow on from
// each other. Lengths and the IPv4 and TCP checksums are correct,
// so a dissector complaint is about the payload, never the framing.
//
// Format: the classic libpcap file (https://wiki.wireshark.org/Development/LibpcapFileFormat),
// microsecond timestamps, link type 1 (Ethernet).

const LINKTYPE_ETHERNET = 1;
const ETH = 14;
const IP = 20;
const TCP = 20;
const HEADERS = ETH + IP + TCP;

export const OPENFLOW_PORT = 6653;

/** The ones'-complement sum of RFC 1071, folded to 16 bits, not yet inverted. */
function sum16(bytes: Uint8Array, start: number, end: number, acc = 0): number {
  for (let i = start; i < end; i += 2) acc += (bytes[i] << 8) | (i + 1 < end ? bytes[i + 1] : 0);
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return acc;
}

/**
 * One Ethernet frame, 02:00:00:00:00:01 -> 02:00:00:00:00:02, carrying `payload`
 * in a TCP segment 10.0.0.1:srcPort -> 10.0.0.2:dstPort at sequence number `seq`.
 */
export function tcpFrame(payload: Uint8Array, seq: number, srcPort: number, dstPort: number): Uint8Array {
  if (payload.length > 0xffff - IP - TCP) throw new RangeError(`payload of ${payload.length} bytes does not fit an IPv4 packet`);
  const f = new Uint8Array(HEADERS + payload.length);
  const dv = new DataView(f.buffer);
  f.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01], 0); // dst, src: locally administered
  dv.setUint16(12, 0x0800);
  // IPv4: version 4, IHL 5, total length, DF, TTL 64, TCP, 10.0.0.1 -> 10.0.0.2.
  const ip = ETH;
  f[ip] = 0x45;
  dv.setUint16(ip + 2, IP + TCP + payload.length);
  dv.setUint16(ip + 6, 0x4000);
  f[ip + 8] = 64;
  f[ip + 9] = 6;
  f.set([10, 0, 0, 1, 10, 0, 0, 2], ip + 12);
  dv.setUint16(ip + 10, ~sum16(f, ip, ip + IP) & 0xffff);
  // TCP: data offset 5 words, PSH|ACK, a fixed window.
  const tcp = ip + IP;
  dv.setUint16(tcp, srcPort);
  dv.setUint16(tcp + 2, dstPort);
  dv.setUint32(tcp + 4, seq >>> 0);
  dv.setUint32(tcp + 8, 1);
  f[tcp + 12] = 5 << 4;
  f[tcp + 13] = 0x18;
  dv.setUint16(tcp + 14, 0xffff);
  f.set(payload, tcp + TCP);
  // The TCP checksum covers a pseudo-header: addresses, protocol, TCP length.
  const pseudo = sum16(f, ip + 12, ip + 20, 6 + TCP + payload.length);
  dv.setUint16(tcp + 16, ~sum16(f, tcp, f.length, pseudo) & 0xffff);
  return f;
}

/**
 * A pcap file with one frame per payload, all in one TCP stream from an
 * ephemeral port to `port`; frame i is payloads[i], timestamped i ms.
 */
export function pcapOfTcpPayloads(payloads: readonly Uint8Array[], port = OPENFLOW_PORT): Uint8Array {
  const frames = [];
  let seq = 1;
  for (const p of payloads) {
    frames.push(tcpFrame(p, seq, 40000, port));
    seq += p.length;
  }
  return pcapOfFrames(frames);
}

/** A pcap file of Ethernet frames as they are; frame i is timestamped i ms. */
export function pcapOfFrames(frames: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(24 + frames.reduce((n, f) => n + 16 + f.length, 0));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4);
  dv.setUint16(4, 2);
  dv.setUint16(6, 4);
  dv.setUint32(16, 0x40000); // snaplen: every frame whole
  dv.setUint32(20, LINKTYPE_ETHERNET);
  let off = 24;
  frames.forEach((f, i) => {
    dv.setUint32(off, 1_700_000_000 + Math.floor(i / 1000));
    dv.setUint32(off + 4, (i % 1000) * 1000);
    dv.setUint32(off + 8, f.length);
    dv.setUint32(off + 12, f.length);
    out.set(f, off + 16);
    off += 16 + f.length;
  });
  return out;
}
