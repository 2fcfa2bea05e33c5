// The settings page's "Rules" card (admins): the team's automation rules in order (when an
// inbound message matches every condition given → assign, label, set priority, reply with a
// template, resolve). Add, edit, delete (audit-logged), enable or disable, move up and down, and
// dry-run a rule against the team's last 100 inbound messages before saving it. Live:
// `rules.changed` on the team channel (another admin's change, any node).

import { api } from './api.js';
import { h, toast } from './dom.js';
import { labels, loadLabels, PRIORITIES } from './labels.js';
import { describeActions } from './rule-firings.js';
import { displayPhone } from './phone.js';
import { loadMembers, membersList } from './session.js';

const split = (text) => text.split(',').map((s) => s.trim()).filter(Boolean);
const KIND = { sms: 'SMS', whatsapp: 'WhatsApp' };
let numbers = []; // the team's numbers (GET /api/numbers): a rule may name one

const numberLabel = (n) => `${KIND[n.kind] || n.kind} ${displayPhone(n.number)}${n.simulated ? ' (simulator)' : ''}`;

function describeConditions(c) {
  const out = [];
  if (c.channel_kind) out.push(`on ${KIND[c.channel_kind] || c.channel_kind}`);
  if (c.channel_id) {
    const n = numbers.find((x) => x.id === c.channel_id);
    out.push(n ? `to ${numberLabel(n)}` : 'to a number since removed');
  }
  if ((c.keywords || []).length) out.push(`says ${c.keywords.map((k) => `“${k}”`).join(' or ')}`);
  if (c.regex) out.push(`matches /${c.regex}/`);
  if (c.business_hours) out.push(c.business_hours === 'open' ? 'in business hours' : 'outside business hours');
  if (c.contact_tag) out.push(`contact tagged ${c.contact_tag}`);
  return out.length ? out.join(', ') : 'every inbound message';
}

