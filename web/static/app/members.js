// The settings page's team administration: the members table (who is online, role, deactivate,
// reactivate, remove; deactivating or removing asks whether their conversations stay assigned or
// go back to Unassigned) and the open invites (who made them, when they expire, re-send, revoke).
// The server enforces the rules (admins only, the last admin stays, nobody removes themselves);
// this view shows its answer. Changes made in another tab or by another admin arrive on the team
// channel (member.updated, member.removed) and redraw the row.

import { api } from './api.js';
import { avatar, h, timeEl, toast } from './dom.js';
import { fullTime } from './format.js';
import { keysetPager } from './pager.js';
import { allMembersList, loadMembers, me, members } from './session.js';

const when = (iso) => timeEl(iso, iso ? new Date(iso).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' }) : '—');

/**
 * Asks how a deactivation or removal treats the member's conversations: resolves to 'keep',
 * 'unassign', or null when the admin cancels.
 */
function confirmOffboarding(m, verb) {
  return new Promise((resolve) => {
    const keep = h('input', { type: 'radio', name: 'threads', value: 'keep', id: 'off-keep', checked: true, 'data-testid': 'offboard-keep' });
    const unassign = h('input', { type: 'radio', name: 'threads', value: 'unassign', id: 'off-unassign', 'data-testid': 'offboard-unassign' });
    const dialog = h('dialog', { class: 'dialog', 'data-testid': 'offboard-dialog', 'aria-labelledby': 'off-title' },
      h('form', { method: 'dialog' },
        h('h2', { id: 'off-title' }, `${verb === 'remove' ? 'Remove' : 'Deactivate'} ${m.name}?`),
        h('p', null, verb === 'remove'
          ? `${m.name} leaves the team: they are signed out everywhere and can no longer sign in. Their messages and notes stay, signed with their name.`
          : `${m.name} is signed out everywhere and cannot sign in until reactivated. Their messages and notes stay.`),
        h('fieldset', null, h('legend', null, 'Their assigned conversations'),
          h('label', { for: 'off-keep', class: 'radio' }, keep, ' Keep them assigned to ', m.name),
          h('label', { for: 'off-unassign', class: 'radio' }, unassign, ' Move them to Unassigned')),
        h('div', { class: 'row dialog-actions' },
          h('button', { type: 'submit', value: 'cancel', class: 'secondary', 'data-testid': 'offboard-cancel' }, 'Cancel'),
          h('button', { type: 'submit', value: 'ok', class: 'danger', 'data-testid': 'offboard-confirm' }, verb === 'remove' ? 'Remove' : 'Deactivate'))));
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'ok' ? (unassign.checked ? 'unassign' : 'keep') : null);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Shows a reset link an admin made, to hand over (it works once, for a day). */
function showResetLink(m, res) {
  const field = h('input', { type: 'text', readonly: true, value: res.url, class: 'mono', 'data-testid': 'reset-link-url', 'aria-label': 'Reset link' });
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'reset-link-title', 'data-testid': 'reset-link-dialog' },
    h('form', { method: 'dialog' },
      h('h2', { id: 'reset-link-title' }, `Reset link for ${m.name}`),
      h('p', null, `Give this link to ${m.name} in person or over a channel you trust. It works once, until ${fullTime(res.expires_at)}; using it signs ${m.name} out everywhere.`),
      field,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'secondary', onclick: async () => {
          try {
            await navigator.clipboard.writeText(res.url);
            toast('Link copied.');
          } catch (_) {
            field.select();
          }
        } }, 'Copy'),
        h('button', { type: 'submit', class: 'primary', 'data-testid': 'reset-link-close' }, 'Done'))));
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  field.select();
}

