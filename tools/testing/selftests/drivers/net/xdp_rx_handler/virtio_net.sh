#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# XDP rx handler on virtio-net. The guest has pairs of virtio-net NICs wired to
# each other (vng --network loop, or scripts/vm-run.sh --net loop and --net
# loop-small): one NIC of a pair, the device under test (DUT), runs a native
# XDP program that passes every frame and has the test handler (xrh_testmod);
# the other, its peer, sends it N frames. For each result of the handler the
# test checks that the handler saw each frame once and that the result had its
# effect, in the driver's counters too:
#
#   fallback  the frames reach the DUT's stack as skbs
#   consumed  the handler keeps (frees) them; nothing reaches the stack
#   drop      virtio-net drops them and counts xdp_drops
#   tx        they go back out of the DUT through virtio-net's XDP_TX path,
#             to the peer, and count as xdp_tx
#   redirect  an XDP program run by the handler redirects them to vr0, whose
#             peer vr1 receives them; they count as xdp_redirects
#
# on both receive paths that run XDP: mergeable buffers (QEMU's default) and
# small buffers (a pair without mergeable buffers and guest offloads). On the
# mergeable pair, with MTU 9000 and a frags-aware program, large frames arrive
# as multi-buffer xdp_buffs ("mb" cases): a handler that cannot take them
# answers PASS_FALLBACK and they reach the stack whole; one that can consumes,
# drops or sends them back whole.
#
# A pair that is not there is skipped. virtio-net wants a tx queue per CPU for
# XDP_TX; with one queue pair (QEMU's hub netdev has no multiqueue) it warns
# once and shares the stack's tx queue under its lock, which the tx cases run.
#
# Namespaces: the DUTs, vr0 and vr1 in the test's own netns; the peers in a
# peer netns. One xrh_pkt.py process per netns, for the whole test, sends the
# frames and counts them where they arrive, and the test reads counters with
# shell builtins: every new process costs about half a second in a debug
# kernel under emulation.

set -u
DIR=$(cd "$(dirname "$0")" && pwd)
source "${KSFT_HELPERS:-$DIR/../../../kselftest}/ktap_helpers.sh"

N=32
NS=xrh_vmain
PEER=xrh_vpeer
MOD=$DIR/xrh_testmod/xrh_testmod.ko
OBJ=$DIR/xdp_progs.bpf.o
CTL=/sys/kernel/debug/xrh_testmod
PINDIR=/sys/fs/bpf/xrh_vprogs
PIN=$PINDIR/xrh_redirect
SMALL_SIZE=60
# A frame that takes several receive buffers, and an MTU that lets it through.
MB_SIZE=5000
MB_MTU=9000
CASES="fallback consumed drop tx redirect"
MB_CASES="mb-nofrags mb-consumed mb-drop mb-tx"

declare -A DUT PNIC DMAC CMDFD ST XS
PAIRS=()
MOVED=()
WATCHERS=()
TMP=$(mktemp -d)
# nap and wait_ready (its own watchers are started below).
# shellcheck source=xrh_watch.sh
source "$DIR/xrh_watch.sh"

# until_true CMD...: until CMD succeeds, for 20 s at most.
until_true() {
	local i
	for ((i = 0; i < 200; i++)); do
		"$@" && return 0
		nap 0.1
	done
	return 1
}

# ip netns exec remounts /sys, hiding debugfs: enter the netns only.
in_ns() { nsenter --net="/run/netns/$NS" "$@"; }

cleanup() {
	local d
	in_ns sh -c "echo - > $CTL/attach" 2>/dev/null
	if [ "${#WATCHERS[@]}" -gt 0 ]; then
		kill "${WATCHERS[@]}" 2>/dev/null
		wait "${WATCHERS[@]}" 2>/dev/null
	fi
	# Give the NICs back to the initial netns as they were.
	for d in "${MOVED[@]}"; do
		ip -n "${d%%:*}" link set "${d#*:}" xdpdrv off 2>/dev/null
		ip -n "${d%%:*}" link set "${d#*:}" down mtu 1500 promisc off 2>/dev/null
		ip -n "${d%%:*}" link set "${d#*:}" netns 1 2>/dev/null
	done
	ip netns del "$NS" 2>/dev/null
	ip netns del "$PEER" 2>/dev/null
	rm -rf "$PINDIR" "$TMP"
	rmmod xrh_testmod 2>/dev/null
}

# Unused virtio-net NICs of the initial netns, "MAC NAME" sorted by MAC, with
# (1) or without (0) mergeable receive buffers (virtio-net feature bit 15).
virtio_nics() {
	local n f flags mac
	for n in /sys/class/net/*; do
		[ "$n/device/driver" -ef /sys/bus/virtio/drivers/virtio_net ] || continue
		read -r f <"$n/device/features"
		[ "${f:15:1}" = "$1" ] || continue
		# Down, so nothing else uses it (a NIC of the guest's network is up).
		read -r flags <"$n/flags"
		(( flags & 1 )) && continue
		read -r mac <"$n/address"
		echo "$mac ${n##*/}"
	done | sort
}

