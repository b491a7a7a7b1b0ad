#!/usr/bin/env bash
# Render a report.html headless with Debian's chromium, as a person would see it opened from
# disk (no network), into a PNG to look at: scripts/screenshot-report.sh REPORT.html [OUT.png].
# Needs `apt-get install chromium fonts-noto-cjk` (without a CJK font Chinese shows as boxes).
set -euo pipefail
page=$(realpath "$1")
png=${2:-report.png}
command -v chromium >/dev/null || { echo "chromium is not installed" >&2; exit 3; }
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  echo "warning: no CJK font installed (fonts-noto-cjk); Chinese will render as boxes" >&2
fi
mkdir -p "$(dirname "$png")"
# A throwaway profile, so concurrent runs (tests) do not share chromium's profile lock.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
  --window-size=1280,4200 --screenshot="$png" "file://$page" >/dev/null 2>&1
test -s "$png"
echo "screenshot: $png"
