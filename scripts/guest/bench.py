#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The benchmark's guest side (scripts/bench.sh boots the release kernel and
runs this). Measures, interleaved, REPS repetitions of every mode and writes
one JSON line per run to $XDPRX_OUT/bench-runs.jsonl:

  l0_drop     A: XDP_DROP at L0: v0 (veth, driver mode) drops
  l0_drop2    v0 drops, its program counting twice (bench.bpf.c's bn_drop2):
              P = ns(l0_drop2) - ns(l0_drop), the cost of one more program
              run, so that the hook's own cost per level is
              H = ns(l1_drop) - ns(l0_drop) - P
  l1_drop     B: v0 passes (driver mode), the XDP rx handler hands the
              xdp_buff to u1 (xdpvlan), whose program drops it
  l2_drop     v0 and u1 pass, u2 (xdpvlan on u1) drops: two handler levels
  mv_drop     C: upstream macvlan: m0 (veth, no program) builds the skb,
              macvlan's rx handler hands it to mv1, whose program drops it
              in generic (skb) mode
  l0_pass_h   v0 passes frames for no upper while u1 is registered on it
              (the handler runs, finds no upper, the skb path follows)
  l0_pass     the same on n0, a veth with no upper: no handler
  l0_pass_mv  the same on m0, macvlan's lower: its skb rx handler runs
  l1_lat      as l1_drop, with bn_pass_ts on v0 and bn_drop_ts on u1: the
              receive path's guest instructions per frame from v0's program
              to u1's (lat_ns; see bench.bpf.c), whatever the sender does.
              2000 frames sent one by one, 0.2 ms apart, so that each has a
              NAPI poll of its own (the skb path runs the lower's program on
              all frames of a poll before their skbs go up: with batches, a
              frame's time would hold its neighbours' work); the rate of
              these modes means nothing
  mv_lat      the same from m0's program (driver mode, XDP_PASS) to mv1's
              in generic mode: the skb, GRO's flush at the end of the poll,
              macvlan's rx handler, generic XDP
  udp_xv      UDP into a socket on u1 (v0 and u1 pass, driver mode/native)
  udp_xs      the same on xdpvlan's skb path: no program on v0 (no hook
              call), u1's program runs on the skb
  udp_mv      UDP into a socket on mv1 (macvlan, no programs)
  tcp_xv      TCP into a socket on u1, as udp_xv
  tcp_xs      TCP into a socket on u1, as udp_xs
  tcp_mv      TCP into a socket on mv1, as udp_mv
  tcp_mvx     the same with an XDP_PASS program on m0 (driver mode): veth
              then turns its peer's GSO off, as it does for v0 in tcp_xv,
              so both send MTU-sized frames

Scale modes (BENCH_SCALE, default "1 16 256 1024": the numbers of uppers),
on veth pairs of their own, s0 (xdpvlan uppers xs0..) and t0 (macvlan
uppers, bridge mode, ms0..), every upper up, with N uppers on each lower:

  sc_xv_last@N  s0 passes (driver mode), the last created xdpvlan upper
                drops (its program, native path): a frame for one upper
                of N
  sc_xv_none@N  s0 passes frames for no upper (handler registered, N
                uppers): the demux's miss
  sc_mv_last@N  the last created macvlan upper drops in generic mode, no
                program on t0 (the C numbers of R2)
  sc_mv_none@N  t0 passes frames for no upper (macvlan's skb rx handler
                runs after the skb is built)
  mk_xv@N, mk_mv@N  creating the uppers up to N (one `ip -batch`: add and
                set up), its rate in uppers per second; rm_xv, rm_mv
                deleting all of them (`ip -batch` of `link del`), at the end

NIC modes (set "nic"): the same frames and sockets through virtio-net, the
case the seed was written for. The guest has three pairs of virtio-net NICs
(scripts/vm-run.sh --net hub:81 hub:82 hub:83), each NIC ...:01 wired to its
...:02 through a QEMU hub: the ...:01 of each pair (va, vb, vc) goes to the
peer's netns and sends, the ...:02 (vx, vm, vn) receives. vx carries an
xdpvlan upper (vu1), vm a macvlan upper (vmv1, bridge mode), vn nothing.
The senders have bn_pass attached in driver mode (virtio-net transmits
XDP frames only on a device with a program: its XDP send queues). Every
virtio-net interrupt goes to CPU 1, the sender's, so that NAPI runs there as
veth's does in the frame modes:

  nl0_drop     vx drops (driver mode)
  nl1_drop     vx passes, vu1 drops (native path)
  nmv_drop     vmv1 drops in generic mode, no program on vm
  nl0_pass_h   vx passes frames for no upper (vu1 registered)
  nl0_pass     vn passes frames: no upper, no handler
  nl1_lat, nmv_lat  l1_lat and mv_lat through virtio-net (vx -> vu1,
               vm -> vmv1)
  udp_xv_n     UDP into a socket on vu1 (vx and vu1 pass, native path)
  udp_mvx_n    UDP into a socket on vmv1, bn_pass on vm (driver mode)
  tcp_xv_n, tcp_mv_n, tcp_mvx_n   TCP likewise; tcp_mv_n with no program

A frame mode's rate is, as on veth, the frames the level under test saw
per second of guest time. Through virtio-net each frame also passes QEMU's
device model and hub, which run on a host thread of their own and take no
guest instructions, so a sender whose queue is full retries meanwhile: the
rates, and their ratios, depend on how fast that host thread is, i.e. on
the host's load (measured: nl0_drop 450172 frames/s in a guest alone on the
host, 247454 beside two test guests; R1v 0.898 and 0.896, B/Cv 1.72 and
1.28). The lost frames are recorded (lost_at_ring). The *_lat modes' lat_ns
do not depend on it: they time the receive path alone, in guest
instructions.

Also on veth, "main": udp_mvx, UDP into mv1 with bn_pass on m0 (driver
mode), the fair baseline of R3 as tcp_mvx is R6's.

BENCH_SETS (default "main scale") chooses the sets of modes that run.

