#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install the host tools needed to build and boot the test kernel (Debian).
# Idempotent: skips what is already there and says what it does.
. "$(dirname "$0")/lib.sh"

APT_PKGS=(clang-19 lld-19 llvm-19 libclang-19-dev flex bison bc libelf-dev
	libssl-dev cpio kmod rsync qemu-system-x86 udev pahole libbpf-dev
	bpftool iproute2 zstd git make python3-pip ethtool iputils-ping
	iperf3 python3-matplotlib linux-perf)

missing=()
for p in "${APT_PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} by hand"
	SUDO=
	[ "$(id -u)" = 0 ] || SUDO=sudo
	log "apt-get install ${missing[*]}"
	$SUDO apt-get update -qq >/dev/null || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed"
else
	log "apt packages: all present"
fi

command -v rustup >/dev/null || die "rustup not found: install a Rust toolchain with rustup first"
if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	log "rustup component add rust-src"
	rustup component add rust-src >/dev/null 2>&1 || die "rustup component add rust-src failed"
fi
for c in rustfmt clippy; do
	if ! rustup component list --installed 2>/dev/null | grep -q "^$c"; then
		log "rustup component add $c"
		rustup component add "$c" >/dev/null 2>&1 || die "rustup component add $c failed"
	fi
done

if ! bindgen --version 2>/dev/null | grep -qF " $XDPRX_BINDGEN_VERSION"; then
	log "cargo install bindgen-cli@$XDPRX_BINDGEN_VERSION (about 2 minutes)"
	cargo install --locked --quiet bindgen-cli --version "$XDPRX_BINDGEN_VERSION" ||
		die "cargo install bindgen-cli failed"
fi

if ! vng --version 2>/dev/null | grep -qF "$XDPRX_VNG_VERSION"; then
	log "pip install virtme-ng==$XDPRX_VNG_VERSION"
	pip install --quiet --disable-pip-version-check "virtme-ng==$XDPRX_VNG_VERSION" ||
		die "pip install virtme-ng failed"
fi
command -v vng >/dev/null || die "vng not on PATH after installing virtme-ng"
log "host tools ready"
