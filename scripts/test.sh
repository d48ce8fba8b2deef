#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The test command. On a fresh Debian machine it installs what it needs,
# fetches and stages the kernel, builds the debug flavour (KASAN, lockdep,
# kmemleak), boots it under virtme-ng and runs every test: the KUnit suites
# (the XDP rx handler's and the Rust doctests) and the project's kselftests.
# Ends with 'N passed, N failed'; exits non-zero if anything failed.
. "$(dirname "$0")/lib.sh"
export FLAVOUR=debug
XDPRX_FLAVOUR=debug

t0=$(date +%s)
phase() { log "[$(( $(date +%s) - t0 )) s] $*"; }

phase "host tools"
"$XDPRX_TOP/scripts/deps.sh"
# The verdict's own checks first: a harness that cannot see a failure mode
# makes every result below worthless.
host=$(mktemp -d)
trap 'rm -rf "$host"' EXIT
phase "test harness self-check"
rc=0
python3 "$XDPRX_TOP/scripts/harness-check.py" >"$host/harness_check.ktap" || rc=$?
echo $rc >"$host/harness_check.rc"
phase "base tree"
"$XDPRX_TOP/scripts/get-source.sh" >/dev/null
phase "kernel"
"$XDPRX_TOP/scripts/build-kernel.sh"
phase "test modules and BPF objects"
"$XDPRX_TOP/scripts/build-tests.sh"
if [ -f "$XDPRX_TOP/Kbuild" ]; then
	phase "out-of-tree module"
	make -s -C "$XDPRX_TOP" KDIR="$(xdprx_build_dir)" LLVM="$XDPRX_LLVM" >/dev/null ||
		die "out-of-tree module build failed"
fi

out=$XDPRX_CACHE/runs/test-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
phase "misuses of the Rust API that must not compile"
rc=0
"$XDPRX_TOP/scripts/rust-reject.sh" >"$host/rust_reject.ktap" || rc=$?
echo $rc >"$host/rust_reject.rc"

phase "booting the test kernel; results in $out"
set +e
"$XDPRX_TOP/scripts/vm-run.sh" --net loop --net loop-small --no-splat-check --out "$out" -- \
	bash scripts/guest/run-tests.sh >"$out.log" 2>&1
vm=$?
set -e
[ -d "$out/results" ] || { tail -n 20 "$out.log" >&2; die "the test VM did not run (exit $vm): see $out.log"; }
[ -f "$out/dmesg.txt" ] || die "the test VM saved no kernel log: see $out.log"
# The host's checks count as selftests of their own.
for t in harness_check rust_reject; do
	cp "$host/$t.ktap" "$out/results/selftest.host.$t.ktap"
	cp "$host/$t.rc" "$out/results/selftest.host.$t.rc"
done

splat=ok
"$XDPRX_TOP/scripts/check-dmesg.sh" "$out/dmesg.txt" || splat=fail
# The guest's own view: the runner's exit status and its end marker.
status=ok
if [ ! -f "$out/.guest-status" ]; then
	status="the guest recorded no exit status for the test runner"
elif [ "$(cat "$out/.guest-status")" != 0 ]; then
	status="the test runner exited with status $(cat "$out/.guest-status")"
elif [ ! -f "$out/runner-end" ]; then
	status="the test runner did not reach its end (killed?)"
fi
suites=$(grep -v '^#' "$XDPRX_TOP/config/kunit-suites" | paste -sd, -)
phase "results"
python3 "$XDPRX_TOP/scripts/ktap-summary.py" "$out/results" "$suites" "$splat" \
	"$XDPRX_TOP/config/expected-tests" "$XDPRX_TOP/config/allowed-skips" "$status"
