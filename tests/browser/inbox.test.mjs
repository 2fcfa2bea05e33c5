// End-to-end browser tests of the Switchboard inbox.
//
// The test starts the real server binary on a free port against a fresh Postgres database, sets
// up a team through the HTTP API (an admin, an invite, an agent), then drives Debian's chromium
// through playwright-core: agent A (the admin) with two tabs, agent B in a separate browser
// context. Every step waits for what a person would see on the page.
//
// Run: cd tests/browser && npm install && npm test
// Needs: target/debug/switchboard (or SWITCHBOARD_BIN), Postgres on 127.0.0.1:5432 (user postgres),
// /usr/bin/chromium. The browser is never downloaded.
// The server harness and API client are shared with the pusher-js tests: ../support/server.mjs.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { startServer, signUp, joinByInvite, sleep, ARTIFACTS } from '../support/server.mjs';
import { WAIT, launch, signInThroughPage as signIn, watchConsole as watch } from './support/browser.mjs';

const SHOTS = path.join(ARTIFACTS, 'screenshots');

// ------------------------------------------------------------------ the suite

describe('Switchboard inbox in the browser', () => {
  let server; // startServer(): { base, stop }
  let base;
  let browser;
  let ctxA;
  let ctxB;
  let pageA; // agent A (admin), first tab
  let pageA2; // agent A, second tab
  let pageB; // agent B (agent)
  const consoleErrors = [];
  const admin = { name: 'Ada Admin', email: 'ada@example.com', password: 'correct-horse-battery-1' };
  const agent = { name: 'Bob Agent', email: 'bob@example.com', password: 'correct-horse-battery-2' };
  let adminApi;
  let agentApi;
  let threadX; // first inbound conversation (+14155550101)
  let threadY; // second inbound conversation (+14155550102)
  let threadV; // a conversation that misses more events than one catch-up returns (+14155550107)
  let tabV; // B's tab with thread V open
  const catchUpsV = []; // tabV's answers from /api/threads/{id}/events
  const snapshotsV = []; // and from GET /api/threads/{id}

  const rowSel = (id) => `[data-testid="thread-row"][data-thread-id="${id}"]`;

  /** Collects console errors and uncaught page errors; only favicon 404s are ignored. */
  const watchConsole = (page, label) => watch(page, label, consoleErrors);
  /** Signs in through the page and waits for the live inbox. */
  const signInThroughPage = (page, who) => signIn(page, base, who);

  /** Waits until the first row of the page's inbox is the conversation whose preview has `text`. */
  async function waitTopRow(page, text) {
    await page.waitForFunction((t) => {
      const first = document.querySelector('[data-testid="thread-row"]');
      return !!first && first.textContent.includes(t);
    }, text, { timeout: WAIT });
    return page.locator('[data-testid="thread-row"]').first().getAttribute('data-thread-id');
  }

  async function openThreadByClick(page, id) {
    await page.locator(rowSel(id)).click();
    await page.waitForURL(`${base}/threads/${id}`, { timeout: WAIT });
    await page.locator('[data-testid="thread-view"]').waitFor({ timeout: WAIT });
    // Loaded once the title shows the contact rather than the placeholder.
    await page.waitForFunction(() => {
      const t = document.querySelector('[data-testid="thread-title"]');
      return t && t.textContent && !t.textContent.includes('Loading');
    }, null, { timeout: WAIT });
  }

  function message(page, text) {
    return page.locator('[data-testid="message"]', { hasText: text });
  }

  /** Waits until the page's realtime connection is up. */
  function liveIn(page) {
    return page.waitForFunction(() => window.switchboard && window.switchboard.pusher.connection.state === 'connected', null, { timeout: WAIT });
  }

  /** Waits until the page is subscribed to the thread's channel (its events reach the page). */
  function subscribedIn(page, threadId) {
    return page.waitForFunction((id) => {
      const ch = window.switchboard.pusher.channel(`presence-thread-${id}`);
      return !!ch && ch.subscribed;
    }, threadId, { timeout: WAIT });
  }

  /** A adds `count` public notes "Note i of count <label>" to a thread, 40 at a time. */
  async function addNotes(threadId, count, label) {
    for (let i = 0; i < count; i += 40) {
      await Promise.all(Array.from({ length: Math.min(40, count - i) }, (_, k) =>
        adminApi.expect(201, 'POST', `/api/threads/${threadId}/notes`, { body: `Note ${i + k + 1} of ${count} ${label}`, visibility: 'public' })));
    }
  }

  async function shot(page, name, fullPage = false) {
    if (fullPage) await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
  }

  before(async () => {
    assert.ok(existsSync('/usr/bin/chromium'), '/usr/bin/chromium is missing (apt-get install chromium)');
    mkdirSync(SHOTS, { recursive: true });

    // 1. Start the server on a free port against its own fresh database; wait for /readyz.
    server = await startServer({ logName: 'server-browser.log', env: { TYPING_TTL_MS: '3000' } });
    base = server.base;

    // 2. Set up the team through the API: an admin (new team, simulator mode), an invite, an agent.
    const signedUp = await signUp(base, { ...admin, team_name: 'Acme Support' });
    adminApi = signedUp.api;
    admin.id = signedUp.user.id;
    assert.ok(adminApi.cookie, 'sign-up sets the sb_session cookie');
    const meA = await adminApi.expect(200, 'GET', '/api/me');
    assert.equal(meA.team.simulator_mode, true, 'a new team starts in simulator mode');
    const agentUp = await joinByInvite(adminApi, agent, 'agent');
    agentApi = agentUp.api;
    agent.id = agentUp.user.id;
    assert.equal(agentUp.team.id, signedUp.team.id, 'the invited agent joins the admin\'s team');

    // 3. Browsers: A and B in separate contexts (separate cookies), A with a second tab.
    browser = await launch();
    ctxA = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    ctxB = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    pageA = watchConsole(await ctxA.newPage(), 'A1');
    pageB = watchConsole(await ctxB.newPage(), 'B');
    await signInThroughPage(pageA, admin);
    await signInThroughPage(pageB, agent);
    pageA2 = watchConsole(await ctxA.newPage(), 'A2');
    await pageA2.goto(`${base}/`);
    await pageA2.locator('[data-testid="inbox"]').waitFor({ timeout: WAIT });
    // Both are live once the realtime connection reports connected (the state label empties).
    for (const p of [pageA, pageA2, pageB]) {
      await p.waitForFunction(() => {
        const el = document.querySelector('[data-testid="connection-state"]');
        return el && el.dataset.state === 'connected';
      }, null, { timeout: WAIT });
    }
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  });

  it('shows an inbound message live in both agents\' inboxes and in the open thread', { timeout: 90_000 }, async () => {
    // The header shows the team and the simulator badge; the admin sees the Settings link.
    assert.equal(await pageA.locator('[data-testid="team-name"]').textContent(), 'Acme Support');
    await pageA.locator('[data-testid="simulator-badge"]').waitFor({ state: 'visible', timeout: WAIT });
    await pageA.locator('[data-testid="settings-link"]').waitFor({ state: 'visible', timeout: WAIT });

    // A contact texts the team (through the simulator, i.e. the signed webhook path).
    await adminApi.expect(202, 'POST', '/api/simulator/inbound', { from: '+14155550101', channel: 'sms', body: 'Hi, is my order on its way?' });

    // Both agents see the new conversation appear on top of their inbox, without reloading.
    threadX = await waitTopRow(pageA, 'Hi, is my order on its way?');
    assert.equal(await waitTopRow(pageB, 'Hi, is my order on its way?'), threadX);
    await pageA.locator(`${rowSel(threadX)} [data-testid="channel-label"]`, { hasText: 'SMS' }).waitFor({ timeout: WAIT });

    // A second contact writes on WhatsApp: the new conversation goes on top in both inboxes.
    await adminApi.expect(202, 'POST', '/api/simulator/inbound', { from: '+14155550102', channel: 'whatsapp', body: 'Do you have this in blue?' });
    threadY = await waitTopRow(pageA, 'Do you have this in blue?');
    assert.notEqual(threadY, threadX);
    assert.equal(await waitTopRow(pageB, 'Do you have this in blue?'), threadY);
    assert.equal(await pageA.locator('[data-testid="thread-row"]').count(), 2);
    await pageB.locator(`${rowSel(threadY)} [data-testid="channel-label"]`, { hasText: 'WhatsApp' }).waitFor({ timeout: WAIT });
    await shot(pageA2, 'inbox');

    // Both agents open the first conversation: the message is there.
    await openThreadByClick(pageA, threadX);
    await openThreadByClick(pageB, threadX);
    for (const p of [pageA, pageB]) {
      await message(p, 'Hi, is my order on its way?').waitFor({ timeout: WAIT });
      assert.equal(await message(p, 'Hi, is my order on its way?').getAttribute('data-direction'), 'inbound');
    }

    // The same contact writes again: the bubble appears live in both open threads, once.
    await adminApi.expect(202, 'POST', '/api/simulator/inbound', { from: '+14155550101', channel: 'sms', body: 'It was order 1042.' });
    for (const p of [pageA, pageB]) {
      await message(p, 'It was order 1042.').waitFor({ timeout: WAIT });
      assert.equal(await message(p, 'It was order 1042.').count(), 1, 'no duplicate bubble');
    }
    // The conversation moved back to the top of the list.
    assert.equal(await waitTopRow(pageA2, 'It was order 1042.'), threadX);
  });

  it('shows presence avatars as agents open and leave a thread', { timeout: 60_000 }, async () => {
    const bOnA = pageA.locator(`[data-testid="viewer"][data-user-id="${agent.id}"]`);
    const aOnB = pageB.locator(`[data-testid="viewer"][data-user-id="${admin.id}"]`);
    // Both have thread X open: each sees the other's avatar, and never their own.
    await bOnA.waitFor({ timeout: WAIT });
    await aOnB.waitFor({ timeout: WAIT });
    assert.equal(await pageA.locator(`[data-testid="viewer"][data-user-id="${admin.id}"]`).count(), 0);
    assert.equal(await bOnA.getAttribute('title'), `${agent.name} is viewing`);

    // B moves to the other conversation: B's avatar leaves A's thread view.
    await openThreadByClick(pageB, threadY);
    await bOnA.waitFor({ state: 'detached', timeout: WAIT });
    assert.equal(await pageB.locator('[data-testid="viewer"]').count(), 0, 'nobody else looks at thread Y');

    // B comes back: the avatar is back.
    await openThreadByClick(pageB, threadX);
    await bOnA.waitFor({ timeout: WAIT });
    await aOnB.waitFor({ timeout: WAIT });
  });

  it('shows the typing indicator to the other agent and clears it', { timeout: 60_000 }, async () => {
    const typingOnA = pageA.locator('[data-testid="typing"]');
    assert.equal(await typingOnA.isVisible(), false);
    // B types a reply (without sending it).
    await pageB.locator('[data-testid="composer-body"]').click();
    await pageB.locator('[data-testid="composer-body"]').pressSequentially('Let me check that', { delay: 40 });
    // A sees "Bob Agent is typing…".
    await typingOnA.waitFor({ state: 'visible', timeout: WAIT });
    assert.match(await typingOnA.textContent(), /Bob Agent is typing/);
    // B never sees their own indicator.
    assert.equal(await pageB.locator('[data-testid="typing"]').isVisible(), false);
    // B stops typing: the indicator clears (server expiry after 3 s, or the client's 8 s fallback).
    await typingOnA.waitFor({ state: 'hidden', timeout: WAIT });
    await pageB.locator('[data-testid="composer-body"]').fill('');
  });

  it('schedules a message, cancels it, then sends one that gets delivered', { timeout: 90_000 }, async () => {
    // A writes a reminder and picks a time two hours from now in the browser's own time zone.
    const later = await pageA.evaluate(() => {
      const d = new Date(Date.now() + 2 * 3600 * 1000);
      const p = (n) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    });
    await pageA.locator('[data-testid="composer-body"]').fill('Reminder: your parcel arrives tomorrow.');
    await pageA.locator('[data-testid="send-at"]').fill(later);
    await pageA.locator('[data-testid="send-later"]').click();

    // The message shows as scheduled, with its time, for A and live for B.
    const scheduledA = message(pageA, 'Reminder: your parcel arrives tomorrow.');
    await pageA.locator('[data-testid="message"][data-status="scheduled"]', { hasText: 'Reminder: your parcel' }).waitFor({ timeout: WAIT });
    assert.match(await scheduledA.locator('[data-testid="message-status"]').textContent(), /Scheduled for/);
    await pageB.locator('[data-testid="message"][data-status="scheduled"]', { hasText: 'Reminder: your parcel' }).waitFor({ timeout: WAIT });
    assert.equal(await scheduledA.count(), 1, 'the sending tab shows it once');
    assert.equal(await pageA.locator('[data-testid="composer-body"]').inputValue(), '', 'composer cleared');

    // A cancels it: both see it canceled.
    await scheduledA.locator('[data-testid="message-cancel"]').click();
    for (const p of [pageA, pageB]) {
      await p.locator('[data-testid="message"][data-status="canceled"]', { hasText: 'Reminder: your parcel' }).waitFor({ timeout: WAIT });
    }

    // A sends a reply now with Ctrl+Enter: it goes queued → sent → delivered (the simulator
    // delivers within ~2 s), once in each view.
    await pageA.locator('[data-testid="composer-body"]').fill('Your order 1042 is on its way!');
    await pageA.locator('[data-testid="composer-body"]').press('Control+Enter');
    for (const p of [pageA, pageB]) {
      await p.locator('[data-testid="message"][data-status="delivered"]', { hasText: 'Your order 1042 is on its way!' }).waitFor({ timeout: WAIT });
      assert.equal(await message(p, 'Your order 1042 is on its way!').count(), 1, 'no duplicate bubble');
      assert.equal(await message(p, 'Your order 1042 is on its way!').getAttribute('data-direction'), 'outbound');
    }
    assert.equal(await pageA.locator('[data-testid="composer-error"]').isVisible(), false);
  });

  it('shows a private note only to its author (in both of their tabs), public notes and mentions to all', { timeout: 90_000 }, async () => {
    // A's second tab opens thread X by its URL (deep link).
    await pageA2.goto(`${base}/threads/${threadX}`);
    await pageA2.locator('[data-testid="thread-view"]').waitFor({ timeout: WAIT });
    await message(pageA2, 'It was order 1042.').waitFor({ timeout: WAIT });
    await pageA2.waitForFunction(() => {
      const el = document.querySelector('[data-testid="connection-state"]');
      return el && el.dataset.state === 'connected';
    }, null, { timeout: WAIT });
    // Wait until A2 is a subscribed viewer (B sees no second A avatar: one member per user).
    await pageB.locator(`[data-testid="viewer"][data-user-id="${admin.id}"]`).waitFor({ timeout: WAIT });
    assert.equal(await pageB.locator('[data-testid="viewer"]').count(), 1);
    await sleep(500);

    // A writes a private note in the first tab.
    const secret = 'Private: customer asked for a discount, check with finance';
    await pageA.locator('[data-testid="note-body"]').fill(secret);
    await pageA.locator('[data-testid="note-visibility"]').selectOption('private');
    await pageA.locator('[data-testid="add-note"]').click();

    // Both of A's tabs show it, marked Private, once.
    for (const p of [pageA, pageA2]) {
      const note = p.locator('[data-testid="note"][data-visibility="private"]', { hasText: secret });
      await note.waitFor({ timeout: WAIT });
      await note.locator('[data-testid="note-private"]', { hasText: 'Private' }).waitFor({ timeout: WAIT });
      assert.equal(await note.count(), 1);
    }

    // A writes a public note mentioning B through the @ autocomplete.
    await pageA.locator('[data-testid="note-visibility"]').selectOption('public');
    const noteBox = pageA.locator('[data-testid="note-body"]');
    await noteBox.click();
    await noteBox.pressSequentially('@Bo', { delay: 30 });
    const option = pageA.locator(`[data-testid="mention-option"][data-user-id="${agent.id}"]`);
    await option.waitFor({ timeout: WAIT });
    await option.click();
    assert.equal(await noteBox.inputValue(), '@Bob Agent ');
    await noteBox.pressSequentially('can you confirm the address?', { delay: 5 });
    await pageA.locator('[data-testid="add-note"]').click();

    // B sees the public note live and a toast that A mentioned them.
    const publicText = '@Bob Agent can you confirm the address?';
    await pageB.locator('[data-testid="note"][data-visibility="public"]', { hasText: publicText }).waitFor({ timeout: WAIT });
    await pageB.locator('[data-testid="toast"]', { hasText: `${admin.name} mentioned you` }).waitFor({ timeout: WAIT });
    await pageA2.locator('[data-testid="note"]', { hasText: publicText }).waitFor({ timeout: WAIT });
    await pageA.locator('[data-testid="note"]', { hasText: publicText }).waitFor({ timeout: WAIT });
    await sleep(300);
    assert.equal(await pageA.locator('[data-testid="note"]', { hasText: publicText }).count(), 1, 'no duplicate note');

    // B never sees the private note: not live, and not after a reload.
    assert.equal(await pageB.locator('[data-testid="note"]', { hasText: secret }).count(), 0);
    await pageB.reload();
    await pageB.locator('[data-testid="note"]', { hasText: publicText }).waitFor({ timeout: WAIT });
    assert.equal(await pageB.locator('[data-testid="note"]', { hasText: secret }).count(), 0);
    await shot(pageA, 'thread');
  });

  it('catches up after a reconnect: missed messages and notes appear once, without a reload', { timeout: 60_000 }, async () => {
    // B has thread X open. Mark the page so a reload would show.
    await pageB.evaluate(() => { window.__noReload = true; });
    const connected = () => pageB.waitForFunction(() => window.switchboard && window.switchboard.pusher.connection.state === 'connected', null, { timeout: WAIT });
    await connected();
    const seqBefore = await pageB.evaluate((id) => window.switchboard.seq(id), threadX);

    // B's socket drops.
    await pageB.evaluate(() => window.switchboard.pusher.disconnect());
    await pageB.waitForFunction(() => window.switchboard.pusher.connection.state === 'disconnected', null, { timeout: WAIT });

    // Meanwhile the contact writes, and A adds a public note: B misses both events.
    await adminApi.expect(202, 'POST', '/api/simulator/inbound', { from: '+14155550101', channel: 'sms', body: 'Are you still there?' });
    const note = await adminApi.request('POST', `/api/threads/${threadX}/notes`, { body: 'Customer pinged again while Bob was offline', visibility: 'public' });
    assert.ok([200, 201].includes(note.status), `POST notes → ${note.status} ${note.text}`);
    await message(pageA, 'Are you still there?').waitFor({ timeout: WAIT });
    await sleep(500);
    assert.equal(await message(pageB, 'Are you still there?').count(), 0, 'B is offline: nothing arrived yet');

    // B reconnects: the client asks /events?after={seq} and applies what it missed, once.
    await pageB.evaluate(() => window.switchboard.pusher.connect());
    await connected();
    await message(pageB, 'Are you still there?').waitFor({ timeout: WAIT });
    await pageB.locator('[data-testid="note"]', { hasText: 'while Bob was offline' }).waitFor({ timeout: WAIT });
    await sleep(1000);
    assert.equal(await message(pageB, 'Are you still there?').count(), 1, 'no duplicate after catch-up');
    assert.equal(await pageB.locator('[data-testid="note"]', { hasText: 'while Bob was offline' }).count(), 1);
    assert.equal(await pageB.evaluate(() => window.__noReload), true, 'the page was not reloaded');
    assert.ok(await pageB.evaluate((id) => window.switchboard.seq(id), threadX) > seqBefore, 'the highest seq moved on');
    // Presence is back too: A sees B viewing again.
    await pageA.locator(`[data-testid="viewer"][data-user-id="${agent.id}"]`).waitFor({ timeout: WAIT });
  });

  it('reloads the open thread, not the page, when it missed more events than one catch-up returns', { timeout: 120_000 }, async () => {
    // A new contact texts in; B opens the conversation in a fresh tab.
    await adminApi.expect(202, 'POST', '/api/simulator/inbound', { from: '+14155550107', channel: 'sms', body: 'Is my invoice ready?' });
    tabV = watchConsole(await ctxB.newPage(), 'B3');
    tabV.on('response', (res) => {
      const url = new URL(res.url());
      if (/^\/api\/threads\/[^/]+\/events$/.test(url.pathname)) catchUpsV.push(res);
      // A thread's snapshot (not /api/threads/counts, which the tabs read after thread events).
      else if (/^\/api\/threads\/(?!counts$)[^/]+$/.test(url.pathname) && !url.search && res.request().method() === 'GET') snapshotsV.push(res);
    });
    await tabV.goto(`${base}/`);
    await tabV.locator('[data-testid="inbox"]').waitFor({ timeout: WAIT });
    await liveIn(tabV);
    threadV = await waitTopRow(tabV, 'Is my invoice ready?');
    await openThreadByClick(tabV, threadV);
    await message(tabV, 'Is my invoice ready?').waitFor({ timeout: WAIT });
    // Subscribed to the thread's channel, and the catch-up that follows the first load answered.
    await subscribedIn(tabV, threadV);
    for (const until = Date.now() + WAIT; catchUpsV.length === 0; await sleep(50)) assert.ok(Date.now() < until, 'opening the thread asks /events');
    await catchUpsV[0].finished();
    assert.equal(catchUpsV.length, 1, 'opening the thread asks /events once');
    await tabV.evaluate(() => { window.__noReload = true; });
    const seqBefore = await tabV.evaluate((id) => window.switchboard.seq(id), threadV);
    const { thread: before } = await agentApi.expect(200, 'GET', `/api/threads/${threadV}`);
    assert.equal(seqBefore, before.last_seq, 'the tab is up to date before going offline');

    // B's socket drops.
    await tabV.evaluate(() => window.switchboard.pusher.disconnect());
    await tabV.waitForFunction(() => window.switchboard.pusher.connection.state === 'disconnected', null, { timeout: WAIT });

    // Meanwhile the contact writes again, A renames and tags them, then A adds 520 public notes:
    // more than one catch-up returns.
    const missed = 'Hello? Still waiting on that invoice.';
    await adminApi.expect(202, 'POST', '/api/simulator/inbound', { from: '+14155550107', channel: 'sms', body: missed });
    for (const until = Date.now() + WAIT; ; await sleep(100)) {
      const { messages } = await agentApi.expect(200, 'GET', `/api/threads/${threadV}`);
      if (messages.some((m) => m.body === missed)) break;
      assert.ok(Date.now() < until, 'the inbound message is stored');
    }
    await adminApi.expect(200, 'PATCH', `/api/contacts/${before.contact.id}`, { name: 'Ivy Invoice', tags: ['billing', 'late'] });
    const lastText = 'Note 520 of 520: the newest, written last';
    await addNotes(threadV, 519, 'while Bob was away');
    await adminApi.expect(201, 'POST', `/api/threads/${threadV}/notes`, { body: lastText, visibility: 'public' });
    const { thread: now, notes: listed } = await agentApi.expect(200, 'GET', `/api/threads/${threadV}`);
    assert.ok(now.last_seq - seqBefore > 500, `the thread moved on by ${now.last_seq - seqBefore} events`);
    assert.equal(listed.length, 520, 'B may see every public note');
    assert.equal(listed[listed.length - 1].body, lastText);
    assert.ok(now.unread_count > 0, 'the missed message is unread');
    await sleep(300);
    assert.equal(await tabV.locator('[data-testid="note"]').count(), 0, 'B is offline: nothing arrived yet');
    assert.equal(await message(tabV, missed).count(), 0);

    // B reconnects: /events?after={seq} answers reset_required, and the app reloads the thread
    // (GET /api/threads/{id}), once, instead of the page.
    const catchUpsBefore = catchUpsV.length;
    const snapshotsBefore = snapshotsV.length;
    await tabV.evaluate(() => window.switchboard.pusher.connect());
    await liveIn(tabV);
    await tabV.locator('[data-testid="note"]', { hasText: lastText }).waitFor({ timeout: WAIT });
    await tabV.waitForFunction((n) => document.querySelectorAll('[data-testid="note"]').length === n, listed.length, { timeout: WAIT });
    await sleep(1000); // anything still in flight lands now
    assert.equal(snapshotsV.length - snapshotsBefore, 1, 'the thread is reloaded once');
    const catchUps = catchUpsV.slice(catchUpsBefore);
    assert.ok(catchUps.length >= 1, 'the reconnect asked /events');
    assert.equal(catchUps[0].status(), 200);
    assert.equal(new URL(catchUps[0].url()).searchParams.get('after'), String(seqBefore), 'the catch-up asks after the seq it had');
    assert.deepEqual(await catchUps[0].json(), { events: [], reset_required: true, last_seq: now.last_seq }, 'the server says the gap is too large');
    // A later one (the thread channel's resubscription asks too) starts from the reloaded snapshot.
    for (const res of catchUps.slice(1)) {
      assert.equal(new URL(res.url()).searchParams.get('after'), String(now.last_seq));
      assert.deepEqual(await res.json(), { events: [], reset_required: false, last_seq: now.last_seq });
    }

    // The view is the fresh snapshot: every note once, the newest last (notes written in the same
    // millisecond may be listed in either order), the missed message, the contact as it is now.
    const ids = await tabV.locator('[data-testid="note"]').evaluateAll((els) => els.map((e) => e.dataset.noteId));
    assert.equal(ids.length, listed.length, 'as many notes as the API lists');
    assert.deepEqual([...ids].sort(), listed.map((n) => n.id).sort(), 'the notes the API lists');
    assert.equal(ids[ids.length - 1], listed[listed.length - 1].id, 'the newest last');
    await tabV.locator('[data-testid="note"]').last().filter({ hasText: lastText }).waitFor({ state: 'visible', timeout: WAIT });
    assert.equal(await message(tabV, 'Is my invoice ready?').count(), 1);
    assert.equal(await message(tabV, missed).count(), 1);
    await tabV.locator('[data-testid="thread-title"]', { hasText: 'Ivy Invoice' }).waitFor({ timeout: WAIT });
    await tabV.waitForFunction(() => document.querySelector('[data-testid="contact-name"]').value === 'Ivy Invoice'
      && document.querySelector('[data-testid="contact-tags"]').value === 'billing, late', null, { timeout: WAIT });
    assert.equal(await tabV.evaluate((id) => window.switchboard.seq(id), threadV), now.last_seq, 'the catch-up point is the thread\'s last_seq');
    assert.equal(await tabV.evaluate(() => window.__noReload), true, 'the page was not reloaded');
    assert.equal(new URL(tabV.url()).pathname, `/threads/${threadV}`);
    assert.equal(await tabV.locator('[data-testid="toast"].error').count(), 0, 'no error toast');
    // B has the conversation in front of them: the missed message is read, for everyone.
    for (const until = Date.now() + WAIT; ; await sleep(100)) {
      const { thread } = await agentApi.expect(200, 'GET', `/api/threads/${threadV}`);
      if (thread.unread_count === 0) break;
      assert.ok(Date.now() < until, `the thread is still unread (${thread.unread_count}) after the reload`);
    }
    await tabV.locator('[data-testid="note"]').last().scrollIntoViewIfNeeded();
    await shot(tabV, 'catch-up-reset');
    const errors = consoleErrors.filter((e) => e.startsWith('[B3]'));
    assert.deepEqual(errors, [], `browser console errors:\n${errors.join('\n')}`);
  });

  it('keeps what comes live while that reload is on its way', { timeout: 120_000 }, async () => {
    // B's tab from the test above, thread V open and live. Its socket drops again, and the thread
    // moves on by more than one catch-up returns.
    await subscribedIn(tabV, threadV);
    const seqBefore = await tabV.evaluate((id) => window.switchboard.seq(id), threadV);
    await tabV.evaluate(() => window.switchboard.pusher.disconnect());
    await tabV.waitForFunction(() => window.switchboard.pusher.connection.state === 'disconnected', null, { timeout: WAIT });
    await addNotes(threadV, 510, 'in the second outage');
    const { thread: now } = await agentApi.expect(200, 'GET', `/api/threads/${threadV}`);
    assert.ok(now.last_seq - seqBefore > 500);

    // B reconnects, and the socket is live while the reloaded snapshot is on its way: A's note
    // written then (after the snapshot was taken, which is held back here until the note's event
    // has reached B's socket) must not be lost when the snapshot lands.
    const liveText = 'Written while the thread was reloading';
    let noteDelivered;
    const delivered = new Promise((resolve) => { noteDelivered = resolve; });
    const onSocket = (ws) => ws.on('framereceived', (frame) => {
      if (String(frame.payload).includes(liveText)) noteDelivered();
    });
    tabV.on('websocket', onSocket);
    const held = [];
    const isSnapshot = (url) => url.pathname === `/api/threads/${threadV}` && !url.search;
    await tabV.route(isSnapshot, async (route) => {
      held.push(route.request().url());
      const res = await route.fetch(); // the snapshot is taken now
      if (held.length === 1) {
        await subscribedIn(tabV, threadV); // from now on A's note reaches B's socket
        await adminApi.expect(201, 'POST', `/api/threads/${threadV}/notes`, { body: liveText, visibility: 'public' });
        await delivered;
      }
      await route.fulfill({ response: res });
    });
    const catchUpsBefore = catchUpsV.length;
    await tabV.evaluate(() => window.switchboard.pusher.connect());
    await liveIn(tabV);
    await tabV.locator('[data-testid="note"]', { hasText: 'Note 510 of 510 in the second outage' }).waitFor({ timeout: WAIT });
    await tabV.locator('[data-testid="note"]', { hasText: liveText }).waitFor({ timeout: WAIT });
    const { thread: latest, notes: all } = await agentApi.expect(200, 'GET', `/api/threads/${threadV}`);
    assert.equal(all[all.length - 1].body, liveText);
    await tabV.waitForFunction((n) => document.querySelectorAll('[data-testid="note"]').length === n, all.length, { timeout: WAIT });
    await sleep(1000); // anything still in flight lands now
    await tabV.unroute(isSnapshot);
    tabV.off('websocket', onSocket);
    assert.equal(held.length, 1, 'the thread is reloaded once');
    assert.equal((await catchUpsV[catchUpsBefore].json()).reset_required, true);

    // Every note once, the live one last; the catch-up point is past it.
    const ids = await tabV.locator('[data-testid="note"]').evaluateAll((els) => els.map((e) => e.dataset.noteId));
    assert.equal(ids.length, all.length, 'as many notes as the API lists');
    assert.deepEqual([...ids].sort(), all.map((n) => n.id).sort(), 'the notes the API lists');
    assert.equal(ids[ids.length - 1], all[all.length - 1].id, 'the live note last');
    assert.equal(await tabV.evaluate((id) => window.switchboard.seq(id), threadV), latest.last_seq, 'the catch-up point is the thread\'s last_seq');
    assert.equal(await tabV.evaluate(() => window.__noReload), true, 'the page was not reloaded');

    // Live as usual afterwards: a note written now appears once, right away.
    await adminApi.expect(201, 'POST', `/api/threads/${threadV}/notes`, { body: 'And one more, live', visibility: 'public' });
    await tabV.locator('[data-testid="note"]', { hasText: 'And one more, live' }).waitFor({ timeout: WAIT });
    assert.equal(await tabV.locator('[data-testid="note"]').count(), all.length + 1);
    assert.equal(await tabV.evaluate((id) => window.switchboard.seq(id), threadV), latest.last_seq + 1);
    const errors = consoleErrors.filter((e) => e.startsWith('[B3]'));
    assert.deepEqual(errors, [], `browser console errors:\n${errors.join('\n')}`);
    await tabV.close();
  });

  it('clears the unread badge in the other tab when one tab reads the thread', { timeout: 60_000 }, async () => {
    // A's second tab goes back to the inbox; a new contact writes.
    await pageA2.goto(`${base}/`);
    await pageA2.locator('[data-testid="inbox"]').waitFor({ timeout: WAIT });
    await pageA2.waitForFunction(() => {
      const el = document.querySelector('[data-testid="connection-state"]');
      return el && el.dataset.state === 'connected';
    }, null, { timeout: WAIT });
    await adminApi.expect(202, 'POST', '/api/simulator/inbound', { from: '+14155550103', channel: 'sms', body: 'Do you ship to Canada?' });
    const threadZ = await waitTopRow(pageA2, 'Do you ship to Canada?');
    assert.equal(await waitTopRow(pageA, 'Do you ship to Canada?'), threadZ);

    // Both of A's tabs show it unread.
    const badgeA1 = pageA.locator(`${rowSel(threadZ)} [data-testid="unread-badge"]`);
    const badgeA2 = pageA2.locator(`${rowSel(threadZ)} [data-testid="unread-badge"]`);
    await badgeA1.waitFor({ timeout: WAIT });
    await badgeA2.waitFor({ timeout: WAIT });
    assert.equal((await badgeA1.textContent()).trim(), '1');

    // The second tab opens it: the badge clears there at once, and in the first tab live.
    await openThreadByClick(pageA2, threadZ);
    await badgeA2.waitFor({ state: 'detached', timeout: WAIT });
    await badgeA1.waitFor({ state: 'detached', timeout: WAIT });
    // The first tab still has thread X open, undisturbed.
    assert.equal(new URL(pageA.url()).pathname, `/threads/${threadX}`);
  });

  it('keeps settings for admins: an agent cannot open them', { timeout: 60_000 }, async () => {
    // No Settings link for the agent.
    assert.equal(await pageB.locator('[data-testid="settings-link"]').count(), 0);
    // The page itself is refused (403) or redirected away, with B's own session cookie.
    const res = await ctxB.request.get(`${base}/settings`, { maxRedirects: 0 });
    const status = res.status();
    const location = res.headers().location || '';
    assert.ok(status === 403 || (status >= 300 && status < 400 && !location.includes('/settings')),
      `agent GET /settings → ${status} ${location}`);
    // So are the admin APIs.
    assert.equal((await agentApi.request('GET', '/api/channels')).status, 403);
    assert.equal((await agentApi.request('POST', '/api/invites', { role: 'agent' })).status, 403);

    // The admin's settings page: channels, simulator explanation, members, invite link.
    await pageA2.goto(`${base}/settings`);
    await pageA2.locator('[data-testid="settings"]').waitFor({ timeout: WAIT });
    await pageA2.locator('[data-testid="simulator-state"]', { hasText: 'Simulator mode is on' }).waitFor({ timeout: WAIT });
    await pageA2.locator('[data-testid="member-row"]').nth(1).waitFor({ timeout: WAIT });
    assert.equal(await pageA2.locator('[data-testid="member-row"]').count(), 2);
    await pageA2.locator('[data-testid="invite-role"]').selectOption('agent');
    await pageA2.locator('[data-testid="invite-create"]').click();
    await pageA2.locator('[data-testid="invite-result"]').waitFor({ timeout: WAIT });
    const url = await pageA2.locator('[data-testid="invite-url"]').inputValue();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/.+/, 'the invite link is a full URL');
    await shot(pageA2, 'settings', true);
  });

  it('edits thread, contact and scheduled message live; refuses sending to an opted-out contact', { timeout: 90_000 }, async () => {
    // A sets the status and assigns the thread to B: B's view and inbox follow live.
    await pageA.locator('[data-testid="thread-status"]').selectOption('pending');
    await pageB.waitForFunction(() => document.querySelector('[data-testid="thread-status"]').value === 'pending', null, { timeout: WAIT });
    await pageA.locator('[data-testid="thread-assignee"]').selectOption(agent.id);
    await pageB.locator(`${rowSel(threadX)} [data-testid="thread-assignee-name"]`, { hasText: agent.name }).waitFor({ timeout: WAIT });
    await pageB.locator(`${rowSel(threadX)} [data-testid="thread-status-label"]`, { hasText: 'pending' }).waitFor({ timeout: WAIT });
    // B filters on "Assigned to me": only thread X is left.
    await pageB.locator('[data-testid="filter-mine"]').check();
    await pageB.waitForFunction((id) => {
      const rows = [...document.querySelectorAll('[data-testid="thread-row"]')];
      return rows.length === 1 && rows[0].dataset.threadId === id;
    }, threadX, { timeout: WAIT });
    await pageB.locator('[data-testid="filter-mine"]').uncheck();
    await pageB.waitForFunction(() => document.querySelectorAll('[data-testid="thread-row"]').length >= 3, null, { timeout: WAIT });

    // A names the contact and tags it: the inbox row shows the name.
    await pageA.locator('[data-testid="contact-name"]').fill('Casey Customer');
    await pageA.locator('[data-testid="contact-tags"]').fill('vip, billing');
    await pageA.locator('[data-testid="contact-save"]').click();
    await pageA.locator('[data-testid="contact-status"]', { hasText: 'Saved' }).waitFor({ timeout: WAIT });
    await pageA.locator(`${rowSel(threadX)} [data-testid="thread-name"]`, { hasText: 'Casey Customer' }).waitFor({ timeout: WAIT });

    // A schedules a message, edits its text; B sees the edit live; then A cancels it.
    const later = await pageA.evaluate(() => {
      const d = new Date(Date.now() + 26 * 3600 * 1000);
      const p = (n) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    });
    await pageA.locator('[data-testid="composer-body"]').fill('Draft follow-up');
    await pageA.locator('[data-testid="send-at"]').fill(later);
    await pageA.locator('[data-testid="cancel-on-reply"]').check();
    await pageA.locator('[data-testid="send-later"]').click();
    const draft = pageA.locator('[data-testid="message"][data-status="scheduled"]', { hasText: 'Draft follow-up' });
    await draft.waitFor({ timeout: WAIT });
    await draft.locator('[data-testid="message-edit"]').click();
    await pageA.locator('[data-testid="edit-body"]').fill('Edited follow-up: how did it go?');
    await pageA.locator('[data-testid="edit-save"]').click();
    await pageB.locator('[data-testid="message"][data-status="scheduled"]', { hasText: 'Edited follow-up' }).waitFor({ timeout: WAIT });
    const edited = pageA.locator('[data-testid="message"][data-status="scheduled"]', { hasText: 'Edited follow-up' });
    await edited.locator('[data-testid="message-cancel"]').click();
    await pageB.locator('[data-testid="message"][data-status="canceled"]', { hasText: 'Edited follow-up' }).waitFor({ timeout: WAIT });

    // Opting the contact out blocks sending: the server refuses and the composer says why.
    // (This runs in an extra tab whose console is not watched, so that the refused request (422),
    // the expected outcome here, can never count as a console error.)
    const pageA3 = await ctxA.newPage();
    await pageA3.goto(`${base}/threads/${threadX}`);
    await message(pageA3, 'It was order 1042.').waitFor({ timeout: WAIT });
    await pageA3.locator('[data-testid="contact-opted-out"]').check();
    await pageA3.locator('[data-testid="contact-status"]', { hasText: 'opted out' }).waitFor({ timeout: WAIT });
    await pageA3.locator('[data-testid="composer-body"]').fill('Are you there?');
    await pageA3.locator('[data-testid="send"]').click();
    const alert = pageA3.locator('[data-testid="composer-error"][role="alert"]');
    await alert.waitFor({ state: 'visible', timeout: WAIT });
    assert.ok((await alert.textContent()).trim().length > 0, 'the error message is shown');
    assert.equal(await message(pageA3, 'Are you there?').count(), 0);
    await pageA3.locator('[data-testid="contact-opted-out"]').uncheck();
    await pageA3.locator('[data-testid="contact-status"]', { hasText: 'Opted back in' }).waitFor({ timeout: WAIT });
    await pageA3.close();

    // The composer's WhatsApp switch opens (creating it) the contact's WhatsApp thread.
    await pageA.locator('label[for="composer-wa"]').click();
    await pageA.waitForURL((url) => url.pathname.startsWith('/threads/') && !url.pathname.endsWith(threadX), { timeout: WAIT });
    await pageA.locator('[data-testid="thread-title"] [data-testid="channel-label"]', { hasText: 'WhatsApp' }).waitFor({ timeout: WAIT });
    assert.equal(await pageA.locator('[data-testid="composer-channel-whatsapp"]').isChecked(), true);
    // Back to thread X with the browser's Back button.
    await pageA.goBack();
    await pageA.waitForURL(`${base}/threads/${threadX}`, { timeout: WAIT });
    await message(pageA, 'It was order 1042.').waitFor({ timeout: WAIT });
  });

  it('is usable on a 390 px phone: list first, then the thread', { timeout: 60_000 }, async () => {
    await pageA2.setViewportSize({ width: 390, height: 844 });
    await pageA2.goto(`${base}/`);
    await pageA2.locator(rowSel(threadX)).waitFor({ timeout: WAIT });
    // Nothing overflows sideways.
    const overflow = await pageA2.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `page overflows horizontally by ${overflow}px`);
    // The simulator form plays a contact texting in: the new conversation lands on top.
    await pageA2.locator('[data-testid="simulator"] summary').click();
    await pageA2.locator('[data-testid="sim-from"]').fill('+14155550104');
    await pageA2.locator('[data-testid="sim-channel"]').selectOption('whatsapp');
    await pageA2.locator('[data-testid="sim-body"]').fill('Hola! Is the shop open on Sunday?');
    await pageA2.locator('[data-testid="sim-send"]').click();
    await pageA2.locator('[data-testid="sim-status"]', { hasText: 'Sent' }).waitFor({ timeout: WAIT });
    await waitTopRow(pageA2, 'Is the shop open on Sunday?');
    await pageA2.locator('[data-testid="simulator"] summary').click();
    await pageA2.evaluate(() => window.scrollTo(0, 0));
    await shot(pageA2, 'phone-inbox');
    // Tapping a conversation shows it instead of the list; Back returns.
    await openThreadByClick(pageA2, threadX);
    assert.equal(await pageA2.locator('[data-testid="list-pane"]').isVisible(), false);
    await message(pageA2, 'It was order 1042.').waitFor({ timeout: WAIT });
    await pageA2.locator('[data-testid="composer-body"]').waitFor({ state: 'visible', timeout: WAIT });
    await shot(pageA2, 'phone-thread');
    await pageA2.locator('[data-testid="back"]').click();
    await pageA2.locator('[data-testid="list-pane"]').waitFor({ state: 'visible', timeout: WAIT });
    assert.equal(new URL(pageA2.url()).pathname, '/');
  });

  it('shows the team dashboard to an agent and keeps its numbers live', { timeout: 90_000 }, async () => {
    // B (an agent, not an admin) follows the header's Dashboard link.
    await pageB.setViewportSize({ width: 1280, height: 800 });
    await pageB.locator('[data-testid="dashboard-link"]').click();
    await pageB.waitForURL(`${base}/dashboard`, { timeout: WAIT });
    await pageB.locator('[data-testid="dashboard"]').waitFor({ timeout: WAIT });
    assert.equal(await pageB.locator('[data-testid="dashboard-link"]').getAttribute('aria-current'), 'page');
    await pageB.waitForFunction(() => {
      const el = document.querySelector('[data-testid="connection-state"]');
      return el && el.dataset.state === 'connected';
    }, null, { timeout: WAIT });
    await pageB.evaluate(() => { window.__noReload = true; });

    // The open-thread count is the server's number.
    const openStat = pageB.locator('[data-testid="stat-open"]');
    await pageB.waitForFunction(() => /^\d+$/.test(document.querySelector('[data-testid="stat-open"]').textContent), null, { timeout: WAIT });
    const before = await agentApi.expect(200, 'GET', '/api/analytics/summary');
    const openBefore = Number(await openStat.textContent());
    assert.equal(openBefore, before.threads.open, 'the card shows the open count from /api/analytics/summary');
    assert.ok(openBefore >= 1, 'earlier tests left open conversations');
    // Every card is labelled and filled (numbers, a percentage, durations or "—" when unknown).
    for (const key of ['pending', 'resolved', 'snoozed', 'unread', 'unassigned', 'inbound', 'outbound', 'scheduled', 'online']) {
      assert.match(await pageB.locator(`[data-testid="stat-${key}"]`).textContent(), /^\d[\d,.\s]*$/, `stat ${key}`);
    }
    assert.equal(Number(await pageB.locator('[data-testid="stat-inbound"]').textContent()), before.messages_24h.inbound);
    assert.match(await pageB.locator('[data-testid="stat-delivery"]').textContent(), before.delivery_7d.rate === null ? /^—$/ : /%/);
    for (const key of ['median', 'p90']) {
      assert.match(await pageB.locator(`[data-testid="stat-${key}"]`).textContent(), /^(—|\d+ (s|min|h|d)( \d+ (s|min|h))?)$/, `stat ${key}`);
    }

    // Who is online now: B itself and A (whose tabs are open) as avatars with names.
    const bOnline = pageB.locator(`[data-testid="online-member"][data-user-id="${agent.id}"]`);
    const aOnline = pageB.locator(`[data-testid="online-member"][data-user-id="${admin.id}"]`);
    await bOnline.waitFor({ timeout: WAIT });
    await aOnline.waitFor({ timeout: WAIT });
    assert.match(await aOnline.textContent(), new RegExp(admin.name));
    assert.equal(await aOnline.locator('.avatar').getAttribute('aria-label'), admin.name);
    assert.equal(await pageB.locator('[data-testid="stat-online"]').textContent(), String(await pageB.locator('[data-testid="online-member"]').count()));

    // A contact B's team has never heard from texts in: the open count goes up live, no reload.
    await adminApi.expect(202, 'POST', '/api/simulator/inbound', { from: '+14155550105', channel: 'sms', body: 'First time writing: do you do gift wrap?' });
    await pageB.waitForFunction((n) => document.querySelector('[data-testid="stat-open"]').textContent === String(n), openBefore + 1, { timeout: WAIT });
    assert.equal(await pageB.evaluate(() => window.__noReload), true, 'the page was not reloaded');
    const after = await agentApi.expect(200, 'GET', '/api/analytics/summary');
    assert.equal(after.threads.open, openBefore + 1);

    // The CSV export is an admin's act: B (an agent) has no link and the server refuses B; A's
    // dashboard has it (last 30 days), and it answers 200 text/csv with the header row.
    assert.equal(await pageB.locator('[data-testid="csv-link"]').count(), 0, 'an agent sees no export link');
    assert.equal((await agentApi.request('GET', '/api/analytics/export.csv?days=30')).status, 403);
    const dashA = watchConsole(await ctxA.newPage(), 'A3');
    await dashA.goto(`${base}/dashboard`);
    const csvLink = dashA.locator('[data-testid="csv-link"]');
    await csvLink.waitFor({ timeout: WAIT });
    assert.equal(await csvLink.textContent(), '⤓ Download CSV (last 30 days)');
    assert.equal(await csvLink.getAttribute('href'), '/api/analytics/export.csv?days=30');
    const csv = await dashA.evaluate(async () => {
      const res = await fetch(document.querySelector('[data-testid="csv-link"]').href);
      return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
    });
    assert.equal(csv.status, 200);
    assert.match(csv.type, /^text\/csv/);
    assert.match(csv.text, /^created_at,thread_id,contact_name,contact_phone,channel,direction,status,body/);
    assert.ok(csv.text.includes('do you do gift wrap?'), 'the new message is in the export');
    await dashA.close();
    // (The changed numbers flash briefly; screenshot once that is over.)
    const settled = () => pageB.waitForFunction(() => document.getAnimations().length === 0, null, { timeout: WAIT });
    await settled();
    await shot(pageB, 'dashboard', true);

    // Dark mode and a 390 px phone: nothing overflows sideways.
    await pageB.emulateMedia({ colorScheme: 'dark' });
    await shot(pageB, 'dashboard-dark', true);
    await pageB.emulateMedia({ colorScheme: 'light' });
    await pageB.setViewportSize({ width: 390, height: 844 });
    const overflow = await pageB.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `dashboard overflows horizontally by ${overflow}px`);
    assert.ok(await openStat.isVisible());
    await shot(pageB, 'dashboard-phone', true);
    await pageB.setViewportSize({ width: 1280, height: 800 });
  });

  it('shows a contact\'s rename, opt-out and deletion live in the other agent\'s inbox and open thread', { timeout: 90_000 }, async () => {
    // A new contact texts in; A and B each open the conversation in a fresh tab.
    await adminApi.expect(202, 'POST', '/api/simulator/inbound', { from: '+14155550106', channel: 'sms', body: 'Can I change my delivery address?' });
    const tabA = watchConsole(await ctxA.newPage(), 'A4');
    const tabB = watchConsole(await ctxB.newPage(), 'B2');
    for (const p of [tabA, tabB]) {
      await p.goto(`${base}/`);
      await p.locator('[data-testid="inbox"]').waitFor({ timeout: WAIT });
      await p.waitForFunction(() => {
        const el = document.querySelector('[data-testid="connection-state"]');
        return el && el.dataset.state === 'connected';
      }, null, { timeout: WAIT });
    }
    const threadW = await waitTopRow(tabB, 'Can I change my delivery address?');
    assert.equal(await waitTopRow(tabA, 'Can I change my delivery address?'), threadW);
    await pageA.locator(rowSel(threadW)).waitFor({ timeout: WAIT }); // A's first tab lists it too
    await openThreadByClick(tabA, threadW);
    await openThreadByClick(tabB, threadW);
    // Both are subscribed to the thread's channel once each sees the other viewing it.
    await tabB.locator(`[data-testid="viewer"][data-user-id="${admin.id}"]`).waitFor({ timeout: WAIT });
    await tabA.locator(`[data-testid="viewer"][data-user-id="${agent.id}"]`).waitFor({ timeout: WAIT });
    await tabB.evaluate(() => { window.__noReload = true; });
    const { thread } = await adminApi.expect(200, 'GET', `/api/threads/${threadW}`);
    const contactPath = `/api/contacts/${thread.contact.id}`;
    assert.equal(await tabB.locator('[data-testid="opted-out-banner"]').isVisible(), false);

    // A renames the contact through the API: within 2 s B's inbox row, thread header and contact
    // card show the new name (and so does A's own tab).
    const SOON = 2_000;
    await adminApi.expect(200, 'PATCH', contactPath, { name: 'Dana Delivery' });
    await tabB.locator(`${rowSel(threadW)} [data-testid="thread-name"]`, { hasText: 'Dana Delivery' }).waitFor({ timeout: SOON });
    await tabB.locator('[data-testid="thread-title"]', { hasText: 'Dana Delivery' }).waitFor({ timeout: SOON });
    await tabB.waitForFunction(() => document.querySelector('[data-testid="contact-name"]').value === 'Dana Delivery', null, { timeout: SOON });
    await tabA.locator('[data-testid="thread-title"]', { hasText: 'Dana Delivery' }).waitFor({ timeout: SOON });

    // A opts the contact out: within 2 s B sees it opted out in the row, the contact card and the
    // composer (the banner says messages to them are blocked).
    await adminApi.expect(200, 'PATCH', contactPath, { opted_out: true });
    await tabB.locator('[data-testid="opted-out-banner"]').waitFor({ state: 'visible', timeout: SOON });
    await tabB.locator(`${rowSel(threadW)} [data-testid="thread-opted-out"]`).waitFor({ timeout: SOON });
    await tabB.waitForFunction(() => document.querySelector('[data-testid="contact-opted-out"]').checked, null, { timeout: SOON });
    assert.match(await tabB.locator('[data-testid="opted-out-banner"]').textContent(), /opted out/);
    assert.equal(await tabB.locator('[data-testid="thread-title"]').locator('span').first().textContent(), 'Dana Delivery');
    assert.equal(await tabB.evaluate(() => window.__noReload), true, 'the page was not reloaded');
    await shot(tabB, 'contact-live');

    // A purges the contact (its threads go with it): the row leaves every inbox (A's first tab,
    // with another thread open, too), and both open views close with a notice.
    await adminApi.expect(204, 'DELETE', `${contactPath}?purge=true`);
    for (const p of [tabB, tabA]) {
      await p.locator(rowSel(threadW)).waitFor({ state: 'detached', timeout: SOON });
      await p.locator('[data-testid="thread-view"]').waitFor({ state: 'hidden', timeout: SOON });
      await p.locator('[data-testid="toast"]', { hasText: 'This conversation was deleted' }).waitFor({ timeout: SOON });
      await p.locator('[data-testid="no-thread"]').waitFor({ state: 'visible', timeout: SOON });
      assert.equal(new URL(p.url()).pathname, '/');
    }
    await pageA.locator(rowSel(threadW)).waitFor({ state: 'detached', timeout: SOON });
    assert.equal(new URL(pageA.url()).pathname, `/threads/${threadX}`, 'A\'s first tab keeps its own thread open');
    assert.equal(await tabB.evaluate(() => window.__noReload), true, 'the page was not reloaded');
    await shot(tabB, 'contact-deleted');
    await tabA.close();
    await tabB.close();
  });

  it('signs out and leaves no errors in any browser console', { timeout: 60_000 }, async () => {
    await pageB.locator('[data-testid="sign-out"]').click();
    await pageB.waitForURL(`${base}/sign-in`, { timeout: WAIT });
    await pageB.locator('[data-testid="sign-in-form"]').waitFor({ timeout: WAIT });
    // After sign-out the inbox is no longer reachable with B's cookies.
    const res = await ctxB.request.get(`${base}/api/me`);
    assert.equal(res.status(), 401);
    assert.deepEqual(consoleErrors, [], `browser console errors:\n${consoleErrors.join('\n')}`);
  });
});
