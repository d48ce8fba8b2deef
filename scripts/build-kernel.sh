#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Configure and build the patched kernel of a flavour (FLAVOUR=debug|release|
# profile, default debug) in $XDPRX_CACHE/build-<flavour>. profile is
# release plus config/profile.config; its first build starts from a copy of
# the release build, so that only what the difference touches is rebuilt.
#
# The configuration is allnoconfig + the tree's kvm_guest.config + the
# project's config/ fragments. It is generated aside and copied into the build
# directory only if it changed, so an unchanged tree rebuilds in seconds.
. "$(dirname "$0")/lib.sh"

case "$XDPRX_FLAVOUR" in debug|release|profile) ;; *) die "FLAVOUR=$XDPRX_FLAVOUR: use debug, release or profile" ;; esac

for t in "clang$XDPRX_LLVM" "ld.lld$XDPRX_LLVM" "llvm-nm$XDPRX_LLVM" rustc bindgen pahole flex bison bc; do
	command -v "$t" >/dev/null || die "$t not found: run scripts/deps.sh"
done

"$XDPRX_TOP/scripts/stage.sh" >/dev/null
src=$(xdprx_src_dir)
build=$(xdprx_build_dir)
cfgdir=$XDPRX_CACHE/config-$XDPRX_FLAVOUR
frags=("$src/kernel/configs/kvm_guest.config" "$XDPRX_TOP/config/vm.config"
	"$XDPRX_TOP/config/xdprx.config")
if [ "$XDPRX_FLAVOUR" = profile ]; then
	frags+=("$XDPRX_TOP/config/release.config")
	rel=$(xdprx_build_dir release)
	if [ ! -e "$build/.config" ] && [ -e "$rel/vmlinux" ]; then
		log "profile: starting from a copy of $rel"
		mkdir -p "$build"
		cp -a "$rel/." "$build/"
	fi
fi
frags+=("$XDPRX_TOP/config/$XDPRX_FLAVOUR.config")
mkdir -p "$build" "$cfgdir"
cat "${frags[@]}" >"$cfgdir/allno.config.new"
mv "$cfgdir/allno.config.new" "$cfgdir/allno.config"

make -s -C "$src" O="$build" LLVM="$XDPRX_LLVM" rustavailable >"$build/rustavailable.log" 2>&1 ||
	die "Rust is not available for this tree (make rustavailable): $(grep -m1 -i -E 'error|\*\*\*' "$build/rustavailable.log")"

log "configuring ($XDPRX_FLAVOUR)"
make -s -C "$src" O="$cfgdir" LLVM="$XDPRX_LLVM" KCONFIG_ALLCONFIG="$cfgdir/allno.config" \
	allnoconfig >"$cfgdir/config.log" 2>&1 ||
	die "allnoconfig failed: see $cfgdir/config.log"

# Every option the project's fragments ask for must have stuck (kvm_guest.config
# is the tree's own and lists options of other architectures).
bad=$(cat "${frags[@]:1}" | awk -v cfg="$cfgdir/.config" '
	BEGIN { while ((getline l < cfg) > 0) {
		if (l ~ /^CONFIG_/) { split(l, a, "="); v[a[1]] = substr(l, length(a[1]) + 2) }
		else if (l ~ /^# CONFIG_.* is not set/) { split(l, a, " "); v[a[2]] = "n" } } }
	/^CONFIG_/ { split($0, a, "="); want = substr($0, length(a[1]) + 2)
		got = (a[1] in v) ? v[a[1]] : "n"
		if (want != got) print a[1] "=" want " (got " got ")" }
	/^# CONFIG_.* is not set/ { if (($2 in v) && v[$2] != "n") print $2 "=n (got " v[$2] ")" }')
[ -z "$bad" ] || die "config options that did not stick (a dependency is missing): $(echo $bad)"

if write_if_changed "$build/.config" <"$cfgdir/.config"; then
	log "configuration changed"
fi

log "building $XDPRX_FLAVOUR kernel in $build (a full build takes 20-30 minutes on 2 cores)"
start=$(date +%s)
if ! kmake bzImage modules >"$build/build.log" 2>&1; then
	grep -E 'error|Error' "$build/build.log" | head -n 20 >&2
	die "kernel build failed: see $build/build.log"
fi
log "kernel built in $(( $(date +%s) - start )) s: $build/arch/x86/boot/bzImage"
