#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# For developers: write the commits base..HEAD of a kernel tree (default: the
# dev worktree $XDPRX_CACHE/dev) to patches/ as git format-patch files and
# rewrite patches/series. patches/cover-letter.patch (the 00/21 mail; not
# named 0*.patch, so that 'git am patches/0*.patch' applies the series) is
# kept as it is.
#
#   scripts/export-series.sh [TREE]    (a worktree of $XDPRX_CACHE/linux)
#
# The commits are the whole series: the C patches, the Rust abstractions, the
# xdpvlan driver and the selftests. Before writing anything, the project's
# files under rust/, drivers/ and tools/ must equal the tree's
# (scripts/check-drift.sh --against the tree's HEAD; FORCE=1 exports anyway),
# and the tree must have no uncommitted changes. After writing, the series is
# staged and must give the tree's HEAD exactly.
. "$(dirname "$0")/lib.sh"

tree=${1:-$XDPRX_CACHE/dev}
git -C "$tree" rev-parse -q --verify base >/dev/null || die "$tree has no base branch"
n=$(git -C "$tree" rev-list --count base..HEAD)
[ "$n" -gt 0 ] || die "$tree has no commits on top of base"
git -C "$tree" diff --quiet HEAD -- ||
	die "$tree has uncommitted changes: commit them (into the commit that owns each file) first"
head=$(git -C "$tree" rev-parse HEAD)
if ! "$XDPRX_TOP/scripts/check-drift.sh" --against "$head" >&2; then
	[ "${FORCE:-0}" = 1 ] ||
		die "the project's files differ from $tree (above): copy them over, or FORCE=1 to export anyway"
	log "exporting anyway (FORCE=1)"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$tree" format-patch -q --zero-commit --no-signature --subject-prefix="PATCH net-next" \
	-o "$tmp" base..HEAD
find "$XDPRX_TOP/patches" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' ! -name '0000-*' -delete
mv "$tmp"/*.patch "$XDPRX_TOP/patches/"
for f in "$XDPRX_TOP"/patches/[0-9][0-9][0-9][0-9]-*.patch; do
	case ${f##*/} in 0000-*) ;; *) echo "${f##*/}" ;; esac
done >"$XDPRX_TOP/patches/series"
log "exported $n patches to patches/"

staged=$("$XDPRX_TOP/scripts/stage.sh" --no-checkout)
[ "$(git -C "$tree" rev-parse "$head^{tree}")" = "$(git -C "$tree" rev-parse "$staged^{tree}")" ] ||
	die "patches/ applied to the base does not give $tree: git -C $tree diff $staged $head"
log "patches/ applied to the base gives $tree exactly"
