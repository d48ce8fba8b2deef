#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# xdpvlan with real socket traffic: TCP, UDP and ICMP from a peer's stack, not
# raw frames. A peer's stack sends CHECKSUM_PARTIAL skbs through a veth (veth
# offers NETIF_F_HW_CSUM): the checksum field holds only the pseudo-header
# sum. A receive path that turns such an skb's data into a bare xdp_buff and
# builds a new skb from it must complete the checksum first, or the receiver
# counts InCsumErrors and drops the packet. So every case checks that the
# data arrived intact (TCP: SHA-256 of the stream on both sides; UDP: every
# datagram once, with its contents) and that no checksum or receive error
# counter moved in the namespaces involved.
#
#   xs_peer: p0 10.79.0.1 ---veth--- s0 (L0, root netns, xs_pass)
#                                      <- xl1 (L1, netns xs_c1, 10.79.0.2)
#                                          <- xl2 (L2, netns xs_c2, 10.79.0.3)
#   xs_c1:   sr0 ---veth--- sr1 (netns xs_r, 10.79.0.2): redirect target
#
#   xs_peer2: q0 10.79.0.11 ---veth--- h0 [xs_fwd] (netns xs_hop) [xs_fwd] h1
#             ---veth--- t0 (L0, root netns, xs_pass)
#                          <- yl1 (L1, netns xs_d1, 10.79.0.12)
#                              <- yl2 (L2, netns xs_d2, 10.79.0.13)
#
# Mode "native": the L0s run xs_pass in driver mode, so veth hands each frame
# to the XDP rx handler and xdpvlan takes it before any skb exists; the
# uppers' rx_native counters must grow by at least the number of data
# packets and rx_skb not at all. Mode "skb": the same program in generic
# mode; the reverse. s0 receives the peer's skbs (veth_xdp_rcv_skb); t0
# receives xdp_frames that h1's ndo_xdp_xmit sends it (veth_xdp_rcv_one),
# because the hop forwards with XDP_REDIRECT.
#
# Frames that the native path cannot take whole go by the skb path even in
# mode "native", intact: SCTP with its CRC32c left to the device (veth offers
# NETIF_F_SCTP_CRC; an Internet checksum written over it would make the
# receiver drop every packet), and frames of a VLAN device on the peer (veth
# offers VLAN TX offload: the tag is in the skb, not in the data, and must
# reach the VLAN device on xl1).
#
# Cases on the native path: TCP 4 MiB, UDP 500 x 1200 B and 500 x 64 B, ping,
# to L1 and to L2; TCP (1 MiB) and UDP again with XDP_PASS programs on xl1 and
# xl2; XDP_TX at xl1 (UDP echoed back to the peer by xs_reflect); XDP_REDIRECT
# at xl1 (UDP to sr0, received in xs_r); TCP 4 MiB and UDP to yl1 and yl2
# through the hop. On the skb path, as the baseline: TCP 1 MiB and UDP 1200 B
# to L1 and L2. Then, natively: 20000 UDP frames from the peer's
# ndo_start_xmit (pktgen, CHECKSUM_PARTIAL) must not leak memory;
# neither must 20000 XDP frames from the peer's ndo_xdp_xmit, natively and
# on the skb path; and MTU 9000 (multi-buffer frames) with a frags-aware
# program on xl1 (native path) and with one that is not
# (rx_native_fallback).
#
# No IPv6 (disabled in every namespace and on s0, t0) and static neighbour
# entries: no traffic but the test's own, so rx_skb must stay at 0 natively.
# The peers run an XDP program (xs_pass_frags: frags-aware, so that MTU 9000
# works on s0) so that veth delivers them the frames sent back with XDP_TX or
# redirected.

set -u
DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
source "${KSFT_HELPERS:-$DIR/../../../kselftest}/ktap_helpers.sh"
TMP=$(mktemp -d)
# shellcheck source=xv_sock_lib.sh
source "$DIR/xv_sock_lib.sh"

