// A local OpenID Connect provider for the browser tests, in Node (the Rust e2e tests have their
// own, tests/e2e/support/oidc_provider.rs): discovery, JWKS, /authorize (approves at once as the
// user the test set and redirects back with code and state) and /token (checks the client's
// Basic credentials, the redirect URI and the PKCE verifier; answers an RS256 ID token with the
// nonce). It signs with the fixed test key the Rust tests use.

import http from 'node:http';
import { createHash, createPrivateKey, createPublicKey, createSign, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './server.mjs';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** Starts the provider on 127.0.0.1:0; resolves to { issuer, setUser(user), close() }. */
export async function startOidcProvider({ clientId, clientSecret }) {
  const key = createPrivateKey(readFileSync(path.join(repoRoot, 'tests/e2e/support/oidc_test_key.pem'), 'utf8'));
  const jwk = { ...createPublicKey(key).export({ format: 'jwk' }), kid: 'browser-key', use: 'sig', alg: 'RS256' };
  const grants = new Map();
  let user = null;
  let issuer = '';

  function idToken(grant) {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: issuer, sub: grant.user.sub, aud: clientId, iat: now, exp: now + 600, nonce: grant.nonce,
      email: grant.user.email, email_verified: grant.user.email_verified, name: grant.user.name,
    };
    const input = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'browser-key' }))}.${b64url(JSON.stringify(claims))}`;
    return `${input}.${b64url(createSign('RSA-SHA256').update(input).sign(key))}`;
  }

  const json = (res, status, body) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, issuer);
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (url.pathname === '/jwks') return json(res, 200, { keys: [jwk] });
    if (url.pathname === '/authorize') {
      const q = url.searchParams;
      if (!user || q.get('client_id') !== clientId || q.get('code_challenge_method') !== 'S256') return json(res, 400, { error: 'invalid_request' });
      const code = b64url(randomBytes(16));
      grants.set(code, { user, nonce: q.get('nonce'), challenge: q.get('code_challenge'), redirectUri: q.get('redirect_uri') });
      const back = new URL(q.get('redirect_uri'));
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state'));
      res.writeHead(302, { Location: back.toString() });
      return res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (chunk) => { body += chunk; });
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const basic = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
        if (req.headers.authorization !== basic) return json(res, 401, { error: 'invalid_client' });
        const grant = grants.get(form.get('code'));
        grants.delete(form.get('code'));
        const challenge = b64url(createHash('sha256').update(form.get('code_verifier') || '').digest());
        if (!grant || grant.challenge !== challenge || grant.redirectUri !== form.get('redirect_uri')) return json(res, 400, { error: 'invalid_grant' });
        return json(res, 200, { access_token: b64url(randomBytes(16)), token_type: 'Bearer', expires_in: 600, id_token: idToken(grant) });
      });
      return undefined;
    }
    return json(res, 404, { error: 'not_found' });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${server.address().port}`;
  return {
    issuer,
    setUser(next) { user = next; },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
