#!/usr/bin/env bash
# Whole-process timing of the import of the 136,587 villages of ../shared/data/peru
# (villages/ccpp_ign100k.gpkg, IGN 1:100,000) into a PostGIS store, side by side with
#   - `ogr2ogr -f PostgreSQL` (GDAL, COPY, GiST index) into the same cluster, and
#   - `chaski import` into a GeoPackage store, for reference.
# Each run starts from an empty schema (dropped and made again before it, untimed).
# The cluster is the one of CHASKI_TEST_PG, else a throw-away one under target/pg-bench
# (scripts/pg-test-cluster.sh), stopped at the end. Release build; prints every run's
# wall time and the median, then the rows each tool stored.
#
# Usage: benches/process/postgis_import.sh [runs, default 3]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
data=../shared/data/peru/villages/ccpp_ign100k.gpkg
[ -f "$data" ] || { echo "needs $data" >&2; exit 1; }
command -v ogr2ogr >/dev/null || { echo "needs ogr2ogr (gdal-bin)" >&2; exit 1; }
cargo build --release --locked -p chaski-cli 2>/dev/null
bin=$PWD/target/release/chaski
work=$(mktemp -d)
url=${CHASKI_TEST_PG:-}
if [ -z "$url" ]; then
  export CHASKI_PG_DIR=$PWD/target/pg-bench
  url=$(scripts/pg-test-cluster.sh start)
  trap 'scripts/pg-test-cluster.sh stop >/dev/null; rm -rf "$work"' EXIT
else
  trap 'rm -rf "$work"' EXIT
fi
# host, port, user and database of the URL, for psql and GDAL.
read -r host port user db < <(python3 - "$url" <<'PY'
import sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
print(u.hostname or "127.0.0.1", u.port or 5432, u.username or "postgres", u.path.lstrip("/") or "postgres")
PY
)
psql_() { psql -q -X -h "$host" -p "$port" -U "$user" -d "$db" -v ON_ERROR_STOP=1 "$@"; }
. benches/process/timed.sh

echo "load while measuring: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
echo "chaski import $data --layer communities  (PostGIS, schema bench_chaski)"
fresh_chaski() { psql_ -c 'DROP SCHEMA IF EXISTS bench_chaski CASCADE'; }
before=fresh_chaski
timed "$bin" --store "$url?schema=bench_chaski" import "$data" --layer communities

echo "ogr2ogr -f PostgreSQL (COPY, GiST index; schema bench_ogr)"
fresh_ogr() { psql_ -c 'DROP SCHEMA IF EXISTS bench_ogr CASCADE; CREATE SCHEMA bench_ogr'; }
before=fresh_ogr
timed ogr2ogr -f PostgreSQL "PG:host=$host port=$port user=$user dbname=$db" "$data" \
  -nln bench_ogr.communities -lco GEOMETRY_NAME=geom -lco SPATIAL_INDEX=GIST -lco FID=fid \
  --config PG_USE_COPY YES

echo "chaski import $data --layer communities  (GeoPackage, for reference)"
fresh_gpkg() { rm -f "$work"/s.gpkg*; }
before=fresh_gpkg
timed "$bin" --store "$work/s.gpkg" import "$data" --layer communities

echo "rows stored: chaski $(psql_ -tA -c 'SELECT count(*) FROM bench_chaski.communities'), ogr2ogr $(psql_ -tA -c 'SELECT count(*) FROM bench_ogr.communities')"
echo "GiST indexes: $(psql_ -tA -c "SELECT string_agg(schemaname || '.' || indexname, ', ') FROM pg_indexes WHERE indexdef LIKE '%gist%' AND schemaname LIKE 'bench_%'")"
