#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# xdpvlan on virtio-net with real socket traffic (see xdpvlan_sock.sh for the
# veth cases). The guest has two pairs of virtio-net NICs wired to each other
# (scripts/vm-run.sh --net loop --net loop-small): one with mergeable receive
# buffers, one without (virtio-net's small-buffer path). For each pair:
#
#   xs_vpeer: peer NIC 10.79.N.1 ---- DUT NIC (L0, root netns, xs_pass)
#                                       <- xv<kind> (L1, netns xs_vc, 10.79.N.2)
#
# N is 2 for the mergeable pair (upper xvm), 3 for the small one (xvs). In
# mode native the DUT runs xs_pass in driver mode (virtio-net hands XDP_PASS
# buffers to the XDP rx handler), in mode skb in generic mode. Cases, per pair
# and mode: TCP 4 MiB, UDP 500 x 1200 B (and natively 500 x 64 B) to the
# upper, intact, with no checksum or receive error in either namespace, and on
# the expected path (rx_native natively, rx_skb on the skb path); natively,
# no memory leak over 20000 UDP frames (pktgen) to the upper.
#
# The test command always provides both pairs: a missing pair fails its cases.
# The DUT is promiscuous so that the upper's frames do not depend on QEMU's
# receive filter.

set -u
DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
source "${KSFT_HELPERS:-$DIR/../../../kselftest}/ktap_helpers.sh"
TMP=$(mktemp -d)
# shellcheck source=xv_sock_lib.sh
source "$DIR/xv_sock_lib.sh"

OBJ=$DIR/xv_sock_progs.bpf.o
MOD=${XDPVLAN_KO:-$DIR/../../../../../../drivers/net/xdpvlan/xdpvlan.ko}
PROGS=/sys/fs/bpf/xs_vprogs
PEER=xs_vpeer
CNS=xs_vc
KINDS="mergeable small"
PLAN=12
LOADED=
BROKEN=
TCP_BYTES=$((4 << 20))
UDP_N=500
TCP_MIN_NATIVE=$((TCP_BYTES / 1460))
TCP_MIN_SKB=$((TCP_BYTES / 65536))

declare -A DUT PNIC NET UPPER UMAC PMAC PAIR_BROKEN
NET[mergeable]=2 UPPER[mergeable]=xvm
NET[small]=3 UPPER[small]=xvs
MOVED=()