Frame modes: 60-byte UDP/IPv4 frames are sent from the veth peer (netns
"bp") by BPF_PROG_RUN in live-frames mode (xdp-gen.py, the method of
xdp-trafficgen), so they reach the receiving veth as xdp_frames, and counted
by bench.bpf.c's bn_drop/bn_pass (what xdp-bench's drop/pass do) at every
level. The rate of a run is the rate at which the level under test saw its
frames, between the first and the last one (guest clock). The UDP modes use
udp-pump.c (why not iperf3: see there), 64-byte datagrams; their rate is
what the receiver took from its socket, between its first and last
datagram. The TCP modes use iperf3; their rate is what the server received.

Why not xdp-tools: Debian bookworm's xdp-tools 1.3.1 (xdp-bench,
xdp-trafficgen) loads statistics programs on the tracepoints
xdp_redirect_map{,_err}, which kernels since 6.16 no longer have. Measured on
this machine's host kernel (6.18): both tools fail with "failed to find kernel
BTF type ID of 'xdp_redirect_map_err'"; the 7.3 tree has no such tracepoint
either (include/trace/events/xdp.h). Upstream xdp-tools dropped them in 2025
(xdp-tools pull request 513), after bookworm's version.

CPUs: the sender (xdp-gen.py, udp-pump send, the iperf3 client) runs on
CPU 1 and the receiver (udp-pump recv, the iperf3 server) on CPU 0. Where
the receive path runs depends on the clock:

  tcg-mt  ("split") every veth's NAPI is threaded (/sys/class/net/DEV/
          threaded) and its thread pinned to CPU 0: the rate is the receive
          path's, on a CPU of its own (multi-threaded TCG: each vCPU is a
          host thread). Not in the default run: the release kernel died of
          "Oops: int3" in bpf_dispatcher_xdp_func in both boots so far (see
          scripts/vm-run.sh --tcg-single).
  icount, tcg
          ("same") NAPI runs as a softirq on the sender's CPU: after every
          batch of 64 frames the sender's BPF_PROG_RUN enables bottom halves
          and veth's NAPI takes the batch. With -icount all vCPUs share one
          host thread, round robin: a sender on one vCPU fills veth's 256-frame
          ring long before a NAPI thread on the other vCPU is scheduled
          (measured: 99.4 % of 100000 frames lost at the ring; 96.5 % under
          single-threaded TCG without icount). With icount the guest clock
          counts the instructions of sender and receiver together, so the
          cost of a mode is its ns (= instructions) per frame, and its
          difference to l0_drop the cost of the extra work. "tcg" is QEMU
          TCG single-threaded (-accel tcg,thread=single) without icount:
          the same layout timed by the wall clock.
