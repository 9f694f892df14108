#!/usr/bin/env bash
# Browser test of the viewer: loads the demo region into a temporary store, starts
# `chaski serve` on a free loopback port from the temporary folder (built-in styles), runs
# the headless Chromium test, stops the server. Then the offline viewer of a tile package:
# `chaski export` of the demo store, opened from file:// with the network disabled.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser test"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
fi
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

cargo build --locked -p chaski-cli
bin=$PWD/target/debug/chaski
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" demo --out "$work/data" --load --endline --store "$work/demo.gpkg" >/dev/null
token=$("$bin" --store "$work/demo.gpkg" tokens create --role admin --label browser-test 2>/dev/null)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Started outside the repository, with no --styles: the styles built into the binary.
(cd "$work" && exec "$bin" --store "$work/demo.gpkg" serve --listen "127.0.0.1:$port") &
server=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.2
done
(cd tests/browser && CHASKI_URL="http://127.0.0.1:$port" CHASKI_TOKEN="$token" CHASKI_DATA="$work/data" \
  node --test viewer.test.mjs)
kill "$server" 2>/dev/null || true

mkdir -p "$work/pkg"
"$bin" --store "$work/demo.gpkg" export --out "$work/pkg/demo.pmtiles"
(cd tests/browser && CHASKI_PACKAGE="$work/pkg" node --test offline.test.mjs)
