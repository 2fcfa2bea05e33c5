//! Who hears of what, written once. A notification is a fact about a thread that one person
//! should not miss: a mention of them in a public note, the thread assigned to them (by someone
//! else), a customer's message on their thread (or, by preference, on an unassigned one), their
//! snoozed thread waking, a send of theirs failing. `facts` reads them off the events a thread's
//! commit produced, so the thread actor derives them in one place after each commit; each fact
//! has a key that names it for good (`thread:seq`, or the failed message), unique per recipient
//! in the store, so it is stored once whoever tells it twice.

use crate::domain::ThreadEvent;
use crate::domain::ThreadSummary;
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// What a notification is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    Mention,
    Assigned,
    Inbound,
    SnoozeEnded,
    SendFailed,
    FollowUpDue,
}

impl NotificationKind {
    pub const ALL: [NotificationKind; 6] =
        [Self::Mention, Self::Assigned, Self::Inbound, Self::SnoozeEnded, Self::SendFailed, Self::FollowUpDue];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mention => "mention",
            Self::Assigned => "assigned",
            Self::Inbound => "inbound",
            Self::SnoozeEnded => "snooze_ended",
            Self::SendFailed => "send_failed",
            Self::FollowUpDue => "follow_up_due",
        }
    }

    pub fn parse(s: &str) -> DomainResult<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| DomainError::invalid("kinds", format!("unknown kind: {s}")))
    }
}

/// Whom a fact is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipients {
    Users(Vec<UserId>),
    /// Every active member of the team who opted in to inbound messages on unassigned threads.
    UnassignedWatchers,
}

/// One fact to notify of.
#[derive(Clone, Debug, PartialEq)]
pub struct Fact {
    pub kind: NotificationKind,
    pub team: TeamId,
    pub thread: ThreadId,
    /// Names the fact for good: the store keeps one notification per recipient and key.
    pub key: String,
    pub recipients: Recipients,
    pub actor: Option<UserId>,
    /// What the bell shows without another request: the contact and a preview.
    pub data: Value,
}

/// The longest preview kept with a notification.
pub const PREVIEW_CHARS: usize = 140;
/// The most notifications one list page holds.
pub const MAX_PAGE: i64 = 100;

fn preview(text: &str) -> String {
    let mut p: String = text.chars().take(PREVIEW_CHARS).collect();
    if text.chars().count() > PREVIEW_CHARS {
        p.push('…');
    }
    p
}

fn fact(kind: NotificationKind, thread: &ThreadSummary, key: String, recipients: Recipients, actor: Option<UserId>, text: &str) -> Fact {
    Fact {
        kind,
        team: thread.team_id,
        thread: thread.id,
        key,
        recipients,
        actor,
        data: json!({ "contact": { "name": thread.contact.name, "phone": thread.contact.phone }, "preview": preview(text) }),
    }
}

fn user(v: &Value) -> Option<UserId> {
    v.as_str().and_then(|s| s.parse().ok()).map(UserId)
}

