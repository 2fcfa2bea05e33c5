// Sign-in with OIDC in the browser, against a local provider (tests/support/oidc-provider.mjs):
// the sign-in page shows "Sign in with Test IdP"; clicking it goes to the provider and back, and
// the inbox opens; the Security page lists the linked identity. An unknown email comes back to
// the sign-in page with a clear message, and nobody is signed in.
//
// Run: cd tests/browser && npm install && node --test oidc.test.mjs (same needs as inbox.test.mjs).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, signUp } from '../support/server.mjs';
import { startOidcProvider } from '../support/oidc-provider.mjs';
import { WAIT, launch, watchConsole } from './support/browser.mjs';

const CLIENT = { clientId: 'switchboard-browser', clientSecret: 'browser-client-secret' };

describe('Sign-in with OIDC in the browser', () => {
  let provider;
  let server;
  let base;
  let browser;
  const ana = { name: 'Ana Admin', email: 'ana@example.com', password: 'violet-harbour-lantern-7' };
  const errors = [];

  before(async () => {
    provider = await startOidcProvider(CLIENT);
    server = await startServer({
      logName: 'server-oidc.log',
      env: {
        OIDC_ISSUER_URL: provider.issuer,
        OIDC_CLIENT_ID: CLIENT.clientId,
        OIDC_CLIENT_SECRET: CLIENT.clientSecret,
        OIDC_DISPLAY_NAME: 'Test IdP',
      },
    });
    base = server.base;
    await signUp(base, { ...ana, team_name: 'Harbour Bakery' });
    browser = await launch();
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
    if (provider) await provider.close();
  });

  async function newPage(label) {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    return watchConsole(page, label, errors);
  }

  it('signs an existing user in with the provider, and lists the link on the Security page', { timeout: 90_000 }, async () => {
    provider.setUser({ sub: 'ana-at-idp', email: ana.email, email_verified: true, name: 'Ana at the IdP' });
    const page = await newPage('ana');
    await page.goto(`${base}/sign-in`);
    const button = page.locator('[data-testid="oidc-sign-in"]');
    await button.waitFor({ state: 'visible', timeout: WAIT });
    assert.equal((await button.textContent()).trim(), 'Sign in with Test IdP');
    await button.click();
    await page.waitForURL(`${base}/`, { timeout: WAIT });
    await page.locator('[data-testid="inbox"]').waitFor({ timeout: WAIT });

    await page.goto(`${base}/security`);
    const identity = page.locator('[data-testid="linked-sign-in"] [data-testid="identity"]');
    await identity.waitFor({ timeout: WAIT });
    assert.match(await identity.textContent(), /ana@example\.com/);
    assert.deepEqual(errors, []);
  });

  it('sends an unknown email back to the sign-in page with a message', { timeout: 90_000 }, async () => {
    provider.setUser({ sub: 'stranger', email: 'stranger@example.com', email_verified: true });
    const page = await newPage('stranger');
    await page.goto(`${base}/sign-in`);
    await page.locator('[data-testid="oidc-sign-in"]').click();
    await page.waitForURL(`${base}/sign-in?error=oidc_no_account`, { timeout: WAIT });
    const message = page.locator('[data-testid="oidc-error"]');
    await message.waitFor({ state: 'visible', timeout: WAIT });
    assert.match(await message.textContent(), /no Switchboard account for this email/);
    assert.equal((await page.request.get(`${base}/api/me`)).status(), 401);
    assert.deepEqual(errors, []);
  });
});
