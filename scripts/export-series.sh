#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# For developers: write the commits base..HEAD of a kernel tree (default: the
# dev worktree $XDPRX_CACHE/dev) to patches/ as git format-patch files and
# rewrite patches/series. patches/0000-cover-letter.patch is kept as it is.
. "$(dirname "$0")/lib.sh"

tree=${1:-$XDPRX_CACHE/dev}
git -C "$tree" rev-parse -q --verify base >/dev/null || die "$tree has no base branch"
n=$(git -C "$tree" rev-list --count base..HEAD)
[ "$n" -gt 0 ] || die "$tree has no commits on top of base"
find "$XDPRX_TOP/patches" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' ! -name '0000-*' -delete
git -C "$tree" format-patch -q --zero-commit --no-signature --subject-prefix="PATCH net-next" \
	-o "$XDPRX_TOP/patches" base..HEAD
(cd "$XDPRX_TOP/patches" && ls [0-9][0-9][0-9][0-9]-*.patch | grep -v '^0000-') >"$XDPRX_TOP/patches/series"
log "exported $n patches to patches/"
