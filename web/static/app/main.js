// Switchboard agent app, entry point: draws the shared top bar, then starts the page the server
// rendered (data-page on <body>): the team inbox (thread list, open thread, contact + notes panel),
// the team dashboard (live numbers, who is online, CSV export) or the admin settings page.
// Native ES modules, no build step; realtime through the vendored pusher-js (a classic script
// loaded before this module, used as window.Pusher) against the server's Pusher-protocol gateway.
// The HTTP + realtime contract is docs/api.md.
//
// Realtime model, in short:
// - presence-team-{team}: thread.created / thread.updated (a ThreadSummary) keep the inbox list live
//   and make the dashboard refetch its numbers; its members are who is online.
// - presence-thread-{thread}: viewers (presence members), typing (client-typing) and the thread's
//   events (ThreadEvent with a per-thread seq). Everything is applied as an idempotent upsert keyed
//   by message / note id, so the tab that made a change and the socket event never show it twice.
// - private-user-{me}: my private notes, read markers from my other tabs, mentions.
// After a reconnect the open thread asks /events?after={highest seq} and the inbox is reloaded.
//
// Modules: session (boot data, members), api, realtime (the connection), header, and per page:
// inbox (start + thread list), thread, messages, composer, presence, contact, notes, sync
// (inbox subscriptions + catch-up), simulator; settings; dashboard. Helpers: dom, format.
// The inbox's modules share state.js and call each other only after start-up, never while loading.

import { startDashboard } from './dashboard.js';
import { renderHeader } from './header.js';
import { startInbox } from './inbox.js';
import { page } from './session.js';
import { startSettings } from './settings.js';

renderHeader();
if (page === 'settings') startSettings();
else if (page === 'dashboard') startDashboard();
else startInbox();
