#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Part of the demo, in the guest: frames on a veth whose XDP program passes
# them reach a test XDP rx handler before any skb exists. Runs the veth
# selftest with the xdp:xdp_rx_handler tracepoint on and shows a sample.
set -u
t=/sys/kernel/tracing
dir=$XDPRX_TOP/tools/testing/selftests/drivers/net/xdp_rx_handler
[ -f "$dir/xrh_testmod/xrh_testmod.ko" ] || { echo "== (test module not built: no live demo)"; exit 0; }
echo "== veth v1 (XDP program: XDP_PASS) + test XDP rx handler: each result, both veth paths"
echo > "$t/trace"
echo 1 > "$t/events/xdp/xdp_rx_handler/enable"
(cd "$dir" && KSFT_HELPERS=$XDPRX_KSRC/tools/testing/selftests/kselftest ./veth.sh) | sed 's/^/   /'
echo 0 > "$t/events/xdp/xdp_rx_handler/enable"
echo "== xdp:xdp_rx_handler events by result (32 frames per case):"
grep -o 'result=[A-Z_]*' "$t/trace" | sort | uniq -c | sed 's/^/   /'
echo "== a few of them:"
grep xdp_rx_handler: "$t/trace" | awk 'NR % 64 == 1' | head -n 5 | sed 's/^ */   /'
