// The admin settings page: the team's Twilio channels (list, add, delete), simulator mode and the
// webhook URLs to give Twilio, verified numbers of a trial account, team members (members.js:
// roles, deactivation, removal, who is online, live from the team channel), labels
// (labels-admin.js), invites (create, the open ones, re-send, revoke), automatic assignment
// (assignment-settings.js), business hours (business-hours.js), rules (rules-admin.js) and the way to the audit log.

import { api } from './api.js';
import { assignmentCard } from './assignment-settings.js';
import { hoursCard } from './business-hours.js';
import { callSettingsButton } from './channel-calls.js';
import { channelTag, h, toast } from './dom.js';
import { labelsCard } from './labels-admin.js';
import { invitesCard, membersCard } from './members.js';
import { rulesCard } from './rules-admin.js';
import { connect, pusher } from './realtime.js';
import { isAdmin, main, me, team } from './session.js';

export async function startSettings() {
  if (!isAdmin) {
    main.replaceChildren(h('div', { class: 'settings' }, h('h1', null, 'Settings'), h('p', { 'data-testid': 'settings-forbidden' }, 'Only admins can change the team’s settings.')));
    return;
  }
  const channelsBody = h('tbody', { 'data-testid': 'channels' });
  const channelsEmpty = h('p', { class: 'muted', hidden: true, 'data-testid': 'channels-empty' }, 'No Twilio numbers yet: the team runs in simulator mode.');
  const verified = h('ul', { class: 'plain-list', 'data-testid': 'verified-numbers' });
  const simState = h('p', { 'data-testid': 'simulator-state' });
  const webhooks = h('div', { class: 'webhooks small' });
  const membersTable = membersCard();
  const assignment = assignmentCard();
  const hours = hoursCard();
  const rulesAdmin = rulesCard();
  const labelsAdmin = labelsCard();

  // --- Add a channel
  const kind = h('select', { id: 'ch-kind', 'data-testid': 'channel-kind' }, h('option', { value: 'sms' }, 'SMS'), h('option', { value: 'whatsapp' }, 'WhatsApp'));
  const number = h('input', { id: 'ch-number', type: 'tel', placeholder: '+14155550100', 'data-testid': 'channel-number', autocomplete: 'off' });
  const sid = h('input', { id: 'ch-sid', type: 'text', placeholder: 'AC…', 'data-testid': 'channel-account-sid', autocomplete: 'off' });
  const token = h('input', { id: 'ch-token', type: 'password', 'data-testid': 'channel-auth-token', autocomplete: 'new-password' });
  const mss = h('input', { id: 'ch-mss', type: 'text', placeholder: 'MG… (optional)', 'data-testid': 'channel-messaging-service-sid', autocomplete: 'off' });
  const chErr = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'channel-error' });
  const chForm = h('form', { class: 'grid-form', 'data-testid': 'channel-form', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    chErr.hidden = true;
    const payload = { kind: kind.value, number: number.value.trim(), account_sid: sid.value.trim(), auth_token: token.value };
    if (mss.value.trim()) payload.messaging_service_sid = mss.value.trim();
    if (!payload.number || !payload.account_sid || !payload.auth_token) {
      chErr.textContent = 'Number, Account SID and Auth token are required.';
      chErr.hidden = false;
      return;
    }
    try {
      await api('POST', '/api/channels', payload);
      number.value = '';
      sid.value = '';
      token.value = '';
      mss.value = '';
      toast('Channel added.');
      await Promise.all([loadChannels(), loadSettings()]);
    } catch (err) {
      chErr.textContent = err.message;
      chErr.hidden = false;
    }
  } },
  h('label', { for: 'ch-kind' }, 'Kind'), kind,
  h('label', { for: 'ch-number' }, 'Number (E.164)'), number,
  h('label', { for: 'ch-sid' }, 'Account SID'), sid,
  h('label', { for: 'ch-token' }, 'Auth token'), token,
  h('label', { for: 'ch-mss' }, 'Messaging service SID'), mss,
  h('span'), h('button', { type: 'submit', class: 'primary', 'data-testid': 'channel-add' }, 'Add channel'),
  chErr);

  // --- Invite
  const invEmail = h('input', { id: 'inv-email', type: 'email', placeholder: 'teammate@example.com (optional)', 'data-testid': 'invite-email', autocomplete: 'off' });
  const invRole = h('select', { id: 'inv-role', 'data-testid': 'invite-role' }, h('option', { value: 'agent' }, 'Agent'), h('option', { value: 'admin' }, 'Admin'));
  const invErr = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'invite-error' });
  const invUrl = h('input', { id: 'inv-url', type: 'text', readonly: true, 'data-testid': 'invite-url' });
  const copyBtn = h('button', { type: 'button', class: 'secondary', 'data-testid': 'invite-copy', onclick: async () => {
    invUrl.select();
    try {
      await navigator.clipboard.writeText(invUrl.value);
      copyBtn.textContent = 'Copied';
    } catch (_) {
      copyBtn.textContent = 'Press Ctrl+C';
    }
    setTimeout(() => { copyBtn.textContent = 'Copy'; }, 2000);
  } }, 'Copy');
  const invResult = h('div', { class: 'invite-result', hidden: true, 'data-testid': 'invite-result' },
    h('label', { for: 'inv-url' }, 'Invite link (share it with your teammate)'), h('div', { class: 'row' }, invUrl, copyBtn));
  const showLink = (url) => {
    invUrl.value = url || '';
    invResult.hidden = false;
  };
  const invites = invitesCard(showLink);
  const invDays = h('select', { id: 'inv-days', 'data-testid': 'invite-days' },
    ...[1, 3, 7, 14, 30].map((d) => h('option', { value: String(d), selected: d === 7 }, d === 1 ? '1 day' : `${d} days`)));
  const invForm = h('form', { class: 'grid-form', 'data-testid': 'invite-form', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    invErr.hidden = true;
    const payload = { role: invRole.value, expires_in_days: Number(invDays.value) };
    if (invEmail.value.trim()) payload.email = invEmail.value.trim();
    try {
      const res = await api('POST', '/api/invites', payload);
      showLink(res.url);
      invEmail.value = '';
      await invites.load();
    } catch (err) {
      invErr.textContent = err.message;
      invErr.hidden = false;
    }
  } },
  h('label', { for: 'inv-email' }, 'Email'), invEmail,
  h('label', { for: 'inv-role' }, 'Role'), invRole,
  h('label', { for: 'inv-days' }, 'Expires after'), invDays,
  h('span'), h('button', { type: 'submit', class: 'primary', 'data-testid': 'invite-create' }, 'Create invite link'),
  invErr);

  async function loadChannels() {
    try {
      const data = await api('GET', '/api/channels');
      const list = (data && data.channels) || [];
      channelsBody.replaceChildren(...list.map((c) => h('tr', { 'data-testid': 'channel-row', 'data-channel-id': c.id },
        h('td', null, channelTag(c.kind)),
        h('td', { class: 'mono' }, c.number),
        h('td', { class: 'mono' }, c.account_sid || ''),
        h('td', { class: 'mono' }, c.messaging_service_sid || '—'),
        h('td', null, c.simulated ? h('span', { class: 'badge badge-sim' }, 'Simulated') : 'Twilio'),
        h('td', null, c.kind === 'sms' ? callSettingsButton(c) : null, ' ', h('button', { type: 'button', class: 'link danger', 'data-testid': 'channel-delete', 'aria-label': `Delete channel ${c.number}`, onclick: async () => {
          try {
            await api('DELETE', `/api/channels/${encodeURIComponent(c.id)}`);
            toast('Channel removed.');
            await Promise.all([loadChannels(), loadSettings()]);
          } catch (err) {
            toast(err.message, { kind: 'error' });
          }
        } }, 'Delete')))));
      channelsEmpty.hidden = list.length > 0;
    } catch (err) {
      toast(`Could not load channels: ${err.message}`, { kind: 'error' });
    }
  }

  async function loadSettings() {
    try {
      const s = await api('GET', '/api/settings');
      simState.replaceChildren(h('strong', null, s.simulator_mode ? 'Simulator mode is on.' : 'Simulator mode is off.'), ' ',
        s.simulator_mode
          ? 'This team has no Twilio credentials yet, so outbound messages are not sent to real phones: the built-in simulator accepts them and reports them delivered after a moment, and “Simulate an inbound message” in the inbox plays the contact’s side through the same signed webhook path Twilio uses. Add a Twilio number below to leave simulator mode.'
          : 'Messages go out through Twilio. Remove every Twilio number to go back to simulator mode.');
      const base = s.public_base_url || window.location.origin;
      const hooks = s.webhooks || {};
      webhooks.replaceChildren(h('p', null, 'Point your Twilio numbers (or messaging service) at these webhooks:'),
        h('ul', { class: 'plain-list mono', 'data-testid': 'webhooks' },
          h('li', null, `Incoming messages: ${hooks.messages || `${base}/webhooks/twilio/messages`}`),
          h('li', null, `Status callbacks: ${hooks.status || `${base}/webhooks/twilio/status`}`),
          h('li', null, `Incoming calls: ${hooks.voice || `${base}/webhooks/twilio/voice`}`),
          h('li', null, `Call status callbacks: ${hooks.voice_status || `${base}/webhooks/twilio/voice/status`}`)));
      if (Array.isArray(s.verified_numbers)) {
        verified.replaceChildren(...(s.verified_numbers.length
          ? s.verified_numbers.map((n) => h('li', { class: 'mono', 'data-testid': 'verified-number' }, typeof n === 'string' ? n : (n.phone_number || n.number || JSON.stringify(n))))
          : [h('li', { class: 'muted' }, 'No verified numbers.')]));
      } else {
        verified.replaceChildren(h('li', { class: 'muted' }, s.simulator_mode ? 'Not needed in simulator mode.' : 'Not a trial account: any number can be messaged.'));
      }
    } catch (err) {
      toast(`Could not load settings: ${err.message}`, { kind: 'error' });
    }
  }

  const table = (caption, head, body) => h('div', { class: 'table-wrap' }, h('table', null,
    h('caption', { class: 'sr-only' }, caption),
    h('thead', null, h('tr', null, ...head.map((x) => h('th', { scope: 'col' }, x)))), body));

  main.replaceChildren(h('div', { class: 'settings', 'data-testid': 'settings' },
    h('h1', null, 'Settings'),
    h('section', { class: 'card' },
      h('h2', null, 'Twilio channels'),
      h('p', { class: 'muted small' }, 'Each number the team sends from. The auth token is kept on the server and never shown again.'),
      table('Twilio channels', ['Kind', 'Number', 'Account SID', 'Messaging service', 'Mode', h('span', { class: 'sr-only' }, 'Actions')], channelsBody),
      channelsEmpty,
      h('h3', null, 'Add a channel'), chForm),
    h('section', { class: 'card' },
      h('h2', null, 'Simulator mode'), simState, webhooks,
      h('h3', null, 'Verified numbers'),
      h('p', { class: 'muted small' }, 'A Twilio trial account can only message numbers verified in its console; sends to other numbers are refused with “not verified”.'),
      verified),
    h('section', { class: 'card', 'aria-labelledby': 'members-title' },
      h('h2', { id: 'members-title' }, 'Team members'),
      h('p', { class: 'muted small' }, 'Deactivating or removing someone signs them out on every device at once and revokes their API tokens; what they wrote stays.'),
      membersTable.el,
      h('h3', null, 'Invite a teammate'), invForm, invResult,
      h('h3', null, 'Open invites'), invites.el),
    assignment.el,
    hours.el,
    rulesAdmin.el,
    h('section', { class: 'card', 'aria-labelledby': 'labels-title', 'data-testid': 'labels-card' },
      h('h2', { id: 'labels-title' }, 'Labels'),
      h('p', { class: 'muted small' }, 'Labels sort conversations (Billing, VIP, Bug…): anyone puts them on a conversation; admins add, rename, recolour and delete them.'),
      labelsAdmin.el),
    h('section', { class: 'card', 'aria-labelledby': 'audit-title' },
      h('h2', { id: 'audit-title' }, 'Audit log'),
      h('p', null, 'Who signed in, changed a role, deactivated someone, exported messages or deleted a contact, from where and when. ',
        h('a', { href: '/audit', 'data-testid': 'audit-link' }, 'Open the audit log')))));

  connect();
  if (pusher) {
    const channel = pusher.subscribe(`presence-team-${team.id || me.team_id}`);
    membersTable.bindLive(channel);
    assignment.bind(channel);
    hours.bind(channel);
    rulesAdmin.bind(channel);
    labelsAdmin.bindLive(channel);
  }
  await Promise.all([loadChannels(), loadSettings(), assignment.load(), hours.load(), rulesAdmin.load(), membersTable.load().then(() => invites.load()), labelsAdmin.load()]);
}
