#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs the KUnit suite of the Rust network abstractions (rust_net_kunit.ko)
# and reports each of its cases. The suite runs when the module is loaded and
# needs a veth (rnetv0), a loaded XDP program and a loaded devmap program,
# whose ids it gets.

set -u
DIR=$(cd "$(dirname "$0")" && pwd)
source "${KSFT_HELPERS:-$DIR/../../../kselftest}/ktap_helpers.sh"
OBJ=$DIR/../xdp_rx_handler/xdp_progs.bpf.o
DMOBJ=$DIR/rnet_devmap.bpf.o
MOD=$DIR/rust_net_kunit.ko
SUITE=rust_net_abstractions
CASES=8

cleanup() {
	rmmod rust_net_kunit 2>/dev/null
	ip link del rnetv0 2>/dev/null
	rm -rf /sys/fs/bpf/rnet /sys/fs/bpf/rnet_dm
}
trap cleanup EXIT

ktap_print_header
if [ ! -f "$MOD" ] || [ ! -f "$OBJ" ] || [ ! -f "$DMOBJ" ]; then
	ktap_skip_all "rust_net_kunit.ko or a BPF object is not built"
	exit "$KSFT_SKIP"
fi
ktap_set_plan $CASES
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
ip link add rnetv0 type veth peer name rnetv1 || ktap_exit_fail_msg "veth"
bpftool prog loadall "$OBJ" /sys/fs/bpf/rnet type xdp || ktap_exit_fail_msg "bpftool"
# prog_id PIN: the id of a pinned program ("ID: TYPE name ..." is the
# first line bpftool shows); no Python, whose first start in a boot takes
# most of a minute in the debug guest.
prog_id() {
	local line
	line=$(bpftool prog show pinned "$1" | head -n 1) || return 1
	[[ "$line" =~ ^([0-9]+): ]] || return 1
	echo "${BASH_REMATCH[1]}"
}
id=$(prog_id /sys/fs/bpf/rnet/xrh_pass) || ktap_exit_fail_msg "no program id"
bpftool prog load "$DMOBJ" /sys/fs/bpf/rnet_dm || ktap_exit_fail_msg "bpftool (devmap program)"
dmid=$(prog_id /sys/fs/bpf/rnet_dm) || ktap_exit_fail_msg "no devmap program id"
insmod "$MOD" prog_id="$id" devmap_prog_id="$dmid" || ktap_exit_fail_msg "insmod failed"
res=/sys/kernel/debug/kunit/$SUITE/results
[ -f "$res" ] || ktap_exit_fail_msg "the suite did not run"
n=0
while read -r line; do
	case "$line" in
	"ok "*|"not ok "*)
		name=${line#*ok [0-9]* }
		[ "$name" = "$SUITE" ] && continue
		n=$((n + 1))
		if [ "${line%%ok*}" = "" ]; then
			ktap_test_pass "$name"
		else
			ktap_test_fail "$name"
		fi
		;;
	"# "*) echo "$line" ;;
	esac
done < <(sed 's/^[[:space:]]*//' "$res")
[ "$n" = "$CASES" ] || ktap_print_msg "the suite reported $n cases, $CASES expected"
ktap_finished
