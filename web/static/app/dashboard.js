// The team dashboard: conversation, message and quality numbers from /api/analytics/summary,
// refreshed live (coalesced, at most one request per 2 s) when the team channel reports thread
// changes, who is online from the team's presence channel, and (for admins: exporting every
// message is an admin's act, audited) the CSV export link.

import { api } from './api.js';
import { avatar, h } from './dom.js';
import { fmtCount, fmtDuration, fmtRate } from './format.js';
import { connect, exposeDebugHandle, onReconnect, pusher, pusherAvailable } from './realtime.js';
import { isAdmin, main, me, team } from './session.js';

/** Most one summary request per this many ms, however busy the team channel is. */
const DASHBOARD_MIN_INTERVAL = 2000;

export async function startDashboard() {
  const values = {};
  /** One labelled number: <dt> label, <dd> value (data-testid stat-{key}), optional <dd> hint. */
  const stat = (key, label, hint) => {
    values[key] = h('dd', { class: 'stat-value', 'data-testid': `stat-${key}` }, '…');
    if (hint) values[`${key}:hint`] = h('dd', { class: 'stat-hint', 'data-testid': `stat-${key}-hint` }, hint);
    return h('div', { class: 'stat' }, h('dt', { class: 'stat-label' }, label), values[key], hint ? values[`${key}:hint`] : null);
  };
  const section = (id, title, ...body) => h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...body);

  const updated = h('p', { class: 'muted small dash-updated', 'data-testid': 'dashboard-updated' }, 'Loading…');
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'dashboard-error' });
  const onlineList = h('ul', { class: 'online-list', 'data-testid': 'online-members', 'aria-label': 'Online now' });
  const onlineNote = h('p', { class: 'muted small', 'data-testid': 'online-empty' }, pusherAvailable() ? 'Connecting…' : 'Realtime is unavailable.');

  main.replaceChildren(h('div', { class: 'dashboard', 'data-testid': 'dashboard' },
    h('div', { class: 'dash-head' },
      h('div', null, h('h1', null, 'Dashboard'), updated),
      isAdmin ? h('a', { class: 'button secondary', href: '/api/analytics/export.csv?days=30', download: 'switchboard-messages.csv', 'data-testid': 'csv-link' },
        h('span', { 'aria-hidden': 'true' }, '⤓ '), 'Download CSV (last 30 days)') : null),
    error,
    section('dash-threads', 'Conversations',
      h('dl', { class: 'stats' },
        stat('open', 'Open'), stat('pending', 'Pending'), stat('resolved', 'Resolved'), stat('snoozed', 'Snoozed'),
        stat('unread', 'Unread'), stat('unassigned', 'Unassigned open'))),
    h('div', { class: 'dash-grid' },
      section('dash-messages', 'Messages',
        h('dl', { class: 'stats' },
          stat('inbound', 'Received', 'last 24 h'), stat('outbound', 'Sent', 'last 24 h'), stat('scheduled', 'Scheduled', 'waiting to go out'))),
      section('dash-quality', 'Last 7 days',
        h('dl', { class: 'stats' },
          stat('delivery', 'Delivery rate', ' '),
          stat('median', 'First response, median', 'half answered within this'),
          stat('p90', 'First response, p90', '9 in 10 answered within this')))),
    section('dash-online', 'Online now',
      h('div', { class: 'online-wrap' },
        h('dl', { class: 'stats stats-single' }, stat('online', 'Agents online')),
        h('div', { class: 'online-people' }, onlineList, onlineNote)))));

  let summary = null;
  let presence = null; // [{id, name, role}] once the team channel is subscribed

  function setValue(key, text) {
    const el = values[key];
    if (!el || el.textContent === text) return;
    const first = el.textContent === '…';
    el.textContent = text;
    if (!first) {
      // A short highlight so a change that arrives live is noticed.
      el.classList.remove('bumped');
      void el.offsetWidth;
      el.classList.add('bumped');
    }
  }

  function render() {
    if (summary) {
      const t = summary.threads || {};
      const m = summary.messages_24h || {};
      const d = summary.delivery_7d || {};
      const f = summary.first_response_7d || {};
      setValue('open', fmtCount(t.open));
      setValue('pending', fmtCount(t.pending));
      setValue('resolved', fmtCount(t.resolved));
      setValue('snoozed', fmtCount(t.snoozed));
      setValue('unread', fmtCount(t.unread));
      setValue('unassigned', fmtCount(t.unassigned_open));
      setValue('inbound', fmtCount(m.inbound));
      setValue('outbound', fmtCount(m.outbound));
      setValue('scheduled', fmtCount(summary.scheduled_pending));
      setValue('delivery', fmtRate(d.rate));
      values['delivery:hint'].textContent = typeof d.delivered === 'number'
        ? `${fmtCount(d.delivered)} delivered · ${fmtCount(d.failed)} failed`
        : '';
      setValue('median', fmtDuration(f.median_seconds));
      setValue('p90', fmtDuration(f.p90_seconds));
    }
    // Who is online: the live presence roster when we have it (it also counts other server
    // nodes), else the server's number.
    if (presence) setValue('online', fmtCount(presence.length));
    else if (summary) setValue('online', fmtCount(summary.online_agents));
  }

  function renderPresence() {
    if (!presence) return;
    const people = presence.slice().sort((a, b) => (a.id === me.id ? -1 : b.id === me.id ? 1 : a.name.localeCompare(b.name)));
    onlineList.replaceChildren(...people.map((p) => h('li', { class: 'online-member', 'data-testid': 'online-member', 'data-user-id': p.id },
      h('span', { class: 'online-avatar' }, avatar(p.id, p.name), h('span', { class: 'online-dot', 'aria-hidden': 'true' })),
      h('span', { class: 'online-text' },
        h('span', { class: 'online-name' }, p.name, p.id === me.id ? h('span', { class: 'muted' }, ' (you)') : null),
        p.role ? h('span', { class: `role-tag role-${p.role}` }, p.role) : null))));
    onlineNote.textContent = people.length ? '' : 'Nobody is online right now.';
    onlineNote.hidden = people.length > 0;
    render();
  }

  // --- the numbers: at most one request per DASHBOARD_MIN_INTERVAL, never two at once
  let lastLoad = 0;
  let timer = null;
  let inflight = false;
  let again = false;

  async function load() {
    if (inflight) {
      again = true;
      return;
    }
    inflight = true;
    lastLoad = Date.now();
    try {
      summary = await api('GET', '/api/analytics/summary');
      error.hidden = true;
      render();
      updated.textContent = `Updated ${new Date().toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })}`;
    } catch (err) {
      if (err.status !== 401) {
        error.textContent = `Could not load the numbers: ${err.message}`;
        error.hidden = false;
        if (!summary) updated.textContent = '';
      }
    } finally {
      inflight = false;
      if (again) {
        again = false;
        scheduleLoad();
      }
    }
  }

  /** Coalesces bursts of events into one refresh, and spaces refreshes at least 2 s apart. */
  function scheduleLoad() {
    if (timer) return;
    const wait = Math.max(250, lastLoad + DASHBOARD_MIN_INTERVAL - Date.now());
    timer = setTimeout(() => {
      timer = null;
      load();
    }, wait);
  }

  connect();
  exposeDebugHandle();
  if (pusher) {
    const teamCh = pusher.subscribe(`presence-team-${team.id || me.team_id}`);
    teamCh.bind('thread.created', scheduleLoad);
    teamCh.bind('thread.updated', scheduleLoad);
    teamCh.bind('thread.deleted', scheduleLoad);
    const readMembers = () => {
      const list = [];
      if (teamCh.members) {
        teamCh.members.each((m) => {
          const info = m.info || {};
          list.push({ id: m.id, name: info.name || 'Someone', role: info.role || '' });
        });
      }
      presence = list;
      renderPresence();
    };
    teamCh.bind('pusher:subscription_succeeded', readMembers);
    teamCh.bind('pusher:member_added', readMembers);
    teamCh.bind('pusher:member_removed', readMembers);
    teamCh.bind('pusher:subscription_error', () => {
      onlineNote.textContent = 'Could not join the team channel: who is online is unknown.';
      onlineNote.hidden = false;
    });
    // Events missed while offline: fetch fresh numbers once back.
    onReconnect(scheduleLoad);
  }
  // The 24 h and 7 day windows move on even when nothing happens.
  setInterval(scheduleLoad, 60000);
  await load();
}
