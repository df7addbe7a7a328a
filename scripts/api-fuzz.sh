#!/usr/bin/env bash
# Property-based tests of the REST API against its own OpenAPI document (schemathesis from
# PyPI): the demo mirror served read-only, every operation called with generated inputs; no
# 5xx, every response (problem documents included) matches the document.
#   bash scripts/api-fuzz.sh            # uses target/debug/oktasync (built by .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${OKTASYNC_BIN:-target/debug/oktasync}
[ -x "$bin" ] || cargo build -p oktasync
venv=${SCHEMATHESIS_VENV:-target/schemathesis-venv}
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'schemathesis>=4,<5'
fi
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$bin" demo --db "$work/m.db" --json >/dev/null
token=$("$bin" token create --name fuzz --scope grant --db "$work/m.db" | tail -n 1)
"$bin" serve --db "$work/m.db" --listen 127.0.0.1:0 2>"$work/serve.log" &
pid=$!
addr=
for _ in $(seq 1 100); do
  addr=$(grep -o 'on http://[0-9.:]*' "$work/serve.log" | head -n 1 | sed 's|on http://||') || true
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { cat "$work/serve.log"; echo "serve did not start"; exit 1; }
org=$("$bin" orgs --db "$work/m.db" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["name"])')
echo "serving the demo mirror (org $org) on $addr"
# Every `{org}` is the demo org: a generated name would only ever reach the 404 of an
# unknown org, never the handlers behind it.
cat >"$work/schemathesis.toml" <<TOML
[parameters]
"path.org" = "$org"
TOML
"$venv/bin/schemathesis" --config-file "$work/schemathesis.toml" run "http://$addr/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "${FUZZ_EXAMPLES:-15}" --workers 2 --seed 1 --max-time 150
