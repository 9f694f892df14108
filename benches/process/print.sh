#!/usr/bin/env bash
# Whole-process timing of printed risk maps on the demo region (release build), as a user
# runs them:
#   1. `chaski print --community DEMO-CP0001 --as admin --out map.pdf`: an A4 map of a
#      community with 300 households (the demo's 143 and 157 more added to it for the bench:
#      copies of its own records under new codes, moved by up to ~150 m), every page (map,
#      detail pages, household index); the walking search and the risk-zone scan included.
#   2. the same map over HTTP from a running `chaski serve`, with an admin token:
#      `curl -H "Authorization: Bearer $TOKEN" .../maps/risk.pdf?community=DEMO-CP0001`
#      (the first request, which also runs the walking search and the scan, timed apart),
#      and the first page as PNG at 150 dpi.
#   3. the district atlas of the demo region in one command:
#      `chaski print --atlas 059904 --as admin --out atlas.pdf`.
# Prints the wall time of each run and the median, and the files' pages and sizes
# (pdfinfo, from poppler-utils).
#
# Usage: benches/process/print.sh [runs, default 5]
set -euo pipefail
cd "$(dirname "$0")/../.."
. benches/process/timed.sh
runs=${1:-5}
cargo build --release --locked -p chaski-cli 2>/dev/null
bin=$PWD/target/release/chaski
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
store=$work/demo.gpkg
"$bin" demo --out "$work/data" --load --store "$store" >/dev/null 2>&1

# 157 more households in DEMO-CP0001 (300 in all): its own records, new codes and ids, moved.
python3 - "$work/data/households.csv" "$work/extra.csv" <<'PY'
import csv, random, sys, uuid
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
own = [r for r in rows if r["community"] == "DEMO-CP0001"]
rng = random.Random(300)
out = []
for i in range(300 - len(own)):
    r = dict(own[i % len(own)])
    r["code"] = "DEMO-H9%03d" % i
    r["_uuid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, "chaski-bench-%d" % i))
    r["_gps_latitude"] = "%.6f" % (float(r["_gps_latitude"]) + rng.uniform(-0.0014, 0.0014))
    r["_gps_longitude"] = "%.6f" % (float(r["_gps_longitude"]) + rng.uniform(-0.0014, 0.0014))
    out.append(r)
w = csv.DictWriter(open(sys.argv[2], "w", newline=""), fieldnames=list(rows[0].keys()))
w.writeheader()
w.writerows(out)
PY
"$bin" --store "$store" import "$work/extra.csv" --layer households >/dev/null 2>&1

pdf_summary() {
  local pages bytes
  pages=$(pdfinfo "$1" | awk '/^Pages:/ { print $2 }')
  bytes=$(stat -c %s "$1")
  awk -v p="$pages" -v b="$bytes" 'BEGIN { printf "  file: %d pages, %d bytes (%.2f MB, %.2f MB a page)\n", p, b, b / 1048576, b / 1048576 / p }'
}

echo "chaski print, A4 portrait, DEMO-CP0001 with 300 households, as admin ($runs runs):"
timed "$bin" --store "$store" print --community DEMO-CP0001 --as admin --out "$work/cli.pdf"
"$bin" --store "$store" print --community DEMO-CP0001 --as admin --out "$work/cli.pdf" 2>&1 | sed 's/^/  /'
pdf_summary "$work/cli.pdf"

token=$("$bin" --store "$store" tokens create --role admin --label bench 2>/dev/null)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$work" && exec "$bin" --store "$store" serve --listen "127.0.0.1:$port") >/dev/null 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.2
done
base="http://127.0.0.1:$port/maps"
get() { curl -fsS -H "Authorization: Bearer $token" -o "$2" "$base/$1"; }
echo "GET /maps/risk.pdf?community=DEMO-CP0001 (admin token), first request (walking search and scan):"
t0=$(date +%s.%N); get "risk.pdf?community=DEMO-CP0001" "$work/http.pdf"; t1=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "  %.3f s\n", b - a }'
echo "GET /maps/risk.pdf?community=DEMO-CP0001 (admin token), later requests ($runs runs):"
timed get "risk.pdf?community=DEMO-CP0001" "$work/http.pdf"
pdf_summary "$work/http.pdf"
echo "GET /maps/risk.png?community=DEMO-CP0001&dpi=150 (admin token, page 1) ($runs runs):"
timed get "risk.png?community=DEMO-CP0001&dpi=150" "$work/http.png"
stat -c %s "$work/http.png" | awk '{ printf "  file: %d bytes (%.2f MB)\n", $1, $1 / 1048576 }'
kill "$server" 2>/dev/null || true

arun=$(( runs < 3 ? runs : 3 ))
echo "chaski print --atlas 059904 (district atlas of the demo region, A4, as admin) ($arun runs):"
runs=$arun timed "$bin" --store "$store" print --atlas 059904 --as admin --out "$work/atlas.pdf"
"$bin" --store "$store" print --atlas 059904 --as admin --out "$work/atlas.pdf" 2>&1 | sed 's/^/  /'
pdf_summary "$work/atlas.pdf"
