#!/usr/bin/python3
"""os-ken side of the codec benchmark (bench/codec.ts runs it).

Usage:  /usr/bin/python3 bench/osken_codec.py < REQUESTS

REQUESTS: JSON lines {"hex": <message bytes>, "op": "decode" | "encode",
"seconds": <float>}.  For each, os-ken decodes or encodes the message for
SECONDS (time-based loop; the clock is read once per batch, batch size
doubles until a batch takes >= ~5 ms) and one JSON line is written to stdout:
  {"per_s": <messages/second or null>, "via": ..., "error": <str or null>}
The process serves requests until stdin ends, so that bench/codec.ts can
alternate short slices of tsof and os-ken on the same bytes (a message is
prepared once, on its first request).

  decode: os_ken.ofproto.ofproto_parser.msg(dp, version, type, len, xid, buf)
          (via "osken"); for controller->switch types os-ken has no parser,
          so the component-based fallback from test/interop/osken_parse.py
          is timed instead (via "fallback").
  encode: the object is built once by decoding, then encoded repeatedly.
          Where os-ken has a serializer (controller->switch types), that is
          msg.serialize() (via "osken"): MsgBase.serialize() starts with
          _serialize_pre(), which replaces msg.buf with a fresh header-sized
          bytearray, and every component (OFPMatch, actions, instructions,
          buckets, bands, properties) re-packs itself, so each iteration
          does the full work.  For switch->controller types os-ken has none
          (os-ken 2.5's OFPPacketIn has no _serialize_body:
          OFPPacketIn(...).serialize() writes only the 8-byte header), so a
          packer built from os-ken's pieces is timed (via "packer"): for
          PACKET_IN and FLOW stats replies the functions below, written in
          the idiom of os-ken's own serializers (OFPFlowMod, OFPPacketOut:
          msg_pack_into into one bytearray, OFPMatch and instruction
          serialize() in place) and called directly; for other types
          osken_gen.pack_msg(), whose per-call type dispatch and copies make
          it slower than os-ken would be.
"""

import functools
import json
import os
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'test', 'interop'))

import osken_gen  # noqa: E402
import osken_parse  # noqa: E402
from os_ken.lib.pack_utils import msg_pack_into  # noqa: E402
from os_ken.ofproto import ofproto_parser  # noqa: E402
from os_ken.ofproto import ofproto_v1_3 as ofp  # noqa: E402
from os_ken.ofproto import ofproto_v1_3_parser as parser  # noqa: E402

DP = osken_gen.DP
perf = time.perf_counter


def _pack_header(msg, buf):
    struct.pack_into(ofp.OFP_HEADER_PACK_STR, buf, 0, ofp.OFP_VERSION,
                     msg.cls_msg_type, len(buf), msg.xid)


def pack_packet_in(msg):
    buf = bytearray(ofp.OFP_HEADER_SIZE)
    msg_pack_into(ofp.OFP_PACKET_IN_PACK_STR, buf, ofp.OFP_HEADER_SIZE,
                  msg.buffer_id, msg.total_len, msg.reason, msg.table_id,
                  msg.cookie)
    offset = ofp.OFP_PACKET_IN_SIZE - ofp.OFP_MATCH_SIZE
    msg.match.serialize(buf, offset)
    buf += b'\0\0'
    buf += msg.data
    _pack_header(msg, buf)
    return buf


def pack_flow_stats_reply(msg):
    buf = bytearray(ofp.OFP_HEADER_SIZE)
    msg_pack_into(ofp.OFP_MULTIPART_REPLY_PACK_STR, buf,
                  ofp.OFP_HEADER_SIZE, msg.cls_stats_type, msg.flags)
    for fs in msg.body:
        start = len(buf)
        offset = start + ofp.OFP_FLOW_STATS_0_SIZE
        offset += fs.match.serialize(buf, offset)
        for inst in fs.instructions:
            inst.serialize(buf, offset)
            offset += inst.len
        msg_pack_into(ofp.OFP_FLOW_STATS_0_PACK_STR, buf, start,
                      offset - start, fs.table_id, fs.duration_sec,
                      fs.duration_nsec, fs.priority, fs.idle_timeout,
                      fs.hard_timeout, fs.flags, fs.cookie,
                      fs.packet_count, fs.byte_count)
    _pack_header(msg, buf)
    return buf


# Direct packers for the switch->controller messages the benchmark times.
PACKERS = {
    parser.OFPPacketIn: pack_packet_in,
    parser.OFPFlowStatsReply: pack_flow_stats_reply,
}


def rate(fn, seconds):
    fn()  # warm-up (also surfaces exceptions before timing)
    n = 0
    batch = 1
    start = perf()
    deadline = start + seconds
    while True:
        t0 = perf()
        for _ in range(batch):
            fn()
        n += batch
        now = perf()
        if now >= deadline:
            break
        if now - t0 < 0.005:
            batch *= 2
    return n / (now - start)


def prepare(buf):
    """{op: (function to time, via)} for one message; raises if os-ken cannot."""
    msg, kind = osken_parse.decode_with_timeout(buf)
    version, msg_type, msg_len, xid = ofproto_parser.header(buf)
    if kind == 'osken':
        def dec():
            return ofproto_parser.msg(DP, version, msg_type, msg_len, xid,
                                      buf)
    else:
        def dec():
            return osken_parse.fallback_parse(version, msg_type, msg_len,
                                              xid, buf)
    if osken_gen.has_native_serializer(msg):
        via = 'osken'
        enc = msg.serialize
        msg.serialize()
        out = msg.buf
    else:
        via = 'packer'
        enc = functools.partial(PACKERS.get(type(msg), osken_gen.pack_msg),
                                msg)
        out = enc()
        out = out[0] if isinstance(out, tuple) else out
    if bytes(out) != buf:
        raise ValueError('encode output differs from input bytes')
    return {'decode': (dec, kind), 'encode': (enc, via)}


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    prepared = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        res = {'per_s': None, 'via': None, 'error': None}
        try:
            if req['hex'] not in prepared:
                prepared[req['hex']] = prepare(bytes.fromhex(req['hex']))
            fn, res['via'] = prepared[req['hex']][req['op']]
            res['per_s'] = rate(fn, float(req['seconds']))
        except Exception as e:
            res['error'] = '%s: %s' % (type(e).__name__, e)
        sys.stdout.write(json.dumps(res) + '\n')
        sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
