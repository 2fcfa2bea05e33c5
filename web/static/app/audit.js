// The admin's audit log page: every security-relevant act of the team, newest first (sign-ins and
// failures, sign-outs, tokens, invites, role changes, deactivations, channels, exports, contact
// deletes), each with who did it, to what, from which address and browser, and when. Pages
// through GET /api/audit with its keyset cursor ("Show older").

import { api } from './api.js';
import { h, timeEl } from './dom.js';
import { fullTime } from './format.js';
import { keysetPager } from './pager.js';
import { isAdmin, loadMembers, main, members } from './session.js';

/** Readable names of the actions the server records; unknown ones show as recorded. */
const ACTIONS = {
  'sign_in.succeeded': 'Signed in',
  'sign_in.failed': 'Failed sign-in',
  sign_out: 'Signed out',
  'user.created': 'Account created',
  'token.created': 'API token created',
  'token.revoked': 'API token revoked',
  'invite.created': 'Invite created',
  'invite.resent': 'Invite re-sent',
  'invite.revoked': 'Invite revoked',
  'invite.accepted': 'Invite accepted',
  'member.role_changed': 'Role changed',
  'member.deactivated': 'Member deactivated',
  'member.reactivated': 'Member reactivated',
  'member.removed': 'Member removed',
  'channel.created': 'Channel added',
  'channel.deleted': 'Channel deleted',
  'messages.exported': 'Messages exported',
  'contact.deleted': 'Contact deleted',
};

/** A short browser name out of a user agent, the whole string as its title. */
function browserOf(ua) {
  if (!ua) return '';
  const m = ua.match(/(Edg|Firefox|Chrome|Chromium|Safari|curl|python-requests|node|reqwest)\/[\d.]+/i);
  return m ? m[0].split('.')[0] : ua.slice(0, 40);
}

/** The target by name where one is known (a member, or the name/email the entry recorded). */
function describeTarget(e) {
  if (!e.target_type) return '—';
  const d = e.details || {};
  if (e.target_type === 'user' && e.target_id && members.has(e.target_id)) return members.get(e.target_id).name;
  if (e.target_type === 'user' && (d.name || d.email)) return d.name || d.email;
  if (e.target_type === 'invite') return `Invite ${d.email ? `for ${d.email}` : '(link)'}`;
  return `${e.target_type}${e.target_id ? ` ${e.target_id.slice(0, 8)}` : ''}`;
}

/** `key: value` pairs; *_at values (seconds since the epoch or RFC 3339) as local dates. */
function detailsText(details) {
  if (!details || typeof details !== 'object') return '';
  return Object.entries(details).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => {
    if (k.endsWith('_at')) return `${k.replace(/_at$/, '').replace(/_/g, ' ')}: ${fullTime(typeof v === 'number' ? new Date(v * 1000).toISOString() : v)}`;
    return `${k.replace(/_/g, ' ')}: ${typeof v === 'object' ? JSON.stringify(v) : v}`;
  }).join(', ');
}

export async function startAudit() {
  if (!isAdmin) {
    main.replaceChildren(h('div', { class: 'settings' }, h('h1', null, 'Audit log'), h('p', null, 'Only admins can read the audit log.')));
    return;
  }
  const body = h('tbody', { 'data-testid': 'audit-rows' });
  const empty = h('p', { class: 'muted', hidden: true, 'data-testid': 'audit-empty' }, 'Nothing recorded yet.');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true, 'data-testid': 'audit-more' }, 'Show older');

  const row = (e) => h('tr', { 'data-testid': 'audit-row', 'data-action': e.action, 'data-id': String(e.id) },
    h('td', null, timeEl(e.created_at, fullTime(e.created_at))),
    h('td', null, e.actor_name || (e.actor_id ? 'former member' : h('span', { class: 'muted' }, 'nobody signed in'))),
    h('td', null, h('span', { class: 'audit-action', title: e.action }, ACTIONS[e.action] || e.action)),
    h('td', null, describeTarget(e)),
    h('td', { class: 'mono small' }, e.ip || '—', e.user_agent ? h('span', { class: 'muted', title: e.user_agent }, ` · ${browserOf(e.user_agent)}`) : null),
    h('td', { class: 'small' }, detailsText(e.details)));

  const load = keysetPager({ path: '/api/audit?limit=50', body, empty, more, row, what: 'the audit log' });

  main.replaceChildren(h('div', { class: 'settings', 'data-testid': 'audit' },
    h('h1', null, 'Audit log'),
    h('p', { class: 'muted' }, h('a', { href: '/settings' }, '← Settings'), ' · Newest first. Kept for the life of the team.'),
    h('section', { class: 'card' },
      h('div', { class: 'table-wrap' }, h('table', { class: 'audit-table' },
        h('caption', { class: 'sr-only' }, 'Audit log'),
        h('thead', null, h('tr', null, ...['When', 'Who', 'What', 'Target', 'From', 'Details'].map((x) => h('th', { scope: 'col' }, x)))),
        body)),
      empty, more)));
  await loadMembers();
  await load();
}
