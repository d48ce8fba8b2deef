#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""BPF helpers of xdpvlan_devmap.sh (python3 standard library, bpf(2) by ctypes).

  xv_devmap.py set-devmap MAPPIN TARGET_IFINDEX EGRESS_PROGPIN [KEY]
  xv_devmap.py counts MAPPIN
  xv_devmap.py reset MAPPIN
  xv_devmap.py put MAPPIN KEY VALUE
  xv_devmap.py gen PROGPIN [NETNS:]IFNAME COUNT DST_MAC [SRC_IP DST_IP]
  xv_devmap.py flood PROGPIN [NETNS:]IFNAME COUNT DST_MAC SRC_IP DST_IP [COUNTER]
  xv_devmap.py run MAPDIR PROGPIN [NETNS:]IFNAME COUNT DST_MAC PHASE RX_IFINDEX SECONDS

set-devmap: sets entry KEY (default 0) of the pinned devmap MAPPIN to
  struct bpf_devmap_val { ifindex = TARGET_IFINDEX, bpf_prog.fd = the pinned
  program EGRESS_PROGPIN }, reads it back and prints "ifindex prog_id".
  bpftool cannot do this: "bpftool map update" takes the value as raw bytes
  and has no way to put a program's file descriptor into a devmap value. The
  kernel accepts the program only if it was loaded with expected_attach_type
  BPF_XDP_DEVMAP, so success also proves that. TARGET_IFINDEX is looked up in
  the caller's network namespace.
counts: one "key value" line per entry of the pinned map MAPPIN (__u32 keys,
  __u64 values), sorted by key.
