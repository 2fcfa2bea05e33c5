//! The fake store keeps the semantics the core relies on: if it did not, the core's tests over
//! it would prove nothing. Each test pins one rule the Postgres store's tests pin too.

use super::MemoryStore;
use crate::domain::*;
use crate::error::DomainError;
use crate::ids::*;
use crate::ports::*;
use std::time::Duration;
use time::OffsetDateTime;

struct Seeded {
    store: MemoryStore,
    team: TeamId,
    user: User,
    other: User,
    contact: Contact,
    thread: ThreadId,
}

fn channel(kind: ChannelKind) -> NewChannel {
    let sid = uuid::Uuid::new_v4().simple().to_string();
    NewChannel {
        kind,
        number: "+15005550006".into(),
        account_sid: format!("AC{sid}"),
        auth_token: sid,
        messaging_service_sid: None,
        simulated: true,
    }
}

async fn account(store: &MemoryStore, email: &str, invite: Option<Vec<u8>>) -> User {
    let team_name = invite.is_none().then(|| "Acme".to_owned());
    let simulated_channels = if invite.is_none() { vec![channel(ChannelKind::Sms), channel(ChannelKind::Whatsapp)] } else { vec![] };
    let a = NewAccount {
        team_name,
        invite_hash: invite,
        email: email.into(),
        name: email.into(),
        password_hash: "h".into(),
        simulated_channels,
    };
    store.create_account(a, &Default::default()).await.unwrap().user
}

async fn seeded() -> Seeded {
    let store = MemoryStore::new();
    let user = account(&store, "ann@acme.test", None).await;
    let expires = OffsetDateTime::now_utc() + time::Duration::days(1);
    store.create_invite(&act(&user), None, Role::Agent, b"invite", expires).await.unwrap();
    let other = account(&store, "bob@acme.test", Some(b"invite".to_vec())).await;
    let team = user.team_id;
    let contact = store.create_contact(team, &NewContact::basic("Carol", "+14155550100")).await.unwrap();
    let (thread, created) = store.thread_for_contact(team, contact.id, ChannelKind::Sms, None).await.unwrap();
    assert!(created);
    Seeded { store, team, user, other, contact, thread }
}

fn outbound(s: &Seeded, send_at: Option<OffsetDateTime>, cancel_on_reply: bool) -> NewOutbound {
    NewOutbound {
        team: s.team,
        thread: s.thread,
        author: Some(s.user.id),
        body: "hi".into(),
        media_urls: vec![],
        send_at,
        cancel_on_reply,
        content: None,
    }
}

fn inbound(s: &Seeded, sid: &str, body: &str, opt_out: Option<bool>) -> NewInbound {
    NewInbound {
        team: s.team,
        thread: s.thread,
        kind: ChannelKind::Sms,
        message_sid: sid.into(),
        body: body.into(),
        media: vec![],
        raw: serde_json::json!({ "MessageSid": sid }),
        opt_out,
    }
}

