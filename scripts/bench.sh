#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Benchmark: how much faster is the native path through the XDP rx handler,
# and what does it cost. Builds the release kernel (no KASAN, lockdep,
# kmemleak, KUnit), boots it BOOTS times at once with the guest clock
# counting instructions, then once under plain TCG, and runs
# scripts/guest/bench.py in each boot: REPS interleaved repetitions of every
# mode. scripts/bench-report.py then prints the ratios R1-R6 (the ratio of
# the medians, and its spread over the repetitions of every boot):
#
#   R1  XDP_DROP at L1 (xdpvlan, native) / XDP_DROP at L0 (veth, driver mode)
#   R2  (B - C) / (A - C): A, B as in R1, C = macvlan + generic XDP_DROP
#       (and B / C)
#   R3  UDP datagrams/s into a socket on xdpvlan (native) / on macvlan
#       (64-byte datagrams, scripts/guest/udp-pump.c)
#   R4  L0 XDP_PASS with a handler registered (frames for no upper) /
#       L0 XDP_PASS with no handler
#   R5  XDP_DROP at L2 / XDP_DROP at L1
#   R6  TCP throughput into a socket on xdpvlan (native) / on macvlan
#   R3x, R6x  R3 and R6 against macvlan with the same L0 program
#
# and through virtio-net (BENCH_SETS with "nic": three pairs of NICs wired
# through QEMU hubs): R1v, B/Cv, R3v, R4v, R6v, R6xv as R1, B/C, R3x, R4, R6,
# R6x;
#
# and the scale rows (BENCH_SCALE uppers on one lower, xdpvlan and macvlan):
#
#   scale, scale-n   cost per frame at the most uppers / at the fewest, for
#                    the last upper and for no upper (scale-mv, scale-mvn:
#                    macvlan's)
#   mk, rm           time to create / delete the uppers, xdpvlan / macvlan
#
# Usage: scripts/bench.sh          (environment: BENCH_REPS=5, BENCH_BOOTS=2,
#        BENCH_FRAMES=200000, BENCH_UDP_SECS=2, BENCH_TCP_SECS=4,
#        BENCH_CLOCKS="icount tcg", BENCH_SETS="main scale",
#        BENCH_SCALE="1 16 256 1024", BENCH_PROFILE="", BENCH_PROFILE_FRAMES=1000000)
#        BENCH_PROFILE="l0_drop2 l1_drop ...": one more icount boot, of the
#        profile kernel (release + config/profile.config: high-resolution
#        timers, which perf's cpu-clock needs to sample at its period), that
#        runs each of these frame modes once under perf record (a sample
#        every 9973 guest instructions on the sender's CPU, where veth's
#        NAPI runs), and the report's profile section: instructions per
#        frame per function, and where two modes differ (l1_drop - l0_drop2:
#        the hook's own cost). Socket modes (udp_xv, udp_mvx, tcp_xv, ...)
#        too: both CPUs recorded, instructions per datagram or per 1448
#        bytes received. BENCH_SETS=none with it: the profile alone.
#        scripts/bench-compare.py DIR DIR...  (do runs reproduce: is every
#        ratio of each run within every other run's spread)
#
# Output: the table on stdout, and in $XDPRX_CACHE/runs/bench-*/: every
# boot's runs (bench-runs-<clock>[-<boot>].jsonl), the summary (bench.json,
# bench.txt) and a chart of the ratios (bench.png, if matplotlib is there).
. "$(dirname "$0")/lib.sh"
export FLAVOUR=release
XDPRX_FLAVOUR=release

start=$(date +%s)
"$XDPRX_TOP/scripts/deps.sh"
"$XDPRX_TOP/scripts/get-source.sh" >/dev/null
"$XDPRX_TOP/scripts/build-kernel.sh"
build=$(xdprx_build_dir)

# The module and the BPF object for the release kernel are built aside, so
# that the project's tree keeps the debug kernel's module the tests use.
# build_module BUILD WORK: the module for the kernel in BUILD, in WORK.
build_module() {
	mkdir -p "$2"
	rsync -a --delete --exclude '*.o' --exclude '*.ko' --exclude '*.mod*' --exclude '.*.cmd' \
		"$XDPRX_TOP/Kbuild" "$XDPRX_TOP/Makefile" "$XDPRX_TOP/drivers" "$2/"
	make -s -C "$2" KDIR="$1" LLVM="$XDPRX_LLVM" >"$2/build.log" 2>&1 ||
		{ cat "$2/build.log" >&2; die "module build for $1 failed"; }
}
work=$XDPRX_CACHE/bench-work
build_module "$build" "$work"
pwork=
if [ -n "${BENCH_PROFILE:-}" ]; then
	FLAVOUR=profile "$XDPRX_TOP/scripts/build-kernel.sh"
	pwork=$XDPRX_CACHE/bench-work-profile
	build_module "$(xdprx_build_dir profile)" "$pwork"
fi
inc=/usr/include/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
"clang$XDPRX_LLVM" -O2 -g -target bpf -I"$inc" -c "$XDPRX_TOP/scripts/guest/bench.bpf.c" \
	-o "$work/bench.bpf.o" || die "BPF build of bench.bpf.c failed"
