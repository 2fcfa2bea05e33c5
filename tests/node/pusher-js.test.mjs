// Unmodified pusher-js 8 (its Node runtime) against Switchboard's Pusher-protocol gateway.
//
// The point: an existing Pusher client library works with our server unchanged. The test starts
// the real server on a free port against a fresh database, makes two users of one team through the
// HTTP API, then connects two pusher-js clients:
// - A authorizes with a `customHandler` that posts to /pusher/auth with A's session cookie. (The
//   Node runtime's built-in "ajax" transport uses an XMLHttpRequest polyfill that drops a Cookie
//   header as a forbidden header, so a browser-style cookie session needs the custom handler.)
// - B uses pusher-js's own "ajax" transport with an API token in `Authorization: Bearer`.
//
// Run: cd tests/node && npm install && npm test
// Needs: target/debug/switchboard (or SWITCHBOARD_BIN), Postgres on 127.0.0.1:5432 (user postgres).
// The server harness and API client are shared with the browser tests: ../support/server.mjs.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Pusher from 'pusher-js';
import { startServer, signUp, joinByInvite, sleep } from '../support/server.mjs';

const WAIT = 15_000;

/** Resolves with the first `event` on `bindable` (a channel or connection), or fails after WAIT. */
function next(bindable, event, filter = () => true) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      bindable.unbind(event, handler);
      reject(new Error(`timed out waiting for ${event}`));
    }, WAIT);
    function handler(data, meta) {
      if (!filter(data, meta)) return;
      clearTimeout(timer);
      bindable.unbind(event, handler);
      resolve({ data, meta });
    }
    bindable.bind(event, handler);
  });
}

