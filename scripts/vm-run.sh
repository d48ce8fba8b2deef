#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot the built kernel of a flavour with virtme-ng and run a command in it.
#
#   scripts/vm-run.sh [--net loop|loop-small]... [--icount] [--out DIR] [--no-splat-check] -- CMD [ARG...]
#
# --net loop gives the guest two virtio-net NICs wired to each other (vng
# --network loop): QEMU's defaults, mergeable receive buffers. --net loop-small
# adds another such pair, on a hub of its own, without mergeable receive
# buffers or guest offloads, so that virtio-net uses its small-buffer receive
# path; its NICs have the MACs 52:54:00:78:72:01 and :02.
# The guest sees the host's root file system (read-only, /tmp is a throwaway
# overlay); DIR (default: a new directory under $XDPRX_CACHE/runs) is mounted
# read-write at the same path, and the command finds it in $XDPRX_OUT. After the
# command the guest saves its kernel log there; the run fails if that log shows
# a BUG, WARNING, KASAN, lockdep, RCU or kmemleak report.
#
# --icount runs QEMU with "-icount shift=0,sleep=off": the guest's clock
# counts the instructions the guest executes (1 ns each, all vCPUs on one
# host thread), so that times measured in the guest do not depend on the
# host's speed or load (the benchmark's main clock).
#
# XDPRX_VM_APPEND adds kernel command line arguments (for example
# "loglevel=8" to see kernel messages on the console while debugging);
# XDPRX_VM_VERBOSE=1 shows the guest's console (vng --verbose).
#
# Exit status: the guest command's, or 1 for a splat, or 2 if the VM did not
# run the command at all.
. "$(dirname "$0")/lib.sh"

net=()
qemu_opts=()
out=
splat_check=1
while [ $# -gt 0 ]; do
	case "$1" in
	--net)
		case "$2" in
		loop-small)
			dev=virtio-net-pci,mrg_rxbuf=off,guest_tso4=off,guest_tso6=off,guest_ecn=off,guest_ufo=off
			for i in 1 2; do
				qemu_opts+=("--qemu-opts=-netdev hubport,id=xrhs$i,hubid=77 -device $dev,netdev=xrhs$i,mac=52:54:00:78:72:0$i")
			done
			;;
		*) net+=(--network "$2") ;;
		esac
		shift 2 ;;
	--icount) qemu_opts+=("--qemu-opts=-icount shift=0,sleep=off"); shift ;;
	--out) out=$2; shift 2 ;;
	--no-splat-check) splat_check=; shift ;;
	--) shift; break ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || die "usage: vm-run.sh [--net loop|loop-small]... [--icount] [--out DIR] [--no-splat-check] -- CMD..."

build=$(xdprx_build_dir)
[ -f "$build/arch/x86/boot/bzImage" ] || die "no kernel in $build: run scripts/build-kernel.sh"
command -v vng >/dev/null || die "vng not found: run scripts/deps.sh"

if [ -z "$out" ]; then
	out=$XDPRX_CACHE/runs/$(date +%Y%m%d-%H%M%S)-$$
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/.guest-status" "$out/dmesg.txt"

# KVM where it works; these build machines have no VMX/SVM, so TCG there.
kvm=(--disable-kvm)
case "${XDPRX_KVM:-auto}" in
1) kvm=() ;;
auto) [ -w /dev/kvm ] && grep -q -w -E 'vmx|svm' /proc/cpuinfo && kvm=() ;;
esac

# The guest runs the command, records its status, then saves its kernel log
# after a kmemleak scan.
inner=$(printf '%q ' "$@")
script="export XDPRX_OUT=$(printf %q "$out") XDPRX_TOP=$(printf %q "$XDPRX_TOP") \
XDPRX_KSRC=$(printf %q "$(xdprx_src_dir)") XDPRX_BUILD=$(printf %q "$build"); \
cd \"\$XDPRX_TOP\"; $inner; echo \$? > \"\$XDPRX_OUT/.guest-status\"; \
bash \"\$XDPRX_TOP/scripts/guest/finish.sh\""

# no5lvl: with 5-level paging, an interrupt taken while identify_cpu() clears
# and re-reads the boot CPU's capabilities sees LA57 off, so KASAN computes
# its shadow range for 4-level addresses and reports the irq_desc lock as a
# wild-memory-access (seen twice at 0.003-0.007 s under TCG). The kernel's
# early boot is not what these tests test; 4-level paging avoids the window.
log "booting $(basename "$build") with vng ${kvm[*]:-(KVM)}; output in $out"
set +e
vng --run "$build" "${kvm[@]}" ${XDPRX_VM_VERBOSE:+--verbose} --user root --cpus 2 --memory "${XDPRX_VM_MEMORY:-3G}" \
	--rwdir "$out" "${net[@]}" --append "panic_on_warn=0 kmemleak=on no5lvl${XDPRX_VM_APPEND:+ $XDPRX_VM_APPEND}" \
	--exec "$script" "${qemu_opts[@]}" </dev/null 2>&1 | tee "$out/console.log"
set -e

[ -f "$out/.guest-status" ] || die "the guest did not run the command (see $out/console.log)"
status=$(cat "$out/.guest-status")

if [ -n "$splat_check" ]; then
	[ -f "$out/dmesg.txt" ] || die "the guest saved no kernel log"
	if ! "$XDPRX_TOP/scripts/check-dmesg.sh" "$out/dmesg.txt"; then
		[ "$status" != 0 ] || status=1
	fi
fi
exit "$status"
