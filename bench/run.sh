#!/usr/bin/env bash
# The benchmark suite: builds the release binary, generates data at the sizes asked for, runs each
# stage under /usr/bin/time -v and prints rows/s and peak memory, with the reference peer (DuckDB
# SQL) run in the same script. Results go to bench/out/; record them in docs/PERFORMANCE.md.
#
# usage: bench/run.sh [ROWS...]          default: 1000000 10000000
#        STAGES="profile" bench/run.sh   stages to run (default: all built so far)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS_LIST=("$@")
[ ${#ROWS_LIST[@]} -gt 0 ] || ROWS_LIST=(1000000 10000000)
STAGES=${STAGES:-"import generate profile batch"}
OUT=bench/out
mkdir -p "$OUT" bench/data

# YIBAO_BIN: use an already built binary (skips the ~15-minute release build).
if [ -n "${YIBAO_BIN:-}" ]; then
  BIN=$YIBAO_BIN
else
  cargo build --release --locked --quiet
  BIN=$PWD/target/release/yibao
fi
if ! python3 -c "import duckdb" 2>/dev/null; then
  pip install --quiet duckdb
fi

# time_cmd LABEL ROWS CMD...: runs CMD, prints a table row with seconds, rows/s, peak MB.
time_cmd() {
  local label=$1 rows=$2; shift 2
  local log="$OUT/$label.time"
  /usr/bin/time -v "$@" > "$OUT/$label.out" 2> "$log"
  local secs peak
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
  peak=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
  printf "%-34s %12s %9.1f s %14s rows/s %8s MB\n" "$label" "$rows" "$secs" "$(awk -v r="$rows" -v s="$secs" 'BEGIN{printf "%.0f", (s>0? r/s : 0)}')" "$peak"
}

if [[ " $STAGES " == *" import "* ]]; then
  # Code store: a published-layout drug table of 200,000 rows (the national table is ~200k).
  python3 -c "import openpyxl" 2>/dev/null || pip install --quiet openpyxl
  [ -f bench/data/drugs-200000.xlsx ] || python3 bench/make_drug_table.py 200000 bench/data/drugs-200000.xlsx
  rm -rf bench/data/import-ws
  IMPORT_ROW=$(time_cmd "yibao-codes-import-200000" 200000 "$BIN" -q --workspace bench/data/import-ws codes import --family drug --version bench bench/data/drugs-200000.xlsx)
fi
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%Y-%m-%d)"
printf "%-34s %12s %11s %21s %11s\n" stage rows time throughput "peak RSS"
[ -z "${IMPORT_ROW:-}" ] || echo "$IMPORT_ROW"
for ROWS in "${ROWS_LIST[@]}"; do
  WS=$PWD/bench/data/gen-$ROWS
  if [[ " $STAGES " == *" generate "* ]] || [ ! -f "$WS/data/fee_details.csv" ]; then
    rm -rf "$WS"
    time_cmd "generate-$ROWS" "$ROWS" "$BIN" samples generate --rows "$ROWS" --seed 1 --out "$WS"
  fi
  CSV=$WS/data/fee_details.csv
  if [[ " $STAGES " == *" profile "* ]]; then
    size=$(du -m "$CSV" | cut -f1)
    echo "  (fee_details.csv: ${size} MB, GBK)"
    time_cmd "yibao-profile-$ROWS" "$ROWS" "$BIN" -q --workspace "$WS" profile fee_details --json
    time_cmd "duckdb-profile-$ROWS" "$ROWS" python3 bench/duckdb_profile.py "$CSV" --encoding gbk
    echo "  duckdb detail: $(cat "$OUT/duckdb-profile-$ROWS.out")"
  fi
  if [[ " $STAGES " == *" batch "* ]]; then
    # A first run on a fresh ledger: check (read, map, rules) then every clean record emitted.
    rm -rf "$WS/out" "$WS/.yibao/state.db" "$WS/.yibao/state.db-wal" "$WS/.yibao/state.db-shm"
    time_cmd "yibao-batch-$ROWS" "$ROWS" "$BIN" -q --json --workspace "$WS" batch
    python3 - "$OUT/yibao-batch-$ROWS.out" "$OUT/yibao-batch-$ROWS.time" <<'PY'
import json, re, sys
s = json.load(open(sys.argv[1]))
t = open(sys.argv[2]).read()
secs = 0.0
for part in re.search(r"Elapsed \(wall clock\).*: (\S+)", t).group(1).split(":"):
    secs = secs * 60 + float(part)
n = sum(d["new"] + d["corrections"] for d in s["datasets"])
b = sum(len(d["batches"]) for d in s["datasets"])
print(f"  batch: {n} clean records emitted in {b} batches; {n/secs:,.0f} emitted records/s end to end (check included)")
PY
    RUN=$(ls -d "$WS"/out/*/batches | tail -1)
    time_cmd "yibao-batch-verify-$ROWS" "$ROWS" "$BIN" -q --workspace "$WS" batch verify "$RUN"
    # A re-run: everything is in the ledger, nothing is emitted.
    time_cmd "yibao-batch-rerun-$ROWS" "$ROWS" "$BIN" -q --workspace "$WS" batch
  fi
done
