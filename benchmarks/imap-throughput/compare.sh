#!/usr/bin/env bash
# Side by side in one sitting: this checkout on SQLite and on PostgreSQL against an earlier commit (SQLite, the only
# store it has), alternating round by round so a drifting machine affects all three alike.
# Usage: benchmarks/imap-throughput/compare.sh <earlier-commit> [N=5000] [ROUNDS=2]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
old=${1:?usage: compare.sh <earlier-commit> [N] [ROUNDS]}; n=${2:-5000}; rounds=${3:-2}
tree=$(mktemp -d)/old
git -C "$repo" worktree add --detach -q "$tree" "$old"
trap 'git -C "$repo" worktree remove --force "$tree"' EXIT
for round in $(seq "$rounds"); do
  for run in "this Sqlite" "old Sqlite" "this PostgreSql"; do
    set -- $run
    [[ $1 == old ]] && checkout=$tree || checkout=$repo
    echo "== round $round: $( [[ $1 == old ]] && echo "$old" || git -C "$repo" rev-parse --short HEAD ) on $2 (load $(cut -d' ' -f1 /proc/loadavg))"
    CHECKOUT=$checkout PROVIDER=$2 bash "$repo/benchmarks/imap-throughput/run.sh" "$n"
  done
done
