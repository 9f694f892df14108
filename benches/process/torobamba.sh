#!/usr/bin/env bash
# Whole-process timing of `chaski catchments` on the Torobamba basin (La Mar, Ayacucho):
# the 30 m ALOS DEM of ../shared/data/peru, every facility in its extent as a source,
# GeoTIFF in to GeoTIFF out, start-up and store reads included. Two runs, as GRASS was
# timed on the same grid (r.cost -k about 1.0 s, r.walk about 1.5 s on this 2-core machine):
#   1. a user friction raster (0.72 s/m, i.e. 5 km/h, on the DEM's valid cells, warped
#      to UTM 18S at 30 m with gdalwarp and gdal_calc.py, as an analyst would bring it);
#   2. the anisotropic terrain model (Tobler on the DEM's slopes).
# Prints every run's wall time and the median of each.
#
# Usage: benches/process/torobamba.sh [runs, default 11]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-11}
# shellcheck source=benches/process/torobamba_store.sh
. benches/process/torobamba_store.sh
command -v gdal_calc.py >/dev/null || {
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends gdal-bin python3-gdal python3-numpy
}
cargo build --release --locked -p chaski-cli >/dev/null
bin=target/release/chaski
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
store=$work/torobamba.gpkg
torobamba_store "$bin" "$store"
gdalwarp -q -t_srs EPSG:32718 -tr 30 30 -r bilinear -dstnodata -9999 "$dem" "$work/utm.tif"
gdal_calc.py --quiet -A "$work/utm.tif" --outfile="$work/friction.tif" --calc "0.72+0*A" --NoDataValue=-9999

# shellcheck source=benches/process/timed.sh
. benches/process/timed.sh
before="rm -rf $work/out"
friction=("$bin" --store "$store" catchments --friction "$work/friction.tif" --friction-unit s_per_m --out "$work/out")
terrain=("$bin" --store "$store" catchments --out "$work/out")
# One warm-up run of each (file cache), untimed.
"${friction[@]}" >/dev/null 2>&1
"${terrain[@]}" >/dev/null 2>&1

echo "user friction raster (s/m), $runs runs:"
timed "${friction[@]}"
echo "anisotropic terrain model, $runs runs:"
timed "${terrain[@]}"
"${friction[@]}" | tail -3