"""

import ctypes
import importlib.util
import json
import os
import shutil
import struct
import subprocess
import sys
import time

TOP = os.environ['XDPRX_TOP']
OUT = os.environ['XDPRX_OUT']
MOD = os.environ['BENCH_MODULE']
OBJ = os.environ['BENCH_OBJ']
GEN = os.path.join(TOP, 'scripts/guest/xdp-gen.py')
PUMP = os.environ['BENCH_PUMP']
PROGS = '/sys/fs/bpf/bn'
MAPS = '/sys/fs/bpf/bn_maps'
NS = 'bp'
MAC = {'u1': '02:00:00:00:01:01', 'u2': '02:00:00:00:02:02',
       'mv1': '02:00:00:00:0a:01', 'none': '02:00:00:00:0e:0e',
       'vu1': '02:00:00:00:11:01', 'vmv1': '02:00:00:00:1a:01'}
IP = {'u1': '10.1.0.1', 'v1': '10.1.0.2', 'mv1': '10.2.0.1', 'm1': '10.2.0.2',
      'vu1': '10.3.0.1', 'va': '10.3.0.2', 'vmv1': '10.4.0.1', 'vb': '10.4.0.2'}
# The virtio-net pairs (scripts/vm-run.sh --net hub:NN): hub, the sender's
# name (peer netns), the receiver's name.
NIC_PAIRS = [('81', 'va', 'vx'), ('82', 'vb', 'vm'), ('83', 'vc', 'vn')]
# Uppers first: a lower's program cannot change while an upper has one
# (macvlan).
XDP_DEVS = ['u2', 'u1', 'mv1', 'v0', 'm0', 'n0', 's0', 't0', 'vu1', 'vmv1', 'vx', 'vm', 'vn']
SPLIT = False

# mode: programs to attach (dev, mode, prog), sender (peer dev, MAC), the
# devices whose counters are read (the last one is the level under test).
FRAME_MODES = {
    'l0_drop': ([('v0', 'xdpdrv', 'bn_drop')], ('v1', 'u1'), ['v0']),
    'l0_drop2': ([('v0', 'xdpdrv', 'bn_drop2')], ('v1', 'u1'), ['v0']),
    'l1_drop': ([('v0', 'xdpdrv', 'bn_pass'), ('u1', 'xdpdrv', 'bn_drop')],
                ('v1', 'u1'), ['v0', 'u1']),
    'l2_drop': ([('v0', 'xdpdrv', 'bn_pass'), ('u1', 'xdpdrv', 'bn_pass'),
                 ('u2', 'xdpdrv', 'bn_drop')], ('v1', 'u2'), ['v0', 'u1', 'u2']),
    'mv_drop': ([('mv1', 'xdpgeneric', 'bn_drop')], ('m1', 'mv1'), ['mv1']),
    'l0_pass_h': ([('v0', 'xdpdrv', 'bn_pass')], ('v1', 'none'), ['v0']),
    'l0_pass': ([('n0', 'xdpdrv', 'bn_pass')], ('n1', 'none'), ['n0']),
    'l0_pass_mv': ([('m0', 'xdpdrv', 'bn_pass')], ('m1', 'none'), ['m0']),
    'l1_lat': ([('v0', 'xdpdrv', 'bn_pass_ts'), ('u1', 'xdpdrv', 'bn_drop_ts')], ('v1', 'u1'),
               ['v0', 'u1']),
    'mv_lat': ([('m0', 'xdpdrv', 'bn_pass_ts'), ('mv1', 'xdpgeneric', 'bn_drop_ts')],
               ('m1', 'mv1'), ['m0', 'mv1']),
    # virtio-net (set "nic")
    'nl0_drop': ([('vx', 'xdpdrv', 'bn_drop')], ('va', 'vu1'), ['vx']),
    'nl1_drop': ([('vx', 'xdpdrv', 'bn_pass'), ('vu1', 'xdpdrv', 'bn_drop')],
                 ('va', 'vu1'), ['vx', 'vu1']),
    'nmv_drop': ([('vmv1', 'xdpgeneric', 'bn_drop')], ('vb', 'vmv1'), ['vmv1']),
    'nl0_pass_h': ([('vx', 'xdpdrv', 'bn_pass')], ('va', 'none'), ['vx']),
    'nl0_pass': ([('vn', 'xdpdrv', 'bn_pass')], ('vc', 'none'), ['vn']),
    # The receive path between L0's program and the upper's (bench.bpf.c's
    # bn_pass_ts and bn_drop_ts: its guest instructions per frame, lat_ns),
    # native (xdpvlan) and through the skb, macvlan and generic XDP.
    'nl1_lat': ([('vx', 'xdpdrv', 'bn_pass_ts'), ('vu1', 'xdpdrv', 'bn_drop_ts')],
                ('va', 'vu1'), ['vx', 'vu1']),
    'nmv_lat': ([('vm', 'xdpdrv', 'bn_pass_ts'), ('vmv1', 'xdpgeneric', 'bn_drop_ts')],
                ('vb', 'vmv1'), ['vm', 'vmv1']),
}
# The xdpvlan upper whose frames must all take the native path, per lower.
UPPER_OF = {'v0': 'u1', 'vx': 'vu1'}
# mode: protocol, programs, the upper with the server's address, the path
# an xdpvlan upper's frames must take (its rx_native and rx_skb counters),
# the lower.
SOCK_MODES = {
    'udp_xv': ('udp', [('v0', 'xdpdrv', 'bn_pass'), ('u1', 'xdpdrv', 'bn_pass')], 'u1', 'native',
               'v0'),
    'udp_xs': ('udp', [('u1', 'xdpdrv', 'bn_pass')], 'u1', 'skb', 'v0'),
    'udp_mv': ('udp', [], 'mv1', None, 'm0'),
    'udp_mvx': ('udp', [('m0', 'xdpdrv', 'bn_pass')], 'mv1', None, 'm0'),
    'tcp_xv': ('tcp', [('v0', 'xdpdrv', 'bn_pass'), ('u1', 'xdpdrv', 'bn_pass')], 'u1', 'native',
               'v0'),
    'tcp_xs': ('tcp', [('u1', 'xdpdrv', 'bn_pass')], 'u1', 'skb', 'v0'),
    'tcp_mv': ('tcp', [], 'mv1', None, 'm0'),
    'tcp_mvx': ('tcp', [('m0', 'xdpdrv', 'bn_pass')], 'mv1', None, 'm0'),
    # virtio-net (set "nic")
    'udp_xv_n': ('udp', [('vx', 'xdpdrv', 'bn_pass'), ('vu1', 'xdpdrv', 'bn_pass')], 'vu1',
                 'native', 'vx'),
    'udp_mvx_n': ('udp', [('vm', 'xdpdrv', 'bn_pass')], 'vmv1', None, 'vm'),
    'tcp_xv_n': ('tcp', [('vx', 'xdpdrv', 'bn_pass'), ('vu1', 'xdpdrv', 'bn_pass')], 'vu1',
                 'native', 'vx'),
    'tcp_mv_n': ('tcp', [], 'vmv1', None, 'vm'),
    'tcp_mvx_n': ('tcp', [('vm', 'xdpdrv', 'bn_pass')], 'vmv1', None, 'vm'),
}
ORDER = ['l0_drop', 'l0_drop2', 'l1_drop', 'mv_drop', 'l2_drop', 'l0_pass_h', 'l0_pass', 'l0_pass_mv',
         'l1_lat', 'mv_lat',
         'udp_xv', 'udp_xs', 'udp_mv', 'udp_mvx', 'tcp_xv', 'tcp_xs', 'tcp_mv', 'tcp_mvx']
NIC_ORDER = ['nl0_drop', 'nl1_drop', 'nmv_drop', 'nl0_pass_h', 'nl0_pass', 'nl1_lat', 'nmv_lat',
             'udp_xv_n', 'udp_mvx_n', 'tcp_xv_n', 'tcp_mv_n', 'tcp_mvx_n']

libc = ctypes.CDLL(None, use_errno=True)
NR_BPF = 321
BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM, BPF_OBJ_GET = 1, 2, 7


def die(msg):
    print(f'bench: {msg}', file=sys.stderr, flush=True)
    sys.exit(1)


def sh(*cmd, ns=None, check=True):
    if ns:
        cmd = ('ip', 'netns', 'exec', ns) + cmd
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode:
        die(f'{" ".join(cmd)}: exit {r.returncode}: {r.stderr.strip()}')
    return r.stdout


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, len(attr))
    ret = libc.syscall(NR_BPF, cmd, buf, len(attr))
    return ret, ctypes.get_errno()


class Stats:
    """bench.bpf.c's bn_stats: an array indexed by ifindex (below SLOTS / 2) of
    count, bytes, first_ns, last_ns."""

    SLOTS = 8192

    def __init__(self, name='bn_stats', size=32):
        path = ctypes.create_string_buffer(f'{MAPS}/{name}'.encode())
        self.fd, err = bpf(BPF_OBJ_GET, struct.pack('=QIII', ctypes.addressof(path), 0, 0, 0))
        if self.fd < 0:
            die(f'cannot open {MAPS}/{name}: {os.strerror(err)}')
        self.size = size

    def _attr(self, key, val):
        return struct.pack('=I4xQQQ', self.fd, ctypes.addressof(key),
                           ctypes.addressof(val) if val is not None else 0, 0)

    def get(self, ifindex):
        n = self.size // 8
        key = ctypes.create_string_buffer(struct.pack('=I', ifindex))
        val = ctypes.create_string_buffer(self.size)
        ret, _ = bpf(BPF_MAP_LOOKUP_ELEM, self._attr(key, val))
        if ret < 0:
            return (0,) * n
        return struct.unpack(f'={n}Q', val.raw[:self.size])

    def clear(self, ifindex):
        key = ctypes.create_string_buffer(struct.pack('=I', ifindex))
        val = ctypes.create_string_buffer(self.size)
        ret, err = bpf(BPF_MAP_UPDATE_ELEM, self._attr(key, val))
        if ret < 0:
            die(f'cannot clear the counters of ifindex {ifindex}: {os.strerror(err)}')


def load_gen():
    spec = importlib.util.spec_from_file_location('xdp_gen', GEN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Sender:
    """xdp-gen.py's BPF_PROG_RUN in live-frames mode, in a child process on
    CPU 1 in the peer's netns (no Python start per run)."""

    def __init__(self):
        self.gen = load_gen()
        path = ctypes.create_string_buffer(f'{PROGS}/bn_tx'.encode())
        self.fd, _ = self.gen.bpf(BPF_OBJ_GET, struct.pack('=QIII', ctypes.addressof(path), 0, 0, 0))

    def send(self, peer, mac, count, size=60, one_by_one=False):
        """one_by_one: a frame per BPF_PROG_RUN, 0.2 ms of guest time
        apart, so that each frame has a NAPI poll of its own."""
        pid = os.fork()
        if pid == 0:
            try:
                os.sched_setaffinity(0, {1})
                with open(f'/run/netns/{NS}') as f:
                    if libc.setns(f.fileno(), 0x40000000) < 0:
                        os._exit(3)
                if one_by_one:
                    for _ in range(count):
                        self.gen.send(self.fd, peer, 1, mac, size)
                        time.sleep(0.0002)
                else:
                    self.gen.send(self.fd, peer, count, mac, size)
                os._exit(0)
            except BaseException:
                os._exit(4)
        _, st = os.waitpid(pid, 0)
        if st:
            die(f'sender on {peer} failed: wait status {st}')


