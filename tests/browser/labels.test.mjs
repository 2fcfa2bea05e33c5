// Triage in the browser: an admin adds a label in Settings and every open inbox has it at once;
// an agent labels a conversation and sets its priority from the thread header (live on the
// admin's inbox, filterable); rows ticked in the list (shift-click for a range) are assigned,
// labelled and resolved in bulk, and the tabs' counts follow; the keyboard (j/k/e/a/?) works
// (and / for a canned reply) and never fires while typing; "Mark unread" is the agent's own, on both of their tabs; a
// failed send has a Retry button that sends it again as a new message.
//
// Run: cd tests/browser && npm install && npm test (same needs as inbox.test.mjs).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, signUp, joinByInvite } from '../support/server.mjs';
import { WAIT, connected, launch, signInThroughPage, watchConsole } from './support/browser.mjs';

describe('Labels, priority, bulk actions and the keyboard in the browser', () => {
  let server;
  let base;
  let browser;
  let anaApi;
  let benApi;
  let ben;
  let anaPage;
  let benPage;
  const threads = [];
  const ana = { name: 'Ana Admin', email: 'ana@example.com', password: 'violet-harbour-lantern-7' };
  const benLogin = { name: 'Ben Agent', email: 'ben@example.com', password: 'amber-meadow-compass-8' };
  const errors = [];

  const row = (page, id) => page.locator(`[data-testid="thread-row"][data-thread-id="${id}"]`);
  const box = (page, id) => page.locator(`[data-testid="thread-select"][data-thread-id="${id}"]`);
  const rowIds = (page) => page.evaluate(() => [...document.querySelectorAll('[data-testid="thread-row"]')].map((r) => r.dataset.threadId));

  before(async () => {
    server = await startServer({ logName: 'server-labels.log' });
    base = server.base;
    anaApi = (await signUp(base, { ...ana, team_name: 'Harbour Bakery' })).api;
    const joined = await joinByInvite(anaApi, benLogin, 'agent');
    benApi = joined.api;
    ben = joined.user;
    for (const [i, name] of ['Carla', 'Dario', 'Elena', 'Fritz'].entries()) {
      const contact = await anaApi.expect(201, 'POST', '/api/contacts', { name, phone: `+1415555017${i}` });
      threads.push((await anaApi.expect(200, 'POST', '/api/threads/for-contact', { contact_id: contact.id, channel: 'sms' })).id);
    }
    browser = await launch();
    anaPage = watchConsole(await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage(), 'ana', errors);
    await signInThroughPage(anaPage, base, ana);
    benPage = watchConsole(await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage(), 'ben', errors);
    await signInThroughPage(benPage, base, benLogin);
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
    assert.deepEqual(errors, [], 'no unexpected console errors');
  });

  it('an admin adds a label in Settings and an open inbox has it at once', { timeout: 60_000 }, async () => {
    const settings = watchConsole(await anaPage.context().newPage(), 'ana-settings', errors);
    await settings.goto(`${base}/settings`);
    await settings.locator('[data-testid="labels-card"]').waitFor({ timeout: WAIT });
    await settings.locator('[data-testid="label-name"]').fill('VIP');
    await settings.locator('[data-testid="label-color"]').fill('#f59e0b');
    await settings.locator('[data-testid="label-add"]').click();
    await settings.locator('[data-testid="label-row"]', { hasText: 'VIP' }).waitFor({ timeout: WAIT });
    await settings.locator('[data-testid="label-name"]').fill('Billing');
    await settings.locator('[data-testid="label-add"]').click();
    await settings.locator('[data-testid="label-row"]').nth(1).waitFor({ timeout: WAIT });
    // Ben's inbox, open all along, offers them in its label filter.
    await benPage.waitForFunction(() => [...document.querySelectorAll('[data-testid="filter-label"] option')].map((o) => o.textContent).join(',') === 'Any label,Billing,VIP', null, { timeout: WAIT });
    await settings.close();
  });

  it('labels and priority are set from the thread header, live on another inbox, and filter the list', { timeout: 60_000 }, async () => {
    await benPage.goto(`${base}/threads/${threads[0]}`);
    await benPage.locator('[data-testid="thread-view"]').waitFor({ timeout: WAIT });
    await connected(benPage);
    await benPage.locator('[data-testid="thread-labels-button"]').click();
    await benPage.locator('[data-testid="label-picker"] label', { hasText: 'VIP' }).click();
    await benPage.locator('[data-testid="label-picker-save"]').click();
    await benPage.locator('[data-testid="thread-labels"] [data-testid="label-chip"]', { hasText: 'VIP' }).waitFor({ timeout: WAIT });
    await benPage.locator('[data-testid="thread-priority"]').selectOption('urgent');
    // Ana's inbox shows both on the row, live.
    await row(anaPage, threads[0]).locator('[data-testid="label-chip"]', { hasText: 'VIP' }).waitFor({ timeout: WAIT });
    await row(anaPage, threads[0]).locator('[data-testid="priority-badge"]', { hasText: 'urgent' }).waitFor({ timeout: WAIT });
    const stored = await anaApi.expect(200, 'GET', `/api/threads/${threads[0]}`);
    assert.equal(stored.thread.priority, 'urgent');
    assert.equal(stored.thread.label_ids.length, 1);

    // Filter by label, then order by priority.
    const vip = (await anaApi.expect(200, 'GET', '/api/labels')).items.find((l) => l.name === 'VIP');
    await anaPage.locator('[data-testid="filter-label"]').selectOption(vip.id);
    await anaPage.waitForFunction((id) => {
      const rows = [...document.querySelectorAll('[data-testid="thread-row"]')];
      return rows.length === 1 && rows[0].dataset.threadId === id;
    }, threads[0], { timeout: WAIT });
    await anaPage.locator('[data-testid="filter-label"]').selectOption('');
    await anaPage.locator('[data-testid="sort"]').selectOption('priority');
    await anaPage.waitForFunction((id) => {
      const rows = [...document.querySelectorAll('[data-testid="thread-row"]')];
      return rows.length === 4 && rows[0].dataset.threadId === id;
    }, threads[0], { timeout: WAIT });
    await anaPage.locator('[data-testid="sort"]').selectOption('recent');
  });

  it('ticked rows (shift-click for a range) are assigned, labelled and resolved in bulk; the tabs count them', { timeout: 90_000 }, async () => {
    await anaPage.waitForFunction(() => document.querySelector('[data-testid="tab-count-open"]').textContent === '4', null, { timeout: WAIT });
    const order = await rowIds(anaPage);
    await box(anaPage, order[1]).click();
    await box(anaPage, order[3]).click({ modifiers: ['Shift'] });
    await anaPage.locator('[data-testid="bulk-count"]', { hasText: '3 selected' }).waitFor({ timeout: WAIT });
    const picked = order.slice(1, 4);

    await anaPage.locator('[data-testid="bulk-assign"]').selectOption(ben.id);
    for (const id of picked) {
      await row(anaPage, id).locator('[data-testid="thread-assignee-name"]', { hasText: 'Ben Agent' }).waitFor({ timeout: WAIT });
      await row(benPage, id).locator('[data-testid="thread-assignee-name"]', { hasText: 'Ben Agent' }).waitFor({ timeout: WAIT });
    }
    assert.equal(await anaPage.locator('[data-testid="bulk-bar"]').isHidden(), true, 'the selection clears after an action');
    await anaPage.waitForFunction(() => document.querySelector('[data-testid="count-unassigned"]').textContent === '1', null, { timeout: WAIT });

    for (const id of picked.slice(0, 2)) await box(anaPage, id).check();
    await anaPage.locator('[data-testid="bulk-label"]').click();
    await anaPage.locator('[data-testid="label-picker"] label', { hasText: 'Billing' }).click();
    await anaPage.locator('[data-testid="label-picker-save"]').click();
    for (const id of picked.slice(0, 2)) {
      await row(benPage, id).locator('[data-testid="label-chip"]', { hasText: 'Billing' }).waitFor({ timeout: WAIT });
    }

    for (const id of picked.slice(0, 2)) await box(anaPage, id).check();
    await anaPage.locator('[data-testid="bulk-priority"]').selectOption('high');
    for (const id of picked.slice(0, 2)) {
      await row(benPage, id).locator('[data-testid="priority-badge"]', { hasText: 'high' }).waitFor({ timeout: WAIT });
    }

    for (const id of picked.slice(0, 2)) await box(anaPage, id).check();
    await anaPage.locator('[data-testid="bulk-resolve"]').click();
    // They leave the Open tab on both inboxes; the counts follow.
    for (const page of [anaPage, benPage]) {
      await page.waitForFunction((ids) => ids.every((id) => !document.querySelector(`[data-testid="thread-row"][data-thread-id="${id}"]`)), picked.slice(0, 2), { timeout: WAIT });
      await page.waitForFunction(() => document.querySelector('[data-testid="tab-count-resolved"]').textContent === '2'
        && document.querySelector('[data-testid="tab-count-open"]').textContent === '2', null, { timeout: WAIT });
    }
    await anaPage.locator('[data-testid="tab-resolved"]').click();
    await anaPage.waitForFunction((ids) => {
      const rows = [...document.querySelectorAll('[data-testid="thread-row"]')].map((r) => r.dataset.threadId).sort();
      return JSON.stringify(rows) === JSON.stringify([...ids].sort());
    }, picked.slice(0, 2), { timeout: WAIT });
    const log = await anaApi.expect(200, 'GET', `/api/threads/${picked[0]}/events?after=0`);
    const kinds = log.events.filter((e) => e.type === 'thread.updated').map((e) => e.data.status);
    assert.ok(kinds.includes('resolved'), 'each thread\'s log has the change');
    await anaPage.locator('[data-testid="tab-open"]').click();
  });

  it('j/k move and open, a assigns to me, e resolves, ? lists the keys; nothing fires while typing', { timeout: 60_000 }, async () => {
    const page = benPage;
    await page.goto(`${base}/`);
    await page.locator('[data-testid="inbox"]').waitFor({ timeout: WAIT });
    await connected(page);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="thread-row"]').length === 2, null, { timeout: WAIT });
    const order = await rowIds(page);
    await page.locator('body').press('j');
    await page.waitForURL(`${base}/threads/${order[0]}`, { timeout: WAIT });
    await page.locator('[data-testid="thread-view"]').waitFor({ timeout: WAIT });
    await page.locator('main').press('j');
    await page.waitForURL(`${base}/threads/${order[1]}`, { timeout: WAIT });
    await page.locator('main').press('k');
    await page.waitForURL(`${base}/threads/${order[0]}`, { timeout: WAIT });

    // Typing an "e" in the composer is text, not a shortcut.
    await page.locator('[data-testid="composer-body"]').fill('');
    await page.locator('[data-testid="composer-body"]').pressSequentially('hea');
    assert.equal(await page.locator('[data-testid="composer-body"]').inputValue(), 'hea');
    assert.equal((await benApi.expect(200, 'GET', `/api/threads/${order[0]}`)).thread.status, 'open');
    await page.locator('[data-testid="composer-body"]').fill('');
    await page.locator('[data-testid="thread-title"]').click();

    await page.keyboard.press('a');
    await row(page, order[0]).locator('[data-testid="thread-assignee-name"]', { hasText: 'Ben Agent' }).waitFor({ timeout: WAIT });
    await page.keyboard.press('e');
    await page.waitForFunction(() => document.querySelector('[data-testid="thread-status"]').value === 'resolved', null, { timeout: WAIT });
    assert.equal((await benApi.expect(200, 'GET', `/api/threads/${order[0]}`)).thread.status, 'resolved');

    // "/" starts a canned reply in the composer.
    await page.keyboard.press('/');
    await page.locator('[data-testid="reply-picker"]').waitFor({ state: 'visible', timeout: WAIT });
    assert.equal(await page.locator('[data-testid="composer-body"]').inputValue(), '/');
    await page.locator('[data-testid="composer-body"]').fill('');
    await page.locator('[data-testid="thread-title"]').click();

    await page.keyboard.press('?');
    await page.locator('[data-testid="shortcuts-dialog"]', { hasText: 'Assign to me' }).waitFor({ timeout: WAIT });
    await page.keyboard.press('Escape');
    await page.locator('[data-testid="shortcuts-dialog"]').waitFor({ state: 'detached', timeout: WAIT });
  });

  it('"Mark unread" is the agent\'s own, on both of their tabs; Retry sends a failed message again', { timeout: 60_000 }, async () => {
    const target = threads[0];
    const second = watchConsole(await benPage.context().newPage(), 'ben-2', errors);
    await second.goto(`${base}/`);
    await second.locator('[data-testid="inbox"]').waitFor({ timeout: WAIT });
    await connected(second);
    await benPage.goto(`${base}/threads/${target}`);
    await benPage.locator('[data-testid="thread-view"]').waitFor({ timeout: WAIT });
    await connected(benPage);
    await benPage.locator('[data-testid="mark-unread"]').click();
    await benPage.locator('[data-testid="no-thread"]').waitFor({ timeout: WAIT });
    for (const page of [benPage, second]) {
      await page.locator(`[data-testid="thread-row"][data-thread-id="${target}"][data-marked-unread="true"]`).waitFor({ timeout: WAIT });
    }
    await anaPage.waitForTimeout(500);
    assert.equal(await row(anaPage, target).getAttribute('data-marked-unread'), 'false', 'nobody else\'s inbox changes');
    await second.close();

    // A send the carrier reports undelivered gets a Retry button: a new message, the failed one kept.
    await benApi.expect(201, 'POST', '/api/messages', { thread_id: target, body: 'Your table is ready #fail' });
    await row(benPage, target).click();
    const retry = benPage.locator('[data-testid="message"][data-status="undelivered"] [data-testid="message-retry"]');
    await retry.waitFor({ timeout: WAIT });
    assert.equal(await row(benPage, target).getAttribute('data-marked-unread'), 'false', 'opening it reads it');
    await retry.click();
    await benPage.waitForFunction(() => [...document.querySelectorAll('[data-testid="message"]')].filter((m) => m.textContent.includes('Your table is ready')).length === 2, null, { timeout: WAIT });
    const view = await benApi.expect(200, 'GET', `/api/threads/${target}`);
    assert.equal(view.messages.filter((m) => m.body === 'Your table is ready #fail').length, 2);
  });
});
