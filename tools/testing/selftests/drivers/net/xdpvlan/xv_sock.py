#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Real socket traffic with deterministic contents, for xdpvlan_sock.sh.

  xv_sock.py tcp-recv ADDR PORT READYFILE
  xv_sock.py tcp-send ADDR PORT NBYTES WRITESIZE
  xv_sock.py sctp-recv ADDR PORT READYFILE
  xv_sock.py sctp-send ADDR PORT NBYTES WRITESIZE
  xv_sock.py udp-recv ADDR PORT N SIZE READYFILE [IDLE [TOTAL]]
  xv_sock.py udp-send ADDR PORT N SIZE [fast]
  xv_sock.py udp-ping ADDR PORT N SIZE

Each command prints one result line and exits 0 if everything it expected
happened, else 1 (a timeout included); bad arguments exit 2.

  tcp-recv  listens on ADDR:PORT, creates READYFILE once it listens, accepts
            one connection, reads to EOF: 'bytes=N sha256=HEX'
  tcp-send  connects, sends NBYTES of a fixed pseudo-random stream in writes of
            WRITESIZE, shuts its side down and waits for the peer's EOF:
            'bytes=N sha256=HEX' (of what it sent)
  sctp-*    the same over an SCTP association (one-to-one socket), whose
            CRC32c the sender's stack may leave to the device
  udp-recv  binds ADDR:PORT, creates READYFILE, receives until N distinct
            datagrams of SIZE bytes arrived, or IDLE s (default 30) passed
            without one once the first arrived, or TOTAL s (default 300)
            passed: 'got=N bad=N dup=N' (bad: wrong length, index or
            contents). The shell stops it once the sender is done: both
            limits are backstops, long enough for a sender that starts late
  udp-send  sends N datagrams of SIZE bytes (datagram i carries i and
            contents that depend on i), with a short pause every 16
            datagrams unless 'fast': 'sent=N'
  udp-ping  sends N such datagrams to ADDR:PORT (16 outstanding at most) and
            expects each back, the same, from ADDR:PORT: 'got=N bad=N'

