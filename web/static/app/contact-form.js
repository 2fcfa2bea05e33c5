// The contact form, in a dialog: create (POST /api/contacts) or edit (PATCH /api/contacts/{id})
// every field an agent keeps: the shown name and its first/last parts, phone (formatted as it is
// typed, read in the team's default country), email, company, tags, notes and the team's custom
// fields (labels from GET /api/team/contact-fields). The API's error names its field
// (`{error: {field, message}}`); the message shows under that field. An edit sends only what
// changed, so a name derived from first and last names keeps following them.

import { api } from './api.js';
import { h } from './dom.js';
import { displayPhone, formatAsYouType, loadPhoneLib, looksLikePhone } from './phone.js';

let fieldsCache = null;

/** The team's custom contact fields `[{key, label}]`, read once per page. */
export async function contactFields() {
  if (!fieldsCache) {
    fieldsCache = api('GET', '/api/team/contact-fields').then((d) => (d && d.fields) || []).catch(() => {
      fieldsCache = null;
      return [];
    });
  }
  return fieldsCache;
}

/**
 * Opens the form for `contact` (edit) or a new one (null). Resolves to the saved contact, or
 * null when the agent cancels.
 */
export async function openContactForm(contact) {
  const [fields] = await Promise.all([contactFields(), loadPhoneLib()]);
  const c = contact || {};
  const editing = !!contact;
  const inputs = {};
  const errors = {};
  const row = (key, label, input, hint) => {
    inputs[key] = input;
    errors[key] = h('p', { class: 'field-error', id: `cf-${key}-error`, role: 'alert', hidden: true, 'data-testid': `contact-form-error-${key}` });
    input.id = `cf-${key}`;
    input.setAttribute('aria-describedby', `cf-${key}-error`);
    input.dataset.testid = `contact-form-${key}`;
    return h('div', { class: 'cf-field' }, h('label', { for: `cf-${key}` }, label), input, hint ? h('span', { class: 'small muted' }, hint) : null, errors[key]);
  };
  const text = (value, attrs) => h('input', Object.assign({ type: 'text', autocomplete: 'off', value: value || '' }, attrs || {}));
  const phone = text(c.phone ? displayPhone(c.phone) : '', { type: 'tel', placeholder: '(415) 555-0100 or +44…' });
  phone.addEventListener('input', (e) => {
    if (looksLikePhone(phone.value) && phone.selectionStart === phone.value.length && e.inputType !== 'deleteContentBackward') {
      phone.value = formatAsYouType(phone.value);
    }
  });
  const custom = {};
  const customRows = fields.map((f) => {
    custom[f.key] = text((c.custom_fields || {})[f.key]);
    return row(`custom_${f.key}`, f.label || f.key, custom[f.key]);
  });
  errors.custom_fields = h('p', { class: 'field-error', role: 'alert', hidden: true, 'data-testid': 'contact-form-error-custom_fields' });
  const general = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'contact-form-error' });
  const save = h('button', { type: 'submit', class: 'primary', 'data-testid': 'contact-form-save' }, editing ? 'Save' : 'Create contact');

  const form = h('form', { class: 'cf-form', novalidate: true },
    h('h2', { id: 'cf-title' }, editing ? `Edit ${c.name || displayPhone(c.phone)}` : 'New contact'),
    h('div', { class: 'cf-grid' },
      row('first_name', 'First name', text(c.first_name)),
      row('last_name', 'Last name', text(c.last_name)),
      row('name', 'Shown name', text(c.name, { placeholder: 'From first and last name' })),
      row('phone', 'Phone', phone),
      row('email', 'Email', text(c.email, { type: 'email' })),
      row('company', 'Company', text(c.company)),
      row('tags', 'Tags', text((c.tags || []).join(', '), { placeholder: 'vip, billing' }), 'Comma-separated'),
      ...customRows),
    errors.custom_fields,
    row('notes', 'Notes', h('textarea', { rows: '3' }, c.notes || '')),
    general,
    h('div', { class: 'dialog-actions' },
      h('button', { type: 'button', class: 'ghost', 'data-testid': 'contact-form-cancel', onclick: () => dialog.close() }, 'Cancel'),
      save));
  const dialog = h('dialog', { class: 'dialog cf-dialog', 'aria-labelledby': 'cf-title', 'data-testid': 'contact-form' }, form);

  const clearErrors = () => {
    for (const el of Object.values(errors)) { el.hidden = true; el.textContent = ''; }
    for (const el of Object.values(inputs)) el.removeAttribute('aria-invalid');
    general.hidden = true;
  };
  const showError = (field, message) => {
    const key = field && errors[field] ? field : null;
    const el = key ? errors[key] : general;
    el.textContent = message;
    el.hidden = false;
    const input = key === 'custom_fields' ? Object.values(custom)[0] : inputs[key];
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    }
  };

  /** The request body: everything for a new contact, what changed for an edit. */
  function payload() {
    const val = (key) => inputs[key].value.trim();
    const now = {
      name: val('name'),
      first_name: val('first_name') || null,
      last_name: val('last_name') || null,
      phone: val('phone'),
      email: val('email') || null,
      company: val('company') || null,
      notes: val('notes') || null,
      tags: val('tags').split(',').map((t) => t.trim()).filter(Boolean),
    };
    const values = {};
    for (const [key, input] of Object.entries(custom)) if (input.value.trim()) values[key] = input.value.trim();
    if (!editing) {
      const body = Object.fromEntries(Object.entries(now).filter(([, v]) => v !== null && v !== '' && !(Array.isArray(v) && !v.length)));
      if (fields.length) body.custom_fields = values;
      return body;
    }
    const before = {
      name: c.name || '',
      first_name: c.first_name || null,
      last_name: c.last_name || null,
      phone: c.phone ? displayPhone(c.phone) : '',
      email: c.email || null,
      company: c.company || null,
      notes: c.notes || null,
      tags: c.tags || [],
    };
    const body = {};
    for (const key of Object.keys(now)) {
      if (JSON.stringify(now[key]) !== JSON.stringify(before[key])) body[key] = now[key];
    }
    // A cleared shown name with a first or last name: the server derives it from the parts
    // (it does when a part is sent and the name is not).
    if (body.name === '' && (now.first_name || now.last_name)) {
      delete body.name;
      body.first_name = now.first_name;
      body.last_name = now.last_name;
    }
    const oldValues = Object.fromEntries(Object.entries(c.custom_fields || {}).filter(([k]) => k in custom));
    if (fields.length && JSON.stringify(values) !== JSON.stringify(oldValues)) body.custom_fields = values;
    return body;
  }

  return new Promise((resolve) => {
    let saved = null;
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors();
      if (!inputs.phone.value.trim()) return showError('phone', 'A phone number is required.');
      const body = payload();
      if (editing && !Object.keys(body).length) {
        dialog.close();
        return;
      }
      save.disabled = true;
      try {
        saved = editing
          ? await api('PATCH', `/api/contacts/${encodeURIComponent(c.id)}`, body)
          : await api('POST', '/api/contacts', body);
        dialog.close();
      } catch (err) {
        showError(err.field, err.status === 409 && !err.field ? `${err.message} (a deleted contact may have it: restore it from the Deleted view)` : err.message);
      } finally {
        save.disabled = false;
      }
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(saved);
    });
    document.body.append(dialog);
    dialog.showModal();
    inputs[editing ? 'first_name' : 'phone'].focus();
  });
}
