#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run in the guest by scripts/test.sh: collect the KUnit results of this boot
# and run the project's kselftests, each into $XDPRX_OUT/results/.
#
#   run-tests.sh [--no-kunit] [--only TESTS | --except TESTS]
#
# TESTS: selftests as paths under tools/testing/selftests, space-separated.
# By default every TEST_PROGS entry of the project's selftest Makefiles runs;
# --only runs those of TESTS, --except the others (test.sh splits the suite
# between two guests that way, so a new selftest runs without being listed).
# An --only entry that no Makefile lists is an error.
set -u
out=${XDPRX_OUT:?}/results
kunit=1 only= except= rc=0
while [ $# -gt 0 ]; do
	case $1 in
	--no-kunit) kunit=; shift ;;
	--only) only=" $2 "; shift 2 ;;
	--except) except=" $2 "; shift 2 ;;
	*) echo "run-tests.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
mkdir -p "$out"
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
# kmemleak: no periodic scans while the tests run (one scan took 45 s of a
# vCPU in this guest under TCG, every 10 minutes). It keeps tracking every
# allocation; finish.sh scans twice at the end, which reports every object
# that is unreferenced then, a leak from the first test included.
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan=off >/sys/kernel/debug/kmemleak
fi

# KUnit suites ran at boot (built in); debugfs keeps each suite's KTAP.
if [ -n "$kunit" ]; then
	for d in /sys/kernel/debug/kunit/*/; do
		[ -f "$d/results" ] || continue
		cp "$d/results" "$out/kunit.$(basename "$d").ktap"
	done
fi

# kselftests: the TEST_PROGS entries of the project's selftest Makefiles, run
# from their directory with the timeout of its settings file (45 s default).
export KSFT_HELPERS=$XDPRX_KSRC/tools/testing/selftests/kselftest
# The driver the xdpvlan tests load: the kernel's own build of it
# (CONFIG_XDPVLAN=m, from the series), unless the caller names one.
if [ -z "${XDPVLAN_KO:-}" ] && [ -f "$XDPRX_BUILD/drivers/net/xdpvlan/xdpvlan.ko" ]; then
	export XDPVLAN_KO=$XDPRX_BUILD/drivers/net/xdpvlan/xdpvlan.ko
fi
echo "# xdpvlan module: ${XDPVLAN_KO:-the out-of-tree build}"
all=
while read -r mk; do
	dir=$(dirname "$mk")
	rel=${dir#"$XDPRX_TOP/tools/testing/selftests/"}
	for t in $(sed -n 's/^TEST_PROGS[[:space:]]*[:+]*=[[:space:]]*//p' "$mk"); do
		all+=" $rel/$t"
	done
done < <(find "$XDPRX_TOP/tools/testing/selftests" -name Makefile 2>/dev/null | sort)
for t in $only; do
	case "$all " in
	*" $t "*) ;;
	*) echo "run-tests.sh: $t is in no selftest Makefile" >&2; rc=1 ;;
	esac
done

for t in $all; do
	if [ -n "$only" ]; then
		case $only in *" $t "*) ;; *) continue ;; esac
	fi
	case $except in *" $t "*) continue ;; esac
	dir=$XDPRX_TOP/tools/testing/selftests/$(dirname "$t")
	timeout=45
	[ -f "$dir/settings" ] && timeout=$(sed -n 's/^timeout=//p' "$dir/settings")
	name=$(echo "$t" | tr '/' '.')
	echo "# selftest $t $(date +%T)" >&2
	(cd "$dir" && timeout -k 5 "$timeout" "./$(basename "$t")") >"$out/selftest.$name.ktap" 2>&1
	echo $? >"$out/selftest.$name.rc"
done
# The host checks that the runner got here: a runner killed on the way (OOM,
# a hang cut by the timeout) leaves no marker, whatever results it wrote.
echo "run-tests.sh: end $(date +%T)" >"$XDPRX_OUT/runner-end"
exit $rc
