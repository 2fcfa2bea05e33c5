// Keeps the inbox page in step with the server over the socket (see the realtime model in main.js):
// the open thread's presence channel and its events (applied once each, in seq order, buffered
// while the thread loads; a contact.updated goes to the contact card), the team channel's thread
// summaries and who is online, thread.deleted on either channel (the row goes; an open view of it
// is closed by thread.js, asked with a 'thread-deleted' event), my private user channel (private
// notes, reads and unread marks from my other tabs, mentions), label changes, canned reply changes (to the picker), and the catch-up by seq after a reconnect (or a
// fresh snapshot when the server says the gap is too large; a thread gone meanwhile is closed).

import { api, qs } from './api.js';
import { applyContactChange, loadContact } from './contact.js';
import { toast } from './dom.js';
import { emit } from './events.js';
import { applyLabelChanged, applyLabelDeleted } from './labels.js';
import { loadThreads, removeThread, scheduleMarkRead, scheduleRenderList, upsertThread } from './list.js';
import { upsertCall } from './calls.js';
import { upsertRuleFiring } from './rule-firings.js';
import { refreshMyFollowUps, upsertFollowUp } from './follow-ups.js';
import { renderMessages, upsertMessage } from './messages.js';
import { renderNotes, upsertNote } from './notes.js';
import { onTyping, renderTyping, renderViewers } from './presence.js';
import { pusher } from './realtime.js';
import { bindReplyEvents } from './replies-picker.js';
import { bindTemplateEvents } from './templates-picker.js';
import { loadMembers, me, membersList, team } from './session.js';
import { els, inbox, openId, seqs, setThreadChannel, view } from './state.js';

// ---------------------------------------------------------------- thread channel

export function subscribeThread(id) {
  if (!pusher) return;
  const ch = pusher.subscribe(`presence-thread-${id}`);
  ch.unbind_all(); // a channel object pusher-js reuses must not keep an older thread's handlers
  setThreadChannel(ch);
  ch.bind('pusher:subscription_succeeded', () => {
    if (openId !== id || !view) return;
    renderViewers();
    // Events committed between our snapshot and the subscription would be lost: ask for them.
    view.subscribedOnce = true;
    if (!view.loading) catchUp(id);
  });
  ch.bind('pusher:subscription_error', (status) => {
    if (openId !== id) return;
    const code = status && status.status;
    toast(`Live updates for this conversation are unavailable${code ? ` (${code})` : ''}.`, { kind: 'error' });
  });
  ch.bind('pusher:member_added', () => { if (openId === id) renderViewers(); });
  ch.bind('pusher:member_removed', (member) => {
    if (openId !== id) return;
    if (member && view && view.typers.has(member.id)) {
      clearTimeout(view.typers.get(member.id));
      view.typers.delete(member.id);
      renderTyping();
    }
    renderViewers();
  });
  for (const name of ['message.created', 'message.updated', 'note.created', 'thread.updated', 'contact.updated', 'call', 'follow_up.created', 'follow_up.updated', 'rule.fired']) {
    ch.bind(name, (data) => onThreadEvent(data, name, id));
  }
  // Not a ThreadEvent (no seq): the thread and its log are gone, so it is applied even mid-load.
  ch.bind('thread.deleted', (data) => onThreadDeleted(data, id));
  ch.bind('client-typing', (data, meta) => { if (openId === id) onTyping(data, meta); });
  if (ch.subscribed) renderViewers();
}

function onThreadEvent(ev, name, channelThread) {
  if (!ev || typeof ev !== 'object') return;
  const tid = ev.thread_id || channelThread;
  if (!view || tid !== view.id) {
    // Not the open thread: remember its seq, the inbox learns the rest from the team channel.
    return;
  }
  if (view.loading || view.reloading) {
    view.buffer.push([ev, name]);
    return;
  }
  applyEvent(ev, name);
}

/**
 * Moves the thread's catch-up point over every seq this tab now has without a gap. A live event
 * that arrives after a gap (one lost while a node's bus link was down) does not move it past the
 * gap, so the next catch-up asks for what is missing. Another agent's private note is a gap that
 * never fills; the catch-up's `last_seq` closes it.
 */
function advanceSeq(id) {
  let known = Math.max(seqs.get(id) || 0, view.baseline || 0);
  while (view.applied.has(known + 1)) known += 1;
  seqs.set(id, known);
}

