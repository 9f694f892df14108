# chaski: two commands set up and run everything on a fresh Debian 12 machine.
#   make demo   generate the demo region, load it into a store and print a summary
#   make test   formatting, lints and the whole test suite

SHELL := /bin/bash
CARGO ?= cargo
export PATH := $(HOME)/.cargo/bin:$(PATH)

DEMO_DIR   ?= data
DEMO_STORE ?= $(DEMO_DIR)/chaski.gpkg
CHASKI     := target/release/chaski

.PHONY: deps build demo serve test lint fmt bench load load-mixed clean

deps:
	@scripts/install-deps.sh

build: deps
	$(CARGO) build --release --locked -p chaski-cli

## make demo: regenerate the embedded demo region into data/, import every file into
## data/chaski.gpkg (a GeoPackage QGIS opens directly), print a summary per layer, then
## compute walking times to the nearest facility (and for a woman in labour to the nearest
## facility of category I-3 or above) into target/demo/.
demo: build
	$(CHASKI) demo --out $(DEMO_DIR) --load --endline --store $(DEMO_STORE)
	$(CHASKI) --store $(DEMO_STORE) catchments --out target/demo/catchments --districts districts
	$(CHASKI) --store $(DEMO_STORE) catchments --out target/demo/catchments-ge-I-3 --category '>=I-3' --preset pregnant --districts districts
	$(CHASKI) --store $(DEMO_STORE) indicators --out target/demo/indicators.csv
	$(CHASKI) --store $(DEMO_STORE) did --out target/demo/did.txt
	$(CHASKI) --store $(DEMO_STORE) visits --every 30 --as-of 2027-12-31 --out target/demo/visits_due.csv
	@echo "outputs in target/demo/; serve the demo with: make serve (viewer at http://127.0.0.1:8080)"

## make serve: serve the demo store (after make demo) on http://127.0.0.1:8080.
serve: build
	$(CHASKI) --store $(DEMO_STORE) serve --listen 127.0.0.1:8080

lint: deps
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

## make test: the gates CI runs: formatting, lints, every Rust test (unit, doc,
## integration, CLI), the headless-browser test of the web viewer and the property-based
## test of the HTTP API against /openapi.json (scripts/api-test.sh). Tests that
## need ../shared/data/peru, GDAL's command-line tools or PostgreSQL fail when those
## are missing (CHASKI_REQUIRE_DATA=1) instead of skipping. The PostGIS store's tests
## run on a throw-away cluster under target/ (scripts/pg-test-cluster.sh), started
## here with its URL in CHASKI_TEST_PG and stopped when the tests end, pass or fail.
test: export CHASKI_REQUIRE_DATA := 1
test: lint
	url="$$(scripts/pg-test-cluster.sh start)" && \
	  trap 'scripts/pg-test-cluster.sh stop' EXIT && \
	  export CHASKI_TEST_PG="$$url" && \
	  $(CARGO) test --workspace --locked && \
	  scripts/browser-test.sh && \
	  scripts/api-test.sh

fmt:
	$(CARGO) fmt --all

bench: deps
	$(CARGO) bench -p chaski-benches

## make load: wrk load test of the tile server with the Peru villages (benches/load/tiles.sh).
load: deps
	benches/load/tiles.sh

## make load-mixed: 60 s of tiles, accessibility, what-if and cluster requests at 256
## connections on the demo region (benches/load/mixed.sh): p50/p99, 429s, peak RSS.
load-mixed: deps
	benches/load/mixed.sh

clean:
	$(CARGO) clean
