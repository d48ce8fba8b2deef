#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run in the guest by scripts/test.sh: collect the KUnit results of this boot
# and run the project's kselftests, each into $XDPRX_OUT/results/.
set -u
out=${XDPRX_OUT:?}/results
mkdir -p "$out"
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug

# KUnit suites ran at boot (built in); debugfs keeps each suite's KTAP.
for d in /sys/kernel/debug/kunit/*/; do
	[ -f "$d/results" ] || continue
	cp "$d/results" "$out/kunit.$(basename "$d").ktap"
done

# kselftests: every TEST_PROGS entry of the project's selftest Makefiles,
# run from its directory with the timeout of its settings file (45 s default).
export KSFT_HELPERS=$XDPRX_KSRC/tools/testing/selftests/kselftest
find "$XDPRX_TOP/tools/testing/selftests" -name Makefile 2>/dev/null | sort |
while read -r mk; do
	dir=$(dirname "$mk")
	rel=${dir#"$XDPRX_TOP/tools/testing/selftests/"}
	timeout=45
	[ -f "$dir/settings" ] && timeout=$(sed -n 's/^timeout=//p' "$dir/settings")
	progs=$(sed -n 's/^TEST_PROGS[[:space:]]*[:+]*=[[:space:]]*//p' "$mk")
	for t in $progs; do
		name=$(echo "$rel/$t" | tr '/' '.')
		echo "# selftest $rel/$t" >&2
		(cd "$dir" && timeout -k 5 "$timeout" "./$t") >"$out/selftest.$name.ktap" 2>&1
		echo $? >"$out/selftest.$name.rc"
	done
done
# The host checks that the runner got here: a runner killed on the way (OOM,
# a hang cut by the timeout) leaves no marker, whatever results it wrote.
echo "run-tests.sh: end" >"$XDPRX_OUT/runner-end"
exit 0
