#!/usr/bin/env bash
# Maternity waiting homes on real ground: the Torobamba basin (La Mar, Ayacucho), its
# 30 m DEM and the villages and facilities of its box (../shared/data/peru). The villages
# have no population, so each counts 1 (`--demand-per-village 1`: villages within reach).
# Chooses 1, 2 and 3 homes among the facilities for a 120-minute walk (terrain model),
# prints the table (sites, villages covered, gain per home), then runs the 3-home siting
# again on the matrix and demand the first run exported (`--matrix`, `--demand-file`)
# and checks that it chooses the same homes with the same objective. Prints the
# underserved figure (villages beyond 120 min of birth care) and the whole command's time.
#
# Usage: benches/process/torobamba_siting.sh [BINARY]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-}
# shellcheck source=benches/process/torobamba_store.sh
. benches/process/torobamba_store.sh
if [ -z "$bin" ]; then
  cargo build --release --locked -p chaski-cli >/dev/null
  bin=target/release/chaski
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
store=$work/torobamba.gpkg
torobamba_store "$bin" "$store"
site=("$bin" --store "$store" site --candidates facilities --demand-per-village 1 --minutes 120)
for p in 1 2 3; do
  echo "== $p home(s)"
  "${site[@]}" --homes "$p" --out "$work/p$p" | grep -v '^wrote'
  column -s, -t < "$work/p$p/curve.csv"
done
echo "== 3 homes again on the exported matrix"
"$bin" --store "$store" site --candidates facilities --minutes 120 --homes 3 --out "$work/m" \
  --matrix "$work/p3/matrix.csv" --demand-file "$work/p3/demand.csv" | grep -v '^wrote'
python3 - "$work/p3/siting.json" "$work/m/siting.json" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
codes = lambda j: [c["code"] for c in j["chosen"]]
assert codes(a) == codes(b), (codes(a), codes(b))
assert abs(a["objective"] - b["objective"]) < 1e-9, (a["objective"], b["objective"])
print("same homes", codes(a), "and objective", a["objective"])
PY
t0=$(date +%s.%N)
"${site[@]}" --homes 3 --out "$work/t" >/dev/null
t1=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "whole command, 3 homes: %.2f s\n", b - a }'
