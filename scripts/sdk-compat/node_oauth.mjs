// List all users through @okta/okta-sdk-nodejs in PrivateKey (OAuth 2.0 service app) mode.
// Usage: node node_oauth.mjs ORG_URL CLIENT_ID PRIVATE_KEY_PEM ; prints {"users_unfiltered": [ids]}.
// The SDK switches to DPoP by itself when the token endpoint answers `use_dpop_nonce`.
import { createRequire } from 'node:module';
import fs from 'node:fs';

const require = createRequire(process.env.SDK_NODE_MODULES + '/');
const okta = require('@okta/okta-sdk-nodejs');

const USERS_PAGE = 200;
const [orgUrl, clientId, keyFile] = process.argv.slice(2);
const client = new okta.Client({
  orgUrl,
  authorizationMode: 'PrivateKey',
  clientId,
  scopes: ['okta.users.read'],
  privateKey: fs.readFileSync(keyFile, 'utf8'),
});
const users = [];
for await (const user of await client.userApi.listUsers({ limit: USERS_PAGE })) {
  users.push(user.id);
}
console.log(JSON.stringify({ users_unfiltered: users }));
