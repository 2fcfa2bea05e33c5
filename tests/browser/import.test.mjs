// The contacts import dialog in the browser (web/static/app/import.js), opened on the inbox
// page the way the contacts page opens it: choose a file, check the guessed mapping against a
// preview of the first rows and change one column, pick the conflict rule, import, read the
// summary with its "Download error rows" link; then a big file that runs as a background job,
// followed live (progress bar from the job's events on the private channel) to its summary.
//
// Run: cd tests/browser && npm install && SWITCHBOARD_BIN=… node --test import.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, signUp } from '../support/server.mjs';
import { WAIT, launch, signInThroughPage, watchConsole } from './support/browser.mjs';

describe('Contacts import dialog', () => {
  let server;
  let browser;
  let page;
  let api;
  const errors = [];
  const ana = { name: 'Ana Admin', email: 'ana-import@example.com', password: 'violet-harbour-lantern-7' };

  before(async () => {
    server = await startServer({ logName: 'server-import.log' });
    ({ api } = await signUp(server.base, { ...ana, team_name: 'Import Bakery' }));
    await api.expect(200, 'PUT', '/api/team/default-country', { default_country: 'US' });
    browser = await launch();
    page = watchConsole(await (await browser.newContext()).newPage(), 'ana', errors);
    await signInThroughPage(page, server.base, ana);
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  });

  /** Opens the dialog through the module, as any page does; the summary lands in window.__imported. */
  const open = () => page.evaluate(async () => {
    const m = await import('/static/app/import.js');
    window.__imported = null;
    m.openImport({ onDone: (s) => { window.__imported = s; } });
  });

  it('maps, imports and summarizes a small file', { timeout: 60_000 }, async () => {
    await open();
    const csv = 'Who,Mobile,E-mail,Labels\nAnn Lee,(415) 555-0101,ann@example.com,"vip, lead"\nBob,not a phone,bob@example.com,\nCy,415 555 0103,,lead\n';
    await page.locator('[data-testid="import-file"]').setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.locator('[data-testid="import-mapping"]').waitFor({ timeout: WAIT });
    const target = (header) => page.locator(`[data-testid="import-target"][data-header="${header}"]`);
    assert.equal(await target('Mobile').inputValue(), 'phone');
    assert.equal(await target('E-mail').inputValue(), 'email');
    assert.equal(await target('Labels').inputValue(), 'tags');
    assert.equal(await target('Who').inputValue(), 'ignore', '"Who" is not a name the guesser knows');
    assert.match(await page.locator('[data-testid="import-mapping"]').textContent(), /Ann Lee/);
    await target('Who').selectOption('name');
    await page.locator('[data-testid="import-conflict"]').selectOption('fill');
    await page.locator('[data-testid="import-start"]').click();
    const summary = page.locator('[data-testid="import-summary"]');
    await summary.waitFor({ timeout: WAIT });
    assert.match(await summary.textContent(), /2 created.*0 updated.*0 skipped.*1 rows with errors/s);
    const link = page.locator('[data-testid="import-errors-link"]');
    assert.match(await link.getAttribute('href'), /^\/api\/contacts\/import\/[0-9a-f-]+\/errors\.csv$/);
    const imported = await page.evaluate(() => window.__imported);
    assert.equal(imported.created, 2);
    const contacts = await api.expect(200, 'GET', '/api/contacts?search=Ann');
    assert.equal(contacts.items[0].name, 'Ann Lee', 'the column mapped by hand was used');
    await page.locator('[data-testid="import-close"]').click();
    // The dialog's close event is a queued task: it leaves the page just after the click.
    await page.locator('[data-testid="import-dialog"]').waitFor({ state: 'detached', timeout: WAIT });
  });

  it('follows a big file as a background job to its summary', { timeout: 120_000 }, async () => {
    await open();
    let csv = 'name,phone\n';
    for (let i = 0; i < 10_050; i++) csv += `Person ${i},+1628${String(2_000_000 + i).padStart(7, '0')}\n`;
    await page.locator('[data-testid="import-file"]').setInputFiles({ name: 'big.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.locator('[data-testid="import-start"]').click();
    await page.locator('[data-testid="import-cancel"]').waitFor({ timeout: WAIT });
    await page.locator('[data-testid="import-summary"]').waitFor({ timeout: 90_000 });
    assert.match(await page.locator('[data-testid="import-summary-state"]').textContent(), /Import finished/);
    assert.match(await page.locator('[data-testid="import-summary"]').textContent(), /10050 created/);
    assert.deepEqual(errors, []);
  });
});