describe('pusher-js (unmodified, Node) against the Switchboard gateway', () => {
  let server; // startServer(): { base, stop }
  let base;
  let me; // GET /api/me of user A: the pusher config lives there
  let apiA;
  let apiB;
  let userA;
  let userB;
  let tokenB;
  let thread;
  const clients = [];

  function connect(options) {
    const client = new Pusher(me.pusher.key, {
      wsHost: me.pusher.ws_host,
      wsPort: me.pusher.ws_port,
      forceTLS: false,
      enabledTransports: ['ws'],
      disableStats: true,
      cluster: 'local',
      ...options,
    });
    clients.push(client);
    return client;
  }

  /** Channel authorization for A: POST /pusher/auth with A's session cookie, form-encoded like pusher-js does. */
  function cookieAuthorizer(api) {
    return {
      customHandler: ({ socketId, channelName }, callback) => {
        fetch(`${base}/pusher/auth`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: api.cookie },
          body: new URLSearchParams({ socket_id: socketId, channel_name: channelName }).toString(),
        })
          .then(async (res) => {
            const text = await res.text();
            if (res.status !== 200) {
              callback(new Error(`auth ${res.status}: ${text}`), null);
              return;
            }
            const json = JSON.parse(text);
            callback(null, { auth: json.auth, channel_data: json.channel_data });
          })
          .catch((err) => callback(err, null));
      },
    };
  }

  before(async () => {
    server = await startServer({ logName: 'server-node.log', env: { TYPING_TTL_MS: '3000' } });
    base = server.base;

    // User A signs up (a new team); A makes a contact and its SMS thread.
    ({ api: apiA, user: userA } = await signUp(base, {
      email: 'ann@example.com', password: 'correct-horse-battery-1', name: 'Ann Lee', team_name: 'Pusher Test Team',
    }));
    me = await apiA.expect(200, 'GET', '/api/me');
    assert.ok(me.pusher && me.pusher.key, '/api/me has the pusher config');
    const contact = await apiA.expect(201, 'POST', '/api/contacts', { name: 'Casey Customer', phone: '+14155550123' });
    const forContact = await apiA.request('POST', '/api/threads/for-contact', { contact_id: contact.id, channel: 'sms' });
    assert.ok([200, 201].includes(forContact.status), `POST /api/threads/for-contact → ${forContact.status} ${forContact.text}`);
    thread = forContact.json;
    assert.ok(thread && thread.id, 'for-contact returns the thread summary');

    // User B joins through an invite and makes an API token for programmatic access.
    ({ api: apiB, user: userB } = await joinByInvite(apiA, {
      email: 'ben@example.com', password: 'correct-horse-battery-2', name: 'Ben Ode',
    }, 'agent'));
    tokenB = (await apiB.expect(201, 'POST', '/api/tokens', { name: 'pusher-js test' })).token;
    assert.ok(tokenB, 'POST /api/tokens returns a token');
  });

  after(async () => {
    for (const c of clients) c.disconnect();
    await sleep(100);
    if (server) await server.stop();
  });

  it('subscribes to presence, sees members come and go, and receives thread and client events', { timeout: 90_000 }, async () => {
    const channelName = `presence-thread-${thread.id}`;

    // 1. A connects and subscribes: the member list holds A alone, with A's name.
    const a = connect({ channelAuthorization: cookieAuthorizer(apiA) });
    const chA = a.subscribe(channelName);
    const { data: membersA } = await next(chA, 'pusher:subscription_succeeded');
    assert.equal(a.connection.state, 'connected');
    assert.match(a.connection.socket_id, /^\d+\.\d+$/, 'socket id has Pusher\'s shape');
    assert.equal(membersA.me.id, userA.id);
    assert.equal(membersA.count, 1);
    assert.equal(membersA.get(userA.id).info.name, 'Ann Lee');

    // 2. B connects with pusher-js's own ajax auth (Bearer token): A sees B join.
    const added = next(chA, 'pusher:member_added');
    const b = connect({
      channelAuthorization: { endpoint: `${base}${me.pusher.auth_endpoint || '/pusher/auth'}`, transport: 'ajax', headers: { Authorization: `Bearer ${tokenB}` } },
    });
    const chB = b.subscribe(channelName);
    const { data: membersB } = await next(chB, 'pusher:subscription_succeeded');
    assert.equal(membersB.me.id, userB.id);
    assert.equal(membersB.count, 2, 'B sees A and itself');
    assert.ok(membersB.get(userA.id), 'A is among B\'s members');
    const { data: newMember } = await added;
    assert.equal(newMember.id, userB.id);
    assert.equal(newMember.info.name, 'Ben Ode');
    assert.equal(chA.members.count, 2);

    // 3. A sends a message through the API: both clients get message.created, a ThreadEvent
    //    whose data is the Message.
    const body = `Hello from pusher-js ${randomBytes(3).toString('hex')}`;
    const onA = next(chA, 'message.created', (ev) => ev && ev.data && ev.data.body === body);
    const onB = next(chB, 'message.created', (ev) => ev && ev.data && ev.data.body === body);
    const sent = await apiA.expect(201, 'POST', '/api/messages', { thread_id: thread.id, body });
    for (const { data: ev } of [await onA, await onB]) {
      assert.equal(ev.data.body, body);
      assert.equal(ev.data.id, sent.id);
      assert.equal(ev.thread_id, thread.id);
      assert.equal(ev.type, 'message.created');
      assert.ok(Number.isInteger(ev.seq) && ev.seq > 0, 'events carry a positive seq');
    }

    // 4. Client events: B's typing reaches A with B's user id, and is not echoed to B.
    let echoed = false;
    // (Only B's own `typing: true` would be an echo; the server's expiry notice is its own event.)
    chB.bind('client-typing', (d) => { if (d && d.typing === true) echoed = true; });
    const typing = next(chA, 'client-typing', (d) => d && d.typing === true);
    assert.equal(chB.trigger('client-typing', { typing: true }), true);
    const { data: typingData, meta } = await typing;
    assert.equal(typingData.user_id || (meta && meta.user_id), userB.id);
    // The server expires the typing state (TYPING_TTL_MS=3000) and tells the others.
    const stopped = next(chA, 'client-typing', (d) => d && d.typing === false);
    const startedWaiting = Date.now();
    const { data: stopData, meta: stopMeta } = await stopped;
    assert.equal(stopData.user_id || (stopMeta && stopMeta.user_id), userB.id);
    assert.ok(Date.now() - startedWaiting < 10_000, 'typing expires within a few seconds');
    assert.equal(echoed, false, 'a client event is never echoed to its sender');

    // 5. The catch-up endpoint returns the same event for a client that missed it.
    const missed = await apiA.expect(200, 'GET', `/api/threads/${thread.id}/events?after=0`);
    assert.ok(missed.events.some((e) => e.type === 'message.created' && e.data.id === sent.id));

    // 6. B leaves: A sees member_removed.
    const removed = next(chA, 'pusher:member_removed');
    b.disconnect();
    const { data: gone } = await removed;
    assert.equal(gone.id, userB.id);
    assert.equal(chA.members.count, 1);
  });

  it('refuses channel authorization without credentials and for another user\'s private channel', { timeout: 60_000 }, async () => {
    // No credentials: the auth endpoint refuses, pusher-js reports a subscription error.
    const anon = connect({ channelAuthorization: { endpoint: `${base}/pusher/auth`, transport: 'ajax' } });
    const chAnon = anon.subscribe(`presence-thread-${thread.id}`);
    const { data: err } = await next(chAnon, 'pusher:subscription_error');
    assert.ok([401, 403].includes(err.status), `expected 401/403, got ${JSON.stringify(err)}`);

    // A cannot listen to B's private channel.
    const a2 = connect({ channelAuthorization: cookieAuthorizer(apiA) });
    const chOther = a2.subscribe(`private-user-${userB.id}`);
    await next(chOther, 'pusher:subscription_error');
    // But A's own private channel works.
    const chOwn = a2.subscribe(`private-user-${userA.id}`);
    await next(chOwn, 'pusher:subscription_succeeded');
  });
});
