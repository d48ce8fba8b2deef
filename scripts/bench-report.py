#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarise a benchmark run (scripts/bench.sh): bench-report.py DIR

Reads DIR/bench-runs-<clock>[-<boot>].jsonl (one line per run, written by
scripts/guest/bench.py in one boot of the guest) and pools the boots of each
clock. Prints per clock the rate of every mode (median, min, max over the
repetitions of every boot), the frames sent, seen and lost, the per-frame
cost and its difference to mode A, and the ratios R1-R6: the ratio of the
medians, the min and max of the ratio over every pairing of the two modes'
repetitions (from any boot: so the spread holds what changes from boot to
boot, not only what changes between repetitions of one boot), and the ratio
of the medians of each boot alone. bench.json also has the ratio of each
repetition, its modes having run back to back. Writes DIR/bench.json and, if
matplotlib is there, DIR/bench.png.
"""

import bisect
import glob
import itertools
import json
import os
import statistics
import subprocess
import sys

# id: (numerator, denominator, what, goal)
RATIOS = [
    ('R1', 'l1_drop', 'l0_drop', 'XDP_DROP at L1 (xdpvlan native) / at L0 (veth driver mode)', 0.90),
    ('R2', None, None, '(B - C) / (A - C), C = macvlan + generic XDP_DROP', 0.85),
    ('B/C', 'l1_drop', 'mv_drop', 'XDP_DROP at L1, xdpvlan native / macvlan generic', None),
    ('R3', 'udp_xv', 'udp_mv', 'UDP datagrams/s into a socket: xdpvlan native / macvlan', 1.0),
    ('R3x', 'udp_xv', 'udp_mvx',
     'UDP datagrams/s: xdpvlan native / macvlan with the same L0 program', 1.0),
    ('R3s', 'udp_xv', 'udp_xs', 'UDP datagrams/s into a socket on xdpvlan: native / skb path', None),
    ('R4', 'l0_pass_h', 'l0_pass', 'L0 XDP_PASS, handler registered (no upper) / no handler', 0.97),
    ('R4m', 'l0_pass_h', 'l0_pass_mv',
     'L0 XDP_PASS for no upper: lower of xdpvlan / lower of macvlan', None),
    ('R5', 'l2_drop', 'l1_drop', 'XDP_DROP at L2 / at L1', 0.90),
    ('R6', 'tcp_xv', 'tcp_mv', 'TCP bits/s into a socket: xdpvlan native / macvlan', 1.0),
    ('R6s', 'tcp_xv', 'tcp_xs', 'TCP bits/s into a socket on xdpvlan: native / skb path', None),
    ('R6x', 'tcp_xv', 'tcp_mvx',
     'TCP bits/s: xdpvlan native / macvlan with an L0 program (both MTU-sized frames)', 1.0),
    # virtio-net (set "nic")
    ('R1v', 'nl1_drop', 'nl0_drop', 'virtio-net: XDP_DROP at L1 (xdpvlan native) / at L0', 0.90),
    ('B/Cv', 'nl1_drop', 'nmv_drop',
     'virtio-net: XDP_DROP at L1, xdpvlan native / macvlan generic', 1.8),
    ('R3v', 'udp_xv_n', 'udp_mvx_n',
     'virtio-net: UDP, xdpvlan native / macvlan with the same L0 program', 1.1),
    ('R4v', 'nl0_pass_h', 'nl0_pass',
     'virtio-net: L0 XDP_PASS, handler registered (no upper) / no handler', 0.97),
    ('R6v', 'tcp_xv_n', 'tcp_mv_n', 'virtio-net: TCP, xdpvlan native / macvlan', None),
    ('R6xv', 'tcp_xv_n', 'tcp_mvx_n',
     'virtio-net: TCP, xdpvlan native / macvlan with the same L0 program', 1.1),
]
# The scale rows, for the fewest (lo) and the most (hi) uppers of the run:
# costs per frame (the rate at lo over the rate at hi) and times (macvlan's
# rate over xdpvlan's), so lower is better and the goal is a bound above.
SCALE_RATIOS = [
    ('scale', 'sc_xv_last@{hi}', 'sc_xv_last@{lo}',
     'xdpvlan: cost per frame for the last upper, {hi} uppers / {lo}', ('<=', 1.05)),
    ('scale-n', 'sc_xv_none@{hi}', 'sc_xv_none@{lo}',
     'xdpvlan: cost per frame for no upper, {hi} uppers / {lo}', ('<=', 1.05)),
    ('scale-mv', 'sc_mv_last@{hi}', 'sc_mv_last@{lo}',
     'macvlan (generic XDP): cost per frame for the last upper, {hi} uppers / {lo}', None),
    ('scale-mvn', 'sc_mv_none@{hi}', 'sc_mv_none@{lo}',
     'macvlan: cost per frame for no upper, {hi} uppers / {lo}', None),
    ('mk', 'mk_xv@{hi}', 'mk_mv@{hi}', 'time to create {hi} uppers: xdpvlan / macvlan',
     ('<=', 2.0)),
    ('rm', 'rm_xv', 'rm_mv', 'time to delete {hi} uppers: xdpvlan / macvlan', ('<=', 2.0)),
]


def _ns(rate):
    return 1e9 / rate


# Rows derived from several modes: id, the modes, the value from one rate
# per mode, what, goal. Under icount a nanosecond of the guest clock is a
# guest instruction, so P and H are instructions per frame.
DERIVED = [
    ('P', ('l0_drop', 'l0_drop2'), lambda r: _ns(r['l0_drop2']) - _ns(r['l0_drop']),
     'ns per frame of one more program run (l0_drop2 - l0_drop)', None),
    ('H', ('l0_drop2', 'l1_drop'), lambda r: _ns(r['l1_drop']) - _ns(r['l0_drop2']),
     "ns per frame of the hook's own work at L1: l1_drop - l0_drop - P", ('<=', 60)),
    ('H2', ('l0_drop', 'l0_drop2', 'l1_drop', 'l2_drop'),
     lambda r: _ns(r['l2_drop']) - _ns(r['l1_drop']) - (_ns(r['l0_drop2']) - _ns(r['l0_drop'])),
     "ns per frame of the hook's own work at L2: l2_drop - l1_drop - P", ('<=', 60)),
    ('R1/limit', ('l0_drop2', 'l1_drop'), lambda r: r['l1_drop'] / r['l0_drop2'],
     'R1 / its limit A / (A + P): l1_drop / l0_drop2', 0.95),
    ('R5/limit', ('l0_drop', 'l0_drop2', 'l1_drop', 'l2_drop'),
     lambda r: (_ns(r['l1_drop']) + _ns(r['l0_drop2']) - _ns(r['l0_drop'])) / _ns(r['l2_drop']),
     'R5 / its limit: (ns(l1_drop) + P) / ns(l2_drop)', 0.95),
]
UNITS = {'udp': 'datagrams/s', 'tcp': 'bits/s', 'mk': 'uppers/s', 'rm': 'uppers/s'}
# Rows of the receive path's own cost (the *_lat modes' lat_ns: guest
# instructions per frame from L0's program to the upper's, sender and
# arrival rate left out): id, numerator mode, denominator mode (None: the
# value itself), what, goal.
LAT_ROWS = [
    ('L', 'l1_lat', None, 'veth: instructions from L0\'s program to L1\'s, native (hook)', None),
    ('Lmv', 'mv_lat', None,
     'veth: the same to macvlan\'s generic program (skb, rx_handler, generic XDP)', None),
    ('Lmv/L', 'mv_lat', 'l1_lat', 'veth: macvlan path / native path, L0 -> upper program', None),
    ('Lv', 'nl1_lat', None, 'virtio-net: instructions from L0\'s program to L1\'s, native',
     None),
    ('Lmvv', 'nmv_lat', None, 'virtio-net: the same to macvlan\'s generic program', None),
    ('Lmvv/Lv', 'nmv_lat', 'nl1_lat',
     'virtio-net: macvlan path / native path, L0 -> upper program', None),
]


def goal_met(goal, v):
    if isinstance(goal, tuple):
        return v <= goal[1]
    return v >= goal


def goal_str(goal):
    if goal is None:
        return '      '
    if isinstance(goal, tuple):
        return f'{goal[0]}{goal[1]:.2f}'
    return f'>={goal:.2f}'


def scale_ratios(hdr):
    """SCALE_RATIOS for the run's numbers of uppers, as rows of RATIOS whose
    value is num/den of the costs (so: den's rate over num's)."""
    sc = hdr.get('scale') or []
    if len(sc) < 2:
        return []
    lo, hi = min(sc), max(sc)
    return [(rid, num.format(lo=lo, hi=hi), den.format(lo=lo, hi=hi),
             what.format(lo=lo, hi=hi), goal, 'cost') for rid, num, den, what, goal in SCALE_RATIOS]


def load(path):
    hdr, runs = None, []
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            if 'header' in rec:
                hdr = rec['header']
            else:
                runs.append(rec)
    return hdr, runs


def spread(vals):
    return {'median': statistics.median(vals), 'min': min(vals), 'max': max(vals), 'n': len(vals)}


def ratio_of(rid, num, den, rates):
    """A ratio of one rate per mode (None if a mode is missing)."""
    if rid == 'R2':
        if not all(k in rates for k in ('l0_drop', 'l1_drop', 'mv_drop')):
            return None
        a, b, c = rates['l0_drop'], rates['l1_drop'], rates['mv_drop']
        return (b - c) / (a - c) if a != c else None
    if num in rates and den in rates and rates[den]:
        return rates[num] / rates[den]
    return None


def cost_of(num, den, rates):
    """num's cost over den's: den's rate over num's."""
    if num in rates and den in rates and rates[num]:
        return rates[den] / rates[num]
    return None


def summarise(hdr, runs):
    """runs: the runs of every boot of one clock, each with its 'boot'."""
    modes, byrep, byboot = {}, {}, {}
    for r in runs:
        modes.setdefault(r['mode'], []).append(r)
        byrep.setdefault((r['boot'], r['rep']), {})[r['mode']] = r['rate']
        byboot.setdefault(r['boot'], {}).setdefault(r['mode'], []).append(r['rate'])
    res = {'header': hdr, 'modes': {}, 'ratios': {}}
    for m, rs in modes.items():
        s = spread([r['rate'] for r in rs])
        s['runs'] = len(rs)
        if 'requested' in rs[0]:
            s['requested'] = sum(r['requested'] for r in rs)
            s['sent'] = sum(r['sent'] for r in rs)
            s['lost_at_ring'] = sum(r['lost_at_ring'] for r in rs)
            s['lost_after_ring'] = sum(r['lost_after_ring'] for r in rs)
            s['seen'] = {d: sum(r['seen'][d] for r in rs) for d in rs[0]['seen']}
            s['ns_per_frame'] = 1e9 / s['median'] if s['median'] else None
        else:
            s['csum_errors'] = {k: sum(r['csum_errors'][k] for r in rs) for k in rs[0]['csum_errors']}
            if 'lost' in rs[0]:
                s['sent'] = sum(r['sent'] for r in rs)
                s['lost'] = sum(r['lost'] for r in rs)
            if 'retransmits' in rs[0]:
                s['retransmits'] = sum(r['retransmits'] or 0 for r in rs)
        s['u1_rx_native'] = sum(r.get('u1_rx_native', 0) for r in rs)
        s['u1_rx_skb'] = sum(r.get('u1_rx_skb', 0) for r in rs)
        res['modes'][m] = s
    med = {m: s['median'] for m, s in res['modes'].items()}
    vals = {m: [r['rate'] for r in rs] for m, rs in modes.items()}
    for rid, need, f, what, goal in DERIVED:
        if not all(m in vals and med.get(m) for m in need):
            continue
        per = [f(dict(zip(need, c))) for c in itertools.product(*(vals[m] for m in need))
               if all(c)]
        rep = [f(rates) for rates in byrep.values() if all(rates.get(m) for m in need)]
        boots = [f({m: statistics.median(b[m]) for m in need}) if all(m in b for m in need)
                 else None for _, b in sorted(byboot.items())]
        res['ratios'][rid] = {'what': what, 'value': f(med), 'goal': goal,
                              'min': min(per) if per else None, 'max': max(per) if per else None,
                              'per_boot': boots, 'per_repetition': rep}
    lat = {m: [r['lat_ns'] for r in rs if r.get('lat_ns')] for m, rs in modes.items()}
    for rid, num, den, what, goal in LAT_ROWS:
        if not lat.get(num) or (den and not lat.get(den)):
            continue
        if den:
            per = [a / b for a in lat[num] for b in lat[den]]
            value = statistics.median(lat[num]) / statistics.median(lat[den])
        else:
            per = lat[num]
            value = statistics.median(per)
        res['ratios'][rid] = {'what': what, 'value': value, 'goal': goal, 'min': min(per),
                              'max': max(per), 'per_boot': [], 'per_repetition': []}
    rows = [r + ('rate',) for r in RATIOS] + scale_ratios(hdr)
    for rid, num, den, what, goal, kind in rows:
        if kind == 'cost':
            per = [d / n for n in vals.get(num, []) for d in vals.get(den, []) if n]
            rep = [v for v in (cost_of(num, den, rates) for rates in byrep.values())
                   if v is not None]
            boots = [cost_of(num, den, {m: statistics.median(v) for m, v in b.items()})
                     for _, b in sorted(byboot.items())]
            value = cost_of(num, den, med)
            if value is not None:
                res['ratios'][rid] = {'what': what, 'value': value, 'goal': goal,
                                      'min': min(per) if per else None,
                                      'max': max(per) if per else None,
                                      'per_boot': boots, 'per_repetition': rep}
            continue
        # The spread: the ratio over every pairing of the modes'
        # repetitions, from every boot, so that it contains the ratio of
        # the medians (the ratios of repetitions run back to back did not
        # always: R2 0.474 against 0.235-0.463 in a plain-TCG run; they are
        # in the JSON) and what moves from boot to boot (under icount, a
        # mode's repetitions in one boot agree to about 0.1 %, and the ratio
        # of a second boot fell outside the first's spread by 0.2 %).
        per = []
        if rid == 'R2':
            if all(k in vals for k in ('l0_drop', 'l1_drop', 'mv_drop')):
                per = [(b - c) / (a - c) for a in vals['l0_drop'] for b in vals['l1_drop']
                       for c in vals['mv_drop'] if a != c]
        elif num in vals and den in vals:
            per = [n / d for n in vals[num] for d in vals[den] if d]
        rep = [v for v in (ratio_of(rid, num, den, rates) for rates in byrep.values())
               if v is not None]
        boots = [ratio_of(rid, num, den, {m: statistics.median(v) for m, v in b.items()})
                 for _, b in sorted(byboot.items())]
        value = ratio_of(rid, num, den, med)
        if value is None:
            continue
        res['ratios'][rid] = {'what': what, 'value': value, 'goal': goal,
                              'min': min(per) if per else None, 'max': max(per) if per else None,
                              'per_boot': boots, 'per_repetition': rep}
    return res


def fmt_rate(m, v):
    unit = UNITS.get(m.split('_')[0], 'frames/s')
    if unit == 'bits/s':
        return f'{v / 1e6:10.1f} Mbit/s'
    if unit == 'uppers/s':
        return f'{v:10.1f} uppers/s'
    return f'{v:10.0f} {"dgram/s" if unit == "datagrams/s" else "frames/s"}'


def report(res):
    hdr = res['header']
    clock = hdr['clock']
    what = ('guest clock = guest instructions (QEMU -icount shift=0,sleep=off): '
            'ns/frame = guest instructions per frame, sender and receiver together'
            if clock == 'icount' else
            'guest clock = wall clock of QEMU TCG, multi-threaded (noisy)'
            if clock == 'tcg-mt' else
            'guest clock = wall clock of QEMU TCG, single-threaded (noisy): '
            'ns/frame = host time per frame, sender and receiver together')
    print(f'== clock: {clock} ({what})')
    print(f'   kernel {hdr["kernel"]}, {hdr["cpus"]} vCPUs, {hdr["boots"]} boot(s) of '
          f'{hdr["reps"]} repetitions, '
          f'{hdr["frames"]} frames per frame-mode run, UDP {hdr["udp_seconds"]} s, '
          f'TCP {hdr["tcp_seconds"]} s per socket-mode run; NAPI: {hdr.get("napi", "?")}')
    want = hdr['reps'] * hdr['boots']
    # Creating and deleting the uppers happens once per boot.
    short = {m: v['runs'] for m, v in res['modes'].items()
             if v['runs'] < (hdr['boots'] if m.startswith(('mk_', 'rm_')) else want)}
    if short:
        # A boot that ended early (scripts/bench.sh keeps its runs).
        print(f'   INCOMPLETE: fewer than {want} repetitions of ' +
              ', '.join(f'{m} ({n})' for m, n in short.items()))
    a = res['modes'].get('l0_drop', {}).get('ns_per_frame')
    print(f'   {"mode":10} {"median":>19} {"min":>12} {"max":>12}  {"ns/frame":>8} {"-A":>7}  '
          'attempted / lost before L0 / lost after L0 / seen per level')
    for m, s in res['modes'].items():
        line = (f'   {m:10} {fmt_rate(m, s["median"])} {s["min"]:12.0f} {s["max"]:12.0f}')
        if 'requested' in s:
            npf = s['ns_per_frame']
            d = f'{npf - a:+7.0f}' if a and npf else '       '
            seen = ' '.join(f'{k}={v}' for k, v in s['seen'].items())
            line += (f'  {npf:8.0f} {d}  {s["sent"]}/{s["requested"]} / {s["lost_at_ring"]} / '
                     f'{s["lost_after_ring"]} / {seen}')
        else:
            line += ' ' * 19
            extra = [f'counters {s["csum_errors"]}']
            if 'lost' in s:
                extra.append(f'lost {s["lost"]} of {s["sent"]}')
            if 'retransmits' in s:
                extra.append(f'retransmits {s["retransmits"]}')
            if m.endswith(('_xv', '_xs')):
                extra.append(f'u1 rx_native {s["u1_rx_native"]} rx_skb {s["u1_rx_skb"]}')
            line += '  ' + ', '.join(extra)
        print(line)
    print(f'   {"ratio":9} {"value":>7} {"min":>7} {"max":>7} {"goal":>6}'
          f'{"":13}  each boot alone')
    for rid, r in res['ratios'].items():
        v = f'{r["value"]:7.3f}' if r['value'] is not None else '    n/a'
        lo = f'{r["min"]:7.3f}' if r['min'] is not None else '    n/a'
        hi = f'{r["max"]:7.3f}' if r['max'] is not None else '    n/a'
        goal = goal_str(r['goal'])
        met = '' if r['goal'] is None or r['value'] is None else (
            '  met' if goal_met(r['goal'], r['value']) else '  goal missed')
        boots = ' '.join(f'{b:.4f}' if b is not None else 'n/a' for b in r['per_boot'])
        print(f'   {rid:9} {v} {lo} {hi} {goal}{met:13}  {boots:16} {r["what"]}')
    print()


def chart(results, path):
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(9, 4))
    ids = [r[0] for r in RATIOS]
    width = 0.8 / max(len(results), 1)
    for i, res in enumerate(results):
        xs, ys, lo, hi = [], [], [], []
        for j, rid in enumerate(ids):
            r = res['ratios'].get(rid)
            if not r or r['value'] is None:
                continue
            xs.append(j + i * width)
            ys.append(r['value'])
            lo.append(max(0.0, r['value'] - (r['min'] if r['min'] is not None else r['value'])))
            hi.append(max(0.0, (r['max'] if r['max'] is not None else r['value']) - r['value']))
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=3, label=res['header']['clock'])
    for j, (_, _, _, _, goal) in enumerate(RATIOS):
        if goal is not None:
            ax.plot([j - width / 2, j + width * (len(results) - 0.5)], [goal, goal], 'k--',
                    linewidth=0.8)
    ax.set_xticks([j + width * (len(results) - 1) / 2 for j in range(len(ids))], ids)
    ax.set_ylabel('ratio of medians')
    ax.set_xlabel('error bars: min-max over every pairing of repetitions (cut at 0 and 2.5); '
                  'dashes: goal')
    # R2's denominator A - C is small against plain TCG's noise, and its
    # range can reach tens: the axis stops at 2.5 so the other bars show.
    ax.set_ylim(0, 2.5)
    ax.legend()
    ax.set_title('xdpvlan / XDP rx handler benchmark')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


# Pairs of profiled modes whose difference the profile section shows: what
# the second costs that the first does not.
PROFILE_PAIRS = [
    ('l1_drop', 'l0_drop2', 'the hook and a level, less one more program run (H)'),
    ('l2_drop', 'l1_drop', 'a second level'),
    ('l0_pass_h', 'l0_pass', 'a frame for no upper: the registered handler'),
    ('l1_drop', 'l0_drop', 'a level, its program included'),
    ('udp_xv', 'udp_mvx', 'per datagram into a socket: xdpvlan native, less macvlan with the '
     'same L0 program (R3x)'),
    ('tcp_xv', 'tcp_mvx', 'per 1448-byte segment into a socket: xdpvlan native, less macvlan '
     'with the same L0 program (R6x)'),
]


# The idle loop: samples of the receiving CPU while it waited and the other
# CPU ran (under icount the guest clock counts both CPUs' instructions).
# Not the frame path's: left out of the totals and the differences.
IDLE = {'pv_native_safe_halt', 'default_idle', 'default_idle_call', 'cpu_idle_poll',
        'do_idle', 'cpuidle_idle_call', 'arch_cpu_idle'}


def module_symbols(run):
    """[(start, end, name)] of the xdpvlan module's .text, from the llvm-nm
    listing bench.sh writes next to the profile (xdpvlan.nm): perf in the
    guest cannot resolve an insmod'ed module's symbols and reports their
    offsets in its .text."""
    path = os.path.join(run, 'xdpvlan.nm')
    if not os.path.exists(path):
        return []
    syms = []
    with open(path) as f:
        for ln in f:
            parts = ln.rstrip('\n').split(' ', 2)
            if len(parts) == 3 and parts[1] in 'tT' and parts[1]:
                syms.append((int(parts[0], 16), parts[2]))
    syms.sort()
    return [(a, syms[i + 1][0] if i + 1 < len(syms) else a + 0x10000, n)
            for i, (a, n) in enumerate(syms)]


def demangle(names):
    """Rust symbols demangled (llvm-cxxfilt), others as they are."""
    names = sorted(names)
    for tool in ('llvm-cxxfilt-19', 'llvm-cxxfilt', 'rustfilt'):
        try:
            r = subprocess.run([tool], input='\n'.join(names) + '\n', capture_output=True,
                               text=True, check=True)
        except (OSError, subprocess.CalledProcessError):
            continue
        out = r.stdout.splitlines()
        if len(out) == len(names):
            return dict(zip(names, out))
    return {n: n for n in names}


def resolve(syms, mod):
    """Folds a profile's module offsets into the module's functions."""
    res = {}
    for k, v in syms.items():
        if k.startswith('0x') and mod:
            off = int(k, 16)
            i = bisect.bisect_right([m[0] for m in mod], off) - 1
            if i >= 0 and off < mod[i][1]:
                k = 'xdpvlan: ' + mod[i][2]
        res[k] = res.get(k, 0) + v
    return res


def profile(d):
    """The profile boot's profiles (BENCH_PROFILE): instructions per frame
    per function, averaged over the boots, and the differences of
    PROFILE_PAIRS. Returns {mode: {symbol: instructions per frame}}."""
    per = {}
    idle = {}
    for path in sorted(glob.glob(os.path.join(d, '*', 'profile-*.json'))):
        with open(path) as f:
            p = json.load(f)
        mod = module_symbols(os.path.dirname(path))
        syms = resolve(p['symbols'], mod)
        idle.setdefault(p['mode'], []).append(
            sum(v for k, v in syms.items() if k in IDLE) / p['frames'])
        per.setdefault(p['mode'], []).append(
            {k: v / p['frames'] for k, v in syms.items() if k not in IDLE})
    if not per:
        return {}
    names = demangle(set().union(*(set(b) for boots in per.values() for b in boots)))
    per = {m: [{names[k]: v for k, v in b.items()} for b in boots] for m, boots in per.items()}
    prof = {}
    for mode, boots in per.items():
        syms = set().union(*boots)
        prof[mode] = {k: sum(b.get(k, 0) for b in boots) / len(boots) for k in syms}
    print('\n== profile (the profile kernel under icount: perf cpu-clock, a sample per '
          '9973 guest instructions, the idle loop left out; frame modes: the receiving '
          'CPU, instructions per frame, sender included; socket modes (udp_*, tcp_*): both '
          'CPUs, instructions per datagram / per 1448 bytes received)')
    for mode, syms in sorted(prof.items()):
        top = sorted(syms.items(), key=lambda kv: -kv[1])[:6]
        print(f'   {mode:10} {sum(syms.values()):7.0f}  (idle {statistics.mean(idle[mode]):.0f})  ' +
              ', '.join(f'{k} {v:.0f}' for k, v in top))
    for a, b, what in PROFILE_PAIRS:
        if a not in prof or b not in prof:
            continue
        syms = set(prof[a]) | set(prof[b])
        diff = {k: prof[a].get(k, 0) - prof[b].get(k, 0) for k in syms}
        total = sum(diff.values())
        print(f'\n   {a} - {b}: {total:+.0f} instructions per frame ({what})')
        shown = sorted((kv for kv in diff.items() if abs(kv[1]) >= 2),
                       key=lambda kv: -abs(kv[1]))[:30]
        for k, v in shown:
            print(f'      {v:+7.0f}  {k}')
    return prof


def main():
    d = sys.argv[1]
    # bench-runs-<clock>.jsonl or bench-runs-<clock>-<boot>.jsonl: the boots
    # of one clock are pooled.
    byclock = {}
    for path in sorted(glob.glob(os.path.join(d, 'bench-runs-*.jsonl'))):
        hdr, runs = load(path)
        if not runs or hdr is None:
            sys.exit(f'{path}: no runs')
        hdrs, pooled = byclock.setdefault(hdr['clock'], ([], []))
        for r in runs:
            r['boot'] = len(hdrs)
        hdrs.append(hdr)
        pooled.extend(runs)
    results = []
    for clock, (hdrs, runs) in byclock.items():
        keys = ('kernel', 'cpus', 'reps', 'frames', 'udp_seconds', 'tcp_seconds')
        for h in hdrs[1:]:
            diff = [k for k in keys if h.get(k) != hdrs[0].get(k)]
            if diff:
                sys.exit(f'{clock}: the boots differ in {", ".join(diff)}')
        hdr = dict(hdrs[0], boots=len(hdrs))
        res = summarise(hdr, runs)
        report(res)
        results.append(res)
    prof = profile(d)
    if prof:
        with open(os.path.join(d, 'profile.json'), 'w') as f:
            json.dump(prof, f, indent=1)
    if not results:
        if prof:
            return
        sys.exit(f'{d}: no bench-runs-*.jsonl')
    with open(os.path.join(d, 'bench.json'), 'w') as f:
        json.dump(results, f, indent=1)
    if chart(results, os.path.join(d, 'bench.png')):
        print(f'chart: {os.path.join(d, "bench.png")}')


if __name__ == '__main__':
    main()
