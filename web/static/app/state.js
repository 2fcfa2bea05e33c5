// The inbox page's shared state, in one place so every part of the inbox reads the same thing:
// the loaded thread summaries, filters, selection and tab counts, the threads deleted since the page loaded, the highest
// applied seq per thread, the open thread's live view, its presence channel and the page's
// elements. ES module bindings are read-only to importers, so the open thread and its channel
// change only through the setters below.

export const inbox = {
  threads: new Map(), // id -> ThreadSummary
  nextCursor: null,
  // view: the tab (open = open + pending, snoozed, resolved, all); mine / unassigned narrow it.
  filters: { view: 'open', unread: false, scheduled: false, channel: '', mine: false, unassigned: false, label: '', priority: '', sort: 'recent', search: '' },
  loadSeq: 0,
  deleted: new Set(), // ids of threads deleted (with their contact) since the page loaded
  selected: new Set(), // ids ticked for a bulk action
  cursorId: null, // the row j/k moved to (keyboard)
  counts: null, // GET /api/threads/counts
};

/** Highest applied seq per thread. */
export const seqs = new Map();

/** The inbox page's elements, filled in as its panes are built. */
export const els = {};

/** The open thread's id and live view (null when none is open). Live bindings. */
export let openId = null;
export let view = null;
/** The open thread's presence channel (null when none). A live binding. */
export let threadChannel = null;

export function setOpenThread(id, v) {
  openId = id;
  view = v;
}

export function setThreadChannel(ch) {
  threadChannel = ch;
}

export function newView(id) {
  return {
    id,
    thread: null,
    messages: new Map(),
    msgSeq: new Map(),
    notes: new Map(),
    calls: new Map(), // call_sid -> call
    ruleFirings: new Map(), // seq -> rule.fired event
    followUps: new Map(), // id -> follow-up
    applied: new Set(),
    baseline: 0,
    loading: true, // the first snapshot is on its way
    reloading: false, // a fresh snapshot replaces the view (a catch-up was told to reset)
    buffer: [], // live events that came while loading or reloading, applied once the snapshot is in
    catchingUp: false, // a catch-up (or the reload it led to) is running
    catchUpAgain: false, // one more was asked for meanwhile
    contact: null,
    contactVersion: 0, // bumped by each newer contact (a save, a contact.updated event)
    nextCursor: null,
    editing: null,
    editDraft: null,
    typers: new Map(), // user id -> timeout
    lastTypingSent: 0,
  };
}
