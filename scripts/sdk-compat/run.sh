#!/usr/bin/env bash
# The official Okta SDKs against the emulator, unmodified: PyPI `okta` 3.4.x and npm
# `@okta/okta-sdk-nodejs` 8.x list all users, all groups and the members of a few groups through
# their own pagination; the ids must equal `GET /__emulator/export`. Exit 1 on any mismatch.
#
# Usage: scripts/sdk-compat/run.sh [size] [seed]      (default: small 11)
# Env: PROFILE=debug|release, CARGO_TARGET_DIR, SKIP_BUILD=1 (use the binary as it is).
# Installs into target/sdk-compat/ (venv and node_modules), reused across runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/sdk-compat
size=${1:-small}
seed=${2:-11}
profile=${PROFILE:-debug}
bin=${CARGO_TARGET_DIR:-target}/$profile/okta-emulator
work_root=target/sdk-compat
mkdir -p "$work_root"

# Always (re)build: a stale binary would test old code. A no-op when it is fresh.
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "building $profile okta-emulator"
  if [ "$profile" = release ]; then cargo build --quiet --release -p okta-emulator; else cargo build --quiet -p okta-emulator; fi
fi

# SDKs (pinned to the majors the issue names).
if ! "$work_root/venv/bin/python" -c 'import okta, sys; from importlib.metadata import version; sys.exit(0 if version("okta").startswith("3.4.") else 1)' 2>/dev/null; then
  echo "installing PyPI okta==3.4.* into $work_root/venv"
  python3 -m venv "$work_root/venv"
  "$work_root/venv/bin/pip" install --quiet --disable-pip-version-check 'okta==3.4.*'
fi
node_dir=$work_root/node
if [ ! -f "$node_dir/node_modules/@okta/okta-sdk-nodejs/package.json" ] ||
   ! grep -q '"version": "8\.' "$node_dir/node_modules/@okta/okta-sdk-nodejs/package.json"; then
  echo "installing npm @okta/okta-sdk-nodejs@8 into $node_dir"
  mkdir -p "$node_dir"
  [ -f "$node_dir/package.json" ] || echo '{"name":"sdk-compat","private":true}' >"$node_dir/package.json"
  (cd "$node_dir" && npm install --silent --no-audit --no-fund '@okta/okta-sdk-nodejs@8')
fi
echo "python okta $("$work_root/venv/bin/python" -c 'from importlib.metadata import version; print(version("okta"))'), node sdk $(node -p "require('./$node_dir/node_modules/@okta/okta-sdk-nodejs/package.json').version")"

work=$(mktemp -d)
token="sdk-compat-$(date +%s)-$$"
# OAuth 2.0 service apps: one Bearer, one DPoP-bound, both with a key from `okta-emulator keygen`.
"$bin" keygen --out "$work/keys" --alg RS256
cat >"$work/oauth.toml" <<TOML
[[client]]
client_id = "0oa-sdk-compat-bearer"
public_key_pem_file = "$work/keys/public_key.pem"
scopes = ["okta.users.read"]

[[client]]
client_id = "0oa-sdk-compat-dpop"
public_key_pem_file = "$work/keys/public_key.pem"
scopes = ["okta.users.read"]
require_dpop = true
TOML
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
# start_emulator NAME ARGS...: starts the binary and sets $url from its `listening on` line.
start_emulator() {
  local name=$1; shift
  "$bin" --port 0 --seed "$seed" --size "$size" --token "$token" "$@" >"$work/$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  url=
  for _ in $(seq 1 600); do
    url=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$work/$name.log" | head -n1 | sed 's/listening on //') || true
    [ -n "$url" ] && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$work/$name.log"; echo "emulator $name exited"; exit 1; }
    sleep 0.1
  done
  echo "emulator $name did not start"; exit 1
}
start_emulator main --oauth-config "$work/oauth.toml"
echo "emulator at $url ($size, seed $seed)"

curl -fsS -H "Authorization: SSWS $token" "$url/__emulator/export" -o "$work/export.json"
# A few groups: the largest (Everyone), the largest OKTA_GROUP and APP_GROUP, and a small one
# that still needs two pages.
groups=$(python3 - "$work/export.json" <<'PY'
import json, sys
export = json.load(open(sys.argv[1]))
count = {}
for m in export["group_members"]:
    count[m["group_id"]] = count.get(m["group_id"], 0) + 1
by_type = {}
for g in export["groups"]:
    by_type.setdefault(g["type"], []).append(g["id"])
picked = []
for kind in ("BUILT_IN", "OKTA_GROUP", "APP_GROUP"):
    ids = sorted(by_type.get(kind, []), key=lambda i: -count.get(i, 0))
    picked += ids[:1]
small = sorted((c, g) for g, c in count.items() if 25 < c <= 60)
picked += [g for _, g in small[:1]]
print(" ".join(dict.fromkeys(picked)))
PY
)
echo "member lists for groups: $groups"

