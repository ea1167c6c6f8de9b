#!/usr/bin/python3
"""Generate a corpus of OpenFlow 1.3 messages with Debian's python3-os-ken.

Usage:  /usr/bin/python3 test/interop/osken_gen.py [SEED]   (SEED default 1)

stdout: one JSON object per line
    {"name": "<os-ken class name>-<n>", "type": <ofp type>, "hex": "<bytes>",
     "via": "osken" | "packer"}
  via="osken"  -> bytes come from os-ken's own msg.serialize()
  via="packer" -> os-ken has no serializer for this class (switch->controller
                  messages such as FEATURES_REPLY, PACKET_IN, MULTIPART_REPLY,
                  HELLO with elements); the object is an os-ken class instance
                  and the bytes are produced by pack_msg() below from os-ken's
                  own pack strings and os-ken component serializers (OFPMatch,
                  instructions, actions, buckets, meter bands, table features).
stderr: summary (count, skipped count + reasons, covered message types).

Every emitted message is verified to parse with os-ken's
ofproto_parser.msg() (or, for types os-ken cannot parse, with the
component-based fallback in osken_parse.py) and to re-serialize to the same
bytes; variants os-ken cannot serialize/parse/round-trip are skipped and
counted (a few deliberate "probe" variants documenting os-ken bugs are
always among them).  Exit status 1 if any OFPT type 0..29 is missing.

This module is also imported by osken_parse.py / bench/osken_codec.py for
pack_msg() and has_native_serializer().
"""

import json
import random
import struct
import sys

from os_ken.lib import addrconv
from os_ken.lib.pack_utils import msg_pack_into
from os_ken.ofproto import ofproto_common
from os_ken.ofproto import ofproto_protocol
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as parser
from os_ken import utils

DP = ofproto_protocol.ProtocolDesc(version=ofp.OFP_VERSION)

# ---------------------------------------------------------------------------
# Serialization helpers
# ---------------------------------------------------------------------------

# Classes whose os-ken serialize() produces the complete message.  (All
# MsgBase subclasses have serialize(), but for parse-only classes it only
# writes the 8-byte header and silently drops the body.)
_HEADER_ONLY = (parser.OFPFeaturesRequest, parser.OFPGetConfigRequest,
                parser.OFPBarrierRequest, parser.OFPBarrierReply,
                parser.OFPGetAsyncRequest)


def has_native_serializer(msg):
    if isinstance(msg, parser.OFPHello):
        return not msg.elements      # os-ken drops hello elements
    if isinstance(msg, _HEADER_ONLY):
        return True
    if isinstance(msg, parser.OFPMultipartRequest):
        return True
    return any('_serialize_body' in k.__dict__ for k in type(msg).__mro__
               if k is not parser.ofproto_parser.MsgBase)


def _hdr(msg, body):
    """Prefix an OpenFlow header (version, type, length, xid)."""
    buf = bytearray(ofp.OFP_HEADER_SIZE) + body
    xid = msg.xid if msg.xid is not None else 0
    struct.pack_into(ofp.OFP_HEADER_PACK_STR, buf, 0, ofp.OFP_VERSION,
                     msg.cls_msg_type, len(buf), xid)
    return bytes(buf)


def _match_bytes(match):
    b = bytearray()
    match.serialize(b, 0)
    return bytes(b)


def _b(s):
    return s.encode() if isinstance(s, str) else bytes(s)


def _port_bytes(p):
    b = bytearray()
    msg_pack_into(ofp.OFP_PORT_PACK_STR, b, 0, p.port_no,
                  addrconv.mac.text_to_bin(p.hw_addr), _b(p.name), p.config,
                  p.state, p.curr, p.advertised, p.supported, p.peer,
                  p.curr_speed, p.max_speed)
    return bytes(b)


def _oxm_id_bytes(o):
    """OFPOxmId with a real oxm_length (os-ken's own OFPOxmId.serialize()
    always writes length 0, and OFPExperimenterOxmId.serialize() returns
    None).  Uses o.length if set (parsed objects, where 0 is a real
    length) and writes the experimenter id that follows an experimenter
    OXM header."""
    n, _v, _m = ofp.oxm_from_user(o.type, None)
    length = o.length
    if length is None:
        size = ofp._oxm_field_desc(n).type.size
        length = size * 2 if o.hasmask else size
    b = struct.pack('!I', n << 9 | int(bool(o.hasmask)) << 8 | length)
    if isinstance(o, parser.OFPExperimenterOxmId):
        b += struct.pack('!I', o.exp_id)
    return b


def _table_features_bytes(tf, spec_oxm_len):
    if not spec_oxm_len:
        return bytes(tf.serialize())
    props = bytearray()
    for p in tf.properties:
        if isinstance(p, parser.OFPTableFeaturePropOxm):
            body = b''.join(_oxm_id_bytes(o) for o in p.oxm_ids)
            length = 4 + len(body)
            props += struct.pack('!HH', p.type, length) + body
            props += b'\0' * (utils.round_up(length, 8) - length)
        else:
            props += p.serialize()
    b = bytearray()
    msg_pack_into(ofp.OFP_TABLE_FEATURES_PACK_STR, b, 0,
                  ofp.OFP_TABLE_FEATURES_SIZE + len(props), tf.table_id,
                  _b(tf.name), tf.metadata_match, tf.metadata_write,
                  tf.config, tf.max_entries)
    return bytes(b + props)


