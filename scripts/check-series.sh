#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Check that every prefix of the series builds: base + patch 1, base + patches
# 1..2, ... up to the whole series, in order. Prints one line
# per step, "ok" or "FAIL", with the build time, and exits non-zero at the first
# step that does not build (the last lines of its errors go to stderr).
#
# Not part of scripts/test.sh: the first run builds a whole kernel (about
# 20 minutes on 2 cores). Later runs are incremental: the steps are checked out
# one after the other in a worktree of their own ($XDPRX_CACHE/series-wt), which
# rewrites only the files a patch changes, and built in a build directory of
# their own ($XDPRX_CACHE/build-series), so each step rebuilds only what its
# patch touches and the test kernel in build-debug is never disturbed.
#
# Configuration: the debug flavour's (the tests' configuration): it is the one
# that builds everything the series adds, the KUnit suite included (the release
# flavour turns KUnit off). It is generated for the whole series, as
# build-kernel.sh does, and each step takes it through olddefconfig, which
# drops the options its tree does not know yet (the KUnit option before the
# patch that adds it).
. "$(dirname "$0")/lib.sh"

flavour=debug
repo=$(xdprx_src_dir)
wt=$XDPRX_CACHE/series-wt
build=$XDPRX_CACHE/build-series
cfgdir=$XDPRX_CACHE/config-series

staged=$("$XDPRX_TOP/scripts/stage.sh")
mapfile -t steps < <(git -C "$repo" rev-list --reverse base.."$staged")
[ ${#steps[@]} -gt 0 ] || die "the staged tree has no commits on top of base"

if [ ! -e "$wt/.git" ]; then
	log "creating the series worktree $wt (about a minute, once)"
	git -C "$repo" worktree prune
	git -C "$repo" worktree add -q --detach "$wt" base >/dev/null
fi
mkdir -p "$build" "$cfgdir"

# The configuration of the whole series, as build-kernel.sh makes it.
cat "$repo/kernel/configs/kvm_guest.config" "$XDPRX_TOP/config/vm.config" \
	"$XDPRX_TOP/config/xdprx.config" "$XDPRX_TOP/config/$flavour.config" >"$cfgdir/allno.config"
make -s -C "$repo" O="$cfgdir" LLVM="$XDPRX_LLVM" KCONFIG_ALLCONFIG="$cfgdir/allno.config" \
	allnoconfig >"$cfgdir/config.log" 2>&1 || die "allnoconfig failed: see $cfgdir/config.log"

log "building ${#steps[@]} prefixes of the series ($flavour configuration) in $build"
total=$(date +%s)
i=0
for c in "${steps[@]}"; do
	i=$((i + 1))
	subject=$(git -C "$repo" log -1 --format=%s "$c")
	git -C "$wt" checkout -q -f --detach "$c"
	start=$(date +%s)
	# The series' configuration as this step's tree understands it; copied
	# only if it changed, so that make does not re-run Kconfig for nothing.
	mkdir -p "$cfgdir/step"
	cp "$cfgdir/.config" "$cfgdir/step/.config"
	make -s -C "$wt" O="$cfgdir/step" LLVM="$XDPRX_LLVM" olddefconfig >"$build/step-$i.log" 2>&1 ||
		die "olddefconfig failed for step $i: see $build/step-$i.log"
	write_if_changed "$build/.config" <"$cfgdir/step/.config" || true
	if make -C "$wt" O="$build" LLVM="$XDPRX_LLVM" -j"$(nproc)" bzImage modules \
			>>"$build/step-$i.log" 2>&1; then
		printf 'ok   %d/%d %s (%d s)\n' "$i" "${#steps[@]}" "$subject" "$(( $(date +%s) - start ))"
	else
		printf 'FAIL %d/%d %s (%d s)\n' "$i" "${#steps[@]}" "$subject" "$(( $(date +%s) - start ))"
		grep -E 'error|Error' "$build/step-$i.log" | head -n 20 >&2
		die "step $i does not build: see $build/step-$i.log"
	fi
done
log "all ${#steps[@]} prefixes build ($(( $(date +%s) - total )) s)"
