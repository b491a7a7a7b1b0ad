#!/usr/bin/env bash
# A history to look at: a generated workspace run three times while its mapping improves
# (run 2: 换药(中) mapped, run 3: 医用外科口罩 too), then `yibao report` and, with chromium, a
# screenshot. scripts/demo-history.sh [DIR] [ROWS]   (DIR default: a temp folder)
set -euo pipefail
cd "$(dirname "$0")/.."
ws=${1:-$(mktemp -d)}
rows=${2:-20000}
cargo build --quiet --locked
yibao=$PWD/target/debug/yibao
"$yibao" samples generate --rows "$rows" --seed 1 --out "$ws" >/dev/null
"$yibao" --workspace "$ws" run --nightly || true
sleep 1
echo 'F0086,换药(中),001203000020000,换药(中),1:1,,,,approved,demo,2026-11-24,' >> "$ws/mappings/320900/service.csv"
"$yibao" --workspace "$ws" run --nightly || true
sleep 1
echo 'C0005,医用外科口罩,C1403020440000500005,医用外科口罩,1:1,,,,approved,demo,2026-11-24,' >> "$ws/mappings/320900/consumable.csv"
"$yibao" --workspace "$ws" run --nightly || true
"$yibao" --workspace "$ws" report
html=$(ls -d "$ws"/out/*/ | sort | tail -1)report.html
if command -v chromium >/dev/null; then
  scripts/screenshot-report.sh "$html" "${SHOT:-$ws/report.png}"
fi
