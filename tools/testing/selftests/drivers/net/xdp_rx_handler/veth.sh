#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# XDP rx handler on veth. A test handler (xrh_testmod) sits on veth v1, whose
# native XDP program passes every frame. Frames reach v1 on both veth receive
# paths: as skbs sent by the peer v0 (the "skb" path) and as xdp_frames that
# an XDP program on v3 redirects into v0 (the "frame" path). For each path and
# each handler result, N frames go to v1 and the test checks that the handler
# saw each of them once and that the result had its effect:
#
#   fallback  the frames reach v1's stack as skbs
#   consumed  the handler keeps (frees) them; nothing reaches the stack
#   drop      veth drops them and counts xdp_drops
#   tx        they go back out of v1 through veth's XDP_TX path, to v0
#   redirect  an XDP program run by the handler redirects them to vr0,
#             whose peer vr1 receives them
#   prog-pass an XDP program run by the handler passes them: the handler
#             builds the skbs and they reach v1's stack (CONSUMED; a frame a
#             program saw must not fall back to the skb path)
#
# Namespaces: v1, vr0, vr1 in the test's own netns; v0, v2, v3 in a peer netns.
#
# Then who may register an XDP rx handler, and the upper-program check of XDP
# attachment: the handler shares rx_handler_data with the skb rx_handler, so
# only the module that registered that one may add it (not xrh_testmod on a
# macvlan's lower device, whose data is macvlan's port); a device with no skb
# rx_handler takes none; and a device without an XDP rx handler still refuses
# a program while an upper device has one.

set -u
DIR=$(cd "$(dirname "$0")" && pwd)
source "${KSFT_HELPERS:-$DIR/../../../kselftest}/ktap_helpers.sh"

N=32
NS=xrh_main
PEER=xrh_peer
MOD=$DIR/xrh_testmod/xrh_testmod.ko
OBJ=$DIR/xdp_progs.bpf.o
CTL=/sys/kernel/debug/xrh_testmod
PINDIR=/sys/fs/bpf/xrh_progs
PIN=$PINDIR/xrh_redirect
PIN_PASS=$PINDIR/xrh_pass
# shellcheck disable=SC2034 # xrh_watch.sh uses it
PKT=$DIR/xrh_pkt.py
TMP=$(mktemp -d)
# shellcheck source=xrh_watch.sh
source "$DIR/xrh_watch.sh"
RUNS=0

# ip netns exec remounts /sys, hiding debugfs: enter the netns only.
in_ns() { nsenter --net="/run/netns/$NS" "$@"; }

cleanup() {
	watch_stop wn
	watch_stop wp
	in_ns sh -c "echo - > $CTL/attach" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	ip netns del "$PEER" 2>/dev/null
	rm -rf "$PINDIR"
	rmmod xrh_testmod 2>/dev/null
	rm -rf "$TMP"
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
	# The device under test, and the feed of its frame path (v0 is the
	# redirect target of xrh_feed, by ifindex).
	ip -n "$PEER" link add v0 index 4000 type veth peer name v1 netns "$NS" || return 1
	ip -n "$PEER" link add v2 type veth peer name v3 || return 1
	# The redirect target and its peer.
	ip -n "$NS" link add vr0 index 4100 type veth peer name vr1 || return 1
	for d in v1 vr0 vr1; do ip -n "$NS" link set "$d" up || return 1; done
	for d in v0 v2 v3; do ip -n "$PEER" link set "$d" up || return 1; done
	ip -n "$NS" link set v1 xdpdrv obj "$OBJ" program xrh_pass || return 1
	# ndo_xdp_xmit into a veth (XDP_TX and redirects) needs XDP on the
	# receiving end: v0 gets XDP_TX'd frames of v1, vr1 redirected ones.
	ip -n "$PEER" link set v0 xdpdrv obj "$OBJ" program xrh_pass || return 1
	ip -n "$NS" link set vr1 xdpdrv obj "$OBJ" program xrh_pass || return 1
	ip -n "$PEER" link set v3 xdpdrv obj "$OBJ" program xrh_feed || return 1
	bpftool prog loadall "$OBJ" "$PINDIR" type xdp || return 1
	in_ns sh -c "echo v1 > $CTL/attach" || return 1
	V1_MAC=$(ip netns exec "$NS" cat /sys/class/net/v1/address)
}

# stats: the test handler's counters (debugfs), in ST[name].
declare -A ST
stats() {
	local k v
	ST=()
	while read -r k v; do ST[$k]=$v; done <"$CTL/stats"
}
ethtool_of() {
	local k v
	while read -r k v; do
		[ "$k" = "rx_queue_0_$1:" ] && echo "$v"
	done < <(in_ns ethtool -S v1)
}