/// The facts in what one commit of a thread produced. `before` is the thread as this actor
/// last saw it, `after` as the commit left it (the store's row: current even when another
/// node changed the thread meanwhile), `assigned` whom the command assigned the thread to (an
/// event's assignee alone cannot tell an assignment from a status change).
pub fn facts(before: &ThreadSummary, after: &ThreadSummary, assigned: Option<UserId>, events: &[ThreadEvent]) -> Vec<Fact> {
    let mut out = Vec::new();
    for e in events {
        let key = format!("{}:{}", e.thread_id, e.seq);
        let d = &e.data;
        match e.kind.as_str() {
            // Private notes' mentions stay private: they notify nobody.
            "note.created" if e.audience.is_none() && d["visibility"] == "public" => {
                let users: Vec<UserId> =
                    d["mentions"].as_array().into_iter().flatten().filter_map(user).filter(|u| Some(*u) != e.actor_id).collect();
                if !users.is_empty() {
                    let text = d["body"].as_str().unwrap_or_default();
                    out.push(fact(NotificationKind::Mention, after, key, Recipients::Users(users), e.actor_id, text));
                }
            }
            // Assigned by someone else (or by the team's automatic assignment: no actor), to
            // someone it was not assigned to.
            "thread.updated" => {
                if let Some(to) = assigned
                    && user(&d["assignee_id"]) == Some(to)
                    && before.assignee_id != Some(to)
                    && e.actor_id != Some(to)
                {
                    out.push(fact(NotificationKind::Assigned, after, key, Recipients::Users(vec![to]), e.actor_id, &after.last_preview));
                }
            }
            "message.created" if d["direction"] == "inbound" => {
                let recipients = match after.assignee_id {
                    Some(a) => Recipients::Users(vec![a]),
                    None => Recipients::UnassignedWatchers,
                };
                out.push(fact(NotificationKind::Inbound, after, key, recipients, None, d["body"].as_str().unwrap_or_default()));
            }
            "message.updated" if matches!(d["status"].as_str(), Some("failed" | "undelivered")) => {
                if let (Some(author), Some(id)) = (user(&d["author_id"]), d["id"].as_str()) {
                    // One per message, whichever way it failed (failed, then undelivered).
                    // A carrier's callback carries what changed, not the body (`Message::status_change`).
                    let text = [&d["error_reason"], &d["body"]]
                        .into_iter()
                        .find_map(|t| t.as_str().filter(|t| !t.is_empty()))
                        .unwrap_or("The message was not delivered");
                    out.push(fact(
                        NotificationKind::SendFailed,
                        after,
                        format!("failed:{id}"),
                        Recipients::Users(vec![author]),
                        None,
                        text,
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

/// A snoozed thread woke up (the `thread.updated` the wake appended): its assignee hears of it.
pub fn snooze_ended(thread: &ThreadSummary, event: &ThreadEvent) -> Option<Fact> {
    let to = thread.assignee_id?;
    let key = format!("{}:{}", event.thread_id, event.seq);
    Some(fact(NotificationKind::SnoozeEnded, thread, key, Recipients::Users(vec![to]), None, &thread.last_preview))
}

/// A follow-up came due: whom it is for (its own assignee, else the thread's) hears of it, once
/// per follow-up and due time (moving it later reminds again at the new time).
pub fn follow_up_due(due: &crate::ports::DueFollowUp) -> Option<Fact> {
    let f = &due.follow_up;
    let to = f.assignee_id.or(due.thread_assignee)?;
    let what = match f.kind {
        crate::domain::FollowUpKind::Callback => "Call back",
        crate::domain::FollowUpKind::AutoSms => "Check the automatic SMS",
        crate::domain::FollowUpKind::Manual => "Follow up",
    };
    let text = if f.note.is_empty() { what.to_owned() } else { format!("{what}: {}", f.note) };
    Some(Fact {
        kind: NotificationKind::FollowUpDue,
        team: f.team_id,
        thread: f.thread_id,
        key: format!("follow_up:{}:{}", f.id, f.due_at.unix_timestamp()),
        recipients: Recipients::Users(vec![to]),
        actor: None,
        data: json!({
            "contact": { "name": due.contact_name, "phone": due.contact_phone },
            "preview": preview(&text),
            "follow_up_id": f.id,
            "due_at": f.due_at.format(&time::format_description::well_known::Rfc3339).ok(),
        }),
    })
}

/// The kinds a person chose: at least one is not required (all off is a choice), each known
/// once.
pub fn kinds(raw: &[String]) -> DomainResult<Vec<NotificationKind>> {
    let mut out = Vec::new();
    for k in raw {
        let k = NotificationKind::parse(k)?;
        if !out.contains(&k) {
            out.push(k);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::*;

    fn thread(assignee: Option<UserId>) -> ThreadSummary {
        ThreadSummary {
            id: ThreadId(uuid::Uuid::nil()),
            team_id: TeamId::new(),
            contact: ContactBrief { id: ContactId::new(), name: "Ann".into(), phone: "+15550100".into(), opted_out_at: None },
            channel: ChannelBrief { id: ChannelId::new(), kind: ChannelKind::Sms, number: "+15005550006".into() },
            status: ThreadStatus::Open,
            snoozed_until: None,
            assignee_id: assignee,
            assignee_name: None,
            unread_count: 0,
            last_message_at: None,
            last_preview: String::new(),
            last_seq: 0,
            scheduled_count: 0,
            created_at: time::OffsetDateTime::now_utc(),
            priority: Priority::None,
            label_ids: vec![],
            last_inbound_at: None,
            whatsapp_window_closes_at: None,
            marked_unread: None,
        }
    }

    fn event(t: &ThreadSummary, seq: i64, kind: &str, actor: Option<UserId>, data: Value) -> ThreadEvent {
        ThreadEvent {
            seq,
            thread_id: t.id,
            team_id: t.team_id,
            kind: kind.into(),
            actor_id: actor,
            audience: None,
            data,
            created_at: time::OffsetDateTime::now_utc(),
        }
    }

    #[test]
    fn an_inbound_message_is_for_the_assignee_or_the_watchers() {
        let ann = UserId::new();
        let t = thread(Some(ann));
        let f = facts(&t, &t, None, &[event(&t, 4, "message.created", None, json!({ "direction": "inbound", "body": "hi" }))]);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].kind, &f[0].recipients, f[0].key.clone()),
            (NotificationKind::Inbound, &Recipients::Users(vec![ann]), format!("{}:4", t.id))
        );
        let t = thread(None);
        let f = facts(&t, &t, None, &[event(&t, 5, "message.created", None, json!({ "direction": "inbound", "body": "hi" }))]);
        assert_eq!(f[0].recipients, Recipients::UnassignedWatchers);
        let f = facts(&t, &t, None, &[event(&t, 6, "message.created", Some(ann), json!({ "direction": "outbound", "body": "hi" }))]);
        assert!(f.is_empty(), "our own messages notify nobody");
    }

    #[test]
    fn assignment_by_someone_else_notifies_the_new_assignee_once() {
        let (ann, bob) = (UserId::new(), UserId::new());
        let before = thread(None);
        let after = thread(Some(bob));
        let set = json!({ "assignee_id": bob.to_string() });
        let f = facts(&before, &after, Some(bob), &[event(&after, 7, "thread.updated", Some(ann), set.clone())]);
        assert_eq!((f.len(), f[0].kind, &f[0].recipients), (1, NotificationKind::Assigned, &Recipients::Users(vec![bob])));
        assert!(
            facts(&before, &after, Some(bob), &[event(&after, 7, "thread.updated", Some(bob), set.clone())]).is_empty(),
            "taking it oneself"
        );
        assert!(
            facts(&after, &after, Some(bob), &[event(&after, 8, "thread.updated", Some(ann), set.clone())]).is_empty(),
            "already theirs"
        );
        assert!(facts(&before, &after, None, &[event(&after, 9, "thread.updated", Some(ann), set.clone())]).is_empty(), "a status change");
        let auto = facts(&before, &after, Some(bob), &[event(&after, 10, "thread.updated", None, set)]);
        assert_eq!(auto[0].recipients, Recipients::Users(vec![bob]), "automatic assignment");
    }

    #[test]
    fn public_mentions_notify_and_private_ones_do_not() {
        let (ann, bob) = (UserId::new(), UserId::new());
        let t = thread(None);
        let note = json!({ "visibility": "public", "mentions": [bob.to_string(), ann.to_string()], "body": "@Bob look" });
        let f = facts(&t, &t, None, &[event(&t, 9, "note.created", Some(ann), note)]);
        assert_eq!(f[0].recipients, Recipients::Users(vec![bob]));
        let private = json!({ "visibility": "private", "mentions": [bob.to_string()], "body": "@Bob" });
        assert!(facts(&t, &t, None, &[event(&t, 10, "note.created", Some(ann), private)]).is_empty());
    }

    #[test]
    fn a_failed_send_is_one_fact_per_message() {
        let ann = UserId::new();
        let t = thread(None);
        let id = MessageId::new();
        let failed = json!({ "id": id.to_string(), "status": "failed", "author_id": ann.to_string(), "body": "hello", "error_reason": "" });
        let undelivered = json!({ "id": id.to_string(), "status": "undelivered", "author_id": ann.to_string(), "body": "hello" });
        let a = facts(&t, &t, None, &[event(&t, 11, "message.updated", None, failed)]);
        let b = facts(&t, &t, None, &[event(&t, 12, "message.updated", None, undelivered)]);
        assert_eq!((a[0].kind, &a[0].key), (NotificationKind::SendFailed, &b[0].key));
        assert_eq!(a[0].data["preview"], "hello");
        // A carrier's callback carries no body: its reason, or a plain sentence.
        let change = json!({ "id": id.to_string(), "status": "undelivered", "author_id": ann.to_string() });
        let c = facts(&t, &t, None, &[event(&t, 13, "message.updated", None, change)]);
        assert_eq!((c[0].kind, c[0].data["preview"].as_str()), (NotificationKind::SendFailed, Some("The message was not delivered")));
    }

    #[test]
    fn kinds_are_known_and_kept_once() {
        assert_eq!(kinds(&["mention".into(), "mention".into()]).unwrap(), vec![NotificationKind::Mention]);
        assert!(kinds(&["everything".into()]).is_err());
    }

    #[test]
    fn a_due_follow_up_reminds_its_assignee_else_the_threads_and_its_due_time_names_it() {
        let (ann, bob) = (UserId::new(), UserId::new());
        let at = time::macros::datetime!(2026-12-07 09:00 UTC);
        let follow_up = crate::domain::FollowUp {
            id: crate::ids::FollowUpId::new(),
            team_id: TeamId::new(),
            thread_id: ThreadId::new(),
            kind: crate::domain::FollowUpKind::Callback,
            status: crate::domain::FollowUpStatus::Pending,
            due_at: at,
            assignee_id: Some(ann),
            note: String::new(),
            call_sid: None,
            created_by: None,
            created_at: at,
            completed_at: None,
            completed_by: None,
        };
        let mut due = crate::ports::DueFollowUp {
            follow_up,
            thread_assignee: Some(bob),
            contact_name: "Carol".into(),
            contact_phone: "+14155550100".into(),
        };
        let f = follow_up_due(&due).unwrap();
        assert_eq!(
            (f.kind, &f.recipients, f.data["preview"].as_str()),
            (NotificationKind::FollowUpDue, &Recipients::Users(vec![ann]), Some("Call back"))
        );
        due.follow_up.assignee_id = None;
        let moved = {
            let mut d = due.clone();
            d.follow_up.due_at = at + time::Duration::hours(1);
            d
        };
        assert_eq!(follow_up_due(&due).unwrap().recipients, Recipients::Users(vec![bob]), "the thread's assignee");
        assert_ne!(follow_up_due(&moved).unwrap().key, follow_up_due(&due).unwrap().key, "a new due time is a new reminder");
        due.thread_assignee = None;
        assert!(follow_up_due(&due).is_none(), "nobody to remind");
    }
}
