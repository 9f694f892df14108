#!/usr/bin/env bash
# Load test of the tile server (wrk, loopback) over the La Mar / VRAEM area
# (lon -74.5..-73.3, lat -13.3..-12.3) with the 136,587 villages of ../shared/data/peru.
#
# Four figures, as measured for Martin 1.14 + PostGIS on the same machine (wrk -t2 -c64):
#   1. one cached z8 tile, identity encoding;
#   2. the same tile with brotli (Accept-Encoding: br);
#   3. the same tile uncached (a server started with --cache-mb 0);
#   4. 1,395 rotating uncached tiles: every tile of the area at z8-z13 (956) and the
#      first 439 at z14.
#
# Every answer's status is counted (a wrk Lua response hook, the same for every run):
# a run with any answer outside 2xx fails the script, and each run reports the share
# of 204 (empty tile) answers, so that a fast figure made of empty tiles shows.
#
# Usage: benches/load/tiles.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
data=../shared/data/peru/villages/ccpp_ign100k.gpkg
[ -f "$data" ] || { echo "needs $data" >&2; exit 1; }
command -v wrk >/dev/null || {
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk
}
cargo build --release --locked -p chaski-cli >/dev/null
bin=target/release/chaski
work=$(mktemp -d)
trap 'kill ${cached:-} ${uncached:-} 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" --store "$work/s.gpkg" import "$data" --layer communities --show 0 >/dev/null 2>&1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
p1=$(free_port); p2=$(free_port)
"$bin" --store "$work/s.gpkg" serve --listen "127.0.0.1:$p1" >/dev/null 2>&1 & cached=$!
"$bin" --store "$work/s.gpkg" serve --listen "127.0.0.1:$p2" --cache-mb 0 >/dev/null 2>&1 & uncached=$!
for p in $p1 $p2; do
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$p/health" >/dev/null 2>&1 && break; sleep 0.2; done
done
tile=/tiles/communities/8/75/137
size=$(curl -s "http://127.0.0.1:$p1$tile" | wc -c)
brsize=$(curl -s -H 'Accept-Encoding: br' "http://127.0.0.1:$p1$tile" | wc -c)
python3 - "$work/paths.lua" <<'PY'
import math, sys
def t(lon, lat, z):
    n = 2 ** z; lr = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(lr)) / math.pi) / 2 * n)
paths = []
for z in range(8, 15):
    x0, y0 = t(-74.5, -12.3, z); x1, y1 = t(-73.3, -13.3, z)
    paths += [f"/tiles/communities/{z}/{x}/{y}" for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
paths = paths[:1395]
with open(sys.argv[1], "w") as f:
    f.write("paths = {" + ",".join(f'"{p}"' for p in paths) + "}\n")
    f.write("i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(nil, paths[i])\nend\n")
PY
# Status counting, appended to every run's script: each thread counts its answers by
# status; done() sums them and prints one line "statuses TOTAL N204 NON2XX".
cat >"$work/status.lua" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) total, empty, bad = 0, 0, 0 end
function response(status, headers, body)
  total = total + 1
  if status == 204 then empty = empty + 1 end
  if status < 200 or status > 299 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local t, e, b = 0, 0, 0
  for _, th in ipairs(threads) do
    t = t + th:get("total"); e = e + th:get("empty"); b = b + th:get("bad")
  end
  io.write(string.format("statuses %d %d %d\n", t, e, b))
end
LUA
cat "$work/paths.lua" "$work/status.lua" >"$work/rotating.lua"
# One wrk run: prints "REQ/S  SHARE-OF-204"; exits non-zero (failing the script) when
# an answer is not 2xx or nothing was answered.
run() {
  local script="$work/status.lua" out
  if [ "$1" = --rotating ]; then script="$work/rotating.lua"; shift; fi
  out=$(wrk -t2 -c64 -d"${secs}s" -s "$script" "$@")
  awk -v what="$*" '
    /Requests\/sec/ { rps = $2 }
    /^statuses / { total = $2; empty = $3; bad = $4 }
    END {
      if (total == 0) { print "no answer from " what > "/dev/stderr"; exit 1 }
      if (bad > 0) { printf "%d of %d answers not 2xx from %s\n", bad, total, what > "/dev/stderr"; exit 1 }
      printf "%s %.1f%%\n", rps, 100 * empty / total
    }' <<<"$out"
}
# Warm the cached server.
for _ in 1 2; do curl -s "http://127.0.0.1:$p1$tile" >/dev/null; curl -s -H 'Accept-Encoding: br' "http://127.0.0.1:$p1$tile" >/dev/null; done
printf 'z8 tile 8/75/137: %s bytes (%s with brotli)\n' "$size" "$brsize"
printf '%-40s %12s %8s %12s\n' run 'req/s' '204s' 'Martin 1.14'
row() {
  local label=$1 martin=$2 result
  shift 2
  result=$(run "$@") || { echo "load test failed: $label" >&2; exit 1; }
  read -r rps empty <<<"$result"
  printf '%-40s %12s %8s %12s\n' "$label" "$rps" "$empty" "$martin"
}
row 'cached z8 tile' 42800 "http://127.0.0.1:$p1$tile"
row 'cached z8 tile, brotli' 567 -H 'Accept-Encoding: br' "http://127.0.0.1:$p1$tile"
row 'uncached z8 tile' 533 "http://127.0.0.1:$p2$tile"
row '1,395 rotating uncached z8-z14 tiles' 10700 --rotating "http://127.0.0.1:$p2"
