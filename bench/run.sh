#!/usr/bin/env bash
# The benchmark suite: builds the release binary, generates data at the sizes asked for, runs each
# stage under /usr/bin/time -v and prints rows/s and peak memory, with the reference peer (DuckDB
# SQL) run in the same script. Results go to bench/out/; record them in docs/PERFORMANCE.md.
#
# usage: bench/run.sh [ROWS...]          default: 1000000 10000000
#        STAGES="profile" bench/run.sh   stages to run (default: all of them but scale:
#                                        import generate profile suggest check batch run)
#        STAGES=scale bench/run.sh 1000000 10000000 50000000
#                                        issue 14's scale stage: per size, `run --nightly` on a
#                                        fresh ledger and history, `check`, and DuckDB (fed by
#                                        iconv) on the same rules; then peak RSS against 10M
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS_LIST=("$@")
[ ${#ROWS_LIST[@]} -gt 0 ] || ROWS_LIST=(1000000 10000000)
STAGES=${STAGES:-"import generate profile suggest check batch run"}
OUT=bench/out
mkdir -p "$OUT" bench/data
SCALED=()

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

# NATIONAL_CODES: the real national lists beside the project; check loads the diagnosis list
# from there when present (setl.dscg_maindiag_code.national-code then checks membership, not only shape).
NATIONAL_CODES=${NATIONAL_CODES:-../shared/national-codes}

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
# secs_of LABEL: the wall seconds time_cmd measured.
secs_of() {
  awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$OUT/$1.time"
}

# load_codes WS: the code tables check reads, once per store: the generated catalog tables (drug,
# service, consumable) and, when present, the real national diagnosis list.
load_codes() {
  local ws=$1
  [ -f "$ws/.yibao/bench-codes" ] && [ -f "$ws/.yibao/state.db" ] && return 0
  local sets="drug service consumable (generated)"
  for f in drug service consumable; do
    "$BIN" -q --workspace "$ws" codes import --family $f --version gen "$ws/national/$f.csv"
  done
  local diag
  diag=$(ls "$NATIONAL_CODES"/diagnoses/*.tsv 2>/dev/null | head -1 || true)
  if [ -n "$diag" ]; then
    "$BIN" -q --workspace "$ws" codes import --family diagnosis --version 2.0 "$diag"
    sets="$sets, diagnosis 2.0 ($(basename "$diag"))"
  fi
  echo "$sets" > "$ws/.yibao/bench-codes"
}

if [[ " $STAGES " == *" import "* ]]; then
  # Code store: a published-layout drug table of 200,000 rows (the national table is ~200k).
  python3 -c "import openpyxl" 2>/dev/null || pip install --quiet openpyxl
  [ -f bench/data/drugs-200000.xlsx ] || python3 bench/make_drug_table.py 200000 bench/data/drugs-200000.xlsx
  rm -rf bench/data/import-ws
  IMPORT_ROW=$(time_cmd "yibao-codes-import-200000" 200000 "$BIN" -q --workspace bench/data/import-ws codes import --family drug --version bench bench/data/drugs-200000.xlsx)
fi
if [[ " $STAGES " == *" suggest "* ]]; then
  # map suggest works per distinct local code, not per row: 10,000 local drug items against a
  # 200,000-row national drug table (bench/suggest.sh, which prints its own rows and accuracy).
  [ -x target/release/examples/suggest_bench_data ] || cargo build --release --locked --quiet --example suggest_bench_data
  YIBAO_BIN=$BIN bash bench/suggest.sh 200000 10000 | sed 's/^/  suggest: /' > "$OUT/suggest.summary" || true
fi
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%Y-%m-%d)"
printf "%-34s %12s %11s %21s %11s\n" stage rows time throughput "peak RSS"
[ -z "${IMPORT_ROW:-}" ] || echo "$IMPORT_ROW"
[ ! -s "$OUT/suggest.summary" ] || [[ " $STAGES " != *" suggest "* ]] || cat "$OUT/suggest.summary"
for ROWS in "${ROWS_LIST[@]}"; do
  WS=bench/data/gen-$ROWS
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
  if [[ " $STAGES " == *" check "* ]]; then
    # The code tables check reads: the generated catalog tables (drug, service, consumable) and,
    # when present, the real national diagnosis list. Loaded once per workspace.
    load_codes "$WS"
    # rows = fee-detail rows + settlement rows (the settlement file has a title line and a header)
    SETL=$(( $(wc -l < "$WS/data/settlements.csv") - 2 ))
    CROWS=$(( ROWS + SETL ))
    echo "  (check: $ROWS fee details + $SETL settlements, national pack; code sets: $(cat "$WS/.yibao/bench-codes"))"
    rm -rf "$WS/out"
    # An absolute --workspace: with a relative one, check writes its report under
    # WS/WS/out (ws.root joined twice, src/cmd/check.rs). Exit 1 is a breached threshold.
    time_cmd "yibao-check-$ROWS" "$CROWS" "$BIN" -q --workspace "$PWD/$WS" check || true
    REPORT=$(ls -d "$WS"/out/*/report.json | tail -1)
    time_cmd "duckdb-check-$ROWS" "$CROWS" python3 bench/duckdb_check.py "$WS" --report "$REPORT" --compare
    DUCK=$(head -1 "$OUT/duckdb-check-$ROWS.out")
    echo "  duckdb detail: $(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("transcode %.1f s, load+normalise %.1f s, rules %.1f s" % (d["transcode_s"], d["load_s"], d["rules_s"]))' "$DUCK")"
    echo "  $(grep '^agreement:' "$OUT/duckdb-check-$ROWS.out")"
    Y=$(secs_of "yibao-check-$ROWS"); D=$(secs_of "duckdb-check-$ROWS")
    echo "  ratio yibao/DuckDB time: $(awk -v y="$Y" -v d="$D" 'BEGIN{printf "%.2f", (d>0? y/d : 0)}')  (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  fi
  if [[ " $STAGES " == *" batch "* ]]; then
    # A first run on a fresh ledger: check (read, map, rules) then every clean record emitted.
    rm -rf "$WS/out" "$WS/.yibao/state.db" "$WS/.yibao/state.db-wal" "$WS/.yibao/state.db-shm"
    load_codes "$WS"
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
  if [[ " $STAGES " == *" run "* ]]; then
    # The nightly pipeline on a fresh history and ledger: read, map, check, batch, report.
    rm -rf "$WS/out" "$WS/.yibao/state.db" "$WS/.yibao/state.db-wal" "$WS/.yibao/state.db-shm"
    load_codes "$WS"
    SETL=$(( $(wc -l < "$WS/data/settlements.csv") - 2 ))
    time_cmd "yibao-run-$ROWS" "$(( ROWS + SETL ))" "$BIN" -q --workspace "$WS" run --nightly || true
    echo "  run: $(cat "$OUT/yibao-run-$ROWS.out")"
  fi
  if [[ " $STAGES " == *" scale "* ]]; then
    # The whole nightly pipeline, then check alone, then the peer on the same rules.
    rm -rf "$WS/out" "$WS/.yibao/state.db" "$WS/.yibao/state.db-wal" "$WS/.yibao/state.db-shm"
    load_codes "$WS"
    SETL=$(( $(wc -l < "$WS/data/settlements.csv") - 2 ))
    SROWS=$(( ROWS + SETL ))
    echo "  (scale: $ROWS fee details + $SETL settlements; free disk $(df -h --output=avail "$WS" | tail -1 | tr -d ' '))"
    time_cmd "scale-run-$ROWS" "$SROWS" "$BIN" -q --workspace "$PWD/$WS" run --nightly || true
    echo "  run: $(cat "$OUT/scale-run-$ROWS.out")"
    time_cmd "scale-check-$ROWS" "$SROWS" "$BIN" -q --workspace "$PWD/$WS" check || true
    REPORT=$(ls -d "$WS"/out/*/report.json | tail -1)
    time_cmd "scale-duckdb-$ROWS" "$SROWS" python3 bench/duckdb_check.py "$WS" --report "$REPORT" --compare
    DUCK=$(head -1 "$OUT/scale-duckdb-$ROWS.out")
    echo "  duckdb detail: $(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("transcode (iconv) %.1f s, load+normalise %.1f s, rules %.1f s" % (d["transcode_s"], d["load_s"], d["rules_s"]))' "$DUCK")"
    echo "  $(grep '^agreement:' "$OUT/scale-duckdb-$ROWS.out")"
    Y=$(secs_of "scale-check-$ROWS"); D=$(secs_of "scale-duckdb-$ROWS")
    echo "  ratio check/DuckDB time: $(awk -v y="$Y" -v d="$D" 'BEGIN{printf "%.2f", (d>0? y/d : 0)}')  (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    SCALED+=("$ROWS")
  fi
done
if [ ${#SCALED[@]} -gt 0 ]; then
  # Peak RSS of run at each size against its peak at 10M (the issue's bound: at most 1.25x).
  peak_of() { awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$OUT/scale-run-$1.time"; }
  BASE=""
  [ -f "$OUT/scale-run-10000000.time" ] && BASE=$(peak_of 10000000)
  for R in "${SCALED[@]}"; do
    P=$(peak_of "$R")
    printf "  scale: run %12s rows  peak %6s MB%s\n" "$R" "$P" "${BASE:+ ($(awk -v p="$P" -v b="$BASE" 'BEGIN{printf "%.2f", p/b}')x the 10M peak)}"
  done
fi
