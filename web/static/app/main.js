// Switchboard agent app, entry point: draws the shared top bar, then starts the page the server
// rendered (data-page on <body>): the team inbox (thread list, open thread, contact + notes panel),
// the contacts page (table, detail panel, bulk actions, "New conversation" from a contact),
// the team dashboard (live numbers, who is online, CSV export), the canned replies (the team's and
// one's own), the admin settings page (channels, members, invites) or the admin's audit log.
// Native ES modules, no build step; realtime through the vendored pusher-js (a classic script
// loaded before this module, used as window.Pusher) against the server's Pusher-protocol gateway.
// The HTTP + realtime contract is docs/api.md.
//
// Realtime model, in short:
// - presence-team-{team}: thread.created / thread.updated (a ThreadSummary) keep the inbox list live
//   and make the dashboard refetch its numbers; thread.deleted drops a row (a contact was deleted
//   with its threads); its members are who is online.
// - presence-thread-{thread}: viewers (presence members), typing (client-typing) and the thread's
//   events (ThreadEvent with a per-thread seq; contact.updated carries the contact, for the card,
//   the header and the opt-out banner). Everything is applied as an idempotent upsert keyed by
//   message / note id, so the tab that made a change and the socket event never show it twice.
//   thread.deleted here too: the open view closes with a notice.
// - private-user-{me}: my private notes, read markers and unread marks (thread.unread) from my
//   other tabs, mentions, and my stored notifications (notification.created / .read /
//   .preferences: the bell, every page).
// - label.changed / label.deleted on the team channel: chips, filters and pickers follow.
// - reply.changed / reply.deleted: a team canned reply on the team channel, a personal one on its
//   owner's user channel; the composer's picker and the Replies page follow them.
// After a reconnect the open thread asks /events?after={highest seq} and the inbox is reloaded.
//
// Modules, and the one direction of their imports: each module imports only modules listed
// before it, so there is no import cycle (tests/node/module-graph.test.mjs checks it).
//   helpers      format, fuzzy, api, events (a local pub/sub), state (the inbox's shared state)
//                ← dom ← pager (keyset lists) ← session (boot data, members) ← realtime (the connection)
//                ← phone (vendored libphonenumber-js: as-you-type, E.164, display)
//                ← new-conversation (the dialog), contact-form (create / edit dialog)
//   inbox parts  labels (the team's labels, chips, the picker; priorities), messages, notes,
//                presence, simulator, thread-header, replies-picker (the composer's "/" list of
//                canned replies), triage (tabs with counts, label/priority filters, order),
//                bulk (ticked rows and their actions), search-results (hits in message text)
//                ← list (the thread list, unread badges, read markers) ← keyboard (j/k/e/a/l/?)
//                ← composer, contact (the contact card)
//                ← sync (the thread's and team/user channels, catch-up)
//                ← thread (the open conversation)
//   pages        inbox (start-up and wiring), contact-detail, contacts-bulk ← contacts (the page),
//                dashboard, members (settings' team cards) ← settings,
//                audit, security (two-factor), replies (the canned replies page),
//                notifications (the bell) ← header (the top bar)
//                ← main (this file)
// A call the other way goes through events.js, never an import: a thread row's click, the
// composer's channel switch and a mention's "Open" emit 'open-thread', which inbox.js subscribes
// to thread.js's openThread; sync's thread.deleted emits 'thread-deleted', which inbox.js
// subscribes to thread.js's closeDeletedThread.

import { startAudit } from './audit.js';
import { startCampaigns } from './campaigns.js';
import { startContacts } from './contacts.js';
import { startDashboard } from './dashboard.js';
import { renderHeader } from './header.js';
import { startInbox } from './inbox.js';
import { startReplies } from './replies.js';
import { startSecurity } from './security.js';
import { page } from './session.js';
import { startSettings } from './settings.js';

renderHeader();
if (page === 'settings') startSettings();
else if (page === 'audit') startAudit();
else if (page === 'security') startSecurity();
else if (page === 'dashboard') startDashboard();
else if (page === 'replies') startReplies();
else if (page === 'contacts') startContacts();
else if (page === 'campaigns') startCampaigns();
else startInbox();
