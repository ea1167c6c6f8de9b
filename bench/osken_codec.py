#!/usr/bin/python3
"""os-ken side of the codec benchmark.

Usage:  /usr/bin/python3 bench/osken_codec.py FILE SECONDS

FILE: JSON lines {"name": ..., "hex": ...} (e.g. test/interop/osken_gen.py
output).  For every message, decode and encode are each timed for SECONDS
(time-based loop; the clock is read once per batch, batch size doubles until
a batch takes >= ~5 ms).

stdout, one JSON line per message:
  {"name", "bytes", "decode_per_s", "encode_per_s", "decode_via", "encode_via",
   "error"}
  decode: os_ken.ofproto.ofproto_parser.msg(dp, version, type, len, xid, buf)
          (decode_via "osken"); for controller->switch types os-ken has no
          parser, so the component-based fallback from
          test/interop/osken_parse.py is timed instead (decode_via
          "fallback").
  encode: the object is built once by decoding, then msg.serialize() is
          called repeatedly.  MsgBase.serialize() starts with
          _serialize_pre(), which replaces msg.buf with a fresh header-sized
          bytearray, and every component (OFPMatch, actions, instructions,
          buckets, bands, properties) re-packs itself, so each iteration does
          the full work (encode_via "osken").  For switch->controller types
          os-ken has no serializer; osken_gen.pack_msg() (os-ken pack strings
          + component serializers) is timed instead (encode_via "packer").
  Rates are messages/second (null if the step is impossible; see "error").
"""

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'test', 'interop'))

import osken_gen  # noqa: E402
import osken_parse  # noqa: E402
from os_ken.ofproto import ofproto_parser  # noqa: E402

DP = osken_gen.DP
perf = time.perf_counter


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


def bench_one(name, buf, seconds):
    res = {'name': name, 'bytes': len(buf), 'decode_per_s': None,
           'encode_per_s': None, 'decode_via': None, 'encode_via': None,
           'error': None}
    try:
        msg, kind = osken_parse.decode_with_timeout(buf)
    except Exception as e:
        res['error'] = 'decode: %s: %s' % (type(e).__name__, e)
        return res
    version, msg_type, msg_len, xid = ofproto_parser.header(buf)
    res['decode_via'] = kind
    if kind == 'osken':
        def dec():
            return ofproto_parser.msg(DP, version, msg_type, msg_len, xid,
                                      buf)
    else:
        def dec():
            return osken_parse.fallback_parse(version, msg_type, msg_len,
                                              xid, buf)
    res['decode_per_s'] = rate(dec, seconds)

    if osken_gen.has_native_serializer(msg):
        res['encode_via'] = 'osken'
        enc = msg.serialize
    else:
        res['encode_via'] = 'packer'

        def enc():
            return osken_gen.pack_msg(msg)
    try:
        out, _via = osken_gen.pack_msg(msg)
        if out != buf:
            res['error'] = 'encode output differs from input bytes'
        res['encode_per_s'] = rate(enc, seconds)
    except Exception as e:
        res['error'] = 'encode: %s: %s' % (type(e).__name__, e)
    return res


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, seconds = argv[1], float(argv[2])
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            d = json.loads(line)
            res = bench_one(d['name'], bytes.fromhex(d['hex']), seconds)
            sys.stdout.write(json.dumps(res) + '\n')
            sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
