// Canned replies in the browser: an agent types "/" in the reply box, narrows the picker with a
// few letters (fuzzy, on shortcut and title), picks a reply with the keyboard, and the text
// rendered for this conversation appears in the composer. A variable without a value stays as
// a highlighted {{placeholder}}, listed in a warning, and Send is held back (the server refuses
// it too) until the agent replaces it. On the Replies page an agent adds a personal reply (a
// template error names its position), and their open inbox tab can use it at once.
//
// Run: cd tests/browser && npm install && npm test (same needs as inbox.test.mjs).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startServer, signUp, joinByInvite, ARTIFACTS } from '../support/server.mjs';
import { WAIT, connected, launch, signInThroughPage, watchConsole } from './support/browser.mjs';

const SHOTS = path.join(ARTIFACTS, 'screenshots');
// The template error and the hand-typed placeholder the tests provoke on purpose are 422s.
const ALLOWED = [/status of 422/];

describe('Canned replies in the browser', () => {
  let server;
  let base;
  let browser;
  let ctx;
  let inboxTab; // Ben's inbox, the conversation with Carla open
  let anaApi;
  let benApi;
  let thread;
  const ana = { name: 'Ana Admin', email: 'ana@example.com', password: 'violet-harbour-lantern-7' };
  const ben = { name: 'Ben Agent', email: 'ben@example.com', password: 'amber-meadow-compass-8' };
  const consoleErrors = [];

  const composer = (page) => page.locator('[data-testid="composer-body"]');
  const picker = (page) => page.locator('[data-testid="reply-picker"]');
  const options = (page) => page.locator('[data-testid="reply-option"]');

  /** The bodies of the conversation's messages, as the API has them. */
  async function sentBodies() {
    const view = await benApi.expect(200, 'GET', `/api/threads/${thread}`);
    return view.messages.map((m) => m.body);
  }

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = await startServer({ logName: 'server-replies.log' });
    base = server.base;
    anaApi = (await signUp(base, { ...ana, team_name: 'Harbour Bakery' })).api;
    benApi = (await joinByInvite(anaApi, ben, 'agent')).api;
    const contact = await anaApi.expect(201, 'POST', '/api/contacts', { name: 'Carla Diaz', phone: '+14155550123' });
    thread = (await anaApi.expect(200, 'POST', '/api/threads/for-contact', { contact_id: contact.id, channel: 'sms' })).id;
    for (const r of [
      { shortcut: 'thanks', title: 'Thank you', body: 'Thanks, {{contact.first_name}}! — {{agent.first_name}} at {{team.name}}' },
      { shortcut: 'email-follow-up', title: 'We will email you', body: 'We will write to {{contact.email}} today.' },
      { shortcut: 'hours', title: 'Opening hours', body: 'We are open 7 to 15.' },
    ]) await anaApi.expect(201, 'POST', '/api/replies', { scope: 'team', ...r });

    browser = await launch();
    ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    inboxTab = watchConsole(await ctx.newPage(), 'ben', consoleErrors, ALLOWED);
    await signInThroughPage(inboxTab, base, ben);
    await inboxTab.goto(`${base}/threads/${thread}`);
    await composer(inboxTab).waitFor({ timeout: WAIT });
    await connected(inboxTab);
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
    assert.deepEqual(consoleErrors, [], 'no console errors');
  });

  it('"/" opens the picker, a few letters narrow it, Enter inserts the reply rendered for the conversation', { timeout: 60_000 }, async () => {
    const page = inboxTab;
    await composer(page).click();
    await composer(page).pressSequentially('/');
    await picker(page).waitFor({ state: 'visible', timeout: WAIT });
    assert.equal(await options(page).count(), 3, 'every reply the agent may use');
    assert.equal(await composer(page).getAttribute('aria-expanded'), 'true');
    await page.screenshot({ path: path.join(SHOTS, 'replies-picker.png') });

    // Fuzzy: "tnk" is t…n…k of "thanks"; Escape closes, typing opens again.
    await composer(page).pressSequentially('tnk');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="reply-option"]').length === 1, null, { timeout: WAIT });
    assert.equal(await options(page).first().getAttribute('data-shortcut'), 'thanks');
    await composer(page).press('Escape');
    await picker(page).waitFor({ state: 'hidden', timeout: WAIT });
    await composer(page).press('Backspace');
    await picker(page).waitFor({ state: 'visible', timeout: WAIT });
    assert.equal(await options(page).first().getAttribute('aria-selected'), 'true');

    await composer(page).press('Enter');
    await picker(page).waitFor({ state: 'hidden', timeout: WAIT });
    await page.waitForFunction(() => document.querySelector('[data-testid="composer-body"]').value.startsWith('Thanks'), null, { timeout: WAIT });
    assert.equal(await composer(page).inputValue(), 'Thanks, Carla! — Ben at Harbour Bakery');
    assert.ok(await page.locator('[data-testid="missing-variables"]').isHidden(), 'nothing missing');
    assert.ok(await page.locator('[data-testid="send"]').isEnabled());

    await page.locator('[data-testid="send"]').click();
    await page.locator('[data-testid="message-body"]', { hasText: 'Thanks, Carla! — Ben at Harbour Bakery' }).waitFor({ timeout: WAIT });
    assert.deepEqual(await sentBodies(), ['Thanks, Carla! — Ben at Harbour Bakery']);
    assert.equal(await composer(page).inputValue(), '', 'composer cleared');
  });

  it('a variable without a value stays highlighted and blocks the send until it is replaced', { timeout: 60_000 }, async () => {
    const page = inboxTab;
    await composer(page).click();
    await composer(page).pressSequentially('Hi! /mail');
    await page.waitForFunction(() => document.querySelector('[data-testid="reply-option"]')?.dataset.shortcut === 'email-follow-up', null, { timeout: WAIT });
    await composer(page).press('Tab');
    await page.locator('[data-testid="missing-variables"]').waitFor({ state: 'visible', timeout: WAIT });
    assert.equal(await composer(page).inputValue(), 'Hi! We will write to {{contact.email}} today.', 'the placeholder stays visible');
    assert.equal(await page.locator('[data-testid="missing-variable"]').getAttribute('data-variable'), 'contact.email');
    assert.equal(await composer(page).getAttribute('aria-invalid'), 'true');
    assert.ok(await page.locator('[data-testid="send"]').isDisabled(), 'Send is held back');
    await page.screenshot({ path: path.join(SHOTS, 'replies-missing-variable.png') });

    // Ctrl+Enter does not get around it, and nothing reaches the server.
    await composer(page).press('Control+Enter');
    await page.locator('[data-testid="composer-error"]', { hasText: '{{contact.email}}' }).waitFor({ timeout: WAIT });
    assert.equal((await sentBodies()).length, 1, 'nothing sent');

    // The placeholder is selected after the insert: typing replaces it.
    const selected = await page.evaluate(() => {
      const el = document.querySelector('[data-testid="composer-body"]');
      return el.value.slice(el.selectionStart, el.selectionEnd);
    });
    assert.equal(selected, '{{contact.email}}');
    await composer(page).pressSequentially('carla@example.com');
    await page.locator('[data-testid="missing-variables"]').waitFor({ state: 'hidden', timeout: WAIT });
    assert.ok(await page.locator('[data-testid="send"]').isEnabled());
    await page.locator('[data-testid="send"]').click();
    await page.locator('[data-testid="message-body"]', { hasText: 'Hi! We will write to carla@example.com today.' }).waitFor({ timeout: WAIT });
    assert.equal((await sentBodies())[1], 'Hi! We will write to carla@example.com today.');

    // A placeholder typed (or pasted) by hand is the server's to fill in: refused, never sent raw.
    await composer(page).fill('Typed by hand: {{ contact.email }}');
    await composer(page).press('Control+Enter');
    await page.locator('[data-testid="composer-error"]', { hasText: 'fill in {{contact.email}} before sending' }).waitFor({ timeout: WAIT });
    assert.equal((await sentBodies()).length, 2, 'nothing sent');
    await composer(page).fill('');
  });

  it('a personal reply added on the Replies page is in the open inbox\'s picker at once', { timeout: 60_000 }, async () => {
    const page = watchConsole(await ctx.newPage(), 'ben-replies', consoleErrors, ALLOWED);
    await page.goto(`${base}/replies`);
    await page.locator('[data-testid="reply-row"]').first().waitFor({ timeout: WAIT });
    assert.equal(await page.locator('[data-testid="reply-row"]').count(), 3);
    assert.ok(await page.locator('[data-testid="reply-scope"]').isDisabled(), 'an agent makes personal replies only');
    assert.equal(await page.locator('[data-testid="reply-edit"]').count(), 0, 'team replies are the admins\'');

    await page.locator('[data-testid="reply-shortcut"]').fill('sig');
    await page.locator('[data-testid="reply-title"]').fill('My signature');
    await page.locator('[data-testid="reply-body"]').fill('Best, {{agent.first_name');
    await page.locator('[data-testid="reply-save"]').click();
    await page.locator('[data-testid="reply-error"]', { hasText: 'line 1, column' }).waitFor({ timeout: WAIT });
    await page.locator('[data-testid="reply-body"]').fill('Best, ');
    await page.locator('[data-testid="reply-variables"] button', { hasText: '{{agent.first_name}}' }).click();
    assert.equal(await page.locator('[data-testid="reply-body"]').inputValue(), 'Best, {{agent.first_name}}');
    await page.locator('[data-testid="reply-save"]').click();
    await page.locator('[data-testid="reply-row"][data-shortcut="sig"]').waitFor({ timeout: WAIT });
    await page.screenshot({ path: path.join(SHOTS, 'replies-page.png') });
    await page.close();

    // The inbox tab loaded its replies before: reply.changed on Ben's user channel brought it.
    await composer(inboxTab).click();
    await composer(inboxTab).pressSequentially('/sig');
    await inboxTab.waitForFunction(() => document.querySelector('[data-testid="reply-option"]')?.dataset.shortcut === 'sig', null, { timeout: WAIT });
    await composer(inboxTab).press('Enter');
    await inboxTab.waitForFunction(() => document.querySelector('[data-testid="composer-body"]').value === 'Best, Ben', null, { timeout: WAIT });
  });
});
