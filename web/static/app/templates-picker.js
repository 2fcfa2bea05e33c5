// Approved templates (issue 14 part 5), in the composer and in the "New conversation" dialog: a
// "Templates" button opens a list of the team's templates for the channel the message goes on;
// picking one shows a small form with one field per variable (its example as a hint; a variable
// with a default is filled in by the server for the contact when left empty), a preview of the
// text as the thread will show it (POST /api/templates/{id}/preview), and "Send template"
// (POST /api/messages {thread_id | contact_id + channel, template_id, variables}: WhatsApp gets
// the ContentSid and ContentVariables). Usable any time, and the way to write when the WhatsApp
// window is closed (always, for a first WhatsApp message). The list is loaded when opened and
// follows template.updated / template.deleted on the team channel.

import { api } from './api.js';
import { debounce, h } from './dom.js';

let cache = null; // Map id -> template, for the page; null until loaded

/** Follows template changes on the team channel. */
export function bindTemplateEvents(channel) {
  channel.bind('template.updated', (data) => { if (cache && data && data.template) cache.set(data.template.id, data.template); });
  channel.bind('template.deleted', (data) => { if (cache && data) cache.delete(data.id); });
}

async function loadTemplates() {
  if (cache) return cache;
  const all = new Map();
  let cursor = null;
  do {
    const page = await api('GET', `/api/templates?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    for (const t of page.items) all.set(t.id, t);
    cursor = page.next_cursor;
  } while (cursor);
  cache = all;
  return cache;
}

/**
 * Builds the picker. `kind()` is the channel kind the message goes on (null: none yet);
 * `target()` whom it is for, `{thread_id}` or `{contact_id, channel, channel_id?}`, or null
 * while unknown (a new number: the preview then shows the template as written);
 * `sendTarget()` (async, default `target`) the same at send time, when the dialog may create
 * the contact first; `onSent(msg)` runs after the send. Returns {button, el, open, close}.
 */
export function buildTemplatePicker({ kind, target, sendTarget = async () => target(), onSent = () => {} }) {
  const panel = h('section', { class: 'template-picker card', 'data-testid': 'template-picker', hidden: true, 'aria-label': 'Templates' });
  const button = h('button', { type: 'button', class: 'secondary', 'data-testid': 'templates-button', 'aria-expanded': 'false', onclick: () => (panel.hidden ? open() : close()) }, 'Templates');

  function close() {
    panel.hidden = true;
    panel.replaceChildren();
    button.setAttribute('aria-expanded', 'false');
  }

  async function open() {
    const channel = kind();
    if (!channel) return;
    button.setAttribute('aria-expanded', 'true');
    panel.hidden = false;
    panel.replaceChildren(h('p', { class: 'muted' }, 'Loading templates…'));
    let templates;
    try {
      templates = [...(await loadTemplates()).values()].filter((t) => t.channel_kind === channel);
    } catch (err) {
      panel.replaceChildren(h('p', { class: 'form-error' }, `Could not load templates: ${err.message}`));
      return;
    }
    templates.sort((a, b) => a.name.localeCompare(b.name));
    const header = h('div', { class: 'template-head' }, h('strong', null, 'Templates'), h('button', { type: 'button', class: 'link', onclick: close, 'data-testid': 'template-close' }, 'Close'));
    if (!templates.length) {
      panel.replaceChildren(header, h('p', { class: 'muted', 'data-testid': 'template-empty' }, `No ${channel === 'whatsapp' ? 'WhatsApp' : 'SMS'} templates yet. An admin can sync them from Twilio or add them (POST /api/templates).`));
      return;
    }
    panel.replaceChildren(header, h('ul', { class: 'template-list' }, templates.map((t) => h('li', null,
      h('button', { type: 'button', class: 'template-option', 'data-testid': 'template-option', 'data-name': t.name, onclick: () => fill(t) },
        h('span', { class: 'template-name' }, t.name), h('span', { class: 'muted template-body' }, t.body))))));
  }

  function fill(t) {
    const inputs = new Map();
    const preview = h('p', { class: 'template-preview', 'data-testid': 'template-preview' }, t.body);
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'template-error' });
    const send = h('button', { type: 'submit', class: 'primary', 'data-testid': 'template-send' }, 'Send template');
    const values = () => Object.fromEntries([...inputs].map(([k, input]) => [k, input.value.trim()]).filter(([, v]) => v));
    const refresh = debounce(async () => {
      const to = target();
      if (!to) {
        // No contact yet (a new number): its values are filled in when it is sent.
        preview.textContent = t.body;
        return;
      }
      try {
        const r = await api('POST', `/api/templates/${t.id}/preview`, Object.assign({ variables: values() }, to));
        preview.textContent = r.text;
        preview.classList.toggle('has-missing', r.missing.length > 0);
        send.disabled = r.missing.length > 0;
        send.title = r.missing.length ? `Fill in ${r.missing.map((k) => `{{${k}}}`).join(', ')}` : '';
      } catch (err) {
        preview.textContent = err.message;
      }
    }, 150);
    const fields = t.variables.map((v) => {
      const input = h('input', { type: 'text', id: `template-var-${v.key}`, 'data-testid': 'template-variable', 'data-key': v.key,
        placeholder: v.default ? `default: ${v.default}` : (v.example || ''), oninput: refresh });
      inputs.set(v.key, input);
      return h('div', { class: 'template-field' }, h('label', { for: input.id, class: 'mono' }, `{{${v.key}}}`), input);
    });
    const form = h('form', { class: 'template-form', 'data-testid': 'template-form', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      error.hidden = true;
      send.disabled = true;
      try {
        const to = await sendTarget();
        const msg = await api('POST', '/api/messages', Object.assign({ template_id: t.id, variables: values() }, to));
        close();
        await onSent(msg);
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
        send.disabled = false;
      }
    } },
    h('div', { class: 'template-head' }, h('strong', { 'data-testid': 'template-chosen' }, t.name),
      h('button', { type: 'button', class: 'link', onclick: open }, 'Back')),
    fields, h('div', { class: 'template-preview-box' }, h('span', { class: 'muted' }, 'Preview'), preview), error,
    h('div', { class: 'buttons' }, send));
    panel.replaceChildren(form);
    refresh();
    const first = fields.length ? inputs.values().next().value : send;
    first.focus();
  }

  return { button, el: panel, open, close };
}
