// Automation rules in the open conversation: each `rule.fired` event ({rule_id, name, message_id,
// actions, assigned_to, error}) is a line in the message timeline ("⚙ Rule “Refunds” assigned
// to Ben, added label Billing"), from the thread's snapshot (`rule_firings`) and live.

import { h, timeEl } from './dom.js';
import { shortTime } from './format.js';
import { labels } from './labels.js';
import { memberName } from './session.js';
import { view } from './state.js';

/** What a rule's actions do, in words (`assigned` names who a round robin picked, when known). */
export function describeActions(a, assigned) {
  const out = [];
  if (a.assign && a.assign.kind === 'round_robin') out.push(assigned ? `assign round robin (${memberName(assigned) || 'an agent'})` : 'assign round robin');
  if (a.assign && a.assign.kind === 'user') out.push(`assign to ${memberName(a.assign.user_id) || 'a member'}`);
  for (const id of a.add_labels || []) out.push(`add label ${(labels.get(id) || {}).name || '?'}`);
  if (a.priority) out.push(`set priority ${a.priority}`);
  if (a.reply) out.push('reply with the template');
  if (a.resolve) out.push('mark resolved');
  return out.join(', ');
}

/** Keeps a `rule.fired` event of the open thread (from the snapshot or live). */
export function upsertRuleFiring(ev) {
  if (!view || !ev || ev.thread_id !== view.id || !ev.data) return false;
  view.ruleFirings.set(ev.seq, ev);
  return true;
}

/** A firing's item in the messages list. */
export function ruleFiringItem(ev) {
  const d = ev.data;
  const did = describeActions(d.actions || {}, d.assigned_to);
  return h('li', { class: 'rule-fired muted small', 'data-testid': 'rule-fired', 'data-rule-id': d.rule_id },
    h('span', { 'aria-hidden': 'true' }, '⚙ '), `Rule “${d.name}”: ${did}`, d.error ? ` (not done: ${d.error})` : '',
    ' · ', timeEl(ev.created_at, shortTime(ev.created_at)));
}
