#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Maps of the xdpvlan selftest's XDP program, through bpftool.

  xv_bpf.py cfg MAPDIR IFINDEX LEVEL ACTION [TARGET]   configure a device
  xv_bpf.py uncfg MAPDIR IFINDEX                       forget a device
  xv_bpf.py reset MAPDIR                               zero the counters
  xv_bpf.py stats MAPDIR                               'level count first last'
"""

import json
import struct
import subprocess
import sys


def hexargs(b):
    return ['hex'] + ['%02x' % x for x in b]


def bpftool(*args):
    out = subprocess.run(['bpftool', '-j', *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else None


def main():
    cmd, d = sys.argv[1], sys.argv[2]
    if cmd == 'cfg':
        ifindex, level, action = (int(x) for x in sys.argv[3:6])
        target = int(sys.argv[6]) if len(sys.argv) > 6 else 0
        bpftool('map', 'update', 'pinned', f'{d}/xv_cfg', 'key', *hexargs(struct.pack('=I', ifindex)),
                'value', *hexargs(struct.pack('=III', level, action, target)))
    elif cmd == 'uncfg':
        subprocess.run(['bpftool', 'map', 'delete', 'pinned', f'{d}/xv_cfg', 'key',
                        *hexargs(struct.pack('=I', int(sys.argv[3])))], capture_output=True)
    elif cmd == 'reset':
        for lvl in range(4):
            bpftool('map', 'update', 'pinned', f'{d}/xv_stat', 'key', *hexargs(struct.pack('=I', lvl)),
                    'value', *hexargs(bytes(24)))
    elif cmd == 'stats':
        for lvl in range(4):
            e = bpftool('map', 'lookup', 'pinned', f'{d}/xv_stat', 'key', *hexargs(struct.pack('=I', lvl)))
            v = bytes(int(x, 16) for x in e['value'])
            print(lvl, *struct.unpack('=QQQ', v))
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
