// List users, groups and some groups' members through @okta/okta-sdk-nodejs's own pagination
// (Collection follows the full `next` link URL).
// Usage: node node_list.mjs ORG_URL TOKEN GROUP_ID... ; prints one JSON object on stdout:
// {"users_unfiltered": [ids], "users_deprovisioned": [ids], "groups": [ids], "members": {gid: [ids]}}
import { createRequire } from 'node:module';

const require = createRequire(process.env.SDK_NODE_MODULES + '/');
const okta = require('@okta/okta-sdk-nodejs');

// Small pages so every list takes several round trips through the SDK's link handling.
const USERS_PAGE = 200;
const GROUPS_PAGE = 50;
const MEMBERS_PAGE = 25;

async function ids(collectionPromise) {
  const out = [];
  for await (const item of await collectionPromise) {
    out.push(item.id);
  }
  return out;
}

const [orgUrl, token, ...groupIds] = process.argv.slice(2);
const client = new okta.Client({ orgUrl, token });
const out = {
  users_unfiltered: await ids(client.userApi.listUsers({ limit: USERS_PAGE })),
  users_deprovisioned: await ids(
    client.userApi.listUsers({ limit: USERS_PAGE, filter: 'status eq "DEPROVISIONED"' }),
  ),
  groups: await ids(client.groupApi.listGroups({ limit: GROUPS_PAGE })),
  members: {},
};
for (const groupId of groupIds) {
  out.members[groupId] = await ids(client.groupApi.listGroupUsers({ groupId, limit: MEMBERS_PAGE }));
}
console.log(JSON.stringify(out));
