#!/usr/bin/env bash
# docs/report.png: the example's report.html as headless chromium draws it.
#
#   scripts/report-screenshot.sh            # needs chromium (apt-get install chromium)
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Exit code 3: findings (the example has two, on one attack).
cargo run -q -- -q scan testdata/example -o "$tmp/reports" >/dev/null || [ $? -eq 3 ]
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --user-data-dir="$tmp/profile" --window-size=1280,2000 \
  --screenshot="$PWD/docs/report.png" "file://$tmp/reports/report.html" 2>/dev/null
echo "wrote docs/report.png"
