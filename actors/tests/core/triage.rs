//! Triage over the fakes: labels and priority go through the thread's actor into its log and
//! every inbox; "mark unread" is one reader's, told on their own channel only; a retry is a new
//! message through the normal send path, the failed one kept; a bulk change goes through each
//! thread's actor and answers each thread's own result; the inbox's tabs and counts.

use crate::support::*;
use actors::DomainError;
use actors::audit::{Actor, Client};
use actors::domain::{ChannelKind, MessageStatus, Priority, ThreadStatus};
use actors::ids::ThreadId;
use actors::ports::{AccountReads, CarrierError, ThreadChange, ThreadFilter, ThreadReads};
use actors::protocol::ChannelName;
use actors::rules::Draft;
use actors::rules::views::{Sort, View};

fn change() -> ThreadChange {
    ThreadChange::default()
}

#[tokio::test(start_paused = true)]
async fn labels_and_priority_go_through_the_actor_into_the_log_and_every_inbox() {
    let w = world(|_| {}).await;
    let mut inbox = Socket::on(&w.core, "1.1", &ChannelName::Team(w.team.id).to_string());
    let vip = w.core.labels.create(&w.team.admin, "VIP", "#F59E0B").await.expect("an admin creates a label");
    assert_eq!(vip.color, "#f59e0b", "colours are stored lower case");
    assert_eq!(inbox.events("label.changed").len(), 1, "every inbox hears of the new label");

    let set = ThreadChange { labels: Some(vec![vip.id, vip.id]), priority: Some(Priority::Urgent), ..change() };
    let summary = w.core.threads.update(w.team.id, w.thread, w.team.agent.clone(), set).await.expect("an agent labels a thread");
    assert_eq!(summary.label_ids, vec![vip.id], "a label named twice is put on once");
    assert_eq!(summary.priority, Priority::Urgent);

    let log = w.store.events(w.thread);
    let last = log.last().expect("the change is in the thread's log");
    assert_eq!(last.kind, "thread.updated");
    assert_eq!(last.actor_id, Some(w.team.agent.id));
    assert_eq!(last.data["priority"], "urgent");
    assert_eq!(last.data["label_ids"][0], vip.id.to_string());
    until("the team channel has the change", || inbox.events("thread.updated").iter().any(|t| t["priority"] == "urgent")).await;

    // Another team's label is refused, and nothing changes.
    let other = team(&w.store, "Globex").await;
    let theirs = w.core.labels.create(&other.admin, "Theirs", "#000").await.expect("their label");
    let foreign = ThreadChange { labels: Some(vec![theirs.id]), ..change() };
    let refused = w.core.threads.update(w.team.id, w.thread, w.team.agent.clone(), foreign).await;
    assert!(matches!(refused, Err(DomainError::Invalid { field: "labels", .. })), "{refused:?}");
    assert_eq!(w.store.events(w.thread).len(), log.len(), "nothing logged for a refusal");
}

#[tokio::test(start_paused = true)]
async fn only_admins_manage_labels_and_a_deletion_is_audited_and_leaves_every_thread() {
    let w = world(|_| {}).await;
    let mut inbox = Socket::on(&w.core, "1.1", &ChannelName::Team(w.team.id).to_string());
    let refused = w.core.labels.create(&w.team.agent, "Billing", "#2563eb").await;
    assert!(matches!(refused, Err(DomainError::Forbidden(_))), "{refused:?}");
    let billing = w.core.labels.create(&w.team.admin, "Billing", "#2563eb").await.expect("created");
    let twin = w.core.labels.create(&w.team.admin, " billing ", "#111111").await;
    assert!(matches!(twin, Err(DomainError::Conflict(_))), "names are unique regardless of case: {twin:?}");
    let bad = w.core.labels.create(&w.team.admin, "Red", "red").await;
    assert!(matches!(bad, Err(DomainError::Invalid { field: "color", .. })), "{bad:?}");

    let add = ThreadChange { add_labels: vec![billing.id], ..change() };
    w.core.threads.update(w.team.id, w.thread, w.team.agent.clone(), add).await.expect("labelled");
    let agent = Actor::new(w.team.agent.clone(), Client::default());
    assert!(matches!(w.core.labels.delete(&agent, billing.id).await, Err(DomainError::Forbidden(_))));
    let admin = Actor::new(w.team.admin.clone(), Client::default());
    w.core.labels.delete(&admin, billing.id).await.expect("an admin deletes it");

    assert!(w.store.thread(w.team.id, w.thread).await.unwrap().label_ids.is_empty(), "the label left the thread");
    assert_eq!(inbox.events("label.deleted"), vec![serde_json::json!({ "id": billing.id })]);
    let audit = w.store.audit_log(w.team.id, None, 10).await.unwrap().items;
    let entry = audit.iter().find(|e| e.action == "label.deleted").expect("the deletion is in the audit log");
    assert_eq!(entry.details["name"], "Billing");
    assert_eq!(entry.details["threads"], 1);
}

