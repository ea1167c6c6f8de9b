#!/usr/bin/env python3
"""Writes fuzz_control's seeds: for each case of the Ryu switch tester's vectors
(test/fixtures/ryu-switch-of13/vectors.txt: its mods and its frame), one input
stream of OpenFlow messages: the case's flow, group and meter mods, a
packet-out of its frame through the tables (output:TABLE), a port-mod that
stops port 2 forwarding and the packet-out again; its flow mods in a bundle
(ONF's extension) with one more that outputs to a group that does not exist,
so that the commit fails and is undone, and again without it; then a flow, aggregate,
table, group, group desc, meter and meter config stats request for
everything. Each seed is named control-<hash> by its content.

    python3 fuzz/seed_control.py VECTORS DIR     (make -C native corpus)
"""
import hashlib
import os
import struct
import sys

OFPP_TABLE, OFPP_ANY, OFPG_ANY, OFPTT_ALL, NO_BUFFER = 0xfffffff9, 0xffffffff, 0xffffffff, 0xff, 0xffffffff
OFPG_ALL, OFPM_ALL, OFPPC_NO_FWD = 0xfffffffc, 0xffffffff, 32
ONF_EXPERIMENTER, ONFT_BUNDLE_CONTROL, ONFT_BUNDLE_ADD_MESSAGE, OFPBCT_COMMIT_REQUEST = 0x4f4e4600, 2300, 2301, 4
OFPMP_FLOW, OFPMP_AGGREGATE, OFPMP_TABLE, OFPMP_GROUP, OFPMP_GROUP_DESC, OFPMP_METER, OFPMP_METER_CONFIG = 1, 2, 3, 6, 7, 9, 10


def message(ofpt, body):
    return struct.pack('!BBHI', 4, ofpt, 8 + len(body), 0) + body


def packet_out(in_port, frame):
    output_table = struct.pack('!HHIH6x', 0, 16, OFPP_TABLE, 0xffe5)
    return message(13, struct.pack('!IIH6x', NO_BUFFER, in_port, len(output_table)) + output_table + frame)


def bundle(flow_mods):
    def onf(exp_type, body):
        return message(4, struct.pack('!II', ONF_EXPERIMENTER, exp_type) + body)
    adds = [onf(ONFT_BUNDLE_ADD_MESSAGE, struct.pack('!IHH', 1, 0, 0) + fm) for fm in flow_mods]
    return b''.join(adds) + onf(ONFT_BUNDLE_CONTROL, struct.pack('!IHH', 1, OFPBCT_COMMIT_REQUEST, 0))


def flow_mod_to_group(group_id):
    empty_match = struct.pack('!HH4x', 1, 4)
    apply_group = struct.pack('!HH4xHHI', 4, 16, 22, 8, group_id)
    return message(14, struct.pack('!QQBBHHHIIIH2x', 0, 0, 0, 0, 0, 0, 0, NO_BUFFER, OFPP_ANY, OFPG_ANY, 0)
                   + empty_match + apply_group)


def port_mod(port, config, mask):
    return message(16, struct.pack('!I4x6s2xIII4x', port, bytes(6), config, mask, 0))


def multipart_request(mp_type, body=b''):
    return message(18, struct.pack('!HH4x', mp_type, 0) + body)


def stats_requests():
    empty_match = struct.pack('!HH4x', 1, 4)
    every_flow = struct.pack('!B3xII4xQQ', OFPTT_ALL, OFPP_ANY, OFPG_ANY, 0, 0) + empty_match
    return b''.join([
        multipart_request(OFPMP_FLOW, every_flow),
        multipart_request(OFPMP_AGGREGATE, every_flow),
        multipart_request(OFPMP_TABLE),
        multipart_request(OFPMP_GROUP, struct.pack('!I4x', OFPG_ALL)),
        multipart_request(OFPMP_GROUP_DESC),
        multipart_request(OFPMP_METER, struct.pack('!I4x', OFPM_ALL)),
        multipart_request(OFPMP_METER_CONFIG, struct.pack('!I4x', OFPM_ALL)),
    ])


def cases(path):
    case = None
    for line in open(path):
        word, _, rest = line.strip().partition(' ')
        if word == 'case':
            if case:
                yield case
            case = {'mods': [], 'in': None}
        elif word == 'mod':
            case['mods'].append(bytes.fromhex(rest))
        elif word == 'in' and case['in'] is None:
            port, frame = rest.split(' ')
            case['in'] = (int(port), bytes.fromhex(frame))
    if case:
        yield case


def main(vectors, out):
    os.makedirs(out, exist_ok=True)
    seeds = set()
    for case in cases(vectors):
        stream = b''.join(case['mods'])
        if case['in']:
            stream += packet_out(*case['in']) + port_mod(2, OFPPC_NO_FWD, OFPPC_NO_FWD) + packet_out(*case['in'])
        flow_mods = [m for m in case['mods'] if m[1] == 14]
        stream += bundle(flow_mods + [flow_mod_to_group(0xfffffe)]) + bundle(flow_mods)
        stream += stats_requests()
        seeds.add(stream)
    for stream in seeds:
        with open(os.path.join(out, 'control-' + hashlib.sha1(stream).hexdigest()[:16]), 'wb') as f:
            f.write(stream)
    print(f'seed_control: {len(seeds)} seeds in {out}')


if __name__ == '__main__':
    main(*sys.argv[1:])
