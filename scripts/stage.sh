#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Stage the source tree: pristine base + patches/series applied with git am
# (one commit per patch). The series is the whole change: the C patches, the
# Rust abstractions (rust/kernel/net/), the xdpvlan driver and the selftests;
# scripts/check-drift.sh checks that it reproduces the project's files.
#
# Staged commits are keyed on the content of the base and the patches, and
# built in a scratch worktree. The build worktree then checks the staged
# commit out, which rewrites only files whose content differs: make rebuilds
# just what a changed patch touches.
#
#   --no-checkout  stage only: leave the build worktree and
#                  $XDPRX_CACHE/staged-commit alone (for checks that read the
#                  staged commit while a build may be using the worktree)
#
# Prints the staged commit on stdout.
. "$(dirname "$0")/lib.sh"

checkout=1
case "${1:-}" in
	--no-checkout) checkout=0 ;;
	"") ;;
	*) die "usage: $0 [--no-checkout]" ;;
esac

repo=$(xdprx_src_dir)
git -C "$repo" rev-parse -q --verify base >/dev/null 2>&1 ||
	die "no base tree in $repo: run scripts/get-source.sh first"
base=$(git -C "$repo" rev-parse base)

git_q() { git -c user.name="xdp-rx-handler stage" -c user.email=stage@localhost "$@"; }

mapfile -t patches < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$XDPRX_TOP/patches/series")
for p in "${patches[@]}"; do
	[ -f "$XDPRX_TOP/patches/$p" ] || die "patches/series names $p, which is not in patches/"
done

key=$({
	echo "base $base"
	for p in "${patches[@]}"; do
		echo "patch $p"
		cat "$XDPRX_TOP/patches/$p"
	done
} | sha256sum | cut -c1-16)
ref=refs/xdprx/stage/$key

# One staging at a time: the scratch worktree is shared.
mkdir -p "$XDPRX_CACHE"
exec 9>"$XDPRX_CACHE/stage.lock"
flock 9
if ! git -C "$repo" rev-parse -q --verify "$ref" >/dev/null; then
	wt=$XDPRX_CACHE/stage-wt
	if [ ! -e "$wt/.git" ]; then
		log "creating the staging worktree $wt (about a minute, once)"
		git -C "$repo" worktree prune
		git -C "$repo" worktree add -q --detach "$wt" base >/dev/null
	fi
	git -C "$wt" am --abort >/dev/null 2>&1 || true
	git -C "$wt" checkout -q -f --detach base
	git -C "$wt" clean -fdxq
	export GIT_COMMITTER_DATE="@0 +0000"
	for p in "${patches[@]}"; do
		if ! out=$(git_q -C "$wt" am -q --committer-date-is-author-date \
				"$XDPRX_TOP/patches/$p" 2>&1); then
			git -C "$wt" am --abort >/dev/null 2>&1 || true
			where=$(printf '%s\n' "$out" | sed -n 's/^error: patch failed: \(.*\):\([0-9]*\)$/\1, hunk at line \2/p' | head -n1)
			[ -n "$where" ] || where=$(printf '%s\n' "$out" | grep -m1 '^error:' || echo "see git am output")
			die "patches/$p does not apply on $(cat "$XDPRX_CACHE/base-version" 2>/dev/null || echo "$base"): $where"
		fi
	done
	git -C "$repo" update-ref "$ref" "$(git -C "$wt" rev-parse HEAD)"
	log "staged ${#patches[@]} patches as $(git -C "$repo" rev-parse --short "$ref")"
fi
exec 9>&-

target=$(git -C "$repo" rev-parse "$ref")
if [ "$checkout" = 0 ]; then
	echo "$target"
	exit 0
fi
if [ "$(git -C "$repo" rev-parse -q --verify HEAD 2>/dev/null)" != "$target" ]; then
	log "checking out the staged tree in $repo"
	git -C "$repo" checkout -q -f --detach "$target"
fi
echo "$target" >"$XDPRX_CACHE/staged-commit"
echo "$target"
