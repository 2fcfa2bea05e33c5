// Passwords in the browser, without SMTP (the server logs mail): an admin makes a reset link
// for an agent on the settings page; the agent opens it (the token rides in the URL fragment,
// and leaves the address bar), is refused a weak password, sets a good one and signs in with
// it, while their old tab is signed out. One changes one's own password on the security page
// (a wrong current password is refused). The forgot-password page answers the same for any
// address.
//
// Run: cd tests/browser && npm install && npm test (same needs as inbox.test.mjs).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, signUp, joinByInvite } from '../support/server.mjs';
import { WAIT, launch, signInThroughPage, watchConsole } from './support/browser.mjs';

describe('Passwords in the browser', () => {
  let server;
  let base;
  let browser;
  const people = {
    ana: { name: 'Ana Admin', email: 'ana@example.com', password: 'violet-harbour-lantern-7' },
    ben: { name: 'Ben Agent', email: 'ben@example.com', password: 'amber-meadow-compass-8' },
  };
  const errors = [];

  async function pageFor(label, allowed) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    return watchConsole(await ctx.newPage(), label, errors, allowed);
  }

  before(async () => {
    server = await startServer({ logName: 'server-passwords.log' });
    base = server.base;
    const up = await signUp(base, { ...people.ana, team_name: 'Harbour Bakery' });
    people.ana.api = up.api;
    const joined = await joinByInvite(up.api, people.ben, 'agent');
    people.ben.id = joined.user.id;
    browser = await launch();
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
    assert.deepEqual(errors, [], 'no unexpected console errors');
  });

  it('an admin hands over a reset link; the agent sets a new password with it', { timeout: 90_000 }, async () => {
    // Ben's old tab is open; after the reset its session is gone.
    const bensOldTab = await pageFor('ben-old', [/status of 401/]);
    await signInThroughPage(bensOldTab, base, people.ben);

    // This tab is signed out later, when Ana changes her password elsewhere (401 then).
    const ana = await pageFor('ana', [/status of 401/]);
    await signInThroughPage(ana, base, people.ana);
    await ana.goto(`${base}/settings`);
    const row = ana.locator(`[data-testid="member-row"][data-user-id="${people.ben.id}"]`);
    await row.locator('[data-testid="member-reset-link"]').click();
    const url = await ana.locator('[data-testid="reset-link-url"]').inputValue();
    assert.match(url, new RegExp(`^${base}/reset-password#token=[0-9a-f]{64}$`));
    await ana.locator('[data-testid="reset-link-close"]').click();

    const ben = await pageFor('ben-new', [/status of 422/]);
    await ben.goto(url);
    await ben.locator('[data-testid="reset-for"]').filter({ hasText: people.ben.email }).waitFor({ timeout: WAIT });
    assert.equal(new URL(ben.url()).hash, '', 'the token left the address bar');
    await ben.getByLabel('New password').fill('password1234');
    await ben.locator('[data-testid="submit"]').click();
    await ben.locator('[data-testid="auth-error"]').filter({ hasText: /guess/ }).waitFor({ timeout: WAIT });
    await ben.getByLabel('New password').fill('copper-lighthouse-meadow-4');
    await ben.locator('[data-testid="submit"]').click();
    await ben.locator('[data-testid="auth-done"]').filter({ hasText: /password is set/ }).waitFor({ timeout: WAIT });
    await ben.locator('[data-testid="go-sign-in"]').click();
    await signInThroughPage(ben, base, { email: people.ben.email, password: 'copper-lighthouse-meadow-4' });

    // The old tab's session ended with the reset: its next page is the sign-in page.
    await bensOldTab.reload();
    await bensOldTab.waitForURL(`${base}/sign-in`, { timeout: WAIT });

    // The link worked once.
    const again = await pageFor('ben-again', [/status of 422/]);
    await again.goto(url);
    await again.locator('[data-testid="auth-error"]').filter({ hasText: /unknown, used or expired/ }).waitFor({ timeout: WAIT });
  });

  it('one changes one\'s own password on the security page', { timeout: 60_000 }, async () => {
    const ana = await pageFor('ana-security', [/status of 422/]);
    await signInThroughPage(ana, base, people.ana);
    await ana.goto(`${base}/security`);
    const form = ana.locator('[data-testid="password-form"]');
    await form.getByLabel('Current password').fill('not my password at all');
    await form.getByLabel('New password', { exact: true }).fill('golden-orchard-river-5');
    await form.getByLabel('New password again').fill('golden-orchard-river-5');
    await ana.locator('[data-testid="password-change"]').click();
    await ana.locator('[data-testid="security-error"]').filter({ hasText: /current password/ }).waitFor({ timeout: WAIT });
    await form.getByLabel('Current password').fill(people.ana.password);
    await ana.locator('[data-testid="password-change"]').click();
    await ana.getByText('Password changed.').waitFor({ timeout: WAIT });
    assert.ok(await ana.locator('[data-testid="security-error"]').isHidden());
    // Still signed in here; the new password signs in anywhere else.
    await ana.goto(`${base}/`);
    await ana.locator('[data-testid="inbox"]').waitFor({ timeout: WAIT });
    const elsewhere = await pageFor('ana-elsewhere');
    await signInThroughPage(elsewhere, base, { email: people.ana.email, password: 'golden-orchard-river-5' });
  });

  it('the forgot-password page answers the same for any address', { timeout: 60_000 }, async () => {
    const page = await pageFor('forgot');
    await page.goto(`${base}/sign-in`);
    await page.locator('[data-testid="forgot-link"]').click();
    await page.waitForURL(`${base}/forgot-password`, { timeout: WAIT });
    const answers = [];
    for (const email of [people.ben.email, 'nobody@example.com']) {
      await page.goto(`${base}/forgot-password`);
      await page.getByLabel('Email').fill(email);
      await page.locator('[data-testid="submit"]').click();
      const done = page.locator('[data-testid="auth-done"]');
      await done.waitFor({ timeout: WAIT });
      answers.push(await done.textContent());
    }
    assert.equal(answers[0], answers[1]);
    assert.match(answers[0], /on its way/);
  });
});
