// The top bar every app page shares: team name, simulator badge, which nav link is current (the
// Settings link only for admins), who is signed in, the notifications bell, and signing out.

import { toSignIn } from './api.js';
import { avatar, h } from './dom.js';
import { startBell } from './notifications.js';
import { leave } from './realtime.js';
import { isAdmin, me, page, role, team } from './session.js';

export function renderHeader() {
  const teamName = document.getElementById('team-name');
  if (teamName) {
    teamName.textContent = team.name || 'Switchboard';
    teamName.title = teamName.textContent; // the phone header may cut it short
  }
  const sim = document.getElementById('simulator-badge');
  if (sim) sim.hidden = !team.simulator_mode;
  const settingsLink = document.getElementById('settings-link');
  if (settingsLink) {
    settingsLink.hidden = !isAdmin;
    if (!isAdmin) settingsLink.remove();
    else if (page === 'settings' || page === 'audit') settingsLink.setAttribute('aria-current', 'page');
  }
  const inboxLink = document.getElementById('inbox-link');
  if (inboxLink && page === 'inbox') inboxLink.setAttribute('aria-current', 'page');
  const contactsLink = document.getElementById('contacts-link');
  if (contactsLink && page === 'contacts') contactsLink.setAttribute('aria-current', 'page');
  const securityLink = document.getElementById('security-link');
  if (securityLink && page === 'security') securityLink.setAttribute('aria-current', 'page');
  const repliesLink = document.getElementById('replies-link');
  if (repliesLink && page === 'replies') repliesLink.setAttribute('aria-current', 'page');
  const campaignsLink = document.getElementById('campaigns-link');
  if (campaignsLink && page === 'campaigns') campaignsLink.setAttribute('aria-current', 'page');
  const dashboardLink = document.getElementById('dashboard-link');
  if (dashboardLink && page === 'dashboard') dashboardLink.setAttribute('aria-current', 'page');
  const meName = document.getElementById('me-name');
  if (meName) {
    meName.replaceChildren(avatar(me.id, me.name || me.email || 'Me', { 'data-testid': 'me-avatar' }),
      h('span', { class: 'me-text' }, me.name || me.email || ''), h('span', { class: 'role-tag' }, role));
  }
  startBell();
  const out = document.getElementById('sign-out');
  if (out) {
    out.addEventListener('click', async () => {
      out.disabled = true;
      try {
        leave();
        await fetch('/api/auth/sign-out', { method: 'POST', credentials: 'same-origin' });
      } catch (_) { /* we leave anyway */ }
      toSignIn();
    });
  }
}
