#!/usr/bin/python3
"""Parse OpenFlow 1.3 messages with Debian's python3-os-ken.

Usage:  ... | /usr/bin/python3 test/interop/osken_parse.py

stdin:  JSON lines {"name": ..., "hex": ...} (other keys ignored)
stdout: one JSON line per input:
  {"name", "ok", "class", "parser", "error", "reserialized", "reserializer",
   "roundtrip", "error_reserialize", "json"}
    ok            true if os-ken produced a message object without exception
    class         os-ken class name of the parsed object (null if none)
    parser        "osken"    -> os_ken.ofproto.ofproto_parser.msg()
                  "fallback" -> os-ken has no parser for this message type
                                (controller->switch types: FEATURES_REQUEST,
                                SET_CONFIG, PACKET_OUT, GROUP_MOD, PORT_MOD,
                                TABLE_MOD, METER_MOD, MULTIPART_REQUEST,
                                BARRIER_REQUEST, QUEUE_GET_CONFIG_REQUEST,
                                ROLE_REQUEST, GET_ASYNC_REQUEST, SET_ASYNC);
                                decoded here into the os-ken class with
                                os-ken's component parsers (OFPMatch.parser,
                                OFPInstruction/OFPAction/OFPBucket/
                                OFPMeterBandHeader/OFPTableFeaturesStats
                                .parser) and os-ken pack strings
    error         exception text (null if ok)
    reserialized  hex of re-serializing the parsed object, or null
    reserializer  "osken"  -> the class's own os-ken serialize()
                  "packer" -> os-ken has no serializer for the class
                              (switch->controller types); packed by
                              osken_gen.pack_msg() from os-ken pack strings
                              and component serializers
    roundtrip     reserialized == input hex
    error_reserialize  why reserialization failed/is null (or null)
    json          msg.to_jsondict() (bytes are base64, as os-ken does), or
                  null if that raised
"""

import base64
import json
import os
import signal
import struct
import sys

from os_ken.lib import addrconv
from os_ken.ofproto import ofproto_parser
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as parser

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osken_gen  # noqa: E402

DP = osken_gen.DP
P = parser

# os-ken logs a traceback at ERROR level when a parser raises; silence it.
import logging  # noqa: E402
logging.getLogger('os_ken.ofproto.ofproto_parser').disabled = True


# ---------------------------------------------------------------------------
# Fallback parsers for message types os-ken 1.3 only knows how to serialize
# ---------------------------------------------------------------------------

def _parse_actions(buf, offset, end):
    actions = []
    while offset < end:
        a = P.OFPAction.parser(buf, offset)
        if not a.len:
            raise ValueError('zero-length action at %d' % offset)
        actions.append(a)
        offset += a.len
    return actions


_MP_REQ_CLASSES = {
    ofp.OFPMP_DESC: P.OFPDescStatsRequest,
    ofp.OFPMP_TABLE: P.OFPTableStatsRequest,
    ofp.OFPMP_GROUP_DESC: P.OFPGroupDescStatsRequest,
    ofp.OFPMP_GROUP_FEATURES: P.OFPGroupFeaturesStatsRequest,
    ofp.OFPMP_METER_FEATURES: P.OFPMeterFeaturesStatsRequest,
    ofp.OFPMP_PORT_DESC: P.OFPPortDescStatsRequest,
}


def _fb_multipart_request(buf, msg_len):
    H = ofp.OFP_MULTIPART_REQUEST_SIZE
    mtype, flags = struct.unpack_from(ofp.OFP_MULTIPART_REQUEST_PACK_STR,
                                      buf, ofp.OFP_HEADER_SIZE)
    if mtype in _MP_REQ_CLASSES:
        if msg_len != H:
            raise ValueError('unexpected body in multipart request type %d'
                             % mtype)
        return _MP_REQ_CLASSES[mtype](DP, flags=flags)
    if mtype in (ofp.OFPMP_FLOW, ofp.OFPMP_AGGREGATE):
        (table_id, out_port, out_group, cookie,
         cookie_mask) = struct.unpack_from(
            ofp.OFP_FLOW_STATS_REQUEST_0_PACK_STR, buf, H)
        match = P.OFPMatch.parser(buf, H + ofp.OFP_FLOW_STATS_REQUEST_0_SIZE)
        cls = (P.OFPFlowStatsRequest if mtype == ofp.OFPMP_FLOW
               else P.OFPAggregateStatsRequest)
        return cls(DP, flags, table_id, out_port, out_group, cookie,
                   cookie_mask, match)
    if mtype == ofp.OFPMP_PORT_STATS:
        port_no, = struct.unpack_from(ofp.OFP_PORT_STATS_REQUEST_PACK_STR,
                                      buf, H)
        return P.OFPPortStatsRequest(DP, flags, port_no)
    if mtype == ofp.OFPMP_QUEUE:
        port_no, queue_id = struct.unpack_from(
            ofp.OFP_QUEUE_STATS_REQUEST_PACK_STR, buf, H)
        return P.OFPQueueStatsRequest(DP, flags, port_no, queue_id)
    if mtype == ofp.OFPMP_GROUP:
        group_id, = struct.unpack_from(ofp.OFP_GROUP_STATS_REQUEST_PACK_STR,
                                       buf, H)
        return P.OFPGroupStatsRequest(DP, flags, group_id)
    if mtype in (ofp.OFPMP_METER, ofp.OFPMP_METER_CONFIG):
        meter_id, = struct.unpack_from(
            ofp.OFP_METER_MULTIPART_REQUEST_PACK_STR, buf, H)
        cls = (P.OFPMeterStatsRequest if mtype == ofp.OFPMP_METER
               else P.OFPMeterConfigStatsRequest)
        return cls(DP, flags, meter_id)
    if mtype == ofp.OFPMP_TABLE_FEATURES:
        body = []
        offset = H
        while offset < msg_len:
            tf = P.OFPTableFeaturesStats.parser(buf, offset)
            if not tf.length:
                raise ValueError('zero-length table features')
            body.append(tf)
            offset += tf.length
        return P.OFPTableFeaturesStatsRequest(DP, flags, body)
    if mtype == ofp.OFPMP_EXPERIMENTER:
        experimenter, exp_type = struct.unpack_from(
            ofp.OFP_EXPERIMENTER_MULTIPART_HEADER_PACK_STR, buf, H)
        data = bytes(buf[H + ofp.OFP_EXPERIMENTER_MULTIPART_HEADER_SIZE:
                         msg_len])
        return P.OFPExperimenterStatsRequest(DP, flags, experimenter,
                                             exp_type, data)
    raise ValueError('unknown multipart request type %d' % mtype)


