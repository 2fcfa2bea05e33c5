// Contacts and new conversations in the browser.
//
// A team (an admin, Ana, and an agent, Ben, each in their own browser context) with the default
// country set to the US through the API, a custom contact field "Plan", a tagged contact and an
// opted-out one. Then what a person does:
//   (a) Ana starts a conversation from the inbox's "New conversation" button with a new number
//       typed the local way ("4155550177"): it is formatted as she types and read as E.164; the
//       thread opens for her and appears live in Ben's inbox;
//   (b) Ana presses `c`, finds an existing contact by tag and messages her on WhatsApp;
//   (c) an opted-out contact is listed as such and cannot be picked; on the contacts page the
//       Message buttons are off with the reason;
//   (d) the contacts page: 60 more contacts (through the API) come 50 at a time, search, sort by
//       name, edit a contact's fields (an invalid email is refused under its field; a custom
//       field is saved), add a tag to 3 selected contacts in bulk (Ben's open page follows
//       live), delete one and restore it from the Deleted view;
//   (e) Ben's open contacts page follows the inbound side too: a first text from a new number puts
//       its contact on top, a STOP reply marks the row opted out;
//   (f) a known number typed the local way finds its contact (no "new contact" offer), and a
//       message is scheduled for later in the same conversation.
//
// Run: cd tests/browser && npm install && node --test contacts.test.mjs (same needs as
// inbox.test.mjs: target/debug/switchboard or SWITCHBOARD_BIN, Postgres, /usr/bin/chromium).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startServer, signUp, joinByInvite, ARTIFACTS } from '../support/server.mjs';
import { WAIT, launch, signInThroughPage as signIn, watchConsole as watch } from './support/browser.mjs';

const SHOTS = path.join(ARTIFACTS, 'screenshots');

