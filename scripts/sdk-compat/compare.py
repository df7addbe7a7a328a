"""Compare what an SDK listed with the emulator's export; exit 1 on any difference.

Usage: compare.py SDK_NAME EXPORT_JSON LISTED_JSON
"""
import json
import sys

name, export_path, listed_path = sys.argv[1:]
export = json.load(open(export_path))
listed = json.load(open(listed_path))

users = export["users"]
expected = {
    # Okta's unfiltered user list hides DEPROVISIONED users.
    "users_unfiltered": sorted(u["id"] for u in users if u["status"] != "DEPROVISIONED"),
    "users_deprovisioned": sorted(u["id"] for u in users if u["status"] == "DEPROVISIONED"),
    "groups": sorted(g["id"] for g in export["groups"]),
}
members = {}
for m in export["group_members"]:
    members.setdefault(m["group_id"], []).append(m["user_id"])

failures = []


def check(what, want, got):
    dupes = len(got) - len(set(got))
    if dupes:
        failures.append(f"{what}: {dupes} duplicate ids across pages")
    if sorted(set(got)) != sorted(want):
        missing = sorted(set(want) - set(got))[:5]
        extra = sorted(set(got) - set(want))[:5]
        failures.append(f"{what}: listed {len(got)}, export has {len(want)} (missing e.g. {missing}, extra e.g. {extra})")
    else:
        print(f"  {name}: {what}: {len(got)} == export")


for key, want in expected.items():
    if key in listed:
        check(key, want, listed[key])
for gid, got in listed.get("members", {}).items():
    check(f"members of {gid}", sorted(members.get(gid, [])), got)

if failures:
    print(f"{name}: MISMATCH", file=sys.stderr)
    for f in failures:
        print(f"  {f}", file=sys.stderr)
    sys.exit(1)
print(f"{name}: all counts match the export")