#[tokio::test(start_paused = true)]
async fn mark_unread_is_the_readers_alone_and_reaches_their_other_tabs() {
    let w = world(|_| {}).await;
    let (team, thread, agent) = (w.team.id, w.thread, w.team.agent.clone());
    let mut agent_tab = Socket::on(&w.core, "1.1", &ChannelName::User(agent.id).to_string());
    let mut inbox = Socket::on(&w.core, "1.2", &ChannelName::Team(team).to_string());
    w.core.threads.mark_read(team, thread, agent.clone()).await.expect("read");
    // The read's row reaches the team after the team actor's coalescing window.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let team_events_before = inbox.events("thread.updated").len();

    let marked = w.core.threads.mark_unread(team, thread, agent.clone()).await.expect("marked unread");
    assert_eq!(marked.marked_unread, Some(true));
    let told = agent_tab.events("thread.unread");
    assert_eq!(told.len(), 1, "the agent's other tabs hear it");
    assert_eq!(told[0]["thread"]["marked_unread"], true);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(inbox.events("thread.updated").len(), team_events_before, "nobody else's inbox changes");

    let list = |viewer| ThreadFilter { viewer: Some(viewer), unread: true, limit: 50, ..ThreadFilter::default() };
    let mine = w.store.list_threads(team, &list(agent.id)).await.unwrap().items;
    assert_eq!(mine.iter().map(|t| t.id).collect::<Vec<_>>(), vec![thread], "unread again in the agent's list");
    assert_eq!(mine[0].marked_unread, Some(true));
    assert!(w.store.list_threads(team, &list(w.team.admin.id)).await.unwrap().items.is_empty(), "not in the admin's");

    let read = w.core.threads.mark_read(team, thread, agent.clone()).await.expect("read again");
    assert_eq!(read.marked_unread, Some(false), "reading takes the mark off");
    assert!(w.store.list_threads(team, &list(agent.id)).await.unwrap().items.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_retry_is_a_new_message_through_the_send_path_and_the_failed_one_stays() {
    let w = world(|_| {}).await;
    let (team, thread, agent) = (w.team.id, w.thread, w.team.agent.clone());
    w.carrier.refuse_next(CarrierError { code: Some(30003), reason: "unreachable".into() });
    let draft = Draft { body: "Your code is 1234".into(), media_urls: vec!["https://example.com/a.png".into()], ..Draft::default() };
    let failed = w.core.threads.send(team, thread, agent.clone(), draft).await.expect("sent");
    until("the send failed", || w.store.message(failed.id).is_some_and(|m| m.status == MessageStatus::Failed)).await;

    let retry = w.core.threads.retry(team, failed.id, agent.clone()).await.expect("retried");
    assert_ne!(retry.id, failed.id, "a new message");
    assert_eq!(retry.body, "Your code is 1234");
    assert_eq!(retry.media.iter().map(|m| m.url.as_str()).collect::<Vec<_>>(), vec!["https://example.com/a.png"]);
    assert_eq!(retry.author_id, Some(agent.id));
    until("the retry is sent", || w.store.message(retry.id).is_some_and(|m| m.status == MessageStatus::Sent)).await;
    assert_eq!(w.store.message(failed.id).unwrap().status, MessageStatus::Failed, "the failed one is kept as it was");
    assert_eq!(w.carrier.count(), 2);
    assert_eq!(w.store.calls("create_outbound"), 2, "through the one send path");

    let again = w.core.threads.retry(team, retry.id, agent.clone()).await;
    assert!(matches!(again, Err(DomainError::Conflict(_))), "a sent message is not retried: {again:?}");
    let other = team_of(&w).await;
    let foreign = w.core.threads.retry(other.id, failed.id, other.admin.clone()).await;
    assert!(matches!(foreign, Err(DomainError::NotFound("message"))), "{foreign:?}");
}

async fn team_of(w: &World) -> Team {
    team(&w.store, "Globex").await
}

#[tokio::test(start_paused = true)]
async fn a_bulk_change_goes_through_each_threads_actor_and_answers_each_result() {
    let w = world(|_| {}).await;
    let (_, second) = contact_thread(&w.store, w.team.id, "Dan", "+14155550101", ChannelKind::Sms).await;
    let missing = ThreadId::new();
    let resolve = ThreadChange { status: Some(ThreadStatus::Resolved), assignee: Some(Some(w.team.agent.id)), ..change() };
    let results =
        w.core.threads.bulk_update(w.team.id, vec![w.thread, missing, second, w.thread], w.team.admin.clone(), resolve).await.unwrap();

    let ids: Vec<ThreadId> = results.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, vec![w.thread, missing, second], "in the order asked, each once");
    assert!(matches!(results[1].1, Err(DomainError::NotFound("thread"))));
    for (id, result) in [&results[0], &results[2]] {
        let summary = result.as_ref().expect("changed");
        assert_eq!(summary.status, ThreadStatus::Resolved);
        assert_eq!(summary.assignee_id, Some(w.team.agent.id));
        let last = w.store.events(*id).last().cloned().expect("logged by its actor");
        assert_eq!((last.kind.as_str(), last.actor_id), ("thread.updated", Some(w.team.admin.id)));
    }
    assert_eq!(w.store.calls("update_thread"), 2, "one committed change per live thread, each by its actor");
    assert_eq!(w.core.threads.live(), 2, "the two threads' actors did it");

    let empty = w.core.threads.bulk_update(w.team.id, vec![], w.team.admin.clone(), change()).await;
    assert!(matches!(empty, Err(DomainError::Invalid { field: "thread_ids", .. })), "{empty:?}");
}

#[tokio::test(start_paused = true)]
async fn tabs_filter_by_status_label_and_priority_and_count_each() {
    let w = world(|_| {}).await;
    let (team, admin) = (w.team.id, w.team.admin.clone());
    let (_, pending) = contact_thread(&w.store, team, "P", "+14155550102", ChannelKind::Sms).await;
    let (_, resolved) = contact_thread(&w.store, team, "R", "+14155550103", ChannelKind::Sms).await;
    let vip = w.core.labels.create(&admin, "VIP", "#f00").await.unwrap();
    let threads = &w.core.threads;
    threads.update(team, pending, admin.clone(), ThreadChange { status: Some(ThreadStatus::Pending), ..change() }).await.unwrap();
    threads.update(team, resolved, admin.clone(), ThreadChange { status: Some(ThreadStatus::Resolved), ..change() }).await.unwrap();
    let tag = ThreadChange { add_labels: vec![vip.id], priority: Some(Priority::High), assignee: Some(Some(admin.id)), ..change() };
    threads.update(team, pending, admin.clone(), tag).await.unwrap();

    let store = w.store.clone();
    let ids = |f: ThreadFilter| {
        let store = store.clone();
        async move {
            let page = store.list_threads(team, &ThreadFilter { limit: 50, ..f }).await.unwrap();
            let mut ids: Vec<ThreadId> = page.items.iter().map(|t| t.id).collect();
            ids.sort();
            ids
        }
    };
    let sorted = |mut v: Vec<ThreadId>| {
        v.sort();
        v
    };
    assert_eq!(ids(ThreadFilter { view: Some(View::Open), ..Default::default() }).await, sorted(vec![w.thread, pending]));
    assert_eq!(ids(ThreadFilter { view: Some(View::Resolved), ..Default::default() }).await, vec![resolved]);
    assert_eq!(ids(ThreadFilter { view: Some(View::All), ..Default::default() }).await.len(), 3);
    assert_eq!(ids(ThreadFilter { label: Some(vip.id), ..Default::default() }).await, vec![pending]);
    assert_eq!(ids(ThreadFilter { priority: Some(Priority::High), ..Default::default() }).await, vec![pending]);

    // By priority: the high one first, then by activity; pages of one walk all three once.
    let mut seen = vec![];
    let mut cursor = None;
    loop {
        let f = ThreadFilter { sort: Sort::Priority, cursor: cursor.clone(), limit: 1, ..Default::default() };
        let page = w.store.list_threads(team, &f).await.unwrap();
        seen.extend(page.items.iter().map(|t| t.id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0], pending, "urgent things first");

    let counts = w.core.tab_counts.get(team, admin.id).await.unwrap();
    assert_eq!((counts.open, counts.snoozed, counts.resolved, counts.all), (2, 0, 1, 3));
    assert_eq!((counts.mine, counts.unassigned), (1, 1));
}

/// A notification whose store failed for a moment (no free connection under load) is tried
/// again: the assignee still gets exactly one.
#[tokio::test(start_paused = true)]
async fn a_notification_the_store_could_not_take_at_once_is_stored_on_a_retry() {
    let w = world(|_| {}).await;
    w.store.fail_next("create_notifications", 2);
    let assign = ThreadChange { assignee: Some(Some(w.team.agent.id)), ..change() };
    w.core.threads.update(w.team.id, w.thread, w.team.admin.clone(), assign).await.expect("assigned");
    let agent = w.team.agent.id;
    for _ in 0..100 {
        if w.core.notifications.list(agent, None, 10).await.unwrap().0.items.len() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (page, unread) = w.core.notifications.list(agent, None, 10).await.unwrap();
    assert_eq!((page.items.len(), unread), (1, 1), "stored on the third try: {:?}", page.items);
    assert_eq!(w.store.calls("create_notifications"), 3);
}
