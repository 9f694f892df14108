#!/usr/bin/env bash
# chaski against GRASS r.cost on the same friction, the same grid and the same
# facilities: the Torobamba basin (30 m ALOS DEM warped to UTM 18S), the slope
# friction of benches/process/slope_friction.sh (Tobler's speed for `gdaldem slope -p`,
# as seconds per metre), every facility in the basin a start point. GRASS costs a
# cell as its friction times 30 m; `r.cost -k` (16 moves) is compared with
# `chaski catchments --moves 16` and plain `r.cost` (8 moves) with `--moves 8`, at
# every village both reach and over every cell both reach. Prints the distribution of
# chaski/GRASS at the villages and over the cells.
#
# Usage: benches/process/grass_compare.sh [CHASKI_BINARY]
# Needs GRASS GIS (Debian package grass-core; installed when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-}
peru=../shared/data/peru
dem=$peru/elevation/torobamba_alos_1s.tif
for f in "$dem" "$peru/focus/vraem_box_villages.geojson" "$peru/focus/vraem_box_facilities.geojson"; do
  [ -f "$f" ] || { echo "needs $f" >&2; exit 1; }
done
need=()
command -v grass >/dev/null || need+=(grass-core)
command -v gdal_calc.py >/dev/null || need+=(gdal-bin python3-gdal python3-numpy)
if [ "${#need[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
if [ -z "$bin" ]; then
  cargo build --release --locked -p chaski-cli >/dev/null
  bin=target/release/chaski
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
store=$work/torobamba.gpkg
"$bin" --store "$store" import "$dem" --layer dem >/dev/null 2>&1
"$bin" --store "$store" import "$peru/focus/vraem_box_villages.geojson" --layer communities >/dev/null 2>&1
"$bin" --store "$store" import "$peru/focus/vraem_box_facilities.geojson" --layer facilities >/dev/null 2>&1
gdalwarp -q -t_srs EPSG:32718 -tr 30 30 -r bilinear -dstnodata -9999 "$dem" "$work/utm.tif"
gdaldem slope -q -p "$work/utm.tif" "$work/slope.tif"
gdal_calc.py --quiet -A "$work/slope.tif" --outfile="$work/friction.tif" \
  --calc "3.6/(6*exp(-3.5*abs(A/100.0)))" --NoDataValue=-9999 2>/dev/null
gdal_calc.py --quiet -A "$work/friction.tif" --outfile="$work/cellcost.tif" \
  --calc "A*30.0" --NoDataValue=-9999 2>/dev/null
for moves in 16 8; do
  "$bin" --store "$store" catchments --friction "$work/friction.tif" --friction-unit s_per_m \
    --moves "$moves" --out "$work/chaski$moves" >/dev/null
done
# The facilities as GRASS start points, in UTM 18S.
ogr2ogr -q -t_srs EPSG:32718 "$work/facilities.gpkg" "$peru/focus/vraem_box_facilities.geojson"
grass -c EPSG:32718 "$work/grassdb/loc" -e
grass "$work/grassdb/loc/PERMANENT" --exec bash -c "
  set -e
  r.in.gdal --quiet input='$work/cellcost.tif' output=cellcost
  g.region raster=cellcost
  v.in.ogr --quiet input='$work/facilities.gpkg' output=facilities
  r.cost -k -n --quiet input=cellcost start_points=facilities output=cost16
  r.cost -n --quiet input=cellcost start_points=facilities output=cost8
  r.out.gdal --quiet --overwrite input=cost16 output='$work/grass16.tif' format=GTiff type=Float64
  r.out.gdal --quiet --overwrite input=cost8 output='$work/grass8.tif' format=GTiff type=Float64
" >/dev/null 2>&1
/usr/bin/python3 - "$work" <<'EOF'
import csv, sys
import numpy as np
from osgeo import gdal
work = sys.argv[1]
def stats(r):
    r = np.sort(np.asarray(r))
    q = lambda p: np.quantile(r, p)
    return f"n {len(r)}, p5 {q(0.05):.4f}, median {q(0.5):.4f}, p95 {q(0.95):.4f}"
for moves in (16, 8):
    g = gdal.Open(f"{work}/grass{moves}.tif")
    gt = g.GetGeoTransform()
    grass = g.GetRasterBand(1).ReadAsArray().astype(float)
    gnd = g.GetRasterBand(1).GetNoDataValue()
    c = gdal.Open(f"{work}/chaski{moves}/travel_time.tif")
    chaski = c.GetRasterBand(1).ReadAsArray().astype(float) * 60.0
    cnd = c.GetRasterBand(1).GetNoDataValue()
    assert np.allclose(c.GetGeoTransform(), gt, atol=1e-3), (c.GetGeoTransform(), gt)
    ok = (grass != gnd) & (chaski != cnd * 60.0) & np.isfinite(grass) & (grass > 60) & (chaski > 0)
    print(f"moves {moves}: cells over 1 min, chaski/GRASS: {stats(chaski[ok] / grass[ok])}")
    rows = list(csv.DictReader(open(f"{work}/chaski{moves}/villages.csv", encoding="utf-8")))
    ratios = []
    ct = gdal.Open(f"{work}/utm.tif")
    from osgeo import osr
    src = osr.SpatialReference(); src.ImportFromEPSG(4326); src.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    dst = osr.SpatialReference(); dst.ImportFromEPSG(32718)
    tr = osr.CoordinateTransformation(src, dst)
    for r in rows:
        if r["minutes"] in ("",):
            continue
        x, y, _ = tr.TransformPoint(float(r["lon"]), float(r["lat"]))
        col, row = int((x - gt[0]) / gt[1]), int((y - gt[3]) / gt[5])
        if not (0 <= row < grass.shape[0] and 0 <= col < grass.shape[1]):
            continue
        gv = grass[row, col]
        if gv == gnd or not np.isfinite(gv) or gv <= 60:
            continue
        ratios.append(float(r["minutes"]) * 60.0 / gv)
    print(f"moves {moves}: villages, chaski/GRASS: {stats(ratios)}")
EOF
