#!/usr/bin/env bash
# Mixed load test of `chaski serve` (wrk, loopback only, bounded in time) on the demo
# region (`chaski demo --load` into a temporary store), 256 connections in all:
#   128 on tiles of the demo region, z8-z14, rotating (communities,facilities,roads);
#    64 on GET /api/accessibility at rotating points;
#    32 on POST /api/whatif (a footpath and a bridge, the README's example);
#    32 on GET /api/clusters with an analyst token, ten seeds in turn (some computed,
#       some cached).
# The server runs with its default limits: what-if runs and cluster computations beyond
# their permits and queue are refused with 429 (deliberately); anything else outside 2xx,
# and any wrk timeout, fails the script.
#
# Reported: p50 and p99 latency per endpoint (wrk's, over every answer, 429s included),
# requests, answers outside 2xx split into 429 and other, wrk's socket errors, and the
# server's peak RSS (VmHWM) and RSS at the start, 5 s, 20 s and 60 s after the run (the
# what-ifs the run created are dropped once unused for whatif_idle_secs: set
# CHASKI_WHATIF_IDLE_SECS=10 to see it within the minute).
#
# Usage: benches/load/mixed.sh [seconds, default 60] [chaski binary, default: a release
# build made first]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
command -v wrk >/dev/null || {
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk
}
bin=${2:-}
if [ -z "$bin" ]; then
  cargo build --release --locked -p chaski-cli >/dev/null
  bin=target/release/chaski
fi
work=$(mktemp -d)
trap 'kill ${server:-} 2>/dev/null || true; rm -rf "$work"' EXIT
store="$work/demo.gpkg"
"$bin" --store "$store" demo --out "$work/demo" --load >/dev/null 2>&1
token=$("$bin" --store "$store" tokens create --role analyst --label load-test 2>/dev/null)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" --store "$store" serve --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 & server=$!
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fs "http://127.0.0.1:$port/ready" >/dev/null || { echo "server not ready" >&2; cat "$work/server.log" >&2; exit 1; }
base="http://127.0.0.1:$port"
rss() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$server/status"; }
rss_start=$(rss VmRSS)

# The request scripts: each rotates over its requests; every one counts answers by
# status (a response hook) and prints "statuses TOTAL N429 OTHER" when done.
curl -fs "$base/catalog" >"$work/catalog.json"
python3 - "$work" "$token" <<'PY'
import json, math, sys
work, token = sys.argv[1], sys.argv[2]
cat = json.load(open(f"{work}/catalog.json"))
layers = cat["layers"] if isinstance(cat["layers"], list) else list(cat["layers"].values())
bounds = None
for l in layers:
    if l.get("name") == "communities" and l.get("bounds"):
        bounds = l["bounds"]
x0, y0, x1, y1 = bounds
def tile(lon, lat, z):
    n = 2 ** z; r = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(r)) / math.pi) / 2 * n)
def lua_list(name, items):
    return name + " = {" + ",".join(json.dumps(i) for i in items) + "}\n"
tiles = []
for z in range(8, 15):
    tx0, ty0 = tile(x0, y1, z); tx1, ty1 = tile(x1, y0, z)
    tiles += [f"/tiles/communities,facilities,roads/{z}/{x}/{y}" for x in range(tx0, tx1 + 1) for y in range(ty0, ty1 + 1)]
tiles = tiles[:3000]
points = [f"/api/accessibility?lon={x0 + (x1 - x0) * (i + 0.5) / 8:.5f}&lat={y0 + (y1 - y0) * (j + 0.5) / 8:.5f}"
          for i in range(8) for j in range(8)]
clusters = [f"/api/clusters?flags=anaemia,danger_signs&replicates=99&seed={s}" for s in range(1, 11)]
whatif = json.dumps({"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"edit": "path", "class": "footpath"},
     "geometry": {"type": "LineString", "coordinates": [[-74.11474, -12.928104], [-74.1117377, -12.930266]]}},
    {"type": "Feature", "properties": {"edit": "bridge"},
     "geometry": {"type": "LineString", "coordinates": [[-74.1117377, -12.930266], [-74.1109947, -12.930801]]}}]})
