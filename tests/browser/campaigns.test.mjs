// Campaigns in the browser: an admin opens the Campaigns page from the header, creates a
// campaign to a segment with a canned reply as the template, previews it (a contact without a
// company is flagged: the template needs {{contact.company}}), starts it, and watches the
// progress bar and counts move live (campaign.updated on the team channel) until it is done.
// Then a second campaign with an approved template (fields for its fixed values; a variable
// with a default is filled in per contact) and quiet hours: the preview renders it per contact.
// The team is in simulator mode, so messages go through the built-in carrier at the default pace
// (SEND_RATE_PER_SECOND=1: the campaign takes 0.8 a second), slow enough to see it move.
//
// Run: cd tests/browser && npm install && npm test (same needs as inbox.test.mjs).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startServer, signUp, ARTIFACTS } from '../support/server.mjs';
import { WAIT, connected, launch, signInThroughPage, watchConsole } from './support/browser.mjs';

const SHOTS = path.join(ARTIFACTS, 'screenshots');

describe('Campaigns in the browser', () => {
  let server;
  let base;
  let browser;
  let page;
  let api;
  const ana = { name: 'Ana Admin', email: 'ana@example.com', password: 'violet-harbour-lantern-7' };
  const consoleErrors = [];

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = await startServer({ logName: 'server-campaigns.log', env: { SEND_RATE_PER_SECOND: '1' } });
    base = server.base;
    api = (await signUp(base, { ...ana, team_name: 'Harbour Bakery' })).api;
    for (let i = 1; i <= 5; i += 1) {
      await api.expect(201, 'POST', '/api/contacts', { name: `Guest${i} Smith`, phone: `+1415555020${i}`, tags: ['promo'], company: `Co ${i}` });
    }
    // In the segment, but with no company: the preview flags it and the send skips it.
    await api.expect(201, 'POST', '/api/contacts', { name: 'Aaron Nocompany', phone: '+14155550200', tags: ['promo'] });
    await api.expect(201, 'POST', '/api/contacts', { name: 'Not Promo', phone: '+14155550299' });
    await api.expect(201, 'POST', '/api/lists', { name: 'Promo fans', kind: 'segment', filter: { tags_any: ['promo'] } });
    await api.expect(201, 'POST', '/api/replies', { scope: 'team', shortcut: 'sale', title: 'Spring sale', body: 'Hi {{contact.first_name}} of {{contact.company}}: 20% off this week' });

    await api.expect(201, 'POST', '/api/templates', {
      name: 'Spring code', channel_kind: 'sms', body: 'Hi {{1}}, your code is {{2}}',
      variables: [{ key: '1', default: '{{contact.first_name}}' }, { key: '2', example: 'SAVE10' }],
    });

    browser = await launch();
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = watchConsole(await ctx.newPage(), 'ana', consoleErrors);
    await signInThroughPage(page, base, ana);
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
    assert.deepEqual(consoleErrors, [], 'no console errors');
  });

  it('creates a campaign to a segment with a template, previews it, starts it and the progress moves live', { timeout: 90_000 }, async () => {
    await page.locator('[data-testid="campaigns-link"]').click();
    await page.waitForURL(`${base}/campaigns`, { timeout: WAIT });
    await page.locator('[data-testid="campaigns-page"]').waitFor({ timeout: WAIT });
    await connected(page);

    await page.locator('[data-testid="campaign-name"]').fill('Spring sale');
    await page.locator('[data-testid="campaign-audience-kind"]').selectOption('segment_id');
    await page.locator('[data-testid="campaign-audience-list"] option', { hasText: 'Promo fans' }).waitFor({ state: 'attached', timeout: WAIT });
    await page.locator('[data-testid="campaign-template"]').selectOption({ label: '/sale — Spring sale' });
    await page.locator('[data-testid="campaign-create"]').click();
    const card = page.locator('[data-testid="campaign"]').first();
    await card.waitFor({ timeout: WAIT });
    assert.equal(await card.getAttribute('data-status'), 'draft');

    // The preview renders the template per contact and flags the one without a company.
    await card.locator('[data-testid="campaign-preview-button"]').click();
    const items = page.locator('[data-testid="campaign-preview-item"]');
    await items.first().waitFor({ timeout: WAIT });
    assert.equal(await items.count(), 5);
    const texts = await page.locator('[data-testid="campaign-preview-text"]').allTextContents();
    assert.ok(texts.some((t) => t === 'Hi Guest1 of Co 1: 20% off this week'), texts.join(' | '));
    assert.equal(await page.locator('[data-testid="campaign-preview-missing"]').count(), 1);
    await page.screenshot({ path: path.join(SHOTS, 'campaigns-preview.png') });

    // Start: the bar moves without a reload, then it is done with exact counts.
    await card.locator('[data-testid="campaign-start"]').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="campaign"]')?.dataset.status === 'running', null, { timeout: WAIT });
    const progress = () => page.locator('[data-testid="campaign-progress"]').first().getAttribute('aria-valuenow').then(Number);
    await page.waitForFunction(() => {
      const v = Number(document.querySelector('[data-testid="campaign-progress"]')?.getAttribute('aria-valuenow'));
      return v > 0 && v < 100;
    }, null, { timeout: WAIT });
    const partway = await progress();
    await page.screenshot({ path: path.join(SHOTS, 'campaigns-running.png') });
    await page.waitForFunction(() => document.querySelector('[data-testid="campaign"]')?.dataset.status === 'done', null, { timeout: 45_000 });
    assert.ok(partway > 0 && partway < 100, `progress seen part way: ${partway}`);
    assert.equal(await progress(), 100);
    assert.equal(await page.locator('[data-testid="campaign-sent"]').first().textContent(), 'Sent 5');
    assert.equal(await page.locator('[data-testid="campaign-skipped"]').first().textContent(), 'Skipped 1');
    const csv = page.locator('[data-testid="campaign-csv"]').first();
    assert.match(await csv.getAttribute('href'), /\/recipients\.csv$/);
  });

  it('creates a campaign with an approved template and quiet hours, and previews it per contact', { timeout: 60_000 }, async () => {
    await page.locator('[data-testid="campaign-name"]').fill('Spring codes');
    await page.locator('[data-testid="campaign-audience-kind"]').selectOption('segment_id');
    await page.locator('[data-testid="campaign-audience-list"] option', { hasText: 'Promo fans' }).waitFor({ state: 'attached', timeout: WAIT });
    // The approved templates of the number's kind are offered beside the canned replies.
    await page.locator('[data-testid="campaign-template"]').selectOption({ label: 'Spring code (no Content SID)' });
    const values = page.locator('[data-testid="campaign-value"]');
    await values.first().waitFor({ timeout: WAIT });
    assert.equal(await values.count(), 2);
    assert.equal(await values.nth(0).getAttribute('placeholder'), 'per contact: {{contact.first_name}}');
    await values.nth(1).fill('SPRING');
    assert.ok(await page.locator('[data-testid="campaign-body"]').isDisabled());
    await page.locator('[data-testid="campaign-quiet"]').check();
    await page.locator('[data-testid="campaign-quiet-start"]').fill('21:00');
    await page.locator('[data-testid="campaign-quiet-end"]').fill('08:00');
    await page.screenshot({ path: path.join(SHOTS, 'campaigns-approved-template-form.png') });
    await page.locator('[data-testid="campaign-create"]').click();
    const card = page.locator('[data-testid="campaign"][data-status="draft"]').first();
    await card.waitFor({ timeout: WAIT });
    assert.equal(await card.locator('[data-testid="campaign-quiet-hours"]').textContent(), 'Quiet 21:00–08:00 local');

    await card.locator('[data-testid="campaign-preview-button"]').click();
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="campaign-preview-text"]')]
      .some((el) => el.textContent === 'Hi Guest1, your code is SPRING'), null, { timeout: WAIT });
    assert.equal(await page.locator('[data-testid="campaign-preview-missing"]').count(), 0);
    await page.screenshot({ path: path.join(SHOTS, 'campaigns-approved-template.png') });
  });
});
