#!/usr/bin/env bash
# Throughput and latency of `oktasync serve` under load from another process (wrk), on a
# synced emulated org's SQLite mirror:
#   1. GET /v1/orgs/{org}/users?page_size=100          (the first page, again and again)
#   2. GET /v1/orgs/{org}/users?page_size=100&page_token=...  (pages anywhere in the list)
#   3. GET /v1/orgs/{org}/users/{id}                    (one user's detail, 2,000 users)
# Prints requests/s and the latency distribution of each. Figures, not a test.
#
#   bash scripts/api-load.sh [--size large] [--connections 32] [--seconds 20] [--threads 2]
#
# Needs wrk (Debian: apt-get install wrk) and python3; builds the release binaries.
set -euo pipefail

size=large connections=32 seconds=20 threads=2
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    *) echo "unknown argument $1; see the head of $0" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk" >&2; exit 2; }

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo build --release -p oktasync -p okta-emulator >&2
bin="$root/target/release/oktasync"
work="$(mktemp -d)"
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

echo "Syncing a $size org into $work/m.db ..." >&2
"$bin" bench --size "$size" --db "$work/m.db" >&2
org="$("$bin" orgs --db "$work/m.db" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["name"])')"
token="$("$bin" token create --name load --scope read --db "$work/m.db" 2>/dev/null | tail -n 1)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$bin" serve --db "$work/m.db" --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do
  curl -sf -o /dev/null "http://127.0.0.1:$port/livez" && break
  sleep 0.5
done

# A wrk script over 2,000 random users' details.
python3 - "$work" "$org" <<'EOF'
import base64, json, sqlite3, sys
work, org = sys.argv[1], sys.argv[2]
db = sqlite3.connect(f"file:{work}/m.db?mode=ro", uri=True)
ids = [r[0] for r in db.execute("SELECT id FROM users ORDER BY random() LIMIT 2000")]
def script(name, paths):
    with open(f"{work}/{name}.lua", "w") as f:
        f.write("paths = " + json.dumps(paths).replace("[", "{").replace("]", "}") + "\n")
        f.write("n = 0\nrequest = function()\n  n = n + 1\n"
                "  return wrk.format(\"GET\", paths[(n % #paths) + 1])\nend\n")
script("detail", [f"/v1/orgs/{org}/users/{i}" for i in ids])
EOF
# Page tokens are opaque: take real ones by walking the list once, every 10th page kept.
python3 - "$work" "$org" "$port" "$token" <<'EOF'
import json, sys, urllib.request
work, org, port, token = sys.argv[1:5]
tokens, next_token, n = [], None, 0
while True:
    url = f"http://127.0.0.1:{port}/v1/orgs/{org}/users?page_size=100"
    if next_token:
        url += f"&page_token={next_token}"
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    body = json.load(urllib.request.urlopen(req))
    next_token = body.get("next_page_token")
    if not next_token:
        break
    n += 1
    if n % 10 == 0:
        tokens.append(next_token)
paths = [f"/v1/orgs/{org}/users?page_size=100&page_token={t}" for t in tokens]
with open(f"{work}/pages.lua", "w") as f:
    f.write("paths = " + json.dumps(paths).replace("[", "{").replace("]", "}") + "\n")
    f.write("n = 0\nrequest = function()\n  n = n + 1\n"
            "  return wrk.format(\"GET\", paths[(n % #paths) + 1])\nend\n")
EOF

base="http://127.0.0.1:$port"
run() {
  local title="$1"; shift
  echo
  echo "== $title: $connections connections, ${seconds}s, $(nproc) cores"
  wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency \
    -H "Authorization: Bearer $token" "$@" \
    | grep -E "Requests/sec|Transfer/sec|^ +(50|75|90|99)%|Non-2xx|errors"
}
run "GET /v1/orgs/$org/users?page_size=100 (first page)" "$base/v1/orgs/$org/users?page_size=100"
run "GET /v1/orgs/$org/users?page_size=100&page_token=... (pages across the list)" -s "$work/pages.lua" "$base"
run "GET /v1/orgs/$org/users/{id} (2,000 users)" -s "$work/detail.lua" "$base"
