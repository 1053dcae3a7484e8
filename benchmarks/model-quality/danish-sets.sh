#!/usr/bin/env bash
# Builds the Danish evaluation sets from ../shared/data at run time (never committed), as CSV for `smartmail train --csv`:
#   kle-train.csv / kle-test.csv: KLE subject and group titles (emne, gruppe) -> their KLE main group (hovedgruppe),
#     a random fifth held out per the fixed seed 1 (Python's random.Random(1).shuffle of the rows in file order);
#   sib200-train.csv / sib200-test.csv: SIB-200 Danish, train + dev -> test.
# Usage: benchmarks/model-quality/danish-sets.sh [DATA_DIR] OUT_DIR
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
if [ $# -ge 2 ]; then data=$(realpath "$1"); out=$2; else data=$(realpath "$repo/../shared/data"); out=${1:?OUT_DIR}; fi
mkdir -p "$out"
/usr/bin/python3 - "$data" "$out" <<'PY'
import csv, random, sys
data, out = sys.argv[1], sys.argv[2]
rows = list(csv.reader(open(f"{data}/kle/kle_codes_from_os2compliance.tsv", encoding="utf-8"), delimiter="\t"))[1:]
# Main groups by their two digits (the source spells main group 54 "4").
main = {nr.zfill(2) if nr != "4" else "54": title for nr, level, title in rows if level == "hovedgruppe"}
docs = [(title, f"{nr[:2]} {main[nr[:2]]}") for nr, level, title in rows if level != "hovedgruppe"]
random.Random(1).shuffle(docs)
cut = len(docs) // 5
def write(path, items):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f); w.writerow(["text", "label"]); w.writerows(items)
write(f"{out}/kle-test.csv", docs[:cut]); write(f"{out}/kle-train.csv", docs[cut:])
def sib(name):
    r = list(csv.reader(open(f"{data}/sib200_danish/{name}.tsv", encoding="utf-8"), delimiter="\t"))[1:]
    return [(text, category) for _, category, text in r]
write(f"{out}/sib200-train.csv", sib("train") + sib("dev")); write(f"{out}/sib200-test.csv", sib("test"))
print(f"KLE: {len(docs) - cut} train, {cut} test, {len(set(l for _, l in docs))} main groups; SIB-200: "
      f"{len(sib('train')) + len(sib('dev'))} train, {len(sib('test'))} test -> {out}", file=sys.stderr)
PY
