//! Event type names, spelled once: the thread log's, the team channel's and the user
//! channel's.

pub const MESSAGE_CREATED: &str = "message.created";
pub const MESSAGE_UPDATED: &str = "message.updated";
pub const NOTE_CREATED: &str = "note.created";
pub const THREAD_CREATED: &str = "thread.created";
pub const THREAD_UPDATED: &str = "thread.updated";
pub const THREAD_READ: &str = "thread.read";
pub const THREAD_DELETED: &str = "thread.deleted";
pub const CONTACT_UPDATED: &str = "contact.updated";
/// Team channel: a contact was created, changed, deleted, restored or purged
/// (`{action, id, contact}`), for the contacts pages.
pub const CONTACT_CHANGED: &str = "contact.changed";
/// Team channel: a member's role or active state changed (`{member}`).
pub const MEMBER_UPDATED: &str = "member.updated";
/// Team channel: a member left the team (`{id}`).
pub const MEMBER_REMOVED: &str = "member.removed";
/// Team channel: a team reply was created or changed (`{reply}`). A personal reply's change
/// goes to its owner's user channel instead.
pub const REPLY_CHANGED: &str = "reply.changed";
/// Team channel (or the owner's user channel): a reply was deleted (`{id, scope}`).
pub const REPLY_DELETED: &str = "reply.deleted";
pub const MENTION: &str = "mention";
/// User channel: a snoozed conversation assigned to the user opened again (`{thread_id, thread}`).
pub const SNOOZE_ENDED: &str = "snooze.ended";
/// A user's private channel: an import of theirs moved on (`ImportJob`).
pub const IMPORT_PROGRESS: &str = "import.progress";
/// Team channel: an import ended having created or changed contacts (`{job_id, created,
/// updated}`): open contacts pages reload rather than hear one event per row.
pub const CONTACTS_IMPORTED: &str = "contacts.imported";
/// Team channel: a list was created, changed or deleted (`{list}` / `{id}`).
pub const LIST_UPDATED: &str = "list.updated";
pub const LIST_DELETED: &str = "list.deleted";
/// Team channel: the team's automatic assignment setting changed (`AutoAssignment`).
pub const AUTO_ASSIGNMENT_CHANGED: &str = "auto_assignment.changed";
/// Team channel: a label was created or changed (`{label}`).
pub const LABEL_CHANGED: &str = "label.changed";
/// Team channel: a label was deleted, and taken off every conversation (`{id}`).
pub const LABEL_DELETED: &str = "label.deleted";
/// Team channel: an approved template was created, changed or synced (`{template}`).
pub const TEMPLATE_UPDATED: &str = "template.updated";
/// Team channel: a template was deleted (`{id}`).
pub const TEMPLATE_DELETED: &str = "template.deleted";
/// A user's private channel: they marked a conversation unread (`{thread_id, thread}`).
pub const THREAD_UNREAD: &str = "thread.unread";
pub const TYPING: &str = "client-typing";
/// Thread channel: a call to the thread's number ended (`Call`).
pub const CALL: &str = "call";
/// Thread channel (ThreadEvent) and team channel (`{follow_up}`): a follow-up was created or
/// changed.
pub const FOLLOW_UP_CREATED: &str = "follow_up.created";
pub const FOLLOW_UP_UPDATED: &str = "follow_up.updated";
/// Thread channel (ThreadEvent): an automation rule fired on an inbound message
/// (`{rule_id, name, message_id, actions, assigned_to}`).
pub const RULE_FIRED: &str = "rule.fired";
/// Team channel: the team's business hours or auto-replies changed (the hours' view).
pub const BUSINESS_HOURS_CHANGED: &str = "business_hours.changed";
/// Team channel: the team's automation rules changed (`{items}`, in order).
pub const RULES_CHANGED: &str = "rules.changed";
