// WhatsApp's rules in the browser (issue 14 parts 4 and 5). A WhatsApp conversation whose contact
// never wrote shows "Window closed — send a template" and free-form Send is off; when the contact
// writes (the simulator posts a signed inbound webhook) the line turns, live, into the countdown
// "Window closes in 23 h 59 m" and Send comes back. The Templates button lists the team's
// approved WhatsApp templates; picking one shows a field per variable and a preview rendered for
// the conversation (a default fills {{1}} with the contact's first name), and "Send template"
// puts the rendered text in the thread, which the simulated carrier delivers. A new WhatsApp
// conversation (New conversation dialog, a new number) starts with a template the same way.
//
// Run: cd tests/browser && npm install && npm test (same needs as inbox.test.mjs).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startServer, signUp, joinByInvite, ARTIFACTS } from '../support/server.mjs';
import { WAIT, connected, launch, signInThroughPage, watchConsole } from './support/browser.mjs';

const SHOTS = path.join(ARTIFACTS, 'screenshots');

describe('WhatsApp window and templates in the browser', () => {
  let server;
  let base;
  let browser;
  let page;
  let anaApi;
  let thread;
  const ana = { name: 'Ana Admin', email: 'ana@example.com', password: 'violet-harbour-lantern-7' };
  const ben = { name: 'Ben Agent', email: 'ben@example.com', password: 'amber-meadow-compass-8' };
  const phone = '+447911123456';
  const consoleErrors = [];

  const windowLine = () => page.locator('[data-testid="wa-window"]');
  const windowText = () => page.locator('[data-testid="wa-window-text"]');

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = await startServer({ logName: 'server-whatsapp.log' });
    base = server.base;
    anaApi = (await signUp(base, { ...ana, team_name: 'Harbour Bakery' })).api;
    await joinByInvite(anaApi, ben, 'agent');
    const contact = await anaApi.expect(201, 'POST', '/api/contacts', { name: 'Kenji Tanaka', phone });
    thread = (await anaApi.expect(200, 'POST', '/api/threads/for-contact', { contact_id: contact.id, channel: 'whatsapp' })).id;
    await anaApi.expect(201, 'POST', '/api/templates', {
      name: 'order_ready', channel_kind: 'whatsapp', content_sid: `HX${'0123456789abcdef'.repeat(2)}`,
      body: 'Hi {{1}}, your order {{2}} is ready.',
      variables: [{ key: '1', example: 'Ana', default: '{{contact.first_name}}' }, { key: '2', example: '#1' }],
    });
    await anaApi.expect(201, 'POST', '/api/templates', { name: 'sms_hours', channel_kind: 'sms', body: 'We are open 7 to 15.' });

    browser = await launch();
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = watchConsole(await ctx.newPage(), 'ben', consoleErrors, []);
    await signInThroughPage(page, base, ben);
    await page.goto(`${base}/threads/${thread}`);
    await page.locator('[data-testid="composer-body"]').waitFor({ timeout: WAIT });
    await connected(page);
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
    assert.deepEqual(consoleErrors, [], 'no console errors');
  });

  it('a closed window says so and holds free-form Send back; an inbound message starts the countdown live', { timeout: 60_000 }, async () => {
    await windowLine().waitFor({ state: 'visible', timeout: WAIT });
    assert.equal(await windowText().textContent(), 'Window closed — send a template');
    assert.equal(await windowLine().getAttribute('data-state'), 'closed');
    assert.ok(await page.locator('[data-testid="send"]').isDisabled(), 'free-form Send is off');
    await page.screenshot({ path: path.join(SHOTS, 'whatsapp-window-closed.png') });

    await anaApi.expect(202, 'POST', '/api/simulator/inbound', { from: phone, channel: 'whatsapp', body: 'Is my order ready?' });
    await page.waitForFunction(() => document.querySelector('[data-testid="wa-window"]').dataset.state === 'open', null, { timeout: WAIT });
    const text = await windowText().textContent();
    assert.match(text, /^Window closes in 2[34] h \d{1,2} m$/, text);
    await page.locator('[data-testid="send"]:not([disabled])').waitFor({ timeout: WAIT });
    await page.screenshot({ path: path.join(SHOTS, 'whatsapp-window-open.png') });
  });

  it('the template picker fills the variables, previews the text and sends it', { timeout: 60_000 }, async () => {
    await page.locator('[data-testid="templates-button"]').click();
    const options = page.locator('[data-testid="template-option"]');
    await options.first().waitFor({ timeout: WAIT });
    assert.deepEqual(await options.evaluateAll((els) => els.map((e) => e.dataset.name)), ['order_ready'], 'only the thread\'s channel');
    await options.first().click();

    const preview = page.locator('[data-testid="template-preview"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="template-preview"]').textContent === 'Hi Kenji, your order {{2}} is ready.', null, { timeout: WAIT });
    assert.ok(await page.locator('[data-testid="template-send"]').isDisabled(), 'a variable is still missing');
    await page.locator('[data-testid="template-variable"][data-key="2"]').fill('#1042');
    await page.waitForFunction(() => document.querySelector('[data-testid="template-preview"]').textContent === 'Hi Kenji, your order #1042 is ready.', null, { timeout: WAIT });
    await page.screenshot({ path: path.join(SHOTS, 'whatsapp-template-picker.png') });
    assert.equal(await preview.textContent(), 'Hi Kenji, your order #1042 is ready.');
    await page.locator('[data-testid="template-send"]:not([disabled])').click();

    await page.locator('[data-testid="template-picker"]').waitFor({ state: 'hidden', timeout: WAIT });
    // The sent template shows in the thread, and (once the thread's summary moves) as the row's preview too:
    // each is looked for in its own place, so the two never make one locator ambiguous.
    await page.getByTestId('messages').getByText('Hi Kenji, your order #1042 is ready.', { exact: true }).waitFor({ timeout: WAIT });
    await page.getByTestId('thread-preview').getByText('Hi Kenji, your order #1042 is ready.', { exact: true }).waitFor({ timeout: WAIT });
    // The simulated carrier takes a template outside or inside the window: it is delivered.
    const deadline = Date.now() + 10_000;
    let last;
    while (Date.now() < deadline) {
      const view = await anaApi.expect(200, 'GET', `/api/threads/${thread}`);
      last = view.messages.find((m) => m.body === 'Hi Kenji, your order #1042 is ready.');
      if (last && last.status === 'delivered') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(last && last.status, 'delivered', JSON.stringify(last));
  });

  it('a new WhatsApp conversation starts with a template from the New conversation dialog', { timeout: 60_000 }, async () => {
    await page.goto(`${base}/`);
    await connected(page);
    await page.locator('[data-testid="new-conversation-button"]').click();
    const dialog = page.locator('[data-testid="new-conversation"]');
    await dialog.waitFor({ timeout: WAIT });
    await page.locator('[data-testid="nc-to"]').fill('+14155550199');
    await page.locator('[data-testid="nc-result"]').first().click();
    await page.locator('[data-testid="nc-name"]').fill('Mia Chen');
    await page.locator('label[for="nc-ch-whatsapp"]').click();
    await page.locator('[data-testid="nc-whatsapp-hint"]').waitFor({ state: 'visible', timeout: WAIT });

    await dialog.locator('[data-testid="templates-button"]').click();
    const options = dialog.locator('[data-testid="template-option"]');
    await options.first().waitFor({ timeout: WAIT });
    assert.deepEqual(await options.evaluateAll((els) => els.map((e) => e.dataset.name)), ['order_ready'], 'WhatsApp templates only');
    await options.first().click();
    // No contact yet: the template as written; its default is filled in when it is sent.
    assert.equal(await dialog.locator('[data-testid="template-preview"]').textContent(), 'Hi {{1}}, your order {{2}} is ready.');
    await dialog.locator('[data-testid="template-variable"][data-key="2"]').fill('#7');
    await page.screenshot({ path: path.join(SHOTS, 'whatsapp-new-conversation-template.png') });
    await dialog.locator('[data-testid="template-send"]').click();

    await dialog.waitFor({ state: 'detached', timeout: WAIT });
    const sent = page.locator('[data-testid="message"]').filter({ has: page.getByText('Hi Mia, your order #7 is ready.', { exact: true }) });
    await sent.waitFor({ timeout: WAIT });
    assert.equal(await sent.locator('[data-testid="message-template"]').textContent(), 'Template', 'marked as a template message');
    const contacts = await anaApi.expect(200, 'GET', '/api/contacts?search=%2B14155550199');
    assert.equal(contacts.items.length, 1, 'the contact was created once');
    assert.equal(contacts.items[0].name, 'Mia Chen');
  });
});
