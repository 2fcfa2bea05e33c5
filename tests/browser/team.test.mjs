// Team administration in the browser: an admin manages members and invites on the settings page
// and reads the audit log, while the affected teammates have the app open in their own browsers.
//
// What a person would see: a promoted agent's open tab reloads with the admin's rights; a
// deactivated agent's open tab lands on the sign-in page within seconds (their socket is closed
// by the server, 4009, and pusher-js does not reconnect) while their conversations go back to
// Unassigned; a second admin's settings page follows every change live; invites are listed,
// re-sent (a new link) and revoked; the audit log shows each act with who, whom and from where.
//
// Run: cd tests/browser && npm install && npm test (same needs as inbox.test.mjs).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { startServer, signUp, joinByInvite, ARTIFACTS } from '../support/server.mjs';
import { WAIT, connected, launch, signInThroughPage as signIn, watchConsole as watch } from './support/browser.mjs';

const SHOTS = path.join(ARTIFACTS, 'screenshots');

/** RFC 6238 (SHA-1, 6 digits, 30 s) from a base32 secret, at time `ms`: what an authenticator app shows. */
function totp(secret, ms = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(Array.from({ length: Math.floor(bits.length / 8) }, (_, i) => parseInt(bits.slice(i * 8, i * 8 + 8), 2)));
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(Math.floor(ms / 30_000)));
  const mac = createHmac('sha1', key).update(msg).digest();
  const at = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

