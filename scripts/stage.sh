#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Stage the source tree: pristine base + patches/series applied with git am
# (one commit per patch) + the project's rust/ files in a commit of their own.
#
# Staged commits are keyed on the content of the base, the patches and rust/,
# and built in a scratch worktree. The build worktree then checks the staged
# commit out, which rewrites only files whose content differs: make rebuilds
# just what a changed patch touches.
#
# Prints the staged commit on stdout.
. "$(dirname "$0")/lib.sh"

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
	if [ -d "$XDPRX_TOP/rust" ]; then
		(cd "$XDPRX_TOP" && find rust -type f -print0 | sort -z | xargs -0 -r sha256sum)
	fi
} | sha256sum | cut -c1-16)
ref=refs/xdprx/stage/$key

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
	if [ -d "$XDPRX_TOP/rust" ]; then
		cp -r "$XDPRX_TOP/rust/." "$wt/rust/"
		git -C "$wt" add -f -A rust
		if ! git -C "$wt" diff --cached --quiet; then
			GIT_AUTHOR_DATE="@0 +0000" git_q -C "$wt" commit -q -s \
				-m "rust: net: add the xdp-rx-handler Rust abstractions" \
				-m "The files of the project's rust/ directory, as they land in the kernel tree."
		fi
	fi
	git -C "$repo" update-ref "$ref" "$(git -C "$wt" rev-parse HEAD)"
	log "staged ${#patches[@]} patches + rust/ as $(git -C "$repo" rev-parse --short "$ref")"
fi

target=$(git -C "$repo" rev-parse "$ref")
if [ "$(git -C "$repo" rev-parse -q --verify HEAD 2>/dev/null)" != "$target" ]; then
	log "checking out the staged tree in $repo"
	git -C "$repo" checkout -q -f --detach "$target"
fi
echo "$target" >"$XDPRX_CACHE/staged-commit"
echo "$target"
