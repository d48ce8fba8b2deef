#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Helpers of the XDP rx handler selftests.

  xrh_pkt.py send DEV DST_MAC COUNT TAG [SIZE]
                                            send COUNT tagged Ethernet frames
                                            of SIZE bytes (default 60)
  xrh_pkt.py count DEV TAG SECONDS          print 'ready' once listening, then,
                                            on SIGTERM or after SECONDS, how
                                            many tagged frames DEV received
  xrh_pkt.py watch DIR DEV...               write DIR/ready once listening,
                                            then keep in DIR/DEV-TAG-SIZE how
                                            many tagged frames of SIZE bytes
                                            DEV received, until killed; a line
                                            'send ARGS' on stdin sends as above,
                                            then writes DIR/sent-TAG
  xrh_pkt.py setprog PIN FILE               open the pinned BPF program PIN
                                            and write its fd to FILE
"""

import ctypes
import os
import select
import signal
import socket
import struct
import sys
import time

ETH_P_XRH = 0x88b5  # IEEE 802 local experimental ethertype
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SO_RCVBUFFORCE = 33


def mac(s):
    return bytes(int(b, 16) for b in s.split(':'))


def send(dev, dst, count, tag, size=60):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((dev, 0))
    # The bound address ends with the device's MAC (no /sys needed).
    src = s.getsockname()[4]
    for i in range(int(count)):
        payload = b'XRH:' + tag.encode() + b'/' + struct.pack('!I', i)
        frame = mac(dst) + src + struct.pack('!H', ETH_P_XRH) + payload
        s.send(frame.ljust(int(size), b'\0'))


def count(dev, tag, seconds):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((dev, 0))
    s.settimeout(0.1)
    want = b'XRH:' + tag.encode()
    n = 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    end = time.monotonic() + float(seconds)
    # Tell the caller the socket is bound before it sends.
    print('ready', flush=True)
    while not stop and time.monotonic() < end:
        try:
            data, addr = s.recvfrom(2048)
        except (socket.timeout, InterruptedError):
            continue
        if addr[2] == PACKET_OUTGOING:
            continue
        if data[12:14] == struct.pack('!H', ETH_P_XRH) and data[14:14 + len(want)] == want:
            n += 1
    # Frames already queued on the socket count too.
    s.setblocking(False)
    while True:
        try:
            data, addr = s.recvfrom(2048)
        except (BlockingIOError, InterruptedError):
            break
        if addr[2] != PACKET_OUTGOING and data[14:14 + len(want)] == want:
            n += 1
    print(n, flush=True)


def watch(outdir, *devs):
    socks = {}
    for dev in devs:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20)
        except PermissionError:
            pass
        s.bind((dev, 0))
        socks[s] = dev
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    def put(name, value):
        tmp = os.path.join(outdir, '.' + name)
        with open(tmp, 'w') as f:
            f.write(f'{value}\n')
        os.replace(tmp, os.path.join(outdir, name))

    counts = {}
    put('ready', 1)
    inputs = [0]
    pending = b''
    while True:
        for s in select.select(list(socks) + inputs, [], [])[0]:
            if s == 0:
                data = os.read(0, 4096)
                if not data:
                    inputs = []
                *lines, pending = (pending + data).split(b'\n')
                for cmd in (line.decode().split() for line in lines):
                    if cmd and cmd[0] == 'send':
                        send(*cmd[1:])
                        put('sent-' + cmd[4], 1)
                continue
            data, addr = s.recvfrom(65536)
            if (addr[2] == PACKET_OUTGOING or data[12:14] != struct.pack('!H', ETH_P_XRH) or
                    data[14:18] != b'XRH:'):
                continue
            tag = data[18:].split(b'/', 1)[0].decode(errors='replace')
            key = f'{socks[s]}-{tag}-{len(data)}'
            counts[key] = counts.get(key, 0) + 1
            put(key, counts[key])


def setprog(pin, path):
    libc = ctypes.CDLL(None, use_errno=True)
    nr_bpf, bpf_obj_get = 321, 7  # x86_64
    name = ctypes.create_string_buffer(pin.encode())
    attr = struct.pack('=QII', ctypes.addressof(name), 0, 0).ljust(128, b'\0')
    buf = ctypes.create_string_buffer(attr, len(attr))
    fd = libc.syscall(nr_bpf, bpf_obj_get, buf, len(attr))
    if fd < 0:
        sys.exit(f'BPF_OBJ_GET {pin}: {os.strerror(ctypes.get_errno())}')
    with open(path, 'w') as f:
        f.write(str(fd))


if __name__ == '__main__':
    cmd, args = sys.argv[1], sys.argv[2:]
    {'send': send, 'count': count, 'watch': watch, 'setprog': setprog}[cmd](*args)