def _stats_body(msg, spec_oxm_len):
    t = msg.cls_stats_type
    body = msg.body
    out = bytearray()
    if t == ofp.OFPMP_DESC:
        msg_pack_into(ofp.OFP_DESC_PACK_STR, out, 0, _b(body.mfr_desc),
                      _b(body.hw_desc), _b(body.sw_desc),
                      _b(body.serial_num), _b(body.dp_desc))
    elif t == ofp.OFPMP_FLOW:
        for fs in body:
            m = _match_bytes(fs.match)
            ins = bytearray()
            for i in fs.instructions:
                off = len(ins)
                i.serialize(ins, off)
            length = ofp.OFP_FLOW_STATS_0_SIZE + len(m) + len(ins)
            e = bytearray()
            msg_pack_into(ofp.OFP_FLOW_STATS_0_PACK_STR, e, 0, length,
                          fs.table_id, fs.duration_sec, fs.duration_nsec,
                          fs.priority, fs.idle_timeout, fs.hard_timeout,
                          fs.flags, fs.cookie, fs.packet_count,
                          fs.byte_count)
            out += e + m + ins
    elif t == ofp.OFPMP_AGGREGATE:
        out += struct.pack(ofp.OFP_AGGREGATE_STATS_REPLY_PACK_STR,
                           body.packet_count, body.byte_count,
                           body.flow_count)
    elif t == ofp.OFPMP_TABLE:
        for s in body:
            out += struct.pack(ofp.OFP_TABLE_STATS_PACK_STR, *s)
    elif t == ofp.OFPMP_PORT_STATS:
        for s in body:
            out += struct.pack(ofp.OFP_PORT_STATS_PACK_STR, *s)
    elif t == ofp.OFPMP_QUEUE:
        for s in body:
            out += struct.pack(ofp.OFP_QUEUE_STATS_PACK_STR, *s)
    elif t == ofp.OFPMP_GROUP:
        for g in body:
            length = (ofp.OFP_GROUP_STATS_SIZE +
                      ofp.OFP_BUCKET_COUNTER_SIZE * len(g.bucket_stats))
            out += struct.pack(ofp.OFP_GROUP_STATS_PACK_STR, length,
                               g.group_id, g.ref_count, g.packet_count,
                               g.byte_count, g.duration_sec, g.duration_nsec)
            for bc in g.bucket_stats:
                out += struct.pack(ofp.OFP_BUCKET_COUNTER_PACK_STR,
                                   bc.packet_count, bc.byte_count)
    elif t == ofp.OFPMP_GROUP_DESC:
        for g in body:
            bk = bytearray()
            for b in g.buckets:
                off = len(bk)
                b.serialize(bk, off)
            out += struct.pack(ofp.OFP_GROUP_DESC_STATS_PACK_STR,
                               ofp.OFP_GROUP_DESC_STATS_SIZE + len(bk),
                               g.type, g.group_id) + bk
    elif t == ofp.OFPMP_GROUP_FEATURES:
        out += struct.pack(ofp.OFP_GROUP_FEATURES_PACK_STR, body.types,
                           body.capabilities, *(list(body.max_groups) +
                                                list(body.actions)))
    elif t == ofp.OFPMP_METER:
        for m in body:
            length = (ofp.OFP_METER_STATS_SIZE +
                      ofp.OFP_METER_BAND_STATS_SIZE * len(m.band_stats))
            out += struct.pack(ofp.OFP_METER_STATS_PACK_STR, m.meter_id,
                               length, m.flow_count, m.packet_in_count,
                               m.byte_in_count, m.duration_sec,
                               m.duration_nsec)
            for bs in m.band_stats:
                out += struct.pack(ofp.OFP_METER_BAND_STATS_PACK_STR,
                                   bs.packet_band_count, bs.byte_band_count)
    elif t == ofp.OFPMP_METER_CONFIG:
        for mc in body:
            bands = bytearray()
            for b in mc.bands:
                off = len(bands)
                b.serialize(bands, off)
            out += struct.pack(ofp.OFP_METER_CONFIG_PACK_STR,
                               ofp.OFP_METER_CONFIG_SIZE + len(bands),
                               mc.flags, mc.meter_id) + bands
    elif t == ofp.OFPMP_METER_FEATURES:
        for mf in body:
            out += struct.pack(ofp.OFP_METER_FEATURES_PACK_STR, *mf)
    elif t == ofp.OFPMP_TABLE_FEATURES:
        for tf in body:
            out += _table_features_bytes(tf, spec_oxm_len)
    elif t == ofp.OFPMP_PORT_DESC:
        for p in body:
            out += _port_bytes(p)
    elif t == ofp.OFPMP_EXPERIMENTER:
        out += body.serialize()
    else:
        raise ValueError('unknown multipart type %r' % t)
    return bytes(out)


def _queue_prop_bytes(p):
    if isinstance(p, (parser.OFPQueuePropMinRate,
                      parser.OFPQueuePropMaxRate)):
        b = struct.pack(ofp.OFP_QUEUE_PROP_HEADER_PACK_STR, p.property, 16)
        return b + struct.pack(ofp.OFP_QUEUE_PROP_MIN_RATE_PACK_STR, p.rate)
    if isinstance(p, parser.OFPQueuePropExperimenter):
        data = bytes(p.data or [])
        b = struct.pack(ofp.OFP_QUEUE_PROP_HEADER_PACK_STR, p.property,
                        ofp.OFP_QUEUE_PROP_EXPERIMENTER_SIZE + len(data))
        return b + struct.pack(ofp.OFP_QUEUE_PROP_EXPERIMENTER_PACK_STR,
                               p.experimenter) + data
    raise ValueError('unknown queue prop %r' % p)