# The guest runs the host's userspace (virtme-ng), so a host binary runs there.
gcc -O2 -Wall -o "$work/udp-pump" "$XDPRX_TOP/scripts/guest/udp-pump.c" ||
	die "build of udp-pump.c failed"
command -v iperf3 >/dev/null || die "iperf3 not found: run scripts/deps.sh"

out=$XDPRX_CACHE/runs/bench-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
failed=

# One boot of the guest: bench_boot CLOCK NAME [FLAVOUR MODULE-DIR SETS
# PROFILE], output in $out/NAME.
bench_boot() {
	local clock=$1 name=$2 flavour=${3:-release} mod=${4:-$work} sets=${5:-${BENCH_SETS:-main scale}}
	local prof=${6:-} opt=()
	# icount: the guest clock counts guest instructions; tcg: the wall
	# clock, one host thread for both vCPUs as with icount; tcg-mt: the
	# wall clock, multi-threaded TCG (not in the default run: see
	# vm-run.sh --tcg-single).
	# The NIC modes' three pairs of virtio-net NICs (see bench.py).
	case " $sets " in
	*" nic "*) opt+=(--net hub:81 --net hub:82 --net hub:83) ;;
	esac
	case $clock in
	icount) opt+=(--icount) ;;
	tcg) opt+=(--tcg-single) ;;
	tcg-mt) ;;
	esac
	mkdir -p "$out/$name"
	if ! FLAVOUR=$flavour "$XDPRX_TOP/scripts/vm-run.sh" "${opt[@]}" --out "$out/$name" -- \
		env BENCH_MODULE="$mod/drivers/net/xdpvlan/xdpvlan.ko" BENCH_OBJ="$work/bench.bpf.o" \
		BENCH_PUMP="$work/udp-pump" BENCH_SETS="$sets" \
		BENCH_SCALE="${BENCH_SCALE:-1 16 256 1024}" BENCH_PROFILE="$prof" \
		BENCH_PROFILE_FRAMES="${BENCH_PROFILE_FRAMES:-1000000}" \
		python3 scripts/guest/bench.py "${BENCH_REPS:-5}" "${BENCH_FRAMES:-200000}" \
		"${BENCH_UDP_SECS:-2}" "${BENCH_TCP_SECS:-4}" "$clock" >"$out/$name/console.txt"; then
		# The other boots still run, and the report shows what this one
		# measured before it ended (marked INCOMPLETE).
		log "the $name benchmark failed: see $out/$name/console.log"
		grep -m1 -E 'Oops|BUG:|Kernel panic' "$out/$name/console.log" | sed 's/^/==> /' || :
		return 1
	fi
}

# Under icount the figures do not depend on the host's speed or load (the
# guest clock counts the guest's instructions), and each guest is one host
# thread: BENCH_BOOTS guests (default 2) run at once, and the report pools
# their repetitions. A ratio's spread then holds what moves from boot to
# boot: in one boot a mode's repetitions agree to about 0.1 %, and a second
# boot of the same kernel moved the socket ratios out of the first boot's
# spread (R6 0.3410 and 0.3523, R3 0.6893 and 0.6972 in two boots of one
# run). Plain TCG measures the host's wall clock: its boot runs alone, after
# them.
boots=${BENCH_BOOTS:-2}
case $boots in [1-9]) ;; *) die "BENCH_BOOTS=$boots: use 1 to 9" ;; esac
clocks=${BENCH_CLOCKS:-icount tcg}
[ "${BENCH_SETS:-}" != none ] || clocks=
for clock in $clocks; do
	case $clock in
	icount) n=$boots ;;
	tcg|tcg-mt) n=1 ;;
	*) die "unknown clock $clock (icount, tcg, tcg-mt)" ;;
	esac
	log "[$(($(date +%s) - start)) s] booting the release kernel $n time(s) at once, clock: $clock"
	pids=() names=()
	for i in $(seq 1 "$n"); do
		name=$clock
		[ "$n" = 1 ] || name=$clock-$i
		bench_boot "$clock" "$name" &
		pids+=($!) names+=("$name")
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || failed+=" ${names[$i]}"
		if [ -s "$out/${names[$i]}/bench-runs.jsonl" ]; then
			cp "$out/${names[$i]}/bench-runs.jsonl" "$out/bench-runs-${names[$i]}.jsonl"
		fi
	done
done
if [ -n "$pwork" ]; then
	log "[$(($(date +%s) - start)) s] booting the profile kernel, clock: icount"
	bench_boot icount profile profile "$pwork" none "$BENCH_PROFILE" || failed+=" profile"
	# perf in the guest reports the module's samples as offsets in its
	# .text; the report resolves them with this listing.
	"llvm-nm$XDPRX_LLVM" -n -C --defined-only "$pwork/drivers/net/xdpvlan/xdpvlan.ko" \
		>"$out/profile/xdpvlan.nm" || log "llvm-nm of the profile's module failed"
fi
log "[$(($(date +%s) - start)) s] results in $out"
# Debian's python3 has Debian's matplotlib (the chart); any python3 does the rest.
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
"$py" "$XDPRX_TOP/scripts/bench-report.py" "$out" | tee "$out/bench.txt"
[ -z "$failed" ] || die "the boot(s)$failed failed; see their console.log"
