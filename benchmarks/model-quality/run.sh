#!/usr/bin/env bash
# Reproduces the model numbers in docs/model.md with the default settings, untouched, on three corpora:
# 20 Newsgroups bydate (train -> test), SpamAssassin ham/spam (held-out 20%), KLE titles and SIB-200 Danish (built at run
# time by danish-sets.sh), with scikit-learn's reference SVMs where python3-sklearn is installed (apt-get install python3-sklearn).
# Usage: benchmarks/model-quality/run.sh [DATA_DIR] [OUT_DIR]   (defaults: ../shared/data, a temp dir)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
data=$(realpath "${1:-$repo/../shared/data}")
out=${2:-$(mktemp -d)}
mkdir -p "$out"
dotnet build -c Release "$repo/src/SmartMail.Cli" -v q -nologo >/dev/null
cli="$repo/src/SmartMail.Cli/bin/Release/net10.0/smartmail.dll"
sm() { dotnet "$cli" "$@"; }
timed() { echo "load $(cut -d" " -f1 /proc/loadavg)"; /usr/bin/time -f "%e s wall, %U+%S s CPU, %M KB peak RSS" dotnet "$cli" "$@"; }

echo "== 20 Newsgroups bydate"
timed train --data "$data/20news-bydate/20news-bydate-train" --out "$out/20news.zip" | tail -3
sm evaluate --model "$out/20news.zip" --data "$data/20news-bydate/20news-bydate-test" --markdown "$out/20news-test.md" --json "$out/20news-test.json"
head -5 "$out/20news-test.md" | tail -1

echo "== SpamAssassin ham/spam (label = ham or spam; held-out 20%, random per label)"
sa="$out/spamassassin"; rm -rf "$sa"; mkdir -p "$sa/ham" "$sa/spam"
for f in easy_ham easy_ham_2 hard_ham; do for m in "$data/spamassassin/$f"/*; do ln -s "$m" "$sa/ham/$f-$(basename "$m")"; done; done
for f in spam spam_2; do for m in "$data/spamassassin/$f"/*; do ln -s "$m" "$sa/spam/$f-$(basename "$m")"; done; done
timed train --data "$sa" --out "$out/spamassassin.zip" | tail -3

echo "== Danish sets (docs/model.md, 'Danish first'): KLE titles -> main group (random fifth held out), SIB-200 Danish (train + dev -> test)"
"$repo/benchmarks/model-quality/danish-sets.sh" "$data" "$out/sets"
for s in kle sib200; do
  echo "-- $s"
  timed train --csv "$out/sets/$s-train.csv" --text-column text --label-column label --out "$out/$s.zip" | grep -E "^(Validation|Thresholds|Wrote)|s wall"
  sm evaluate --model "$out/$s.zip" --csv "$out/sets/$s-test.csv" --text-column text --label-column label | grep -E "^(Model|At the)"
  # Reference SVMs (scikit-learn from Debian's python3-sklearn; no PyPI needed).
  /usr/bin/python3 -c "import sklearn" 2>/dev/null && /usr/bin/python3 "$repo/benchmarks/model-quality/reference.py" "$out/sets/$s-train.csv" "$out/sets/$s-test.csv"
done
echo "== Threshold rules on 20 Newsgroups (docs/model.md, 'Choosing thresholds that hold on later mail')"
# lab scores: held-out model on a random 20 %, refit model on all; lab newest: held-out model on the oldest 80 % by
# article number; lab rules: each rule's thresholds from the held-out scores, applied to the refit model on the test set.
dotnet build -c Release "$repo/benchmarks/SmartMail.Benchmarks" -v q -nologo >/dev/null
lab() { dotnet "$repo/benchmarks/SmartMail.Benchmarks/bin/Release/net10.0/SmartMail.Benchmarks.dll" lab "$@"; }
echo "== The Danish sets with seeds 1-4 (docs/model.md, 'The small sets move with the seed'): train, then the test set"
for s in kle sib200; do for seed in 1 2 3 4; do lab dump "csv:$out/sets/$s-train.csv:text:label" "csv:$out/sets/$s-test.csv:text:label" "$s-seed$seed" "seed=$seed" | tail -1; done; done
lab scores
lab newest
echo "-- random 20 % holdout"; lab rules default
echo "-- last 20 % holdout"; lab rules newest
echo "== Character n-grams chosen on the validation split, against words only (docs/model.md, 'Where training time goes')"
lab set "csv:$data/sib200_danish/train.tsv:text:category" "csv:$data/sib200_danish/test.tsv:text:category"
lab set "csv:$data/sib200_danish/train.tsv:text:category" "csv:$data/sib200_danish/test.tsv:text:category" nochar
lab set "$sa" -
lab e2e sub=200 | grep -E "^(trained|char|test)"; lab e2e sub=200 nochar | grep -E "^(trained|char|test)"
echo "== The linear member: one LinearSvm per label (the default) against SDCA maximum entropy (docs/model.md, 'Where training time goes')"
lab e2e | grep -E "^(trained|test)"; lab e2e maxent | grep -E "^(trained|test)"
echo "== Training stages (2,000 mails: words; words + char 2-5; char n-grams to naive Bayes only)"
lab profile 100 nochar; lab profile 100; lab profile 100 nbchar
echo "== Training scaling (20 Newsgroups repeated with shuffled sentences, dropped and swapped words)"
for n in 10000 50000 200000; do echo "load $(cut -d' ' -f1 /proc/loadavg)"; /usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KB peak RSS" dotnet "$repo/benchmarks/SmartMail.Benchmarks/bin/Release/net10.0/SmartMail.Benchmarks.dll" lab scale $n | tail -1; done
for f in "char=2-5 nbchar" "char=2-5"; do echo "50000, $f; load $(cut -d' ' -f1 /proc/loadavg)"; /usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KB peak RSS" dotnet "$repo/benchmarks/SmartMail.Benchmarks/bin/Release/net10.0/SmartMail.Benchmarks.dll" lab scale 50000 $f | tail -1; done
echo "== Drift replay with the shipped model (docs/model.md, 'In service: precision from corrections')"
SMARTMAIL_DATA="$data" SMARTMAIL_REPLAY_REPORT="$out/replay.md" dotnet test --project "$repo/tests/SmartMail.Worker.Tests" --filter-class "*DriftReplayTests" | tail -3
cat "$out/replay.md"
echo "reports in $out"
