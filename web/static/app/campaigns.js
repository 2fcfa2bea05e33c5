// The campaigns page: the team's campaigns (newest first) with a live progress bar, counts and
// ETA each; a form to create one (a number, an audience: a list, a segment or a tag, and a body,
// a canned reply, or an approved template of the number's kind with fields for its fixed values;
// optional quiet hours in each contact's time zone); a preview of the first recipients (missing variables
// flagged); start, pause, resume, cancel, duplicate, delete; and each campaign's recipients as
// CSV. Counts move live: the server publishes `campaign.updated` (coalesced, twice a second at
// most) and `campaign.deleted` on the team channel; a reconnect reloads the list.

import { api, qs } from './api.js';
import { h, toast } from './dom.js';
import { fmtCount, fmtDuration, fmtRate } from './format.js';
import { connect, onReconnect, pusher } from './realtime.js';
import { main, me, team } from './session.js';

/** The actions a campaign in each status offers. */
const ACTIONS = {
  draft: ['start', 'duplicate', 'delete'],
  scheduled: ['start', 'cancel', 'duplicate', 'delete'],
  running: ['pause', 'cancel', 'duplicate'],
  paused: ['resume', 'cancel', 'duplicate', 'delete'],
  done: ['duplicate', 'delete'],
  canceled: ['duplicate', 'delete'],
  failed: ['duplicate', 'delete'],
};
const LABELS = { start: 'Start', pause: 'Pause', resume: 'Resume', cancel: 'Cancel', duplicate: 'Duplicate', delete: 'Delete' };