#[tokio::test]
async fn seqs_are_gapless_per_thread_and_private_events_reach_their_author_alone() {
    let s = seeded().await;
    let public = s.store.add_note(s.team, s.thread, s.user.id, "public", Visibility::Public, &[]).await.unwrap();
    let private = s.store.add_note(s.team, s.thread, s.user.id, "private", Visibility::Private, &[]).await.unwrap();
    let sent = s.store.create_outbound(outbound(&s, None, false)).await.unwrap();
    let seqs: Vec<i64> = [&public.events, &private.events, &sent.events].iter().map(|e| e[0].seq).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    assert_eq!(sent.thread.last_seq, 3);
    assert_eq!(private.events[0].audience, Some(s.user.id));

    let (store, team, thread) = (&s.store, s.team, s.thread);
    let seen = |viewer: UserId| async move {
        store.events_after(team, thread, viewer, 0, 100).await.unwrap().iter().map(|e| e.seq).collect::<Vec<_>>()
    };
    assert_eq!(seen(s.user.id).await, vec![1, 2, 3]);
    assert_eq!(seen(s.other.id).await, vec![1, 3], "another reader sees the seq skip the private note");
    assert_eq!(s.store.notes(s.team, s.thread, s.other.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn inbound_is_idempotent_by_sid_cancels_on_reply_and_applies_opt_out() {
    let s = seeded().await;
    let later = Some(OffsetDateTime::now_utc() + time::Duration::hours(1));
    let keep = s.store.create_outbound(outbound(&s, later, false)).await.unwrap().value;
    let cancel = s.store.create_outbound(outbound(&s, later, true)).await.unwrap().value;

    let InboundOutcome::Stored(done) = s.store.record_inbound(inbound(&s, "SM1", "STOP", Some(true))).await.unwrap() else {
        panic!("stored")
    };
    let kinds: Vec<(&str, i64)> = done.events.iter().map(|e| (e.kind.as_str(), e.seq)).collect();
    assert_eq!(kinds, vec![("message.created", 3), ("message.updated", 4)]);
    assert_eq!(s.store.message(cancel.id).unwrap().status, MessageStatus::Canceled);
    assert_eq!(s.store.message(keep.id).unwrap().status, MessageStatus::Scheduled);
    assert_eq!(done.thread.unread_count, 1);
    assert_eq!(done.thread.scheduled_count, 1);
    assert!(done.thread.contact.opted_out_at.is_some(), "STOP opted the contact out");

    let again = s.store.record_inbound(inbound(&s, "SM1", "STOP", Some(true))).await.unwrap();
    assert!(matches!(again, InboundOutcome::Duplicate));
    assert_eq!(s.store.thread(s.team, s.thread).await.unwrap().unread_count, 1, "a duplicate changes nothing");
}

#[tokio::test]
async fn statuses_only_move_forward_and_early_callbacks_apply_when_the_send_is_recorded() {
    let s = seeded().await;
    let msg = s.store.create_outbound(outbound(&s, None, false)).await.unwrap().value;
    assert_eq!(msg.status, MessageStatus::Queued);
    let out = s.store.begin_send(msg.id).await.unwrap().expect("waits for the carrier");
    assert_eq!(out.to, s.contact.phone);

    // Twilio's "delivered" arrives before the send's answer: kept as a receipt.
    let params = serde_json::json!({ "MessageSid": "SM9", "MessageStatus": "delivered" });
    s.store.record_receipt(s.team, "status", Some("SM9"), params).await.unwrap();
    let done = s.store.record_send(msg.id, SendOutcome::Sent { sid: "SM9".into() }).await.unwrap().unwrap();
    assert_eq!(done.value.status, MessageStatus::Delivered, "the early callback applied");
    assert_eq!(done.events.len(), 2);
    assert!(s.store.record_send(msg.id, SendOutcome::Sent { sid: "SM9".into() }).await.unwrap().is_none(), "answered once");
    assert!(s.store.begin_send(msg.id).await.unwrap().is_none(), "no longer waits for the carrier");

    let back = s.store.apply_status("SM9", MessageStatus::Sent, None, None, serde_json::json!({}), None).await.unwrap();
    assert!(back.is_none(), "never back");
    let read = s.store.apply_status("SM9", MessageStatus::Read, None, None, serde_json::json!({}), None).await.unwrap().unwrap();
    assert_eq!(read.value.status, MessageStatus::Read);
    assert!(read.value.read_at.is_some() && read.value.delivered_at.is_some());
}

#[tokio::test]
async fn a_due_message_is_claimed_once_and_claims_can_be_refreshed_given_back_or_failed() {
    let s = seeded().await;
    let due = OffsetDateTime::now_utc() + time::Duration::milliseconds(1);
    let msg = s.store.create_outbound(outbound(&s, Some(due), false)).await.unwrap().value;
    assert!(s.store.begin_send(msg.id).await.unwrap().is_none(), "scheduled: not for the carrier yet");
    let now = OffsetDateTime::now_utc() + time::Duration::seconds(1);
    assert_eq!(s.store.due_before(now, 10).await.unwrap(), vec![(msg.id, due)]);
    let claimed = s.store.claim_due(now, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].thread, s.thread);
    assert!(s.store.claim_due(now, 10).await.unwrap().is_empty(), "claimed once");
    assert!(s.store.touch_claim(msg.id).await.unwrap());

    s.store.unclaim(msg.id).await.unwrap();
    assert_eq!(s.store.message(msg.id).unwrap().status, MessageStatus::Scheduled, "given back");
    assert_eq!(s.store.claim_due(now, 10).await.unwrap().len(), 1, "claimable again");

    let later = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    assert_eq!(s.store.stale_sends(later, 10).await.unwrap(), vec![(s.thread, msg.id)]);
    let failed = s.store.fail_unknown(msg.id, later).await.unwrap().unwrap();
    assert_eq!(failed.value.status, MessageStatus::Failed);
    assert!(!s.store.touch_claim(msg.id).await.unwrap(), "a failed send must not be sent");
    assert!(s.store.stale_sends(later, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn one_contact_per_phone_per_team_and_deleting_one_deletes_its_threads() {
    let s = seeded().await;
    let dup = s.store.create_contact(s.team, &NewContact::basic("Again", "+14155550100")).await;
    assert!(matches!(dup, Err(DomainError::Conflict(_))), "{dup:?}");
    let nul = s.store.create_contact(s.team, &NewContact::basic("A\0", "+14155550101")).await;
    assert!(matches!(nul, Err(DomainError::Invalid { field: "name", .. })), "{nul:?}");
    let dan = s.store.create_contact(s.team, &NewContact::basic("Dan", "+14155550102")).await.unwrap();
    let patch = ContactPatch { phone: Some("+14155550100".into()), ..ContactPatch::default() };
    assert!(matches!(s.store.update_contact(s.team, dan.id, patch).await, Err(DomainError::Conflict(_))));

    // The inbound path finds the same contact and thread.
    let sms = s.store.channels(s.team).await.unwrap().into_iter().find(|c| c.kind == ChannelKind::Sms).unwrap();
    let (thread, created) = s.store.thread_for_inbound(s.team, sms.id, "+14155550100", Some("Caro")).await.unwrap();
    assert_eq!((thread, created), (s.thread, false));
    assert_eq!(s.store.contact(s.team, s.contact.id).await.unwrap().name, "Carol", "a named contact keeps its name");

    assert_eq!(s.store.purge_contact(s.team, s.contact.id).await.unwrap(), vec![s.thread]);
    assert!(s.store.load_thread(s.thread).await.unwrap().is_none());
    assert!(matches!(s.store.purge_contact(s.team, s.contact.id).await, Err(DomainError::NotFound("contact"))));
}

#[tokio::test]
async fn sessions_and_tokens_are_found_by_hash_until_revoked_or_expired() {
    let s = seeded().await;
    let future = OffsetDateTime::now_utc() + time::Duration::days(1);
    let past = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    s.store.create_session(s.user.id, b"live", future).await.unwrap();
    s.store.create_session(s.user.id, b"expired", past).await.unwrap();
    assert_eq!(s.store.session_principal(b"live").await.unwrap().unwrap().user.id, s.user.id);
    assert!(s.store.session_principal(b"expired").await.unwrap().is_none());
    s.store.revoke_session(b"live").await.unwrap();
    assert!(s.store.session_principal(b"live").await.unwrap().is_none());

    s.store.create_token(&act(&s.other), "ci", b"token", None).await.unwrap();
    let p = s.store.token_principal(b"token").await.unwrap().unwrap();
    assert_eq!((p.user.id, p.user.role, p.team.simulator_mode), (s.other.id, Role::Agent, true));
    assert!(s.store.token_principal(b"nope").await.unwrap().is_none());

    // A token is live until revoked (by its owner, or without an owner filter by anyone of its
    // team) or until it expires; only live tokens are listed, newest first.
    let listed = s.store.list_tokens(s.team, Some(s.other.id), None, 10).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    let ci = &listed.items[0];
    assert_eq!((ci.name.as_str(), ci.user_name.as_str()), ("ci", "bob@acme.test"));
    assert!(ci.last_used_at.is_some(), "stamped by the lookup");
    let expiring = s.store.create_token(&act(&s.user), "soon", b"soon", Some(future)).await.unwrap();
    assert!(s.store.token_principal(b"soon").await.unwrap().is_some());
    let all = s.store.list_tokens(s.team, None, None, 1).await.unwrap();
    assert_eq!((all.items[0].id, all.items[0].expires_at), (expiring.id, Some(future)), "the newest first");
    let rest = s.store.list_tokens(s.team, None, all.next_cursor.as_deref(), 1).await.unwrap();
    assert_eq!((rest.items[0].id, rest.next_cursor), (ci.id, None));
    assert!(matches!(s.store.revoke_token(&act(&s.other), expiring.id, Some(s.other.id)).await, Err(DomainError::NotFound(_))));
    s.store.revoke_token(&act(&s.user), ci.id, None).await.unwrap();
    assert!(s.store.token_principal(b"token").await.unwrap().is_none());
    assert!(matches!(s.store.revoke_token(&act(&s.user), ci.id, None).await, Err(DomainError::NotFound(_))), "revoked already");
    s.store.create_token(&act(&s.user), "old", b"old", Some(OffsetDateTime::now_utc() - time::Duration::seconds(1))).await.unwrap();
    assert!(s.store.token_principal(b"old").await.unwrap().is_none());
    let live: Vec<TokenId> = s.store.list_tokens(s.team, None, None, 10).await.unwrap().items.iter().map(|t| t.id).collect();
    assert_eq!(live, vec![expiring.id]);
}

#[tokio::test(start_paused = true)]
async fn knobs_fail_delay_and_count_calls() {
    let s = seeded().await;
    s.store.fail_next("mark_read", 2);
    s.store.set_latency("mark_read", Duration::from_secs(3));
    let started = tokio::time::Instant::now();
    for _ in 0..2 {
        assert!(matches!(s.store.mark_read(s.team, s.thread, s.user.id).await, Err(DomainError::Internal(_))));
    }
    s.store.mark_read(s.team, s.thread, s.user.id).await.expect("the third call works");
    assert_eq!(started.elapsed(), Duration::from_secs(9), "each call waited its latency");
    assert_eq!(s.store.calls("mark_read"), 3);
    assert_eq!(s.store.calls("load_thread"), 0);
}

#[test]
#[should_panic(expected = "MemoryStore has no method")]
fn knobs_refuse_unknown_method_names() {
    MemoryStore::new().fail_next("mark_reed", 1);
}

/// `user` acting from no particular client.
fn act(user: &crate::domain::User) -> crate::audit::Actor {
    crate::audit::Actor::new(user.clone(), Default::default())
}

/// The same contract as the Postgres store's (`tests/store/two_factor.rs`).
#[tokio::test]
async fn two_factor_keeps_steps_codes_and_challenges_single_use() {
    let store = MemoryStore::new();
    let user = account(&store, "tf@acme.test", None).await;
    crate::fakes::contracts::two_factor(&store, &act(&user)).await;
}

/// The same contract as the Postgres store's (`tests/store/passwords.rs`).
#[tokio::test]
async fn passwords_end_sessions_and_links_work_once() {
    let store = MemoryStore::new();
    let user = account(&store, "pw@acme.test", None).await;
    crate::fakes::contracts::passwords(&store, &act(&user)).await;
}

/// The same contract as the Postgres store's (`tests/store/identities.rs`).
#[tokio::test]
async fn identities_link_once_and_invites_are_used_once() {
    let store = MemoryStore::new();
    let user = account(&store, "ana@acme.test", None).await;
    crate::fakes::contracts::identities(&store, &act(&user)).await;
}

/// The same contract as the Postgres store's (`tests/store/replies.rs`).
#[tokio::test]
async fn replies_keep_one_shortcut_per_scope_and_list_what_a_viewer_sees() {
    let store = MemoryStore::new();
    let admin = account(&store, "replies@acme.test", None).await;
    crate::fakes::contracts::replies(&store, &act(&admin)).await;
}

/// The same contract as the Postgres store's (`tests/store/whatsapp.rs`).
#[tokio::test]
async fn templates_keep_one_per_content_sid_and_sync_only_what_changed() {
    let store = MemoryStore::new();
    let admin = account(&store, "templates@acme.test", None).await;
    crate::fakes::contracts::templates(&store, &act(&admin)).await;
}

/// The same contract as the Postgres store's (`tests/store/lists.rs`).
#[tokio::test]
async fn lists_segments_bulk_and_import_upserts() {
    let store = MemoryStore::new();
    let user = account(&store, "lists@acme.test", None).await;
    crate::fakes::contracts::lists_and_imports(&store, user.team_id, user.id).await;
}

/// The same contract as the Postgres store's (`tests/store/assignment.rs`).
#[tokio::test]
async fn auto_assignment_takes_turns_among_the_online() {
    let store = MemoryStore::new();
    let ann = account(&store, "ann@acme.test", None).await;
    let expires = OffsetDateTime::now_utc() + time::Duration::days(1);
    let mut users = [ann.id; 3];
    for (i, email) in ["bob@acme.test", "cy@acme.test"].into_iter().enumerate() {
        let invite = format!("invite-{i}").into_bytes();
        store.create_invite(&act(&ann), None, Role::Agent, &invite, expires).await.unwrap();
        users[i + 1] = account(&store, email, Some(invite)).await.id;
    }
    crate::fakes::contracts::auto_assignment(&store, ann.team_id, users).await;
}

/// The same contract as the Postgres store's (`tests/store/assignment.rs`).
#[tokio::test]
async fn the_backlog_is_due_once_per_period_and_lists_the_customers_still_waiting() {
    let s = seeded().await;
    crate::fakes::contracts::backlog(&s.store, s.team, s.thread, s.user.id).await;
}

/// The same contract as the Postgres store's (`tests/store/triage.rs`).
#[tokio::test]
async fn triage_labels_priority_unread_marks_and_counts() {
    let s = seeded().await;
    crate::fakes::contracts::triage(&s.store, &act(&s.user), s.thread).await;
}

/// The same contract as the Postgres store's (`tests/store/automation.rs`).
#[tokio::test]
async fn automation_rules_hours_and_claims() {
    let s = seeded().await;
    crate::fakes::contracts::automation(&s.store, &act(&s.user), s.thread).await;
}

/// The same contract as the Postgres store's (`tests/store/calls.rs`).
#[tokio::test]
async fn calls_are_recorded_once_and_replies_claimed_once_per_period() {
    let store = MemoryStore::new();
    let user = account(&store, "calls@acme.test", None).await;
    crate::fakes::contracts::calls(&store, user.team_id).await;
}

/// The same contract as the Postgres store's (`tests/store/search.rs`).
#[tokio::test]
async fn search_finds_what_the_reader_may_see() {
    let store = MemoryStore::new();
    let admin = account(&store, "search@acme.test", None).await;
    let contact = store.create_contact(admin.team_id, &NewContact::basic("Carol", "+14155550100")).await.unwrap();
    let (thread, _) = store.thread_for_contact(admin.team_id, contact.id, ChannelKind::Sms, None).await.unwrap();
    crate::fakes::contracts::search(&store, &act(&admin), thread).await;
}

/// The same contract as the Postgres store's (`tests/store/search.rs`).
#[tokio::test]
async fn notifications_are_stored_once_per_person_and_fact() {
    let store = MemoryStore::new();
    let admin = account(&store, "notify@acme.test", None).await;
    let contact = store.create_contact(admin.team_id, &NewContact::basic("Carol", "+14155550100")).await.unwrap();
    let (thread, _) = store.thread_for_contact(admin.team_id, contact.id, ChannelKind::Sms, None).await.unwrap();
    crate::fakes::contracts::notifications(&store, &act(&admin), thread).await;
}