def ifindex(dev):
    with open(f'/sys/class/net/{dev}/ifindex') as f:
        return int(f.read())


def ethtool_stats(dev, ns=None):
    st = {}
    for line in sh('ethtool', '-S', dev, ns=ns).splitlines():
        k, _, v = line.strip().partition(': ')
        if v.strip().isdigit():
            st[k] = int(v)
    return st


def snmp():
    """InCsumErrors of Udp and Tcp in this netns."""
    res = {}
    with open('/proc/net/snmp') as f:
        lines = f.read().splitlines()
    for a, b in zip(lines[::2], lines[1::2]):
        proto = a.split(':')[0]
        if proto in ('Udp', 'Tcp'):
            d = dict(zip(a.split()[1:], map(int, b.split()[1:])))
            res[proto] = d.get('InCsumErrors', 0)
            if proto == 'Udp':
                res['UdpRcvbufErrors'] = d.get('RcvbufErrors', 0)
    return res


def pin_napi():
    """Pins every NAPI thread (napi/DEV-ID) to CPU 0."""
    n = 0
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open(f'/proc/{pid}/comm') as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm.startswith('napi/'):
            os.sched_setaffinity(int(pid), {0})
            n += 1
    return n


def setup(nic):
    sh('insmod', MOD)
    if not os.path.ismount('/sys/fs/bpf'):
        sh('mount', '-t', 'bpf', 'bpf', '/sys/fs/bpf')
    sh('ip', 'netns', 'add', NS)
    for ns in (None, NS):
        sh('sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1',
           'net.ipv6.conf.default.disable_ipv6=1', 'net.core.rmem_max=8388608',
           'net.core.wmem_max=8388608', ns=ns)
    # Only the device that has an address answers ARP for it: otherwise the
    # lower (v0, m0) answers for its upper's address with its own MAC and
    # the peer's traffic never reaches the upper's path.
    sh('sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=1')
    for a, b in (('v0', 'v1'), ('m0', 'm1'), ('n0', 'n1'), ('s0', 's1'), ('t0', 't1')):
        sh('ip', 'link', 'add', a, 'type', 'veth', 'peer', 'name', b, 'netns', NS)
    sh('ip', 'link', 'add', 'link', 'v0', 'name', 'u1', 'address', MAC['u1'], 'type', 'xdpvlan')
    sh('ip', 'link', 'add', 'link', 'u1', 'name', 'u2', 'address', MAC['u2'], 'type', 'xdpvlan')
    sh('ip', 'link', 'add', 'link', 'm0', 'name', 'mv1', 'address', MAC['mv1'],
       'type', 'macvlan', 'mode', 'bridge')
    sh('ip', 'addr', 'add', IP['u1'] + '/24', 'dev', 'u1')
    sh('ip', 'addr', 'add', IP['mv1'] + '/24', 'dev', 'mv1')
    sh('ip', 'addr', 'add', IP['v1'] + '/24', 'dev', 'v1', ns=NS)
    sh('ip', 'addr', 'add', IP['m1'] + '/24', 'dev', 'm1', ns=NS)
    for d in ('v0', 'm0', 'n0', 's0', 't0'):
        # GRO keeps veth's NAPI (and so the peer's ndo_xdp_xmit) on when the
        # device runs no program in driver mode.
        sh('ethtool', '-K', d, 'gro', 'on')
    for d in ('v0', 'u1', 'u2', 'm0', 'mv1', 'n0', 's0', 't0'):
        sh('ip', 'link', 'set', d, 'up')
    for d in ('v1', 'm1', 'n1', 's1', 't1', 'lo'):
        sh('ip', 'link', 'set', d, 'up', ns=NS)
    for d in ('v0', 'm0', 'n0') if SPLIT else ():
        # Threaded NAPI (the device needs its NAPI, so it must be up), so
        # that the receive path can be pinned away from the sender.
        with open(f'/sys/class/net/{d}/threaded', 'w') as f:
            f.write('1')
    sh('bpftool', 'prog', 'loadall', OBJ, PROGS, 'pinmaps', MAPS, 'type', 'xdp')
    global LAT
    LAT = Stats('bn_lat', 16)
    if SPLIT and pin_napi() < 3:
        die('expected a NAPI thread for each of v0, m0 and n0')
    if nic:
        setup_nics()


