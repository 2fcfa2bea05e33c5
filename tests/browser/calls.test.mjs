// Calls in the browser (issue 14): a call placed through the simulator (the real signed voice
// webhooks) shows up live in the open conversation as a missed call, followed by the automatic
// SMS; a voicemail shows with an audio player; the channel's call settings are edited from the
// settings page.
//
// Run: cd tests/browser && npm install && npm test (same needs as inbox.test.mjs).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, signUp } from '../support/server.mjs';
import { WAIT, launch, signInThroughPage, watchConsole } from './support/browser.mjs';

describe('Calls in the browser', () => {
  let server;
  let base;
  let browser;
  let api;
  let thread;
  let sms;
  const caller = '+14155550171';
  const ana = { name: 'Ana Admin', email: 'ana@example.com', password: 'violet-harbour-lantern-7' };
  const errors = [];

  before(async () => {
    server = await startServer({ logName: 'server-calls.log' });
    base = server.base;
    const up = await signUp(base, { ...ana, team_name: 'Harbour Bakery' });
    api = up.api;
    const contact = await api.expect(201, 'POST', '/api/contacts', { name: 'Carol Customer', phone: caller });
    thread = (await api.expect(200, 'POST', '/api/threads/for-contact', { contact_id: contact.id, channel: 'sms' })).id;
    sms = (await api.expect(200, 'GET', '/api/channels')).channels.find((c) => c.kind === 'sms');
    browser = await launch();
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
    assert.deepEqual(errors, [], 'no unexpected console errors');
  });

  it('edits the number\'s call settings from the settings page', { timeout: 60_000 }, async () => {
    // The refused ring time is a 422 the browser logs: expected here.
    const page = watchConsole(await (await browser.newContext()).newPage(), 'settings', errors, [/status of 422/]);
    await signInThroughPage(page, base, ana);
    await page.goto(`${base}/settings`);
    await page.locator(`[data-testid="channel-row"][data-channel-id="${sms.id}"] [data-testid="channel-calls"]`).click();
    const dialog = page.locator('[data-testid="calls-dialog"]');
    await dialog.waitFor({ timeout: WAIT });
    await dialog.locator('[data-testid="calls-missed-reply"]').fill('Sorry we missed you, {{contact.first_name}}!');
    await dialog.locator('[data-testid="calls-ring-seconds"]').fill('2');
    await dialog.locator('[data-testid="calls-save"]').click();
    await dialog.locator('[data-testid="calls-error"]', { hasText: 'ring_seconds' }).waitFor({ timeout: WAIT });
    await dialog.locator('[data-testid="calls-ring-seconds"]').fill('25');
    await dialog.locator('[data-testid="calls-voicemail"]').check();
    await dialog.locator('[data-testid="calls-save"]').click();
    await dialog.waitFor({ state: 'detached', timeout: WAIT });
    const saved = await api.expect(200, 'GET', `/api/channels/${sms.id}`);
    assert.equal(saved.settings.missed_call_reply, 'Sorry we missed you, {{contact.first_name}}!');
    assert.equal(saved.settings.ring_seconds, 25);
    assert.equal(saved.settings.voicemail, true);
  });

  it('shows a missed call, its automatic SMS and a voicemail live in the conversation', { timeout: 60_000 }, async () => {
    await api.expect(200, 'PATCH', `/api/channels/${sms.id}`, { missed_call_reply: 'Sorry we missed you, {{contact.first_name}}!', voicemail: false });
    const page = watchConsole(await (await browser.newContext()).newPage(), 'thread', errors);
    await signInThroughPage(page, base, ana);
    await page.goto(`${base}/threads/${thread}`);
    await page.locator('[data-testid="thread-view"]').waitFor({ timeout: WAIT });

    // Placed from the simulator card, as a person would.
    await page.locator('[data-testid="simulator"] summary').click();
    await page.locator('[data-testid="sim-from"]').fill(caller);
    await page.locator('[data-testid="sim-call-outcome"]').selectOption('missed');
    await page.locator('[data-testid="sim-call"]').click();
    const missed = page.locator('[data-testid="messages"] [data-testid="call"][data-call-status="missed"]');
    await missed.waitFor({ timeout: WAIT });
    assert.match(await missed.textContent(), /Missed call/);
    await page.locator('[data-testid="messages"] [data-testid="message-body"]', { hasText: 'Sorry we missed you, Carol!' }).waitFor({ timeout: WAIT });

    // A voicemail, with its player.
    await api.expect(200, 'PATCH', `/api/channels/${sms.id}`, { voicemail: true });
    await api.expect(202, 'POST', '/api/simulator/call', { from: caller, outcome: 'voicemail', duration: 7 });
    const vm = page.locator('[data-testid="call"][data-call-status="voicemail"]');
    await vm.waitFor({ timeout: WAIT });
    assert.match(await vm.textContent(), /Voicemail · 0:07/);
    const src = await vm.locator('[data-testid="voicemail-audio"]').getAttribute('src');
    assert.match(src, /\/static\/sim\/voicemail\.wav$/);
    const res = await fetch(src);
    assert.equal(res.status, 200, 'the recording is served');

    // After a reload the calls are in the snapshot, in time order among the messages.
    await page.reload();
    await page.locator('[data-testid="call"][data-call-status="voicemail"]').waitFor({ timeout: WAIT });
    const kinds = await page.locator('[data-testid="messages"] > li').evaluateAll((items) => items.map((li) => li.dataset.testid || ''));
    assert.deepEqual(kinds.filter((k) => k === 'call').length, 2, kinds.join(','));
  });
});
