// The simulator card in the inbox's left pane, shown while a team has no Twilio credentials:
// plays a contact sending an inbound SMS or WhatsApp message, or calling the team's number
// (answered, missed or a voicemail), through the real signed webhook paths.

import { api } from './api.js';
import { h } from './dom.js';

export function buildSimulator() {
  const from = h('input', { type: 'tel', id: 'sim-from', value: '+14155550123', required: true, pattern: '\\+[1-9][0-9]{6,14}', 'data-testid': 'sim-from', autocomplete: 'off' });
  const channel = h('select', { id: 'sim-channel', 'data-testid': 'sim-channel' }, h('option', { value: 'sms' }, 'SMS'), h('option', { value: 'whatsapp' }, 'WhatsApp'));
  const body = h('textarea', { id: 'sim-body', rows: '2', 'data-testid': 'sim-body', placeholder: 'Hi, is my order on its way?' });
  const status = h('p', { class: 'form-note', role: 'status', 'data-testid': 'sim-status' });
  const button = h('button', { type: 'submit', class: 'secondary', 'data-testid': 'sim-send' }, 'Simulate');
  const form = h('form', { class: 'sim-form', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    status.textContent = '';
    status.classList.remove('error');
    const number = from.value.trim();
    if (!/^\+[1-9]\d{6,14}$/.test(number)) {
      status.textContent = 'Use an E.164 number such as +14155550123.';
      status.classList.add('error');
      return;
    }
    if (!body.value.trim()) {
      status.textContent = 'Write the message the contact sends.';
      status.classList.add('error');
      return;
    }
    button.disabled = true;
    try {
      await api('POST', '/api/simulator/inbound', { from: number, channel: channel.value, body: body.value.trim() });
      status.textContent = 'Sent: it shows up in the inbox in a moment.';
      body.value = '';
    } catch (err) {
      status.textContent = err.message;
      status.classList.add('error');
    } finally {
      button.disabled = false;
    }
  } },
  h('label', { for: 'sim-from' }, 'From (E.164)'), from,
  h('label', { for: 'sim-channel' }, 'Channel'), channel,
  h('label', { for: 'sim-body' }, 'Message'), body,
  button, status);
  const outcome = h('select', { id: 'sim-call-outcome', 'data-testid': 'sim-call-outcome' },
    h('option', { value: 'missed' }, 'Nobody answers'), h('option', { value: 'voicemail' }, 'Leaves a voicemail'), h('option', { value: 'answered' }, 'Someone answers'));
  const callButton = h('button', { type: 'button', class: 'secondary', 'data-testid': 'sim-call', onclick: async () => {
    status.textContent = '';
    status.classList.remove('error');
    callButton.disabled = true;
    try {
      await api('POST', '/api/simulator/call', { from: from.value.trim(), outcome: outcome.value });
      status.textContent = 'Called: the call shows up in the conversation.';
    } catch (err) {
      status.textContent = err.message;
      status.classList.add('error');
    } finally {
      callButton.disabled = false;
    }
  } }, 'Simulate a call');
  form.append(h('label', { for: 'sim-call-outcome' }, 'Or call the team’s number'), outcome, callButton);
  return h('details', { class: 'simulator', 'data-testid': 'simulator' },
    h('summary', null, 'Simulate an inbound message'),
    h('p', { class: 'muted small' }, 'Simulator mode: this team has no Twilio credentials yet. Messages go through the real webhook path, and outbound messages are “delivered” by the simulator.'),
    form);
}
