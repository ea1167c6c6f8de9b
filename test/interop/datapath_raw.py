"""Raw Ethernet frames on an interface, for test/interop/datapath-ports.test.ts.

A peer independent of tsof's C code: Linux's own AF_PACKET socket API as any
program uses it, with the VLAN tag the kernel strips put back from
PACKET_AUXDATA (as libpcap does).

  datapath_raw.py send IFACE       sends each hex frame read from stdin (one a line)
  datapath_raw.py recv IFACE SRC N SECONDS
                                   prints "ready", then the hex of each frame received
                                   from MAC SRC, until N frames or SECONDS have passed
"""
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
AUXDATA = struct.Struct("=IIIHHHH")  # struct tpacket_auxdata


def open_socket(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, ETH_P_ALL))
    return s


def send(iface):
    s = open_socket(iface)
    for line in sys.stdin:
        if line.strip():
            s.send(bytes.fromhex(line.strip()))


def with_tag(frame, ancdata):
    for level, kind, data in ancdata:
        if level == SOL_PACKET and kind == PACKET_AUXDATA:
            status, _, _, _, _, tci, tpid = AUXDATA.unpack(data[: AUXDATA.size])
            if status & TP_STATUS_VLAN_VALID:
                tpid = tpid if status & TP_STATUS_VLAN_TPID_VALID else 0x8100
                return frame[:12] + struct.pack("!HH", tpid, tci) + frame[12:]
    return frame


def recv(iface, src, count, seconds):
    s = open_socket(iface)
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    want = bytes.fromhex(src.replace(":", ""))
    print("ready", flush=True)
    end = time.monotonic() + seconds
    got = 0
    while got < count and time.monotonic() < end:
        if not select.select([s], [], [], max(0.0, end - time.monotonic()))[0]:
            break
        frame, ancdata, _, addr = s.recvmsg(65536, socket.CMSG_SPACE(AUXDATA.size))
        if addr[2] == PACKET_OUTGOING or frame[6:12] != want:
            continue
        print(with_tag(frame, ancdata).hex(), flush=True)
        got += 1


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(sys.argv[2])
    else:
        recv(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