cleanup() {
	local k d
	stop_all_py
	for k in $KINDS; do
		ip -n $CNS link del "${UPPER[$k]}" 2>/dev/null
		d=${DUT[$k]:-}
		[ -n "$d" ] || continue
		ip link set "$d" xdpdrv off 2>/dev/null
		ip link set "$d" xdpgeneric off 2>/dev/null
		ip link set "$d" down promisc off 2>/dev/null
	done
	for d in "${MOVED[@]}"; do
		ip -n $PEER link set "$d" down 2>/dev/null
		ip -n $PEER link set "$d" netns 1 2>/dev/null
	done
	ip netns del $PEER 2>/dev/null
	ip netns del $CNS 2>/dev/null
	rm -rf "$PROGS" "$TMP"
	[ -n "$LOADED" ] && rmmod xdpvlan 2>/dev/null
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
	local k mrg nics
	for k in $KINDS; do
		mrg=0
		[ "$k" = mergeable ] && mrg=1
		mapfile -t nics < <(virtio_nics "$mrg")
		if [ "${#nics[@]}" -ne 2 ]; then
			PAIR_BROKEN[$k]="${#nics[@]} unused virtio-net NICs"
			PAIR_BROKEN[$k]+=" with$([ $mrg = 1 ] || echo out) mergeable buffers,"
			PAIR_BROKEN[$k]+=" need a pair wired together"
			continue
		fi
		PNIC[$k]=${nics[0]#* } PMAC[$k]=${nics[0]% *}
		DUT[$k]=${nics[1]#* }
		UMAC[$k]=02:79:00:00:0${NET[$k]}:01
	done
}

step() {
	"$@" && return 0
	BROKEN="setup failed at: $*"
	return 1
}

setup_base() {
	local c ns
	[ "$(id -u)" = 0 ] || { BROKEN="needs root"; return 1; }
	for c in bpftool ethtool nsenter python3 awk timeout; do
		command -v $c >/dev/null || { BROKEN="no $c command"; return 1; }
	done
	[ -f "$OBJ" ] || { BROKEN="$OBJ not built"; return 1; }
	mountpoint -q /sys/fs/bpf || step mount -t bpf bpf /sys/fs/bpf || return 1
	if ! grep -q '^xdpvlan ' /proc/modules; then
		# The module of the tree, or CONFIG_XDPVLAN=m installed.
		if [ -f "$MOD" ]; then step insmod "$MOD"; else step modprobe xdpvlan; fi ||
			return 1
		LOADED=1
	fi
	rm -rf "$PROGS"
	step bpftool prog loadall "$OBJ" "$PROGS" || return 1
	for ns in $PEER $CNS; do
		ip netns del "$ns" 2>/dev/null
		step ip netns add "$ns" || return 1
		step in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 || return 1
	done
}

# setup_pair KIND: the peer NIC into xs_vpeer, the upper on the DUT into xs_vc.
setup_pair() {
	local k=$1 d=${DUT[$1]} p=${PNIC[$1]} u=${UPPER[$1]} n=${NET[$1]}
	step ip link set "$p" netns $PEER || return 1
	MOVED+=("$p")
	step sysctl -qw "net.ipv6.conf.$d.disable_ipv6=1" &&
		step ip link set "$d" mtu 1500 promisc on up &&
		step ip link add link "$d" name "$u" address "${UMAC[$k]}" type xdpvlan &&
		step ip link set "$u" netns $CNS &&
		step ip -n $PEER addr add "10.79.$n.1/24" dev "$p" &&
		step ip -n $PEER link set "$p" mtu 1500 up &&
		step ip -n $CNS addr add "10.79.$n.2/24" dev "$u" &&
		step ip -n $CNS link set "$u" up &&
		step ip -n $PEER neigh replace "10.79.$n.2" lladdr "${UMAC[$k]}" dev "$p" \
			nud permanent &&
		step ip -n $CNS neigh replace "10.79.$n.1" lladdr "${PMAC[$k]}" dev "$u" \
			nud permanent
}

# set_mode KIND MODE: the DUT runs xs_pass in driver mode (native) or in
# generic mode (skb), and nothing in the other mode.
set_mode() {
	local d=${DUT[$1]} how=xdpgeneric
	[ "$2" = native ] && how=xdpdrv
	ip link set "$d" xdpgeneric off && ip link set "$d" xdpdrv off &&
		ip link set "$d" $how pinned "$PROGS/xs_pass"
}

can_run() { # DESCRIPTION REASON
	[ -z "$2" ] && return 0
	msg "  not run: $2"
	ktap_test_fail "$1"
	return 1
}

case_tcp() { # KIND MODE REASON
	local k=$1 m=$2 desc="$1 $2: TCP 4 MiB to ${UPPER[$1]} intact, no checksum errors"
	can_run "$desc" "$3" || return
	begin "$PEER $CNS" "$CNS:${UPPER[$k]}"
	tcp_run $PEER $CNS "10.79.${NET[$k]}.2" $TCP_BYTES 65536
	finish "$m" $TCP_MIN_NATIVE $TCP_MIN_SKB
	result "$desc"
}

case_udp() { # KIND MODE SIZE REASON
	local k=$1 m=$2 \
		desc="$1 $2: UDP $UDP_N x $3 B to ${UPPER[$1]} all intact, no checksum errors"
	can_run "$desc" "$4" || return
	begin "$PEER $CNS" "$CNS:${UPPER[$k]}"
	udp_run $PEER $CNS "10.79.${NET[$k]}.2" - $UDP_N "$3"
	finish "$m" $UDP_N $UDP_N
	result "$desc"
}

# case_leak KIND REASON: LEAK_SKBS UDP frames from the peer NIC's
# ndo_start_xmit (pktgen) to the upper on the native path must not leak
# memory (leak_pktgen): virtio-net's receive buffers of KIND, the XDP rx
# handler and the skb xdpvlan builds around the buffer.
case_leak() {
	local k=$1 u=${UPPER[$1]}
	local desc="$1 native: no memory leak over $LEAK_SKBS UDP frames (pktgen) to ${UPPER[$1]}"
	can_run "$desc" "$2" || return
	# The receiver's error counters only: the peer counts the ICMP port
	# unreachables it gets back as Icmp InErrors (it has no socket).
	begin $CNS "$CNS:$u"
	if ! pktgen_load; then
		fail "no pktgen module"
		result "$desc"
		return
	fi
	leak_pktgen $PEER "${PNIC[$k]}" $CNS "$u" "${UMAC[$k]}" "10.79.${NET[$k]}.1" \
		"10.79.${NET[$k]}.2" rx_native
	expect_delta "$u" rx_skb -eq 0
	result "$desc"
}

trap cleanup EXIT
ktap_print_header
ktap_set_plan $PLAN
setup_base || BROKEN=${BROKEN:-setup failed}
[ -n "$BROKEN" ] || find_pairs
[ -n "$BROKEN" ] && msg "$BROKEN: every case fails"
for k in $KINDS; do
	why=${BROKEN:-${PAIR_BROKEN[$k]:-}}
	if [ -z "$why" ]; then
		msg "$k: DUT ${DUT[$k]}, peer ${PNIC[$k]}"
		if ! setup_pair "$k"; then
			why=$BROKEN
			BROKEN=
		fi
	fi
	for m in native skb; do
		mwhy=$why
		if [ -z "$mwhy" ] && ! set_mode "$k" $m; then
			mwhy="cannot put xs_pass on ${DUT[$k]} in $m mode"
		fi
		case_tcp "$k" $m "$mwhy"
		case_udp "$k" $m 1200 "$mwhy"
		# Small datagrams natively only; the skb path is the baseline.
		[ $m = native ] && case_udp "$k" $m 64 "$mwhy"
		[ $m = native ] && case_leak "$k" "$mwhy"
	done
done
ktap_finished