/** The card: {el, load(), bind(channel)}. */
export function rulesCard() {
  let rules = [];
  let editing = null; // the id of the rule in the form, or null for a new one
  const list = h('ol', { class: 'plain-list rules', 'data-testid': 'rules' });
  const empty = h('p', { class: 'muted', 'data-testid': 'rules-empty' }, 'No rules yet.');

  // --- The form
  const name = h('input', { type: 'text', id: 'rule-name', maxlength: 80, autocomplete: 'off', 'data-testid': 'rule-name' });
  const enabled = h('input', { type: 'checkbox', id: 'rule-enabled', checked: true, 'data-testid': 'rule-enabled' });
  // "Any channel", a kind, or one of the team's numbers (value `id:<channel id>`).
  const kind = h('select', { id: 'rule-channel', 'data-testid': 'rule-channel' });
  function fillChannels(selected) {
    kind.replaceChildren(h('option', { value: '' }, 'Any channel'), h('option', { value: 'sms' }, 'SMS'), h('option', { value: 'whatsapp' }, 'WhatsApp'),
      numbers.length ? h('optgroup', { label: 'One number' }, numbers.map((n) => h('option', { value: `id:${n.id}` }, numberLabel(n)))) : null);
    kind.value = selected;
  }
  fillChannels('');
  const keywords = h('input', { type: 'text', id: 'rule-keywords', placeholder: 'refund, money back', autocomplete: 'off', 'data-testid': 'rule-keywords' });
  const regex = h('input', { type: 'text', id: 'rule-regex', placeholder: '(?i)order\\s+#?\\d+', autocomplete: 'off', 'data-testid': 'rule-regex' });
  const hours = h('select', { id: 'rule-hours', 'data-testid': 'rule-hours' },
    h('option', { value: '' }, 'Any time'), h('option', { value: 'open' }, 'In business hours'), h('option', { value: 'closed' }, 'Outside business hours'));
  const tag = h('input', { type: 'text', id: 'rule-tag', autocomplete: 'off', 'data-testid': 'rule-tag' });
  const assign = h('select', { id: 'rule-assign', 'data-testid': 'rule-assign' });
  const labelBox = h('div', { class: 'row wrap', 'data-testid': 'rule-labels' });
  const priority = h('select', { id: 'rule-priority', 'data-testid': 'rule-priority' },
    h('option', { value: '' }, 'Leave as is'), PRIORITIES.map((p) => h('option', { value: p }, p)));
  const reply = h('textarea', { id: 'rule-reply', rows: 2, maxlength: 1600, placeholder: 'Hi {{contact.first_name}}, …', 'data-testid': 'rule-reply' });
  const resolve = h('input', { type: 'checkbox', id: 'rule-resolve', 'data-testid': 'rule-resolve' });
  const err = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'rule-error' });
  const dry = h('div', { class: 'dry-run', 'data-testid': 'dry-run' });
  const title = h('h3', null, 'Add a rule');
  const cancel = h('button', { type: 'button', class: 'secondary', hidden: true, 'data-testid': 'rule-cancel', onclick: () => reset() }, 'Cancel');

  function fillAssign(selected) {
    assign.replaceChildren(h('option', { value: '' }, 'Nobody'), h('option', { value: 'round_robin' }, 'Round robin (online agents)'),
      membersList.map((m) => h('option', { value: m.id }, m.name)));
    assign.value = selected || '';
  }
  function fillLabels(selected) {
    labelBox.replaceChildren(...[...labels.values()].map((l) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', value: l.id, checked: selected.includes(l.id), 'data-testid': 'rule-label' }), ` ${l.name}`)));
  }
  function draft() {
    const a = assign.value;
    return {
      name: name.value,
      enabled: enabled.checked,
      conditions: {
        channel_kind: kind.value && !kind.value.startsWith('id:') ? kind.value : null,
        channel_id: kind.value.startsWith('id:') ? kind.value.slice(3) : null,
        keywords: split(keywords.value),
        regex: regex.value.trim() || null,
        business_hours: hours.value || null,
        contact_tag: tag.value.trim() || null,
      },
      actions: {
        assign: !a ? null : a === 'round_robin' ? { kind: 'round_robin' } : { kind: 'user', user_id: a },
        add_labels: [...labelBox.querySelectorAll('input:checked')].map((i) => i.value),
        priority: priority.value || null,
        reply: reply.value.trim() || null,
        resolve: resolve.checked,
      },
    };
  }
  function fill(rule) {
    const c = (rule && rule.conditions) || {};
    const a = (rule && rule.actions) || {};
    editing = rule ? rule.id : null;
    title.textContent = rule ? `Edit “${rule.name}”` : 'Add a rule';
    cancel.hidden = !rule;
    name.value = rule ? rule.name : '';
    enabled.checked = rule ? rule.enabled : true;
    fillChannels(c.channel_id ? `id:${c.channel_id}` : (c.channel_kind || ''));
    keywords.value = (c.keywords || []).join(', ');
    regex.value = c.regex || '';
    hours.value = c.business_hours || '';
    tag.value = c.contact_tag || '';
    fillAssign(a.assign ? (a.assign.kind === 'round_robin' ? 'round_robin' : a.assign.user_id) : '');
    fillLabels(a.add_labels || []);
    priority.value = a.priority || '';
    reply.value = a.reply || '';
    resolve.checked = !!a.resolve;
    err.hidden = true;
    dry.replaceChildren();
  }
  const reset = () => fill(null);
  const fail = (x) => { err.textContent = x.message; err.hidden = false; };

  async function dryRun() {
    err.hidden = true;
    try {
      const r = await api('POST', '/api/automation/rules/dry-run', draft());
      const what = describeActions(r.actions);
      dry.replaceChildren(
        h('p', { 'data-testid': 'dry-run-summary' }, `${r.items.length} of the last ${r.scanned} inbound messages match`, r.items.length ? `; each would: ${what}.` : '.'),
        h('ul', { class: 'plain-list small' }, r.items.map((m) => h('li', { 'data-testid': 'dry-run-hit' },
          h('strong', null, m.contact_name), ` (${new Date(m.created_at).toLocaleString()}${m.open ? '' : ', outside hours'}): `, m.body))));
    } catch (x) {
      fail(x);
    }
  }

  const form = h('form', { class: 'stack', novalidate: true, 'data-testid': 'rule-form', onsubmit: async (e) => {
    e.preventDefault();
    err.hidden = true;
    try {
      const saved = editing
        ? await api('PUT', `/api/automation/rules/${encodeURIComponent(editing)}`, draft())
        : await api('POST', '/api/automation/rules', draft());
      const i = rules.findIndex((r) => r.id === saved.id);
      if (i >= 0) rules[i] = saved; else rules.push(saved);
      render();
      reset();
      toast(`Rule “${saved.name}” saved.`);
    } catch (x) {
      fail(x);
    }
  } },
  title,
  h('label', { for: 'rule-name' }, 'Name'), name,
  h('label', { class: 'check' }, enabled, ' Enabled'),
  h('fieldset', null, h('legend', null, 'When an inbound message…'),
    h('div', { class: 'grid-form' },
      h('label', { for: 'rule-channel' }, 'Channel'), kind,
      h('label', { for: 'rule-keywords' }, 'Says any of (words)'), keywords,
      h('label', { for: 'rule-regex' }, 'Or matches (regex)'), regex,
      h('label', { for: 'rule-hours' }, 'Business hours'), hours,
      h('label', { for: 'rule-tag' }, 'Contact has tag'), tag)),
  h('fieldset', null, h('legend', null, 'Then…'),
    h('div', { class: 'grid-form' },
      h('label', { for: 'rule-assign' }, 'Assign to'), assign,
      h('span', null, 'Add labels'), labelBox,
      h('label', { for: 'rule-priority' }, 'Priority'), priority,
      h('label', { for: 'rule-reply' }, 'Reply with'), reply),
    h('label', { class: 'check' }, resolve, ' Mark resolved')),
  h('div', { class: 'row' },
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'rule-save' }, 'Save rule'),
    h('button', { type: 'button', class: 'secondary', 'data-testid': 'rule-dry-run', onclick: dryRun }, 'Dry run'),
    cancel),
  err, dry);

  // --- The list
  async function move(i, by) {
    const ids = rules.map((r) => r.id);
    [ids[i], ids[i + by]] = [ids[i + by], ids[i]];
    try {
      rules = (await api('PUT', '/api/automation/rules/order', { ids })).items;
      render();
    } catch (x) {
      toast(x.message, { kind: 'error' });
    }
  }
  async function remove(rule) {
    if (!window.confirm(`Delete the rule “${rule.name}”?`)) return;
    try {
      await api('DELETE', `/api/automation/rules/${encodeURIComponent(rule.id)}`);
      rules = rules.filter((r) => r.id !== rule.id);
      if (editing === rule.id) reset();
      render();
    } catch (x) {
      toast(x.message, { kind: 'error' });
    }
  }
  function render() {
    empty.hidden = rules.length > 0;
    list.replaceChildren(...rules.map((r, i) => h('li', { class: 'rule-row', 'data-testid': 'rule-row', 'data-rule-id': r.id },
      h('div', null,
        h('strong', { 'data-testid': 'rule-row-name' }, r.name), r.enabled ? '' : h('span', { class: 'muted' }, ' (disabled)'),
        h('p', { class: 'muted small' }, `When ${describeConditions(r.conditions)}: ${describeActions(r.actions)}.`)),
      h('div', { class: 'row' },
        h('button', { type: 'button', class: 'ghost', disabled: i === 0, 'aria-label': `Move ${r.name} up`, 'data-testid': 'rule-up', onclick: () => move(i, -1) }, '↑'),
        h('button', { type: 'button', class: 'ghost', disabled: i === rules.length - 1, 'aria-label': `Move ${r.name} down`, 'data-testid': 'rule-down', onclick: () => move(i, 1) }, '↓'),
        h('button', { type: 'button', class: 'secondary', 'data-testid': 'rule-edit', onclick: () => fill(r) }, 'Edit'),
        h('button', { type: 'button', class: 'danger', 'data-testid': 'rule-delete', onclick: () => remove(r) }, 'Delete')))));
  }

  const el = h('section', { class: 'card', 'aria-labelledby': 'rules-title', 'data-testid': 'rules-card' },
    h('h2', { id: 'rules-title' }, 'Rules'),
    h('p', { class: 'muted small' }, 'Rules run in order on every customer message; each one whose conditions all hold fires once per message, and the conversation’s history says so.'),
    list, empty, form);
  return {
    el,
    async load() {
      try {
        const [, , found] = await Promise.all([loadLabels().catch(() => {}), membersList.length ? null : loadMembers(),
          api('GET', '/api/numbers').catch(() => null)]);
        numbers = (found && found.numbers) || [];
        rules = (await api('GET', '/api/automation/rules')).items;
        render();
        reset();
      } catch (x) {
        toast(`Could not load rules: ${x.message}`, { kind: 'error' });
      }
    },
    bind(channel) {
      channel.bind('rules.changed', (data) => { if (data && data.items) { rules = data.items; render(); } });
    },
  };
}
