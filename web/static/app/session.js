// Who is signed in and where: the boot data the server renders into the page (a JSON block, since
// the CSP runs no inline script), the page being shown, the <main> element every page renders
// into, and the team's members (loaded from the API, shared by the inbox and settings).

import { api } from './api.js';
import { toast } from './dom.js';

const bootEl = document.getElementById('boot');
let bootData = {};
try {
  bootData = JSON.parse((bootEl && bootEl.textContent) || '{}') || {};
} catch (_) {
  bootData = {};
}
export const boot = bootData;
export const me = boot.user || {};
export const team = boot.team || {};
export const role = boot.role || me.role || 'agent';
export const isAdmin = role === 'admin';
export const page = document.body.dataset.page || 'inbox';
export const main = document.getElementById('main');

/** Team members by id: {id, name, email, role, active, online} (admins also get deactivated ones). */
export const members = new Map();
/** The active members: who can be assigned and mentioned. */
export let membersList = [];
/** Every member the API listed, deactivated ones included (the admin's members table). */
export let allMembersList = [];

export async function loadMembers() {
  try {
    const data = await api('GET', '/api/team/members');
    allMembersList = (data && data.members) || [];
    membersList = allMembersList.filter((m) => m.active !== false);
    members.clear();
    for (const m of allMembersList) members.set(m.id, m);
  } catch (err) {
    if (err.status !== 401) toast(`Could not load team members: ${err.message}`, { kind: 'error' });
  }
}

export function memberName(id) {
  const m = members.get(id);
  return m ? m.name : null;
}
