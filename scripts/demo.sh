#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The main job: set up everything on a fresh machine, build the patched
# kernel, boot it under virtme-ng and show the XDP rx handler at work
# (scripts/guest/demo.sh says what it shows).
. "$(dirname "$0")/lib.sh"
export FLAVOUR=${FLAVOUR:-debug}
XDPRX_FLAVOUR=$FLAVOUR

"$XDPRX_TOP/scripts/deps.sh"
base=$("$XDPRX_TOP/scripts/get-source.sh")
"$XDPRX_TOP/scripts/build-kernel.sh"
[ ! -x "$XDPRX_TOP/scripts/build-tests.sh" ] || "$XDPRX_TOP/scripts/build-tests.sh"
make -s -C "$XDPRX_TOP" KDIR="$(xdprx_build_dir)" LLVM="$XDPRX_LLVM" >/dev/null ||
	die "out-of-tree module build failed"
log "base: $base; series: $(grep -c . "$XDPRX_TOP/patches/series") patches"
exec "$XDPRX_TOP/scripts/vm-run.sh" -- bash scripts/guest/demo.sh
