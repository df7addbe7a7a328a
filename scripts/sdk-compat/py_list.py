"""List users, groups and some groups' members through the Python `okta` SDK's own pagination.

Usage: py_list.py ORG_URL TOKEN GROUP_ID... ; prints one JSON object on stdout:
{"users_unfiltered": [ids], "users_deprovisioned": [ids], "groups": [ids], "members": {gid: [ids]}}
Needs OKTA_TESTING_TESTINGDISABLEHTTPSCHECK=true for an http:// org URL.
"""
import asyncio
import json
import sys

from okta.client import Client as OktaClient
from okta.pagination import paginate_all

# Small pages so every list takes several round trips through the SDK's cursor handling.
USERS_PAGE = 200
GROUPS_PAGE = 50
MEMBERS_PAGE = 25


def checked(method, errors):
    """paginate_all stops silently on an error; record it so the run fails loudly."""

    async def call(**kwargs):
        data, resp, err = await method(**kwargs)
        if err is not None:
            errors.append(f"{method.__name__}({kwargs}): {err}")
        return data, resp, err

    return call


async def main():
    org_url, token, *group_ids = sys.argv[1:]
    client = OktaClient({"orgUrl": org_url, "token": token})
    errors = []
    out = {
        "users_unfiltered": [
            u.id async for u in paginate_all(checked(client.list_users, errors), limit=USERS_PAGE)
        ],
        "users_deprovisioned": [
            u.id
            async for u in paginate_all(
                checked(client.list_users, errors), limit=USERS_PAGE, filter='status eq "DEPROVISIONED"'
            )
        ],
        "groups": [g.id async for g in paginate_all(checked(client.list_groups, errors), limit=GROUPS_PAGE)],
        "members": {},
    }
    for gid in group_ids:
        out["members"][gid] = [
            u.id
            async for u in paginate_all(checked(client.list_group_users, errors), limit=MEMBERS_PAGE, group_id=gid)
        ]
    if errors:
        print("\n".join(errors), file=sys.stderr)
        sys.exit(1)
    print(json.dumps(out))


asyncio.run(main())
