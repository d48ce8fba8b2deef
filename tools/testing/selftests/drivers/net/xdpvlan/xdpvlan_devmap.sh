#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A devmap egress program must see, as ctx->ingress_ifindex, the device whose
# program redirected each frame, also when a lower device (L0) and its
# xdpvlan upper (L1) redirect into the same devmap entry within one NAPI poll
# of L0:
#
#   netns xd_peer: d1 ----- d0 (L0, veth, xvd_l0 in driver mode)
#                           ^-- xd1 (L1, xdpvlan, xvd_l1)
#   both redirect to xvd_dm[0] = { dr0, xvd_egress }:  dr0 ----- dr1 (xvd_pass)
#
# N test frames for xd1 are sent from d1 as XDP live frames (xv_devmap.py
# gen): d1's ndo_xdp_xmit puts them all in d0's ring and schedules d0's NAPI
# once, at the end of the run, so that one poll normally takes them all. In
# that poll xvd_l0 redirects every other frame itself and passes the others to
# xd1, whose program redirects them: L0's and L1's redirects alternate in
# dr0's per-CPU devmap bulk queue. The redirecting program writes its
# ctx->ingress_ifindex into the frame; xvd_egress counts the frames per
# ctx->ingress_ifindex and those whose ctx->ingress_ifindex is not the one
# written in them. bq_enqueue() used to record the ingress device of the
# first frame of a poll for the whole queue: then all N frames were counted
# for one device, and N/2 as wrong.
#
# Twice: with L0's redirect first in the poll, and with L1's first.
#
# Then the other half of the same assumption, without the hook: two devmap
# entries for the same device (dr0) with different egress programs
# (xvd_egress, xvd_egress2), to which xvd_l0 redirects alternately within
# one poll. Each frame must meet the program of its own entry; when the bulk
# queue recorded the program of the poll's first frame, all N met that one.

set -u
DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
source "${KSFT_HELPERS:-$DIR/../../../kselftest}/ktap_helpers.sh"

N=64		# one BPF_PROG_TEST_RUN batch, one NAPI budget of d0
PEER=xd_peer
OBJ=$DIR/xv_devmap.bpf.o
TOOL=$DIR/xv_devmap.py
MOD=${XDPVLAN_KO:-$DIR/../../../../../../drivers/net/xdpvlan/xdpvlan.ko}
PROGS=/sys/fs/bpf/xd_progs
MAPS=/sys/fs/bpf/xd_maps
MAC_XD1=02:00:00:00:0d:01
LOADED=0
IF_D0='' IF_XD1='' IF_DR0='' IF_DR1=''

cleanup() {
	ip link del xd1 2>/dev/null
	ip link del d0 2>/dev/null
	ip link del dr0 2>/dev/null
	ip netns del "$PEER" 2>/dev/null
	rm -rf "$PROGS" "$MAPS"
	if [ "$LOADED" = 1 ]; then
		rmmod xdpvlan 2>/dev/null
	fi
}

xv() { python3 "$TOOL" "$@"; }

ifindex() { cat "/sys/class/net/$1/ifindex"; }

# no_ipv6 DEV...: keep IPv6 (ND, MLD) traffic off the test devices.
no_ipv6() {
	local d
	[ -d /proc/sys/net/ipv6 ] || return 0
	for d in "$@"; do
		sysctl -qw "net.ipv6.conf.$d.disable_ipv6=1" || return 1
	done
}

# wait_for CMD...: until CMD succeeds, for 60 s at most.
wait_for() {
	local end=$((SECONDS + 60))
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.1
	done
}

carrier_on() { [ "$(cat "/sys/class/net/$1/carrier" 2>/dev/null)" = 1 ]; }

setup() {
	local d
	if ! mountpoint -q /sys/fs/bpf; then
		mount -t bpf bpf /sys/fs/bpf || return 1
	fi
	if ! grep -q '^xdpvlan ' /proc/modules; then
		# The module of the tree, or CONFIG_XDPVLAN=m installed.
		if [ -f "$MOD" ]; then insmod "$MOD"; else modprobe xdpvlan; fi || return 1
		LOADED=1
	fi
	ip netns add "$PEER" || return 1
	if [ -d /proc/sys/net/ipv6 ]; then
		ip netns exec "$PEER" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 || return 1
	fi
	ip link add d0 type veth peer name d1 netns "$PEER" || return 1
	ip link add link d0 name xd1 address $MAC_XD1 type xdpvlan || return 1
	ip link add dr0 type veth peer name dr1 || return 1
	no_ipv6 d0 xd1 dr0 dr1 || return 1
	IF_D0=$(ifindex d0) && IF_XD1=$(ifindex xd1) && IF_DR0=$(ifindex dr0) &&
		IF_DR1=$(ifindex dr1) || return 1

	# No "type xdp": xvd_egress needs the BPF_XDP_DEVMAP that libbpf takes
	# from its section name.
	bpftool prog loadall "$OBJ" "$PROGS" pinmaps "$MAPS" || return 1
	ip link set d0 xdpdrv pinned "$PROGS/xvd_l0" || return 1
	ip link set xd1 xdpdrv pinned "$PROGS/xvd_l1" || return 1
	# veth takes redirected frames only when its peer runs XDP. d1 needs
	# none: what it sends with ndo_xdp_xmit needs a program on d0.
	ip link set dr1 xdpdrv pinned "$PROGS/xvd_pass" || return 1
	for d in d0 xd1 dr0 dr1; do
		ip link set "$d" up || return 1
	done
	ip -n "$PEER" link set d1 up || return 1
	wait_for carrier_on d0 && wait_for carrier_on xd1 && wait_for carrier_on dr0
}

