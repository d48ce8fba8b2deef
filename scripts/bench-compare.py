#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Do benchmark runs reproduce? bench-compare.py [--clock C] DIR DIR [DIR...]

Each DIR is a run of scripts/bench.sh (its bench.json, written by
scripts/bench-report.py). For every ratio of the clock (default icount) it
prints each run's value and spread, and checks that the value of every run
lies within the spread of every other run. Prints one line per ratio and a
last line "N ratios reproduced, M not"; exits 1 if any is not.
"""

import json
import os
import sys


def load(d, clock):
    with open(os.path.join(d, 'bench.json')) as f:
        for res in json.load(f):
            if res['header']['clock'] == clock:
                return res
    sys.exit(f'{d}: no {clock} results in bench.json')


def main():
    args = sys.argv[1:]
    clock = 'icount'
    if len(args) >= 2 and args[0] == '--clock':
        clock, args = args[1], args[2:]
    if len(args) < 2:
        sys.exit(__doc__.strip().splitlines()[0])
    runs = [(d, load(d, clock)) for d in args]
    for i, (d, res) in enumerate(runs):
        h = res['header']
        print(f'run {i + 1}: {d}: {h.get("boots", 1)} boot(s) of {h["reps"]} repetitions')
    ok = bad = 0
    ids = [rid for rid in runs[0][1]['ratios'] if all(rid in r['ratios'] for _, r in runs)]
    print(f'{"ratio":5}  ' + '  '.join(f'{"run " + str(i + 1) + " value [min, max]":>26}'
                                      for i in range(len(runs))))
    for rid in ids:
        rs = [r['ratios'][rid] for _, r in runs]
        misses = []
        for i, a in enumerate(rs):
            if a['min'] is None or a['max'] is None:
                misses.append(f'run {i + 1} has no spread (a rate of 0)')
                continue
            for j, b in enumerate(rs):
                if i != j and not (a['min'] <= b['value'] <= a['max']):
                    misses.append(f'run {j + 1} ({b["value"]:.5f}) is outside run {i + 1}\'s '
                                  f'[{a["min"]:.5f}, {a["max"]:.5f}]')
        cells = '  '.join(f'{r["value"]:8.4f} [{r["min"] or 0:6.4f}, {r["max"] or 0:6.4f}]'
                          for r in rs)
        verdict = 'reproduced' if not misses else 'NOT reproduced: ' + '; '.join(misses)
        print(f'{rid:5}  {cells}  {verdict}')
        if misses:
            bad += 1
        else:
            ok += 1
    print(f'{ok} ratios reproduced, {bad} not')
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