OBJ=$DIR/xv_sock_progs.bpf.o
MOD=${XDPVLAN_KO:-$DIR/../../../../../../drivers/net/xdpvlan/xdpvlan.ko}
PROGS=/sys/fs/bpf/xs_progs
MAPS=/sys/fs/bpf/xs_maps
NETNS="xs_peer xs_c1 xs_c2 xs_r xs_peer2 xs_hop xs_d1 xs_d2"
PLAN=29
# XDP frames that case_leak_frames sends (as many as leak_pktgen's skbs: in
# the debug guest, with other guests on the host, 100000 took 617 s).
LEAK_FRAMES=${XS_LEAK_FRAMES:-20000}
LOADED=
BROKEN=
MODE_BROKEN=

TCP_BYTES=$((4 << 20))
TCP_WRITE=65536
UDP_N=500
SCTP_BYTES=$((256 << 10))
ECHO_N=200
ECHO_SIZE=512
MTU_BIG=9000
# Lower bounds of the data packets of a TCP transfer: natively, at most a
# segment of 1460 bytes (MTU 1500) or 8960 bytes (MTU 9000) per frame; on the
# skb path, GSO (the peer, when L0's program is generic) or GRO (t0) give at
# most 64 KiB per skb.
TCP_MIN_BIG=$((TCP_BYTES / 8960))

MAC_P0=02:79:00:00:00:01 MAC_S0=02:79:00:00:00:02
MAC_XL1=02:79:00:00:01:01 MAC_XL2=02:79:00:00:01:02
MAC_SR0=02:79:00:00:02:01 MAC_SR1=02:79:00:00:02:02
MAC_Q0=02:79:00:00:00:11 MAC_H0=02:79:00:00:00:12
MAC_H1=02:79:00:00:00:13 MAC_T0=02:79:00:00:00:14
MAC_YL1=02:79:00:00:01:11 MAC_YL2=02:79:00:00:01:12
IP_P0=10.79.0.1 IP_XL1=10.79.0.2 IP_XL2=10.79.0.3 IP_SR1=10.79.0.2
IP_Q0=10.79.0.11 IP_YL1=10.79.0.12 IP_YL2=10.79.0.13
IP_P0V=10.79.10.1 IP_XL1V=10.79.10.2

# The targets: netns, address, the uppers a frame for it passes (netns:dev),
# the peer that sends to it, and a name for the KTAP lines.
declare -A T_NS T_IP T_CHAIN T_PEER T_NAME
T_NS[L1]=xs_c1 T_IP[L1]=$IP_XL1 T_CHAIN[L1]="xs_c1:xl1" T_PEER[L1]=xs_peer
T_NAME[L1]="L1 (xl1)"
T_NS[L2]=xs_c2 T_IP[L2]=$IP_XL2 T_CHAIN[L2]="xs_c1:xl1 xs_c2:xl2" T_PEER[L2]=xs_peer
T_NAME[L2]="L2 (xl2)"
T_NS[hL1]=xs_d1 T_IP[hL1]=$IP_YL1 T_CHAIN[hL1]="xs_d1:yl1" T_PEER[hL1]=xs_peer2
T_NAME[hL1]="L1 (yl1) through the XDP_REDIRECT hop"
T_NS[hL2]=xs_d2 T_IP[hL2]=$IP_YL2 T_CHAIN[hL2]="xs_d1:yl1 xs_d2:yl2" T_PEER[hL2]=xs_peer2
T_NAME[hL2]="L2 (yl2) through the XDP_REDIRECT hop"

cleanup() {
	local ns
	stop_all_py
	# Deleting a lower device deletes its uppers, wherever they are.
	ip link del s0 2>/dev/null
	ip link del t0 2>/dev/null
	for ns in $NETNS; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$PROGS" "$MAPS" "$TMP"
	[ -n "$LOADED" ] && rmmod xdpvlan 2>/dev/null
}

# A run that was killed may have left its namespaces and devices behind.
preclean() {
	local ns
	ip link del s0 2>/dev/null
	ip link del t0 2>/dev/null
	for ns in $NETNS; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$PROGS" "$MAPS"
}

# neigh NETNS DEV ADDR MAC: a permanent neighbour entry (no ARP).
neigh() {
	ip -n "$1" neigh replace "$3" lladdr "$4" dev "$2" nud permanent
}

