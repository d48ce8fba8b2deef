#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Benchmark: how fast frames for an xdpvlan upper reach its XDP program,
# natively through the XDP rx handler or through the skb path. Builds the
# release kernel (no KASAN, lockdep, kmemleak, KUnit), boots it and runs
# scripts/guest/bench.sh, which sends pktgen traffic from a veth peer to the
# upper's address and measures the rate at which the upper's program
# (XDP_DROP) sees the frames:
#
#   native   v0 (lower) runs XDP_PASS in driver mode: veth -> XDP rx handler
#            -> xdpvlan runs its program on the xdp_buff, no skb
#   skb      v0 runs XDP_PASS in generic mode: skb -> rx_handler -> xdpvlan
#            runs its program in generic mode on the skb
#   none     v0 runs no program: skb -> rx_handler -> generic program
#
# Prints a table and writes it to $XDPRX_CACHE/runs/bench-*/bench.txt. Under
# TCG (no KVM) the absolute numbers are an emulator's; compare the rows.
. "$(dirname "$0")/lib.sh"
export FLAVOUR=release
XDPRX_FLAVOUR=release

"$XDPRX_TOP/scripts/deps.sh"
"$XDPRX_TOP/scripts/get-source.sh" >/dev/null
"$XDPRX_TOP/scripts/build-kernel.sh"
"$XDPRX_TOP/scripts/build-tests.sh"
make -s -C "$XDPRX_TOP" KDIR="$(xdprx_build_dir)" LLVM="$XDPRX_LLVM" >/dev/null ||
	die "out-of-tree module build failed"
out=$XDPRX_CACHE/runs/bench-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
"$XDPRX_TOP/scripts/vm-run.sh" --out "$out" -- bash scripts/guest/bench.sh "${BENCH_FRAMES:-1000000}"
cat "$out/bench.txt"
