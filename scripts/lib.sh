# SPDX-License-Identifier: GPL-2.0
# Common settings for the project's scripts. Sourced, never run.
#
# Everything that is built or downloaded lives in $XDPRX_CACHE, outside the
# repository, so that a fresh clone reuses it and an unchanged tree rebuilds
# in seconds.

set -euo pipefail

XDPRX_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
XDPRX_CACHE=${XDPRX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xdp-rx-handler}
# LLVM suffix, as the kernel's LLVM= takes it ("-19" means clang-19, ld.lld-19, ...).
XDPRX_LLVM=${LLVM:--19}
# Kernel flavour: "debug" (tests: KASAN, lockdep, kmemleak) or "release" (benchmarks).
XDPRX_FLAVOUR=${FLAVOUR:-debug}

# Pinned tool versions.
XDPRX_BINDGEN_VERSION=0.73.2
XDPRX_VNG_VERSION=1.42
# Debian source package of the base tree.
XDPRX_SRC_PKG=linux-source-7.3
XDPRX_SRC_SUITE=trixie-backports

export PATH="$HOME/.cargo/bin:$HOME/.local/bin:/usr/local/bin:$PATH"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Source tree (git repository, working tree used for the build).
xdprx_src_dir() { echo "${KSRC_STAGE:-$XDPRX_CACHE/linux}"; }
# Build output directory (O=) of a flavour.
xdprx_build_dir() { echo "$XDPRX_CACHE/build-${1:-$XDPRX_FLAVOUR}"; }

# Write $2 to file $1 only if the content differs, so mtimes of unchanged
# files stay and make does not rebuild what depends on them.
write_if_changed() {
	local f=$1 tmp
	tmp=$(mktemp)
	cat >"$tmp"
	if [ -f "$f" ] && cmp -s "$tmp" "$f"; then
		rm -f "$tmp"
		return 1
	fi
	mkdir -p "$(dirname "$f")"
	mv "$tmp" "$f"
	return 0
}

kmake() {
	local src
	src=$(xdprx_src_dir)
	make -C "$src" O="$(xdprx_build_dir)" LLVM="$XDPRX_LLVM" \
		-j"$(nproc)" "$@"
}