def pack_msg(msg, spec_oxm_len=True):
    """Serialize an os-ken message object to bytes.  Uses os-ken's own
    serialize() when the class has a real one, otherwise packs the body
    with os-ken pack strings / component serializers.
    Returns (bytes, via) where via is 'osken' or 'packer'."""
    if has_native_serializer(msg):
        msg.serialize()
        return bytes(msg.buf), 'osken'
    if isinstance(msg, parser.OFPHello):
        body = bytearray()
        for e in msg.elements:
            bitmaps = e._bitmaps
            if bitmaps is None:
                n = max(e.versions) // 32 + 1 if e.versions else 1
                bitmaps = [0] * n
                for v in e.versions:
                    bitmaps[v // 32] |= 1 << (v % 32)
            length = 4 + 4 * len(bitmaps)
            body += struct.pack('!HH', e.type, length)
            body += struct.pack('!%dI' % len(bitmaps), *bitmaps)
            body += b'\0' * (utils.round_up(length, 8) - length)
        return _hdr(msg, body), 'packer'
    if isinstance(msg, parser.OFPSwitchFeatures):
        body = struct.pack(ofp.OFP_SWITCH_FEATURES_PACK_STR, msg.datapath_id,
                           msg.n_buffers, msg.n_tables, msg.auxiliary_id,
                           msg.capabilities, getattr(msg, '_reserved', 0))
        return _hdr(msg, body), 'packer'
    if isinstance(msg, parser.OFPGetConfigReply):
        body = struct.pack(ofp.OFP_SWITCH_CONFIG_PACK_STR, msg.flags,
                           msg.miss_send_len)
        return _hdr(msg, body), 'packer'
    if isinstance(msg, parser.OFPPacketIn):
        body = struct.pack(ofp.OFP_PACKET_IN_PACK_STR, msg.buffer_id,
                           msg.total_len, msg.reason, msg.table_id,
                           msg.cookie)
        body += _match_bytes(msg.match) + b'\0\0' + bytes(msg.data)
        return _hdr(msg, body), 'packer'
    if isinstance(msg, parser.OFPFlowRemoved):
        body = struct.pack(ofp.OFP_FLOW_REMOVED_PACK_STR0, msg.cookie,
                           msg.priority, msg.reason, msg.table_id,
                           msg.duration_sec, msg.duration_nsec,
                           msg.idle_timeout, msg.hard_timeout,
                           msg.packet_count, msg.byte_count)
        body += _match_bytes(msg.match)
        return _hdr(msg, body), 'packer'
    if isinstance(msg, parser.OFPPortStatus):
        body = struct.pack('!B7x', msg.reason) + _port_bytes(msg.desc)
        return _hdr(msg, body), 'packer'
    if isinstance(msg, parser.OFPMultipartReply):
        body = struct.pack(ofp.OFP_MULTIPART_REPLY_PACK_STR,
                           msg.cls_stats_type, msg.flags)
        return _hdr(msg, body + _stats_body(msg, spec_oxm_len)), 'packer'
    if isinstance(msg, parser.OFPQueueGetConfigReply):
        body = bytearray(struct.pack(ofp.OFP_QUEUE_GET_CONFIG_REPLY_PACK_STR,
                                     msg.port))
        for q in msg.queues:
            props = b''.join(_queue_prop_bytes(p) for p in q.properties)
            body += struct.pack(ofp.OFP_PACKET_QUEUE_PACK_STR, q.queue_id,
                                q.port, ofp.OFP_PACKET_QUEUE_SIZE + len(props))
            body += props
        return _hdr(msg, body), 'packer'
    if isinstance(msg, parser.OFPRoleReply):
        body = struct.pack(ofp.OFP_ROLE_REQUEST_PACK_STR, msg.role,
                           msg.generation_id)
        return _hdr(msg, body), 'packer'
    if isinstance(msg, parser.OFPGetAsyncReply):
        body = struct.pack(ofp.OFP_ASYNC_CONFIG_PACK_STR,
                           *(list(msg.packet_in_mask) +
                             list(msg.port_status_mask) +
                             list(msg.flow_removed_mask)))
        return _hdr(msg, body), 'packer'
    raise ValueError('no serializer for %s' % type(msg).__name__)


# ---------------------------------------------------------------------------
# Random value helpers
# ---------------------------------------------------------------------------

class Gen(object):
    def __init__(self, seed):
        self.r = random.Random(seed)

    def u8(self):
        return self.r.randrange(1 << 8)

    def u16(self):
        return self.r.randrange(1 << 16)

    def u32(self):
        return self.r.randrange(1 << 32)

    def u64(self):
        c = self.r.random()
        if c < 0.15:
            return (1 << 64) - 1
        if c < 0.3:
            return self.r.randrange(1 << 16)
        return self.r.randrange(1 << 64)

    def xid(self):
        c = self.r.random()
        if c < 0.1:
            return 0
        if c < 0.2:
            return 0xffffffff
        return self.u32()

    def port(self):
        c = self.r.random()
        if c < 0.7:
            return self.r.randrange(1, 0xff00)
        return self.r.choice([ofp.OFPP_IN_PORT, ofp.OFPP_TABLE,
                              ofp.OFPP_NORMAL, ofp.OFPP_FLOOD, ofp.OFPP_ALL,
                              ofp.OFPP_CONTROLLER, ofp.OFPP_LOCAL,
                              ofp.OFPP_ANY, ofp.OFPP_MAX])

    def mac(self):
        return ':'.join('%02x' % self.u8() for _ in range(6))

    def ipv4(self):
        return '.'.join(str(self.u8()) for _ in range(4))

    def ipv6(self):
        return ':'.join('%x' % self.u16() for _ in range(8))

    def data(self, lo=0, hi=128):
        return bytes(self.u8() for _ in range(self.r.randint(lo, hi)))

    def choice(self, seq):
        return self.r.choice(seq)

    def sample(self, seq, k):
        return self.r.sample(list(seq), k)

    def bits(self, n):
        return self.r.randrange(1 << n)

    def chance(self, p):
        return self.r.random() < p


# The 40 OpenFlow-basic OXM fields: name -> (value generator, maskable)
def _mask_int(g, v, nbits):
    m = g.bits(nbits)
    return (v & m, m)


def _mask_bytes_str(kind, g, v):
    # mask a MAC/IPv4/IPv6 textual value with a random prefix or random mask
    if kind == 'mac':
        raw = addrconv.mac.text_to_bin(v)
        to = addrconv.mac.bin_to_text
    elif kind == 'ipv4':
        raw = addrconv.ipv4.text_to_bin(v)
        to = addrconv.ipv4.bin_to_text
    else:
        raw = addrconv.ipv6.text_to_bin(v)
        to = addrconv.ipv6.bin_to_text
    n = len(raw) * 8
    if g.chance(0.6):
        plen = g.r.randint(1, n - 1)
        mi = ((1 << plen) - 1) << (n - plen)
    else:
        mi = g.bits(n)
    mask = mi.to_bytes(len(raw), 'big')
    val = bytes(a & b for a, b in zip(raw, mask))
    return (to(val), to(mask))


def oxm_value(g, name, masked):
    """Return an os-ken user value for OXM field `name` (tuple if masked)."""
    if name in ('in_port', 'in_phy_port'):
        return g.port()
    if name in ('metadata', 'tunnel_id'):
        v = g.u64()
        return _mask_int(g, v, 64) if masked else v
    if name in ('eth_dst', 'eth_src', 'arp_sha', 'arp_tha', 'ipv6_nd_sll',
                'ipv6_nd_tll'):
        v = g.mac()
        return _mask_bytes_str('mac', g, v) if masked else v
    if name == 'eth_type':
        return g.choice([0x0800, 0x86dd, 0x0806, 0x8847, 0x8848, 0x88e7,
                         0x8100, g.u16()])
    if name == 'vlan_vid':
        if masked:
            return (ofp.OFPVID_PRESENT, ofp.OFPVID_PRESENT)
        return g.choice([ofp.OFPVID_NONE,
                         ofp.OFPVID_PRESENT | g.bits(12)])
    if name in ('vlan_pcp', 'mpls_tc'):
        return g.bits(3)
    if name == 'ip_dscp':
        return g.bits(6)
    if name == 'ip_ecn':
        return g.bits(2)
    if name == 'ip_proto':
        return g.choice([1, 6, 17, 58, 132, g.u8()])
    if name in ('ipv4_src', 'ipv4_dst', 'arp_spa', 'arp_tpa'):
        v = g.ipv4()
        return _mask_bytes_str('ipv4', g, v) if masked else v
    if name in ('tcp_src', 'tcp_dst', 'udp_src', 'udp_dst', 'sctp_src',
                'sctp_dst'):
        return g.u16()
    if name in ('icmpv4_type', 'icmpv4_code', 'icmpv6_type', 'icmpv6_code'):
        return g.u8()
    if name == 'arp_op':
        return g.choice([1, 2, g.u16()])
    if name in ('ipv6_src', 'ipv6_dst'):
        v = g.ipv6()
        return _mask_bytes_str('ipv6', g, v) if masked else v
    if name == 'ipv6_nd_target':
        return g.ipv6()
    if name == 'ipv6_flabel':
        v = g.bits(20)
        return _mask_int(g, v, 20) if masked else v
    if name == 'mpls_label':
        return g.bits(20)
    if name == 'mpls_bos':
        return g.bits(1)
    if name == 'pbb_isid':
        v = g.bits(24)
        return _mask_int(g, v, 24) if masked else v
    if name == 'ipv6_exthdr':
        v = g.bits(9)
        return _mask_int(g, v, 9) if masked else v
    raise KeyError(name)


OXM_FIELDS = ['in_port', 'in_phy_port', 'metadata', 'eth_dst', 'eth_src',
              'eth_type', 'vlan_vid', 'vlan_pcp', 'ip_dscp', 'ip_ecn',
              'ip_proto', 'ipv4_src', 'ipv4_dst', 'tcp_src', 'tcp_dst',
              'udp_src', 'udp_dst', 'sctp_src', 'sctp_dst', 'icmpv4_type',
              'icmpv4_code', 'arp_op', 'arp_spa', 'arp_tpa', 'arp_sha',
              'arp_tha', 'ipv6_src', 'ipv6_dst', 'ipv6_flabel',
              'icmpv6_type', 'icmpv6_code', 'ipv6_nd_target', 'ipv6_nd_sll',
              'ipv6_nd_tll', 'mpls_label', 'mpls_tc', 'mpls_bos', 'pbb_isid',
              'tunnel_id', 'ipv6_exthdr']
assert len(OXM_FIELDS) == 40
MASKABLE = {'metadata', 'eth_dst', 'eth_src', 'vlan_vid', 'ipv4_src',
            'ipv4_dst', 'arp_spa', 'arp_tpa', 'arp_sha', 'arp_tha',
            'ipv6_src', 'ipv6_dst', 'ipv6_flabel', 'pbb_isid', 'tunnel_id',
            'ipv6_exthdr'}
SETTABLE = [f for f in OXM_FIELDS
            if f not in ('in_port', 'in_phy_port', 'metadata', 'ipv6_exthdr')]

# Realistic, prerequisite-consistent field sets
COHERENT = [
    [('eth_type', 0x0800), 'ip_proto=6', 'ipv4_src', 'ipv4_dst', 'tcp_src',
     'tcp_dst'],
    [('eth_type', 0x0800), 'ip_proto=17', 'ipv4_src', 'udp_dst'],
    [('eth_type', 0x0800), 'ip_proto=132', 'sctp_src', 'sctp_dst'],
    [('eth_type', 0x0800), 'ip_proto=1', 'icmpv4_type', 'icmpv4_code',
     'ip_dscp', 'ip_ecn'],
    [('eth_type', 0x0806), 'arp_op', 'arp_spa', 'arp_tpa', 'arp_sha',
     'arp_tha'],
    [('eth_type', 0x86dd), 'ip_proto=58', 'ipv6_src', 'ipv6_dst',
     'icmpv6_type', 'icmpv6_code', 'ipv6_nd_target', 'ipv6_nd_sll'],
    [('eth_type', 0x86dd), 'ipv6_flabel', 'ipv6_exthdr', 'ipv6_nd_tll'],
    [('eth_type', 0x8847), 'mpls_label', 'mpls_tc', 'mpls_bos'],
    [('eth_type', 0x88e7), 'pbb_isid'],
    ['in_port', 'eth_dst', 'eth_src', 'vlan_vid', 'vlan_pcp'],
    ['in_port', 'in_phy_port', 'metadata', 'tunnel_id'],
]


def make_match(g, names=None, masked_p=0.4, shuffle=False, nfields=None):
    if names is None:
        if nfields is None:
            nfields = g.r.randint(0, 8)
        names = g.sample(OXM_FIELDS, nfields)
        names.sort(key=OXM_FIELDS.index)
    fields = []
    for n in names:
        if isinstance(n, tuple):
            fields.append(n)
            continue
        if '=' in n:
            k, v = n.split('=')
            fields.append((k, int(v)))
            continue
        masked = n in MASKABLE and g.chance(masked_p)
        fields.append((n, oxm_value(g, n, masked)))
    if shuffle:
        g.r.shuffle(fields)
    return parser.OFPMatch(_ordered_fields=fields)


NON_OSKEN_EXPERIMENTERS = [0x00002321, 0x00d0f0ab, 0x00abcdef, 0xdeadbeef,
                           0x000000ff, 0x80000001]


def experimenter_id(g):
    return g.choice(NON_OSKEN_EXPERIMENTERS + [g.u32() | 0x01000000])


def make_action(g, kind):
    if kind == 'output':
        return parser.OFPActionOutput(
            g.port(), g.choice([ofp.OFPCML_NO_BUFFER, 0, 128, g.u16()]))
    if kind == 'copy_ttl_out':
        return parser.OFPActionCopyTtlOut()
    if kind == 'copy_ttl_in':
        return parser.OFPActionCopyTtlIn()
    if kind == 'set_mpls_ttl':
        return parser.OFPActionSetMplsTtl(g.u8())
    if kind == 'dec_mpls_ttl':
        return parser.OFPActionDecMplsTtl()
    if kind == 'push_vlan':
        return parser.OFPActionPushVlan(g.choice([0x8100, 0x88a8]))
    if kind == 'pop_vlan':
        return parser.OFPActionPopVlan()
    if kind == 'push_mpls':
        return parser.OFPActionPushMpls(g.choice([0x8847, 0x8848]))
    if kind == 'pop_mpls':
        return parser.OFPActionPopMpls(g.choice([0x0800, 0x86dd, 0x8847]))
    if kind == 'set_queue':
        return parser.OFPActionSetQueue(g.u32())
    if kind == 'group':
        return parser.OFPActionGroup(g.r.randrange(0xffffff00))
    if kind == 'set_nw_ttl':
        return parser.OFPActionSetNwTtl(g.u8())
    if kind == 'dec_nw_ttl':
        return parser.OFPActionDecNwTtl()
    if kind == 'set_field':
        f = g.choice(SETTABLE)
        return parser.OFPActionSetField(**{f: oxm_value(g, f, False)})
    if kind == 'push_pbb':
        return parser.OFPActionPushPbb(0x88e7)
    if kind == 'pop_pbb':
        return parser.OFPActionPopPbb()
    if kind == 'experimenter':
        # data length a multiple of 8 so the padded action length matches
        # what os-ken parses back (it keeps the padding as data)
        return parser.OFPActionExperimenterUnknown(
            experimenter_id(g),
            data=bytes(g.u8() for _ in range(8 * g.r.randint(0, 3))))
    raise KeyError(kind)


ACTION_KINDS = ['output', 'copy_ttl_out', 'copy_ttl_in', 'set_mpls_ttl',
                'dec_mpls_ttl', 'push_vlan', 'pop_vlan', 'push_mpls',
                'pop_mpls', 'set_queue', 'group', 'set_nw_ttl', 'dec_nw_ttl',
                'set_field', 'push_pbb', 'pop_pbb', 'experimenter']


def make_actions(g, n=None, kinds=None):
    if kinds is None:
        if n is None:
            n = g.r.randint(0, 5)
        kinds = [g.choice(ACTION_KINDS) for _ in range(n)]
    return [make_action(g, k) for k in kinds]


def make_instruction(g, kind):
    if kind == 'goto_table':
        return parser.OFPInstructionGotoTable(g.r.randrange(1, 255))
    if kind == 'write_metadata':
        return parser.OFPInstructionWriteMetadata(g.u64(), g.u64())
    if kind == 'write_actions':
        return parser.OFPInstructionActions(ofp.OFPIT_WRITE_ACTIONS,
                                            make_actions(g))
    if kind == 'apply_actions':
        return parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS,
                                            make_actions(g))
    if kind == 'clear_actions':
        return parser.OFPInstructionActions(ofp.OFPIT_CLEAR_ACTIONS, [])
    if kind == 'meter':
        return parser.OFPInstructionMeter(g.r.randrange(1, 0xffff0000))
    raise KeyError(kind)


