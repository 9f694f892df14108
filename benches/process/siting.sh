#!/usr/bin/env bash
# Whole-process timing of `chaski site` on a generated 4 M-cell store: the Andean DEM of
# 2000 x 2000 cells of 30 m, 5,000 villages and 300 facilities with birth care (the
# instance of the criterion bench `siting_with_matrix`, written by the bench binary
# `siting_store`). `chaski site --candidates birth-care --homes 10 --minutes 120`: start-up,
# store reads, the terrain model, 300 searches bounded at 120 minutes, the solve
# (HiGHS), the underserved search and every output file. Prints each run and the median.
#
# Usage: benches/process/siting.sh [runs, default 5]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
cargo build --release --locked -p chaski-cli -p chaski-benches --bin chaski --bin siting_store >/dev/null
bin=target/release/chaski
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
store=$work/siting.gpkg
target/release/siting_store "$store"

# shellcheck source=benches/process/timed.sh
. benches/process/timed.sh
before="rm -rf $work/out"
site=("$bin" --store "$store" site --out "$work/out" --homes 10 --minutes 120)
"${site[@]}" >/dev/null 2>&1 # warm-up (file cache), untimed
echo "chaski site, maximal covering, 300 candidates x 5,000 villages, 4 M cells, $runs runs:"
timed "${site[@]}"
"${site[@]}"
