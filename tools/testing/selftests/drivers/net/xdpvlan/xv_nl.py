#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Create an xdpvlan device with raw rtnetlink, to pass IFLA_INFO_DATA
attributes that iproute2 does not know, and print the kernel's answer; or
show the link type attributes the kernel dumps for a device.

  xv_nl.py LOWER NAME [TYPE=U32VALUE ...]
    Prints 'ok', or 'error ERRNO: EXTACK MESSAGE' and exits 1.
  xv_nl.py --show NAME
    Prints 'kind=KIND link=IFINDEX' and then TYPE=U32VALUE for each
    attribute of IFLA_INFO_DATA, on one line.
"""

import _socket as socket  # C modules only: each import costs in the test guest
import _struct as struct
import os
import sys

RTM_NEWLINK, RTM_GETLINK = 16, 18
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 1, 4, 0x200, 0x400
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200
NLMSG_ERROR = 2
NLMSGERR_ATTR_MSG = 1
IFLA_IFNAME, IFLA_LINK, IFLA_LINKINFO = 3, 5, 18
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
NLA_F_NESTED = 0x8000
SOL_NETLINK, NETLINK_EXT_ACK = 270, 11


def nla(t, payload):
    n = 4 + len(payload)
    return struct.pack('=HH', n, t) + payload + b'\0' * (-n % 4)


def attrs(buf):
    """Yields (type, payload) of the netlink attributes in buf."""
    off = 0
    while off + 4 <= len(buf):
        n, t = struct.unpack('=HH', buf[off:off + 4])
        if n < 4:
            return
        yield t & 0x3fff, buf[off + 4:off + n]
        off += (n + 3) & ~3


def show(name):
    body = struct.pack('=BxHiII', socket.AF_UNSPEC, 0, 0, 0, 0)
    body += nla(IFLA_IFNAME, name.encode() + b'\0')
    msg = struct.pack('=IHHII', 16 + len(body), RTM_GETLINK, NLM_F_REQUEST, 1, 0) + body
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    s.send(msg)
    r = s.recv(65536)
    _, typ, _, _, _ = struct.unpack('=IHHII', r[:16])
    if typ != RTM_NEWLINK:
        sys.exit(f'no such device: {name}')
    kind, link, data = '?', 0, []
    for t, p in attrs(r[32:]):
        if t == IFLA_LINK:
            link = struct.unpack('=I', p[:4])[0]
        elif t == IFLA_LINKINFO:
            for it, ip in attrs(p):
                if it == IFLA_INFO_KIND:
                    kind = ip.rstrip(b'\0').decode()
                elif it == IFLA_INFO_DATA:
                    data = [f'{dt}={struct.unpack("=I", dp[:4])[0]}'
                            for dt, dp in attrs(ip) if len(dp) >= 4]
    print(' '.join([f'kind={kind}', f'link={link}'] + data))


def main():
    if sys.argv[1] == '--show':
        show(sys.argv[2])
        return
    lower, name = sys.argv[1], sys.argv[2]
    data = b''
    for a in sys.argv[3:]:
        t, v = a.split('=')
        data += nla(int(t), struct.pack('=I', int(v, 0)))
    info = nla(IFLA_INFO_KIND, b'xdpvlan\0')
    if data:
        info += nla(IFLA_INFO_DATA | NLA_F_NESTED, data)
    body = struct.pack('=BxHiII', socket.AF_UNSPEC, 0, 0, 0, 0)
    body += nla(IFLA_IFNAME, name.encode() + b'\0')
    body += nla(IFLA_LINK, struct.pack('=I', socket.if_nametoindex(lower)))
    body += nla(IFLA_LINKINFO | NLA_F_NESTED, info)
    flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE
    msg = struct.pack('=IHHII', 16 + len(body), RTM_NEWLINK, flags, 1, 0) + body
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    s.send(msg)
    r = s.recv(65536)
    _, typ, rflags, _, _ = struct.unpack('=IHHII', r[:16])
    if typ != NLMSG_ERROR:
        sys.exit('unexpected answer')
    err = struct.unpack('=i', r[16:20])[0]
    if err == 0:
        print('ok')
        return
    off = 20 + (16 if rflags & NLM_F_CAPPED else struct.unpack('=I', r[20:24])[0])
    text = ''
    while rflags & NLM_F_ACK_TLVS and off + 4 <= len(r):
        n, t = struct.unpack('=HH', r[off:off + 4])
        if n < 4:
            break
        if t == NLMSGERR_ATTR_MSG:
            text = r[off + 4:off + n].rstrip(b'\0').decode()
        off += (n + 3) & ~3
    print(f'error {-err} ({os.strerror(-err)}): {text}')
    sys.exit(1)


if __name__ == '__main__':
    main()