# Each step says what failed; setup stops at the first failure.
step() {
	"$@" && return 0
	BROKEN="setup failed at: $*"
	return 1
}

setup_base() {
	local ns
	[ "$(id -u)" = 0 ] || { BROKEN="needs root"; return 1; }
	local c
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
	preclean
	step bpftool prog loadall "$OBJ" "$PROGS" pinmaps "$MAPS" || return 1
	for ns in $NETNS; do
		step ip netns add "$ns" || return 1
		step in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 || return 1
		step ip -n "$ns" link set lo up || return 1
	done
}

# The first lower device s0, its peer, xl1 on s0 in xs_c1 and xl2 on xl1 in
# xs_c2, and the redirect target sr0 -> sr1.
setup_s0() {
	step ip link add s0 address $MAC_S0 type veth peer name p0 address $MAC_P0 netns xs_peer &&
		step sysctl -qw net.ipv6.conf.s0.disable_ipv6=1 &&
		step ip link add link s0 name xl1 address $MAC_XL1 type xdpvlan &&
		step ip link add link xl1 name xl2 address $MAC_XL2 type xdpvlan &&
		step ip link set xl2 netns xs_c2 &&
		step ip link set xl1 netns xs_c1 &&
		step ip link set s0 up &&
		step ip -n xs_peer addr add $IP_P0/24 dev p0 &&
		step ip -n xs_peer link set p0 up &&
		step in_ns xs_peer ip link set p0 xdpdrv pinned "$PROGS/xs_pass_frags" &&
		step ip -n xs_c1 addr add $IP_XL1/24 dev xl1 &&
		step ip -n xs_c1 link set xl1 up &&
		step ip -n xs_c2 addr add $IP_XL2/24 dev xl2 &&
		step ip -n xs_c2 link set xl2 up &&
		step neigh xs_peer p0 $IP_XL1 $MAC_XL1 &&
		step neigh xs_peer p0 $IP_XL2 $MAC_XL2 &&
		step neigh xs_c1 xl1 $IP_P0 $MAC_P0 &&
		step neigh xs_c2 xl2 $IP_P0 $MAC_P0 || return 1
	# xs_redirect runs on xl1: its bpf_redirect() finds the target by
	# ifindex in xl1's netns, so sr0 lives in xs_c1. sr1 needs an XDP
	# program to take redirected frames.
	step ip -n xs_c1 link add sr0 address $MAC_SR0 type veth \
			peer name sr1 address $MAC_SR1 netns xs_r &&
		step ip -n xs_c1 link set sr0 up &&
		step ip -n xs_r addr add $IP_SR1/24 dev sr1 &&
		step ip -n xs_r link set sr1 up &&
		step in_ns xs_r ip link set sr1 xdpdrv pinned "$PROGS/xs_pass" &&
		step neigh xs_r sr1 $IP_P0 $MAC_P0 &&
		step ifidx xs_c1 sr0 || return 1
	# struct xs_target { mac[6], pad[2], __u32 ifindex }
	# shellcheck disable=SC2046 # the bytes are separate words
	step bpftool map update pinned "$MAPS/xs_redir" key hex 00 00 00 00 \
		value hex ${MAC_SR1//:/ } 00 00 $(le32 "$REPLY")
}

# The second lower device t0, reached through the hop: q0 -> h0 => h1 -> t0.
#
# q0 sends with software checksums (tx off): an skb that XDP redirects leaves
# the hop as a bare frame, and one that was CHECKSUM_PARTIAL then carries only
# the pseudo-header sum. That is how upstream veth redirects, with or without
# xdpvlan, so this path is tested with complete checksums. The uppers on t0
# must send complete checksums too for the same reason (xdpvlan has no
# checksum offload: tx_csum_off makes sure).
setup_t0() {
	local h0 h1
	step ip -n xs_peer2 link add q0 address $MAC_Q0 type veth \
			peer name h0 address $MAC_H0 netns xs_hop &&
		step ip link add t0 address $MAC_T0 type veth \
			peer name h1 address $MAC_H1 netns xs_hop &&
		step sysctl -qw net.ipv6.conf.t0.disable_ipv6=1 &&
		step ip link add link t0 name yl1 address $MAC_YL1 type xdpvlan &&
		step ip link add link yl1 name yl2 address $MAC_YL2 type xdpvlan &&
		step ip link set yl2 netns xs_d2 &&
		step ip link set yl1 netns xs_d1 &&
		step ip link set t0 up &&
		# GRO gives t0 the NAPI that takes h1's xdp_frames when its
		# program is in generic mode (skb mode).
		step gro_on t0 &&
		step ip -n xs_hop link set h0 up &&
		step ip -n xs_hop link set h1 up &&
		step ip -n xs_peer2 addr add $IP_Q0/24 dev q0 &&
		step ip -n xs_peer2 link set q0 up &&
		step tx_csum_off xs_peer2 q0 &&
		step in_ns xs_peer2 ip link set q0 xdpdrv pinned "$PROGS/xs_pass" &&
		step ip -n xs_d1 addr add $IP_YL1/24 dev yl1 &&
		step ip -n xs_d1 link set yl1 up &&
		step ip -n xs_d2 addr add $IP_YL2/24 dev yl2 &&
		step ip -n xs_d2 link set yl2 up &&
		step tx_csum_off xs_d1 yl1 &&
		step tx_csum_off xs_d2 yl2 &&
		step neigh xs_peer2 q0 $IP_YL1 $MAC_YL1 &&
		step neigh xs_peer2 q0 $IP_YL2 $MAC_YL2 &&
		step neigh xs_d1 yl1 $IP_Q0 $MAC_Q0 &&
		step neigh xs_d2 yl2 $IP_Q0 $MAC_Q0 &&
		step ifidx xs_hop h0 || return 1
	h0=$REPLY
	step ifidx xs_hop h1 || return 1
	h1=$REPLY
	# shellcheck disable=SC2046 # the bytes are separate words
	step bpftool map update pinned "$MAPS/xs_fwd_map" key hex $(le32 "$h0") \
			value hex $(le32 "$h1") &&
		step bpftool map update pinned "$MAPS/xs_fwd_map" key hex $(le32 "$h1") \
			value hex $(le32 "$h0") &&
		step in_ns xs_hop ip link set h0 xdpdrv pinned "$PROGS/xs_fwd" &&
		step in_ns xs_hop ip link set h1 xdpdrv pinned "$PROGS/xs_fwd"
}

gro_on() {
	ethtool -K "$1" gro on >/dev/null 2>&1
	ethtool -k "$1" | grep -q '^generic-receive-offload: on'
}

# set_l0_prog DEV MODE PROG: DEV runs PROG, in driver mode (native) or generic
# mode (skb), and nothing in the other mode. The old program goes first: veth
# sets its peer's maximum MTU (frags-aware or not) when a program comes.
set_l0_prog() {
	local how=xdpgeneric
	[ "$2" = native ] && how=xdpdrv
	ip link set "$1" xdpgeneric off && ip link set "$1" xdpdrv off &&
		ip link set "$1" $how pinned "$PROGS/$3"
}

set_mode() {
	MODE_BROKEN=
	set_l0_prog s0 "$1" xs_pass && set_l0_prog t0 "$1" xs_pass && return 0
	MODE_BROKEN="cannot put xs_pass on s0 and t0 in $1 mode"
	return 1
}

# upper_prog NETNS DEV PROG|off
upper_prog() {
	if [ "$3" = off ]; then
		in_ns "$1" ip link set "$2" xdp off
	else
		in_ns "$1" ip -force link set "$2" xdp pinned "$PROGS/$3"
	fi
}

# can_run DESCRIPTION [REASON]: fails the case, and says so, if something it
# needs could not be set up.
can_run() {
	local why=${BROKEN:-${MODE_BROKEN:-${2:-}}}
	[ -z "$why" ] && return 0
	msg "  not run: $why"
	ktap_test_fail "$1"
	return 1
}

# The peer's and the target's namespaces.
target_ns() { echo "${T_PEER[$1]} ${T_NS[$1]}"; }

# case_tcp MODE TARGET [NOTE [REASON]]: TCP_N bytes (TCP_BYTES, or less for
# the cases that repeat the first ones with another setup: the test's time
# goes mostly into moving bytes under emulation).
case_tcp() {
	local m=$1 t=$2 n=${TCP_N:-$TCP_BYTES} desc
	desc="$1: TCP $((n >> 20)) MiB to ${T_NAME[$2]}${3:-} intact, no checksum errors"
	can_run "$desc" "${4:-}" || return
	begin "$(target_ns "$t")" "${T_CHAIN[$t]}"
	tcp_run "${T_PEER[$t]}" "${T_NS[$t]}" "${T_IP[$t]}" "$n" $TCP_WRITE
	finish "$m" $((n / 1460)) $((n / 65536))
	[ -n "${3:-}" ] && expect_prog_pass $((n / 65536))
	result "$desc"
}

case_udp() { # MODE TARGET SIZE [NOTE [REASON]]
	local m=$1 t=$2 size=$3
	local desc="$1: UDP $UDP_N x $3 B to ${T_NAME[$2]}${4:-} all intact, no checksum errors"
	can_run "$desc" "${5:-}" || return
	begin "$(target_ns "$t")" "${T_CHAIN[$t]}"
	udp_run "${T_PEER[$t]}" "${T_NS[$t]}" "${T_IP[$t]}" - $UDP_N "$size"
	finish "$m" $UDP_N $UDP_N
	[ -n "${4:-}" ] && expect_prog_pass $UDP_N
	result "$desc"
}

case_ping() { # MODE TARGET
	local m=$1 t=$2 desc="$1: ping to ${T_NAME[$2]} answered, no checksum errors"
	can_run "$desc" || return
	begin "$(target_ns "$t")" "${T_CHAIN[$t]}"
	ping_run "${T_PEER[$t]}" "${T_IP[$t]}"
	finish "$m" 5 5
	result "$desc"
}

# case_sctp MODE: SCTP_BYTES over an SCTP association to L1: intact, by the
# skb path on xl1 whatever the mode, and no SCTP checksum errors.
case_sctp() {
	local m=$1 n=$SCTP_BYTES b a desc
	desc="$1: SCTP $((n >> 10)) KiB to L1 (xl1), CRC32c left to veth, by the skb path, intact"
	can_run "$desc" || return
	begin "$(target_ns L1)" "${T_CHAIN[L1]}"
	b=$(sctp_csum_errors xs_c1)
	tcp_run xs_peer xs_c1 "$IP_XL1" "$n" $TCP_WRITE sctp
	a=$(sctp_csum_errors xs_c1)
	[ "$a" = "$b" ] || fail "xs_c1: SctpChecksumErrors went from $b to $a"
	finish skb 0 $((n / 1500))
	result "$desc"
}

# sctp_csum_errors NETNS: SctpChecksumErrors of NETNS.
sctp_csum_errors() {
	in_ns "$1" awk '$1 == "SctpChecksumErrors" { print $2 }' /proc/net/sctp/snmp
}

# case_vlan MODE: UDP through VLAN 10 on p0 and on xl1: intact, received by
# the VLAN device on xl1, by the skb path on xl1 whatever the mode.
case_vlan() {
	local m=$1 rx0 rx1 desc="$1: UDP $UDP_N x 1200 B over VLAN 10 to L1 (xl1.10), tag kept, intact"
	can_run "$desc" || return
	begin "$(target_ns L1)" "${T_CHAIN[L1]}"
	if ! step ip -n xs_peer link add link p0 name p0.10 type vlan id 10 ||
		! step ip -n xs_c1 link add link xl1 name xl1.10 type vlan id 10 ||
		! step ip -n xs_peer addr add $IP_P0V/24 dev p0.10 ||
		! step ip -n xs_c1 addr add $IP_XL1V/24 dev xl1.10 ||
		! step ip -n xs_peer link set p0.10 up || ! step ip -n xs_c1 link set xl1.10 up ||
		! step neigh xs_peer p0.10 $IP_XL1V $MAC_XL1 ||
		! step neigh xs_c1 xl1.10 $IP_P0V $MAC_P0; then
		fail "cannot set up VLAN 10"
	else
		rx0=$(ip netns exec xs_c1 cat /sys/class/net/xl1.10/statistics/rx_packets)
		udp_run xs_peer xs_c1 "$IP_XL1V" - $UDP_N 1200
		rx1=$(ip netns exec xs_c1 cat /sys/class/net/xl1.10/statistics/rx_packets)
		[ $((rx1 - rx0)) -ge $UDP_N ] ||
			fail "xl1.10: received $((rx1 - rx0)) packets, fewer than $UDP_N"
	fi
	finish skb 0 $UDP_N
	ip -n xs_peer link del p0.10 2>/dev/null
	ip -n xs_c1 link del xl1.10 2>/dev/null
	result "$desc"
}

# expect_prog_pass MIN: the programs on the uppers of CHAIN passed MIN frames
# or more.
expect_prog_pass() {
	local nd
	for nd in $CHAIN; do expect_delta "${nd#*:}" xdp_pass -ge "$1"; done
}

# XDP_TX at L1: xs_reflect on xl1 sends UDP to port 7 back to the peer, out
# of s0 (natively through veth's XDP_TX path). The reflected datagram's
# checksum is the one it arrived with, so the peer counts InCsumErrors
# unless the checksum was complete before xl1's program saw the frame.
case_reflect() { # MODE
	local m=$1 out=$TMP/$((++RUN))-udp-ping \
		desc="$1: XDP_TX at L1: UDP echoed back to the peer intact"
	can_run "$desc" || return
	if ! upper_prog xs_c1 xl1 xs_reflect; then
		FAILS=()
		fail "cannot attach xs_reflect to xl1"
		result "$desc"
		return
	fi
	begin "xs_peer xs_c1" "xs_c1:xl1"
	py_fg xs_peer "$out" udp-ping $IP_XL1 7 $ECHO_N $ECHO_SIZE
	[ "$(first_line "$out")" = "got=$ECHO_N bad=0" ] ||
		fail "udp-ping $IP_XL1 port 7: $(first_line "$out") (of $ECHO_N)"
	finish "$m" $ECHO_N $ECHO_N
	expect_delta xl1 xdp_tx -eq $ECHO_N
	upper_prog xs_c1 xl1 off || fail "cannot detach xs_reflect from xl1"
	result "$desc"
}

# XDP_REDIRECT at L1: xs_redirect on xl1 sends UDP to port 9 to sr0 with
# sr1's MAC; the receiver in xs_r (which has xl1's address) must get every
# datagram intact.
case_redirect() { # MODE
	local m=$1 desc="$1: XDP_REDIRECT at L1: UDP redirected to another veth arrives intact"
	can_run "$desc" || return
	if ! upper_prog xs_c1 xl1 xs_redirect; then
		FAILS=()
		fail "cannot attach xs_redirect to xl1"
		result "$desc"
		return
	fi
	begin "xs_peer xs_c1 xs_r" "xs_c1:xl1"
	udp_run xs_peer xs_r $IP_SR1 9 $ECHO_N $ECHO_SIZE
	finish "$m" $ECHO_N $ECHO_N
	expect_delta xl1 xdp_redirect -eq $ECHO_N
	upper_prog xs_c1 xl1 off || fail "cannot detach xs_redirect from xl1"
	result "$desc"
}

# case_leak: LEAK_SKBS UDP frames to L1 through the peer's ndo_start_xmit
# (pktgen: skbs as the peer's stack sends them, CHECKSUM_PARTIAL since veth
# offers checksum offload) on the native path must not leak memory: veth's
# skb receive path (veth_xdp_rcv_skb: the copy into a page_pool page, the
# checksum completed, the old skb released), the XDP rx handler and the skb
# xdpvlan builds. Nothing listens on the port: the datagrams must reach UDP
# with valid checksums (NoPorts; InCsumErrors unchanged). Only xs_c1's error
# counters count: the peer gets an ICMP port unreachable back now and then,
# and with no socket of its own to match it counts that as Icmp InErrors
# (seen: +592). pktgen and not a socket: a Python sender moves about 150
# datagrams a second in the debug guest.
case_leak() {
	local desc="native: no memory leak over $LEAK_SKBS UDP frames"
	desc+=" from the peer's xmit (pktgen, CHECKSUM_PARTIAL) to L1"
	can_run "$desc" || return
	begin xs_c1 "xs_c1:xl1"
	if ! pktgen_load; then
		fail "no pktgen module"
		result "$desc"
		return
	fi
	leak_pktgen xs_peer p0 xs_c1 xl1 $MAC_XL1 $IP_P0 $IP_XL1 rx_native
	expect_delta xl1 rx_skb -eq 0
	result "$desc"
}

# gen_frames N: N frames of 60 bytes from p0 to L1 (UDP to port 9, where
# nothing listens) as XDP live frames (xv_devmap.py flood, xs_tx): p0's
# ndo_xdp_xmit puts them in s0's ring as xdp_frames, 64 at a time, at most
# 128 ahead of what s0 has taken from its ring.
gen_frames() {
	local out
	out=$(timeout -k 5 1200 python3 "$DIR/xv_devmap.py" flood "$PROGS/xs_tx" xs_peer:p0 "$1" \
		$MAC_XL1 $IP_P0 $IP_XL1 /sys/class/net/s0/statistics/rx_packets 2>&1) ||
		fail "sending $1 frames: $out"
}

# case_leak_frames MODE: LEAK_FRAMES XDP frames to L1 must not leak memory, on
# MODE's path: native (s0's program in driver mode: veth's xdp_frame receive
# path, the XDP rx handler, the skb xdpvlan builds around the frame's page)
# or skb (generic mode: veth builds the skb, GRO on s0 gives it the NAPI that
# takes the frames; xdpvlan's rx_handler). Nothing may leak
# (expect_no_leak).
case_leak_frames() {
	local m=$1 desc="$1: no memory leak over $LEAK_FRAMES XDP frames to L1"
	local ctr=rx_native other=rx_skb
	can_run "$desc" || return
	begin "" "xs_c1:xl1"
	if [ "$m" = skb ]; then
		ctr=rx_skb other=rx_native
		gro_on s0 || fail "cannot enable GRO on s0"
	fi
	set_l0_prog s0 "$m" xs_pass || fail "cannot put xs_pass on s0 in $m mode"
	# A warm-up fills the caches and the page pools first. (A failure in
	# it or in the set-up above fails the case too.)
	gen_frames "$LEAK_WARMUP"
	wait_counter xs_c1 xl1 $ctr
	mem_snap b || fail "cannot read MemAvailable and /proc/slabinfo"
	snapshot b
	gen_frames "$LEAK_FRAMES"
	wait_counter xs_c1 xl1 $ctr
	snapshot a
	msg "xl1: $ctr +$(delta xl1 $ctr) of $LEAK_FRAMES"
	# veth drops what its ring has no room for; the rest must come by
	# MODE's path.
	expect_delta xl1 $ctr -ge $((LEAK_FRAMES * 9 / 10))
	expect_delta xl1 $other -eq 0
	expect_no_leak "$LEAK_FRAMES"
	if [ "$m" = skb ]; then
		ethtool -K s0 gro off >/dev/null 2>&1 || fail "cannot disable GRO on s0"
	fi
	set_mode native || fail "cannot restore native mode"
	msg "$((SECONDS - CASE_T0)) s"
	result "$desc"
}

# MTU 9000 on p0, s0 and xl1: TCP segments of up to 8960 bytes arrive as
# multi-buffer xdp_buffs (s0 runs xs_pass_frags). Natively to xl1 with a
# frags-aware program; then with one that is not, which makes xdpvlan fall
# back to the skb path for those frames.
setup_mtu() {
	set_mode native &&
		set_l0_prog s0 native xs_pass_frags &&
		ip link set s0 mtu $MTU_BIG &&
		ip -n xs_peer link set p0 mtu $MTU_BIG &&
		ip -n xs_c1 link set xl1 mtu $MTU_BIG
}

restore_mtu() {
	upper_prog xs_c1 xl1 off
	ip -n xs_c1 link set xl1 mtu 1500
	ip -n xs_peer link set p0 mtu 1500
	ip link set s0 mtu 1500
	set_l0_prog s0 native xs_pass
}

case_mtu_frags() { # REASON
	local desc="native: MTU $MTU_BIG, multi-buffer frames:"
	desc+=" TCP 4 MiB to L1 with a frags-aware program intact"
	can_run "$desc" "$1" || return
	begin "xs_peer xs_c1" "xs_c1:xl1"
	upper_prog xs_c1 xl1 xs_pass_frags || fail "cannot attach xs_pass_frags to xl1"
	tcp_run xs_peer xs_c1 $IP_XL1 $TCP_BYTES 8000
	finish native $TCP_MIN_BIG 0
	expect_delta xl1 rx_native_fallback -eq 0
	result "$desc"
}

case_mtu_fallback() { # REASON
	local desc="native: MTU $MTU_BIG, a program without frags on L1:"
	desc+=" multi-buffer frames fall back, TCP 4 MiB intact"
	can_run "$desc" "$1" || return
	begin "xs_peer xs_c1" "xs_c1:xl1"
	upper_prog xs_c1 xl1 xs_pass || fail "cannot attach xs_pass to xl1"
	tcp_run xs_peer xs_c1 $IP_XL1 $TCP_BYTES 8000
	snapshot a
	expect_no_errors
	# Frames that fall back take the skb path and count there too.
	expect_delta xl1 rx_native_fallback -ge 1
	local fb sk
	fb=$(delta xl1 rx_native_fallback) sk=$(delta xl1 rx_skb)
	[ -n "$fb" ] && [ -n "$sk" ] && [ "$sk" -lt "$fb" ] &&
		fail "xl1: rx_skb grew by $sk, less than rx_native_fallback ($fb)"
	msg "$((SECONDS - CASE_T0)) s"
	result "$desc"
}

trap cleanup EXIT
ktap_print_header
ktap_set_plan $PLAN
setup_base && setup_s0 && setup_t0 || BROKEN=${BROKEN:-setup failed}
[ -n "$BROKEN" ] && msg "$BROKEN: every case fails"

for m in native skb; do
	[ -n "$BROKEN" ] || set_mode $m
	if [ $m = skb ]; then
		# The skb path (L0's program in generic mode, xdpvlan's rx_handler)
		# as the baseline the native path is compared with: TCP 1 MiB and
		# UDP to L1 and L2. The other cases are about the native path.
		TCP_N=$((1 << 20))
		for t in L1 L2; do
			case_tcp $m $t
			case_udp $m $t 1200
		done
		continue
	fi
	TCP_N=$TCP_BYTES
	for t in L1 L2; do
		case_tcp $m $t
		case_udp $m $t 1200
		case_udp $m $t 64
		case_ping $m $t
	done
	case_sctp $m
	case_vlan $m
	# The same cases with upper programs: 1 MiB.
	TCP_N=$((1 << 20))
	why=
	if [ -z "$BROKEN$MODE_BROKEN" ]; then
		upper_prog xs_c1 xl1 xs_pass && upper_prog xs_c2 xl2 xs_pass ||
			why="cannot attach xs_pass to xl1 and xl2"
	fi
	for t in L1 L2; do
		case_tcp $m $t ", XDP_PASS programs on xl1 and xl2," "$why"
		case_udp $m $t 1200 ", XDP_PASS programs on xl1 and xl2," "$why"
	done
	if [ -z "$BROKEN$MODE_BROKEN" ]; then
		upper_prog xs_c1 xl1 off && upper_prog xs_c2 xl2 off ||
			MODE_BROKEN="cannot detach the programs of xl1 and xl2"
	fi
	case_reflect $m
	case_redirect $m
	# The other veth receive path: 4 MiB natively again.
	[ $m = native ] && TCP_N=$TCP_BYTES
	for t in hL1 hL2; do
		case_tcp $m $t
		case_udp $m $t 1200
	done
done

[ -n "$BROKEN" ] || set_mode native
case_leak
case_leak_frames native
case_leak_frames skb

why=
if [ -z "$BROKEN$MODE_BROKEN" ] && ! setup_mtu; then
	why="cannot set MTU $MTU_BIG with xs_pass_frags on s0"
fi
case_mtu_frags "$why"
case_mtu_fallback "$why"
[ -n "$BROKEN$MODE_BROKEN" ] || restore_mtu
ktap_finished