def setup_nics():
    """The virtio-net pairs of NIC_PAIRS: found by MAC, renamed, the senders
    into the peer's netns with bn_pass attached, the uppers made, and every
    virtio-net interrupt on CPU 1."""
    by_mac = {}
    for d in os.listdir('/sys/class/net'):
        with open(f'/sys/class/net/{d}/address') as f:
            by_mac[f.read().strip()] = d
    for hub, snd, rcv in NIC_PAIRS:
        for i, name in (('01', snd), ('02', rcv)):
            mac = f'52:54:00:78:{hub}:{i}'
            if mac not in by_mac:
                die(f'no virtio-net NIC with MAC {mac}: boot with scripts/vm-run.sh --net hub:{hub}')
            sh('ip', 'link', 'set', by_mac[mac], 'down')
            sh('ip', 'link', 'set', by_mac[mac], 'name', name)
        sh('ip', 'link', 'set', snd, 'netns', NS)
        sh('sysctl', '-qw', f'net.ipv6.conf.{rcv}.disable_ipv6=1')
        # Frames for no upper's address must reach the lower's program:
        # QEMU's virtio-net filters by the MAC table otherwise.
        sh('ip', 'link', 'set', rcv, 'promisc', 'on', 'up')
        sh('ip', 'link', 'set', snd, 'up', ns=NS)
        # nsenter, not ip netns exec: that one mounts a /sys of its own,
        # without the bpffs the program is pinned in.
        sh('nsenter', f'--net=/run/netns/{NS}', 'ip', 'link', 'set', snd, 'xdpdrv', 'pinned',
           f'{PROGS}/bn_pass')
    sh('ip', 'link', 'add', 'link', 'vx', 'name', 'vu1', 'address', MAC['vu1'], 'type', 'xdpvlan')
    sh('ip', 'link', 'add', 'link', 'vm', 'name', 'vmv1', 'address', MAC['vmv1'],
       'type', 'macvlan', 'mode', 'bridge')
    for d, peer in (('vu1', 'va'), ('vmv1', 'vb')):
        sh('ip', 'addr', 'add', IP[d] + '/24', 'dev', d)
        sh('ip', 'link', 'set', d, 'up')
        sh('ip', 'addr', 'add', IP[peer] + '/24', 'dev', peer, ns=NS)
    n = 0
    with open('/proc/interrupts') as f:
        for ln in f:
            irq, _, rest = ln.partition(':')
            if irq.strip().isdigit() and 'virtio' in rest and 'config' not in rest:
                try:
                    with open(f'/proc/irq/{irq.strip()}/smp_affinity_list', 'w') as g:
                        g.write('1')
                    n += 1
                except OSError:
                    pass
    if not n:
        die('no virtio interrupt could be moved to CPU 1')


ATTACHED = {}
LAT = None
# Frames of a *_lat run, sent one by one.
LAT_FRAMES = 2000


def attach(progs):
    """Leaves exactly progs attached, changing only what differs."""
    want = {d: (mode, p) for d, mode, p in progs}
    for d in XDP_DEVS:
        if d in ATTACHED and ATTACHED[d] != want.get(d):
            sh('ip', 'link', 'set', d, 'xdp', 'off')
            del ATTACHED[d]
    for d in reversed(XDP_DEVS):
        if d in want and d not in ATTACHED:
            mode, p = want[d]
            sh('ip', 'link', 'set', d, mode, 'pinned', f'{PROGS}/{p}')
            ATTACHED[d] = want[d]
    if SPLIT:
        pin_napi()


def cpu_times():
    """{cpu: (busy, total)} in jiffies of guest time, from /proc/stat."""
    res = {}
    with open('/proc/stat') as f:
        for ln in f:
            f0 = ln.split()
            if f0[0].startswith('cpu') and f0[0] != 'cpu':
                v = [int(x) for x in f0[1:]]
                res[int(f0[0][3:])] = (sum(v) - v[3] - v[4], sum(v))
    return res


def busy_share(t0, t1, cpu):
    """The share of guest time cpu was busy between two cpu_times()."""
    busy, total = (t1[cpu][i] - t0[cpu][i] for i in (0, 1))
    return busy / total if total else 0.0


def settle(stats, idx):
    """Waits until the counters stop moving (the last frames drained)."""
    last = None
    while True:
        cur = [stats.get(i)[0] for i in idx]
        if cur == last:
            return
        last = cur
        time.sleep(0.05)


NIC_SENDERS = {snd for _, snd, _ in NIC_PAIRS}
NIC_RECEIVERS = {rcv for _, _, rcv in NIC_PAIRS}


def warm_up(stats, sender, peer, mac, idx, mode):
    """Through virtio-net, sends bursts of 256 frames until the receiver's
    program sees most of one. The first burst after the receiver's program
    changed sometimes stalled: the sender's ring filled, QEMU held the
    frames while virtio-net reset the receiver's queues for the new program,
    and the sender, whose XDP transmit kicks only when it queued a frame,
    dropped every other frame of the run (577 of 200000 seen, 5 kicks)."""
    for _ in range(20):
        stats.clear(idx)
        sender.send(peer, mac, 256)
        time.sleep(0.2)
        if stats.get(idx)[0] >= 128:
            return
    die(f'{mode}: no burst of 256 frames from {peer} got through')


def run_frames(mode, rep, frames, stats, sender):
    progs, (peer, dst), devs = FRAME_MODES[mode]
    return run_frame_spec(mode, rep, frames, stats, sender, progs, peer, MAC[dst], devs,
                          UPPER_OF.get(devs[0]))