def _fb_body(msg_type, buf, msg_len):
    H = ofp.OFP_HEADER_SIZE
    if msg_type in (ofp.OFPT_FEATURES_REQUEST, ofp.OFPT_GET_CONFIG_REQUEST,
                    ofp.OFPT_BARRIER_REQUEST, ofp.OFPT_GET_ASYNC_REQUEST):
        cls = {ofp.OFPT_FEATURES_REQUEST: P.OFPFeaturesRequest,
               ofp.OFPT_GET_CONFIG_REQUEST: P.OFPGetConfigRequest,
               ofp.OFPT_BARRIER_REQUEST: P.OFPBarrierRequest,
               ofp.OFPT_GET_ASYNC_REQUEST: P.OFPGetAsyncRequest}[msg_type]
        if msg_len != H:
            raise ValueError('unexpected body')
        return cls(DP)
    if msg_type == ofp.OFPT_SET_CONFIG:
        flags, miss = struct.unpack_from(ofp.OFP_SWITCH_CONFIG_PACK_STR, buf,
                                         H)
        return P.OFPSetConfig(DP, flags, miss)
    if msg_type == ofp.OFPT_PACKET_OUT:
        buffer_id, in_port, actions_len = struct.unpack_from(
            ofp.OFP_PACKET_OUT_PACK_STR, buf, H)
        start = ofp.OFP_PACKET_OUT_SIZE
        actions = _parse_actions(buf, start, start + actions_len)
        data = bytes(buf[start + actions_len:msg_len]) or None
        m = P.OFPPacketOut(DP, buffer_id, in_port, actions, data)
        m.actions_len = actions_len
        return m
    if msg_type == ofp.OFPT_GROUP_MOD:
        command, type_, group_id = struct.unpack_from(
            ofp.OFP_GROUP_MOD_PACK_STR, buf, H)
        buckets = []
        offset = ofp.OFP_GROUP_MOD_SIZE
        while offset < msg_len:
            b = P.OFPBucket.parser(buf, offset)
            if not b.len:
                raise ValueError('zero-length bucket')
            buckets.append(b)
            offset += b.len
        return P.OFPGroupMod(DP, command, type_, group_id, buckets)
    if msg_type == ofp.OFPT_PORT_MOD:
        port_no, hw, config, mask, adv = struct.unpack_from(
            ofp.OFP_PORT_MOD_PACK_STR, buf, H)
        return P.OFPPortMod(DP, port_no, addrconv.mac.bin_to_text(hw),
                            config, mask, adv)
    if msg_type == ofp.OFPT_TABLE_MOD:
        table_id, config = struct.unpack_from(ofp.OFP_TABLE_MOD_PACK_STR,
                                              buf, H)
        return P.OFPTableMod(DP, table_id, config)
    if msg_type == ofp.OFPT_METER_MOD:
        command, flags, meter_id = struct.unpack_from(
            ofp.OFP_METER_MOD_PACK_STR, buf, H)
        bands = []
        offset = ofp.OFP_METER_MOD_SIZE
        while offset < msg_len:
            b = P.OFPMeterBandHeader.parser(buf, offset)
            bands.append(b)
            offset += b.len
        return P.OFPMeterMod(DP, command, flags, meter_id, bands)
    if msg_type == ofp.OFPT_MULTIPART_REQUEST:
        return _fb_multipart_request(buf, msg_len)
    if msg_type == ofp.OFPT_QUEUE_GET_CONFIG_REQUEST:
        port, = struct.unpack_from(ofp.OFP_QUEUE_GET_CONFIG_REQUEST_PACK_STR,
                                   buf, H)
        return P.OFPQueueGetConfigRequest(DP, port)
    if msg_type == ofp.OFPT_ROLE_REQUEST:
        role, gen = struct.unpack_from(ofp.OFP_ROLE_REQUEST_PACK_STR, buf, H)
        return P.OFPRoleRequest(DP, role, gen)
    if msg_type == ofp.OFPT_SET_ASYNC:
        v = struct.unpack_from(ofp.OFP_ASYNC_CONFIG_PACK_STR, buf, H)
        return P.OFPSetAsync(DP, list(v[0:2]), list(v[2:4]), list(v[4:6]))
    raise ValueError('no os-ken parser for message type %d' % msg_type)


