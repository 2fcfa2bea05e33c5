// The status workflow in the browser: snoozing a conversation until a preset time shows the end
// in its header; a customer's message opens it again live; a snooze that ends by itself opens
// the conversation and tells its assignee with a notice on every tab.
//
// Run: cd tests/browser && npm install && npm test (same needs as inbox.test.mjs).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, signUp } from '../support/server.mjs';
import { WAIT, launch, signInThroughPage, watchConsole } from './support/browser.mjs';

describe('Snooze and reopen in the browser', () => {
  let server;
  let base;
  let browser;
  let api;
  let me;
  let thread;
  const ana = { name: 'Ana Admin', email: 'ana@example.com', password: 'violet-harbour-lantern-7' };
  const errors = [];

  before(async () => {
    server = await startServer({ logName: 'server-workflow.log' });
    base = server.base;
    const up = await signUp(base, { ...ana, team_name: 'Harbour Bakery' });
    api = up.api;
    me = up.user;
    const contact = await api.expect(201, 'POST', '/api/contacts', { name: 'Carol Customer', phone: '+14155550161' });
    thread = (await api.expect(200, 'POST', '/api/threads/for-contact', { contact_id: contact.id, channel: 'sms' })).id;
    await api.expect(200, 'PATCH', `/api/threads/${thread}`, { assignee_id: me.id });
    browser = await launch();
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
    assert.deepEqual(errors, [], 'no unexpected console errors');
  });

  it('the header\'s controls and Send wait for the conversation to load, so nothing picked while it loads is lost', { timeout: 60_000 }, async () => {
    const page = watchConsole(await (await browser.newContext()).newPage(), 'ana-0', errors);
    await signInThroughPage(page, base, ana);
    // The conversation's load held back for a while: the view (and its header) shows before it.
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await page.route(`**/api/threads/${thread}`, async (route) => {
      if (route.request().method() === 'GET') await held;
      await route.continue();
    });
    await page.goto(`${base}/threads/${thread}`);
    await page.locator('[data-testid="thread-view"]').waitFor({ timeout: WAIT });
    for (const id of ['thread-status', 'snooze', 'thread-assignee', 'thread-priority', 'thread-labels-button', 'mark-unread', 'send', 'send-later']) {
      assert.ok(await page.locator(`[data-testid="${id}"]`).isDisabled(), `${id} is off while the conversation loads`);
    }
    release();
    await page.locator('[data-testid="snooze"]:not([disabled])').waitFor({ timeout: WAIT });
    for (const id of ['thread-status', 'send', 'send-later']) {
      assert.ok(await page.locator(`[data-testid="${id}"]`).isEnabled(), `${id} is on once it has loaded`);
    }
    assert.equal(await page.locator('[data-testid="thread-status"]').inputValue(), 'open');
    await page.unroute(`**/api/threads/${thread}`);
    await page.context().close();
  });

  it('snoozes until a preset, and a customer\'s message opens it again live', { timeout: 60_000 }, async () => {
    const page = watchConsole(await (await browser.newContext()).newPage(), 'ana', errors);
    await signInThroughPage(page, base, ana);
    await page.goto(`${base}/threads/${thread}`);
    await page.locator('[data-testid="thread-view"]').waitFor({ timeout: WAIT });
    const option = page.locator('[data-testid="snooze"] option[data-key="tomorrow"]');
    await page.locator('[data-testid="snooze"]').selectOption(await option.getAttribute('value'));
    await page.waitForFunction(() => document.querySelector('[data-testid="thread-status"]').value === 'snoozed', null, { timeout: WAIT });
    await page.getByText(/snoozed until/).waitFor({ timeout: WAIT });
    const stored = await api.expect(200, 'GET', `/api/threads/${thread}`);
    const until = new Date(stored.thread.snoozed_until);
    const tomorrow9 = new Date();
    tomorrow9.setDate(tomorrow9.getDate() + 1);
    tomorrow9.setHours(9, 0, 0, 0);
    assert.equal(until.getTime(), tomorrow9.getTime(), 'tomorrow at 9:00 in the agent\'s time zone');

    await api.expect(202, 'POST', '/api/simulator/inbound', { from: '+14155550161', channel: 'sms', body: 'are you there?' });
    await page.waitForFunction(() => document.querySelector('[data-testid="thread-status"]').value === 'open', null, { timeout: WAIT });
    assert.doesNotMatch(await page.locator('.thread-sub').textContent(), /snoozed/);
  });

  it('a snooze that ends opens the conversation and tells its assignee', { timeout: 60_000 }, async () => {
    const page = watchConsole(await (await browser.newContext()).newPage(), 'ana-2', errors);
    await signInThroughPage(page, base, ana);
    const soon = new Date(Date.now() + 2_000).toISOString();
    await api.expect(200, 'PATCH', `/api/threads/${thread}`, { snoozed_until: soon });
    await page.locator('[data-testid="toast"]', { hasText: 'open again' }).waitFor({ timeout: WAIT });
    const t = await api.expect(200, 'GET', `/api/threads/${thread}`);
    assert.equal(t.thread.status, 'open');
  });
});
