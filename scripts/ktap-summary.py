#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Count the results of a test run: the KTAP files written by
scripts/guest/run-tests.sh, the suites that must be there, and the kernel log
check. Prints one line per failure and ends with 'N passed, N failed'.
Exit status 0 only if nothing failed and something passed.

  ktap-summary.py RESULTS_DIR REQUIRED_SUITES SPLAT [EXPECTED [ALLOWED_SKIPS [STATUS]]]

SPLAT is 'ok', or what the kernel log check found (its first line).

EXPECTED (config/expected-tests) lists every KUnit suite and selftest that must
have run, each with its least number of cases: a missing one, or one with
fewer cases, fails. A skipped case fails unless ALLOWED_SKIPS
(config/allowed-skips) lists it (a regular expression on 'kunit SUITE: CASE'
or 'selftest NAME: CASE') with the reason. STATUS is a line about the guest
run itself ('ok' or the reason it is not)."""

import os
import re
import sys
from pathlib import Path

RESULT = re.compile(r'^(?P<indent>\s*)(?P<not>not )?ok \d+(?: (?:- )?(?P<name>[^#]*?))?\s*(?:#\s*(?P<dir>\S+).*)?$')


def results(text):
    """(indent, ok, name, directive) of each KTAP result line."""
    out = []
    for line in text.splitlines():
        m = RESULT.match(line)
        if m:
            out.append((len(m['indent'].expandtabs(8)), not m['not'],
                        (m['name'] or '').strip(), (m['dir'] or '').upper()))
    return out


def main():
    resdir = Path(sys.argv[1])
    required = [s for s in sys.argv[2].split(',') if s] if len(sys.argv) > 2 else []
    # SPLAT: 'ok', 'fail', or the reason (the first line of the splat).
    splat = sys.argv[3] if len(sys.argv) > 3 else 'ok'
    splat_ok = splat == 'ok'
    expected = {}
    if len(sys.argv) > 4 and sys.argv[4]:
        for line in Path(sys.argv[4]).read_text().splitlines():
            line = line.split('#', 1)[0].split()
            if len(line) == 3:
                expected[(line[0], line[1])] = int(line[2])
    allowed = []
    if len(sys.argv) > 5 and sys.argv[5]:
        for line in Path(sys.argv[5]).read_text().splitlines():
            pat = line.split('#', 1)[0].strip()
            if pat:
                allowed.append(re.compile(pat))
    status = sys.argv[6] if len(sys.argv) > 6 else 'ok'
    passed = failed = skipped = 0
    lines = []
    ran = {}

    def count(ok, name, directive):
        nonlocal passed, failed, skipped
        if directive == 'SKIP':
            if any(p.search(name) for p in allowed):
                skipped += 1
                lines.append(f'SKIP {name} (allowed: config/allowed-skips)')
            else:
                failed += 1
                lines.append(f'FAIL {name}: skipped, and not in config/allowed-skips')
        elif ok:
            passed += 1
        else:
            failed += 1
            lines.append(f'FAIL {name}')

    # KUnit: a suite's cases are its result lines one level in.
    seen = set()
    for f in sorted(resdir.glob('kunit.*.ktap')):
        suite = f.name[len('kunit.'):-len('.ktap')]
        seen.add(suite)
        res = results(f.read_text(errors='replace'))
        top = [r for r in res if r[0] == 0]
        inner = [r for r in res if r[0] > 0]
        level = min((r[0] for r in inner), default=None)
        cases = [r for r in inner if r[0] == level]
        ran[('kunit', suite)] = len(cases)
        for _, ok, name, d in cases:
            count(ok, f'kunit {suite}: {name}', d)
        if not cases:
            # The suite ran no case: skipped as a whole, or it crashed.
            skip = bool(top) and top[-1][3] == 'SKIP'
            count(skip, f'kunit {suite}: ran no case', 'SKIP' if skip else '')
        elif top and not top[-1][1] and all(c[1] for c in cases):
            count(False, f'kunit {suite}: suite failed (init or exit)', '')
    for suite in required:
        if suite not in seen:
            count(False, f'kunit {suite}: suite missing (not built or not run)', '')

    # kselftests: top-level result lines; the exit status must agree.
    for f in sorted(resdir.glob('selftest.*.ktap')):
        name = f.name[len('selftest.'):-len('.ktap')]
        text = f.read_text(errors='replace')
        rcf = f.with_suffix('.rc')
        rc = int(rcf.read_text().strip() or 1) if rcf.exists() else 1
        res = [r for r in results(text) if r[0] == 0]
        ran[('selftest', name)] = len(res)
        plan = re.search(r'^1\.\.(\d+)', text, re.M)
        for _, ok, tname, d in res:
            count(ok, f'selftest {name}: {tname}', d)
        if rc == 124:
            count(False, f'selftest {name}: timed out', '')
        elif plan and int(plan.group(1)) != len(res):
            count(False, f'selftest {name}: {len(res)} results for a plan of {plan.group(1)}', '')
        elif rc not in (0, 4) and all(r[1] for r in res):
            count(False, f'selftest {name}: exit status {rc}', '')
        elif not res and rc == 4:
            # Skipped as a whole (KSFT_SKIP): shown, never counted as passed.
            count(True, f'selftest {name}: skipped as a whole', 'SKIP')
        elif not res:
            count(False, f'selftest {name}: no results', '')

    if os.environ.get('KTAP_LIST'):
        # For config/expected-tests: what this run ran.
        for (kind, name), n in sorted(ran.items()):
            print(f'{kind} {name} {n}')
        return 0

    for (kind, name), least in sorted(expected.items()):
        n = ran.get((kind, name))
        if n is None:
            count(False, f'{kind} {name}: expected (config/expected-tests) but did not run', '')
        elif n < least:
            count(False, f'{kind} {name}: {n} cases, expected at least {least} (config/expected-tests)', '')

    if splat_ok or splat == 'fail':
        count(splat_ok, 'kernel log: no BUG/WARNING/KASAN/lockdep/RCU/kmemleak/OOM/leaked-reference report', '')
    else:
        count(False, f'kernel log: {splat}', '')
    count(status == 'ok', f'test VM: {status}', '')

    for line in lines:
        print(line)
    print(f'{passed} passed, {failed} failed' + (f', {skipped} skipped' if skipped else ''))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == '__main__':
    sys.exit(main())