INSTR_KINDS = ['meter', 'apply_actions', 'clear_actions', 'write_actions',
               'write_metadata', 'goto_table']


def make_instructions(g, kinds=None):
    if kinds is None:
        kinds = [k for k in INSTR_KINDS if g.chance(0.4)]
    return [make_instruction(g, k) for k in kinds]


def make_port(g):
    return parser.OFPPort(
        port_no=g.choice([g.r.randrange(1, 0xff00), ofp.OFPP_LOCAL]),
        hw_addr=g.mac(),
        name=('eth%d' % g.r.randrange(1000)).encode()
        if g.chance(0.8) else b'p' * 15,
        config=g.bits(7) & 0x65, state=g.bits(3),
        curr=g.bits(16), advertised=g.bits(16), supported=g.bits(16),
        peer=g.bits(16), curr_speed=g.u32(), max_speed=g.u32())


def make_bucket(g, gtype):
    return parser.OFPBucket(
        weight=g.u16() if gtype == ofp.OFPGT_SELECT else 0,
        watch_port=g.port() if gtype == ofp.OFPGT_FF else ofp.OFPP_ANY,
        watch_group=(g.r.randrange(0xffffff00) if gtype == ofp.OFPGT_FF
                     and g.chance(0.5) else ofp.OFPG_ANY),
        actions=make_actions(g, g.r.randint(0, 4)))