/** Applies one ThreadEvent to the open thread: idempotent, duplicates and stale seqs ignored. */
export function applyEvent(ev, name) {
  if (!view) return;
  const seq = Number(ev.seq);
  if (Number.isFinite(seq)) {
    if (seq <= view.baseline || view.applied.has(seq)) return; // already in the snapshot or applied
    view.applied.add(seq);
    advanceSeq(view.id);
  }
  const type = ev.type || name;
  const data = ev.data;
  if (!data) return;
  if (type === 'message.created' || type === 'message.updated') {
    upsertMessage(data, Number.isFinite(seq) ? seq : null);
    if (data.direction === 'inbound' && type === 'message.created') {
      scheduleMarkRead();
      const wrap = els.messagesWrap;
      if (wrap.scrollHeight - wrap.scrollTop - wrap.clientHeight > 200) {
        toast('New message below', { ms: 3000 });
      }
    }
  } else if (type === 'note.created') {
    upsertNote(data);
  } else if (type === 'thread.updated') {
    upsertThread(data);
  } else if (type === 'contact.updated') {
    applyContactChange(data);
  } else if (type === 'call') {
    if (upsertCall(data)) renderMessages(true);
  } else if (type === 'rule.fired') {
    if (upsertRuleFiring(ev)) renderMessages(false);
  } else if (type === 'follow_up.created' || type === 'follow_up.updated') {
    upsertFollowUp(data);
  }
}

/**
 * thread.deleted `{id, thread_id}` (its contact was deleted with its threads), from the team
 * channel or the thread's own: the row leaves the list for good, and an open view of it closes
 * with a notice. Both channels bring it; the second finds nothing left to do.
 */
function onThreadDeleted(data, channelThread) {
  const id = (data && (data.thread_id || data.id)) || channelThread;
  if (!id) return;
  removeThread(id);
  if (openId === id) emit('thread-deleted', { id });
}

// ---------------------------------------------------------------- team + user channels

export function subscribeTeamAndUser() {
  if (!pusher) return;
  const teamCh = pusher.subscribe(`presence-team-${team.id || me.team_id}`);
  const onSummary = (t) => upsertThread(t);
  teamCh.bind('thread.created', onSummary);
  teamCh.bind('thread.updated', onSummary);
  teamCh.bind('thread.deleted', (data) => onThreadDeleted(data));
  // The team's labels: chips, filters and pickers follow.
  teamCh.bind('label.changed', (data) => { applyLabelChanged(data); scheduleRenderList(); });
  teamCh.bind('label.deleted', (data) => {
    applyLabelDeleted(data);
    // The label left every conversation in the server's one statement: drop it from the rows.
    for (const [id, t] of inbox.threads) {
      if ((t.label_ids || []).includes(data && data.id)) inbox.threads.set(id, Object.assign({}, t, { label_ids: t.label_ids.filter((l) => l !== data.id) }));
    }
    scheduleRenderList();
  });
  teamCh.bind('follow_up.created', () => refreshMyFollowUps());
  teamCh.bind('follow_up.updated', () => refreshMyFollowUps());
  // A member's role or active state changed: the assignee and mention lists follow.
  teamCh.bind('member.updated', () => loadMembers());
  teamCh.bind('member.removed', () => loadMembers());
  const markOnline = () => {
    for (const m of membersList) m.online = !!(teamCh.members && teamCh.members.get(m.id));
  };
  teamCh.bind('pusher:subscription_succeeded', () => {
    markOnline();
    // A conversation that changed between the list's first read and this subscription would
    // keep its old row until its next change: read the list once more, now that we hear it.
    loadThreads();
  });
  teamCh.bind('pusher:member_added', markOnline);
  teamCh.bind('pusher:member_removed', markOnline);
  // The composer's canned replies: the team's on the team channel, my own on my user channel.
  bindReplyEvents(teamCh);
  bindTemplateEvents(teamCh);

  const userCh = pusher.subscribe(`private-user-${me.id}`);
  bindReplyEvents(userCh);
  userCh.bind('thread.read', (data) => {
    if (!data) return;
    const id = data.thread_id || (data.thread && data.thread.id);
    if (data.thread && data.thread.id) upsertThread(data.thread);
    const t = inbox.threads.get(id);
    if (t && (t.unread_count || t.marked_unread)) {
      inbox.threads.set(id, Object.assign({}, t, { unread_count: 0, marked_unread: false }));
      scheduleRenderList();
    }
  });
  // I marked a conversation unread on another tab: it shows unread here too.
  userCh.bind('thread.unread', (data) => { if (data && data.thread) upsertThread(data.thread); });
  userCh.bind('note.created', (ev) => onThreadEvent(ev, 'note.created', ev && ev.thread_id));
  userCh.bind('snooze.ended', (data) => {
    if (!data || !data.thread) return;
    upsertThread(data.thread);
    const c = data.thread.contact || {};
    toast(`The conversation with ${c.name || c.phone || 'a contact'} is open again (snooze ended)`, { action: { label: 'Open', run: () => emit('open-thread', { id: data.thread_id, push: true }) } });
  });
  userCh.bind('mention', (data) => {
    if (!data) return;
    const by = data.by || (data.note && data.note.author_name) || 'Someone';
    const t = inbox.threads.get(data.thread_id);
    const where = t && t.contact ? ` in ${t.contact.name || t.contact.phone}` : '';
    toast(`${by} mentioned you${where}`, { action: { label: 'Open', run: () => emit('open-thread', { id: data.thread_id, push: true }) } });
  });
}

