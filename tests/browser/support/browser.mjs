// What the browser suites share: Debian's chromium launched headless through playwright-core,
// a console watcher that turns unexpected console errors into test failures, and signing in
// through the real sign-in page.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

/** Generous: the machine is small and may be compiling. */
export const WAIT = 15_000;

/** Launches /usr/bin/chromium headless. */
export async function launch() {
  assert.ok(existsSync('/usr/bin/chromium'), '/usr/bin/chromium is missing (apt-get install chromium)');
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-gpu'],
  });
}

/** Collects `page`'s console errors and page errors into `sink` (but those matching `allowed`). */
export function watchConsole(page, label, sink, allowed = []) {
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location() && msg.location().url ? msg.location().url : '';
    const line = `${msg.text()} ${where}`;
    if (/favicon/i.test(line) || allowed.some((re) => re.test(line))) return;
    sink.push(`[${label}] console.error: ${line}`);
  });
  page.on('pageerror', (err) => sink.push(`[${label}] pageerror: ${err.message}`));
  return page;
}

/** Waits until the app's socket is connected. */
export const connected = (page) => page.waitForFunction(() => {
  const el = document.querySelector('[data-testid="connection-state"]');
  return el && el.dataset.state === 'connected';
}, null, { timeout: WAIT });

/** Signs `who` ({email, password}) in through the sign-in page and waits for the live inbox. */
export async function signInThroughPage(page, base, who) {
  await page.goto(`${base}/sign-in`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.locator('[data-testid="submit"]').click();
  await page.waitForURL(`${base}/`, { timeout: WAIT });
  await page.locator('[data-testid="inbox"]').waitFor({ timeout: WAIT });
  await connected(page);
}
