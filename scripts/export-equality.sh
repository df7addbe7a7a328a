#!/usr/bin/env bash
# The truth test from the outside: start the emulator binary with a seeded org, mirror it with
# `oktasync sync`, and require `oktasync export --format json` to equal the emulator's
# `GET /__emulator/export` byte for byte (both sort keys and lists).
# Usage: scripts/export-equality.sh [tiny|small|medium|large] [seed]
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-medium}
seed=${2:-7}
profile=${PROFILE:-debug}
bin=target/$profile
# Always (re)build: a binary left from older code would compare the wrong exports. A no-op
# when they are fresh.
echo "building $profile binaries"
if [ "$profile" = release ]; then cargo build --quiet --release -p okta-emulator -p oktasync; else cargo build --quiet -p okta-emulator -p oktasync; fi
work=$(mktemp -d)
token="ci-export-equality-token"
"$bin/okta-emulator" --port 0 --seed "$seed" --size "$size" --token "$token" >"$work/emulator.log" 2>&1 &
emu=$!
trap 'kill $emu 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do
  url=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$work/emulator.log" | head -n1 | sed 's/listening on //') || true
  [ -n "${url:-}" ] && break
  kill -0 $emu 2>/dev/null || { cat "$work/emulator.log"; echo "emulator exited"; exit 1; }
  sleep 0.1
done
[ -n "${url:-}" ] || { echo "emulator did not start"; exit 1; }
echo "emulator at $url ($size, seed $seed)"
start=$(date +%s.%N)
# Every user's factors: the emulator's export lists them all.
OKTASYNC_API_TOKEN="$token" "$bin/oktasync" sync --org-url "$url" --db "$work/mirror.db" --factors all --json >"$work/summary.json"
end=$(date +%s.%N)
echo "sync summary: $(cat "$work/summary.json")"
echo "sync wall seconds: $(python3 -c "print(round($end - $start, 2))")"
"$bin/oktasync" export --db "$work/mirror.db" --format json --out "$work/mirror.json"
python3 - "$url" "$token" "$work/emulator.json" <<'PY'
import sys, urllib.request
url, token, out = sys.argv[1:]
req = urllib.request.Request(url + "/__emulator/export", headers={"Authorization": "SSWS " + token})
open(out, "wb").write(urllib.request.urlopen(req).read())
PY
if cmp -s "$work/emulator.json" "$work/mirror.json"; then
  echo "export equality: OK ($(wc -c <"$work/mirror.json") bytes)"
else
  python3 - "$work/emulator.json" "$work/mirror.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for key in sorted(set(a) | set(b)):
    x, y = a.get(key), b.get(key)
    if x != y:
        print(f"{key}: emulator {len(x or [])} rows, mirror {len(y or [])} rows")
        if isinstance(x, list) and isinstance(y, list):
            for i, (p, q) in enumerate(zip(x, y)):
                if p != q:
                    print("  first difference at", i, "\n  emulator:", json.dumps(p)[:400], "\n  mirror:  ", json.dumps(q)[:400])
                    break
print("parsed equal" if a == b else "parsed differ")
PY
  echo "export equality: FAILED"; exit 1
fi
