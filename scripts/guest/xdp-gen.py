#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send frames out of a device at XDP speed, as xdp-trafficgen does.

  xdp-gen.py PROG [NETNS:]IFNAME COUNT DST_MAC [SIZE]

Runs the pinned XDP program PROG (it must return XDP_TX) with
BPF_PROG_TEST_RUN in live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES) COUNT times
on a SIZE-byte (default 60) UDP/IPv4 frame to DST_MAC, received on IFNAME (in the named network namespace NETNS, as `ip netns`
names them):
each XDP_TX sends the frame out of IFNAME through its ndo_xdp_xmit. Unlike
pktgen, the frames reach a veth peer as xdp_frames, never as shared skbs.
Prints the number of runs and the seconds they took.
"""

import ctypes
import os
import socket
import struct
import sys
import time

BPF_OBJ_GET = 7
BPF_PROG_TEST_RUN = 10
BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1
CLONE_NEWNET = 0x40000000
NR_BPF = {'x86_64': 321, 'aarch64': 280}[os.uname().machine]

libc = ctypes.CDLL(None, use_errno=True)


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, len(attr))
    ret = libc.syscall(NR_BPF, cmd, buf, len(attr))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f'bpf({cmd}): {os.strerror(err)}')
    return ret, buf.raw


def csum(b):
    s = sum(struct.unpack(f'!{len(b) // 2}H', b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def frame(dst_mac, size):
    eth = bytes.fromhex(dst_mac.replace(':', '')) + bytes.fromhex('020000000002') + b'\x08\x00'
    payload = bytes(max(size - 14 - 20 - 8, 0))
    udp = struct.pack('!HHHH', 9, 9, 8 + len(payload), 0) + payload
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     socket.inet_aton('10.0.0.1'), socket.inet_aton('10.0.0.2'))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    return eth + ip + udp


def send(fd, ifname, count, mac, size=60):
    """Runs the XDP_TX program fd COUNT times in live-frames mode on a frame
    to MAC received on ifname (of the current netns): each run sends it."""
    data = ctypes.create_string_buffer(frame(mac, size))
    # struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex
    ctx = ctypes.create_string_buffer(struct.pack('=6I', 0, size, 0, socket.if_nametoindex(ifname), 0, 0))
    attr = struct.pack('=IIIIQQIIIIQQIII4x', fd, 0, size, 0, ctypes.addressof(data), 0,
                       count, 0, len(ctx.raw) - 1, 0, ctypes.addressof(ctx), 0,
                       BPF_F_TEST_XDP_LIVE_FRAMES, 0, 0)
    bpf(BPF_PROG_TEST_RUN, attr)


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    path, ifname, count, mac = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    size = int(sys.argv[5]) if len(sys.argv) > 5 else 60
    pathb = ctypes.create_string_buffer(path.encode())
    fd, _ = bpf(BPF_OBJ_GET, struct.pack('=QIII', ctypes.addressof(pathb), 0, 0, 0))
    if ':' in ifname:
        # The program is pinned in this namespace's bpffs; the device is there.
        netns, ifname = ifname.split(':', 1)
        with open(f'/run/netns/{netns}') as f:
            if libc.setns(f.fileno(), CLONE_NEWNET) < 0:
                sys.exit(f'setns {netns}: {os.strerror(ctypes.get_errno())}')
    t0 = time.monotonic()
    send(fd, ifname, count, mac, size)
    print(count, f'{time.monotonic() - t0:.3f}')


if __name__ == '__main__':
    main()
