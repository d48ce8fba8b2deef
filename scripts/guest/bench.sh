#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run in the guest by scripts/bench.sh (see there). $1: frames per mode.
set -u
COUNT=${1:-1000000}
ST=$XDPRX_TOP/tools/testing/selftests/drivers/net
OBJ=$ST/xdpvlan/xv_progs.bpf.o
OUT=$XDPRX_OUT/bench.txt
MAC=02:00:00:00:01:01
P=/sys/fs/bpf/bench

insmod "$XDPRX_TOP/drivers/net/xdpvlan/xdpvlan.ko" || exit 1
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
ip netns add bp
ip link add v0 type veth peer name v1 netns bp
ip link add link v0 name u1 address $MAC type xdpvlan
# GRO on v0 keeps veth's NAPI, and so v1's ndo_xdp_xmit, running when v0
# has no program in driver mode.
ethtool -K v0 gro on >/dev/null || exit 1
ip link set v0 up; ip link set u1 up; ip -n bp link set v1 up
bpftool prog loadall "$OBJ" $P type xdp || exit 1
ip link set u1 xdp pinned $P/xv_drop || exit 1

drops() { ethtool -S u1 | awk '$1 == "xdp_drop:" { print $2 }'; }
run() { # mode
	local a b sent secs
	case $1 in
	native) ip link set v0 xdpgeneric off; ip link set v0 xdpdrv pinned $P/xv_pass ;;
	skb) ip link set v0 xdpdrv off; ip link set v0 xdpgeneric pinned $P/xv_pass ;;
	none) ip link set v0 xdpdrv off; ip link set v0 xdpgeneric off ;;
	esac || exit 1
	a=$(drops)
	read -r sent secs < <(python3 "$XDPRX_TOP/scripts/guest/xdp-gen.py" \
		$P/xv_tx bp:v1 "$COUNT" $MAC) || exit 1
	sleep 0.2
	b=$(drops)
	python3 -c "import sys; n=$b-$a; t=$secs; print(f'{sys.argv[1]:8} {n:10d} of {$sent} frames {t:6.1f} s {n/t:10.0f} frames/s')" "$1"
}
{
	echo "xdpvlan: rate at which u1's XDP_DROP program sees 60-byte frames sent from v1 (XDP_TX, live frames)"
	echo "kernel $(uname -r), $(nproc) CPUs, $COUNT frames per mode"
	for m in native skb none native; do run $m; done
} | tee "$OUT"
st=${PIPESTATUS[0]}
ip link del u1; ip link del v0; ip netns del bp; rmmod xdpvlan
exit "$st"
