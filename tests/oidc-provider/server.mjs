// A third-party OpenID provider for SmartMail's tests: npm's oidc-provider (certified, written by others), served over
// HTTPS on 127.0.0.1 with a certificate the .NET test makes per run. Run by tests/SmartMail.Worker.Tests/OAuth/ThirdPartyOidcProvider.cs:
//   node server.mjs CONFIG.json
// CONFIG: { port, certFile, keyFile, tokenLifetime (s), clients: [{ client_id, username, client_secret? | jwk? }], introspector: { client_id, client_secret } }
// Prints "listening PORT" once it serves. Clients: client_credentials only; a secret client authenticates by
// client_secret_post, a key client by private_key_jwt (RS256). Tokens are opaque; introspection answers who the token is
// for in "username" (the mail user the client acts as), for the IMAP server's oauth2 passdb.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `https://127.0.0.1:${config.port}`;
const usernames = new Map(config.clients.map((c) => [c.client_id, c.username]));

const clients = config.clients.map((c) => (c.jwk
  ? {
    client_id: c.client_id,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'imap smtp',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'RS256',
    jwks: { keys: [c.jwk] },
  }
  : {
    client_id: c.client_id,
    client_secret: c.client_secret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'imap smtp',
    token_endpoint_auth_method: 'client_secret_post',
  }));
// The resource server (the IMAP server's token check) introspects and revokes with its own credentials.
clients.push({
  client_id: config.introspector.client_id,
  client_secret: config.introspector.client_secret,
  grant_types: [],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
});

const provider = new Provider(issuer, {
  clients,
  scopes: ['imap', 'smtp'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true, allowedPolicy: async () => true },
    revocation: { enabled: true, allowedPolicy: async (ctx, client) => client.clientId === config.introspector.client_id },
    resourceIndicators: { enabled: false },
  },
  extraTokenClaims: async (ctx, token) => (usernames.has(token.clientId) ? { username: usernames.get(token.clientId) } : undefined),
  ttl: { ClientCredentials: config.tokenLifetime },
  clockTolerance: 5,
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.on('grant.error', (ctx, err) => console.error('grant.error', err.error, err.error_description, err.cause?.message ?? ''));

const server = https.createServer({ cert: readFileSync(config.certFile), key: readFileSync(config.keyFile) }, provider.callback());
server.listen(config.port, '127.0.0.1', () => console.log(`listening ${config.port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
