#!/usr/bin/env bash
# Timing of `yibao map suggest`: imports a full-size generated drug table (realistic names,
# examples/suggest_bench_data.rs), creates ITEMS local drug items with legacy-style variations,
# and times suggest twice under /usr/bin/time -v (the first run builds and stores the index, the
# second reuses it); then checks the review file's rank-1 codes against the truth.
# Record the figures in docs/SUGGEST.md.
#
# usage: bench/suggest.sh [ROWS] [ITEMS]      default: 200000 10000
#        YIBAO_BIN=target/release/yibao bench/suggest.sh   (skip the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-200000}
ITEMS=${2:-10000}
OUT=bench/out
DATA=bench/data/suggest-$ROWS-$ITEMS
mkdir -p "$OUT" bench/data

if [ -n "${YIBAO_BIN:-}" ]; then
  BIN=$YIBAO_BIN
else
  cargo build --release --locked --quiet --bin yibao --example suggest_bench_data
  BIN=$PWD/target/release/yibao
fi
GEN=${GEN_BIN:-$PWD/target/release/examples/suggest_bench_data}

time_cmd() {
  local label=$1 rows=$2; shift 2
  local log="$OUT/$label.time"
  /usr/bin/time -v "$@" > "$OUT/$label.out" 2> "$log"
  local secs peak
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
  peak=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
  printf "%-34s %12s %9.1f s %14s rows/s %8s MB\n" "$label" "$rows" "$secs" "$(awk -v r="$rows" -v s="$secs" 'BEGIN{printf "%.0f", (s>0? r/s : 0)}')" "$peak"
}

rm -rf "$DATA"
"$GEN" "$DATA" "$ROWS" "$ITEMS"
WS=$DATA/ws
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%Y-%m-%d)"
printf "%-34s %12s %11s %21s %11s\n" stage rows time throughput "peak RSS"
time_cmd "suggest-codes-import-$ROWS" "$ROWS" "$BIN" -q --workspace "$WS" codes import --family drug --version bench "$DATA/drugs-$ROWS.xlsx"
time_cmd "suggest-first-$ITEMS" "$ITEMS" "$BIN" --workspace "$WS" --json map suggest --area 320900 --family drug
time_cmd "suggest-again-$ITEMS" "$ITEMS" "$BIN" --workspace "$WS" --json map suggest --area 320900 --family drug
python3 - "$OUT/suggest-first-$ITEMS.out" "$OUT/suggest-again-$ITEMS.out" "$WS/out/suggest/320900-drug.csv" "$DATA/truth.csv" <<'EOF'
import csv, json, sys
for label, path in (("first", sys.argv[1]), ("again", sys.argv[2])):
    j = json.load(open(path, encoding="utf-8"))
    i = j["index"]
    print(f"  {label}: index {'built' if i['built'] else 'reused'} in {i['seconds']:.2f}s "
          f"({i['bytes'] / 1048576:.1f} MiB, {i['codes']} codes); search {j['search_seconds']:.2f}s; "
          f"total {j['seconds']:.2f}s; best score bands {j['summary']['top_score']}")
truth = {r["local_code"]: r["national_code"] for r in csv.DictReader(open(sys.argv[4], encoding="utf-8"))}
ranks = {}
for r in csv.DictReader(open(sys.argv[3], encoding="utf-8-sig")):
    if r["national_code"] == truth.get(r["local_code"]):
        ranks[r["local_code"]] = int(r["rank"])
n = len(truth)
top1 = sum(1 for k in truth if ranks.get(k) == 1)
top5 = sum(1 for k in truth if k in ranks and ranks[k] <= 5)
print(f"  accuracy on the {n} items (exact code): top-1 {100 * top1 / n:.1f}%, top-5 {100 * top5 / n:.1f}%")
EOF
