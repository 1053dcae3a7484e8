#!/usr/bin/env bash
# The web app's speed with 100,000 decisions in the store. Seeds a throwaway data directory through the store's API
# (benchmarks/web/SmartMail.WebBench), then times each query a page makes (20 runs each, p50/p95). When the worker hosts
# the web app (src/SmartMail.Worker/WebHosting), it also starts `smartmail run --watch` on that data, signs in with the printed
# one-time link and times each page over HTTP with curl (20 requests each, p50/p95).
# Usage: benchmarks/web/run.sh [COUNT=100000]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
count=${1:-100000}
model="$repo/models/default/smartmail-20news.zip"
work=$(mktemp -d); worker=""
trap '[ -n "$worker" ] && kill "$worker" 2>/dev/null; rm -rf "$work"' EXIT
dotnet build -c Release "$repo/benchmarks/web/SmartMail.WebBench" -v q -nologo >/dev/null
bench="$repo/benchmarks/web/SmartMail.WebBench/bin/Release/net10.0/SmartMail.WebBench.dll"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
dotnet "$bench" seed "$work/data" "$model" "$count"
dotnet "$bench" queries "$work/data" "$model"
if [ ! -d "$repo/src/SmartMail.Worker/WebHosting" ]; then
  echo "(the worker does not host the web app on this branch: pages not timed)"; exit 0
fi
dotnet build -c Release "$repo/src/SmartMail.Cli" -v q -nologo >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/inbox"
dotnet "$repo/src/SmartMail.Cli/bin/Release/net10.0/smartmail.dll" run --watch \
  --SmartMail:DataDirectory="$work/data" --SmartMail:ModelPath="$model" --SmartMail:Inbox="$work/inbox" \
  --SmartMail:Web:Url="http://127.0.0.1:$port" >"$work/worker.log" 2>&1 &
worker=$!
for _ in $(seq 120); do grep -qo "http://127.0.0.1:$port/signin?token=[A-Za-z0-9_-]*" "$work/worker.log" && break; sleep 0.5; done
link=$(grep -o "http://127.0.0.1:$port/signin?token=[A-Za-z0-9_-]*" "$work/worker.log" | head -1)
[ -n "$link" ] || { echo "no sign-in link printed"; cat "$work/worker.log"; exit 1; }
jar="$work/cookies"
curl -s -o /dev/null -c "$jar" -b "$jar" -L "$link"
base="http://127.0.0.1:$port"
id=$(sqlite3 "$work/data/state.db" "SELECT decision_id FROM mail_summary WHERE state='routed' LIMIT 1 OFFSET 5000" 2>/dev/null \
  || python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT decision_id FROM mail_summary WHERE state='routed' LIMIT 1 OFFSET 5000\").fetchone()[0])" "$work/data/state.db")
echo "| page | status | p50 ms | p95 ms | max ms |"
echo "|---|---|---:|---:|---:|"
for page in "/" "/triage/drop" "/search?sender=borger12" "/search?subject=bolig" "/search?id=${id:0:10}" "/mail/$id" "/labels" "/models" "/quarantine"; do
  curl -s -o /dev/null -b "$jar" "$base$page"   # warm-up
  times=$(for _ in $(seq 20); do curl -s -o /dev/null -b "$jar" -w "%{http_code} %{time_total}\n" "$base$page"; done)
  code=$(echo "$times" | awk '{print $1}' | sort | uniq -c | sort -rn | head -1 | awk '{print $2}')
  echo "$times" | awk '{print $2*1000}' | sort -n | awk -v p="$page" -v c="$code" '{a[NR]=$1} END {printf "| %s | %s | %.1f | %.1f | %.1f |\n", p, c, a[10], a[19], a[20]}'
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
