#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot the built kernel of a flavour with virtme-ng and run a command in it.
#
#   scripts/vm-run.sh [--net loop|loop-small|hub:NN]... [--icount|--tcg-single] [--out DIR] [--no-splat-check] -- CMD [ARG...]
#
# --net loop gives the guest two virtio-net NICs wired to each other (vng
# --network loop): QEMU's defaults, mergeable receive buffers. --net loop-small
# adds another such pair, on a hub of its own, without mergeable receive
# buffers or guest offloads, so that virtio-net uses its small-buffer receive
# path; its NICs have the MACs 52:54:00:78:72:01 and :02. --net hub:NN (NN
# two decimal digits) adds a pair with QEMU's defaults on hub NN, the MACs
# 52:54:00:78:NN:01 and :02, so that a guest with several pairs can tell
# which NIC is wired to which (the benchmark's virtio-net modes).
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
# --tcg-single runs QEMU with "-accel tcg,thread=single": wall-clock time as
# with the default, but all vCPUs take turns on one host thread instead of a
# host thread each (multi-threaded TCG). The benchmark's plain-TCG boot uses
# it: under multi-threaded TCG the release kernel twice died of "Oops: int3"
# at bpf_dispatcher_xdp_func+0x1 in a veth NAPI thread right after an XDP
# program swap, with the code bytes there already showing the finished jmp,
# i.e. a vCPU executed smp_text_poke_single()'s breakpoint after the patch
# had completed; -icount (single-threaded by necessity) never did.
#
# DIR/console.log keeps everything the VM printed: the kernel's console from
# the first line of boot (all levels until the command starts, then warnings
# and worse), so that a guest that hangs shows where. The terminal gets what
# is printed once the command started (its output, kernel warnings) and
# QEMU's errors; XDPRX_VM_VERBOSE=1 shows the boot too.
# XDPRX_VM_APPEND adds kernel command line arguments.
#
# The root is the host's, over 9p, mounted with cache=loose (vng mounts it
# with no cache): the guest only reads it, and nothing on the host changes
# it during a run. With no cache every exec and every Python import went to
# the host; "python3 -c pass" took 20-63 s in the debug guest with three
# guests on the 2 host cores, 10-18 s with the cache. DIR stays uncached.
#
# Watchdogs, all off unless set (seconds): XDPRX_VM_BOOT_TIMEOUT stops a
# guest that has not started the command by then, and XDPRX_VM_BOOT_SILENCE
# one whose console printed nothing for that long before the command
# started (the boot prints at every level until then; the longest pause
# seen in a good boot was 10 s of guest time); either boots it again up to
# XDPRX_VM_BOOT_RETRIES times (default 0), keeping each hung boot's console
# as console.bootN.log. XDPRX_VM_TIMEOUT stops the guest that long after
# this script started (all boots count), whatever it is doing. Each writes
# the reason to DIR/watchdog.
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
		hub:[0-9][0-9])
			for i in 1 2; do
				qemu_opts+=("--qemu-opts=-netdev hubport,id=xrh${2#hub:}n$i,hubid=${2#hub:} -device virtio-net-pci,netdev=xrh${2#hub:}n$i,mac=52:54:00:78:${2#hub:}:0$i")
			done
			;;
		*) net+=(--network "$2") ;;
		esac
		shift 2 ;;
	--icount) qemu_opts+=("--qemu-opts=-icount shift=0,sleep=off"); shift ;;
	--tcg-single) qemu_opts+=("--qemu-opts=-accel tcg,thread=single"); shift ;;
	--out) out=$2; shift 2 ;;
	--no-splat-check) splat_check=; shift ;;
	--) shift; break ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || die "usage: vm-run.sh [--net loop|loop-small|hub:NN]... [--icount|--tcg-single] [--out DIR] [--no-splat-check] -- CMD..."

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
# vng's own root flags (virtme-ng 1.42) with the cache; the kernel takes the
# last rootflags= of its command line.
rootflags=rootflags=version=9p2000.L,trans=virtio,access=any,msize=524288,cache=loose
kvm=(--disable-kvm)
case "${XDPRX_KVM:-auto}" in
1) kvm=() ;;
auto) [ -w /dev/kvm ] && grep -q -w -E 'vmx|svm' /proc/cpuinfo && kvm=() ;;
esac

# virtme-ng links the build's modules into $build/.virtme_mods whenever
# modules.order is newer than its modules.dep. Two guests booted at once
# from the same build both did so, and one of them hung before its command
# (test run of 2026-11-26: "ln: ... File exists", then nothing for 88 min).
# Prepare it here, one caller at a time, so that vng finds it up to date.
(
	flock 9
	cd "$build"
	dep=.virtme_mods/lib/modules/0.0.0/modules.dep
	if [ ! -f "$dep" ] || [ modules.order -nt "$dep" ]; then
		virtme-prep-kdir-mods >/dev/null
	fi
) 9>"$build/.virtme_mods.lock"

# The guest marks the start of the command, lowers the console to warnings
# (a hang in a test still shows its lockup, stall or hung-task report), runs
# the command, records its status, then saves its kernel log after a
# kmemleak scan.
inner=$(printf '%q ' "$@")
script="export XDPRX_OUT=$(printf %q "$out") XDPRX_TOP=$(printf %q "$XDPRX_TOP") \
XDPRX_KSRC=$(printf %q "$(xdprx_src_dir)") XDPRX_BUILD=$(printf %q "$build"); \
: > \"\$XDPRX_OUT/.guest-started\"; dmesg -n 5; \
cd \"\$XDPRX_TOP\"; $inner; echo \$? > \"\$XDPRX_OUT/.guest-status\"; \
bash \"\$XDPRX_TOP/scripts/guest/finish.sh\""