def run_frame_spec(mode, rep, frames, stats, sender, progs, peer, mac, devs, upper):
    """Sends frames to mac from peer with progs attached; devs: the devices
    whose counters are read, the last one the level under test; upper: the
    xdpvlan device whose frames must all take the native path, if counted."""
    attach(progs)
    idx = [ifindex(d) for d in devs]
    if peer in NIC_SENDERS:
        warm_up(stats, sender, peer, mac, idx[0], mode)
    for i in idx:
        stats.clear(i)
    for i, d in zip(idx, devs):
        if i >= Stats.SLOTS // 2:
            die(f'{d}: ifindex {i} is beyond bench.bpf.c\'s {Stats.SLOTS // 2} counters')
    up = ethtool_stats(upper) if upper in devs else {}
    LAT.clear(idx[-1])
    # The *_lat modes time each frame's way from L0's program to the upper's
    # (bench.bpf.c): one frame per NAPI poll, or the skb path's batching (the
    # poll runs the program on all its frames before their skbs go up)
    # would enter the time.
    lat = mode.endswith('_lat') or '_lat@' in mode
    if lat:
        frames = LAT_FRAMES
    t0 = cpu_times()
    sender.send(peer, mac, frames, one_by_one=lat)
    settle(stats, idx)
    t1 = cpu_times()
    up2 = ethtool_stats(upper) if upper in devs else {}
    seen = {d: stats.get(i) for d, i in zip(devs, idx)}
    cnt, _, first, last = seen[devs[-1]]
    # The sender does not wait: what veth's ring had no room for is lost
    # before the first program (the peer's xdp_xmit_errors); then nothing
    # may be lost between the levels.
    l0 = seen[devs[0]][0]
    rec = {'mode': mode, 'rep': rep, 'requested': frames, 'sent': frames,
           'one_by_one': lat,
           'lost_at_ring': frames - l0, 'seen': {d: s[0] for d, s in seen.items()},
           'lost_after_ring': l0 - cnt,
           'seconds': (last - first) / 1e9,
           'rate': (cnt - 1) * 1e9 / (last - first) if cnt > 1 and last > first else 0.0,
           'u1_rx_native': up2.get('rx_native', 0) - up.get('rx_native', 0),
           'u1_rx_skb': up2.get('rx_skb', 0) - up.get('rx_skb', 0),
           # Under icount the guest clock counts both CPUs' instructions:
           # what CPU 0 (neither the sender's nor NAPI's) did meanwhile
           # is in the timed frames' cost. Recorded so that a run can show
           # it was idle.
           'cpu0_busy': busy_share(t0, t1, 0)}
    rec['ns_per_frame'] = 1e9 / rec['rate'] if rec['rate'] else None
    lat_n, lat_sum = LAT.get(idx[-1])
    if lat_n:
        # bn_drop_ts ran: the path's guest ns per frame since bn_pass_ts.
        rec['lat_frames'], rec['lat_ns'] = lat_n, lat_sum / lat_n
    if upper in devs and rec['u1_rx_native'] < cnt:
        die(f'{mode}: {upper} took {rec["u1_rx_native"]} of {cnt} frames natively')
    return rec


# The profile's sampling period, in ns of guest time: under icount, guest
# instructions (a prime, so that it does not beat with a per-frame loop).
PROFILE_PERIOD = 9973
# How long a profiled socket mode runs (guest seconds).
PROFILE_SOCK_SECS = 2


