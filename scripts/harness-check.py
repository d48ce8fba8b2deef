#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check that the test command's verdict cannot lie: feed scripts/ktap-summary.py
and scripts/check-dmesg.sh the results of a complete, clean run (synthesised
from config/expected-tests) and then of runs with one defect each, and check
that the clean one passes and that every defective one fails with the line
that names the defect. Runs on the host in a second; scripts/test.sh runs it
before it boots anything.

Prints one KTAP line per case and exits non-zero if any case failed."""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
SUMMARY = TOP / 'scripts/ktap-summary.py'
DMESG = TOP / 'scripts/check-dmesg.sh'
EXPECTED = TOP / 'config/expected-tests'
ALLOWED = TOP / 'config/allowed-skips'
SUITES = TOP / 'config/kunit-suites'


def expected():
    out = []
    for line in EXPECTED.read_text().splitlines():
        f = line.split('#', 1)[0].split()
        if len(f) == 3:
            out.append((f[0], f[1], int(f[2])))
    return out


def write_clean(d):
    """A results directory as a complete run with every case passing writes it."""
    for kind, name, n in expected():
        if kind == 'kunit':
            cases = ''.join(f'    ok {i} case{i}\n' for i in range(1, n + 1))
            text = (f'KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: {name}\n'
                    f'    1..{n}\n{cases}ok 1 {name}\n')
            (d / f'kunit.{name}.ktap').write_text(text)
        else:
            cases = ''.join(f'ok {i} case{i}\n' for i in range(1, n + 1))
            (d / f'selftest.{name}.ktap').write_text(f'TAP version 13\n1..{n}\n{cases}')
            (d / f'selftest.{name}.rc').write_text('0\n')


def first_selftest():
    return next(n for k, n, _ in expected() if k == 'selftest')


def summary(d, splat='ok', status='ok'):
    suites = ','.join(line.strip() for line in SUITES.read_text().splitlines()
                      if line.strip() and not line.startswith('#'))
    p = subprocess.run([sys.executable, str(SUMMARY), str(d), suites, splat, str(EXPECTED),
                        str(ALLOWED), status], capture_output=True, text=True)
    return p.returncode, p.stdout


def removed_selftest(d):
    name = first_selftest()
    (d / f'selftest.{name}.ktap').unlink()
    (d / f'selftest.{name}.rc').unlink()
    return summary(d), f'selftest {name}: expected (config/expected-tests) but did not run'


def forced_skip(d):
    name = first_selftest()
    f = d / f'selftest.{name}.ktap'
    f.write_text(f.read_text().replace('ok 1 case1\n', 'ok 1 case1 # SKIP no bpftool\n'))
    return summary(d), f'selftest {name}: case1: skipped, and not in config/allowed-skips'


def skipped_whole(d):
    name = first_selftest()
    (d / f'selftest.{name}.ktap').write_text('TAP version 13\n1..0 # SKIP needs root\n')
    (d / f'selftest.{name}.rc').write_text('4\n')
    return summary(d), f'selftest {name}: skipped as a whole: skipped, and not in config/allowed-skips'


def fewer_cases(d):
    name = first_selftest()
    f = d / f'selftest.{name}.ktap'
    lines = f.read_text().splitlines()
    f.write_text('\n'.join(lines[:-1]) + '\n')
    return summary(d), 'results for a plan of'


def failed_case(d):
    name = first_selftest()
    f = d / f'selftest.{name}.ktap'
    f.write_text(f.read_text().replace('ok 2 case2\n', 'not ok 2 case2\n'))
    (d / f'selftest.{name}.rc').write_text('1\n')
    return summary(d), f'FAIL selftest {name}: case2'


def timed_out(d):
    name = first_selftest()
    (d / f'selftest.{name}.rc').write_text('124\n')
    return summary(d), f'selftest {name}: timed out'


def missing_kunit_suite(d):
    name = next(n for k, n, _ in expected() if k == 'kunit')
    (d / f'kunit.{name}.ktap').unlink()
    return summary(d), f'kunit {name}: expected (config/expected-tests) but did not run'


def killed_runner(d):
    return (summary(d, status='the test runner did not reach its end (killed?)'),
            'FAIL test VM: the test runner did not reach its end (killed?)')


def kernel_log(line):
    def case(d):
        log = d / 'dmesg.txt'
        log.write_text(f'[    1.000000] Linux version 7.3.4\n[  100.000000] {line}\n')
        p = subprocess.run(['bash', str(DMESG), str(log)], capture_output=True, text=True)
        # As scripts/test.sh's note_splat: the reason is the first line found.
        found = p.stderr.splitlines()[1:2]
        splat = 'ok' if p.returncode == 0 else \
            'guest a: ' + (found[0].strip().split(':', 1)[1] if found else 'see the log')
        return summary(d, splat=splat), f'FAIL kernel log: guest a: [  100.000000] {line}'
    return case


CASES = [
    ('a removed selftest (no results) fails the run', removed_selftest),
    ('a skipped case fails the run', forced_skip),
    ('a selftest skipped as a whole fails the run', skipped_whole),
    ('a selftest with fewer results than its plan fails the run', fewer_cases),
    ('a failed case fails the run', failed_case),
    ('a timed-out selftest fails the run', timed_out),
    ('a missing KUnit suite fails the run', missing_kunit_suite),
    ('a killed test runner fails the run', killed_runner),
    ('a leaked net_device reference (unregister_netdevice waiting) fails the run',
     kernel_log('unregister_netdevice: waiting for v0 to become free. Usage count = 2')),
    ('a reference tracker report fails the run',
     kernel_log('ref_tracker: netdev@000000001c3b5e7e has 1/1 users at')),
    ('a KASAN report fails the run',
     kernel_log('BUG: KASAN: slab-use-after-free in veth_xdp_rcv+0x1/0x2')),
    ('a WARNING fails the run',
     kernel_log('WARNING: net/core/skbuff.c:6270 at skb_try_coalesce+0xcde/0x1710')),
    ('the OOM killer fails the run', kernel_log('python3 invoked oom-killer: gfp_mask=0xcc0')),
    ('a hung task fails the run',
     kernel_log('INFO: task ip:1234 blocked for more than 120 seconds.')),
]


def main():
    fails = 0
    print('TAP version 13')
    print(f'1..{len(CASES) + 1}')
    with tempfile.TemporaryDirectory() as tmp:
        clean = Path(tmp) / 'clean'
        clean.mkdir()
        write_clean(clean)
        rc, out = summary(clean)
        last = out.strip().splitlines()[-1] if out.strip() else ''
        ok = rc == 0 and last.endswith(' 0 failed')
        fails += not ok
        print(f'{"ok" if ok else "not ok"} 1 a complete clean run passes: {last}')
        for i, (desc, fn) in enumerate(CASES, 2):
            d = Path(tmp) / f'case{i}'
            shutil.copytree(clean, d)
            (rc, out), want = fn(d)
            hit = [line for line in out.splitlines() if want in line]
            ok = rc != 0 and bool(hit)
            fails += not ok
            print(f'{"ok" if ok else "not ok"} {i} {desc}')
            print(f'# {hit[0] if hit else "no line with: " + want} (exit {rc})')
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
