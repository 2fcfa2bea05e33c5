// Lists on the contacts page (web/static/app/contact-lists.js), in the browser.
//
// A team (Ana, admin, and Ben, agent, each in their own browser context) with five contacts,
// two of them tagged "vip". Then:
//   (a) Ana creates a static list "Spring promo" in the Lists dialog, selects two contacts and adds
//       them in bulk; Ben's open page shows the new count live in his list filter; filtering by
//       the list shows exactly those two; the contact's panel names the list;
//   (b) "Remove from this list" takes one out again (the view follows), and the panel's × takes
//       the other out;
//   (c) with the tag filter on "vip", Ana saves a segment; filtering by it shows the tagged two;
//       deleting the static list drops it from Ben's filter live (his filter was on it: cleared).
//
// Run: cd tests/browser && npm install && SWITCHBOARD_BIN=… node --test lists.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, signUp, joinByInvite } from '../support/server.mjs';
import { WAIT, launch, signInThroughPage, watchConsole } from './support/browser.mjs';

describe('Contact lists in the browser', () => {
  let server;
  let browser;
  let ana;
  let ben;
  let api;
  const errors = [];
  const people = {
    ana: { name: 'Ana Admin', email: 'ana-lists@example.com', password: 'violet-harbour-lantern-7' },
    ben: { name: 'Ben Agent', email: 'ben-lists@example.com', password: 'amber-meadow-compass-8' },
  };
  const c = {};

  const row = (page, id) => page.locator(`[data-testid="contact-row"][data-contact-id="${id}"]`);
  const shownIds = (page) => page.locator('[data-testid="contact-row"]').evaluateAll((els) => els.map((e) => e.dataset.contactId).sort());
  const optionText = (page, id) => page.locator(`[data-testid="contacts-list-filter"] option[value="${id}"]`).textContent();

  before(async () => {
    server = await startServer({ logName: 'server-lists.log' });
    ({ api } = await signUp(server.base, { ...people.ana, team_name: 'List Bakery' }));
    await joinByInvite(api, people.ben, 'agent');
    const make = (name, phone, tags) => api.expect(201, 'POST', '/api/contacts', { name, phone, tags });
    c.amy = await make('Amy Able', '+14155550201', ['vip']);
    c.bo = await make('Bo Baker', '+14155550202', ['vip']);
    c.cy = await make('Cy Cole', '+14155550203', []);
    c.di = await make('Di Dunn', '+14155550204', []);
    c.ed = await make('Ed Ely', '+14155550205', []);
    browser = await launch();
    ana = watchConsole(await (await browser.newContext()).newPage(), 'ana', errors);
    ben = watchConsole(await (await browser.newContext()).newPage(), 'ben', errors);
    await signInThroughPage(ana, server.base, people.ana);
    await signInThroughPage(ben, server.base, people.ben);
    for (const p of [ana, ben]) {
      await p.goto(`${server.base}/contacts`);
      await row(p, c.ed.id).waitFor({ timeout: WAIT });
    }
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  });

  let promo; // the static list's id

  it('creates a static list, adds contacts in bulk, and filters by it (live on a teammate\'s page)', { timeout: 60_000 }, async () => {
    await ana.locator('[data-testid="contacts-lists-manage"]').click();
    await ana.locator('[data-testid="list-new-name"]').fill('Spring promo');
    await ana.locator('[data-testid="list-create-submit"]').click();
    const listRow = ana.locator('[data-testid="list-row"]', { has: ana.locator('[data-testid="list-name"]') });
    await listRow.first().waitFor({ timeout: WAIT });
    promo = await listRow.first().getAttribute('data-list-id');
    await ana.locator('[data-testid="lists-close"]').click();
    await ana.locator('[data-testid="lists-dialog"]').waitFor({ state: 'detached', timeout: WAIT });

    // Ben's page learns of the new list live.
    await ben.waitForFunction((id) => !!document.querySelector(`[data-testid="contacts-list-filter"] option[value="${id}"]`), promo, { timeout: WAIT });
    assert.match(await optionText(ben, promo), /Spring promo \(0\)/);

    for (const who of [c.amy, c.cy]) await row(ana, who.id).locator('[data-testid="contact-select"]').check();
    await ana.locator('[data-testid="bulk-list"]').selectOption(promo);
    await ana.locator('[data-testid="bulk-add-to-list"]').click();
    await ben.waitForFunction((id) => /\(2\)/.test(document.querySelector(`[data-testid="contacts-list-filter"] option[value="${id}"]`)?.textContent || ''), promo, { timeout: WAIT });

    await ana.locator('[data-testid="contacts-list-filter"]').selectOption(promo);
    await ana.waitForFunction(() => document.querySelectorAll('[data-testid="contact-row"]').length === 2, null, { timeout: WAIT });
    assert.deepEqual(await shownIds(ana), [c.amy.id, c.cy.id].sort());

    await row(ana, c.amy.id).locator('[data-testid="contact-row-name"]').click();
    const chip = ana.locator('[data-testid="contact-lists"] [data-testid="contact-list"]');
    await chip.first().waitFor({ timeout: WAIT });
    assert.match(await chip.first().textContent(), /Spring promo/);
  });

  it('removes members in bulk and from the contact\'s panel', { timeout: 60_000 }, async () => {
    await row(ana, c.cy.id).locator('[data-testid="contact-select"]').check();
    await ana.locator('[data-testid="bulk-remove-from-list"]').click();
    await row(ana, c.cy.id).waitFor({ state: 'detached', timeout: WAIT });
    assert.deepEqual(await shownIds(ana), [c.amy.id]);

    await ana.locator('[data-testid="contact-list-leave"]').click();
    await ana.locator('[data-testid="contact-lists-empty"]').waitFor({ timeout: WAIT });
    await row(ana, c.amy.id).waitFor({ state: 'detached', timeout: WAIT });
    const members = await api.expect(200, 'GET', `/api/contacts?list_id=${promo}`);
    assert.equal(members.items.length, 0);
  });

  it('saves the tag filter as a segment, and a deleted list leaves every page', { timeout: 60_000 }, async () => {
    await ben.locator('[data-testid="contacts-list-filter"]').selectOption(promo);
    await ana.locator('[data-testid="contacts-list-filter"]').selectOption('');
    await ana.locator('[data-testid="contacts-tag-filter"]').fill('vip');
    await ana.locator('[data-testid="contacts-tag-filter"]').press('Enter');
    await ana.waitForFunction(() => document.querySelectorAll('[data-testid="contact-row"]').length === 2, null, { timeout: WAIT });

    await ana.locator('[data-testid="contacts-lists-manage"]').click();
    await ana.locator('[data-testid="list-new-name"]').fill('VIPs');
    await ana.locator('[data-testid="list-kind-segment"]').check();
    await ana.locator('[data-testid="list-create-submit"]').click();
    const vipRow = ana.locator('[data-testid="list-row"]', { has: ana.locator('[data-testid="list-name"][value="VIPs"]') });
    await ana.waitForFunction(() => [...document.querySelectorAll('[data-testid="list-name"]')].some((i) => i.value === 'VIPs'), null, { timeout: WAIT });
    const vips = await ana.evaluate(() => [...document.querySelectorAll('[data-testid="list-row"]')].find((r) => r.querySelector('[data-testid="list-name"]').value === 'VIPs').dataset.listId);
    assert.ok(vipRow);

    // Delete the static list from the same dialog.
    await ana.locator(`[data-testid="list-row"][data-list-id="${promo}"] [data-testid="list-delete"]`).click();
    await ana.locator('[data-testid="list-delete-dialog"] [data-testid="confirm-ok"]').click();
    await ana.locator(`[data-testid="list-row"][data-list-id="${promo}"]`).waitFor({ state: 'detached', timeout: WAIT });
    await ana.locator('[data-testid="lists-close"]').click();

    // Ben's filter was on it: it is gone from his page and his filter is cleared.
    await ben.waitForFunction((id) => !document.querySelector(`[data-testid="contacts-list-filter"] option[value="${id}"]`), promo, { timeout: WAIT });
    assert.equal(await ben.locator('[data-testid="contacts-list-filter"]').inputValue(), '');
    await ben.waitForFunction(() => document.querySelectorAll('[data-testid="contact-row"]').length === 5, null, { timeout: WAIT });

    // The segment: clear the tag, filter by the segment.
    await ana.locator('[data-testid="contacts-tag-filter"]').fill('');
    await ana.locator('[data-testid="contacts-tag-filter"]').press('Enter');
    await ana.locator('[data-testid="contacts-list-filter"]').selectOption(vips);
    await ana.waitForFunction(() => document.querySelectorAll('[data-testid="contact-row"]').length === 2, null, { timeout: WAIT });
    assert.deepEqual(await shownIds(ana), [c.amy.id, c.bo.id].sort());
    assert.match(await optionText(ana, vips), /VIPs \(2\) · segment/);
    assert.deepEqual(errors, []);
  });
});