def make_band(g, kind):
    if kind == 'drop':
        return parser.OFPMeterBandDrop(rate=g.u32(), burst_size=g.u32())
    if kind == 'dscp_remark':
        return parser.OFPMeterBandDscpRemark(rate=g.u32(),
                                             burst_size=g.u32(),
                                             prec_level=g.u8())
    return parser.OFPMeterBandExperimenter(rate=g.u32(), burst_size=g.u32(),
                                           experimenter=experimenter_id(g))


def make_table_features(g, full=True):
    props = []
    all_types = [
        (ofp.OFPTFPT_INSTRUCTIONS, 'ins'), (ofp.OFPTFPT_INSTRUCTIONS_MISS,
                                            'ins'),
        (ofp.OFPTFPT_NEXT_TABLES, 'next'), (ofp.OFPTFPT_NEXT_TABLES_MISS,
                                            'next'),
        (ofp.OFPTFPT_WRITE_ACTIONS, 'act'),
        (ofp.OFPTFPT_WRITE_ACTIONS_MISS, 'act'),
        (ofp.OFPTFPT_APPLY_ACTIONS, 'act'),
        (ofp.OFPTFPT_APPLY_ACTIONS_MISS, 'act'),
        (ofp.OFPTFPT_MATCH, 'oxm'), (ofp.OFPTFPT_WILDCARDS, 'oxm'),
        (ofp.OFPTFPT_WRITE_SETFIELD, 'oxm'),
        (ofp.OFPTFPT_WRITE_SETFIELD_MISS, 'oxm'),
        (ofp.OFPTFPT_APPLY_SETFIELD, 'oxm'),
        (ofp.OFPTFPT_APPLY_SETFIELD_MISS, 'oxm'),
        (ofp.OFPTFPT_EXPERIMENTER, 'exp'),
        (ofp.OFPTFPT_EXPERIMENTER_MISS, 'exp')]
    chosen = all_types if full else [t for t in all_types if g.chance(0.35)]
    for t, kind in chosen:
        if kind == 'ins':
            ids = g.sample([1, 2, 3, 4, 5, 6], g.r.randint(0, 6))
            props.append(parser.OFPTableFeaturePropInstructions(
                type_=t, instruction_ids=[parser.OFPInstructionId(i)
                                          for i in ids]))
        elif kind == 'next':
            props.append(parser.OFPTableFeaturePropNextTables(
                type_=t, table_ids=sorted(g.sample(range(1, 254),
                                                   g.r.randint(0, 12)))))
        elif kind == 'act':
            ids = g.sample([0, 11, 12, 15, 16, 17, 18, 19, 20, 21, 22, 23,
                            24, 25, 26, 27], g.r.randint(0, 16))
            props.append(parser.OFPTableFeaturePropActions(
                type_=t, action_ids=[parser.OFPActionId(i) for i in ids]))
        elif kind == 'oxm':
            names = g.sample(OXM_FIELDS, g.r.randint(0, 40))
            props.append(parser.OFPTableFeaturePropOxm(
                type_=t, oxm_ids=[parser.OFPOxmId(
                    n, hasmask=(n in MASKABLE and g.chance(0.5)))
                    for n in names]))
        else:
            props.append(parser.OFPTableFeaturePropExperimenter(
                type_=t, experimenter=experimenter_id(g), exp_type=g.u32(),
                data=[g.u32() for _ in range(g.r.randint(0, 4))]))
    return parser.OFPTableFeaturesStats(
        table_id=g.u8() if g.chance(0.5) else g.r.randrange(8),
        name=('table-%d' % g.r.randrange(100)).encode(),
        metadata_match=g.u64(), metadata_write=g.u64(),
        config=g.choice([0, 3]), max_entries=g.u32(), properties=props)


# ---------------------------------------------------------------------------
# Message builders.  Each yields (msg, spec_oxm_len) pairs.
# ---------------------------------------------------------------------------