# no5lvl: with 5-level paging, an interrupt taken while identify_cpu() clears
# and re-reads the boot CPU's capabilities sees LA57 off, so KASAN computes
# its shadow range for 4-level addresses and reports the irq_desc lock as a
# wild-memory-access (seen twice at 0.003-0.007 s under TCG). The kernel's
# early boot is not what these tests test; 4-level paging avoids the window.
boot_timeout=${XDPRX_VM_BOOT_TIMEOUT:-0}
boot_silence=${XDPRX_VM_BOOT_SILENCE:-0}
vm_timeout=${XDPRX_VM_TIMEOUT:-0}
retries=${XDPRX_VM_BOOT_RETRIES:-0}
boot=0
end=$(($(date +%s) + vm_timeout))
rm -f "$out/watchdog" "$out"/console.boot*.log
while :; do
	boot=$((boot + 1))
	left=0
	if [ "$vm_timeout" != 0 ]; then
		left=$((end - $(date +%s)))
		if [ "$left" -le 0 ]; then
			echo "boot $boot: not started, XDPRX_VM_TIMEOUT ($vm_timeout s) is over" >>"$out/watchdog"
			break
		fi
	fi
	rm -f "$out/.guest-started" "$out/.vm-pid"
	log "booting $(basename "$build") with vng ${kvm[*]:-(KVM)}; output in $out"
	# vng's output must stay a pipe: QEMU reopens /proc/self/fd/1 and 2 for
	# its chardevs, truncating a regular file. timeout(1) puts vng and QEMU
	# in a process group of their own and stops the whole group when the
	# boot watchdog signals it, or when the time left is over.
	set +e
	{
		timeout -k 30 "$left" vng --run "$build" "${kvm[@]}" --verbose --user root --cpus 2 \
			--memory "${XDPRX_VM_MEMORY:-3G}" --rwdir "$out" "${net[@]}" \
			--force-9p --append "panic_on_warn=0 kmemleak=on no5lvl loglevel=7 $rootflags${XDPRX_VM_APPEND:+ $XDPRX_VM_APPEND}" \
			--exec "$script" "${qemu_opts[@]}" </dev/null 2>&1 &
		echo $! >"$out/.vm-pid"
		wait $!
	} | tee "$out/console.log" | if [ -n "${XDPRX_VM_VERBOSE:-}" ]; then cat; else
		# Until virtme-ng-init starts the command: QEMU's errors only.
		# (sed -u: line by line; mawk would wait for a full input block.)
		sed -u -n -e '/^virtme-ng-init: starting script/,$ { /^virtme-ng-init: starting script/b; p; b }' \
			-e '/^qemu-system\|[Ee]rror/p'
	fi &
	pipe=$!
	while [ ! -s "$out/.vm-pid" ]; do sleep 0.2; done
	pid=$(cat "$out/.vm-pid")
	t0=$SECONDS
	hung=
	size=-1 quiet=$SECONDS
	while kill -0 "$pid" 2>/dev/null; do
		if [ ! -e "$out/.guest-started" ]; then
			if [ "$boot_timeout" != 0 ] && [ $((SECONDS - t0)) -ge "$boot_timeout" ]; then
				hung="the command had not started after $boot_timeout s"
			fi
			cur=$(stat -c %s "$out/console.log" 2>/dev/null || echo 0)
			if [ "$cur" != "$size" ]; then
				size=$cur quiet=$SECONDS
			elif [ "$boot_silence" != 0 ] && [ $((SECONDS - quiet)) -ge "$boot_silence" ]; then
				hung="the console printed nothing for $boot_silence s before the command"
			fi
			if [ -n "$hung" ]; then
				echo "boot $boot: $hung" >>"$out/watchdog"
				kill -TERM "$pid" 2>/dev/null
				break
			fi
		fi
		sleep 2
	done
	wait "$pipe"
	set -e
	if [ "$vm_timeout" != 0 ] && [ "$(date +%s)" -ge "$end" ]; then
		echo "boot $boot: stopped at XDPRX_VM_TIMEOUT ($vm_timeout s)" >>"$out/watchdog"
		break
	fi
	if [ -z "$hung" ] || [ "$boot" -gt "$retries" ]; then
		break
	fi
	mv "$out/console.log" "$out/console.boot$boot.log"
	log "boot $boot hung before the command (console: $out/console.boot$boot.log); booting again"
done
if [ -f "$out/watchdog" ]; then
	log "watchdog: $(paste -sd ';' "$out/watchdog")"
fi
rm -f "$out/.vm-pid"

[ -f "$out/.guest-status" ] || die "the guest did not run the command (see $out/console.log)"
status=$(cat "$out/.guest-status")

if [ -n "$splat_check" ]; then
	[ -f "$out/dmesg.txt" ] || die "the guest saved no kernel log"
	if ! "$XDPRX_TOP/scripts/check-dmesg.sh" "$out/dmesg.txt"; then
		[ "$status" != 0 ] || status=1
	fi
fi
exit "$status"