find_pairs() {
	local kind mrg nics why
	for kind in mergeable small; do
		mrg=0
		[ "$kind" = mergeable ] && mrg=1
		mapfile -t nics < <(virtio_nics "$mrg")
		if [ "${#nics[@]}" -ne 2 ]; then
			why="unused virtio-net NICs of that kind, need a pair wired together"
			ktap_print_msg "$kind: ${#nics[@]} $why"
			continue
		fi
		PNIC[$kind]=${nics[0]#* }
		DUT[$kind]=${nics[1]#* }
		DMAC[$kind]=${nics[1]% *}
		PAIRS+=("$kind")
	done
}

setup() {
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	insmod "$MOD" || return 1
	ip netns add "$NS" && ip netns add "$PEER" || return 1
	# No IPv6 neighbour or MLD traffic: the handler must see our frames only.
	for ns in "$NS" "$PEER"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 || return 1
	done
	# The redirect target (by ifindex, in xrh_redirect) and its peer, which
	# needs XDP to take redirected frames.
	ip -n "$NS" link add vr0 index 4100 type veth peer name vr1 || return 1
	ip -n "$NS" link set vr0 up && ip -n "$NS" link set vr1 up || return 1
	ip -n "$NS" link set vr1 xdpdrv obj "$OBJ" program xrh_pass || return 1
	bpftool prog loadall "$OBJ" "$PINDIR" type xdp || return 1
}

# start_watch NETNS NAME DEV...: count the tagged frames that the DEVs of NETNS
# receive in files of $TMP/NAME/; "send" lines written to fd ${CMDFD[NAME]}
# send frames from there.
start_watch() {
	local ns=$1 name=$2 fd
	shift 2
	mkdir "$TMP/$name" && mkfifo "$TMP/$name.in" || return 1
	# Read-write: opening waits neither for a reader nor for a writer.
	exec {fd}<>"$TMP/$name.in"
	CMDFD[$name]=$fd
	nsenter --net="/run/netns/$ns" python3 -S "$DIR/xrh_pkt.py" watch "$TMP/$name" "$@" \
		<"$TMP/$name.in" &
	WATCHERS+=($!)
	wait_ready "$TMP/$name/ready" $!
}

# setup_pair KIND: the peer into the peer netns, the DUT into ours, with the
# XDP program that passes every frame.
setup_pair() {
	local kind=$1 p=${PNIC[$1]} d=${DUT[$1]}
	ip link set "$p" netns "$PEER" || return 1
	MOVED+=("$PEER:$p")
	ip link set "$d" netns "$NS" || return 1
	MOVED+=("$NS:$d")
	# Promiscuous: frames sent back by XDP_TX still have the DUT's MAC.
	ip -n "$PEER" link set "$p" promisc on up || return 1
	ip -n "$NS" link set "$d" up || return 1
	ip -n "$NS" link set "$d" xdpdrv obj "$OBJ" program xrh_pass || return 1
	start_watch "$NS" "$kind.main" "$d" vr1 && start_watch "$PEER" "$kind.peer" "$p"
}

# Large frames: MTU 9000 on both ends and a frags-aware program on the DUT
# (virtio-net refuses a program without frags above about 3.5k).
setup_mb() {
	local p=${PNIC[mergeable]} d=${DUT[mergeable]}
	ip -n "$NS" link set "$d" xdpdrv off || return 1
	ip -n "$NS" link set "$d" mtu "$MB_MTU" || return 1
	ip -n "$PEER" link set "$p" mtu "$MB_MTU" || return 1
	ip -n "$NS" link set "$d" xdpdrv obj "$OBJ" program xrh_pass_frags || return 1
}

# The handler's counters, in ST.
read_stats() {
	local k v
	ST=()
	while read -r k v; do ST[$k]=$v; done <"$CTL/stats"
}
# The counters of the DUT $1, in XS (rx0_xdp_drops, ...).
read_xdp_stats() {
	local k v
	XS=()
	while read -r k v; do XS[${k%:}]=$v; done < <(in_ns ethtool -S "$1")
}
# frames WATCH DEV TAG SIZE: how many tagged frames of SIZE bytes DEV got, in
# REPLY.
frames() {
	REPLY=0
	[ -e "$TMP/$1/$2-$3-$4" ] && read -r REPLY <"$TMP/$1/$2-$3-$4"
}
all_calls() { read_stats; [ "${ST[calls]:-0}" -ge "$N" ]; }
all_frames() { frames "$@"; [ "$REPLY" -ge "$N" ]; }

# run_case KIND CASE: send N frames from the peer to the DUT of pair KIND with
# the handler set up for CASE, and check the effect.
run_case() {
	local kind=$1 case=$2 d=${DUT[$1]} p=${PNIC[$1]} ok=1 tag=$1-$2
	local mode=${2#mb-} size=$SMALL_SIZE frags=1 mb=0 want
	local main=$1.main peer=$1.peer cnt_d cnt_p cnt_vr1 k v
	local -A x0

	[ "$mode" = "$case" ] || { mb=1; size=$MB_SIZE; }
	# A handler that cannot take multi-buffer frames: PASS_FALLBACK for them.
	[ "$mode" = nofrags ] && { mode=consumed; frags=0; }
	[ "$mode" = redirect ] && mode=prog
	case $case in
	fallback|mb-nofrags) want=pass_fallback ;;
	*) want=${case#mb-} ;;
	esac
	echo "$mode" > "$CTL/mode"
	echo "$frags" > "$CTL/frags"
	[ "$mode" = prog ] && python3 "$DIR/xrh_pkt.py" setprog "$PIN" "$CTL/prog"
	echo 0 > "$CTL/stats"
	read_xdp_stats "$d"
	for k in xdp_drops xdp_tx xdp_redirects; do x0[$k]=${XS[rx0_$k]:-}; done

	echo "send $p ${DMAC[$kind]} $N $tag $size" >&"${CMDFD[$peer]}"
	until_true [ -e "$TMP/$peer/sent-$tag" ]
	# Until the driver has handed every frame to the handler and the frames
	# have arrived where they should, then a second for strays.
	until_true all_calls
	case $want in
	pass_fallback) until_true all_frames "$main" "$d" "$tag" "$size" ;;
	tx) until_true all_frames "$peer" "$p" "$tag" "$size" ;;
	redirect) until_true all_frames "$main" vr1 "$tag" "$size" ;;
	esac
	nap 1
	frames "$main" "$d" "$tag" "$size"; cnt_d=$REPLY
	frames "$peer" "$p" "$tag" "$size"; cnt_p=$REPLY
	frames "$main" vr1 "$tag" "$size"; cnt_vr1=$REPLY
	read_stats
	read_xdp_stats "$d"

	# check WHAT VALUE A B: VALUE must be N if A is B, else 0.
	check() {
		local exp=0
		[ "$3" = "$4" ] && exp=$N
		[ "$2" = "$exp" ] && return
		ktap_print_msg "$tag: $1 is ${2:-missing}, want $exp"
		ok=0
	}
	check "handler calls" "${ST[calls]:-}" x x
	check "handler $want results" "${ST[$want]:-}" x x
	check "multi-buffer frames seen by the handler" "${ST[frags]:-}" "$mb" 1
	check "frames on the DUT's stack" "$cnt_d" "$want" pass_fallback
	check "frames sent back to the peer" "$cnt_p" "$want" tx
	check "frames redirected to vr1" "$cnt_vr1" "$want" redirect
	for k in drop:xdp_drops tx:xdp_tx redirect:xdp_redirects; do
		v=
		[ -n "${x0[${k#*:}]}" ] && [ -n "${XS[rx0_${k#*:}]:-}" ] &&
			v=$((XS[rx0_${k#*:}] - x0[${k#*:}]))
		check "rx0_${k#*:} of the DUT (difference)" "$v" "$want" "${k%%:*}"
	done
	[ "$mode" = prog ] && echo -1 > "$CTL/prog"
	[ $ok = 1 ]
}

ktap_print_header
[ "$(id -u)" = 0 ] || { ktap_skip_all "needs root"; exit "$KSFT_SKIP"; }
[ -f "$MOD" ] && [ -f "$OBJ" ] || {
	ktap_skip_all "xrh_testmod.ko or xdp_progs.bpf.o not built"
	exit "$KSFT_SKIP"
}
trap cleanup EXIT
find_pairs
[ "${#PAIRS[@]}" -gt 0 ] || {
	ktap_skip_all "no pair of unused virtio-net NICs (vng --network loop)"
	exit "$KSFT_SKIP"
}
if ! setup; then
	ktap_exit_fail_msg "setup failed"
fi

set -- $CASES
n_cases=$#
set -- $MB_CASES
ktap_set_plan $((2 * n_cases + $#))
for kind in mergeable small; do
	cases=$CASES
	[ "$kind" = mergeable ] && cases="$CASES $MB_CASES"
	if [ -z "${DUT[$kind]:-}" ]; then
		ktap_print_msg "no $kind pair: its cases are skipped"
		for c in $cases; do ktap_test_skip "$kind-$c"; done
		continue
	fi
	ktap_print_msg "$kind: DUT ${DUT[$kind]}, peer ${PNIC[$kind]}"
	if ! setup_pair "$kind" || ! in_ns sh -c "echo ${DUT[$kind]} > $CTL/attach"; then
		ktap_print_msg "$kind: setting up the pair failed"
		for c in $cases; do ktap_test_fail "$kind-$c"; done
		continue
	fi
	mb_ready=
	for c in $cases; do
		if [ "${c#mb-}" != "$c" ] && [ -z "$mb_ready" ]; then
			if ! setup_mb; then
				ktap_print_msg \
					"$kind: MTU $MB_MTU with a frags-aware program failed"
				for c in $MB_CASES; do ktap_test_fail "$kind-$c"; done
				break
			fi
			mb_ready=1
		fi
		t=$SECONDS
		if run_case "$kind" "$c"; then
			ktap_test_pass "$kind-$c"
		else
			ktap_test_fail "$kind-$c"
		fi
		ktap_print_msg "$kind-$c: $((SECONDS - t)) s"
	done
done
ktap_finished
