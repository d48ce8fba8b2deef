#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build what the kselftests need against the built kernel: the BPF objects
# (clang -target bpf) and the test modules (kbuild, out of tree).
. "$(dirname "$0")/lib.sh"

build=$(xdprx_build_dir)
[ -f "$build/Module.symvers" ] || die "no kernel build in $build: run scripts/build-kernel.sh"
st=$XDPRX_TOP/tools/testing/selftests
inc=/usr/include/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
# Since 6.13 kbuild runs an external module's build in the module's own
# directory, where the $(wildcard include/config/FOO) dependencies that fixdep
# recorded find nothing: a module is not rebuilt when only the kernel's
# configuration changed, and a C module then keeps the struct layouts of the
# old one (a new CONFIG_VLAN_8021Q moves every field of struct net_device after
# vlan_info). So a module is cleaned whenever the configuration it was built
# against differs from the kernel's (recorded beside the kernel build).
conf=$build/include/config/auto.conf
for kb in $(find "$st" -name Kbuild | sort); do
	dir=$(dirname "$kb")
	stamp=$build/extmod-$(echo "${dir#"$XDPRX_TOP"/}" | tr / _).conf
	if ! cmp -s "$conf" "$stamp"; then
		make -s -C "$build" M="$dir" LLVM="$XDPRX_LLVM" clean >/dev/null 2>&1 || :
	fi
	log "module ${dir#"$XDPRX_TOP"/}"
	make -s -C "$build" M="$dir" LLVM="$XDPRX_LLVM" modules >"$build/extmod.log" 2>&1 ||
		{ cat "$build/extmod.log" >&2; die "module build in $dir failed"; }
	cp "$conf" "$stamp"
done
# The BPF objects after the modules: cleaning a module's directory (above)
# removes every *.o in it, rnet_devmap.bpf.o beside rust_net's Kbuild too.
for src in $(find "$st" -name '*.bpf.c' | sort); do
	obj=${src%.c}.o
	if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ]; then
		log "clang -target bpf ${src#"$XDPRX_TOP"/}"
		"clang$XDPRX_LLVM" -O2 -g -target bpf -I"$inc" -c "$src" -o "$obj" ||
			die "BPF build of $src failed"
	fi
done
