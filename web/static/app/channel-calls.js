// A number's call settings (admin, from the settings page): forwarding number and ring time,
// greeting, voicemail, and the automatic SMS sent after a missed call with its once-per-period
// rule. A dialog that reads GET /api/channels/{id} and saves with PATCH.

import { api } from './api.js';
import { h, toast } from './dom.js';

/** The "Calls…" button of a channel row. */
export function callSettingsButton(channel) {
  return h('button', { type: 'button', class: 'link', 'data-testid': 'channel-calls', 'aria-label': `Call settings of ${channel.number}`,
    onclick: () => openCallSettings(channel) }, 'Calls…');
}

async function openCallSettings(channel) {
  let data;
  try {
    data = await api('GET', `/api/channels/${encodeURIComponent(channel.id)}`);
  } catch (err) {
    toast(err.message, { kind: 'error' });
    return;
  }
  const s = data.settings || {};
  const forward = h('input', { id: 'cs-forward', type: 'tel', placeholder: '+14155550100 (empty: nobody picks up)', value: s.forward_to || '', 'data-testid': 'calls-forward-to', autocomplete: 'off' });
  const ring = h('input', { id: 'cs-ring', type: 'number', min: '5', max: '600', value: String(s.ring_seconds || 20), 'data-testid': 'calls-ring-seconds' });
  const greeting = h('textarea', { id: 'cs-greeting', rows: '2', maxlength: '500', 'data-testid': 'calls-greeting', placeholder: 'Thanks for calling. Connecting you now.' }, s.greeting || '');
  const voicemail = h('input', { id: 'cs-voicemail', type: 'checkbox', checked: !!s.voicemail, 'data-testid': 'calls-voicemail' });
  const reply = h('textarea', { id: 'cs-reply', rows: '3', maxlength: '1600', 'data-testid': 'calls-missed-reply', placeholder: 'Sorry we missed you, {{contact.first_name}}: how can we help?' }, s.missed_call_reply || '');
  const hours = h('input', { id: 'cs-hours', type: 'number', min: '1', max: '720', value: String(s.missed_call_reply_hours || 12), 'data-testid': 'calls-reply-hours' });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'calls-error' });
  const dialog = h('dialog', { class: 'dialog', 'data-testid': 'calls-dialog', 'aria-labelledby': 'calls-title' });
  const form = h('form', { class: 'grid-form', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    error.hidden = true;
    try {
      await api('PATCH', `/api/channels/${encodeURIComponent(channel.id)}`, {
        forward_to: forward.value.trim() || null,
        ring_seconds: Number(ring.value),
        greeting: greeting.value.trim() || null,
        voicemail: voicemail.checked,
        missed_call_reply: reply.value.trim() || null,
        missed_call_reply_hours: Number(hours.value),
      });
      toast('Call settings saved.');
      dialog.close();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  } },
  h('label', { for: 'cs-forward' }, 'Forward calls to'), forward,
  h('label', { for: 'cs-ring' }, 'Ring for (seconds)'), ring,
  h('label', { for: 'cs-greeting' }, 'Greeting'), greeting,
  h('label', { for: 'cs-voicemail' }, 'Take a voicemail when nobody answers'), voicemail,
  h('label', { for: 'cs-reply' }, 'SMS after a missed call'), reply,
  h('label', { for: 'cs-hours' }, 'At most one per caller every (hours)'), hours,
  h('span'), h('div', { class: 'row' },
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'calls-save' }, 'Save'),
    h('button', { type: 'button', class: 'secondary', onclick: () => dialog.close() }, 'Cancel')),
  error);
  dialog.append(h('h2', { id: 'calls-title' }, `Calls to ${channel.number}`),
    h('p', { class: 'muted small' }, 'A call rings the forwarding number; when nobody answers (or there is none) the caller hears the greeting, may leave a voicemail, and gets the SMS below. Variables: {{contact.first_name}}, {{contact.name}}, {{team.name}}.'),
    form);
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}