reset: zeroes every entry of an array, deletes every entry of a hash map.
put: sets MAPPIN[KEY] = VALUE (__u32 key, __u64 value).
gen: sends COUNT frames out of IFNAME as xdp-trafficgen does (the technique
  of the project's scripts/guest/xdp-gen.py): runs the pinned XDP program
  PROGPIN, which must return XDP_TX, with BPF_PROG_TEST_RUN in live-frames
  mode (BPF_F_TEST_XDP_LIVE_FRAMES) on a 60-byte UDP/IPv4 frame to DST_MAC,
  port 9 (from 10.0.0.1 to 10.0.0.2 unless SRC_IP and DST_IP are given),
  whose payload is the magic "XVDM" and a zero tag (see
  xv_devmap.bpf.c), received on IFNAME (in the network namespace NETNS, as
  `ip netns` names it). Each XDP_TX hands the frame to IFNAME's ndo_xdp_xmit,
  in bulks of up to 16; the frames of one run (up to 64, one batch) are
  flushed to the device once, at the end. The program is looked up before
  entering NETNS, in the caller's bpffs.
flood: sends COUNT frames as gen does, in runs of 64. A single run of
  100000 frames put 1888 of them through in the debug test guest: the
  receiving veth's NAPI, which a slow guest defers to ksoftirqd, ran after
  the run, and its 256-frame ring overflowed. So with COUNTER (a file that
  counts the receiver's frames, e.g. /sys/class/net/DEV/statistics/
  rx_packets of the caller's namespace) it keeps at most 128 frames ahead
  of it; without, it pauses 2 ms after each run.
run: one case of xdpvlan_devmap.sh in one process (a Python start takes
  10-20 s in the debug test guest, and the case used to start one per map
  operation and per poll): resets MAPDIR's xvd_seen, xvd_in, xvd_out,
  xvd_bad, xvd_prog and xvd_rx, sets xvd_phase[0] = PHASE, sends as gen does, waits
  until xvd_rx[RX_IFINDEX] is COUNT (SECONDS at most, else it prints
  "timeout") and prints each of those maps as "NAME KEY=VALUE ..." (the
  entries sorted by key).
"""

import ctypes
import os
import socket
import struct
import sys
import time

BPF_MAP_LOOKUP_ELEM = 1
BPF_MAP_UPDATE_ELEM = 2
BPF_MAP_DELETE_ELEM = 3
BPF_MAP_GET_NEXT_KEY = 4
BPF_OBJ_GET = 7
BPF_PROG_TEST_RUN = 10
BPF_OBJ_GET_INFO_BY_FD = 15
BPF_MAP_TYPE_HASH = 1
BPF_MAP_TYPE_ARRAY = 2
BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1
CLONE_NEWNET = 0x40000000
NR_BPF = {'x86_64': 321, 'aarch64': 280}[os.uname().machine]
MAGIC = b'XVDM'

libc = ctypes.CDLL(None, use_errno=True)


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, len(attr))
    ret = libc.syscall(NR_BPF, cmd, buf, len(attr))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f'bpf({cmd}): {os.strerror(err)}')
    return ret, buf.raw


def obj_get(path):
    pathb = ctypes.create_string_buffer(path.encode())
    fd, _ = bpf(BPF_OBJ_GET, struct.pack('=QIII', ctypes.addressof(pathb), 0, 0, 0))
    return fd


def info(fd, size):
    """The first `size` bytes of struct bpf_map_info or bpf_prog_info."""
    buf = ctypes.create_string_buffer(size)
    bpf(BPF_OBJ_GET_INFO_BY_FD, struct.pack('=IIQ', fd, size, ctypes.addressof(buf)))
    return buf.raw


def map_elem(cmd, fd, key, value=None, flags=0):
    """LOOKUP/UPDATE/DELETE/GET_NEXT_KEY: key and value are bytes (key None:
    NULL, GET_NEXT_KEY's first key); for LOOKUP and GET_NEXT_KEY, value is the
    output buffer's size."""
    k = ctypes.create_string_buffer(key, len(key)) if key is not None else None
    if isinstance(value, int):
        v = ctypes.create_string_buffer(value)
    elif value is not None:
        v = ctypes.create_string_buffer(value, len(value))
    else:
        v = None
    bpf(cmd, struct.pack('=I4xQQQ', fd, ctypes.addressof(k) if k is not None else 0,
                         ctypes.addressof(v) if v is not None else 0, flags))
    return v.raw if v is not None else None


class Map:
    def __init__(self, path):
        self.fd = obj_get(path)
        # struct bpf_map_info: type, id, key_size, value_size, max_entries, ...
        self.type, _, self.ksize, self.vsize, self.max = struct.unpack_from(
            '=5I', info(self.fd, 24))

    def keys(self):
        keys, key = [], None
        while True:
            try:
                key = map_elem(BPF_MAP_GET_NEXT_KEY, self.fd, key, self.ksize)
            except OSError as e:
                if e.errno == 2:	# ENOENT: no more keys
                    return keys
                raise
            keys.append(key)

    def lookup(self, key):
        return map_elem(BPF_MAP_LOOKUP_ELEM, self.fd, key, self.vsize)

    def update(self, key, value):
        map_elem(BPF_MAP_UPDATE_ELEM, self.fd, key, value)

    def delete(self, key):
        map_elem(BPF_MAP_DELETE_ELEM, self.fd, key)


def u32_u64_map(path):
    m = Map(path)
    if m.ksize != 4 or m.vsize != 8:
        sys.exit(f'{path}: key/value sizes {m.ksize}/{m.vsize}, not 4/8')
    return m


def set_devmap(path, ifindex, progpath, index=0):
    m = Map(path)
    if m.ksize != 4 or m.vsize != 8:
        sys.exit(f'{path}: not a devmap with struct bpf_devmap_val values')
    pfd = obj_get(progpath)
    prog_id = struct.unpack_from('=2I', info(pfd, 8))[1]	# bpf_prog_info: type, id
    key = struct.pack('=I', index)
    m.update(key, struct.pack('=Ii', ifindex, pfd))
    got_if, got_id = struct.unpack('=II', m.lookup(key))
    print(got_if, got_id)
    if (got_if, got_id) != (ifindex, prog_id):
        sys.exit(f'{path}[{index}] is ifindex {got_if} prog {got_id}, not {ifindex} {prog_id}')


def entries(m):
    """The (key, value) pairs of a u32 -> u64 map, sorted by key."""
    rows = []
    for k in m.keys():
        try:
            v = m.lookup(k)
        except OSError as e:
            if e.errno == 2:	# deleted meanwhile
                continue
            raise
        rows.append((struct.unpack('=I', k)[0], struct.unpack('=Q', v)[0]))
    return sorted(rows)


def counts(path):
    for k, v in entries(u32_u64_map(path)):
        print(k, v)


def reset(path):
    reset_map(u32_u64_map(path), path)


def reset_map(m, path):
    if m.type == BPF_MAP_TYPE_ARRAY:
        for i in range(m.max):
            m.update(struct.pack('=I', i), bytes(8))
    elif m.type == BPF_MAP_TYPE_HASH:
        for k in m.keys():
            m.delete(k)
    else:
        sys.exit(f'{path}: map type {m.type} is neither an array nor a hash')


def put(path, key, value):
    u32_u64_map(path).update(struct.pack('=I', key), struct.pack('=Q', value))


def csum(b):
    s = sum(struct.unpack(f'!{len(b) // 2}H', b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def frame(dst_mac, src_ip='10.0.0.1', dst_ip='10.0.0.2', size=60):
    eth = bytes.fromhex(dst_mac.replace(':', '')) + bytes.fromhex('020000000002') + b'\x08\x00'
    payload = MAGIC + bytes(4)	# magic, tag
    payload += bytes(max(size - 14 - 20 - 8 - len(payload), 0))
    udp = struct.pack('!HHHH', 9, 9, 8 + len(payload), 0) + payload
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    return eth + ip + udp


def gen(progpath, ifname, count, mac, *ips):
    send(progpath, ifname, count, mac, *ips)
    print(count)


def flood(progpath, ifname, count, mac, src_ip, dst_ip, counter=None):
    # Opened before live_frames() enters NETNS: /sys stays the caller's.
    cfd = os.open(counter, os.O_RDONLY) if counter else None

    def received():
        return int(os.pread(cfd, 64, 0))

    attr = live_frames(progpath, ifname, mac, src_ip, dst_ip)
    base = received() if cfd is not None else 0
    sent = 0
    while sent < count:
        if cfd is not None:
            # At most 128 frames in the receiver's ring (256), for up to
            # 10 s; then on regardless (the caller counts what arrived).
            end = time.monotonic() + 10
            while received() - base < sent - 128 and time.monotonic() < end:
                time.sleep(0.001)
        n = min(count - sent, 64)
        bpf(BPF_PROG_TEST_RUN, attr(n))
        sent += n
        if cfd is None:
            time.sleep(0.002)
    print(count)


def send(progpath, ifname, count, mac, *ips):
    # attr keeps the frame and the context buffers alive during the call.
    attr = live_frames(progpath, ifname, mac, *ips)
    bpf(BPF_PROG_TEST_RUN, attr(count))


def live_frames(progpath, ifname, mac, *ips):
    """Opens the program, enters NETNS, and returns a function of COUNT that
    gives the BPF_PROG_TEST_RUN attributes of a run of COUNT frames."""
    fd = obj_get(progpath)
    if ':' in ifname:
        netns, ifname = ifname.split(':', 1)
        with open(f'/run/netns/{netns}') as f:
            if libc.setns(f.fileno(), CLONE_NEWNET) < 0:
                sys.exit(f'setns {netns}: {os.strerror(ctypes.get_errno())}')
    pkt = frame(mac, *ips)
    size = len(pkt)
    data = ctypes.create_string_buffer(pkt)
    # struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex
    ctx = ctypes.create_string_buffer(struct.pack(
        '=6I', 0, size, 0, socket.if_nametoindex(ifname), 0, 0))

    def attr(count):
        # union bpf_attr.test: prog_fd, retval, data_size_in, data_size_out, data_in,
        # data_out, repeat, duration, ctx_size_in, ctx_size_out, ctx_in, ctx_out, flags,
        # cpu, batch_size (data and ctx stay referenced by this closure)
        return struct.pack('=IIIIQQIIIIQQIII4x', fd, 0, size, 0, ctypes.addressof(data), 0,
                           count, 0, len(ctx.raw) - 1, 0, ctypes.addressof(ctx), 0,
                           BPF_F_TEST_XDP_LIVE_FRAMES, 0, 0)
    return attr


def run(mapdir, progpath, ifname, count, mac, phase, rx_ifindex, seconds):
    names = ('xvd_seen', 'xvd_in', 'xvd_out', 'xvd_bad', 'xvd_prog', 'xvd_rx')
    # All maps are opened before send() enters the peer's netns.
    maps = {n: u32_u64_map(f'{mapdir}/{n}') for n in names}
    for n in names:
        reset_map(maps[n], n)
    u32_u64_map(f'{mapdir}/xvd_phase').update(struct.pack('=I', 0), struct.pack('=Q', phase))
    send(progpath, ifname, count, mac)
    # dr1 counts a frame after xvd_egress has: when all are there, all is.
    end = time.monotonic() + seconds
    while dict(entries(maps['xvd_rx'])).get(rx_ifindex) != count:
        if time.monotonic() >= end:
            print('timeout')
            break
        time.sleep(0.1)
    for n in names:
        print(n, ' '.join(f'{k}={v}' for k, v in entries(maps[n])))


def main():
    a = sys.argv[1:]
    try:
        if len(a) in (4, 5) and a[0] == 'set-devmap':
            set_devmap(a[1], int(a[2]), a[3], *(int(x) for x in a[4:]))
        elif len(a) == 2 and a[0] == 'counts':
            counts(a[1])
        elif len(a) == 2 and a[0] == 'reset':
            reset(a[1])
        elif len(a) == 4 and a[0] == 'put':
            put(a[1], int(a[2], 0), int(a[3], 0))
        elif len(a) in (5, 7) and a[0] == 'gen':
            gen(a[1], a[2], int(a[3]), a[4], *a[5:])
        elif len(a) in (7, 8) and a[0] == 'flood':
            flood(a[1], a[2], int(a[3]), a[4], *a[5:])
        elif len(a) == 9 and a[0] == 'run':
            run(a[1], a[2], a[3], int(a[4]), a[5], int(a[6]), int(a[7]), float(a[8]))
        else:
            sys.exit(__doc__)
    except OSError as e:
        sys.exit(f'xv_devmap.py {a[0]}: {e}')


if __name__ == '__main__':
    main()
