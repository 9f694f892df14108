#!/usr/bin/env bash
# Village walking times on the Torobamba basin (La Mar, Ayacucho) with an isotropic
# friction raster made from slope, as an analyst would bring one from GRASS or QGIS:
# `gdaldem slope -p` on the 30 m ALOS DEM warped to UTM 18S, then Tobler's speed for
# that slope, 6·exp(−3.5·|s/100|) km/h, written as seconds per metre. Every facility in
# the basin is a source. Prints the distribution of the villages' minutes (count,
# percentiles, share beyond 1, 2 and 4 hours) and writes villages.csv to $OUT (default
# target/slope_friction).
#
# Usage: benches/process/slope_friction.sh [CHASKI_BINARY] [--moves 8|16|24]
#   With no binary, builds and uses target/release/chaski. Run it with the binary of an
#   earlier commit to compare the cost models.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-}
shift || true
# shellcheck source=benches/process/torobamba_store.sh
. benches/process/torobamba_store.sh
command -v gdal_calc.py >/dev/null || {
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends gdal-bin python3-gdal python3-numpy
}
if [ -z "$bin" ]; then
  cargo build --release --locked -p chaski-cli >/dev/null
  bin=target/release/chaski
fi
out=${OUT:-target/slope_friction}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
store=$work/torobamba.gpkg
torobamba_store "$bin" "$store"
gdalwarp -q -t_srs EPSG:32718 -tr 30 30 -r bilinear -dstnodata -9999 "$dem" "$work/utm.tif"
gdaldem slope -q -p "$work/utm.tif" "$work/slope.tif"
gdal_calc.py --quiet -A "$work/slope.tif" --outfile="$work/friction.tif" \
  --calc "3.6/(6*exp(-3.5*abs(A/100.0)))" --NoDataValue=-9999
rm -rf "$out"
"$bin" --store "$store" catchments --friction "$work/friction.tif" --friction-unit s_per_m \
  --out "$out" "$@" >/dev/null
python3 - "$out/villages.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
col = next(c for c in rows[0] if c.startswith("minutes"))
m = sorted(float(r[col]) for r in rows if r[col] not in ("", "outside the surface"))
def pct(p):
    k = (len(m) - 1) * p
    f = int(k)
    return m[f] + (m[min(f + 1, len(m) - 1)] - m[f]) * (k - f)
print(f"villages with a time: {len(m)} of {len(rows)}")
print("minutes: " + ", ".join(f"p{int(p*100)} {pct(p):.1f}" for p in (0.05, 0.25, 0.5, 0.75, 0.95)) + f", mean {sum(m)/len(m):.1f}")
for h in (1, 2, 4):
    print(f"beyond {h} h: {sum(1 for x in m if x > 60 * h)}")
EOF