def build_all(g, probes=True):
    P = parser
    out = []

    def add(m, spec=True):
        m.xid = g.xid()
        out.append((m, spec))

    # HELLO
    add(P.OFPHello(DP))
    add(P.OFPHello(DP))
    for versions in ([4], [1, 4], [1, 2, 3, 4, 5, 6],
                     [4, 33, 40, 70]):
        add(P.OFPHello(DP, elements=[P.OFPHelloElemVersionBitmap(versions)]))
    # ERROR
    err_types = [(ofp.OFPET_HELLO_FAILED, 1), (ofp.OFPET_BAD_REQUEST, 13),
                 (ofp.OFPET_BAD_ACTION, 15), (ofp.OFPET_BAD_INSTRUCTION, 8),
                 (ofp.OFPET_BAD_MATCH, 11), (ofp.OFPET_FLOW_MOD_FAILED, 7),
                 (ofp.OFPET_GROUP_MOD_FAILED, 14),
                 (ofp.OFPET_PORT_MOD_FAILED, 4),
                 (ofp.OFPET_TABLE_MOD_FAILED, 2),
                 (ofp.OFPET_QUEUE_OP_FAILED, 2),
                 (ofp.OFPET_SWITCH_CONFIG_FAILED, 2),
                 (ofp.OFPET_ROLE_REQUEST_FAILED, 2),
                 (ofp.OFPET_METER_MOD_FAILED, 11),
                 (ofp.OFPET_TABLE_FEATURES_FAILED, 5)]
    for t, maxcode in err_types:
        add(P.OFPErrorMsg(DP, type_=t, code=g.r.randint(0, maxcode),
                          data=g.data(0, 64)))
    for _ in range(4):
        add(P.OFPErrorExperimenterMsg(DP, type_=ofp.OFPET_EXPERIMENTER,
                                      exp_type=g.u16(),
                                      experimenter=experimenter_id(g),
                                      data=g.data(0, 40)))
    # ECHO
    for _ in range(5):
        add(P.OFPEchoRequest(DP, data=g.data(0, 64)))
        add(P.OFPEchoReply(DP, data=g.data(0, 64)))
    # EXPERIMENTER
    for _ in range(5):
        add(P.OFPExperimenter(DP, experimenter=experimenter_id(g),
                              exp_type=g.u32(), data=g.data(0, 48)))
    # FEATURES
    for _ in range(2):
        add(P.OFPFeaturesRequest(DP))
    for _ in range(4):
        m = P.OFPSwitchFeatures(DP, datapath_id=g.u64(), n_buffers=g.u32(),
                                n_tables=g.u8(), auxiliary_id=g.u8(),
                                capabilities=g.bits(9) & 0x16f)
        m._reserved = 0
        add(m)
    # CONFIG
    for _ in range(2):
        add(P.OFPGetConfigRequest(DP))
    for _ in range(3):
        add(P.OFPGetConfigReply(DP, flags=g.bits(2),
                                miss_send_len=g.choice([128, 0xffff, g.u16()])))
        add(P.OFPSetConfig(DP, flags=g.bits(2),
                           miss_send_len=g.choice([128, 0xffff, g.u16()])))
    # PACKET_IN
    for i in range(10):
        data = g.data(0, 200)
        total = len(data) + (g.r.randint(0, 1500) if g.chance(0.3) else 0)
        add(P.OFPPacketIn(
            DP, buffer_id=g.choice([ofp.OFP_NO_BUFFER, g.u32()]),
            total_len=min(total, 0xffff), reason=g.r.randint(0, 2),
            table_id=g.u8(), cookie=g.u64(),
            match=make_match(g, ['in_port'] + g.sample(OXM_FIELDS[1:],
                                                       g.r.randint(0, 5))),
            data=data))
    # FLOW_REMOVED
    for _ in range(7):
        add(P.OFPFlowRemoved(
            DP, cookie=g.u64(), priority=g.u16(), reason=g.r.randint(0, 3),
            table_id=g.u8(), duration_sec=g.u32(),
            duration_nsec=g.r.randrange(10 ** 9), idle_timeout=g.u16(),
            hard_timeout=g.u16(), packet_count=g.u64(), byte_count=g.u64(),
            match=make_match(g)))
    # PORT_STATUS
    for reason in (0, 1, 2, 2, 0):
        add(P.OFPPortStatus(DP, reason=reason, desc=make_port(g)))
    # PACKET_OUT
    for _ in range(8):
        if g.chance(0.5):
            # >= 1 action: os-ken mis-serializes data with no actions
            add(P.OFPPacketOut(DP, buffer_id=ofp.OFP_NO_BUFFER,
                               in_port=g.port(),
                               actions=make_actions(g, g.r.randint(1, 5)),
                               data=g.data(14, 300)))
        else:
            add(P.OFPPacketOut(DP, buffer_id=g.r.randrange(0xffffffff),
                               in_port=g.port(), actions=make_actions(g)))
    # FLOW_MOD
    commands = [ofp.OFPFC_ADD, ofp.OFPFC_MODIFY, ofp.OFPFC_MODIFY_STRICT,
                ofp.OFPFC_DELETE, ofp.OFPFC_DELETE_STRICT]

    def flow_mod(match=None, instructions=None, command=None):
        cmd = g.choice(commands) if command is None else command
        delete = cmd in (ofp.OFPFC_DELETE, ofp.OFPFC_DELETE_STRICT)
        return P.OFPFlowMod(
            DP, cookie=g.u64(), cookie_mask=g.choice([0, g.u64()]),
            table_id=g.choice([0, g.u8(), ofp.OFPTT_ALL]) if delete
            else g.r.randrange(255),
            command=cmd, idle_timeout=g.choice([0, g.u16()]),
            hard_timeout=g.choice([0, g.u16()]), priority=g.u16(),
            buffer_id=g.choice([ofp.OFP_NO_BUFFER, g.u32()]),
            out_port=g.port() if delete else ofp.OFPP_ANY,
            out_group=g.choice([ofp.OFPG_ANY, g.r.randrange(0xffffff00)])
            if delete else ofp.OFPG_ANY,
            flags=g.bits(5),
            match=match if match is not None else make_match(g),
            instructions=instructions if instructions is not None
            else ([] if delete else make_instructions(g)))
    for cmd in commands:
        for _ in range(8):
            add(flow_mod(command=cmd))
    # every OXM field unmasked, then masked where maskable
    for f in OXM_FIELDS:
        add(flow_mod(match=make_match(g, [f], masked_p=0.0)))
    for f in OXM_FIELDS:
        if f in MASKABLE:
            m = parser.OFPMatch(_ordered_fields=[(f, oxm_value(g, f, True))])
            add(flow_mod(match=m))
    # all 40 fields in one match (sorted and shuffled)
    add(flow_mod(match=make_match(g, list(OXM_FIELDS), masked_p=0.5)))
    add(flow_mod(match=make_match(g, list(OXM_FIELDS), masked_p=0.5,
                                  shuffle=True)))
    for fs in COHERENT:
        add(flow_mod(match=make_match(g, fs), command=ofp.OFPFC_ADD))
    # every instruction alone, and all together
    for k in INSTR_KINDS:
        add(flow_mod(instructions=[make_instruction(g, k)],
                     command=ofp.OFPFC_ADD))
    add(flow_mod(instructions=[make_instruction(g, k) for k in INSTR_KINDS],
                 command=ofp.OFPFC_ADD))
    # every action alone in apply_actions, and all in write_actions
    for k in ACTION_KINDS:
        add(flow_mod(instructions=[P.OFPInstructionActions(
            ofp.OFPIT_APPLY_ACTIONS, [make_action(g, k)])],
            command=ofp.OFPFC_ADD))
    add(flow_mod(instructions=[P.OFPInstructionActions(
        ofp.OFPIT_WRITE_ACTIONS, make_actions(g, kinds=ACTION_KINDS))],
        command=ofp.OFPFC_ADD))
    # set_field with every settable field
    for chunk in range(0, len(SETTABLE), 6):
        acts = [P.OFPActionSetField(**{f: oxm_value(g, f, False)})
                for f in SETTABLE[chunk:chunk + 6]]
        add(flow_mod(instructions=[P.OFPInstructionActions(
            ofp.OFPIT_APPLY_ACTIONS, acts)], command=ofp.OFPFC_MODIFY))
    # empty match / no instructions
    add(flow_mod(match=P.OFPMatch(), instructions=[],
                 command=ofp.OFPFC_DELETE))
    # GROUP_MOD
    gtypes = [ofp.OFPGT_ALL, ofp.OFPGT_SELECT, ofp.OFPGT_INDIRECT,
              ofp.OFPGT_FF]
    for gt in gtypes:
        for cmd in (ofp.OFPGC_ADD, ofp.OFPGC_MODIFY):
            nb = 1 if gt == ofp.OFPGT_INDIRECT else g.r.randint(0, 4)
            add(P.OFPGroupMod(DP, command=cmd, type_=gt,
                              group_id=g.r.randrange(0xffffff00),
                              buckets=[make_bucket(g, gt)
                                       for _ in range(nb)]))
        add(P.OFPGroupMod(DP, command=ofp.OFPGC_DELETE, type_=gt,
                          group_id=g.choice([ofp.OFPG_ALL,
                                             g.r.randrange(0xffffff00)])))
    # PORT_MOD
    for _ in range(4):
        add(P.OFPPortMod(DP, port_no=g.r.randrange(1, 0xff00),
                         hw_addr=g.mac(), config=g.bits(7) & 0x65,
                         mask=g.bits(7) & 0x65, advertise=g.bits(16)))
    # TABLE_MOD
    for _ in range(3):
        add(P.OFPTableMod(DP, table_id=g.choice([g.u8(), ofp.OFPTT_ALL]),
                          config=g.choice([0, 3, g.u32()])))

    # MULTIPART_REQUEST (all body types)
    def mpf():
        return g.choice([0, 0, ofp.OFPMPF_REQ_MORE])
    for _ in range(2):
        add(P.OFPDescStatsRequest(DP, flags=mpf()))
        add(P.OFPFlowStatsRequest(DP, flags=mpf(),
                                  table_id=g.choice([ofp.OFPTT_ALL, g.u8()]),
                                  out_port=g.choice([ofp.OFPP_ANY, g.port()]),
                                  out_group=g.choice([ofp.OFPG_ANY, 7]),
                                  cookie=g.u64(), cookie_mask=g.u64(),
                                  match=make_match(g)))
        add(P.OFPAggregateStatsRequest(DP, mpf(), g.u8(), g.port(),
                                       ofp.OFPG_ANY, g.u64(), g.u64(),
                                       make_match(g)))
        add(P.OFPTableStatsRequest(DP, flags=mpf()))
        add(P.OFPPortStatsRequest(DP, flags=mpf(),
                                  port_no=g.choice([ofp.OFPP_ANY, g.port()])))
        add(P.OFPQueueStatsRequest(DP, flags=mpf(),
                                   port_no=g.choice([ofp.OFPP_ANY, g.port()]),
                                   queue_id=g.choice([ofp.OFPQ_ALL,
                                                      g.u32()])))
        add(P.OFPGroupStatsRequest(DP, flags=mpf(),
                                   group_id=g.choice([ofp.OFPG_ALL,
                                                      g.u32()])))
        add(P.OFPGroupDescStatsRequest(DP, flags=mpf()))
        add(P.OFPGroupFeaturesStatsRequest(DP, flags=mpf()))
        add(P.OFPMeterStatsRequest(DP, flags=mpf(),
                                   meter_id=g.choice([ofp.OFPM_ALL,
                                                      g.u32()])))
        add(P.OFPMeterConfigStatsRequest(DP, flags=mpf(),
                                         meter_id=g.choice([ofp.OFPM_ALL,
                                                            g.u32()])))
        add(P.OFPMeterFeaturesStatsRequest(DP, flags=mpf()))
        add(P.OFPPortDescStatsRequest(DP, flags=mpf()))
        add(P.OFPExperimenterStatsRequest(DP, flags=mpf(),
                                          experimenter=experimenter_id(g),
                                          exp_type=g.u32(),
                                          data=bytes(
                                              g.u8() for _ in range(
                                                  8 * g.r.randint(0, 4)))))
    add(P.OFPTableFeaturesStatsRequest(DP, flags=0, body=[]))
    add(P.OFPTableFeaturesStatsRequest(
        DP, flags=0, body=[make_table_features(g, full=True)]), spec=False)
    add(P.OFPTableFeaturesStatsRequest(
        DP, flags=ofp.OFPMPF_REQ_MORE,
        body=[make_table_features(g, full=False) for _ in range(3)]),
        spec=False)

    # MULTIPART_REPLY (all body types)
    def mrf():
        return g.choice([0, 0, ofp.OFPMPF_REPLY_MORE])

    def desc_str(n):
        return ('os-ken-gen %d ' % g.r.randrange(10 ** 6)).encode() * n
    for _ in range(2):
        add(P.OFPDescStatsReply(DP, flags=mrf(), body=P.OFPDescStats(
            mfr_desc=desc_str(3), hw_desc=desc_str(1), sw_desc=desc_str(2),
            serial_num=b'SN%d' % g.r.randrange(10 ** 8),
            dp_desc=desc_str(g.r.randint(0, 5)))))
        add(P.OFPFlowStatsReply(DP, flags=mrf(), body=[P.OFPFlowStats(
            table_id=g.u8(), duration_sec=g.u32(),
            duration_nsec=g.r.randrange(10 ** 9), priority=g.u16(),
            idle_timeout=g.u16(), hard_timeout=g.u16(), flags=g.bits(5),
            cookie=g.u64(), packet_count=g.u64(), byte_count=g.u64(),
            match=make_match(g), instructions=make_instructions(g))
            for _ in range(g.r.randint(0, 4))]))
        add(P.OFPAggregateStatsReply(DP, flags=0, body=P.OFPAggregateStats(
            packet_count=g.u64(), byte_count=g.u64(), flow_count=g.u32())))
        add(P.OFPTableStatsReply(DP, flags=mrf(), body=[P.OFPTableStats(
            table_id=i, active_count=g.u32(), lookup_count=g.u64(),
            matched_count=g.u64()) for i in range(g.r.randint(0, 6))]))
        add(P.OFPPortStatsReply(DP, flags=mrf(), body=[P.OFPPortStats(
            g.port(), *([g.u64() for _ in range(12)] +
                        [g.u32(), g.r.randrange(10 ** 9)]))
            for _ in range(g.r.randint(0, 4))]))
        add(P.OFPQueueStatsReply(DP, flags=mrf(), body=[P.OFPQueueStats(
            g.port(), g.u32(), g.u64(), g.u64(), g.u64(), g.u32(),
            g.r.randrange(10 ** 9)) for _ in range(g.r.randint(0, 4))]))
        add(P.OFPGroupStatsReply(DP, flags=mrf(), body=[P.OFPGroupStats(
            group_id=g.u32(), ref_count=g.u32(), packet_count=g.u64(),
            byte_count=g.u64(), duration_sec=g.u32(),
            duration_nsec=g.r.randrange(10 ** 9),
            bucket_stats=[P.OFPBucketCounter(g.u64(), g.u64())
                          for _ in range(g.r.randint(0, 3))])
            for _ in range(g.r.randint(0, 3))]))
        descs = []
        for _ in range(g.r.randint(1, 3)):
            gt = g.choice(gtypes)
            descs.append(P.OFPGroupDescStats(
                type_=gt, group_id=g.u32(),
                buckets=[make_bucket(g, gt)
                         for _ in range(g.r.randint(0, 3))]))
        add(P.OFPGroupDescStatsReply(DP, flags=mrf(), body=descs))
        add(P.OFPGroupFeaturesStatsReply(DP, flags=0,
                                         body=P.OFPGroupFeaturesStats(
                                             g.bits(4), g.bits(4),
                                             [g.u32() for _ in range(4)],
                                             [g.u32() for _ in range(4)])))
        add(P.OFPMeterStatsReply(DP, flags=mrf(), body=[P.OFPMeterStats(
            meter_id=g.u32(), flow_count=g.u32(), packet_in_count=g.u64(),
            byte_in_count=g.u64(), duration_sec=g.u32(),
            duration_nsec=g.r.randrange(10 ** 9),
            band_stats=[P.OFPMeterBandStats(g.u64(), g.u64())
                        for _ in range(g.r.randint(0, 3))])
            for _ in range(g.r.randint(0, 3))]))
        add(P.OFPMeterConfigStatsReply(DP, flags=mrf(), body=[
            P.OFPMeterConfigStats(flags=g.bits(4), meter_id=g.u32(),
                                  bands=[make_band(g, k) for k in
                                         g.sample(['drop', 'dscp_remark',
                                                   'exp'],
                                                  g.r.randint(0, 3))])
            for _ in range(g.r.randint(0, 3))]))
        add(P.OFPMeterFeaturesStatsReply(DP, flags=0, body=[
            P.OFPMeterFeaturesStats(g.u32(), g.bits(3), g.bits(4), g.u8(),
                                    g.u8())]))
        add(P.OFPTableFeaturesStatsReply(DP, flags=mrf(), body=[
            make_table_features(g, full=g.chance(0.5))
            for _ in range(g.r.randint(1, 3))]))
        add(P.OFPPortDescStatsReply(DP, flags=mrf(), body=[
            make_port(g) for _ in range(g.r.randint(0, 4))]))
        add(P.OFPExperimenterStatsReply(DP, flags=mrf(),
                                        body=P.OFPExperimenterMultipart(
                                            experimenter_id(g), g.u32(),
                                            bytes(g.u8() for _ in range(
                                                8 * g.r.randint(0, 4))))))
    add(P.OFPTableFeaturesStatsReply(DP, flags=0, body=[
        make_table_features(g, full=True)]))
    # BARRIER
    for _ in range(2):
        add(P.OFPBarrierRequest(DP))
        add(P.OFPBarrierReply(DP))
    # QUEUE_GET_CONFIG
    for _ in range(3):
        add(P.OFPQueueGetConfigRequest(DP, port=g.choice([ofp.OFPP_ANY,
                                                          g.port()])))
    for nq in (0, 1, 2, 4):
        queues = []
        for _ in range(nq):
            props = []
            for k in g.sample(['min', 'max', 'exp'], g.r.randint(0, 3)):
                if k == 'min':
                    props.append(P.OFPQueuePropMinRate(g.u16()))
                elif k == 'max':
                    props.append(P.OFPQueuePropMaxRate(g.u16()))
                else:
                    props.append(P.OFPQueuePropExperimenter(
                        experimenter_id(g),
                        data=[g.u8() for _ in range(8 * g.r.randint(0, 2))]))
            queues.append(P.OFPPacketQueue(g.u32(), g.port(), props))
        add(P.OFPQueueGetConfigReply(DP, queues=queues, port=g.port()))
    # ROLE
    for role in (ofp.OFPCR_ROLE_NOCHANGE, ofp.OFPCR_ROLE_EQUAL,
                 ofp.OFPCR_ROLE_MASTER, ofp.OFPCR_ROLE_SLAVE):
        add(P.OFPRoleRequest(DP, role=role, generation_id=g.u64()))
        add(P.OFPRoleReply(DP, role=role, generation_id=g.u64()))
    # ASYNC
    for _ in range(2):
        add(P.OFPGetAsyncRequest(DP))
    for _ in range(3):
        masks = [[g.bits(3), g.bits(3)], [g.bits(3), g.bits(3)],
                 [g.bits(4), g.bits(4)]]
        add(P.OFPGetAsyncReply(DP, *masks))
        masks = [[g.bits(3), g.bits(3)], [g.bits(3), g.bits(3)],
                 [g.bits(4), g.bits(4)]]
        add(P.OFPSetAsync(DP, *masks))
    # METER_MOD
    for cmd in (ofp.OFPMC_ADD, ofp.OFPMC_MODIFY, ofp.OFPMC_DELETE):
        for kinds in (['drop'], ['dscp_remark'], ['exp'],
                      ['drop', 'dscp_remark', 'exp']):
            if cmd == ofp.OFPMC_DELETE and len(kinds) > 1:
                kinds = []
            add(P.OFPMeterMod(DP, command=cmd, flags=g.bits(4) | 1,
                              meter_id=g.choice([g.r.randrange(1, 0xffff0000),
                                                 ofp.OFPM_CONTROLLER,
                                                 ofp.OFPM_SLOWPATH]),
                              bands=[make_band(g, k) for k in kinds]))
    # HELLO bitmap with bit 31 set: valid, but os-ken's parser drops bit 31
    # of every bitmap word from .versions (range(31)); bytes still
    # round-trip because the packer uses the parsed ._bitmaps.
    add(P.OFPHello(DP, elements=[P.OFPHelloElemVersionBitmap([4, 31])]))
    if probes:
        # Valid messages that os-ken cannot handle; they are expected to be
        # skipped (and counted on stderr).
        # 1. HELLO element with 2 bitmap words (length 12, padded to 16):
        #    os-ken advances by the unpadded length and loops forever.
        add(P.OFPHello(DP, elements=[P.OFPHelloElemVersionBitmap([4, 33])]))
        # 2. Experimenter multipart reply with 12 bytes of data: os-ken
        #    advances by OFP_METER_FEATURES_SIZE and then hits struct.error.
        add(P.OFPExperimenterStatsReply(
            DP, flags=0, body=P.OFPExperimenterMultipart(
                experimenter_id(g), g.u32(), bytes(range(12)))))
        # 3. Experimenter OXM id in table features: os-ken's
        #    OFPExperimenterOxmId.serialize() returns None.
        tf = make_table_features(g, full=False)
        tf.properties.append(P.OFPTableFeaturePropOxm(
            type_=ofp.OFPTFPT_MATCH, oxm_ids=[P.OFPExperimenterOxmId(
                'tcp_flags', ofproto_common.ONF_EXPERIMENTER_ID)]))
        add(P.OFPTableFeaturesStatsRequest(DP, flags=0, body=[tf]),
            spec=False)
        # 4. PACKET_OUT with data and no actions: os-ken appends the data at
        #    offset 8 and then overwrites its first 16 bytes with
        #    buffer_id/in_port/actions_len (message comes out 16 bytes short).
        add(P.OFPPacketOut(DP, buffer_id=ofp.OFP_NO_BUFFER, in_port=1,
                           actions=[], data=g.data(60, 60)))
    return out


