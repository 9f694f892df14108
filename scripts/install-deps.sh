#!/usr/bin/env bash
# Install what chaski needs to build and test on Debian 12, only when it is missing.
# Used by `make demo` and `make test`; safe to run again.
set -euo pipefail

APT_PACKAGES=(
  libgdal-dev   # GDAL 3.6: vector and raster readers (chaski-io)
  libproj-dev   # PROJ 9.1: coordinate transformations (chaski-io)
  libsqlite3-dev # SQLite, shared with GDAL: the GeoPackage store
  pkg-config
  cmake         # builds HiGHS from source (the MILP solver of chaski site, crate highs)
  g++           # HiGHS is C++
  libclang-dev  # bindgen in proj-sys
  gdal-bin      # ogr2ogr/ogrinfo: reference tool in tests
  python3-gdal  # validate_gpkg.py: GDAL's GeoPackage validator in tests
  proj-bin      # cs2cs: reference tool in tests
  poppler-utils # pdfinfo, pdffonts, pdftotext, pdftoppm: independent readers of printed maps in tests
  grass-core    # GRASS GIS r.cost: reference tool of the travel-time tests
  python3-qgis  # QGIS 3.22 Python API: headless test that QGIS opens the store (run with /usr/bin/python3)
  curl          # health checks in the browser and load tests
  python3-venv  # target/pyenv: the PyPI `pmtiles` reader of the tile package tests
  postgresql-15 # the PostGIS store's tests: a throw-away cluster (scripts/pg-test-cluster.sh)
  postgresql-15-postgis-3 # PostGIS 3 in that cluster
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  # The tests run a throw-away PostgreSQL cluster of their own (scripts/pg-test-cluster.sh):
  # Debian's package is told not to create (and start) a system cluster when it is installed.
  if ! dpkg-query -W -f='${Status}' postgresql-common 2>/dev/null | grep -q "install ok installed"; then
    $SUDO mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.d/chaski.conf >/dev/null
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    echo "cargo is in ~/.cargo/bin: add it to PATH" >&2
  else
    echo "cargo (Rust) is required: install it with rustup (https://rustup.rs)" >&2
  fi
  exit 1
fi

# Python packages from PyPI, in a virtual environment under target/: the independent PMTiles
# reader of the tile package tests (crates/chaski-cli/tests/it/export.rs; found there by
# chaski_testing::require_python_module, CHASKI_PYTHON overrides it), and schemathesis, the
# property-based API test of scripts/api-test.sh (with the hypothesis it was tested with).
PYENV="$(cd "$(dirname "$0")/.." && pwd)/target/pyenv"
if [ ! -x "$PYENV/bin/python" ]; then
  python3 -m venv "$PYENV"
fi
if ! "$PYENV/bin/python" -c 'import pmtiles' >/dev/null 2>&1; then
  echo "installing the Python pmtiles reader in $PYENV"
  "$PYENV/bin/pip" install --quiet --disable-pip-version-check 'pmtiles==3.8.1'
fi
if [ "$("$PYENV/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version 4.32.5" ]; then
  echo "installing schemathesis in $PYENV"
  "$PYENV/bin/pip" install --quiet --disable-pip-version-check 'schemathesis==4.32.5' 'hypothesis==6.170.27'
fi
