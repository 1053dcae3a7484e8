#!/usr/bin/env bash
# Side by side in one sitting: a commit (HEAD by default) on SQLite and on PostgreSQL against an earlier commit (SQLite,
# the only store it has), alternating round by round so a drifting machine affects all three alike. Both are built
# from clean worktrees of their commits, so what is measured is what is committed.
# Usage: benchmarks/imap-throughput/compare.sh <earlier-commit> [N=5000] [ROUNDS=2] [COMMIT=HEAD]
# RUNS="new:Sqlite old:Sqlite new:PostgreSql" (the default) says which runs a round makes, in order; e.g.
# RUNS="new:PostgreSql old:PostgreSql new:Sqlite" compares two commits on PostgreSQL.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
old=${1:?usage: compare.sh <earlier-commit> [N] [ROUNDS] [COMMIT]}; n=${2:-5000}; rounds=${3:-2}; new=${4:-HEAD}
trees=$(mktemp -d)
git -C "$repo" worktree add --detach -q "$trees/old" "$old"
git -C "$repo" worktree add --detach -q "$trees/new" "$new"
trap 'git -C "$repo" worktree remove --force "$trees/old"; git -C "$repo" worktree remove --force "$trees/new"; rm -rf "$trees"' EXIT
for round in $(seq "$rounds"); do
  for run in ${RUNS:-new:Sqlite old:Sqlite new:PostgreSql}; do
    set -- ${run/:/ }
    echo "== round $round: $(git -C "$trees/$1" rev-parse --short HEAD) on $2 (load $(cut -d' ' -f1 /proc/loadavg))"
    CHECKOUT=$trees/$1 PROVIDER=$2 bash "$repo/benchmarks/imap-throughput/run.sh" "$n"
  done
done
