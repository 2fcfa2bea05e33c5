// The bell in the browser: a mention and an assignment show up live on both of Bob's tabs with
// the same count (also in the tab's title); opening one from the dropdown opens its thread and
// marks it read everywhere; "Mark all read" clears the count. Browser notifications are opt-in
// (the preferences dialog) and shown only while the tab is hidden. Searching message text
// lists the hit with its snippet and opens the thread with that message highlighted.
//
// Run: cd tests/browser && npm install && npm test (same needs as inbox.test.mjs).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { joinByInvite, startServer, signUp } from '../support/server.mjs';
import { WAIT, launch, signInThroughPage, watchConsole } from './support/browser.mjs';

/** Replaces the Notification API with a recorder that has been granted (before the app runs). */
function fakeNotifications() {
  window.__notified = [];
  window.Notification = class {
    static permission = 'granted';
    static requestPermission() { return Promise.resolve('granted'); }
    constructor(title, opts) { window.__notified.push({ title, body: opts && opts.body }); }
    close() {}
  };
}

describe('Notifications bell in the browser', () => {
  let server;
  let base;
  let browser;
  let ana;
  let bob;
  let thread;
  const anaWho = { name: 'Ana Admin', email: 'ana@example.com', password: 'violet-harbour-lantern-7' };
  const bobWho = { name: 'Bob Agent', email: 'bob@example.com', password: 'copper-meadow-falcon-3' };
  const errors = [];

  before(async () => {
    server = await startServer({ logName: 'server-notifications.log' });
    base = server.base;
    ana = await signUp(base, { ...anaWho, team_name: 'Harbour Bakery' });
    bob = await joinByInvite(ana.api, bobWho);
    const contact = await ana.api.expect(201, 'POST', '/api/contacts', { name: 'Carol Customer', phone: '+14155550171' });
    thread = (await ana.api.expect(200, 'POST', '/api/threads/for-contact', { contact_id: contact.id, channel: 'sms' })).id;
    browser = await launch();
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
    assert.deepEqual(errors, [], 'no unexpected console errors');
  });

  const count = (page) => page.locator('[data-testid="bell-count"]');
  const shows = (page, n) => page.waitForFunction((want) => {
    const el = document.querySelector('[data-testid="bell-count"]');
    return el && (want === 0 ? el.hidden : !el.hidden && el.textContent === String(want));
  }, n, { timeout: WAIT });

  it('counts a mention and an assignment live on two tabs, opens one, marks all read', { timeout: 90_000 }, async () => {
    const context = await browser.newContext();
    const one = watchConsole(await context.newPage(), 'bob-1', errors);
    await signInThroughPage(one, base, bobWho);
    const two = watchConsole(await context.newPage(), 'bob-2', errors);
    await two.goto(`${base}/`);
    await two.locator('[data-testid="inbox"]').waitFor({ timeout: WAIT });
    await two.waitForFunction(() => window.switchboard && window.switchboard.pusher && window.switchboard.pusher.connection.state === 'connected', null, { timeout: WAIT });
    assert.equal(await count(one).isHidden(), true, 'nothing yet');

    await ana.api.expect(201, 'POST', `/api/threads/${thread}/notes`, { body: '@Bob can you call Carol?', visibility: 'public' });
    await shows(one, 1);
    await shows(two, 1);
    assert.match(await two.title(), /^\(1\) /);
    await ana.api.expect(200, 'PATCH', `/api/threads/${thread}`, { assignee_id: bob.user.id });
    await shows(one, 2);
    await shows(two, 2);

    await one.locator('[data-testid="bell"]').click();
    const items = one.locator('[data-testid="notification-item"]');
    await items.first().waitFor({ timeout: WAIT });
    assert.equal(await items.count(), 2);
    assert.equal(await items.nth(0).getAttribute('data-kind'), 'assigned');
    assert.match(await items.nth(1).textContent(), /Ana Admin mentioned you on Carol Customer/);
    await items.nth(1).click();
    await one.waitForURL(`${base}/threads/${thread}`, { timeout: WAIT });
    await one.locator('[data-testid="thread-view"]').waitFor({ timeout: WAIT });
    await shows(one, 1);
    await shows(two, 1);

    await two.locator('[data-testid="bell"]').click();
    await two.locator('[data-testid="bell-mark-all"]').click();
    await shows(two, 0);
    await shows(one, 0);
    assert.doesNotMatch(await one.title(), /^\(/);
    await context.close();
  });

  it('shows a browser notification while hidden, once opted in', { timeout: 90_000 }, async () => {
    const context = await browser.newContext();
    await context.addInitScript(fakeNotifications);
    const page = watchConsole(await context.newPage(), 'bob-3', errors);
    await signInThroughPage(page, base, bobWho);
    await page.locator('[data-testid="bell"]').click();
    await page.locator('[data-testid="bell-preferences"]').click();
    const dialog = page.locator('[data-testid="notification-preferences"]');
    await dialog.waitFor({ timeout: WAIT });
    assert.equal(await page.locator('[data-testid="pref-browser"]').isChecked(), false, 'off by default');
    await page.locator('[data-testid="pref-browser"]').check();
    await page.locator('[data-testid="pref-save"]').click();
    await dialog.waitFor({ state: 'detached', timeout: WAIT });
    const prefs = await bob.api.expect(200, 'GET', '/api/notifications/preferences');
    assert.equal(prefs.browser, true);

    // Visible: the bell only. Hidden: a system notification too.
    await ana.api.expect(202, 'POST', '/api/simulator/inbound', { from: '+14155550171', channel: 'sms', body: 'first, seen' });
    await shows(page, 1);
    assert.deepEqual(await page.evaluate(() => window.__notified), []);
    await page.evaluate(() => Object.defineProperty(document, 'hidden', { configurable: true, get: () => true }));
    await ana.api.expect(202, 'POST', '/api/simulator/inbound', { from: '+14155550171', channel: 'sms', body: 'second, while away' });
    await shows(page, 2);
    const shown = await page.evaluate(() => window.__notified);
    assert.deepEqual(shown, [{ title: 'New message from Carol Customer', body: 'second, while away' }]);
    await context.close();
  });

  it('finds message text and opens the thread at that message', { timeout: 90_000 }, async () => {
    for (let i = 0; i < 3; i += 1) {
      await ana.api.expect(202, 'POST', '/api/simulator/inbound', { from: '+14155550171', channel: 'sms', body: i === 0 ? 'my parcel <b>arrived</b> broken' : `filler ${i}` });
    }
    const page = watchConsole(await (await browser.newContext()).newPage(), 'bob-4', errors);
    await signInThroughPage(page, base, bobWho);
    await page.locator('[data-testid="thread-search"]').fill('parcel');
    const hit = page.locator('[data-testid="search-hit"]');
    await hit.first().waitFor({ timeout: WAIT });
    assert.equal(await hit.locator('mark').first().textContent(), 'parcel');
    assert.equal(await hit.locator('b').count(), 0, 'the customer\'s text is never markup');
    await hit.first().click();
    await page.waitForURL(`${base}/threads/${thread}`, { timeout: WAIT });
    const found = page.locator('[data-found="true"]');
    await found.waitFor({ timeout: WAIT });
    assert.match(await found.textContent(), /parcel/);
  });

  it('counts a mention made while the tab was still subscribing to its channel', { timeout: 90_000 }, async () => {
    await bob.api.expect(200, 'POST', '/api/notifications/read', { all: true });
    const context = await browser.newContext();
    // Hold the private channel's authorization: the page has read its notifications (none)
    // but does not hear its channel yet when Ana mentions Bob.
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    let asked;
    const authAsked = new Promise((resolve) => { asked = resolve; });
    await context.route('**/pusher/auth', async (route) => {
      if (/private-user-/.test(route.request().postData() || '')) {
        asked();
        await held;
      }
      await route.continue();
    });
    const page = watchConsole(await context.newPage(), 'bob-5', errors);
    await signInThroughPage(page, base, bobWho);
    await authAsked;
    assert.equal(await count(page).isHidden(), true, 'nothing unread when the page loaded');
    await ana.api.expect(201, 'POST', `/api/threads/${thread}/notes`, { body: '@Bob one more thing', visibility: 'public' });
    release();
    await shows(page, 1);
    await context.close();
  });
});