SIGTERM or SIGINT ends a receiver early: it still takes what its socket has
queued, prints its line and exits 1 (unless it already had everything).
"""

# Only C modules: in the test guest (debug kernel under TCG) the pure-Python
# socket, signal and hashlib modules (enum, OpenSSL) add about 5 s to each
# start, and the selftests start this tool twice per case.
import _signal as signal
import _socket as socket
import _struct as struct
import select
import sys
import time

try:
    from _sha3 import shake_256
except ImportError:
    from hashlib import shake_256
try:
    from _sha256 import sha256
except ImportError:  # _sha2 since Python 3.12
    from hashlib import sha256

SEED = b'xv_sock selftest v1'
# Datagram contents: index (4 bytes, network order) + a slice of POOL chosen by
# the index, so that every datagram differs and checking is cheap.
POOL = shake_256(SEED + b' udp').digest(65536 + 65536)
HDR = struct.Struct('!I')
UDP_MIN = HDR.size
CONNECT_TIMEOUT = 20
# The receiver is ready before the sender starts; the sender's own start (a
# Python over the guest's 9p root) took more than 30 s with five guests on
# 2 host cores, the receiver gave up, and the sender's SYN met a closed port
# (ECONNREFUSED). The shell stops the receiver once the sender is done, so
# this is only a backstop.
ACCEPT_TIMEOUT = 300
TCP_IDLE = 30
TCP_TOTAL = 300


class Stop(Exception):
    """SIGTERM or SIGINT."""


def on_signal(signum, frame):
    raise Stop()


def usage(msg):
    print(f'error={msg.replace(" ", "_")}')
    print(__doc__, file=sys.stderr)
    sys.exit(2)


def ready(path):
    with open(path, 'w') as f:
        f.write('ready\n')


def datagram(i, size):
    off = (i * 7919) % 65536
    return HDR.pack(i) + POOL[off:off + size - UDP_MIN]


def tcp_stream(nbytes):
    return shake_256(SEED + b' tcp').digest(nbytes)


# IPPROTO_SCTP, which _socket may not name.
SCTP = getattr(socket, 'IPPROTO_SCTP', 132)


def tcp_recv(addr, port, readyfile, proto=0):
    h = sha256()
    n = 0
    ok = False
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        ls.bind((addr, port))
        ls.listen(1)
        ls.settimeout(ACCEPT_TIMEOUT)
        ready(readyfile)
        try:
            fd, _ = ls._accept()
        except TimeoutError:
            print('bytes=0 sha256=none error=accept_timeout')
            return 1
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto, fileno=fd)
        deadline = time.monotonic() + TCP_TOTAL
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError()
                c.settimeout(min(TCP_IDLE, left))
                b = c.recv(1 << 16)
                if not b:
                    ok = True
                    break
                h.update(b)
                n += len(b)
        finally:
            c.close()
    except Stop:
        print(f'bytes={n} sha256={h.hexdigest()} error=stopped')
        return 1
    except TimeoutError:
        print(f'bytes={n} sha256={h.hexdigest()} error=timeout')
        return 1
    except OSError as e:
        print(f'bytes={n} sha256={h.hexdigest()} error={e.errno}')
        return 1
    print(f'bytes={n} sha256={h.hexdigest()}')
    return 0 if ok else 1


def tcp_send(addr, port, nbytes, wsize, proto=0):
    data = tcp_stream(nbytes)
    digest = sha256(data).hexdigest()
    sent = 0
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto)
    try:
        s.settimeout(CONNECT_TIMEOUT)
        try:
            s.connect((addr, port))
        except TimeoutError:
            print('bytes=0 sha256=none error=connect_timeout')
            return 1
        deadline = time.monotonic() + TCP_TOTAL
        view = memoryview(data)
        while sent < nbytes:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError()
            s.settimeout(min(TCP_IDLE, left))
            sent += s.send(view[sent:min(sent + wsize, nbytes)])
        s.shutdown(socket.SHUT_WR)
        # Until the receiver closed too: everything was read. (SCTP's
        # shutdown completes only once the peer acknowledged every chunk,
        # and the association then ends without an EOF to read.)
        if proto != SCTP:
            s.settimeout(TCP_IDLE)
            while s.recv(4096):
                pass
    except Stop:
        print(f'bytes={sent} sha256=none error=stopped')
        return 1
    except TimeoutError:
        print(f'bytes={sent} sha256=none error=timeout')
        return 1
    except OSError as e:
        print(f'bytes={sent} sha256=none error={e.errno}')
        return 1
    finally:
        s.close()
    print(f'bytes={sent} sha256={digest}')
    return 0


def big_rcvbuf(s, size=8 << 20):
    # SO_RCVBUFFORCE (33, not in the socket module) passes rmem_max as root.
    try:
        s.setsockopt(socket.SOL_SOCKET, getattr(socket, 'SO_RCVBUFFORCE', 33), size)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


# The defaults are backstops only (the shell stops the receiver once the
# sender has finished). With 60 s in total and 5 s of idleness, a loaded host
# made both sides miss: the sender's Python took most of a minute to start,
# the receiver gave up (got=352 of 500, then got=0) and the sender's next
# datagram met a closed port (error=111, ECONNREFUSED).
def udp_recv(addr, port, n, size, readyfile, idle=float(TCP_IDLE), total=float(TCP_TOTAL)):
    seen = set()
    bad = dup = 0

    def take(b):
        nonlocal bad, dup
        if len(b) != size:
            bad += 1
            return
        i = HDR.unpack_from(b)[0]
        if i >= n or b != datagram(i, size):
            bad += 1
        elif i in seen:
            dup += 1
        else:
            seen.add(i)

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    big_rcvbuf(s)
    s.bind((addr, port))
    ready(readyfile)
    end = time.monotonic() + total
    last = None
    try:
        while len(seen) < n:
            now = time.monotonic()
            limit = end if last is None else min(end, last + idle)
            if now >= limit:
                break
            r, _, _ = select.select([s], [], [], min(0.5, limit - now))
            if not r:
                continue
            take(s.recv(65536))
            last = time.monotonic()
    except Stop:
        pass
    # What the socket still holds counts too.
    s.setblocking(False)
    try:
        while len(seen) < n:
            take(s.recv(65536))
    except (BlockingIOError, Stop):
        pass
    print(f'got={len(seen)} bad={bad} dup={dup}')
    return 0 if len(seen) == n and not bad and not dup else 1


def udp_send(addr, port, n, size, fast=False):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((addr, port))
    sent = 0
    try:
        for i in range(n):
            try:
                s.send(datagram(i, size))
                sent += 1
            except OSError:
                if not fast:
                    raise
            # Unless 'fast', let the receiving side's softirq or ksoftirqd
            # drain the veth ring (256 frames) now and then.
            if not fast and i % 16 == 15:
                time.sleep(0.002)
    except Stop:
        print(f'sent={sent} error=stopped')
        return 1
    except OSError as e:
        print(f'sent={sent} error={e.errno}')
        return 1
    print(f'sent={sent}')
    return 0 if sent == n else 1


def udp_ping(addr, port, n, size, idle=5.0, total=120.0, window=16):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    big_rcvbuf(s)
    s.connect((addr, port))  # only datagrams from ADDR:PORT are received
    got = set()
    bad = 0
    nxt = 0
    end = time.monotonic() + total
    last = time.monotonic()
    try:
        while len(got) + bad < n:
            while nxt < n and nxt - len(got) - bad < window:
                s.send(datagram(nxt, size))
                nxt += 1
                last = time.monotonic()
            now = time.monotonic()
            limit = min(end, last + idle)
            if now >= limit:
                break
            r, _, _ = select.select([s], [], [], min(0.5, limit - now))
            if not r:
                continue
            b = s.recv(65536)
            last = time.monotonic()
            i = HDR.unpack_from(b)[0] if len(b) >= UDP_MIN else n
            if len(b) != size or i >= nxt or b != datagram(i, size) or i in got:
                bad += 1
            else:
                got.add(i)
    except Stop:
        pass
    except OSError as e:
        # ECONNREFUSED: an ICMP port unreachable came back instead.
        print(f'got={len(got)} bad={bad} error={e.errno}')
        return 1
    print(f'got={len(got)} bad={bad}')
    return 0 if len(got) == n and not bad else 1


def main(argv):
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if len(argv) < 2:
        usage('no command')
    cmd, a = argv[1], argv[2:]
    try:
        if cmd == 'tcp-recv' and len(a) == 3:
            return tcp_recv(a[0], int(a[1]), a[2])
        if cmd == 'tcp-send' and len(a) == 4:
            return tcp_send(a[0], int(a[1]), int(a[2]), int(a[3]))
        if cmd == 'sctp-recv' and len(a) == 3:
            return tcp_recv(a[0], int(a[1]), a[2], SCTP)
        if cmd == 'sctp-send' and len(a) == 4:
            return tcp_send(a[0], int(a[1]), int(a[2]), int(a[3]), SCTP)
        if cmd == 'udp-recv' and 5 <= len(a) <= 7:
            n, size = int(a[2]), int(a[3])
            if size < UDP_MIN or size > 65507:
                usage('bad size')
            extra = [float(x) for x in a[5:]]
            return udp_recv(a[0], int(a[1]), n, size, a[4], *extra)
        if cmd == 'udp-send' and len(a) in (4, 5):
            size = int(a[3])
            if size < UDP_MIN or size > 65507:
                usage('bad size')
            if len(a) == 5 and a[4] != 'fast':
                usage('bad option')
            return udp_send(a[0], int(a[1]), int(a[2]), size, len(a) == 5)
        if cmd == 'udp-ping' and len(a) == 4:
            size = int(a[3])
            if size < UDP_MIN or size > 65507:
                usage('bad size')
            return udp_ping(a[0], int(a[1]), int(a[2]), size)
    except ValueError:
        usage('bad number')
    except Stop:
        print('error=stopped')
        return 1
    usage('bad command or arguments')
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
