#!/usr/bin/env python3
"""Writes fuzz_control's seeds: for each case of the Ryu switch tester's vectors
(test/fixtures/ryu-switch-of13/vectors.txt: its mods and its frame), one input
stream of OpenFlow messages: the case's flow, group and meter mods, a
packet-out of its frame through the tables (output:TABLE) and a flow stats
request for every table. Each seed is named control-<hash> by its content.

    python3 fuzz/seed_control.py VECTORS DIR     (make -C native corpus)
"""
import hashlib
import os
import struct
import sys

OFPP_TABLE, OFPP_ANY, OFPG_ANY, OFPTT_ALL, NO_BUFFER = 0xfffffff9, 0xffffffff, 0xffffffff, 0xff, 0xffffffff


def message(ofpt, body):
    return struct.pack('!BBHI', 4, ofpt, 8 + len(body), 0) + body


def packet_out(in_port, frame):
    output_table = struct.pack('!HHIH6x', 0, 16, OFPP_TABLE, 0xffe5)
    return message(13, struct.pack('!IIH6x', NO_BUFFER, in_port, len(output_table)) + output_table + frame)


def flow_stats_request():
    empty_match = struct.pack('!HH4x', 1, 4)
    return message(18, struct.pack('!HH4xB3xII4xQQ', 1, 0, OFPTT_ALL, OFPP_ANY, OFPG_ANY, 0, 0) + empty_match)


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
            stream += packet_out(*case['in'])
        stream += flow_stats_request()
        seeds.add(stream)
    for stream in seeds:
        with open(os.path.join(out, 'control-' + hashlib.sha1(stream).hexdigest()[:16]), 'wb') as f:
            f.write(stream)
    print(f'seed_control: {len(seeds)} seeds in {out}')


if __name__ == '__main__':
    main(*sys.argv[1:])