# pairs IFINDEX COUNT...: "ifindex=count ..." sorted by ifindex, as xv run
# prints a map.
pairs() {
	local k v s=''
	while read -r k v; do
		s="$s${s:+ }$k=$v"
	done < <(while [ $# -gt 0 ]; do echo "$1 $2"; shift 2; done | sort -n)
	echo "$s"
}

FAILS=
expect() { # what actual wanted
	[ "$2" = "$3" ] || FAILS="$FAILS $1='$2'(want '$3')"
}
result() { # description
	if [ -z "$FAILS" ]; then
		ktap_test_pass "$1"
	else
		ktap_test_fail "$1:$FAILS"
	fi
	FAILS=
}

# run PHASE NAME: 0 -> xvd_l0 redirects the first frame of the poll itself,
# 1 -> it passes it to xd1, whose program redirects it. One xv_devmap.py
# process does the whole run (maps reset, frames sent, wait, maps read).
run() {
	local phase=$1 name=$2 ok=1 out k v half=$((N / 2)) t
	local -A C=()
	if out=$(xv run "$MAPS" "$PROGS/xvd_tx" "$PEER:d1" $N $MAC_XD1 "$phase" "$IF_DR1" 30); then
		while read -r k v; do
			C[$k]=$v
		done <<<"$out"
		[ -z "${C[timeout]+set}" ] || FAILS="$FAILS timeout"
	else
		ok=0
		FAILS="$FAILS setup-or-send-failed:'$out'"
	fi
	expect "seen(L0,L1)" "${C[xvd_seen]:-}" "0=$N 1=$half"
	expect "egress_ifindex" "${C[xvd_out]:-}" "$IF_DR0=$N"
	expect "dr1" "${C[xvd_rx]:-}" "$IF_DR1=$N"
	t="$name: the $N frames went through the devmap entry to dr1,"
	result "$t $half redirected by each level"
	[ $ok = 1 ] || FAILS="$FAILS setup-or-send-failed"
	expect "ingress_ifindex" "${C[xvd_in]:-}" "$(pairs "$IF_D0" $half "$IF_XD1" $half)"
	t="$name: the egress program saw ingress_ifindex d0 ($IF_D0) for $half frames"
	result "$t and xd1 ($IF_XD1) for $half"
	[ $ok = 1 ] || FAILS="$FAILS setup-or-send-failed"
	# Not vacuously: the egress program must have seen every frame.
	expect "egress_ifindex" "${C[xvd_out]:-}" "$IF_DR0=$N"
	[ -n "${C[xvd_bad]+set}" ] || FAILS="$FAILS xvd_bad-not-read"
	expect "wrong-ingress-by-redirector" "${C[xvd_bad]:-}" ""
	# Through entry 0 only: its program saw all of them.
	expect "program,key" "${C[xvd_prog]:-}" "0=$N"
	t="$name: each frame's ingress_ifindex in the egress program"
	result "$t is the device that redirected it"
}

# run_two: xvd_l0 redirects every frame itself, alternately to entries 0 and
# 1 of xvd_dm (both dr0, different egress programs).
run_two() {
	local out k v half=$((N / 2))
	local -A C=()
	if out=$(xv run "$MAPS" "$PROGS/xvd_tx" "$PEER:d1" $N $MAC_XD1 2 "$IF_DR1" 30); then
		while read -r k v; do
			C[$k]=$v
		done <<<"$out"
		[ -z "${C[timeout]+set}" ] || FAILS="$FAILS timeout"
	else
		FAILS="$FAILS setup-or-send-failed:'$out'"
	fi
	expect "seen(L0,L1)" "${C[xvd_seen]:-}" "0=$N 1=0"
	expect "dr1" "${C[xvd_rx]:-}" "$IF_DR1=$N"
	expect "ingress_ifindex" "${C[xvd_in]:-}" "$IF_D0=$N"
	# 2 * program + key: program 0 saw the frames for key 0, program 1
	# those for key 1.
	expect "program,key" "${C[xvd_prog]:-}" "0=$half 3=$half"
	result "two devmap entries for dr0, one poll: each frame met its own entry's egress program"
}

trap cleanup EXIT
ktap_print_header
ktap_set_plan 9
# Everything this test needs is part of the project's test set-up: a missing
# piece is a failure, not a reason to skip.
if [ "$(id -u)" != 0 ] || ! command -v bpftool >/dev/null || ! command -v python3 >/dev/null ||
	[ ! -f "$OBJ" ]; then
	ktap_exit_fail_msg "needs root, bpftool, python3 and the built BPF object $OBJ"
fi
if ! setup; then
	ktap_exit_fail_msg "setup failed"
fi

if out=$(xv set-devmap "$MAPS/xvd_dm" "$IF_DR0" "$PROGS/xvd_egress"); then
	t="devmap entry 0 is dr0 with xvd_egress"
	ktap_test_pass "$t (expected_attach_type BPF_XDP_DEVMAP): $out"
else
	ktap_exit_fail_msg "cannot set the devmap entry: $out"
fi
run 0 "L0 first"
run 1 "L1 first"
if out=$(xv set-devmap "$MAPS/xvd_dm" "$IF_DR0" "$PROGS/xvd_egress2" 1); then
	ktap_test_pass "devmap entry 1 is dr0 with xvd_egress2: $out"
else
	ktap_test_fail "devmap entry 1 is dr0 with xvd_egress2: $out"
fi
run_two
ktap_finished
