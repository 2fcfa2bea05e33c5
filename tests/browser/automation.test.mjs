// Automation in the browser (issue 14, parts 6 and 7): an admin edits the team's business hours
// in Settings (closed all week, so it is outside business hours now), creates a rule, dry-runs
// it against the recent inbound messages, and the inbox says "Outside business hours" — live:
// when the admin opens the hours, the open inbox's badge goes away; a matching message fires the
// rule, shown in the conversation.
//
// Run: cd tests/browser && npm install && npm test (same needs as inbox.test.mjs).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, signUp } from '../support/server.mjs';
import { WAIT, connected, launch, signInThroughPage, watchConsole } from './support/browser.mjs';

describe('Business hours and rules in the browser', () => {
  let server;
  let base;
  let browser;
  let anaApi;
  let settings;
  let inbox;
  const ana = { name: 'Ana Admin', email: 'ana@example.com', password: 'violet-harbour-lantern-7' };
  const errors = [];

  before(async () => {
    server = await startServer({ logName: 'server-automation.log' });
    base = server.base;
    anaApi = (await signUp(base, { ...ana, team_name: 'Harbour Bakery' })).api;
    for (const [from, body] of [['+14155550171', 'Hello, are you open?'], ['+14155550172', 'I want a refund please'], ['+14155550173', 'Thanks!']]) {
      await anaApi.expect(202, 'POST', '/api/simulator/inbound', { from, channel: 'sms', body });
    }
    browser = await launch();
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    settings = watchConsole(await context.newPage(), 'ana-settings', errors, [/status of 422/]);
    await signInThroughPage(settings, base, ana);
    inbox = watchConsole(await context.newPage(), 'ana-inbox', errors);
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
    assert.deepEqual(errors, [], 'no unexpected console errors');
  });

  it('an admin edits the business hours: closed all week is outside business hours now', { timeout: 60_000 }, async () => {
    await settings.goto(`${base}/settings`);
    await settings.locator('[data-testid="hours-card"]').waitFor({ timeout: WAIT });
    await settings.locator('[data-testid="hours-state"]', { hasText: 'always open' }).waitFor({ timeout: WAIT });
    await settings.locator('[data-testid="hours-enabled"]').check();
    await settings.locator('[data-testid="hours-zone"]').fill('Europe/Paris');
    await settings.locator('[data-testid="hours-mon"]').fill('9:00-17:00');
    await settings.locator('[data-testid="hours-save"]').click();
    // A malformed time is refused with the day it is on.
    await settings.locator('[data-testid="hours-status"]', { hasText: 'HH:MM' }).waitFor({ timeout: WAIT });
    await settings.locator('[data-testid="hours-mon"]').fill('');
    await settings.locator('[data-testid="hours-ooh-reply"]').fill('Thanks {{contact.first_name}}, we are closed and will answer when we open.');
    await settings.locator('[data-testid="hours-save"]').click();
    await settings.locator('[data-testid="hours-status"]', { hasText: 'Saved.' }).waitFor({ timeout: WAIT });
    await settings.locator('[data-testid="hours-state"]', { hasText: 'Outside business hours now.' }).waitFor({ timeout: WAIT });
    const stored = await anaApi.expect(200, 'GET', '/api/automation/hours');
    assert.equal(stored.time_zone, 'Europe/Paris');
    assert.equal(stored.open, false);
  });

  it('an admin creates a rule after a dry run against the recent inbound messages', { timeout: 60_000 }, async () => {
    await settings.locator('[data-testid="rules-empty"]').waitFor({ timeout: WAIT });
    await settings.locator('[data-testid="rule-name"]').fill('Refunds are urgent');
    await settings.locator('[data-testid="rule-keywords"]').fill('refund, money back');
    await settings.locator('[data-testid="rule-priority"]').selectOption('urgent');
    await settings.locator('[data-testid="rule-dry-run"]').click();
    await settings.locator('[data-testid="dry-run-summary"]', { hasText: '1 of the last 3 inbound messages match' }).waitFor({ timeout: WAIT });
    assert.match(await settings.locator('[data-testid="dry-run-summary"]').textContent(), /set priority urgent/);
    const hits = await settings.locator('[data-testid="dry-run-hit"]').allTextContents();
    assert.equal(hits.length, 1);
    assert.match(hits[0], /I want a refund please/);
    await settings.locator('[data-testid="rule-save"]').click();
    await settings.locator('[data-testid="rule-row"]', { hasText: 'Refunds are urgent' }).waitFor({ timeout: WAIT });
    const rules = await anaApi.expect(200, 'GET', '/api/automation/rules');
    assert.deepEqual(rules.items.map((r) => [r.name, r.conditions.keywords, r.actions.priority]), [['Refunds are urgent', ['refund', 'money back'], 'urgent']]);
  });

  it('the inbox says "Outside business hours", and stops saying it when the admin opens the hours', { timeout: 60_000 }, async () => {
    await inbox.goto(`${base}/`);
    await inbox.locator('[data-testid="inbox"]').waitFor({ timeout: WAIT });
    await connected(inbox);
    const badge = inbox.locator('[data-testid="outside-hours"]');
    await badge.waitFor({ state: 'visible', timeout: WAIT });
    assert.equal((await badge.textContent()).trim(), 'Outside business hours');
    // Open every day, all day: the open inbox follows without a reload.
    for (const day of ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']) {
      await settings.locator(`[data-testid="hours-${day}"]`).fill('00:00–24:00');
    }
    await settings.locator('[data-testid="hours-save"]').click();
    await settings.locator('[data-testid="hours-state"]', { hasText: 'Open now.' }).waitFor({ timeout: WAIT });
    await badge.waitFor({ state: 'hidden', timeout: WAIT });
  });

  it('a matching message fires the rule once, and the conversation shows it, live and after a reload', { timeout: 60_000 }, async () => {
    const threads = await anaApi.expect(200, 'GET', '/api/threads');
    const id = threads.items.find((t) => t.contact.phone === '+14155550172').id;
    await inbox.goto(`${base}/threads/${id}`);
    await inbox.locator('[data-testid="thread-view"]').waitFor({ timeout: WAIT });
    await connected(inbox);
    assert.equal(await inbox.locator('[data-testid="rule-fired"]').count(), 0, 'the rule came after the first refund');
    await anaApi.expect(202, 'POST', '/api/simulator/inbound', { from: '+14155550172', channel: 'sms', body: 'Still waiting for my money back' });
    const line = inbox.locator('[data-testid="rule-fired"]');
    await line.waitFor({ timeout: WAIT });
    assert.match(await line.textContent(), /Rule “Refunds are urgent”: set priority urgent/);
    await inbox.reload();
    await inbox.locator('[data-testid="rule-fired"]').waitFor({ timeout: WAIT });
    assert.equal(await inbox.locator('[data-testid="rule-fired"]').count(), 1);
    const thread = await anaApi.expect(200, 'GET', `/api/threads/${id}`);
    assert.equal(thread.thread.priority, 'urgent');
  });
});

