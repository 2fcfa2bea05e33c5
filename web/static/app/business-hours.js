// Business hours: the inbox's "Outside business hours" badge and the settings page's card.
//
// The badge reads `GET /api/automation/hours` ({open, next_change_at}) on load, again at the
// next change (a timer set from the server's answer: the server knows the team's time zone,
// holidays and DST) and whenever an admin changes the hours (`business_hours.changed` on the
// team channel, any node). The card (admins) edits the time zone, each day's hours (one or more
// `HH:MM–HH:MM` intervals), holidays, and the out-of-hours and first-message replies.

import { api } from './api.js';
import { h, toast } from './dom.js';
import { pusher } from './realtime.js';
import { me, team } from './session.js';

const DAYS = [['mon', 'Monday'], ['tue', 'Tuesday'], ['wed', 'Wednesday'], ['thu', 'Thursday'], ['fri', 'Friday'], ['sat', 'Saturday'], ['sun', 'Sunday']];
/** Longest a timer waits before asking again (a browser may sleep through a longer one). */
const MAX_WAIT_MS = 6 * 3600 * 1000;

function teamChannel() {
  return pusher ? pusher.subscribe(`presence-team-${team.id || me.team_id}`) : null;
}

/** Shows the hours on the inbox's badge (set by `buildHoursBadge`). */
let showOnBadge = null;

/** The inbox's badge: hidden while open; "Outside business hours" while closed. Live once
 * `bindHoursBadge` has run (after the socket connects). */
export function buildHoursBadge() {
  const badge = h('p', { class: 'hours-badge', role: 'status', hidden: true, 'data-testid': 'outside-hours' }, 'Outside business hours');
  let timer = null;
  const show = (view) => {
    badge.hidden = !view || view.open !== false;
    clearTimeout(timer);
    if (view && view.next_change_at) {
      const wait = Math.min(Math.max(new Date(view.next_change_at) - Date.now(), 0) + 1000, MAX_WAIT_MS);
      timer = setTimeout(load, wait);
    }
  };
  async function load() {
    try {
      show(await api('GET', '/api/automation/hours'));
    } catch (err) {
      if (err.status !== 401) timer = setTimeout(load, 60000);
    }
  }
  showOnBadge = show;
  load();
  return badge;
}

/** Follows an admin's change of the hours on the team channel (the inbox calls it once connected). */
export function bindHoursBadge() {
  const ch = teamChannel();
  if (ch && showOnBadge) ch.bind('business_hours.changed', (view) => showOnBadge(view));
}

/** `"09:00–12:00, 13:00–17:00"` ↔ `[{start, end}]`. */
function formatDay(intervals) {
  return (intervals || []).map((i) => `${i.start}–${i.end}`).join(', ');
}

function parseDay(text) {
  return text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const [start, end] = s.split(/\s*[–-]\s*/);
    return { start: (start || '').trim(), end: (end || '').trim() };
  });
}

