// Shared harness of the Node test suites (tests/node, tests/browser): starts the real server
// binary on a free port against a fresh Postgres database, and talks to its JSON API.
//
// Plain ESM, Node built-ins only (each suite has its own node_modules; this file needs none).
//
//   const server = await startServer({ logName: 'server-node.log' });
//   server.base  // http://127.0.0.1:PORT
//   await server.stop(); // kills the server, drops its database
//
// Needs: target/debug/switchboard (or SWITCHBOARD_BIN), Postgres on 127.0.0.1:5432 (user
// postgres), psql for dropping the database.

import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../..');
/** The server binary: SWITCHBOARD_BIN (resolved against the cwd) or target/debug/switchboard. */
export const BIN = process.env.SWITCHBOARD_BIN
  ? path.resolve(process.env.SWITCHBOARD_BIN)
  : path.join(repoRoot, 'target/debug/switchboard');
/** Where server logs (and the browser suite's screenshots) go. Ignored by git. */
export const ARTIFACTS = path.join(repoRoot, 'test-artifacts');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A free TCP port: listen on port 0, read it, close. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `BIN serve` on a free port against its own fresh database (created by the server's
 * migrations), with stdout and stderr written to test-artifacts/<logName>, and waits for /readyz
 * (60 s at most). `env` is merged over the defaults below (and over process.env).
 *
 * Resolves to { base, port, dbName, process, stop }. `stop()` sends SIGTERM (SIGKILL after 10 s)
 * and drops the database; it is idempotent. If the server does not come up, it is stopped and its
 * database dropped before the error is thrown.
 */
export async function startServer({ logName, env = {} } = {}) {
  assert.ok(logName, 'startServer needs a logName');
  assert.ok(existsSync(BIN), `server binary not found at ${BIN} (build it, or set SWITCHBOARD_BIN)`);
  mkdirSync(ARTIFACTS, { recursive: true });

  const dbName = `sb_browser_${randomBytes(6).toString('hex')}`;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = createWriteStream(path.join(ARTIFACTS, logName));
  const child = spawn(BIN, ['serve'], {
    env: {
      ...process.env,
      DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${dbName}`,
      BIND: `127.0.0.1:${port}`,
      PUBLIC_BASE_URL: base,
      DEMO_SEED: 'false',
      REDIS_URL: '',
      TYPING_TTL_MS: '3000',
      RUST_LOG: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });

  let stopped = false;
  async function stop() {
    if (stopped) return;
    stopped = true;
    if (exited === null) {
      child.kill('SIGTERM');
      const deadline = Date.now() + 10_000;
      while (exited === null && Date.now() < deadline) await sleep(100);
      if (exited === null) child.kill('SIGKILL');
      await sleep(200);
    }
    try {
      execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-c', `DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`], { stdio: 'pipe' });
    } catch (err) {
      console.error(`could not drop ${dbName}: ${err.message}`);
    }
  }

  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      assert.equal(exited, null, `server exited early: ${JSON.stringify(exited)} (see test-artifacts/${logName})`);
      try {
        if ((await fetch(`${base}/readyz`)).status === 200) break;
      } catch { /* not listening yet */ }
      assert.ok(Date.now() < deadline, 'server did not become ready within 60 s');
      await sleep(250);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    base,
    port,
    dbName,
    process: child,
    /** { code, signal } once the server has exited, else null. */
    get exited() { return exited; },
    stop,
  };
}

/**
 * A tiny JSON API client that keeps the session cookie itself (Node's fetch has no cookie jar).
 * Sends `Authorization: Bearer …` when `bearer` is set. Redirects are not followed, so a test
 * sees exactly what the server answered.
 */
export class ApiClient {
  constructor(base) {
    this.base = base;
    this.cookie = '';
    this.bearer = '';
  }

  async request(method, urlPath, body) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.cookie) headers.Cookie = this.cookie;
    if (this.bearer) headers.Authorization = `Bearer ${this.bearer}`;
    const res = await fetch(this.base + urlPath, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
    });
    const setCookies = typeof res.headers.getSetCookie === 'function' ? res.headers.getSetCookie() : [];
    for (const c of setCookies) {
      const pair = c.split(';')[0];
      if (pair.startsWith('sb_session=')) this.cookie = pair;
    }
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: res.status, json, text, headers: res.headers };
  }

  /** Like request(), but asserts the status and returns the parsed JSON body. */
  async expect(status, method, urlPath, body) {
    const res = await this.request(method, urlPath, body);
    assert.equal(res.status, status, `${method} ${urlPath} → ${res.status} ${res.text}`);
    return res.json;
  }
}

/** Signs up a new account (a new team, or joining one with `invite`); the returned client holds its session. */
export async function signUp(base, fields) {
  const api = new ApiClient(base);
  const { user, team } = await api.expect(201, 'POST', '/api/auth/sign-up', fields);
  return { api, user, team };
}

/** `adminApi` invites a member with `role`; the member signs up with the invite token. */
export async function joinByInvite(adminApi, fields, role = 'agent') {
  const invite = await adminApi.expect(201, 'POST', '/api/invites', { role });
  assert.ok(invite.token, 'invite has a token');
  return signUp(adminApi.base, { ...fields, invite: invite.token });
}
