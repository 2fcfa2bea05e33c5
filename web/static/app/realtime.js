// The realtime connection: one pusher-js client (the vendored classic script, window.Pusher)
// against the server's Pusher-protocol gateway, the connection state shown in the top bar, and
// the hooks that resync a page after the socket comes back. What each page subscribes to lives
// with that page (sync.js for the inbox, settings.js, dashboard.js). When the server closes the
// socket with 4009 (this user's access changed: signed out elsewhere, deactivated, removed, role
// changed), pusher-js does not reconnect; the page asks /api/me: signed out goes to sign-in,
// still signed in (a new role) reloads with the new rights.

import { toSignIn } from './api.js';
import { boot } from './session.js';
import { openId, seqs } from './state.js';

/** The page's pusher-js client once connect() ran (null without realtime). A live binding. */
export let pusher = null;
let everConnected = false;
let wasDown = false;
let leaving = false;
const reconnectHooks = [];

/** The close code the server uses when this user's access changed. */
const ACCESS_CHANGED = 4009;
/** A reload for a changed access happens at most once per this many ms (no reload loop). */
const RELOAD_GUARD_MS = 15_000;

/** Disconnects on purpose (signing out): the close that follows is not an access change. */
export function leave() {
  leaving = true;
  if (pusher) pusher.disconnect();
}

async function accessChanged() {
  let res;
  try {
    res = await fetch('/api/me', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  } catch (_) {
    return; // offline: the state label says so, and the next page load will tell
  }
  if (res.status === 401 || res.status === 403) {
    toSignIn();
    return;
  }
  const last = Number(sessionStorage.getItem('sb-access-reload') || 0);
  if (Date.now() - last < RELOAD_GUARD_MS) return;
  sessionStorage.setItem('sb-access-reload', String(Date.now()));
  window.location.reload();
}

/** Runs `fn` each time the socket is connected again after being down. */
export function onReconnect(fn) {
  reconnectHooks.push(fn);
}

export function pusherAvailable() {
  return !!(window.Pusher && boot.pusher && boot.pusher.key);
}

/** Opens the page's connection (sets `pusher`) and returns it, or null without realtime. */
export function connect() {
  pusher = connectPusher();
  return pusher;
}

function connectPusher() {
  if (!window.Pusher || !boot.pusher || !boot.pusher.key) return null;
  const p = new window.Pusher(boot.pusher.key, {
    wsHost: boot.pusher.ws_host,
    wsPort: boot.pusher.ws_port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    cluster: 'local',
    channelAuthorization: { endpoint: boot.pusher.auth_endpoint || '/pusher/auth', transport: 'ajax' },
  });
  p.connection.bind('error', (err) => {
    const code = err && err.data && err.data.code;
    if (code === ACCESS_CHANGED && !leaving) accessChanged();
  });
  const stateEl = document.getElementById('connection-state');
  p.connection.bind('state_change', (states) => {
    const current = states.current;
    if (stateEl) {
      const label = { connecting: everConnected ? 'Reconnecting…' : 'Connecting…', unavailable: 'Offline, retrying…', disconnected: 'Disconnected', failed: 'Realtime unavailable' }[current];
      stateEl.textContent = label || '';
      stateEl.dataset.state = current;
    }
    if (current === 'connected') {
      if (everConnected && wasDown) {
        wasDown = false;
        for (const fn of reconnectHooks) {
          try {
            fn();
          } catch (_) { /* one failing resync must not stop the others */ }
        }
      }
      everConnected = true;
    } else if (everConnected && (current === 'unavailable' || current === 'disconnected' || current === 'connecting' || current === 'failed')) {
      wasDown = true;
    }
  });
  return p;
}

/** A read-only handle for debugging in the console and for the browser tests (reconnects). */
export function exposeDebugHandle() {
  window.switchboard = Object.freeze({
    get pusher() { return pusher; },
    get openThreadId() { return openId; },
    seq(threadId) { return seqs.get(threadId) || 0; },
  });
}