describe('Contacts and new conversations in the browser', () => {
  let server;
  let base;
  let browser;
  let ana; // page
  let ben; // page
  let anaApi;
  const consoleErrors = [];
  const people = {
    ana: { name: 'Ana Admin', email: 'ana@example.com', password: 'violet-harbour-lantern-7' },
    ben: { name: 'Ben Agent', email: 'ben@example.com', password: 'amber-meadow-compass-8' },
  };
  const contacts = {};

  const rowByName = (page, name) => page.locator('[data-testid="thread-row"]', { has: page.locator('[data-testid="thread-name"]', { hasText: name }) });
  const contactRow = (page, id) => page.locator(`[data-testid="contact-row"][data-contact-id="${id}"]`);
  const rowNames = (page) => page.locator('[data-testid="contact-row-name"]').allTextContents();

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = await startServer({ logName: 'server-contacts.log' });
    base = server.base;
    const up = await signUp(base, { ...people.ana, team_name: 'Corner Shop' });
    anaApi = up.api;
    await joinByInvite(anaApi, people.ben, 'agent');
    await anaApi.expect(200, 'PUT', '/api/team/default-country', { default_country: 'US' });
    await anaApi.expect(200, 'PUT', '/api/team/contact-fields', { fields: [{ key: 'plan', label: 'Plan' }] });
    contacts.tina = await anaApi.expect(201, 'POST', '/api/contacts', { name: 'Tina Tagged', phone: '+14155550123', tags: ['vip-east'] });
    contacts.otto = await anaApi.expect(201, 'POST', '/api/contacts', { name: 'Otto Out', phone: '(415) 555-0124', opted_out: true, opt_out_reason: 'asked by email' });
    assert.equal(contacts.otto.phone, '+14155550124', 'a local number is read in the team country');

    browser = await launch();
    for (const key of ['ana', 'ben']) {
      const ctx = await browser.newContext({ viewport: { width: 1360, height: 860 } });
      const page = await ctx.newPage();
      // The one refusal the test provokes: an invalid email in the contact form (422).
      watch(page, key, consoleErrors, [/status of 422 .*\/api\/contacts\//]);
      await signIn(page, base, people[key]);
      if (key === 'ana') ana = page;
      else ben = page;
    }
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
    assert.deepEqual(consoleErrors, [], 'no console errors');
  });

  it('(a) starts a conversation with a new local number from the button; a teammate sees it live', async () => {
    await ana.locator('[data-testid="new-conversation-button"]').click();
    const dialog = ana.locator('[data-testid="new-conversation"]');
    await dialog.waitFor({ timeout: WAIT });
    const to = dialog.locator('[data-testid="nc-to"]');
    await to.pressSequentially('4155550177', { delay: 20 });
    // Formatted as typed, read as E.164 in the team's country.
    await ana.waitForFunction(() => document.querySelector('[data-testid="nc-to"]').value === '(415) 555-0177', null, { timeout: WAIT });
    await dialog.locator('[data-testid="nc-to-hint"]', { hasText: 'New number: +14155550177' }).waitFor({ timeout: WAIT });
    await dialog.locator('[data-testid="nc-name"]').fill('Nina New');
    await dialog.locator('[data-testid="nc-body"]').fill('Hello Nina, welcome!');
    await ana.screenshot({ path: path.join(SHOTS, 'contacts-new-conversation.png') });
    await dialog.locator('[data-testid="nc-send"]').click();

    await ana.waitForURL(/\/threads\/[0-9a-f-]+$/, { timeout: WAIT });
    await ana.locator('[data-testid="thread-title"]', { hasText: 'Nina New' }).waitFor({ timeout: WAIT });
    await ana.locator('[data-testid="message-body"]', { hasText: 'Hello Nina, welcome!' }).waitFor({ timeout: WAIT });
    // Ben did nothing: the thread arrives in his inbox over the team channel.
    await rowByName(ben, 'Nina New').waitFor({ timeout: WAIT });
    const found = await anaApi.expect(200, 'GET', '/api/contacts?search=%2B14155550177');
    assert.equal(found.items.length, 1);
    assert.equal(found.items[0].name, 'Nina New');
    assert.equal(found.items[0].phone, '+14155550177');
    contacts.nina = found.items[0];
  });

  it('(b) the c shortcut opens it; an existing contact is found by tag and messaged on WhatsApp', async () => {
    // Tina wrote on WhatsApp today: her 24-hour window is open, so a free-form message may go.
    await anaApi.expect(202, 'POST', '/api/simulator/inbound', { from: '+14155550123', channel: 'whatsapp', body: 'Is my order ready?' });
    await ana.locator('[data-testid="thread-title"]').click(); // somewhere that is not a field
    await ana.keyboard.press('c');
    const dialog = ana.locator('[data-testid="new-conversation"]');
    await dialog.waitFor({ timeout: WAIT });
    await dialog.locator('[data-testid="nc-to"]').fill('vip-east');
    const hit = dialog.locator(`[data-testid="nc-result"][data-contact-id="${contacts.tina.id}"]`);
    await hit.waitFor({ timeout: WAIT });
    assert.match(await hit.textContent(), /tag: vip-east/);
    await hit.click();
    await dialog.locator('[data-testid="nc-picked-name"]', { hasText: 'Tina Tagged' }).waitFor({ timeout: WAIT });
    await dialog.locator('label[for="nc-ch-whatsapp"]').click();
    await dialog.locator('[data-testid="nc-body"]').fill('Hi Tina, your order is ready');
    await dialog.locator('[data-testid="nc-send"]').click();
    await ana.locator('[data-testid="thread-title"]', { hasText: 'Tina Tagged' }).waitFor({ timeout: WAIT });
    await ana.locator('[data-testid="thread-title"] [data-testid="channel-label"]', { hasText: 'WhatsApp' }).waitFor({ timeout: WAIT });
    await rowByName(ben, 'Tina Tagged').waitFor({ timeout: WAIT });

    // Typing in a field never opens it.
    await ben.locator('[data-testid="thread-search"]').click();
    await ben.keyboard.press('c');
    assert.equal(await ben.locator('[data-testid="new-conversation"]').count(), 0);
    await ben.locator('[data-testid="thread-search"]').fill('');
  });

  it('(c) an opted-out contact is shown as such and cannot be messaged', async () => {
    await ana.locator('[data-testid="thread-title"]').click();
    await ana.keyboard.press('c');
    const dialog = ana.locator('[data-testid="new-conversation"]');
    await dialog.waitFor({ timeout: WAIT });
    await dialog.locator('[data-testid="nc-to"]').fill('Otto');
    const hit = dialog.locator(`[data-testid="nc-result"][data-contact-id="${contacts.otto.id}"]`);
    await hit.waitFor({ timeout: WAIT });
    assert.equal(await hit.getAttribute('aria-disabled'), 'true');
    await hit.locator('[data-testid="nc-result-opted-out"]').waitFor();
    await hit.click({ force: true }); // aria-disabled: a person can still click it
    assert.equal(await dialog.locator('[data-testid="nc-picked"]').isVisible(), false, 'not picked');
    await dialog.locator('[data-testid="nc-cancel"]').click();
    await dialog.waitFor({ state: 'detached', timeout: WAIT });

    // Its page: the opt-out with when and why; the Message buttons are off, saying why.
    await ana.goto(`${base}/contacts/${contacts.otto.id}`);
    const panel = ana.locator('[data-testid="contact-detail"]');
    await panel.locator('[data-testid="contact-detail-name"]', { hasText: 'Otto Out' }).waitFor({ timeout: WAIT });
    await panel.locator('[data-testid="contact-opt-out-reason-text"]', { hasText: 'asked by email' }).waitFor();
    await ana.screenshot({ path: path.join(SHOTS, 'contacts-opted-out.png') });
    assert.equal(await panel.locator('[data-testid="contact-message-sms"]').isDisabled(), true);
    assert.equal(await panel.locator('[data-testid="contact-message-whatsapp"]').isDisabled(), true);
    assert.match(await panel.locator('[data-testid="contact-message-blocked"]').textContent(), /Opted out/);
    await contactRow(ana, contacts.otto.id).locator('[data-testid="contact-row-opted-out"]').waitFor({ timeout: WAIT });
    // And the server refuses anyway.
    const refused = await anaApi.request('POST', '/api/messages', { contact_id: contacts.otto.id, channel: 'sms', body: 'hi' });
    assert.equal(refused.status, 422);
  });

  it('(d) the contacts page: pages of 50, search, sort, edit with a custom field, bulk tag, delete and restore', async () => {
    for (let i = 1; i <= 60; i += 1) {
      const n = String(i).padStart(3, '0');
      await anaApi.expect(201, 'POST', '/api/contacts', { name: `Bulk ${n}`, phone: `+1415556${String(1000 + i)}`, email: `bulk${n}@example.com` });
    }
    await ana.goto(`${base}/contacts`);
    await ana.locator('[data-testid="contacts-page"]').waitFor({ timeout: WAIT });
    await ana.waitForFunction(() => document.querySelectorAll('[data-testid="contact-row"]').length === 50, null, { timeout: WAIT });
    assert.equal(await ana.locator('[data-testid="contacts-load-more"]').isVisible(), true);
    await ana.locator('[data-testid="contacts-load-more"]').click();
    await ana.waitForFunction(() => document.querySelectorAll('[data-testid="contact-row"]').length === 63, null, { timeout: WAIT });
    assert.equal(await ana.locator('[data-testid="contacts-load-more"]').isVisible(), false);
    // A number shows the way people read it in the team's country.
    assert.equal(await contactRow(ana, contacts.tina.id).locator('[data-testid="contact-row-phone"]').textContent(), '(415) 555-0123');

    // Sort by name: A to Z.
    await ana.locator('[data-testid="contacts-sort"]').selectOption('name');
    await ana.waitForFunction(() => {
      const first = document.querySelector('[data-testid="contact-row-name"]');
      return first && first.textContent === 'Bulk 001';
    }, null, { timeout: WAIT });
    const names = await rowNames(ana);
    assert.deepEqual(names, [...names].sort((a, b) => a.localeCompare(b)), 'in name order');

    // Search.
    await ana.locator('[data-testid="contacts-search"]').fill('Bulk 05');
    await ana.waitForFunction(() => document.querySelectorAll('[data-testid="contact-row"]').length === 10, null, { timeout: WAIT });
    assert.deepEqual(await rowNames(ana), Array.from({ length: 10 }, (_, i) => `Bulk 05${i}`));

    // Edit: a bad email is refused under its field; then first/last name, company and Plan.
    await ana.locator('[data-testid="contact-row-name"]', { hasText: 'Bulk 050' }).click();
    const panel = ana.locator('[data-testid="contact-detail"]');
    await panel.locator('[data-testid="contact-detail-name"]', { hasText: 'Bulk 050' }).waitFor({ timeout: WAIT });
    assert.match(ana.url(), /\/contacts\/[0-9a-f-]+$/);
    await panel.locator('[data-testid="contact-edit"]').click();
    const form = ana.locator('[data-testid="contact-form"]');
    await form.waitFor({ timeout: WAIT });
    await form.locator('[data-testid="contact-form-email"]').fill('not-an-email');
    await form.locator('[data-testid="contact-form-save"]').click();
    await form.locator('[data-testid="contact-form-error-email"]').waitFor({ state: 'visible', timeout: WAIT });
    assert.equal(await form.locator('[data-testid="contact-form-email"]').getAttribute('aria-invalid'), 'true');
    await form.locator('[data-testid="contact-form-email"]').fill('bea@example.com');
    await form.locator('[data-testid="contact-form-first_name"]').fill('Bea');
    await form.locator('[data-testid="contact-form-last_name"]').fill('Baker');
    await form.locator('[data-testid="contact-form-name"]').fill('');
    await form.locator('[data-testid="contact-form-company"]').fill('Baker & Sons');
    await form.locator('[data-testid="contact-form-custom_plan"]').fill('Gold');
    await form.locator('[data-testid="contact-form-save"]').click();
    await form.waitFor({ state: 'detached', timeout: WAIT });
    await panel.locator('[data-testid="contact-detail-name"]', { hasText: 'Bea Baker' }).waitFor({ timeout: WAIT });
    await panel.locator('[data-testid="contact-custom-plan"]', { hasText: 'Gold' }).waitFor();
    const editedId = await ana.evaluate(() => window.location.pathname.split('/').pop());
    const edited = await anaApi.expect(200, 'GET', `/api/contacts/${editedId}`);
    assert.equal(edited.name, 'Bea Baker');
    assert.equal(edited.first_name, 'Bea');
    assert.equal(edited.email, 'bea@example.com');
    assert.equal(edited.company, 'Baker & Sons');
    assert.deepEqual(edited.custom_fields, { plan: 'Gold' });
    await contactRow(ana, editedId).locator('[data-testid="contact-row-company"]', { hasText: 'Baker & Sons' }).waitFor();
    await panel.locator('[data-testid="contact-detail-close"]').click();

    // Bulk: Ben has the same search open; Ana tags three contacts; Ben's rows follow live.
    await ben.goto(`${base}/contacts`);
    await ben.locator('[data-testid="contacts-search"]').fill('Bulk 00');
    await ben.waitForFunction(() => document.querySelectorAll('[data-testid="contact-row"]').length === 9, null, { timeout: WAIT });
    await ana.locator('[data-testid="contacts-search"]').fill('Bulk 00');
    await ana.waitForFunction(() => document.querySelectorAll('[data-testid="contact-row"]').length === 9, null, { timeout: WAIT });
    const boxes = ana.locator('[data-testid="contact-select"]');
    for (const i of [0, 1, 2]) await boxes.nth(i).check();
    await ana.locator('[data-testid="bulk-count"]', { hasText: '3 selected' }).waitFor();
    const picked = await ana.locator('[data-testid="contact-row"]').evaluateAll((trs) => trs.slice(0, 3).map((tr) => tr.dataset.contactId));
    await ana.locator('[data-testid="bulk-tag"]').fill('q4');
    await ana.locator('[data-testid="bulk-add-tag"]').click();
    for (const id of picked) {
      await contactRow(ana, id).locator('[data-testid="contact-row-tags"]', { hasText: 'q4' }).waitFor({ timeout: WAIT });
      await contactRow(ben, id).locator('[data-testid="contact-row-tags"]', { hasText: 'q4' }).waitFor({ timeout: WAIT });
    }
    await ana.locator('[data-testid="bulk-bar"]').waitFor({ state: 'hidden', timeout: WAIT });
    const tagged = await anaApi.expect(200, 'GET', '/api/contacts?tag=q4');
    assert.deepEqual(tagged.items.map((c) => c.id).sort(), [...picked].sort());

    // Delete one (bulk, confirmed); it leaves both pages; restore it from the Deleted view.
    const gone = picked[0];
    await contactRow(ana, gone).locator('[data-testid="contact-select"]').check();
    await ana.locator('[data-testid="bulk-delete"]').click();
    await ana.locator('[data-testid="bulk-delete-dialog"] [data-testid="confirm-ok"]').click();
    await contactRow(ana, gone).waitFor({ state: 'detached', timeout: WAIT });
    await contactRow(ben, gone).waitFor({ state: 'detached', timeout: WAIT });
    assert.ok((await anaApi.expect(200, 'GET', `/api/contacts/${gone}`)).deleted_at, 'deleted softly');
    await ana.locator('label[for="contacts-view-deleted"]').click();
    await contactRow(ana, gone).waitFor({ timeout: WAIT });
    await contactRow(ana, gone).locator('[data-testid="contact-row-restore"]').click();
    await contactRow(ana, gone).waitFor({ state: 'detached', timeout: WAIT });
    assert.equal((await anaApi.expect(200, 'GET', `/api/contacts/${gone}`)).deleted_at, null, 'restored');
    await ana.locator('label[for="contacts-view-active"]').click();
    await contactRow(ana, gone).waitFor({ timeout: WAIT });
    await ana.screenshot({ path: path.join(SHOTS, 'contacts-page.png') });
  });

  it('(e) live: a first text from a new number puts its contact on top; a STOP reply marks a row opted out', async () => {
    await ben.goto(`${base}/contacts`);
    await ben.waitForFunction(() => document.querySelectorAll('[data-testid="contact-row"]').length === 50, null, { timeout: WAIT });
    await ben.waitForFunction(() => document.querySelector('[data-testid="connection-state"]').dataset.state === 'connected', null, { timeout: WAIT });
    await anaApi.expect(202, 'POST', '/api/simulator/inbound', { from: '+14155550199', channel: 'sms', body: 'Hi, saw your ad' });
    await ben.waitForFunction(() => {
      const first = document.querySelector('[data-testid="contact-row-phone"]');
      return first && first.textContent === '(415) 555-0199';
    }, null, { timeout: WAIT });
    const newcomer = await ben.locator('[data-testid="contact-row"]').first().getAttribute('data-contact-id');
    assert.equal(await ben.locator('[data-testid="contact-row"]').count(), 51);
    // An older contact's first SMS thread (Tina wrote on WhatsApp before) is no new contact.
    await anaApi.expect(202, 'POST', '/api/simulator/inbound', { from: '+14155550123', channel: 'sms', body: 'Thanks!' });
    await anaApi.expect(202, 'POST', '/api/simulator/inbound', { from: '+14155550199', channel: 'sms', body: 'STOP' });
    await contactRow(ben, newcomer).locator('[data-testid="contact-row-opted-out"]').waitFor({ timeout: WAIT });
    assert.equal(await contactRow(ben, contacts.tina.id).count(), 0, 'not put on top');
    assert.equal(await ben.locator('[data-testid="contact-row"]').count(), 51);
  });

  it('(f) finds a contact by a phone number typed the local way and schedules a message for later', async () => {
    await ana.goto(`${base}/`);
    await ana.locator('[data-testid="inbox"]').waitFor({ timeout: WAIT });
    await ana.locator('[data-testid="new-conversation-button"]').click();
    const dialog = ana.locator('[data-testid="new-conversation"]');
    await dialog.locator('[data-testid="nc-to"]').fill('415 555 0177');
    const hit = dialog.locator(`[data-testid="nc-result"][data-contact-id="${contacts.nina.id}"]`);
    await hit.waitFor({ timeout: WAIT });
    assert.equal(await dialog.locator('[data-testid="nc-result"]').count(), 1, 'no "new contact" offer for a known number');
    await ana.keyboard.press('Enter');
    await dialog.locator('[data-testid="nc-picked-name"]', { hasText: 'Nina New' }).waitFor({ timeout: WAIT });
    await dialog.locator('[data-testid="nc-body"]').fill('Your appointment is tomorrow');
    const later = await ana.evaluate(() => {
      const d = new Date(Date.now() + 3 * 3600_000);
      const p = (n) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    });
    await dialog.locator('[data-testid="nc-send-at"]').fill(later);
    await dialog.locator('[data-testid="nc-send-later"]').click();
    await ana.locator('[data-testid="thread-title"]', { hasText: 'Nina New' }).waitFor({ timeout: WAIT });
    await ana.locator('[data-testid="message-status"]', { hasText: 'Scheduled for' }).waitFor({ timeout: WAIT });
    const threads = await anaApi.expect(200, 'GET', `/api/threads?contact_id=${contacts.nina.id}`);
    assert.equal(threads.items.length, 1, 'the same conversation as before');
    assert.equal(threads.items[0].scheduled_count, 1);
  });
});