def fallback_parse(version, msg_type, msg_len, xid, buf):
    m = _fb_body(msg_type, buf, msg_len)
    m.set_headers(version, msg_type, msg_len, xid)
    m.set_buf(buf)
    return m


def has_native_parser(msg_type):
    return msg_type in parser._MSG_PARSERS


def decode(buf):
    """Decode bytes to an os-ken message object.
    Returns (msg, parser_kind).  Raises on failure."""
    buf = bytes(buf)
    version, msg_type, msg_len, xid = ofproto_parser.header(buf)
    if version != ofp.OFP_VERSION:
        raise ValueError('not OpenFlow 1.3 (version %d)' % version)
    if msg_len != len(buf):
        raise ValueError('header length %d != buffer length %d'
                         % (msg_len, len(buf)))
    if has_native_parser(msg_type):
        msg = ofproto_parser.msg(DP, version, msg_type, msg_len, xid, buf)
        if msg is None:
            # ofproto_parser.msg() swallows parser exceptions and returns
            # None; re-run the class parser to get the exception text.
            parser._MSG_PARSERS[msg_type](DP, version, msg_type, msg_len,
                                          xid, buf)
            raise ValueError('os-ken parser returned None')
        return msg, 'osken'
    return fallback_parse(version, msg_type, msg_len, xid, buf), 'fallback'


def _ename(e):
    t = type(e)
    if t.__module__ in ('builtins', '__main__', __name__):
        return t.__name__
    return '%s.%s' % (t.__module__, t.__name__)


def _json_default(o):
    if isinstance(o, (bytes, bytearray)):
        return base64.b64encode(bytes(o)).decode('ascii')
    return str(o)


class ParseTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise ParseTimeout('os-ken parser did not finish (infinite loop?)')


def decode_with_timeout(buf, seconds=1.0):
    """decode() guarded by SIGALRM: some os-ken parsers loop forever on
    valid-but-unusual input (e.g. unknown instruction types, a padded HELLO
    version-bitmap element)."""
    old = signal.signal(signal.SIGALRM, _on_alarm)
    # interval timer: ofproto_parser.msg() swallows the first exception
    # with a bare except and decode() then re-runs the parser.
    signal.setitimer(signal.ITIMER_REAL, seconds, seconds)
    try:
        return decode(buf)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def parse_msg(buf, name=None, want_json=True):
    res = {'name': name, 'ok': False, 'class': None, 'parser': None,
           'error': None, 'reserialized': None, 'reserializer': None,
           'roundtrip': False, 'error_reserialize': None, 'json': None}
    try:
        msg, kind = decode_with_timeout(buf)
    except Exception as e:
        res['error'] = '%s: %s' % (_ename(e), e)
        res['error_reserialize'] = 'not parsed'
        return res
    res['ok'] = True
    res['class'] = type(msg).__name__
    res['parser'] = kind
    if want_json:
        try:
            j = msg.to_jsondict()
            json.dumps(j, default=_json_default)
            res['json'] = j
        except Exception as e:
            res['json'] = None
            res['error_json'] = '%s: %s' % (type(e).__name__, e)
    try:
        out, via = osken_gen.pack_msg(msg)
        res['reserialized'] = out.hex()
        res['reserializer'] = via
        res['roundtrip'] = out == bytes(buf)
        if not res['roundtrip']:
            res['error_reserialize'] = _diff(bytes(buf), out)
    except Exception as e:
        res['error_reserialize'] = 'cannot reserialize %s: %s: %s' % (
            res['class'], type(e).__name__, e)
    return res


def _diff(a, b):
    for i in range(min(len(a), len(b))):
        if a[i] != b[i]:
            return ('bytes differ at offset %d (input %02x, reserialized '
                    '%02x); lengths %d/%d' % (i, a[i], b[i], len(a), len(b)))
    return 'lengths differ: input %d, reserialized %d' % (len(a), len(b))


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        d = json.loads(line)
        try:
            buf = bytes.fromhex(d['hex'])
        except Exception as e:
            res = {'name': d.get('name'), 'ok': False, 'class': None,
                   'error': 'bad hex: %s' % e, 'reserialized': None,
                   'error_reserialize': 'not parsed', 'json': None}
        else:
            res = parse_msg(buf, d.get('name'))
        sys.stdout.write(json.dumps(res, default=_json_default) + '\n')
    sys.stdout.flush()


if __name__ == '__main__':
    main()
