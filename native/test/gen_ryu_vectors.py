#!/usr/bin/python3
"""
gen_ryu_vectors.py: turns the OpenFlow 1.3 cases of the Ryu/os-ken switch test
tool into native/test/fixtures/ryu-switch-of13/vectors.txt, which
test_pipeline.c replays through the pipeline.

It uses os-ken's own test-file reader (os_ken.tests.switch.tester), so the
flow-, group- and meter-mods are os-ken's serialisations and the packets its
packet library's. Cases that measure throughput over 30 s (the meter and group
ones) are left out: test_pipeline.c tests meters and groups with a simulated
clock instead.

os-ken's SCTP serialiser computes its CRC32c over str(bytearray) on Python 3,
which is wrong; the CRC of every SCTP packet is recomputed here.

Run with Debian's python3-os-ken:
    /usr/bin/python3 native/test/gen_ryu_vectors.py SRC_DIR > native/test/fixtures/ryu-switch-of13/vectors.txt
where SRC_DIR holds action/, match/, group/, meter/ (e.g. ../shared/conformance/ryu-switch-of13).

Output, one line each:
    case <file> | <description>
    mod <hex>                       a message to apply, in order
    in <port> <hex>                 a frame arriving on port
    out <port> <hex>                expected: exactly this frame, on port
    packet_in <hex>                 expected: this frame to the controller (reason ACTION)
    miss <table>[,<table>...]       expected: looked up in these tables, matched in none
"""
import glob
import logging
import os
import struct
import sys

from os_ken import cfg
from os_ken.tests.switch import tester

CRC32C_POLY = 0x82F63B78


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ CRC32C_POLY if c & 1 else c >> 1
    return c ^ 0xFFFFFFFF


def fix_sctp(frame):
    """Recomputes the CRC of an SCTP packet in an Ethernet frame (under VLAN
    tags, an MPLS label stack or a PBB I-TAG; IPv4, or IPv6 without extension
    headers: what the test files use)."""
    f = bytearray(frame)
    at = 12
    while True:
        etype = struct.unpack_from('!H', f, at)[0]
        if etype in (0x8100, 0x88a8):
            at += 4
        elif etype == 0x88E7:
            at += 2 + 4 + 12  # the I-TAG, then the customer addresses
        else:
            break
    at += 2
    if etype in (0x8847, 0x8848):
        while not f[at + 2] & 1:
            at += 4
        at += 4
        etype = {4: 0x0800, 6: 0x86DD}.get(f[at] >> 4, 0)
    if etype == 0x0800 and f[at + 9] == 132:
        ihl = (f[at] & 15) * 4
        end = at + struct.unpack_from('!H', f, at + 2)[0]
        l4 = at + ihl
    elif etype == 0x86DD and f[at + 6] == 132:
        end = at + 40 + struct.unpack_from('!H', f, at + 4)[0]
        l4 = at + 40
    else:
        return bytes(f)
    f[l4 + 8:l4 + 12] = b'\0\0\0\0'
    f[l4 + 8:l4 + 12] = struct.pack('<I', crc32c(bytes(f[l4:end])))
    return bytes(f)


def main():
    src = sys.argv[1]
    cfg.CONF([], project='os_ken')
    tester.OfTester.target_ver = 4
    tester.OfTester.tester_ver = 4
    conf = cfg.CONF['test-switch']
    log = logging.getLogger('gen')
    files = sorted(glob.glob(os.path.join(src, '**', '*.json'), recursive=True))
    out = sys.stdout
    n_cases = 0
    for path in files:
        rel = os.path.relpath(path, src)
        for test in tester.TestFile(path, log).tests:
            if any(tester.KEY_PACKETS in t or tester.KEY_THROUGHPUT in t for t in test.tests):
                continue
            out.write('case %s | %s\n' % (rel, test.description))
            for msg in test.prerequisite:
                out.write('mod %s\n' % bytes(msg.buf).hex())
            for t in test.tests:
                out.write('in %d %s\n' % (conf.target_recv_port, fix_sctp(t[tester.KEY_INGRESS]).hex()))
                if tester.KEY_EGRESS in t:
                    out.write('out %d %s\n' % (conf.target_send_port_1, fix_sctp(t[tester.KEY_EGRESS]).hex()))
                elif tester.KEY_PKT_IN in t:
                    out.write('packet_in %s\n' % fix_sctp(t[tester.KEY_PKT_IN]).hex())
                else:
                    out.write('miss %s\n' % ','.join(str(x) for x in t[tester.KEY_TBL_MISS]))
            n_cases += 1
    sys.stderr.write('%d cases from %d files\n' % (n_cases, len(files)))


if __name__ == '__main__':
    main()
