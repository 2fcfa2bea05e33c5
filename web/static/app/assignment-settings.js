// The settings page's "Automatic assignment" card: switch it on for the team and set the cap of
// open conversations per agent. When on, a customer's message to a conversation nobody has goes
// round robin to the agents online now who are under the cap (actors/src/assignment.rs). Live:
// `auto_assignment.changed` on the team channel (another admin's change, any node).

import { api } from './api.js';
import { h, toast } from './dom.js';

/** Answers `{el, load(), bind(channel)}`. */
export function assignmentCard() {
  const enabled = h('input', { type: 'checkbox', id: 'auto-assign-enabled', 'data-testid': 'auto-assign-enabled' });
  const capped = h('input', { type: 'checkbox', id: 'auto-assign-capped', 'data-testid': 'auto-assign-capped' });
  const cap = h('input', { type: 'number', id: 'auto-assign-cap', min: 1, max: 1000, value: 10, 'aria-label': 'Open conversations per agent', 'data-testid': 'auto-assign-cap' });
  const status = h('p', { class: 'form-note', role: 'status', 'data-testid': 'auto-assign-status' });
  const save = h('button', { type: 'submit', class: 'primary', 'data-testid': 'auto-assign-save' }, 'Save');
  const form = h('form', { class: 'stack', 'data-testid': 'auto-assign-form' },
    h('label', { class: 'check' }, enabled, ' Assign new conversations automatically'),
    h('p', { class: 'muted small' }, 'A customer’s message to a conversation nobody has goes to the next agent in turn among those online now (the inbox open), skipping anyone at their limit. Nobody online: it waits unassigned.'),
    h('label', { class: 'check' }, capped, ' At most ', cap, ' open conversations per agent'),
    save, status);

  function show(s) {
    enabled.checked = !!s.enabled;
    capped.checked = s.max_open_per_agent != null;
    if (s.max_open_per_agent != null) cap.value = s.max_open_per_agent;
    cap.disabled = !capped.checked;
  }
  capped.addEventListener('change', () => { cap.disabled = !capped.checked; });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.textContent = '';
    status.classList.remove('error');
    save.disabled = true;
    try {
      const body = { enabled: enabled.checked, max_open_per_agent: capped.checked ? Number(cap.value) : null };
      show(await api('PUT', '/api/team/auto-assignment', body));
      status.textContent = 'Saved.';
    } catch (err) {
      status.textContent = err.message;
      status.classList.add('error');
    } finally {
      save.disabled = false;
    }
  });

  const el = h('section', { class: 'card', 'aria-labelledby': 'auto-assign-title', 'data-testid': 'auto-assign' },
    h('h2', { id: 'auto-assign-title' }, 'Automatic assignment'), form);

  return {
    el,
    async load() {
      try {
        show(await api('GET', '/api/team/auto-assignment'));
      } catch (err) {
        toast(`Could not load automatic assignment: ${err.message}`, { kind: 'error' });
      }
    },
    bind(channel) {
      channel.bind('auto_assignment.changed', (s) => { if (s) show(s); });
    },
  };
}