def profile(modes, frames, stats, sender):
    """Runs each mode of modes once under perf record and writes
    profile-<mode>.json: samples' periods summed per symbol, and the units
    of work done, so that a symbol's instructions per unit are its period /
    units (icount). A frame mode records CPU 1 (the sender's, where veth's
    NAPI runs: sender and receiver) and counts the frames L0 handled; the
    sender's share is the same in every frame mode. A socket mode records
    both CPUs (the receiving socket's on CPU 0) and counts the datagrams
    received (UDP) or the bytes received / 1448, full-sized TCP segments
    (TCP): sender, receive path and socket all included."""
    perf = shutil.which('perf')
    if not perf:
        die('BENCH_PROFILE needs perf (Debian: linux-perf)')
    for knob, v in (('kptr_restrict', '0'), ('perf_event_paranoid', '-1')):
        with open(f'/proc/sys/kernel/{knob}', 'w') as f:
            f.write(v)
    for mode in modes:
        if mode not in FRAME_MODES and mode not in SOCK_MODES:
            die(f'BENCH_PROFILE: {mode} is neither a frame mode ({", ".join(FRAME_MODES)}) '
                f'nor a socket mode ({", ".join(SOCK_MODES)})')
        sock = mode in SOCK_MODES
        # In the guest's own /tmp: on the 9p share of OUT perf record's
        # data came out with a header it had not finished (data size 0,
        # perf report: "failed to process sample").
        data = f'/tmp/perf-{mode}.data'
        # perf itself runs on CPU 0, so that only its sampling touches CPU 1
        # (a socket mode records CPU 0 too: perf's own work is in it).
        # Its workload is a cat of a pipe, which ends when the pipe is
        # closed.
        cpus = ['-a'] if sock else ['-C', '1']
        rec = subprocess.Popen(['taskset', '-c', '0', perf, 'record', '-q', *cpus,
                                '-e', 'cpu-clock', '-c', str(PROFILE_PERIOD), '-o', data,
                                '--', 'cat'],
                               stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
        time.sleep(1)
        if rec.poll() is not None:
            die(f'perf record failed: {rec.stderr.read().decode().strip()}')
        if not sock:
            r = run_frames(mode, 0, frames, stats, sender)
            units, unit = r['seen'][FRAME_MODES[mode][2][0]], 'frames'
        elif SOCK_MODES[mode][0] == 'udp':
            r = run_sock(mode, 0, PROFILE_SOCK_SECS, stats)
            units, unit = r['received'], 'datagrams'
        else:
            r = run_sock(mode, 0, PROFILE_SOCK_SECS, stats)
            units, unit = r['bytes'] // 1448, 'segments'
        rec.stdin.close()
        rc = rec.wait(timeout=120)
        if rc:
            die(f'perf record: exit {rc}: {rec.stderr.read().decode().strip()}')
        rep = subprocess.run(['taskset', '-c', '0', perf, 'report', '-i', data, '--stdio',
                              '--no-children', '--sort', 'sym', '-F', 'period,sym', '-q',
                              '--percent-limit', '0'],
                             capture_output=True, text=True)
        if rep.returncode:
            die(f'perf report: exit {rep.returncode}: {rep.stderr.strip()}')
        syms = {}
        for line in rep.stdout.splitlines():
            f = line.split(None, 2)
            if len(f) == 3 and f[0].isdigit():
                name = f[2].strip()
                syms[name] = syms.get(name, 0) + int(f[0])
        frames_l0 = units
        if not syms or not frames_l0:
            # The data file stays for a look (perf report -i in a guest).
            head = '\n'.join(rep.stdout.splitlines()[:10])
            shutil.copy(data, OUT)
            die(f'profile of {mode}: {len(syms)} symbols, {frames_l0} frames; '
                f'{data} copied to OUT; perf report said:\n{head}\n{rep.stderr.strip()}')
        os.unlink(data)
        with open(os.path.join(OUT, f'profile-{mode}.json'), 'w') as f:
            json.dump({'mode': mode, 'frames': frames_l0, 'unit': unit,
                       'cpus': 'all' if sock else '1', 'period': PROFILE_PERIOD,
                       'samples_total': sum(syms.values()), 'symbols': syms}, f)
        print(f'profile {mode:10} {frames_l0} {unit}, {sum(syms.values())} ns sampled',
              flush=True)


def scale_mac(kind, i):
    return f'02:{kind:02x}:00:00:{i >> 8:02x}:{i & 0xff:02x}'


def ip_batch(lines):
    """Runs `ip -batch -`; returns its time (guest clock, seconds)."""
    t0 = time.monotonic()
    r = subprocess.run(['ip', '-batch', '-'], input=''.join(ln + '\n' for ln in lines),
                       capture_output=True, text=True)
    t = time.monotonic() - t0
    if r.returncode:
        die(f'ip -batch: exit {r.returncode}: {r.stderr.strip()[-500:]}')
    return t


class Scale:
    """N uppers on s0 (xdpvlan) and t0 (macvlan): the modes sc_*@N, mk_*@N."""

    KINDS = (('xv', 's0', 'xs', 1, 'xdpvlan'), ('mv', 't0', 'ms', 2, 'macvlan mode bridge'))

    def __init__(self):
        self.n = 0
        self.made = {k[0]: 0.0 for k in self.KINDS}

    def grow(self, n, rep, out):
        """Adds uppers up to n on both lowers; writes the mk_*@n records."""
        for k, lower, pfx, kind, typ in self.KINDS:
            lines = [f'link add link {lower} name {pfx}{i} address {scale_mac(kind, i)} type {typ}'
                     for i in range(self.n, n)]
            lines += [f'link set {pfx}{i} up' for i in range(self.n, n)]
            t = ip_batch(lines)
            added = n - self.n
            got = sum(1 for d in os.listdir('/sys/class/net') if d.startswith(pfx))
            if got != n:
                die(f'{k}: {got} uppers on {lower}, expected {n}')
            # The rate from none to n uppers: the time of every batch so far.
            self.made[k] += t
            rec = {'mode': f'mk_{k}@{n}', 'rep': rep, 'uppers': n, 'added': added,
                   'seconds': self.made[k], 'batch_seconds': t,
                   'rate': n / self.made[k] if self.made[k] > 0 else 0.0, 'csum_errors': {}}
            out(rec)
        # Let what creating them set off (uevents, linkwatch's delayed
        # events, RCU callbacks) finish before frames are timed: in a run
        # without this, macvlan's cost per frame rose 1.44x from 1 to 1024
        # uppers, where it had been flat when creation was slower.
        if shutil.which('udevadm'):
            sh('udevadm', 'settle', '--timeout=60', check=False)
        time.sleep(3)
        for i in range(self.n, n):
            XDP_DEVS.insert(0, f'xs{i}')
            XDP_DEVS.insert(0, f'ms{i}')
        self.n = n

    def modes(self):
        n, last = self.n, self.n - 1
        xl, ml = f'xs{last}', f'ms{last}'
        return {
            f'sc_xv_last@{n}': ([('s0', 'xdpdrv', 'bn_pass'), (xl, 'xdpdrv', 'bn_drop')],
                                's1', scale_mac(1, last), ['s0', xl], xl),
            f'sc_xv_none@{n}': ([('s0', 'xdpdrv', 'bn_pass')], 's1', MAC['none'], ['s0'], None),
            f'sc_mv_last@{n}': ([(ml, 'xdpgeneric', 'bn_drop')], 't1', scale_mac(2, last),
                                [ml], None),
            f'sc_mv_none@{n}': ([('t0', 'xdpdrv', 'bn_pass')], 't1', MAC['none'], ['t0'], None),
        }

    def shrink(self, out):
        """Deletes every upper; writes the rm_* records."""
        attach([])
        for k, lower, pfx, kind, typ in self.KINDS:
            t = ip_batch([f'link del {pfx}{i}' for i in range(self.n)])
            out({'mode': f'rm_{k}', 'rep': 0, 'uppers': self.n, 'seconds': t,
                 'rate': self.n / t if t > 0 else 0.0, 'csum_errors': {}})


def listening(port):
    with open('/proc/net/tcp') as f:
        return any(ln.split()[1].endswith(f':{port:04X}') and ln.split()[3] == '0A'
                   for ln in f.read().splitlines()[1:])


def run_udp(dev, port, secs, nic=False):
    """udp-pump.c: receiver on CPU 0 bound to the upper's address, sender
    on CPU 1 in the peer's netns (64-byte datagrams)."""
    rcv = subprocess.Popen(['taskset', '-c', '0', PUMP, 'recv', IP[dev], str(port)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if rcv.stdout.readline().strip() != 'ready':
        rcv.kill()
        die(f'udp-pump recv did not start: {rcv.stderr.read().strip()}')
    snd = subprocess.run(('ip', 'netns', 'exec', NS, 'taskset', '-c', '1', PUMP, 'send',
                          IP[dev], str(port), str(secs), '64'), capture_output=True, text=True)
    try:
        out, err = rcv.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        rcv.kill()
        die('udp-pump recv did not end')
    if snd.returncode or rcv.returncode:
        die(f'udp-pump: send exit {snd.returncode} ({snd.stderr.strip()}), '
            f'recv exit {rcv.returncode} ({err.strip()})')
    s, r = json.loads(snd.stdout), json.loads(out)
    # Through virtio-net a few datagrams arrive out of order on either
    # device (2-4 of 210000 per run, into macvlan as into xdpvlan; the
    # sender's side, not the receive path): recorded, not fatal there.
    if r['corrupt'] or (r['out_of_order'] and not nic) or not r['received']:
        die(f'udp-pump: {r["received"]} datagrams received, {r["corrupt"]} not intact, '
            f'{r["out_of_order"]} out of order')
    return {'sent': s['sent'], 'send_errors': s['send_errors'], 'send_seconds': s['seconds'],
            'out_of_order': r['out_of_order'],
            'received': r['received'], 'lost': s['sent'] - r['received'],
            'stop_marker': r['stop_marker'], 'seconds': r['seconds'],
            'rate': (r['received'] - 1) / r['seconds'] if r['seconds'] > 0 else 0.0}


def run_tcp(dev, port, secs, mode):
    """iperf3, server on CPU 0, client on CPU 1 in the peer's netns."""
    srv = subprocess.Popen(['taskset', '-c', '0', 'iperf3', '-s', '-1', '-B', IP[dev], '-p', str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while not listening(port):
        if srv.poll() is not None:
            die(f'{mode}: iperf3 server exited: {srv.stderr.read().strip()}')
        time.sleep(0.05)
    cmd = ['taskset', '-c', '1', 'iperf3', '-c', IP[dev], '-p', str(port), '-t', str(secs), '-J']
    r = subprocess.run(('ip', 'netns', 'exec', NS, *cmd), capture_output=True, text=True)
    srv.wait(timeout=60)
    try:
        js = json.loads(r.stdout)
    except ValueError:
        die(f'{mode}: iperf3 client: exit {r.returncode}: {r.stderr.strip() or r.stdout[-300:]}')
    if 'error' in js:
        die(f'{mode}: iperf3: {js["error"]}')
    end = js['end']
    s = end['sum_received']
    return {'bytes': s['bytes'], 'seconds': s['seconds'],
            'rate': s['bits_per_second'], 'retransmits': end['sum_sent'].get('retransmits')}


def run_sock(mode, rep, secs, stats):
    proto, progs, dev, path, lower = SOCK_MODES[mode]
    attach(progs)
    for d in (lower, dev):
        stats.clear(ifindex(d))
    xv = path is not None
    cs0, up = snmp(), ethtool_stats(dev) if xv else {}
    if proto == 'udp':
        res = run_udp(dev, 5201, secs, nic=lower in NIC_RECEIVERS)
    else:
        res = run_tcp(dev, 5201, secs, mode)
    cs1, up2 = snmp(), ethtool_stats(dev) if xv else {}
    nat = up2.get('rx_native', 0) - up.get('rx_native', 0)
    skb = up2.get('rx_skb', 0) - up.get('rx_skb', 0)
    if path == 'native' and nat == 0:
        die(f'{mode}: no frame took the native path to {dev}')
    if path == 'skb' and (nat or not skb):
        die(f'{mode}: {dev} took {nat} frames natively, {skb} on the skb path')
    rec = {'mode': mode, 'rep': rep, 'csum_errors': {k: cs1[k] - cs0[k] for k in cs1},
           'u1_rx_native': nat, 'u1_rx_skb': skb,
           'seen': {d: stats.get(ifindex(d))[0] for d in (lower, dev)}}
    rec.update(res)
    return rec


def main():
    reps, frames, usecs, tsecs = (int(a) for a in sys.argv[1:5])
    clock = sys.argv[5]
    global SPLIT
    SPLIT = clock == 'tcg-mt'
    sets = os.environ.get('BENCH_SETS', 'main scale').split()
    setup('nic' in sets)
    stats = Stats()
    for d in XDP_DEVS:
        if not os.path.exists(f'/sys/class/net/{d}'):
            continue
        if ifindex(d) >= Stats.SLOTS // 2:
            die(f'{d}: ifindex {ifindex(d)} is beyond bench.bpf.c\'s {Stats.SLOTS // 2} counters')
    sender = Sender()
    scale = [int(n) for n in os.environ.get('BENCH_SCALE', '1 16 256 1024').split()]
    if 'scale' not in sets:
        scale = []
    if scale != sorted(set(scale)) or (scale and scale[0] < 1):
        die(f'BENCH_SCALE={scale}: use increasing numbers of uppers, from 1')
    path = os.path.join(OUT, 'bench-runs.jsonl')
    with open(path, 'w') as out:
        hdr = {'kernel': os.uname().release, 'cpus': os.cpu_count(), 'clock': clock,
               'napi': 'threaded, CPU 0; sender CPU 1' if SPLIT else 'softirq on the sender\'s CPU 1',
               'reps': reps, 'frames': frames, 'udp_seconds': usecs, 'tcp_seconds': tsecs,
               'sets': sets, 'scale': scale}
        out.write(json.dumps({'header': hdr}) + '\n')

        def emit(rec):
            out.write(json.dumps(rec) + '\n')
            out.flush()
            print(f'rep {rec["rep"]} {rec["mode"]:10} rate {rec["rate"]:14.1f} '
                  f'({rec.get("wall", rec.get("seconds", 0)):.1f} s guest time)', flush=True)

        order = (ORDER if 'main' in sets else []) + (NIC_ORDER if 'nic' in sets else [])
        for rep in range(reps if order else 0):
            for mode in order:
                t0 = time.monotonic()
                if mode in FRAME_MODES:
                    rec = run_frames(mode, rep, frames, stats, sender)
                else:
                    secs = usecs if mode.startswith('udp') else tsecs
                    rec = run_sock(mode, rep, secs, stats)
                rec['wall'] = time.monotonic() - t0
                emit(rec)
        # The scale modes, interleaved per number of uppers (growing the
        # uppers is one-way: each N's repetitions run before the next N).
        sc = Scale()
        for n in scale:
            sc.grow(n, 0, emit)
            modes = sc.modes()
            for rep in range(reps):
                for mode, (progs, peer, mac, devs, upper) in modes.items():
                    t0 = time.monotonic()
                    rec = run_frame_spec(mode, rep, frames, stats, sender, progs, peer, mac,
                                         devs, upper)
                    rec['uppers'] = n
                    rec['wall'] = time.monotonic() - t0
                    emit(rec)
        if scale:
            sc.shrink(emit)
    prof = os.environ.get('BENCH_PROFILE', '').split()
    if prof:
        profile(prof, int(os.environ.get('BENCH_PROFILE_FRAMES', '1000000')), stats, sender)
    print('bench: done', flush=True)


if __name__ == '__main__':
    main()
