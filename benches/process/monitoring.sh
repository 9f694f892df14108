#!/usr/bin/env bash
# Whole-process timings of monitoring over time, on generated households (no
# real family):
#   1. `chaski indicators` (the built-in indicators, by community and round,
#      protected as every caller without household rights gets them) on
#      100,000 households x 4 survey rounds (400,000 records) in 2,000
#      communities; target: median <= 0.5 s. Also `--exact` and `--by district`.
#   2. `chaski did` (999 permutations, every built-in indicator) on 31
#      communities (17 intervention, 14 control) x 2 rounds of 60 households;
#      target: median <= 1 s.
# The kernels alone: the criterion bench `monitoring`.
#
# Usage: [CHASKI_BIN=path/to/chaski] benches/process/monitoring.sh [runs, default 5]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
# CHASKI_BIN: a chaski binary to time instead of a fresh release build.
if [ -n "${CHASKI_BIN:-}" ]; then
  bin=$CHASKI_BIN
else
  cargo build --release --locked -p chaski-cli 2>/dev/null
  bin=$PWD/target/release/chaski
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# generate DIR HOUSEHOLDS COMMUNITIES ROUNDS SEED: households.csv and communities.csv.
generate() {
  python3 - "$@" <<'PY'
import random, sys
out, n, nc, rounds, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rng = random.Random(seed)
lat0, lon0 = -13.10, -74.20
with open(f"{out}/communities.csv", "w") as f:
    f.write("code,name,ubigeo,group,lat,lon\n")
    for c in range(nc):
        g = "intervention" if c < nc * 17 // 31 else "control"
        f.write(f"GEN-CP{c:04d},GEN-CP{c:04d},0599{c % 40:02d},{g},{lat0 + (c // 50) * 0.01:.6f},{lon0 + (c % 50) * 0.01:.6f}\n")
yn = lambda p: "yes" if rng.random() < p else "no"
with open(f"{out}/households.csv", "w") as f:
    f.write("code,community,facility,cha_sector,visit_round,visit_date,submission_uuid,members,pregnant,"
            "under2,under5,anaemia,malnutrition,danger_signs,safe_water,sanitation,consent,lat,lon\n")
    for i in range(n):
        c = i * nc // n
        lat, lon = lat0 + (c // 50) * 0.01 + rng.uniform(-0.002, 0.002), lon0 + (c % 50) * 0.01 + rng.uniform(-0.002, 0.002)
        for r in range(1, rounds + 1):
            u5 = rng.randint(0, 2)
            f.write(f"GEN-H{i:06d},GEN-CP{c:04d},GEN-{c % 20:05d},GEN-CP{c:04d}-S1,{r},2026-{r * 3:02d}-15,"
                    f"gen-{i}-{r},{rng.randint(1, 9)},{int(rng.random() < 0.1)},{min(u5, rng.randint(0, 1))},{u5},"
                    f"{yn(0.35)},{yn(0.15) if u5 else 'no'},{yn(0.08)},{yn(0.4 + 0.05 * r)},{yn(0.4)},yes,{lat:.6f},{lon:.6f}\n")
PY
}
mkdir -p "$work/big" "$work/did"
generate "$work/big" 100000 2000 4 7
generate "$work/did" 1860 31 2 11
for d in big did; do
  "$bin" --store "$work/$d.gpkg" import "$work/$d/communities.csv" --layer communities >/dev/null
  "$bin" --store "$work/$d.gpkg" import "$work/$d/households.csv" --layer households --kind households >/dev/null
done

# shellcheck source=benches/process/timed.sh
. benches/process/timed.sh

echo "indicators (5 indicators, by community, 4 rounds, protected), 100,000 households x 4 rounds, $runs runs (target: median <= 0.5 s):"
timed "$bin" --store "$work/big.gpkg" indicators --out "$work/ind.csv"
echo "indicators --exact, same store, $runs runs:"
timed "$bin" --store "$work/big.gpkg" indicators --exact --out "$work/ind.csv"
echo "indicators --by district, same store, $runs runs:"
timed "$bin" --store "$work/big.gpkg" indicators --by district --out "$work/ind.csv"
echo "did (5 indicators, 999 permutations), 31 communities, $runs runs (target: median <= 1 s):"
timed "$bin" --store "$work/did.gpkg" did --out "$work/did.txt"