# run_case PATH MODE: the peer's watcher sends N frames to v1 along PATH with
# the handler in MODE; the effect is checked once every frame's fate is
# known: the handler ran N times and, for a mode that sends the frames on,
# the device they go to has N (so nothing is left in flight, and no sleep
# decides it). The watchers count what reaches v1's stack, v0 and vr1.
run_case() {
	local path=$1 mode=$2 tag=$1-$2-$((++RUNS)) ok=1 cnt_v1 cnt_v0 cnt_vr1 drops0 drops1
	local want_result dst='' i
	# prog-pass: the handler's program passes the frame, and the handler
	# delivers it to v1's stack itself.
	echo "${mode%-pass}" > "$CTL/mode"
	[ "$mode" = prog ] && python3 "$DIR/xrh_pkt.py" setprog "$PIN" "$CTL/prog"
	[ "$mode" = prog-pass ] && python3 "$DIR/xrh_pkt.py" setprog "$PIN_PASS" "$CTL/prog"
	echo 0 > "$CTL/stats"
	drops0=$(ethtool_of xdp_drops)
	case $mode in
	fallback) want_result=pass_fallback dst=v1 ;;
	prog) want_result=redirect dst=vr1 ;;
	prog-pass) want_result=consumed dst=v1 ;;
	tx) want_result=tx dst=v0 ;;
	*) want_result=$mode ;;
	esac

	if [ "$path" = skb ]; then
		to_watcher wp "send v0 $V1_MAC $N $tag"
	else
		to_watcher wp "send v2 $V1_MAC $N $tag"
	fi
	wait_file "${WDIR[v0]}/sent-$tag" || { ktap_print_msg "$path/$mode: not sent"; ok=0; }
	for ((i = 0; i < 200; i++)); do
		stats
		if [ "${ST[calls]:-0}" -ge "$N" ]; then
			[ -z "$dst" ] && break
			watch_count "$dst" "$tag"
			[ "$REPLY" -ge "$N" ] && break
		fi
		nap 0.1
	done
	watch_count v1 "$tag"
	cnt_v1=$REPLY
	watch_count v0 "$tag"
	cnt_v0=$REPLY
	watch_count vr1 "$tag"
	cnt_vr1=$REPLY
	drops1=$(ethtool_of xdp_drops)

	check() {
		if [ "$1" != "$2" ]; then
			ktap_print_msg "$path/$mode: $3 is $1, want $2"
			ok=0
		fi
	}
	check "${ST[calls]:-none}" "$N" "handler calls"
	check "${ST[$want_result]:-none}" "$N" "handler $want_result results"
	check "$cnt_v1" "$([ "$dst" = v1 ] && echo "$N" || echo 0)" "frames on v1's stack"
	check "$cnt_v0" "$([ "$mode" = tx ] && echo "$N" || echo 0)" "frames sent back to v0"
	check "$cnt_vr1" "$([ "$mode" = prog ] && echo "$N" || echo 0)" "frames redirected to vr1"
	check "$((drops1 - drops0))" "$([ "$mode" = drop ] && echo "$N" || echo 0)" \
		"xdp_drops of v1"
	[ "${mode%-pass}" = prog ] && echo -1 > "$CTL/prog"
	[ $ok = 1 ]
}

ktap_print_header
[ "$(id -u)" = 0 ] || { ktap_skip_all "needs root"; exit "$KSFT_SKIP"; }
[ -f "$MOD" ] && [ -f "$OBJ" ] || {
	ktap_skip_all "xrh_testmod.ko or xdp_progs.bpf.o not built"
	exit "$KSFT_SKIP"
}
trap cleanup EXIT
if ! setup; then
	ktap_exit_fail_msg "setup failed"
fi
watch_start wn "$NS" v1 vr1 && watch_start wp "$PEER" v0 ||
	ktap_exit_fail_msg "cannot start the packet watchers"

# expect_fail WANT CMD...: CMD fails and its error output contains WANT
# (bash, not dash, for writes: dash reports every failed write as an I/O
# error).
expect_fail() {
	local want=$1 err
	shift
	if err=$("$@" 2>&1); then
		ktap_print_msg "'$*' succeeded, want '$want'"
		return 1
	fi
	case $err in
	*"$want"*) return 0 ;;
	esac
	ktap_print_msg "'$*': '$err', want '$want'"
	return 1
}

# ownership_setup: d0 with a macvlan mv0 on it (macvlan's rx_handler), d1 bare.
ownership_setup() {
	ip -n "$NS" link add d0 type dummy && ip -n "$NS" link add d1 type dummy &&
		ip -n "$NS" link add mv0 link d0 type macvlan mode bridge
}

case_foreign_rx_handler() {
	expect_fail "Device or resource busy" in_ns bash -c "echo d0 > $CTL/hijack"
}

case_no_rx_handler() {
	expect_fail "Invalid argument" in_ns bash -c "echo d1 > $CTL/hijack"
}

case_upper_program_blocks() {
	local ok=1
	ip -n "$NS" link set mv0 xdpgeneric obj "$OBJ" program xrh_pass || return 1
	expect_fail "upper device already has a program" \
		ip -n "$NS" link set d0 xdpgeneric obj "$OBJ" program xrh_pass || ok=0
	ip -n "$NS" link set mv0 xdpgeneric off || ok=0
	# Without the upper's program, the lower takes one.
	ip -n "$NS" link set d0 xdpgeneric obj "$OBJ" program xrh_pass || ok=0
	ip -n "$NS" link set d0 xdpgeneric off || ok=0
	[ $ok = 1 ]
}

ktap_set_plan 15
for path in skb frame; do
	for mode in fallback consumed drop tx prog prog-pass; do
		name=$path-$mode
		[ "$mode" = prog ] && name=$path-redirect
		if run_case "$path" "$mode"; then
			ktap_test_pass "$name"
		else
			ktap_test_fail "$name"
		fi
	done
done
if ownership_setup; then
	for c in foreign_rx_handler no_rx_handler upper_program_blocks; do
		name=${c//_/-}
		if "case_$c"; then ktap_test_pass "$name"; else ktap_test_fail "$name"; fi
	done
else
	for c in foreign_rx_handler no_rx_handler upper_program_blocks; do
		ktap_test_fail "${c//_/-}: setup failed"
	done
fi
ktap_finished