rotate = "i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(nil, paths[i])\nend\n"
open(f"{work}/tiles.lua", "w").write(lua_list("paths", tiles) + rotate)
open(f"{work}/access.lua", "w").write(lua_list("paths", points) + rotate)
open(f"{work}/clusters.lua", "w").write(
    lua_list("paths", clusters) + f'wrk.headers["Authorization"] = "Bearer {token}"\n' + rotate)
open(f"{work}/whatif.lua", "w").write(
    'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/geo+json"\n'
    f"wrk.body = {json.dumps(whatif)}\n"
    'request = function() return wrk.format(nil, "/api/whatif?scenario=walking&limit=5") end\n')
print(f"{len(tiles)} tiles, {len(points)} points, {len(clusters)} cluster queries")
PY
cat >"$work/status.lua" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) total, tooMany, other = 0, 0, 0 end
function response(status, headers, body)
  total = total + 1
  if status == 429 then tooMany = tooMany + 1
  elseif status < 200 or status > 299 then other = other + 1 end
end
function done(summary, latency, requests)
  local t, m, o = 0, 0, 0
  for _, th in ipairs(threads) do
    t = t + th:get("total"); m = m + th:get("tooMany"); o = o + th:get("other")
  end
  io.write(string.format("statuses %d %d %d\n", t, m, o))
end
LUA
for s in tiles access clusters whatif; do cat "$work/status.lua" >>"$work/$s.lua"; done

# The four loads at once, 256 connections in all.
run() { wrk -t1 -c"$2" -d"${secs}s" --timeout 30s --latency -s "$work/$1.lua" "$base" >"$work/$1.out" 2>&1; }
peak_sampler() { while kill -0 "$server" 2>/dev/null; do rss VmHWM >"$work/hwm"; sleep 1; done; }
peak_sampler & sampler=$!
run tiles 128 & a=$!
run access 64 & b=$!
run whatif 32 & c=$!
run clusters 32 & d=$!
wait $a $b $c $d
hwm=$(rss VmHWM)
sleep 5
rss_after=$(rss VmRSS)
sleep 15
rss_later=$(rss VmRSS)
sleep 40
rss_last=$(rss VmRSS)
kill $sampler 2>/dev/null || true

failed=0
printf '%-16s %6s %10s %10s %10s %8s %8s %s\n' endpoint conns requests p50 p99 '429' other 'socket errors'
for s in tiles:128 access:64 whatif:32 clusters:32; do
  name=${s%%:*}; conns=${s##*:}
  out="$work/$name.out"
  read -r total n429 other < <(awk '/^statuses / { print $2, $3, $4 }' "$out")
  p50=$(awk '$1 == "50%" { print $2 }' "$out")
  p99=$(awk '$1 == "99%" { print $2 }' "$out")
  errs=$(grep -o 'Socket errors:.*' "$out" || echo 'none')
  timeouts=$(grep -o 'timeout [0-9]*' "$out" | awk '{ print $2 }' || true)
  printf '%-16s %6s %10s %10s %10s %8s %8s %s\n' "$name" "$conns" "${total:-0}" "$p50" "$p99" "${n429:-0}" "${other:-0}" "$errs"
  if [ "${total:-0}" -eq 0 ] || [ "${other:-0}" -gt 0 ] || [ "${timeouts:-0}" -gt 0 ]; then failed=1; fi
done
printf 'server RSS: %s MB at start, %s MB peak (VmHWM), %s MB 5 s, %s MB 20 s and %s MB 60 s after the run\n' \
  $((rss_start / 1024)) $((hwm / 1024)) $((rss_after / 1024)) $((rss_later / 1024)) $((rss_last / 1024))
# What the caches hold after the run (they are kept: bounded, by design).
curl -fs "$base/metrics" | awk '/^chaski_tile_cache_bytes/ { printf "%s %.1f MB\n", $1, $2 / 1048576 }'
if grep -q '"status":5\|panicked' "$work/server.log"; then
  echo "server log:" >&2; tail -n 20 "$work/server.log" >&2; failed=1
fi
if [ "$failed" -ne 0 ]; then
  echo "load test failed: answers outside 2xx other than 429, timeouts or no answer" >&2
  exit 1
fi
