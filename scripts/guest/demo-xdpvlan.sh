#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run in the guest by scripts/demo.sh: the Rust xdpvlan device on the seed's
# three-level configuration, peer v1 -> v0 (L0, veth) -> u1 (L1) -> u2 (L2),
# with the same counting XDP program at every level (see the xdpvlan selftest).
set -u
ST=$XDPRX_TOP/tools/testing/selftests/drivers/net
OBJ=$ST/xdpvlan/xv_progs.bpf.o
PKT="python3 $ST/xdp_rx_handler/xrh_pkt.py"
source "$ST/xdpvlan/xv_bpf.sh"
BPF=xv_bpf
MAPS=/sys/fs/bpf/xvd_maps
KO=$XDPRX_TOP/drivers/net/xdpvlan/xdpvlan.ko
T=/sys/kernel/tracing
[ -f "$KO" ] && [ -f "$OBJ" ] || { echo "== xdpvlan: not built"; exit 0; }

echo "== xdpvlan: insmod $KO"
insmod "$KO" || exit 1
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip netns add xvd
# A new netns does not inherit disable_ipv6: without this, v1 sends MLD reports
# and router solicitations, which show up as extra multicast frames.
ip netns exec xvd sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
	net.ipv6.conf.default.disable_ipv6=1
ip link add v0 index 4300 type veth peer name v1 netns xvd
ip link add link v0 name u1 index 4301 address 02:00:00:00:01:01 type xdpvlan
ip link add link u1 name u2 index 4302 address 02:00:00:00:02:02 type xdpvlan
for d in v0 u1 u2; do ip link set $d up; done
ip -n xvd link set v1 up
bpftool prog loadall "$OBJ" /sys/fs/bpf/xvd pinmaps $MAPS type xdp
for i in 0 1 2; do $BPF cfg $MAPS $((4300 + i)) $i 2; done
ip link set v0 xdpdrv pinned /sys/fs/bpf/xvd/xv_prog
ip link set u1 xdp pinned /sys/fs/bpf/xvd/xv_prog
ip link set u2 xdp pinned /sys/fs/bpf/xvd/xv_prog
ip -br link show | sed 's/^/   /'
ip -d link show u2 | sed 's/^/   /'

# send TAG COUNT DST: frames from the peer; prints what each level saw and
# how many reached u2.
send() {
	local tag=$1 n=$2 dst=$3 got
	$BPF reset $MAPS
	$PKT count u2 "$tag" 20 >/tmp/xvd.cnt &
	until grep -q ready /tmp/xvd.cnt 2>/dev/null; do sleep 0.1; done
	ip netns exec xvd $PKT send v1 "$dst" "$n" "$tag"
	sleep 1
	kill -TERM %1; wait
	got=$(sed -n 2p /tmp/xvd.cnt)
	$BPF stats $MAPS | awk '$1 < 3 { printf "   L%d program: saw %d frames (sequence numbers %d..%d)\n", $1, $2, $3, $4 }'
	echo "   reached u2: $got of $n"
}

echo 1 > $T/events/xdp/xdp_rx_handler/enable 2>/dev/null
echo > $T/trace
echo "== native path: v0's program in driver mode, 8 frames for L2 (u2)"
send demo1 8 02:00:00:00:02:02
echo "   xdp:xdp_rx_handler events (lower device, result):"
sed -n 's/.*xdp_rx_handler: ifindex=\([0-9]*\) .*result=\([A-Z_]*\).*/ifindex=\1 result=\2/p' $T/trace | sort | uniq -c | sed 's/^/     /'
for d in u1 u2; do
	echo "   ethtool -S $d: $(ethtool -S $d | awk '$2 != 0 && $1 != "NIC" { printf "%s %s ", $1, $2 }')"
done

echo "== XDP_DROP at L1: L2's program never sees the frames"
$BPF cfg $MAPS 4301 1 1
send demo2 8 02:00:00:00:02:02
echo "   ethtool -S u1: $(ethtool -S u1 | awk '$1 == "xdp_drop:" { print $1, $2 }')"
$BPF cfg $MAPS 4301 1 2

echo "== skb path: v0's program in generic mode, same 8 frames for L2"
ip link set v0 xdpdrv off
ip link set v0 xdpgeneric pinned /sys/fs/bpf/xvd/xv_prog
send demo3 8 02:00:00:00:02:02
for d in u1 u2; do
	echo "   ethtool -S $d: $(ethtool -S $d | awk '$1 ~ /^rx_(native|skb):$/ { printf "%s %s ", $1, $2 }')"
done
ip -s link show u2 | sed 's/^/   /'
echo 0 > $T/events/xdp/xdp_rx_handler/enable 2>/dev/null

ip link del u1
ip link del v0
ip netns del xvd
rm -rf /sys/fs/bpf/xvd $MAPS
rmmod xdpvlan && echo "== rmmod xdpvlan: ok"
