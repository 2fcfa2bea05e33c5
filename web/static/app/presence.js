// Who else is on the open thread: viewer avatars from the thread's presence channel, the
// "… is typing" line (client-typing events, each expiring after 8 s unless refreshed), and this
// agent's own typing signal, sent at most every 2 s while the composer has text.

import { avatar } from './dom.js';
import { me, memberName } from './session.js';
import { els, threadChannel, view } from './state.js';

export function renderViewers() {
  if (!threadChannel || !threadChannel.members) return;
  const others = [];
  threadChannel.members.each((m) => {
    if (m.id !== me.id) others.push(m);
  });
  els.viewers.replaceChildren(...others.map((m) => {
    const name = (m.info && m.info.name) || memberName(m.id) || 'Teammate';
    return avatar(m.id, name, { class: 'avatar viewer', 'data-testid': 'viewer', 'data-user-id': m.id, title: `${name} is viewing`, 'aria-label': `${name} is viewing` });
  }));
}

/** Tells the thread's other viewers this agent is typing (throttled; only with text in the composer). */
export function sendTyping() {
  if (!threadChannel || !threadChannel.subscribed || !view) return;
  if (!els.body.value.trim()) return;
  const now = Date.now();
  if (now - view.lastTypingSent < 2000) return;
  view.lastTypingSent = now;
  threadChannel.trigger('client-typing', { typing: true });
}

export function onTyping(data, meta) {
  if (!view) return;
  // Only the server-set id counts: the server also overwrites `data.user_id`, so a teammate
  // cannot type as someone else.
  const uid = meta && meta.user_id;
  if (!uid || uid === me.id) return;
  clearTimeout(view.typers.get(uid));
  if (data && data.typing) {
    view.typers.set(uid, setTimeout(() => {
      if (!view) return;
      view.typers.delete(uid);
      renderTyping();
    }, 8000));
  } else {
    view.typers.delete(uid);
  }
  renderTyping();
}

function typerName(uid) {
  if (threadChannel && threadChannel.members) {
    const m = threadChannel.members.get(uid);
    if (m && m.info && m.info.name) return m.info.name;
  }
  return memberName(uid) || 'Someone';
}

export function renderTyping() {
  if (!els.typing) return;
  const names = view ? [...view.typers.keys()].map(typerName) : [];
  if (!names.length) {
    els.typing.hidden = true;
    els.typing.textContent = '';
    return;
  }
  els.typing.textContent = names.length === 1 ? `${names[0]} is typing…` : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]} are typing…`;
  els.typing.hidden = false;
}
