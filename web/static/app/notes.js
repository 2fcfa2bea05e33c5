// Internal notes on the open thread (public to the team, or private to their author): the notes
// card, rendering with highlighted @mentions, adding a note (Ctrl+Enter too), and the @mention
// autocomplete of teammates (arrow keys, Enter/Tab to choose, Escape to close).

import { api } from './api.js';
import { avatar, h, timeEl } from './dom.js';
import { shortTime, toDate } from './format.js';
import { memberName, membersList } from './session.js';
import { els, view } from './state.js';

/** The notes card of the right pane: the list, the empty hint and the new-note form. */
export function buildNotesCard() {
  els.notes = h('ol', { class: 'notes', 'data-testid': 'notes', 'aria-label': 'Notes' });
  els.notesEmpty = h('p', { class: 'muted small', 'data-testid': 'notes-empty' }, 'No notes yet. Notes are internal: the contact never sees them.');
  els.noteBody = h('textarea', { id: 'note-body', rows: '3', placeholder: 'Add a note… type @ to mention a teammate', 'data-testid': 'note-body', 'aria-autocomplete': 'list', 'aria-controls': 'mention-list', 'aria-expanded': 'false' });
  els.mentionList = h('ul', { id: 'mention-list', class: 'mention-list', role: 'listbox', 'aria-label': 'Mention a teammate', 'data-testid': 'mention-list', hidden: true });
  els.noteVisibility = h('select', { id: 'note-visibility', 'data-testid': 'note-visibility' },
    h('option', { value: 'public' }, 'Public (team)'), h('option', { value: 'private' }, 'Private (only me)'));
  els.noteError = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'note-error', hidden: true });
  els.noteForm = h('form', { class: 'note-form', 'data-testid': 'note-form', novalidate: true, onsubmit: (e) => { e.preventDefault(); addNote(); } },
    h('label', { for: 'note-body' }, 'New note'),
    h('div', { class: 'mention-wrap' }, els.noteBody, els.mentionList),
    h('div', { class: 'note-actions' },
      h('label', { for: 'note-visibility', class: 'sr-only' }, 'Visibility'), els.noteVisibility,
      h('button', { type: 'submit', class: 'secondary', 'data-testid': 'add-note' }, 'Add note')),
    els.noteError);
  setupMentions();
  return h('section', { class: 'card' }, h('h2', null, 'Notes'), els.notesEmpty, els.notes, els.noteForm);
}

export function upsertNote(n) {
  if (!view || !n || n.thread_id !== view.id) return;
  const isNew = !view.notes.has(n.id);
  view.notes.set(n.id, n);
  renderNotes(isNew);
}

export function renderNotes(scrollToEnd) {
  if (!view) return;
  const notes = [...view.notes.values()].sort((a, b) => {
    const da = toDate(a.created_at);
    const db = toDate(b.created_at);
    return ((da ? da.getTime() : 0) - (db ? db.getTime() : 0)) || (a.id < b.id ? -1 : 1);
  });
  els.notes.replaceChildren(...notes.map(noteItem));
  els.notesEmpty.hidden = notes.length > 0;
  if (scrollToEnd && els.notes.lastElementChild) els.notes.lastElementChild.scrollIntoView({ block: 'nearest' });
}

function mentionPattern() {
  const names = membersList.map((m) => m.name).filter(Boolean).sort((a, b) => b.length - a.length);
  if (!names.length) return null;
  const esc = names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`@(${esc.join('|')})`, 'g');
}

function noteBody(text) {
  const out = h('div', { class: 'note-body', 'data-testid': 'note-body-text' });
  const re = mentionPattern();
  if (!re) {
    out.textContent = text;
    return out;
  }
  let last = 0;
  let m;
  while ((m = re.exec(text)) !== null) {
    if (m.index > last) out.append(text.slice(last, m.index));
    out.append(h('span', { class: 'mention' }, m[0]));
    last = m.index + m[0].length;
  }
  if (last < text.length) out.append(text.slice(last));
  return out;
}

