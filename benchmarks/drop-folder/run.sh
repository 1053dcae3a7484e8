#!/usr/bin/env bash
# Drop-folder backlog throughput (the embedded default: drop-folder inbox, file journal, SQLite): N mails of
# 20 Newsgroups bydate-test as .eml files in the inbox, then `smartmail run` drains it once (Release build) and prints
# mails/s. Needs ../shared. No servers.
# Usage: [CHECKOUT=<another checkout of SmartMail>] benchmarks/drop-folder/run.sh [N=5000]
# compare: for c in new old; do CHECKOUT=<worktree of $c> benchmarks/drop-folder/run.sh 5000; done (alternate, as
# benchmarks/imap-throughput/compare.sh does for IMAP).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
shared=$(realpath "$repo/../shared")
checkout=$(realpath "${CHECKOUT:-$repo}")
n=${1:-5000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$shared/data/20news-bydate/20news-bydate-test" "$work/data/inbox" "$n" <<'PY'
import os, sys, itertools
root, inbox, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(inbox)
files = sorted(os.path.join(d, f) for d in (os.path.join(root, g) for g in sorted(os.listdir(root))) for f in sorted(os.listdir(d)))
for i, path in enumerate(itertools.islice(itertools.cycle(files), n)):
    data = open(path, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    open(os.path.join(inbox, f"{i:06d}.eml"), "wb").write(data)
PY
chmod 700 "$work/data"  # the data directory holds raw mail: SmartMail refuses one others can read
dotnet build -c Release "$checkout/src/SmartMail.Cli" -v q -nologo >/dev/null
cd "$work"
start=$(date +%s.%N)
/usr/bin/time -f "%e s wall, %M KB peak RSS" dotnet "$checkout/src/SmartMail.Cli/bin/Release/net10.0/smartmail.dll" run \
  --SmartMail:DataDirectory="$work/data" --SmartMail:ModelPath="$checkout/models/default/smartmail-20news.zip" 2>&1 | grep -E "^This run|wall"
end=$(date +%s.%N)
left=$(find "$work/data/inbox" -name '*.eml' | wc -l)
python3 -c "import sys; n, s, left = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]), int(sys.argv[4]); print(f'Drop folder: {n - left} of {n} mails in {s:.2f} s ({(n - left) / s:.0f} mails/s, process start and model load included)')" "$n" "$start" "$end" "$left"
