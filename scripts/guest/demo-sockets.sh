#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run in the guest by scripts/demo.sh: real TCP and UDP from a veth peer's
# stack to xdpvlan uppers, on the native path (the lower's program in driver
# mode: veth -> XDP rx handler -> xdpvlan, no skb until the upper's) and on the
# skb path (the same program in generic mode), with the bytes, the time, the
# payload hash on both ends, the receivers' checksum error counters and the
# uppers' rx_native / rx_skb counters.
#
#   netns xsd_peer: p0 10.79.9.1 --- s0 (L0, veth, XDP_PASS program)
#                                      <- xl1 (L1, xdpvlan, netns xsd_c1, 10.79.9.2)
#                                         <- xl2 (L2, xdpvlan, netns xsd_c2, 10.79.9.3)
set -u
ST=$XDPRX_TOP/tools/testing/selftests/drivers/net/xdpvlan
SOCK="python3 $ST/xv_sock.py"
OBJ=$ST/xv_sock_progs.bpf.o
KO=$XDPRX_TOP/drivers/net/xdpvlan/xdpvlan.ko
BYTES=${DEMO_TCP_BYTES:-4194304}
[ -f "$KO" ] && [ -f "$OBJ" ] && [ -f "$ST/xv_sock.py" ] || { echo "== sockets: not built"; exit 0; }
grep -q '^xdpvlan ' /proc/modules || insmod "$KO" || exit 1

for ns in xsd_peer xsd_c1 xsd_c2; do
	ip netns add $ns
	ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n $ns link set lo up
done
ip link add s0 type veth peer name p0 netns xsd_peer
ip link add link s0 name xl1 address 02:00:00:00:09:02 type xdpvlan
ip link add link xl1 name xl2 address 02:00:00:00:09:03 type xdpvlan
ip link set xl1 netns xsd_c1
ip link set xl2 netns xsd_c2
ip link set s0 up
ip -n xsd_peer addr add 10.79.9.1/24 dev p0
ip -n xsd_peer link set p0 up
ip -n xsd_c1 addr add 10.79.9.2/24 dev xl1
ip -n xsd_c1 link set xl1 up
ip -n xsd_c2 addr add 10.79.9.3/24 dev xl2
ip -n xsd_c2 link set xl2 up
# The peer takes frames sent back with XDP (and TCP's ACKs need no XDP).
ip -n xsd_peer link set p0 xdpdrv obj "$OBJ" sec xdp program xs_pass 2>/dev/null ||
	ip -n xsd_peer link set p0 xdpdrv obj "$OBJ" program xs_pass

csum_errs() { # NETNS: InCsumErrors of TCP + UDP
	ip netns exec "$1" awk '/^(Tcp|Udp):/ { if (h[$1]) { for (i = 2; i <= NF; i++) if (n[$1, i] == "InCsumErrors") s += $i } else { h[$1] = 1; for (i = 2; i <= NF; i++) n[$1, i] = $i } } END { print s + 0 }' /proc/net/snmp
}
stat_of() { ip netns exec "$1" ethtool -S "$2" | awk -v k="$3:" '$1 == k { print $2 }'; }

# tcp NETNS DEV ADDR: BYTES from the peer to ADDR.
tcp() {
	local ns=$1 dev=$2 addr=$3 rdy=/tmp/xsd.rdy r s n0 k0 c0 t0 t1
	rm -f $rdy
	n0=$(stat_of "$ns" "$dev" rx_native) k0=$(stat_of "$ns" "$dev" rx_skb) c0=$(csum_errs "$ns")
	ip netns exec "$ns" $SOCK tcp-recv "$addr" 5001 $rdy >/tmp/xsd.recv &
	for _ in $(seq 200); do [ -e $rdy ] && break; sleep 0.1; done
	t0=$(date +%s.%N)
	s=$(ip netns exec xsd_peer $SOCK tcp-send "$addr" 5001 "$BYTES" 65536)
	wait $!
	t1=$(date +%s.%N)
	r=$(cat /tmp/xsd.recv)
	printf '   TCP to %s (%s): sent %s\n' "$dev" "$addr" "$s"
	printf '   %*s received %s\n' ${#dev} '' "$r"
	printf '   %s, %.2f s; %s InCsumErrors +%d; %s rx_native +%d rx_skb +%d\n' \
		"$([ "${s#*sha256=}" = "${r#*sha256=}" ] && echo "payload intact" || echo "PAYLOAD DIFFERS")" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$ns" $(( $(csum_errs "$ns") - c0 )) "$dev" \
		$(( $(stat_of "$ns" "$dev" rx_native) - n0 )) $(( $(stat_of "$ns" "$dev" rx_skb) - k0 ))
}

# udp NETNS DEV ADDR: 500 datagrams of 1200 bytes.
udp() {
	local ns=$1 dev=$2 addr=$3 rdy=/tmp/xsd.rdy c0
	rm -f $rdy
	c0=$(csum_errs "$ns")
	ip netns exec "$ns" $SOCK udp-recv "$addr" 5002 500 1200 $rdy >/tmp/xsd.recv &
	for _ in $(seq 200); do [ -e $rdy ] && break; sleep 0.1; done
	ip netns exec xsd_peer $SOCK udp-send "$addr" 5002 500 1200 >/dev/null
	wait $!
	printf '   UDP to %s: 500 datagrams of 1200 bytes sent, %s; InCsumErrors +%d\n' \
		"$dev" "$(cat /tmp/xsd.recv)" $(( $(csum_errs "$ns") - c0 ))
}

for mode in native skb; do
	if [ $mode = native ]; then
		echo "== real sockets, native path: s0's XDP_PASS program in driver mode"
		ip link set s0 xdpgeneric off 2>/dev/null
		ip link set s0 xdpdrv obj "$OBJ" program xs_pass
	else
		echo "== real sockets, skb path: the same program in generic mode"
		ip link set s0 xdpdrv off
		ip link set s0 xdpgeneric obj "$OBJ" program xs_pass
	fi
	ip netns exec xsd_peer ping -c 3 -W 2 -q 10.79.9.3 2>&1 | sed -n 's/^\(.*packet loss\).*/   ping L2: \1/p'
	tcp xsd_c1 xl1 10.79.9.2
	tcp xsd_c2 xl2 10.79.9.3
	udp xsd_c1 xl1 10.79.9.2
	udp xsd_c2 xl2 10.79.9.3
done

ip link del s0
for ns in xsd_peer xsd_c1 xsd_c2; do ip netns del $ns; done
rm -f /tmp/xsd.rdy /tmp/xsd.recv
