#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Write patches/in-tree/0001-net-add-the-xdpvlan-driver.patch: the xdpvlan
# driver as a patch on top of the staged tree (base + series + rust/), with
# its Kconfig entry and Makefile line, for building it in-tree
# (CONFIG_XDPVLAN=m) instead of out of tree. Checks that the patch applies.
. "$(dirname "$0")/lib.sh"

staged=$("$XDPRX_TOP/scripts/stage.sh")
repo=$(xdprx_src_dir)
wt=$XDPRX_CACHE/driver-wt
git -C "$repo" worktree prune
[ -e "$wt/.git" ] || git -C "$repo" worktree add -q --detach "$wt" "$staged"
git -C "$wt" checkout -q -f --detach "$staged"
git -C "$wt" clean -fdxq
mkdir -p "$wt/drivers/net/xdpvlan"
cp "$XDPRX_TOP/drivers/net/xdpvlan/xdpvlan.rs" "$XDPRX_TOP/drivers/net/xdpvlan/Makefile" \
	"$wt/drivers/net/xdpvlan/"
python3 - "$wt" <<'PY'
import sys
wt = sys.argv[1]
k = f'{wt}/drivers/net/Kconfig'
s = open(k).read()
entry = '''config XDPVLAN
	tristate "xdpvlan: macvlan-style device with a native XDP path (Rust)"
	depends on RUST && BPF_SYSCALL
	select GRO_CELLS
	help
	  A stacked Ethernet device on top of any Ethernet device, like
	  macvlan, whose native XDP path takes frames from the lower device's
	  XDP program through the XDP rx handler, before an skb is built.
	  Devices can be stacked (L0 -> L1 -> L2), each level running its own
	  XDP program.

	  To compile this driver as a module, choose M here: the module will
	  be called xdpvlan.

'''
anchor = 'config MACVTAP\n'
assert anchor in s
s = s.replace(anchor, entry + anchor, 1)
open(k, 'w').write(s)
m = f'{wt}/drivers/net/Makefile'
s = open(m).read()
anchor = 'obj-$(CONFIG_MACVLAN) += macvlan.o\n'
assert anchor in s
s = s.replace(anchor, anchor + 'obj-$(CONFIG_XDPVLAN) += xdpvlan/\n', 1)
open(m, 'w').write(s)
PY
git -C "$wt" add -f drivers/net/Kconfig drivers/net/Makefile drivers/net/xdpvlan
git -C "$wt" -c user.name="$(git -C "$XDPRX_TOP" config user.name)" \
	-c user.email="$(git -C "$XDPRX_TOP" config user.email)" commit -q -s -F - <<'MSG'
net: add xdpvlan, a stacked device with a native XDP path, in Rust

xdpvlan is a macvlan-style Ethernet device on top of any Ethernet
device ("ip link add link L name U type xdpvlan"). Its native XDP path
registers an XDP rx handler on the lower device: a frame that the lower
driver's XDP program passed reaches the upper device, runs the upper's
program and is delivered, redirected, sent or dropped before an skb is
built. Uppers can be stacked; each level runs its own program exactly
once, on the native and on the skb path alike.

It is written with the kernel::net abstractions and has no unsafe code.
See Documentation/xdpvlan.rst of the project for the details.
MSG
mkdir -p "$XDPRX_TOP/patches/in-tree"
git -C "$wt" format-patch -q -1 --zero-commit --no-signature --subject-prefix="PATCH net-next" \
	-o "$XDPRX_TOP/patches/in-tree" HEAD
git -C "$wt" checkout -q -f --detach "$staged"
git -C "$wt" apply --check "$XDPRX_TOP"/patches/in-tree/*.patch || die "the in-tree patch does not apply"
log "wrote $(ls "$XDPRX_TOP"/patches/in-tree/*.patch)"