def main(argv):
    seed = int(argv[1]) if len(argv) > 1 else 1
    g = Gen(seed)
    # Imported lazily: osken_parse imports this module too.
    sys.path.insert(0, __import__('os').path.dirname(
        __import__('os').path.abspath(__file__)))
    import osken_parse
    skipped = {}
    covered = {}
    n = 0
    for idx, (msg, spec) in enumerate(build_all(g)):
        cname = type(msg).__name__
        try:
            buf, via = pack_msg(msg, spec_oxm_len=spec)
        except Exception as e:  # os-ken cannot serialize this variant
            key = '%s: serialize: %s' % (cname, type(e).__name__)
            skipped[key] = skipped.get(key, 0) + 1
            continue
        res = osken_parse.parse_msg(buf, want_json=False)
        if res['error'] is not None:
            key = '%s: os-ken parse: %s' % (cname, res['error'][:80])
            skipped[key] = skipped.get(key, 0) + 1
            continue
        if not res['roundtrip']:
            # e.g. os-ken's OFPPacketOut with data but no actions writes the
            # data at offset 8 and then overwrites its first 16 bytes with
            # buffer_id/in_port/actions_len, so the bytes are self-
            # inconsistent with the object that was built.
            key = '%s: parse->reserialize mismatch (os-ken mis-serializes)' \
                % cname
            skipped[key] = skipped.get(key, 0) + 1
            continue
        mtype = buf[1]
        covered[mtype] = covered.get(mtype, 0) + 1
        print(json.dumps({'name': '%s-%d' % (cname, idx), 'type': mtype,
                          'hex': buf.hex(), 'via': via}))
        n += 1
    sys.stdout.flush()
    names = {v: k for k, v in vars(ofp).items() if k.startswith('OFPT_')}
    print('osken_gen: seed=%d emitted=%d skipped=%d' %
          (seed, n, sum(skipped.values())), file=sys.stderr)
    for k, v in sorted(skipped.items()):
        print('  skipped %d x %s' % (v, k), file=sys.stderr)
    print('covered types: ' + ', '.join(
        '%d:%s=%d' % (t, names.get(t, '?')[5:], covered[t])
        for t in sorted(covered)), file=sys.stderr)
    missing = [t for t in range(30) if t not in covered]
    if missing:
        print('MISSING types: %r' % missing, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