/** The settings card: {el, load(), bind(channel)}. */
export function hoursCard() {
  const enabled = h('input', { type: 'checkbox', id: 'hours-enabled', 'data-testid': 'hours-enabled' });
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const zoneList = h('datalist', { id: 'hours-zones' }, zones.map((z) => h('option', { value: z })));
  const zone = h('input', { type: 'text', id: 'hours-zone', list: 'hours-zones', autocomplete: 'off', 'data-testid': 'hours-zone' });
  const days = Object.fromEntries(DAYS.map(([key]) => [key, h('input', { type: 'text', id: `hours-${key}`, placeholder: 'closed', autocomplete: 'off', 'data-testid': `hours-${key}` })]));
  const holidays = h('input', { type: 'text', id: 'hours-holidays', placeholder: '2026-12-25, 2027-01-01', autocomplete: 'off', 'data-testid': 'hours-holidays' });
  const ooh = h('textarea', { id: 'hours-ooh', rows: 2, maxlength: 1600, placeholder: 'Thanks {{contact.first_name}}, we are closed now and will answer when we open.', 'data-testid': 'hours-ooh-reply' });
  const oohHours = h('input', { type: 'number', id: 'hours-ooh-period', min: 1, max: 720, value: 12, 'data-testid': 'hours-ooh-period' });
  const first = h('textarea', { id: 'hours-first', rows: 2, maxlength: 1600, placeholder: 'Hi {{contact.first_name}}, thanks for your message!', 'data-testid': 'hours-first-reply' });
  const firstHours = h('input', { type: 'number', id: 'hours-first-period', min: 1, max: 720, value: 24, 'data-testid': 'hours-first-period' });
  const state = h('p', { class: 'small', 'data-testid': 'hours-state' });
  const status = h('p', { class: 'form-note', role: 'status', 'data-testid': 'hours-status' });
  const save = h('button', { type: 'submit', class: 'primary', 'data-testid': 'hours-save' }, 'Save');

  function show(v) {
    enabled.checked = !!v.enabled;
    zone.value = v.time_zone || 'UTC';
    for (const [key] of DAYS) days[key].value = formatDay((v.weekly || {})[key]);
    holidays.value = (v.holidays || []).join(', ');
    ooh.value = v.out_of_hours_reply || '';
    oohHours.value = v.out_of_hours_reply_hours || 12;
    first.value = v.first_message_reply || '';
    firstHours.value = v.first_message_reply_hours || 24;
    state.textContent = !v.enabled ? 'No business hours: always open.' : v.open ? 'Open now.' : 'Outside business hours now.';
  }

  const form = h('form', { class: 'stack', novalidate: true, 'data-testid': 'hours-form', onsubmit: async (e) => {
    e.preventDefault();
    status.textContent = '';
    status.classList.remove('error');
    save.disabled = true;
    try {
      const body = {
        enabled: enabled.checked,
        time_zone: zone.value.trim(),
        weekly: Object.fromEntries(DAYS.map(([key]) => [key, parseDay(days[key].value)])),
        holidays: holidays.value.split(',').map((s) => s.trim()).filter(Boolean),
        out_of_hours_reply: ooh.value.trim() || null,
        out_of_hours_reply_hours: Number(oohHours.value) || 12,
        first_message_reply: first.value.trim() || null,
        first_message_reply_hours: Number(firstHours.value) || 24,
      };
      show(await api('PUT', '/api/automation/hours', body));
      status.textContent = 'Saved.';
    } catch (err) {
      status.textContent = err.message;
      status.classList.add('error');
    } finally {
      save.disabled = false;
    }
  } },
  h('label', { class: 'check' }, enabled, ' Use business hours'),
  h('label', { for: 'hours-zone' }, 'Time zone'), zone, zoneList,
  h('p', { class: 'muted small' }, 'Hours are the team’s local time, e.g. 09:00–17:00 or 09:00–12:00, 13:00–17:00; empty is closed all day.'),
  h('div', { class: 'grid-form' }, DAYS.map(([key, name]) => [h('label', { for: `hours-${key}` }, name), days[key]])),
  h('label', { for: 'hours-holidays' }, 'Holidays (closed all day)'), holidays,
  h('label', { for: 'hours-ooh' }, 'Out-of-hours reply'), ooh,
  h('label', { class: 'small' }, 'At most once per contact every ', oohHours, ' hours'),
  h('label', { for: 'hours-first' }, 'First-message reply'), first,
  h('label', { class: 'small' }, 'At most once per contact every ', firstHours, ' hours'),
  state, save, status);

  const el = h('section', { class: 'card', 'aria-labelledby': 'hours-title', 'data-testid': 'hours-card' },
    h('h2', { id: 'hours-title' }, 'Business hours'),
    h('p', { class: 'muted small' }, 'Outside these hours the inbox says so and a customer’s message gets the out-of-hours reply; in hours, the first message of a conversation gets the first-message reply.'),
    form);
  return {
    el,
    async load() {
      try {
        show(await api('GET', '/api/automation/hours'));
      } catch (err) {
        toast(`Could not load business hours: ${err.message}`, { kind: 'error' });
      }
    },
    bind(channel) {
      channel.bind('business_hours.changed', (v) => { if (v) show(v); });
    },
  };
}
