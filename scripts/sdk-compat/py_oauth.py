"""List all users through the Python `okta` SDK in PrivateKey (OAuth 2.0 service app) mode.

Usage: py_oauth.py ORG_URL CLIENT_ID PRIVATE_KEY_PEM DPOP(0|1); prints {"users_unfiltered": [ids]}.
The SDK gets its token with a private_key_jwt client assertion; with DPOP=1 it also does the
DPoP nonce dance and sends `Authorization: DPoP` with a proof on every request.
"""
import asyncio
import json
import sys

from okta.client import Client as OktaClient
from okta.pagination import paginate_all

USERS_PAGE = 200


async def main():
    org_url, client_id, key_file, dpop = sys.argv[1:]
    config = {
        "orgUrl": org_url,
        "authorizationMode": "PrivateKey",
        "clientId": client_id,
        "scopes": ["okta.users.read"],
        "privateKey": open(key_file).read(),
    }
    if dpop == "1":
        config["dpopEnabled"] = True
    client = OktaClient(config)
    errors = []

    async def list_users(**kwargs):
        data, resp, err = await client.list_users(**kwargs)
        if err is not None:
            errors.append(str(err))
        return data, resp, err

    users = [u.id async for u in paginate_all(list_users, limit=USERS_PAGE)]
    if errors:
        print("\n".join(errors), file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"users_unfiltered": users}))


asyncio.run(main())
