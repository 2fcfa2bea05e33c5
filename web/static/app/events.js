// A tiny local pub/sub for the inbox's modules: a module lower in the import graph asks for
// something a higher one owns (open a thread) by emitting a named event instead of importing it,
// so imports point one way. inbox.js subscribes at start-up. Events:
// - 'open-thread' { id, push, focus? }: open conversation `id` (push: add a history entry; focus:
//   {message_id} or {note_id} to scroll to and highlight, a search hit).
// - 'thread-deleted' { id }: conversation `id` was deleted; close it if it is the open one.
// - 'threads-changed' [ThreadSummary]: a bulk action's rows (bulk.js), upserted by inbox.js.
// - 'selection-changed': the list was drawn again; the bulk bar follows (bulk.js).

const handlers = new Map(); // name -> [fn]

/** Calls `fn(payload)` on every `emit(name, payload)`. */
export function on(name, fn) {
  if (!handlers.has(name)) handlers.set(name, []);
  handlers.get(name).push(fn);
}

/** Runs the handlers of `name` now, in order; the promise settles when all of theirs have. */
export function emit(name, payload) {
  return Promise.all((handlers.get(name) || []).map((fn) => fn(payload)));
}