export async function startCampaigns() {
  const rows = new Map(); // id → { campaign, el }
  const list = h('div', { class: 'campaign-list', 'data-testid': 'campaign-list' });
  const empty = h('p', { class: 'muted', 'data-testid': 'campaigns-empty' }, 'No campaigns yet.');
  const previewBox = h('div', { class: 'campaign-preview card', hidden: true, 'data-testid': 'campaign-preview' });

  // --- the form
  const name = h('input', { id: 'campaign-name', type: 'text', maxlength: '200', placeholder: 'Spring sale', 'data-testid': 'campaign-name' });
  const channel = h('select', { id: 'campaign-channel', 'data-testid': 'campaign-channel' });
  const audienceKind = h('select', { id: 'campaign-audience-kind', 'data-testid': 'campaign-audience-kind' },
    h('option', { value: 'segment_id' }, 'Segment'), h('option', { value: 'list_id' }, 'List'), h('option', { value: 'tag' }, 'Tag'));
  const audienceList = h('select', { id: 'campaign-audience-list', 'data-testid': 'campaign-audience-list' });
  const audienceTag = h('input', { id: 'campaign-audience-tag', type: 'text', placeholder: 'vip', hidden: true, 'data-testid': 'campaign-audience-tag' });
  // One choice of content: a message written here, a canned reply (its id), or an approved
  // template (`content:<id>`, of the chosen number's kind).
  const template = h('select', { id: 'campaign-template', 'data-testid': 'campaign-template' }, h('option', { value: '' }, 'Write a message'));
  const replyGroup = h('optgroup', { label: 'Canned replies' });
  const approvedGroup = h('optgroup', { label: 'Approved templates', 'data-testid': 'campaign-approved-group' });
  template.append(replyGroup, approvedGroup);
  const valuesBox = h('div', { class: 'campaign-values', hidden: true, 'data-testid': 'campaign-values' });
  const quietOn = h('input', { id: 'campaign-quiet', type: 'checkbox', 'data-testid': 'campaign-quiet' });
  const quietStart = h('input', { id: 'campaign-quiet-start', type: 'time', value: '21:00', 'aria-label': 'Quiet from', 'data-testid': 'campaign-quiet-start' });
  const quietEnd = h('input', { id: 'campaign-quiet-end', type: 'time', value: '08:00', 'aria-label': 'Quiet until', 'data-testid': 'campaign-quiet-end' });
  const quietTimes = h('span', { class: 'row campaign-quiet', hidden: true }, 'from', quietStart, 'to', quietEnd, h('span', { class: 'muted small' }, "in each contact's time zone"));
  quietOn.addEventListener('change', () => { quietTimes.hidden = !quietOn.checked; });
  const body = h('textarea', { id: 'campaign-body', rows: '3', maxlength: '1600', placeholder: 'Hi {{contact.first_name}}, …', 'data-testid': 'campaign-body' });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'campaign-error' });
  let lists = [];
  let approved = []; // the team's approved templates (every kind)
  let chans = [];

  function fillAudience() {
    const kind = audienceKind.value;
    audienceTag.hidden = kind !== 'tag';
    audienceList.hidden = kind === 'tag';
    const want = kind === 'segment_id' ? 'segment' : 'static';
    audienceList.replaceChildren(...lists.filter((l) => l.kind === want)
      .map((l) => h('option', { value: l.id }, `${l.name} (${fmtCount(l.member_count)})`)));
  }
  audienceKind.addEventListener('change', fillAudience);
  const chosenApproved = () => (template.value.startsWith('content:') ? approved.find((t) => `content:${t.id}` === template.value) : null);

  // The approved templates of the chosen number's kind (a WhatsApp number's go out with their
  // ContentSid, also to contacts outside the 24-hour window).
  function fillApproved() {
    const kind = (chans.find((c) => c.id === channel.value) || {}).kind;
    const keep = template.value;
    approvedGroup.replaceChildren(...approved.filter((t) => t.channel_kind === kind)
      .map((t) => h('option', { value: `content:${t.id}` }, `${t.name}${t.content_sid ? '' : ' (no Content SID)'}`)));
    template.value = [...template.options].some((o) => o.value === keep) ? keep : '';
    onTemplate();
  }

  // Fields for an approved template's fixed values: one per variable; a variable with a default
  // may stay blank (filled in per contact).
  function onTemplate() {
    body.disabled = !!template.value;
    const t = chosenApproved();
    valuesBox.hidden = !t;
    if (!t) { valuesBox.replaceChildren(); return; }
    valuesBox.replaceChildren(h('p', { class: 'muted small' }, t.body), ...(t.variables || []).map((v) => h('label', { class: 'row' },
      h('span', null, `{{${v.key}}}`),
      h('input', {
        type: 'text', 'data-key': v.key, 'data-testid': 'campaign-value', maxlength: '1600',
        placeholder: v.default ? `per contact: ${v.default}` : (v.example ? `e.g. ${v.example}` : 'the same for everyone'),
      }))));
  }
  template.addEventListener('change', onTemplate);
  channel.addEventListener('change', fillApproved);

  const form = h('form', { class: 'card campaign-form', 'data-testid': 'campaign-form', 'aria-labelledby': 'campaign-form-title' },
    h('h2', { id: 'campaign-form-title' }, 'New campaign'),
    h('label', { for: 'campaign-name' }, 'Name'), name,
    h('label', { for: 'campaign-channel' }, 'From'), channel,
    h('label', { for: 'campaign-audience-kind' }, 'To'), h('div', { class: 'row' }, audienceKind, audienceList, audienceTag),
    h('label', { for: 'campaign-template' }, 'Template'), template,
    valuesBox,
    h('label', { for: 'campaign-body' }, 'Message'), body,
    h('label', { for: 'campaign-quiet' }, 'Quiet hours'), h('div', { class: 'row' }, quietOn, quietTimes),
    error,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary', 'data-testid': 'campaign-create' }, 'Create draft')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    const audience = audienceKind.value === 'tag' ? { tag: audienceTag.value } : { [audienceKind.value]: audienceList.value };
    const payload = { name: name.value, channel_id: channel.value, audience };
    const t = chosenApproved();
    if (t) {
      payload.content_template_id = t.id;
      const values = {};
      for (const input of valuesBox.querySelectorAll('input[data-key]')) if (input.value.trim()) values[input.dataset.key] = input.value;
      payload.content_variables = values;
    } else if (template.value) payload.template_id = template.value;
    else payload.body = body.value;
    if (quietOn.checked) payload.quiet_hours = { start: quietStart.value, end: quietEnd.value };
    try {
      const c = await api('POST', '/api/campaigns', payload);
      upsert(c, true);
      form.reset();
      body.disabled = false;
      quietTimes.hidden = true;
      fillAudience();
      fillApproved();
      toast('Draft created');
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  });

  main.replaceChildren(h('div', { class: 'campaigns-page', 'data-testid': 'campaigns-page' },
    h('h1', null, 'Campaigns'), form, previewBox, h('section', { 'aria-label': 'Campaigns' }, empty, list)));

  // --- one campaign's row
  function progressOf(c) {
    const k = c.counts || {};
    const sendable = Math.max(0, (k.total || 0) - (k.skipped || 0));
    const handed = (k.sent || 0) + (k.failed || 0);
    return sendable ? Math.min(1, handed / sendable) : (c.status === 'done' ? 1 : 0);
  }

  function render(c) {
    const k = c.counts || {};
    const r = c.rates || {};
    const pct = Math.round(progressOf(c) * 100);
    const bar = h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(pct), 'data-testid': 'campaign-progress' },
      h('div', { class: 'progress-fill', style: `width: ${pct}%` }));
    const eta = c.status === 'running' && typeof r.eta_seconds === 'number' ? `about ${fmtDuration(r.eta_seconds)} left` : '';
    const quiet = c.quiet_hours ? h('span', { class: 'muted small', 'data-testid': 'campaign-quiet-hours' }, `Quiet ${c.quiet_hours.start}–${c.quiet_hours.end} local`) : null;
    const held = k.held ? h('span', { class: 'campaign-stat', 'data-testid': 'campaign-held' }, `Held for quiet hours ${fmtCount(k.held)}`) : null;
    const stat = (key, label) => h('span', { class: 'campaign-stat', 'data-testid': `campaign-${key}` }, `${label} ${fmtCount(k[key] || 0)}`);
    const actions = (ACTIONS[c.status] || []).map((a) => h('button', {
      type: 'button', class: a === 'start' || a === 'resume' ? 'primary' : 'secondary', 'data-testid': `campaign-${a}`,
      onclick: () => act(c, a),
    }, LABELS[a]));
    if (c.status === 'draft' || c.status === 'scheduled') {
      actions.unshift(h('button', { type: 'button', class: 'secondary', 'data-testid': 'campaign-preview-button', onclick: () => preview(c) }, 'Preview'));
    }
    if (c.started_at) {
      actions.push(h('a', { class: 'button secondary', href: `/api/campaigns/${encodeURIComponent(c.id)}/recipients.csv`, download: '', 'data-testid': 'campaign-csv' }, 'Recipients CSV'));
    }
    return h('article', { class: 'card campaign', 'data-testid': 'campaign', 'data-id': c.id, 'data-status': c.status },
      h('div', { class: 'campaign-head' },
        h('h3', null, c.name), h('span', { class: `badge status-${c.status}`, 'data-testid': 'campaign-status' }, c.status),
        h('span', { class: 'muted small', 'data-testid': 'campaign-eta' }, eta), quiet),
      bar,
      c.failure ? h('p', { class: 'form-error campaign-failure', 'data-testid': 'campaign-failure' },
        `Could not be sent: ${c.failure}. Duplicate it, fix it and start the copy.`) : null,
      h('div', { class: 'campaign-stats muted small' },
        stat('total', 'Total'), stat('queued', 'Queued'), stat('sent', 'Sent'), stat('delivered', 'Delivered'),
        stat('failed', 'Failed'), stat('skipped', 'Skipped'), held, stat('replied', 'Replied'), stat('opted_out', 'Opted out'),
        h('span', { class: 'campaign-stat' }, `Delivery ${fmtRate(r.delivery)} · Replies ${fmtRate(r.reply)}`)),
      h('div', { class: 'row campaign-actions' }, ...actions));
  }

  function upsert(c, top) {
    const old = rows.get(c.id);
    const el = render(c);
    if (old) old.el.replaceWith(el);
    else if (top) list.prepend(el);
    else list.append(el);
    rows.set(c.id, { campaign: c, el });
    empty.hidden = rows.size > 0;
  }

  function remove(id) {
    const old = rows.get(id);
    if (old) old.el.remove();
    rows.delete(id);
    empty.hidden = rows.size > 0;
  }

  async function act(c, action) {
    try {
      if (action === 'delete') {
        if (!window.confirm(`Delete “${c.name}”?`)) return;
        await api('DELETE', `/api/campaigns/${encodeURIComponent(c.id)}`);
        remove(c.id);
        return;
      }
      if (action === 'cancel' && !window.confirm(`Cancel “${c.name}”? Recipients not yet sent to will be skipped.`)) return;
      const next = await api('POST', `/api/campaigns/${encodeURIComponent(c.id)}/${action}`);
      upsert(next, action === 'duplicate');
    } catch (err) {
      toast(err.message);
    }
  }

  async function preview(c) {
    try {
      const data = await api('GET', `/api/campaigns/${encodeURIComponent(c.id)}/preview`);
      const items = data.items || [];
      previewBox.replaceChildren(h('h2', null, `Preview: ${c.name}`),
        items.length ? h('ul', { class: 'preview-list' }, ...items.map((i) => h('li', { 'data-testid': 'campaign-preview-item', class: i.missing_variables.length ? 'missing' : '' },
          h('strong', null, `${i.name || i.phone}: `), h('span', { 'data-testid': 'campaign-preview-text' }, i.text),
          i.missing_variables.length ? h('span', { class: 'form-error', 'data-testid': 'campaign-preview-missing' }, ` — no value for ${i.missing_variables.join(', ')}: this contact will be skipped`) : null)))
          : h('p', { class: 'muted' }, 'Nobody in this audience can be sent to.'),
        h('button', { type: 'button', class: 'secondary', onclick: () => { previewBox.hidden = true; } }, 'Close'));
      previewBox.hidden = false;
    } catch (err) {
      toast(err.message);
    }
  }

  async function loadAll() {
    let cursor = null;
    const seen = new Set();
    do {
      const page = await api('GET', `/api/campaigns${qs({ cursor })}`);
      for (const c of page.items || []) {
        seen.add(c.id);
        upsert(c, false);
      }
      cursor = page.next_cursor;
    } while (cursor);
    for (const id of [...rows.keys()]) if (!seen.has(id)) remove(id);
    empty.hidden = rows.size > 0;
  }

  // --- choices for the form
  const [numbers, listPage, replies, templates] = await Promise.all([
    api('GET', '/api/numbers').catch(() => ({})),
    api('GET', '/api/lists?limit=200').catch(() => ({})),
    api('GET', '/api/replies?limit=100').catch(() => ({})),
    api('GET', '/api/templates?limit=200').catch(() => ({})),
  ]);
  // SMS first: a free-form WhatsApp campaign reaches only contacts who wrote in the last 24 h.
  chans = (numbers.numbers || []).slice().sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'sms' ? -1 : 1));
  channel.replaceChildren(...chans.map((c) => h('option', { value: c.id }, `${c.number} (${c.kind}${c.simulated ? ', simulated' : ''})`)));
  lists = listPage.items || [];
  fillAudience();
  replyGroup.append(...(replies.items || []).map((r) => h('option', { value: r.id }, `/${r.shortcut} — ${r.title}`)));
  approved = templates.items || [];
  fillApproved();

  connect();
  if (pusher) {
    const teamCh = pusher.subscribe(`presence-team-${team.id || me.team_id}`);
    teamCh.bind('campaign.updated', (data) => { if (data && data.id) upsert(data, !rows.has(data.id)); });
    teamCh.bind('campaign.deleted', (data) => { if (data && data.id) remove(data.id); });
    onReconnect(() => loadAll().catch(() => {}));
  }
  await loadAll();
}