describe('Team administration in the browser', () => {
  let server;
  let base;
  let browser;
  const people = {
    ana: { name: 'Ana Admin', email: 'ana@example.com', password: 'violet-harbour-lantern-7' },
    ben: { name: 'Ben Agent', email: 'ben@example.com', password: 'amber-meadow-compass-8' },
    cleo: { name: 'Cleo Agent', email: 'cleo@example.com', password: 'silver-canyon-whistle-9' },
  };
  const pages = {};
  let anaApi;
  const consoleErrors = [];

  const watchConsole = (page, label, allowed = []) => watch(page, label, consoleErrors, allowed);
  const signInThroughPage = (page, who) => signIn(page, base, who);

  /** Waits until `page` shows the sign-in form (two navigations may race there: tolerated). */
  async function landsOnSignIn(page, ms) {
    const until = Date.now() + ms;
    for (;;) {
      const there = new URL(page.url()).pathname === '/sign-in' && await page.locator('[data-testid="submit"]').isVisible().catch(() => false);
      if (there) return;
      assert.ok(Date.now() < until, `still on ${page.url()} after ${ms} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const row = (page, who) => page.locator(`[data-testid="member-row"][data-user-id="${who.id}"]`);

  before(async () => {
    assert.ok(existsSync('/usr/bin/chromium'), '/usr/bin/chromium is missing (apt-get install chromium)');
    mkdirSync(SHOTS, { recursive: true });
    server = await startServer({ logName: 'server-team.log' });
    base = server.base;
    const up = await signUp(base, { ...people.ana, team_name: 'Harbour Bakery' });
    anaApi = up.api;
    people.ana.id = up.user.id;
    for (const key of ['ben', 'cleo']) {
      const joined = await joinByInvite(anaApi, people[key], 'agent');
      people[key].id = joined.user.id;
      people[key].api = joined.api;
    }

    browser = await launch();
    for (const key of ['ana', 'ben', 'cleo']) {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      // Refusals the tests provoke on purpose: Cleo's tab asks /api/me after her socket is
      // closed (401), Ben requires two-factor before having it (409), Ana's session is held
      // back until she enrols (403).
      const allowed = { cleo: [/status of 401/], ben: [/status of 409/], ana: [/status of 403/] }[key];
      pages[key] = watchConsole(await ctx.newPage(), key, allowed);
      await signInThroughPage(pages[key], people[key]);
    }
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  });

  it('promotes an agent: their open tab reloads with the admin\'s rights', { timeout: 90_000 }, async () => {
    const { ana, ben } = pages;
    assert.equal(await ben.locator('[data-testid="settings-link"]').count(), 0, 'Ben starts as an agent');
    await ana.goto(`${base}/settings`);
    await row(ana, people.cleo).waitFor({ timeout: WAIT });
    assert.equal(await ana.locator('[data-testid="member-row"]').count(), 3);
    assert.equal(await row(ana, people.ana).locator('[data-testid="member-role"]').count(), 0, 'nobody changes their own role here');

    await row(ana, people.ben).locator('[data-testid="member-role"]').selectOption('admin');
    await ana.locator('[data-testid="toast"]', { hasText: 'Ben Agent is now an admin.' }).waitFor({ timeout: WAIT });
    // Ben's tab: the server closed his socket (his rights changed); the app reloads as an admin.
    await ben.locator('[data-testid="settings-link"]').waitFor({ state: 'visible', timeout: WAIT });
    assert.match(await ben.locator('[data-testid="me-name"]').textContent(), /admin/);
    await connected(ben);
  });

  it('deactivates an agent: signed out at once, conversations unassigned, live on another admin\'s page', { timeout: 90_000 }, async () => {
    const { ana, ben, cleo } = pages;
    // A conversation assigned to Cleo.
    await anaApi.expect(202, 'POST', '/api/simulator/inbound', { from: '+14155550142', channel: 'sms', body: 'Do you bake sourdough on Sundays?' });
    let thread;
    for (let i = 0; i < 50 && !thread; i++) {
      const list = await anaApi.expect(200, 'GET', '/api/threads');
      thread = (list.items || list.threads || []).find((t) => t.contact && t.contact.phone === '+14155550142');
      if (!thread) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(thread, 'the inbound conversation exists');
    await anaApi.expect(200, 'PATCH', `/api/threads/${thread.id}`, { assignee_id: people.cleo.id });

    // Ben (now an admin) watches the settings page.
    await ben.goto(`${base}/settings`);
    await row(ben, people.cleo).waitFor({ timeout: WAIT });
    await connected(ben);

    await row(ana, people.cleo).locator('[data-testid="member-deactivate"]').click();
    const dialog = ana.locator('[data-testid="offboard-dialog"]');
    await dialog.waitFor({ timeout: WAIT });
    assert.match(await dialog.textContent(), /Deactivate Cleo Agent\?/);
    await shot(ana, 'members-deactivate-dialog');
    await dialog.locator('[data-testid="offboard-unassign"]').check();
    const started = Date.now();
    await dialog.locator('[data-testid="offboard-confirm"]').click();

    await landsOnSignIn(cleo, 5_000);
    const took = Date.now() - started;
    assert.ok(took < 5_000, `Cleo's tab reached the sign-in page in ${took} ms`);
    await ana.locator('[data-testid="toast"]', { hasText: 'Cleo Agent was deactivated. 1 conversation moved to Unassigned.' }).waitFor({ timeout: WAIT });
    await row(ana, people.cleo).locator('[data-testid="member-deactivated"]').waitFor({ timeout: WAIT });
    // Live on Ben's settings page, no reload.
    await row(ben, people.cleo).locator('[data-testid="member-deactivated"]').waitFor({ timeout: WAIT });
    const { thread: after } = await anaApi.expect(200, 'GET', `/api/threads/${thread.id}`);
    assert.equal(after.assignee_id, null, 'her conversation went back to Unassigned');

    // She cannot sign back in; her cookie is dead.
    await cleo.getByLabel('Email').fill(people.cleo.email);
    await cleo.getByLabel('Password').fill(people.cleo.password);
    await cleo.locator('[data-testid="submit"]').click();
    await cleo.locator('[role="alert"]').filter({ hasText: /./ }).first().waitFor({ timeout: WAIT });
    assert.equal(new URL(cleo.url()).pathname, '/sign-in');
    await shot(ana, 'members', true);

    // Reactivated, she can sign in again.
    await row(ana, people.cleo).locator('[data-testid="member-reactivate"]').click();
    await ana.locator('[data-testid="toast"]', { hasText: 'Cleo Agent can sign in again.' }).waitFor({ timeout: WAIT });
    await ana.waitForFunction((id) => document.querySelector(`[data-testid="member-row"][data-user-id="${id}"]`).dataset.active === 'true', people.cleo.id, { timeout: WAIT });
    await signInThroughPage(cleo, people.cleo);
  });

  it('lists, re-sends and revokes invites', { timeout: 60_000 }, async () => {
    const { ana } = pages;
    await ana.locator('[data-testid="invite-email"]').fill('dora@example.com');
    await ana.locator('[data-testid="invite-days"]').selectOption('3');
    await ana.locator('[data-testid="invite-create"]').click();
    const inviteRow = ana.locator('[data-testid="invite-row"]', { hasText: 'dora@example.com' });
    await inviteRow.waitFor({ timeout: WAIT });
    assert.match(await inviteRow.textContent(), /Ana Admin/, 'who made it');
    const first = await ana.locator('[data-testid="invite-url"]').inputValue();
    assert.match(first, /\/invite\/[0-9a-f]{64}$/);
    const expires = new Date(await inviteRow.locator('time').getAttribute('datetime'));
    const days = (expires - Date.now()) / 86_400_000;
    assert.ok(days > 2.9 && days < 3.1, `expires in 3 days (${days.toFixed(2)})`);

    await inviteRow.locator('[data-testid="invite-resend"]').click();
    await ana.waitForFunction((old) => document.querySelector('[data-testid="invite-url"]').value !== old, first, { timeout: WAIT });
    // The old link no longer signs anyone up.
    const oldToken = first.split('/').pop();
    const res = await fetch(`${base}/api/auth/sign-up`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'dora@example.com', password: 'quiet-orchard-lighthouse-4', name: 'Dora', invite: oldToken }),
    });
    assert.ok(res.status >= 400 && res.status < 500, `the replaced link is refused (${res.status})`);

    await ana.locator('[data-testid="invite-row"]', { hasText: 'dora@example.com' }).locator('[data-testid="invite-revoke"]').click();
    await ana.locator('[data-testid="invite-row"]', { hasText: 'dora@example.com' }).waitFor({ state: 'detached', timeout: WAIT });
  });

  it('removes a member and shows every act in the audit log', { timeout: 60_000 }, async () => {
    const { ana, cleo } = pages;
    await row(ana, people.cleo).locator('[data-testid="member-remove"]').click();
    const dialog = ana.locator('[data-testid="offboard-dialog"]');
    await dialog.waitFor({ timeout: WAIT });
    await dialog.locator('[data-testid="offboard-confirm"]').click();
    await row(ana, people.cleo).waitFor({ state: 'detached', timeout: WAIT });
    await landsOnSignIn(cleo, 5_000);

    // Someone guesses Ben's password: a failed sign-in for the team's log.
    const guess = await fetch(`${base}/api/auth/sign-in`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: people.ben.email, password: 'not-his-password' }),
    });
    assert.equal(guess.status, 401);

    await ana.locator('[data-testid="audit-link"]').click();
    await ana.waitForURL(`${base}/audit`, { timeout: WAIT });
    await ana.locator('[data-testid="audit-row"]').first().waitFor({ timeout: WAIT });
    const actions = await ana.locator('[data-testid="audit-row"]').evaluateAll((rows) => rows.map((r) => r.dataset.action));
    for (const a of ['member.removed', 'invite.revoked', 'invite.resent', 'invite.created', 'member.reactivated', 'member.deactivated', 'member.role_changed', 'sign_in.succeeded', 'sign_in.failed']) {
      assert.ok(actions.includes(a), `the audit log shows ${a}: ${actions.join(', ')}`);
    }
    assert.deepEqual(actions.slice(0, 2), ['sign_in.failed', 'member.removed'], 'newest first');
    const deactivated = ana.locator('[data-testid="audit-row"][data-action="member.deactivated"]');
    const text = await deactivated.textContent();
    assert.match(text, /Member deactivated/);
    assert.match(text, /Ana Admin/, 'who');
    assert.match(text, /127\.0\.0\.1/, 'from where');
    assert.match(text, /Chrome/, 'with which browser');
    await shot(ana, 'audit-log', true);
    assert.deepEqual(consoleErrors, [], `browser console errors:\n${consoleErrors.join('\n')}`);
  });

  it('turns on two-factor from the security page, requires it of the team, and signs in with a code or a recovery code', { timeout: 90_000 }, async () => {
    const { ana, ben } = pages;
    /** Enrols `page`'s user through the security page: the key from the page, a code, the recovery codes. */
    async function enrol(page) {
      await page.locator('[data-testid="two-factor-setup"]').click();
      await page.locator('[data-testid="two-factor-qr"] svg').waitFor({ timeout: WAIT });
      const secret = (await page.locator('[data-testid="two-factor-secret"]').textContent()).trim();
      await page.locator('[data-testid="two-factor-confirm-code"]').fill(totp(secret));
      await page.locator('[data-testid="two-factor-confirm"]').click();
      await page.locator('[data-testid="recovery-codes"]').waitFor({ timeout: WAIT });
      return { secret, codes: await page.locator('[data-testid="recovery-code"]').allTextContents() };
    }

    // Ben (an admin since the first test) cannot require it before having it himself.
    await ben.goto(`${base}/security`);
    await ben.locator('[data-testid="two-factor-setup"]').waitFor({ timeout: WAIT });
    // A click, not check(): the page puts the box back when the server refuses, which may happen
    // before Playwright looks at the box again ("did not change its state").
    await ben.locator('[data-testid="two-factor-require"]').click();
    await ben.locator('[data-testid="security-error"]', { hasText: 'turn on two-factor for yourself' }).waitFor({ timeout: WAIT });
    assert.equal(await ben.locator('[data-testid="two-factor-require"]').isChecked(), false);
    const setup = await enrol(ben);
    const codes = setup.codes;
    assert.equal(codes.length, 10);
    await shot(ben, 'security-recovery-codes');
    await ben.goto(`${base}/security`);
    await ben.locator('[data-testid="two-factor-on"]').waitFor({ timeout: WAIT });
    await ben.locator('[data-testid="two-factor-require"]').click();
    await ben.locator('[data-testid="toast"]', { hasText: 'Everyone on the team now needs two-factor sign-in.' }).waitFor({ timeout: WAIT });

    // Ana has not turned it on: every page sends her to the security page, the API refuses her
    // session until she enrols; then the inbox opens again.
    await ana.goto(`${base}/`);
    await ana.waitForURL(`${base}/security`, { timeout: WAIT });
    await ana.locator('[data-testid="two-factor-required"]').waitFor({ timeout: WAIT });
    const refused = await ana.evaluate(async () => (await fetch('/api/threads')).status);
    assert.equal(refused, 403);
    await enrol(ana);
    await ana.locator('[data-testid="two-factor-done"]').click();
    await ana.locator('[data-testid="inbox"]').waitFor({ timeout: WAIT });
    await connected(ana);

    const page = watchConsole(await (await browser.newContext()).newPage(), 'ben-2fa', [/status of 4(01|03|22)/]);
    await page.goto(`${base}/sign-in`);
    await page.getByLabel('Email').fill(people.ben.email);
    await page.getByLabel('Password').fill(people.ben.password);
    await page.locator('[data-testid="submit"]').click();
    const code = page.locator('[data-testid="two-factor-code"]');
    await code.waitFor({ timeout: WAIT });
    assert.equal(await page.getByLabel('Password').isVisible(), false, 'the password step is over');
    // A wrong code is refused with a message; the next step's code (the app's clock may run ahead) signs in.
    await code.fill('000000');
    await page.locator('[data-testid="submit"]').click();
    await page.locator('[data-testid="auth-error"]').waitFor({ state: 'visible', timeout: WAIT });
    await code.fill(totp(setup.secret, Date.now() + 30_000));
    await page.locator('[data-testid="submit"]').click();
    await page.waitForURL(`${base}/`, { timeout: WAIT });
    await page.locator('[data-testid="inbox"]').waitFor({ timeout: WAIT });

    // Another browser, with a recovery code instead.
    const other = watchConsole(await (await browser.newContext()).newPage(), 'ben-recovery', [/status of 401/]);
    await other.goto(`${base}/sign-in`);
    await other.getByLabel('Email').fill(people.ben.email);
    await other.getByLabel('Password').fill(people.ben.password);
    await other.locator('[data-testid="submit"]').click();
    await other.locator('[data-testid="use-recovery-code"]').click();
    await other.getByLabel('Recovery code').fill(codes[0]);
    await other.locator('[data-testid="submit"]').click();
    await other.waitForURL(`${base}/`, { timeout: WAIT });
    assert.deepEqual(consoleErrors, [], `browser console errors:\n${consoleErrors.join('\n')}`);
  });

  async function shot(page, name, fullPage = false) {
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
  }
});