// ---------------------------------------------------------------- catch-up after a reconnect

export async function resync() {
  loadThreads();
  if (!view || view.loading || view.failed) return;
  await catchUp(view.id);
}

/**
 * Applies what the open thread missed since its highest seq (or reloads it when told to). One at
 * a time per view: the reconnect hook and the thread channel's resubscription both ask, and a
 * catch-up asked for while one runs (its reload included) is done once more after it, from where
 * the first one got to. Two at once would both be told to reset and reload the thread twice.
 */
export async function catchUp(id) {
  const v = view;
  if (!v || v.id !== id || v.loading) return;
  if (v.catchingUp) {
    v.catchUpAgain = true;
    return;
  }
  v.catchingUp = true;
  try {
    do {
      v.catchUpAgain = false;
      await catchUpOnce(v);
    } while (v.catchUpAgain && view === v);
  } finally {
    v.catchingUp = false;
  }
}

async function catchUpOnce(v) {
  const id = v.id;
  const after = seqs.get(id) || v.baseline || 0;
  try {
    const data = await api('GET', `/api/threads/${encodeURIComponent(id)}/events${qs({ after })}`);
    if (view !== v) return;
    if (data.reset_required) {
      await reloadThread(v);
      return;
    }
    for (const ev of data.events || []) applyEvent(ev, ev.type);
    if (Number(data.last_seq) > (seqs.get(id) || 0)) seqs.set(id, Number(data.last_seq));
  } catch (err) {
    if (err.status === 404) onThreadDeleted({ thread_id: id }); // deleted while we were away
    else if (err.status !== 401) await reloadThread(v);
  }
}

/**
 * Replaces the open thread's state with a fresh snapshot, without a page reload: its messages,
 * notes, summary and contact card (what was missed may include changes to the contact). The
 * socket is live meanwhile: its events wait in the view's buffer, and those the snapshot does not
 * have are applied on top of it, so none is lost when the snapshot lands.
 */
async function reloadThread(v) {
  const id = v.id;
  v.reloading = true;
  try {
    const data = await api('GET', `/api/threads/${encodeURIComponent(id)}`);
    if (view !== v) return;
    v.thread = data.thread;
    v.baseline = Number(data.thread.last_seq) || 0;
    v.applied.clear();
    seqs.set(id, v.baseline);
    v.messages.clear();
    v.msgSeq.clear();
    for (const m of data.messages || []) {
      v.messages.set(m.id, m);
      v.msgSeq.set(m.id, v.baseline);
    }
    v.notes.clear();
    for (const n of data.notes || []) v.notes.set(n.id, n);
    v.calls.clear();
    for (const c of data.calls || []) upsertCall(c);
    v.followUps.clear();
    for (const f of data.follow_ups || []) upsertFollowUp(f);
    v.nextCursor = data.next_cursor || null;
    // The row and the header; missed messages from the contact are read for real once this tab
    // is visible (list.js), as when they come live.
    upsertThread(data.thread);
    renderMessages(true);
    renderNotes();
    loadContact(data.thread.contact && data.thread.contact.id);
  } catch (err) {
    if (err.status === 404) onThreadDeleted({ thread_id: id });
    else toast(`Could not refresh the conversation: ${err.message}`, { kind: 'error' });
  } finally {
    v.reloading = false;
    const buffered = v.buffer;
    v.buffer = [];
    if (view === v) for (const [ev, name] of buffered) applyEvent(ev, name);
  }
}
