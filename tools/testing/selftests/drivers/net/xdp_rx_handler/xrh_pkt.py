#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Helpers of the XDP rx handler selftests.

  xrh_pkt.py send DEV DST_MAC COUNT TAG [SIZE [dup-lost]]
                                            send COUNT tagged Ethernet frames
                                            of SIZE bytes (default 60),
                                            numbered from 0 (dup-lost: frame 3
                                            twice and no frame 5, the same
                                            total, as a check of the checks)
  xrh_pkt.py count DEV TAG SECONDS          print 'ready' once listening, then,
                                            on SIGTERM or after SECONDS, how
                                            many tagged frames DEV received
  xrh_pkt.py watch DIR DEV...               write DIR/ready once listening,
                                            then keep in DIR/DEV-TAG-SIZE how
                                            many tagged frames of SIZE bytes
                                            DEV received, until killed; a line
                                            'send ARGS' on stdin sends as above,
                                            then writes DIR/sent-TAG; a line
                                            'mark DEV DST_MAC TAG' sends a
                                            marker frame (ethertype 0x88b6,
                                            which the test programs pass on;
                                            64 bytes),
                                            counted as DIR/DEV-mark-TAG where
                                            it arrives
  xrh_pkt.py setprog PIN FILE               open the pinned BPF program PIN
                                            and write its fd to FILE
"""

# Only C modules (ctypes where it is needed): in the test guest (debug kernel
# under TCG) the pure-Python socket and signal modules add seconds to each
# start.
import _signal as signal
import _socket as socket
import _struct as struct
import array
import os
import select
import sys
import time

ETH_P_XRH = 0x88b5  # IEEE 802 local experimental ethertype
ETH_P_MARK = 0x88b6  # ... the other one: markers
MARK_SIZE = 64  # test frames are 60 bytes unless told otherwise
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SOL_PACKET = 263
# Frames this host sends are not copied to the socket: a packet socket that
# sees them holds a clone of each sent skb, so a receiving veth gets a
# cloned skb, which it copies before its XDP program runs; the tests need
# not see their own sends, and should not change the path under test.
PACKET_IGNORE_OUTGOING = 23
SO_RCVBUFFORCE = 33
SO_ATTACH_FILTER = 26


def only_test_frames(s):
    """Attach a classic BPF filter: only ETH_P_XRH and ETH_P_MARK frames are
    queued. Under a pktgen flood the watcher would otherwise parse every
    flood frame in Python, fall behind and lose tagged frames when its socket
    buffer overflowed, more or fewer with the host's speed."""
    insns = (
        (0x28, 0, 0, 12),         # ldh [12]
        (0x15, 1, 0, ETH_P_XRH),  # jeq #ETH_P_XRH, accept
        (0x15, 0, 1, ETH_P_MARK),  # jeq #ETH_P_MARK, accept, drop
        (0x06, 0, 0, 0x40000),    # accept: ret #262144
        (0x06, 0, 0, 0),          # drop: ret #0
    )
    prog = array.array('B', b''.join(struct.pack('=HBBI', *i) for i in insns))
    # struct sock_fprog: unsigned short len; struct sock_filter *filter.
    fprog = struct.pack('=HxxxxxxQ', len(insns), prog.buffer_info()[0])
    s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def mac(s):
    return bytes(int(b, 16) for b in s.split(':'))


def send(dev, dst, count, tag, size=60, how='', proto=ETH_P_XRH):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((dev, 0))
    # The bound address ends with the device's MAC (no /sys needed).
    src = s.getsockname()[4]
    indexes = list(range(int(count)))
    if how == 'dup-lost' and len(indexes) > 5:
        indexes.remove(5)
        indexes.insert(3, 3)
    elif how:
        sys.exit(f'send: unknown option {how}')
    for i in indexes:
        payload = b'XRH:' + tag.encode() + b'/' + struct.pack('!I', i)
        frame = mac(dst) + src + struct.pack('!H', proto) + payload
        s.send(frame.ljust(int(size), b'\0'))
    s.close()


def count(dev, tag, seconds):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    s.bind((dev, 0))
    s.settimeout(0.1)
    want = b'XRH:' + tag.encode() + b'/'
    n = 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    end = time.monotonic() + float(seconds)
    # Tell the caller the socket is bound before it sends.
    print('ready', flush=True)
    while not stop and time.monotonic() < end:
        try:
            data, addr = s.recvfrom(2048)
        except (TimeoutError, InterruptedError):
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
        if (addr[2] != PACKET_OUTGOING and data[12:14] == struct.pack('!H', ETH_P_XRH) and
                data[14:14 + len(want)] == want):
            n += 1
    print(n, flush=True)


def watch(outdir, *devs):
    socks = {}
    for dev in devs:
        # Protocol 0: the socket receives nothing until it is bound to DEV
        # (ETH_P_ALL, which bind() converts to network order), with its
        # options and filter set: no frame of another device gets in first.
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        try:
            s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20)
        except PermissionError:
            pass
        only_test_frames(s)
        s.bind((dev, ETH_P_ALL))
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
                    elif cmd and cmd[0] == 'mark' and len(cmd) == 4:
                        send(cmd[1], cmd[2], 1, cmd[3], MARK_SIZE, proto=ETH_P_MARK)
                continue
            try:
                data, addr = s.recvfrom(65536)
            except OSError:
                # The device went away (ENETDOWN): stop watching it.
                del socks[s]
                s.close()
                continue
            proto = struct.unpack('!H', data[12:14])[0] if len(data) >= 14 else 0
            if (addr[2] == PACKET_OUTGOING or proto not in (ETH_P_XRH, ETH_P_MARK) or
                    data[14:18] != b'XRH:'):
                continue
            tag = data[18:].split(b'/', 1)[0].decode(errors='replace')
            if proto == ETH_P_MARK:
                key = f'{socks[s]}-mark-{tag}'
            else:
                key = f'{socks[s]}-{tag}-{len(data)}'
            counts[key] = counts.get(key, 0) + 1
            put(key, counts[key])


def setprog(pin, path):
    import ctypes
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
