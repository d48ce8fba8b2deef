#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run in the guest by scripts/bench.sh (see there). $1: frames per mode.
set -u
COUNT=${1:-1000000}
ST=$XDPRX_TOP/tools/testing/selftests/drivers/net
OBJ=$ST/xdpvlan/xv_progs.bpf.o
OUT=$XDPRX_OUT/bench.txt
MAC=02:00:00:00:01:01
PG=/proc/net/pktgen

insmod "$XDPRX_TOP/drivers/net/xdpvlan/xdpvlan.ko" || exit 1
modprobe pktgen 2>/dev/null || insmod "$(find "$XDPRX_BUILD" -name pktgen.ko | head -n1)" || exit 1
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
ip netns add bp
ip link add v0 type veth peer name v1 netns bp
ip link add link v0 name u1 address $MAC type xdpvlan
ip link set v0 up; ip link set u1 up; ip -n bp link set v1 up
bpftool prog loadall "$OBJ" /sys/fs/bpf/bench type xdp || exit 1
ip link set u1 xdp pinned /sys/fs/bpf/bench/xv_drop || exit 1

pg() { echo "$2" > "$PG/$1" || { echo "pktgen: $1: $2 failed" >&2; exit 1; }; }
# pktgen in the peer's namespace: one thread, v1, 64-byte UDP frames to u1.
ip netns exec bp bash -c "
	echo rem_device_all > $PG/kpktgend_0
	echo add_device v1 > $PG/kpktgend_0
	for c in 'count $COUNT' 'clone_skb 0' 'pkt_size 60' 'delay 0' 'dst 10.0.0.2' 'dst_mac $MAC'; do
		echo \"\$c\" > $PG/v1
	done"

drops() { ethtool -S u1 | awk '$1 == "xdp_drop:" { print $2 }'; }
run() { # mode
	local a b t0 t1
	case $1 in
	native) ip link set v0 xdpgeneric off; ip link set v0 xdpdrv pinned /sys/fs/bpf/bench/xv_pass ;;
	skb) ip link set v0 xdpdrv off; ip link set v0 xdpgeneric pinned /sys/fs/bpf/bench/xv_pass ;;
	none) ip link set v0 xdpdrv off; ip link set v0 xdpgeneric off ;;
	esac
	a=$(drops); t0=$(date +%s.%N)
	ip netns exec bp bash -c "echo start > $PG/pgctrl"
	sleep 0.2
	b=$(drops); t1=$(date +%s.%N)
	python3 -c "import sys; n=$b-$a; t=$t1-$t0; print(f'{sys.argv[1]:8} {n:10d} frames {t:6.1f} s {n/t:10.0f} frames/s')" "$1"
}
{
	echo "xdpvlan: rate at which u1's XDP_DROP program sees 64-byte frames sent by pktgen"
	echo "kernel $(uname -r), $(nproc) CPUs, $COUNT frames per mode"
	for m in native skb none native; do run $m; done
} | tee "$OUT"
ip link del u1; ip link del v0; ip netns del bp; rmmod xdpvlan
