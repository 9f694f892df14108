#!/usr/bin/env bash
# Tiles served from a PostGIS store side by side with the GeoPackage store: the
# 136,587 villages of ../shared/data/peru imported into both, one `chaski serve` per
# store and cache setting, and the wrk runs of benches/load/tiles.sh (wrk -t2 -c64,
# loopback) on each: one cached z8 tile, the same tile uncached (--cache-mb 0), and
# 1,395 rotating uncached tiles of La Mar / VRAEM at z8-z14. Every answer's status is
# counted: a run with any answer outside 2xx fails the script; the share of 204 (empty
# tile) answers is shown. Also the time from `chaski serve` to its first answered
# tile (reading the layer from the store and indexing it), per store.
#
# The cluster is the one of CHASKI_TEST_PG, else a throw-away one under
# target/pg-bench (scripts/pg-test-cluster.sh), stopped at the end.
#
# Usage: benches/load/tiles_postgis.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
data=../shared/data/peru/villages/ccpp_ign100k.gpkg
[ -f "$data" ] || { echo "needs $data" >&2; exit 1; }
command -v wrk >/dev/null || {
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk
}
cargo build --release --locked -p chaski-cli >/dev/null 2>&1
bin=target/release/chaski
work=$(mktemp -d)
pids=()
url=${CHASKI_TEST_PG:-}
own_cluster=false
if [ -z "$url" ]; then
  export CHASKI_PG_DIR=$PWD/target/pg-bench
  url=$(scripts/pg-test-cluster.sh start)
  own_cluster=true
fi
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if $own_cluster; then scripts/pg-test-cluster.sh stop >/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT
pg="$url?schema=bench_tiles"
"$bin" --store "$work/s.gpkg" import "$data" --layer communities >/dev/null 2>&1
"$bin" --store "$pg" import "$data" --layer communities >/dev/null 2>&1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tile=/tiles/communities/8/75/137
# serve STORE [ARGS...]: start a server, wait for its first tile; prints "PORT PID SECONDS".
serve() {
  local store=$1 port t0 t1 pid
  shift
  port=$(free_port)
  t0=$(date +%s.%N)
  "$bin" --store "$store" serve --listen "127.0.0.1:$port" "$@" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$port$tile" >/dev/null 2>&1 && break; sleep 0.05; done
  t1=$(date +%s.%N)
  echo "$port $pid $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
}
read -r g1 gp1 gstart < <(serve "$work/s.gpkg"); pids+=("$gp1")
read -r g2 gp2 _ < <(serve "$work/s.gpkg" --cache-mb 0); pids+=("$gp2")
read -r q1 qp1 qstart < <(serve "$pg"); pids+=("$qp1")
read -r q2 qp2 _ < <(serve "$pg" --cache-mb 0); pids+=("$qp2")
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
# The same tile from both stores.
cmp <(curl -s "http://127.0.0.1:$g1$tile") <(curl -s "http://127.0.0.1:$q1$tile") \
  || { echo "the z8 tile differs between the stores" >&2; exit 1; }
echo "load while measuring: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
printf 'serve to first tile: GeoPackage %s s, PostGIS %s s\n' "$gstart" "$qstart"
printf '%-38s %14s %14s\n' run 'GeoPackage' 'PostGIS'
row() {
  local label=$1 a b ra rb ea eb
  shift
  a=$(run "${@//PORT/$g1}") || exit 1
  b=$(run "${@//PORT/$q1}") || exit 1
  read -r ra ea <<<"$a"; read -r rb eb <<<"$b"
  printf '%-38s %14s %14s\n' "$label" "$ra ($ea)" "$rb ($eb)"
}
row_uncached() {
  local label=$1 a b ra rb ea eb
  shift
  a=$(run "${@//PORT/$g2}") || exit 1
  b=$(run "${@//PORT/$q2}") || exit 1
  read -r ra ea <<<"$a"; read -r rb eb <<<"$b"
  printf '%-38s %14s %14s\n' "$label" "$ra ($ea)" "$rb ($eb)"
}
for p in $g1 $q1; do for _ in 1 2; do curl -s "http://127.0.0.1:$p$tile" >/dev/null; done; done
echo "(requests per second; share of 204 answers in brackets)"
row 'cached z8 tile' "http://127.0.0.1:PORT$tile"
row_uncached 'uncached z8 tile' "http://127.0.0.1:PORT$tile"
row_uncached '1,395 rotating uncached z8-z14 tiles' --rotating "http://127.0.0.1:PORT"