status=0
echo "== Python okta SDK"
if OKTA_TESTING_TESTINGDISABLEHTTPSCHECK=true "$work_root/venv/bin/python" "$here/py_list.py" "$url" "$token" $groups >"$work/py.json"; then
  python3 "$here/compare.py" python "$work/export.json" "$work/py.json" || status=1
else
  echo "python SDK run failed"; status=1
fi
echo "== Node okta SDK"
if SDK_NODE_MODULES="$PWD/$node_dir/node_modules" node "$here/node_list.mjs" "$url" "$token" $groups >"$work/node.json"; then
  python3 "$here/compare.py" node "$work/export.json" "$work/node.json" || status=1
else
  echo "node SDK run failed"; status=1
fi
for client in bearer dpop; do
  echo "== Python okta SDK, OAuth service app ($client)"
  if OKTA_TESTING_TESTINGDISABLEHTTPSCHECK=true "$work_root/venv/bin/python" "$here/py_oauth.py" "$url" "0oa-sdk-compat-$client" \
      "$work/keys/private_key.pem" "$([ $client = dpop ] && echo 1 || echo 0)" >"$work/py-$client.json"; then
    python3 "$here/compare.py" "python-oauth-$client" "$work/export.json" "$work/py-$client.json" || status=1
  else
    echo "python SDK OAuth ($client) run failed"; status=1
  fi
  echo "== Node okta SDK, OAuth service app ($client)"
  if SDK_NODE_MODULES="$PWD/$node_dir/node_modules" node "$here/node_oauth.mjs" "$url" "0oa-sdk-compat-$client" \
      "$work/keys/private_key.pem" >"$work/node-$client.json"; then
    python3 "$here/compare.py" "node-oauth-$client" "$work/export.json" "$work/node-$client.json" || status=1
  else
    echo "node SDK OAuth ($client) run failed"; status=1
  fi
done
curl -fsS -H "Authorization: SSWS $token" "$url/__emulator/stats" >"$work/stats.json"
python3 - "$work/stats.json" <<'PY' || status=1
import json, sys
s = json.load(open(sys.argv[1]))
print("emulator stats:", json.dumps(s["status"]), {k: v["requests"] for k, v in s["buckets"].items() if v["requests"]})
# Each SDK's DPoP client must have gone through `use_dpop_nonce` (a 400) once; nothing else fails.
if s["status"].get("400") != 2 or set(s["status"]) - {"200", "400"}:
    sys.exit("expected only 200s and exactly two 400 use_dpop_nonce answers (one per SDK)")
PY

# The SDKs' own 429 handling: a tight users bucket (4 per window for the org, so 2 per token)
# and 2-second windows. Both SDKs wait `X-Rate-Limit-Reset - Date + 1 s` and retry; they must
# still list everyone, and the emulator must have throttled them.
printf '[buckets]\nusers = 4\n' >"$work/limits.toml"
start_emulator limited --rate-limits "$work/limits.toml" --time-scale 30
echo "== rate-limited emulator at $url: users bucket 2 per token per 2 s"
for sdk in python node; do
  if [ $sdk = python ]; then
    OKTA_TESTING_TESTINGDISABLEHTTPSCHECK=true "$work_root/venv/bin/python" "$here/py_list.py" "$url" "$token" >"$work/limited-$sdk.json" || { echo "python SDK rate-limited run failed"; status=1; continue; }
  else
    SDK_NODE_MODULES="$PWD/$node_dir/node_modules" node "$here/node_list.mjs" "$url" "$token" >"$work/limited-$sdk.json" || { echo "node SDK rate-limited run failed"; status=1; continue; }
  fi
  python3 "$here/compare.py" "$sdk-rate-limited" "$work/export.json" "$work/limited-$sdk.json" || status=1
done
throttled=$(curl -fsS -H "Authorization: SSWS $token" "$url/__emulator/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["buckets"]["users"]["throttled"])')
echo "  429s the SDKs absorbed: $throttled"
[ "$throttled" -gt 0 ] || { echo "  expected the tight bucket to throttle the SDKs"; status=1; }

[ $status = 0 ] && echo "sdk-compat: OK" || echo "sdk-compat: FAILED"
exit $status
