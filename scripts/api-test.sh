#!/usr/bin/env bash
# Property-based test of the HTTP API against its own description (schemathesis, from PyPI,
# in target/pyenv): loads the demo region with its monitoring data into a temporary store,
# exports it as a PMTiles archive, starts `chaski serve` on a free loopback port (with the
# archive, and writes per hour raised so that uploads keep reaching their checks), then runs
# schemathesis against /openapi.json twice, without a token and with an admin token of
# `chaski tokens create`. Fails when any answer is a 5xx or breaks the description (status,
# content type, headers, body schema), or when a run exceeds its time bound.
#
#   API_TEST_EXAMPLES  test cases per operation and phase (default 15)
#   API_TEST_SECONDS   wall-clock bound of each run (default 600)
#   API_TEST_SEED      seed of the generated cases (default: a new one each time; printed)
set -euo pipefail
cd "$(dirname "$0")/.."

examples=${API_TEST_EXAMPLES:-15}
bound=${API_TEST_SECONDS:-600}
seed=${API_TEST_SEED:-$RANDOM}
st=$PWD/target/pyenv/bin/schemathesis
if ! "$st" --version >/dev/null 2>&1; then
  scripts/install-deps.sh
fi

cargo build --locked -p chaski-cli
bin=$PWD/target/debug/chaski
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" demo --out "$work/data" --load --endline --store "$work/demo.gpkg" >/dev/null
"$bin" --store "$work/demo.gpkg" export --out "$work/demo.pmtiles" --no-viewer 2>/dev/null
token=$("$bin" --store "$work/demo.gpkg" tokens create --role admin --label api-test 2>/dev/null)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Each request is logged (tower_http at debug): a failure shows the last ones.
(cd "$work" && exec "$bin" --log info,tower_http=debug --store "$work/demo.gpkg" serve --listen "127.0.0.1:$port" \
  --pmtiles "$work/demo.pmtiles" --writes-per-hour 1000000 >"$work/serve.log" 2>&1) &
server=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.2
done

# One schemathesis run; $1 names it, the rest are extra arguments. One worker: the server has
# two cores to share with the test, and the heavy endpoints (what-if, clusters, siting, maps)
# would otherwise wait on each other past the server's time limit.
run() {
  local name=$1
  shift
  echo "== API test, $name: $examples cases per operation and phase, seed $seed, at most ${bound}s"
  local status=0
  timeout --kill-after=10 "$bound" "$st" --config-file tests/api/schemathesis.toml --no-color \
    run "http://127.0.0.1:$port/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --max-examples "$examples" --seed "$seed" --workers 1 --request-timeout 60 \
    --generation-database none --suppress-health-check all "$@" >"$work/$name.txt" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    cat "$work/$name.txt"
    if [ "$status" -eq 124 ]; then echo "API test, $name: over its ${bound}s bound" >&2; fi
    echo "API test, $name: FAILED (seed $seed; the server's log follows)" >&2
    tail -60 "$work/serve.log" | cut -c1-400 >&2
    exit 1
  fi
  sed -n '/= SUMMARY =/,$p' "$work/$name.txt"
}

run "without a token"
run "with an admin token" -H "Authorization: Bearer $token"
echo "API test: no 5xx and no answer outside the description"