function noteItem(n) {
  const priv = n.visibility === 'private';
  return h('li', { class: `note${priv ? ' private' : ''}`, 'data-testid': 'note', 'data-note-id': n.id, 'data-visibility': n.visibility },
    h('div', { class: 'note-head' },
      avatar(n.author_id, n.author_name || memberName(n.author_id) || '?', { class: 'avatar avatar-xs' }),
      h('strong', null, n.author_name || memberName(n.author_id) || 'Someone'),
      priv ? h('span', { class: 'private-tag', 'data-testid': 'note-private' }, 'Private') : null,
      h('span', { class: 'muted small' }, timeEl(n.created_at, shortTime(n.created_at)))),
    noteBody(n.body || ''));
}

async function addNote() {
  if (!view) return;
  const body = els.noteBody.value.trim();
  els.noteError.hidden = true;
  if (!body) {
    els.noteError.textContent = 'Write the note first.';
    els.noteError.hidden = false;
    return;
  }
  const id = view.id;
  try {
    const note = await api('POST', `/api/threads/${encodeURIComponent(id)}/notes`, { body, visibility: els.noteVisibility.value });
    if (view && view.id === id) {
      els.noteBody.value = '';
      closeMentions();
      if (note && note.id) upsertNote(note);
    }
  } catch (err) {
    els.noteError.textContent = err.message;
    els.noteError.hidden = false;
  }
}

// ---------------------------------------------------------------- @mention autocomplete

const mention = { open: false, start: -1, items: [], active: 0 };

function setupMentions() {
  const ta = els.noteBody;
  ta.addEventListener('input', updateMentions);
  ta.addEventListener('click', updateMentions);
  ta.addEventListener('blur', () => setTimeout(closeMentions, 150));
  ta.addEventListener('keydown', (e) => {
    if (!mention.open) {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        addNote();
      }
      return;
    }
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const n = mention.items.length;
      mention.active = (mention.active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
      renderMentionList();
    } else if (e.key === 'Enter' || e.key === 'Tab') {
      e.preventDefault();
      chooseMention(mention.items[mention.active]);
    } else if (e.key === 'Escape') {
      e.preventDefault();
      closeMentions();
    }
  });
}

function updateMentions() {
  const ta = els.noteBody;
  const caret = ta.selectionStart;
  const before = ta.value.slice(0, caret);
  const at = before.lastIndexOf('@');
  if (at < 0 || (at > 0 && !/\s/.test(before[at - 1]))) return closeMentions();
  const query = before.slice(at + 1);
  if (query.length > 30 || /[\n@]/.test(query)) return closeMentions();
  const q = query.toLowerCase();
  const items = membersList.filter((m) => m.name && (m.name.toLowerCase().startsWith(q) || m.name.toLowerCase().split(/\s+/).some((w) => w.startsWith(q)))).slice(0, 8);
  if (!items.length) return closeMentions();
  mention.open = true;
  mention.start = at;
  mention.items = items;
  mention.active = Math.min(mention.active, items.length - 1);
  renderMentionList();
}

function renderMentionList() {
  els.mentionList.replaceChildren(...mention.items.map((m, i) => h('li', {
    role: 'option',
    id: `mention-opt-${i}`,
    class: i === mention.active ? 'active' : '',
    'aria-selected': i === mention.active ? 'true' : 'false',
    'data-testid': 'mention-option',
    'data-user-id': m.id,
    onmousedown: (e) => { e.preventDefault(); chooseMention(m); },
  }, avatar(m.id, m.name, { class: 'avatar avatar-xs' }), h('span', null, m.name), h('span', { class: 'muted small' }, m.email || ''))));
  els.mentionList.hidden = false;
  els.noteBody.setAttribute('aria-expanded', 'true');
  els.noteBody.setAttribute('aria-activedescendant', `mention-opt-${mention.active}`);
}

function chooseMention(m) {
  if (!m) return;
  const ta = els.noteBody;
  const caret = ta.selectionStart;
  const insert = `@${m.name} `;
  ta.value = ta.value.slice(0, mention.start) + insert + ta.value.slice(caret);
  const pos = mention.start + insert.length;
  ta.setSelectionRange(pos, pos);
  closeMentions();
  ta.focus();
}

function closeMentions() {
  mention.open = false;
  mention.items = [];
  mention.active = 0;
  if (els.mentionList) els.mentionList.hidden = true;
  if (els.noteBody) {
    els.noteBody.setAttribute('aria-expanded', 'false');
    els.noteBody.removeAttribute('aria-activedescendant');
  }
}