/** The members card: returns {el, load, refreshOnline(teamChannel), bindLive(teamChannel)}. */
export function membersCard() {
  const body = h('tbody', { 'data-testid': 'members' });
  let online = new Set();

  const status = (m) => (!m.active
    ? h('span', { class: 'badge badge-off', 'data-testid': 'member-deactivated', title: fullTime(m.deactivated_at) }, 'Deactivated')
    : online.has(m.id) ? h('span', { class: 'online' }, '● online') : h('span', { class: 'muted' }, 'offline'));

  async function act(m, method, path, body, done) {
    try {
      const res = await api(method, path, body);
      toast(done(res));
      await load();
    } catch (err) {
      toast(err.message, { kind: 'error' });
      await load();
    }
  }

  const moved = (res) => (res && res.unassigned ? ` ${res.unassigned} conversation${res.unassigned === 1 ? '' : 's'} moved to Unassigned.` : '');

  function row(m) {
    const self = m.id === me.id;
    const roleCell = self || !m.active
      ? h('span', { class: `role-tag role-${m.role}` }, m.role)
      : h('select', { 'data-testid': 'member-role', 'aria-label': `Role of ${m.name}`, onchange: (e) => act(m, 'PATCH', `/api/team/members/${encodeURIComponent(m.id)}`, { role: e.target.value }, () => `${m.name} is now ${e.target.value === 'admin' ? 'an admin' : 'an agent'}.`) },
        h('option', { value: 'agent', selected: m.role === 'agent' }, 'Agent'),
        h('option', { value: 'admin', selected: m.role === 'admin' }, 'Admin'));
    const actions = self ? [h('span', { class: 'muted small' }, 'you')] : [
      m.active
        ? h('button', { type: 'button', class: 'link', 'data-testid': 'member-deactivate', onclick: async () => {
          const threads = await confirmOffboarding(m, 'deactivate');
          if (threads) await act(m, 'PATCH', `/api/team/members/${encodeURIComponent(m.id)}`, { active: false, threads }, (res) => `${m.name} was deactivated.${moved(res)}`);
        } }, 'Deactivate')
        : h('button', { type: 'button', class: 'link', 'data-testid': 'member-reactivate', onclick: () => act(m, 'PATCH', `/api/team/members/${encodeURIComponent(m.id)}`, { active: true }, () => `${m.name} can sign in again.`) }, 'Reactivate'),
      m.active ? h('button', { type: 'button', class: 'link', 'data-testid': 'member-reset-link', title: 'Make a link that lets them choose a new password', onclick: async () => {
        try {
          showResetLink(m, await api('POST', `/api/team/members/${encodeURIComponent(m.id)}/password-reset`));
        } catch (err) {
          toast(err.message, { kind: 'error' });
        }
      } }, 'Reset link') : null,
      h('button', { type: 'button', class: 'link danger', 'data-testid': 'member-remove', onclick: async () => {
        const threads = await confirmOffboarding(m, 'remove');
        if (threads) await act(m, 'DELETE', `/api/team/members/${encodeURIComponent(m.id)}?threads=${threads}`, undefined, () => `${m.name} was removed from the team.`);
      } }, 'Remove'),
    ];
    return h('tr', { 'data-testid': 'member-row', 'data-user-id': m.id, 'data-active': String(m.active !== false), class: m.active === false ? 'inactive' : null },
      h('td', null, h('span', { class: 'member-name' }, avatar(m.id, m.name, { class: 'avatar avatar-xs' }), m.name, self ? h('span', { class: 'muted' }, ' (you)') : null)),
      h('td', null, m.email),
      h('td', null, roleCell),
      h('td', { 'data-testid': 'member-status' }, status(m)),
      h('td', { class: 'actions' }, ...actions));
  }

  function render() {
    body.replaceChildren(...allMembersList.map(row));
  }

  async function load() {
    await loadMembers();
    render();
  }

  /** Follows the team channel: presence for online dots, member events for the rows. */
  function bindLive(teamCh) {
    const refreshOnline = () => {
      online = new Set();
      if (teamCh.members) teamCh.members.each((mm) => online.add(mm.id));
      if ([...online].some((id) => !members.has(id))) load(); // someone joined the team
      else render();
    };
    teamCh.bind('pusher:subscription_succeeded', refreshOnline);
    teamCh.bind('pusher:member_added', refreshOnline);
    teamCh.bind('pusher:member_removed', refreshOnline);
    teamCh.bind('member.updated', () => load());
    teamCh.bind('member.removed', () => load());
  }

  return { el: h('div', { class: 'table-wrap' }, h('table', null,
    h('caption', { class: 'sr-only' }, 'Team members'),
    h('thead', null, h('tr', null, ...['Name', 'Email', 'Role', 'Status'].map((x) => h('th', { scope: 'col' }, x)), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
    body)), load, bindLive };
}

/** The open invites card: returns {el, load}; `showLink(url)` displays a fresh link. */
export function invitesCard(showLink) {
  const body = h('tbody', { 'data-testid': 'invites' });
  const empty = h('p', { class: 'muted small', hidden: true, 'data-testid': 'invites-empty' }, 'No open invites.');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true, 'data-testid': 'invites-more' }, 'Show more');

  function row(inv) {
    const by = inv.created_by ? (members.get(inv.created_by) || {}).name || 'a former member' : '—';
    return h('tr', { 'data-testid': 'invite-row', 'data-invite-id': inv.id },
      h('td', null, inv.email || h('span', { class: 'muted' }, 'Anyone with the link')),
      h('td', null, h('span', { class: `role-tag role-${inv.role}` }, inv.role)),
      h('td', null, by),
      h('td', { 'data-testid': 'invite-expires' }, when(inv.expires_at)),
      h('td', { class: 'actions' },
        h('button', { type: 'button', class: 'link', 'data-testid': 'invite-resend', onclick: async () => {
          try {
            const res = await api('POST', `/api/invites/${encodeURIComponent(inv.id)}/resend`);
            showLink(res.url);
            toast('A new link was made; the old one no longer works.');
            await load();
          } catch (err) {
            toast(err.message, { kind: 'error' });
          }
        } }, 'Re-send'),
        h('button', { type: 'button', class: 'link danger', 'data-testid': 'invite-revoke', onclick: async () => {
          try {
            await api('DELETE', `/api/invites/${encodeURIComponent(inv.id)}`);
            toast('Invite revoked.');
            await load();
          } catch (err) {
            toast(err.message, { kind: 'error' });
          }
        } }, 'Revoke')));
  }

  const load = keysetPager({ path: '/api/invites', body, empty, more, row, what: 'invites' });

  return { el: h('div', null, h('div', { class: 'table-wrap' }, h('table', null,
    h('caption', { class: 'sr-only' }, 'Open invites'),
    h('thead', null, h('tr', null, ...['Email', 'Role', 'Invited by', 'Expires'].map((x) => h('th', { scope: 'col' }, x)), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
    body)), empty, more), load };
}
