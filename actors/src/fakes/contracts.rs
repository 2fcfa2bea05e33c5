//! Contracts every store must keep, run on the in-memory fake (`fakes/store/tests.rs`) and on
//! Postgres (`tests/store/`), so the two cannot drift apart.

use crate::audit::Actor;
use crate::error::DomainError;
use crate::ports::AccountStore;
use time::OffsetDateTime;

mod assignment;
mod automation;
mod notifications;
mod search;
mod templates;
pub use assignment::{auto_assignment, backlog};
pub use automation::automation;
pub use notifications::notifications;
pub use search::search;
pub use templates::templates;

/// Two-factor: a setup replaces a pending one, each TOTP step and recovery code is taken once,
/// challenges allow five tries and one use, the team's requirement blocks turning it off, and
/// every change is audited once. `by` is a fresh account without two-factor.
pub async fn two_factor(store: &dyn AccountStore, by: &Actor) {
    let user = by.user.id;
    let none = store.two_factor(user).await.unwrap();
    assert_eq!((none.secret, none.enabled, none.team_requires, none.recovery_codes_left), (None, false, false, 0));

    // A new setup replaces a pending one; the secret reads back as given.
    store.begin_two_factor(user, "AAAAAAAA").await.unwrap();
    store.begin_two_factor(user, "BBBBBBBB").await.unwrap();
    let pending = store.two_factor(user).await.unwrap();
    assert_eq!((pending.secret.as_deref(), pending.enabled), (Some("BBBBBBBB"), false));

    // Enabled with the confirming step and codes; never twice, and no new setup over it.
    let (h1, h2, h3) = (b"h1".to_vec(), b"h2".to_vec(), b"h3".to_vec());
    store.enable_two_factor(by, 100, &[h1.clone(), h2.clone()]).await.unwrap();
    assert!(matches!(store.enable_two_factor(by, 101, &[]).await, Err(DomainError::Conflict(_))));
    assert!(matches!(store.begin_two_factor(user, "CCCCCCCC").await, Err(DomainError::Conflict(_))));
    let on = store.two_factor(user).await.unwrap();
    assert_eq!((on.secret.as_deref(), on.enabled, on.last_step, on.recovery_codes_left), (Some("BBBBBBBB"), true, Some(100), 2));

    // Each step once, and never an older one.
    assert!(!store.accept_step(user, 100).await.unwrap());
    assert!(store.accept_step(user, 101).await.unwrap());
    assert!(!store.accept_step(user, 101).await.unwrap());
    assert!(!store.accept_step(user, 99).await.unwrap());

    // Recovery codes: each once; regenerating drops the old ones.
    assert!(store.use_recovery_code(user, &by.client, &h1).await.unwrap());
    assert!(!store.use_recovery_code(user, &by.client, &h1).await.unwrap());
    assert!(!store.use_recovery_code(user, &by.client, b"unknown").await.unwrap());
    assert_eq!(store.two_factor(user).await.unwrap().recovery_codes_left, 1);
    store.replace_recovery_codes(by, std::slice::from_ref(&h3)).await.unwrap();
    assert!(!store.use_recovery_code(user, &by.client, &h2).await.unwrap());
    assert!(store.use_recovery_code(user, &by.client, &h3).await.unwrap());

    // Not turned off while the team requires it.
    store.set_two_factor_required(by, true).await.unwrap();
    store.set_two_factor_required(by, true).await.unwrap();
    assert!(store.two_factor(user).await.unwrap().team_requires);
    assert!(matches!(store.disable_two_factor(by).await, Err(DomainError::Conflict(_))));
    store.set_two_factor_required(by, false).await.unwrap();
    store.disable_two_factor(by).await.unwrap();
    let off = store.two_factor(user).await.unwrap();
    assert_eq!((off.secret, off.enabled, off.recovery_codes_left), (None, false, 0));

    // Challenges: five tries, single use, not after expiry.
    let later = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let password = serde_json::json!({ "method": "password" });
    store.create_challenge(user, b"c1", later, &password).await.unwrap();
    for _ in 0..5 {
        assert_eq!(store.try_challenge(b"c1").await.unwrap().map(|(p, first)| (p.user.id, first)), Some((user, password.clone())));
    }
    assert!(store.try_challenge(b"c1").await.unwrap().is_none(), "a sixth try");
    let oidc = serde_json::json!({ "method": "oidc", "issuer": "https://idp.test" });
    store.create_challenge(user, b"c2", later, &oidc).await.unwrap();
    assert_eq!(store.try_challenge(b"c2").await.unwrap().map(|(_, first)| first), Some(oidc));
    assert!(store.try_challenge(b"c2").await.unwrap().is_some());
    assert!(store.finish_challenge(b"c2").await.unwrap());
    assert!(!store.finish_challenge(b"c2").await.unwrap(), "single use");
    assert!(store.try_challenge(b"c2").await.unwrap().is_none());
    store.create_challenge(user, b"c3", OffsetDateTime::now_utc() - time::Duration::seconds(1), &password).await.unwrap();
    assert!(store.try_challenge(b"c3").await.unwrap().is_none(), "expired");
    assert!(store.try_challenge(b"nope").await.unwrap().is_none());

    // Audited, once per change.
    let actions: Vec<String> = store.audit_log(by.team(), None, 50).await.unwrap().items.into_iter().map(|e| e.action).collect();
    for (action, n) in [
        ("two_factor.enabled", 1),
        ("two_factor.recovery_code_used", 2),
        ("two_factor.recovery_codes_regenerated", 1),
        ("team.two_factor_required_changed", 2),
        ("two_factor.disabled", 1),
    ] {
        assert_eq!(actions.iter().filter(|a| *a == action).count(), n, "{action} in {actions:?}");
    }
}

/// Passwords: a change ends every other session; reset links are at most `max` an hour, used
/// once (using one uses up the others), end every session and lift the sign-in hold; pending
/// sign-ups are taken once and not after they expire; the purge deletes the dead and keeps the
/// live. `by` is a fresh account with no sessions.
pub async fn passwords(store: &dyn AccountStore, by: &Actor) {
    use crate::ports::PendingSignUp;
    let user = by.user.id;
    let later = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let earlier = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    store.create_session(user, b"s-here", later).await.unwrap();
    store.create_session(user, b"s-there", later).await.unwrap();
    let ended = store.change_password(by, "new-hash", Some(b"s-here")).await.unwrap();
    assert_eq!(ended, vec![b"s-there".to_vec()]);
    assert!(store.session_principal(b"s-here").await.unwrap().is_some());
    assert!(store.session_principal(b"s-there").await.unwrap().is_none());
    assert_eq!(store.credentials(&by.user.email).await.unwrap().and_then(|(_, h)| h).as_deref(), Some("new-hash"));

    // Three links an hour; the fourth is refused.
    let client = crate::audit::Client::default();
    for link in [&b"r1"[..], b"r2", b"r3"] {
        assert!(store.create_password_reset(user, link, later, None, &client, 3).await.unwrap());
    }
    assert!(!store.create_password_reset(user, b"r4", later, None, &client, 3).await.unwrap());
    assert_eq!(store.password_reset_user(b"r2").await.unwrap().map(|p| p.user.id), Some(user));
    assert!(store.password_reset_user(b"r4").await.unwrap().is_none());

    // A reset ends every session, forgets failed sign-ins, and uses up every open link.
    store.record_sign_in_failure(&by.user.email).await.unwrap();
    store.block_sign_in(&by.user.email, later).await.unwrap();
    let (p, ended) = store.reset_password(b"r2", "reset-hash", &client).await.unwrap().expect("a live link");
    assert_eq!((p.user.id, ended), (user, vec![b"s-here".to_vec()]));
    assert_eq!(store.sign_in_blocked_until(&by.user.email).await.unwrap(), None);
    assert_eq!(store.credentials(&by.user.email).await.unwrap().and_then(|(_, h)| h).as_deref(), Some("reset-hash"));
    assert!(store.reset_password(b"r2", "again", &client).await.unwrap().is_none(), "once");
    assert!(store.reset_password(b"r1", "again", &client).await.unwrap().is_none(), "the others are used up");
    assert!(store.password_reset_user(b"r3").await.unwrap().is_none());

    // Pending sign-ups: taken once, never after they expire.
    let held = PendingSignUp {
        email: "held@x.test".into(),
        name: "Held".into(),
        password_hash: "h".into(),
        team_name: Some("Held".into()),
        invite_hash: None,
    };
    store.create_pending_sign_up(b"p1", &held, later).await.unwrap();
    store.create_pending_sign_up(b"p2", &held, earlier).await.unwrap();
    assert_eq!(store.take_pending_sign_up(b"p1").await.unwrap(), Some(held));
    assert_eq!(store.take_pending_sign_up(b"p1").await.unwrap(), None);
    assert_eq!(store.take_pending_sign_up(b"p2").await.unwrap(), None);

    // The purge takes the ended sessions and keeps a live one.
    store.create_session(user, b"s-live", later).await.unwrap();
    assert!(store.purge_expired().await.unwrap() >= 2);
    assert!(store.session_principal(b"s-live").await.unwrap().is_some());

    let actions: Vec<String> = store.audit_log(by.team(), None, 50).await.unwrap().items.into_iter().map(|e| e.action).collect();
    for (action, n) in [("password.changed", 1), ("password.reset_requested", 3), ("password.reset", 1)] {
        assert_eq!(actions.iter().filter(|a| *a == action).count(), n, "{action} in {actions:?}");
    }
}

/// Sign-in with a provider: a pending login is taken once (and not after expiry); an identity is
/// linked once per (issuer, subject) and found by it; an invite bound to an email is found by
/// it, and joining uses it up with an account that has no password; the last way to sign in is
/// never unlinked; links and unlinks are audited. `by` is a fresh admin with a password.
pub async fn identities(store: &dyn AccountStore, by: &Actor) {
    use crate::domain::Role;
    use crate::ports::{NewIdentity, OidcLogin};
    let client = crate::audit::Client::default();
    let later = OffsetDateTime::now_utc() + time::Duration::minutes(10);

    // Pending logins: taken once, never after expiry.
    let login = |state: &[u8], expires_at| OidcLogin {
        state_hash: state.to_vec(),
        pkce_verifier: "verifier".into(),
        nonce: "nonce".into(),
        invite_hash: Some(b"inv".to_vec()),
        binding_hash: b"binding".to_vec(),
        expires_at,
    };
    store.create_oidc_login(&login(b"s0", OffsetDateTime::now_utc() - time::Duration::seconds(1))).await.unwrap();
    store.create_oidc_login(&login(b"s1", later)).await.unwrap();
    let taken = store.take_oidc_login(b"s1").await.unwrap().expect("a live login");
    assert_eq!((taken.pkce_verifier.as_str(), taken.nonce.as_str()), ("verifier", "nonce"));
    assert_eq!((taken.invite_hash.as_deref(), taken.binding_hash.as_slice()), (Some(&b"inv"[..]), &b"binding"[..]));
    assert!(store.take_oidc_login(b"s1").await.unwrap().is_none(), "single use");
    assert!(store.take_oidc_login(b"s0").await.unwrap().is_none(), "expired");
    assert!(store.take_oidc_login(b"nope").await.unwrap().is_none());

    // Linking an active user; found by (issuer, subject) from then on, whatever the email.
    let identity =
        |subject: &str, email: &str| NewIdentity { issuer: "https://idp.test".into(), subject: subject.into(), email: email.into() };
    let ana = identity("ana", &by.user.email);
    assert!(store.identity_user(&ana.issuer, &ana.subject).await.unwrap().is_none());
    let found = store.user_by_email(&by.user.email).await.unwrap().expect("by email");
    assert_eq!((found.user, found.team, found.active), (by.user.id, by.team(), true));
    assert_eq!(store.link_identity(by.user.id, &ana, &client).await.unwrap().user.id, by.user.id);
    assert!(matches!(store.link_identity(by.user.id, &ana, &client).await, Err(DomainError::Conflict(_))), "once");
    let (linked, owner) = store.identity_user(&ana.issuer, &ana.subject).await.unwrap().expect("linked");
    assert_eq!((owner.user, owner.active), (by.user.id, true));
    assert_eq!(store.identity_used(linked, "ana.new@x.test").await.unwrap().user.id, by.user.id);
    let listed = store.identities(by.user.id).await.unwrap();
    assert_eq!((listed.len(), listed[0].id, listed[0].email.as_deref()), (1, linked, Some("ana.new@x.test")));
    assert!(listed[0].last_used_at.is_some());

    // An invite bound to Zoe's email: found by it (or by its token), used up by joining.
    let zoe_email = format!("zoe.{}@x.test", by.user.id.0.simple());
    let invite = store.create_invite(by, Some(&zoe_email), Role::Agent, b"zoe-token", later).await.unwrap();
    assert_eq!(store.open_invite(None, &zoe_email).await.unwrap().map(|i| (i.id, i.email)), Some((invite.id, Some(zoe_email.clone()))));
    assert_eq!(store.open_invite(Some(b"zoe-token"), "someone@x.test").await.unwrap().map(|i| i.id), Some(invite.id));
    assert!(store.open_invite(None, "someone@x.test").await.unwrap().is_none());
    assert!(store.open_invite(Some(b"unknown"), &zoe_email).await.unwrap().is_none(), "a token names its own invite only");
    let zoe = store.join_with_identity(invite.id, "Zoe", &identity("zoe", &zoe_email), &client).await.unwrap();
    assert_eq!((zoe.team.id, zoe.user.role, zoe.user.email.as_str()), (by.team(), Role::Agent, zoe_email.as_str()));
    let again = store.join_with_identity(invite.id, "Zoe", &identity("zoe2", "zoe2@x.test"), &client).await;
    assert!(matches!(again, Err(DomainError::NotFound(_))), "used up");
    assert!(store.open_invite(None, &zoe_email).await.unwrap().is_none());
    let (_, password) = store.credentials(&zoe_email).await.unwrap().expect("her account");
    assert_eq!(password, None, "no password");

    // Unlinking: never the last way in; only one's own; audited.
    let zoe_actor = Actor::new(zoe.user.clone(), client.clone());
    let zoes = store.identities(zoe.user.id).await.unwrap()[0].id;
    assert!(matches!(store.unlink_identity(&zoe_actor, zoes).await, Err(DomainError::Conflict(_))));
    assert!(matches!(store.unlink_identity(by, zoes).await, Err(DomainError::NotFound(_))));
    store.unlink_identity(by, linked).await.unwrap();
    assert!(matches!(store.unlink_identity(by, linked).await, Err(DomainError::NotFound(_))));
    let audit = store.audit_log(by.team(), None, 50).await.unwrap().items;
    let count = |action: &str| audit.iter().filter(|e| e.action == action).count();
    assert_eq!((count("identity.linked"), count("identity.unlinked"), count("invite.accepted")), (2, 1, 1));
}

/// Canned replies: a shortcut is unique per scope (the team's, or one owner's) and nowhere
/// else; a viewer lists the team's replies and their own by shortcut, page by page, filtered by
/// shortcut or title; another team's reply is not found; a deletion is audited once. `by` is
/// the admin of a fresh team (the contract invites a teammate and signs up another team).
pub async fn replies<S>(store: &S, by: &Actor)
where
    S: crate::ports::ReplyReads + crate::ports::ReplyWrites + crate::ports::AccountReads + crate::ports::AccountWrites,
{
    use crate::ports::{NewAccount, NewReply, ReplyPatch};
    let team = by.team();
    let expires = OffsetDateTime::now_utc() + time::Duration::days(1);
    store.create_invite(by, None, crate::domain::Role::Agent, b"replies-invite", expires).await.unwrap();
    let account = |email: &str, invite: Option<Vec<u8>>| NewAccount {
        team_name: invite.is_none().then(|| "Elsewhere".to_owned()),
        invite_hash: invite,
        email: email.into(),
        name: "Someone".into(),
        password_hash: "h".into(),
        simulated_channels: vec![],
    };
    let mate =
        store.create_account(account("mate@replies.test", Some(b"replies-invite".to_vec())), &Default::default()).await.unwrap().user;
    let stranger = store.create_account(account("stranger@replies.test", None), &Default::default()).await.unwrap().user;
    let new = |team, owner, shortcut: &str, title: &str| NewReply {
        team,
        owner,
        shortcut: shortcut.into(),
        title: title.into(),
        body: format!("Body of {shortcut}"),
        created_by: by.user.id,
    };

    let hours = store.create_reply(new(team, None, "hours", "Opening hours")).await.unwrap();
    let refund = store.create_reply(new(team, None, "refund", "Refund policy")).await.unwrap();
    let mine = store.create_reply(new(team, Some(mate.id), "hours", "My hours")).await.unwrap();
    let admins = store.create_reply(new(team, Some(by.user.id), "hours", "Admin's hours")).await.unwrap();
    store.create_reply(new(stranger.team_id, None, "aaa", "Theirs")).await.unwrap();
    assert_eq!((mine.scope, mine.owner_id, hours.owner_id), (crate::domain::ReplyScope::Personal, Some(mate.id), None));
    assert_eq!(hours.created_by, Some(by.user.id));
    for dup in [new(team, None, "hours", "Again"), new(team, Some(mate.id), "hours", "Again")] {
        assert!(matches!(store.create_reply(dup).await, Err(DomainError::Conflict(_))), "one shortcut per scope");
    }

    // The mate sees the team's and their own, by shortcut then id, one page at a time.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store.list_replies(team, mate.id, None, cursor.as_deref(), 1).await.unwrap();
        seen.extend(page.items.iter().map(|r| r.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut hours_pair = [hours.id, mine.id];
    hours_pair.sort();
    assert_eq!(seen, vec![hours_pair[0], hours_pair[1], refund.id]);
    let found = store.list_replies(team, mate.id, Some("POLICY"), None, 10).await.unwrap();
    assert_eq!(found.items.iter().map(|r| r.id).collect::<Vec<_>>(), vec![refund.id], "search reads titles, any case");
    let found = store.list_replies(team, by.user.id, Some("our"), None, 10).await.unwrap();
    assert_eq!(found.items.len(), 2, "shortcuts too, and the admin's own personal reply: {:?}", found.items);
    assert!(found.items.iter().all(|r| r.id != mine.id), "never someone else's personal reply");
    assert!(matches!(store.list_replies(team, mate.id, None, Some("not-a-cursor"), 10).await, Err(DomainError::Invalid { .. })));

    // Changes: the fields given, a taken shortcut refused, another team's reply not found.
    let patch = ReplyPatch { shortcut: Some("refunds".into()), title: None, body: Some("New body".into()) };
    let changed = store.update_reply(team, refund.id, patch).await.unwrap();
    assert_eq!((changed.shortcut.as_str(), changed.title.as_str(), changed.body.as_str()), ("refunds", "Refund policy", "New body"));
    assert!(changed.updated_at >= refund.updated_at);
    let taken = ReplyPatch { shortcut: Some("hours".into()), ..ReplyPatch::default() };
    assert!(matches!(store.update_reply(team, refund.id, taken).await, Err(DomainError::Conflict(_))));
    let theirs = store.list_replies(stranger.team_id, stranger.id, None, None, 10).await.unwrap().items[0].id;
    assert!(matches!(store.update_reply(team, theirs, ReplyPatch::default()).await, Err(DomainError::NotFound(_))));
    assert!(matches!(store.reply(team, theirs).await, Err(DomainError::NotFound(_))));
    assert_eq!(store.reply(team, admins.id).await.unwrap(), admins);

    // Deleting: answered as it was, gone after, audited once; another team's is not found.
    assert!(matches!(store.delete_reply(by, theirs).await, Err(DomainError::NotFound(_))));
    assert_eq!(store.delete_reply(by, hours.id).await.unwrap().id, hours.id);
    assert!(matches!(store.reply(team, hours.id).await, Err(DomainError::NotFound(_))));
    assert!(matches!(store.delete_reply(by, hours.id).await, Err(DomainError::NotFound(_))));
    let log = store.audit_log(team, None, 50).await.unwrap().items;
    let deleted: Vec<_> = log.iter().filter(|e| e.action == "reply.deleted").collect();
    assert_eq!(deleted.len(), 1);
    assert_eq!((deleted[0].target_id.clone(), deleted[0].details["shortcut"].clone()), (Some(hours.id.to_string()), "hours".into()));
}

/// Lists, segments, bulk changes and import upserts: static members by id and by filter (the
/// team's live contacts only), segments matched on read, keyset audiences by phone, counts,
/// set-based bulk changes, the upsert's conflict rules (an opt-out never cleared, unchanged rows
/// not counted), and an import's state (a cancel sticks). `team` is a fresh team.
pub async fn lists_and_imports(store: &dyn crate::ports::Store, team: crate::ids::TeamId, user: crate::ids::UserId) {
    use crate::domain::{ContactField, ImportState, ListKind, OnConflict, SegmentFilter};
    use crate::ports::{BulkChange, ContactFilter, NewContact, Upserted};
    store.set_contact_fields(team, &[ContactField { key: "plan".into(), label: "Plan".into() }]).await.unwrap();
    let mut ids = Vec::new();
    for (i, (tags, plan, out)) in
        [(vec!["vip"], "gold", false), (vec!["vip", "lead"], "gold", true), (vec!["lead"], "free", false)].into_iter().enumerate()
    {
        let mut c = NewContact::basic(&format!("P{i}"), &format!("+1415555090{i}"));
        c.tags = tags.into_iter().map(String::from).collect();
        c.custom_fields.insert("plan".into(), plan.into());
        c.opted_out = out;
        ids.push(store.create_contact(team, &c).await.unwrap().id);
    }
    let phones = |cs: Vec<crate::domain::Contact>| cs.into_iter().map(|c| c.phone).collect::<Vec<_>>();

    let list = store.create_list(team, Some(user), "Fair", ListKind::Static, None).await.unwrap();
    assert!(matches!(store.create_list(team, None, "FAIR", ListKind::Static, None).await, Err(DomainError::Conflict(_))));
    assert_eq!(store.add_list_members(team, list.id, &[ids[0], ids[2], crate::ids::ContactId::new()]).await.unwrap(), 2);
    assert_eq!(store.add_list_members(team, list.id, &[ids[0]]).await.unwrap(), 0, "already a member");
    let vip = ContactFilter { tag: Some("vip".into()), ..ContactFilter::default() };
    assert_eq!(store.add_list_members_matching(team, list.id, &vip).await.unwrap(), 1);
    let in_list = ContactFilter { list_id: Some(list.id), ..ContactFilter::default() };
    assert_eq!(phones(store.contacts_after(team, &in_list, None, 10).await.unwrap()), ["+14155550900", "+14155550901", "+14155550902"]);
    assert_eq!(phones(store.contacts_after(team, &in_list, Some("+14155550900"), 1).await.unwrap()), ["+14155550901"]);
    assert_eq!(store.list(team, list.id).await.unwrap().member_count, 3);
    assert!(matches!(store.list(crate::ids::TeamId::new(), list.id).await, Err(DomainError::NotFound(_))));

    let mut filter = SegmentFilter { tags_any: vec!["vip".into()], opted_out: Some(false), ..SegmentFilter::default() };
    filter.fields.insert("plan".into(), "gold".into());
    let seg = store.create_list(team, Some(user), "Gold", ListKind::Segment, Some(&filter)).await.unwrap();
    assert_eq!(seg.member_count, 1, "a new segment answers its members' count");
    let in_seg = ContactFilter { list_id: Some(seg.id), ..ContactFilter::default() };
    assert_eq!(phones(store.contacts_after(team, &in_seg, None, 10).await.unwrap()), ["+14155550900"]);
    let page = store.list_contacts(team, &in_seg, None, 10).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let names: Vec<String> = store.lists(team, None, 10).await.unwrap().items.into_iter().map(|l| l.name).collect();
    assert_eq!(names, ["Fair", "Gold"]);
    assert_eq!(store.contact_lists(team, ids[0]).await.unwrap().len(), 2);
    let broader = SegmentFilter { tags_any: vec!["lead".into()], ..SegmentFilter::default() };
    assert_eq!(store.update_list(team, seg.id, Some("Leads"), Some(&broader)).await.unwrap().member_count, 2);

    // Bulk changes count what changed.
    let tagged = store.bulk_change(team, &ids[..2], &BulkChange::AddTag("x".into())).await.unwrap();
    assert_eq!(tagged.len(), 2);
    assert!(tagged.iter().all(|c| c.tags.contains(&"x".to_owned())), "answered as they are now");
    assert!(store.bulk_change(team, &ids[..2], &BulkChange::AddTag("x".into())).await.unwrap().is_empty());
    assert_eq!(store.bulk_change(team, &ids, &BulkChange::RemoveTag("x".into())).await.unwrap().len(), 2);
    let deleted = store.bulk_change(team, &ids[2..], &BulkChange::Delete).await.unwrap();
    assert!(deleted.len() == 1 && deleted[0].deleted_at.is_some());
    assert_eq!(store.list(team, list.id).await.unwrap().member_count, 2, "a deleted contact is not counted");
    assert_eq!(store.remove_list_members(team, list.id, &ids[..1]).await.unwrap(), 1);

    // Upserts: created, changed, unchanged; an opt-out is never cleared; a deleted one comes back.
    let mut fill = NewContact::basic("", "+14155550900");
    fill.company = Some("Acme".into());
    let fresh = NewContact::basic("New", "+14155550909");
    assert_eq!(
        store.upsert_contacts(team, &[fill.clone(), fresh.clone()], OnConflict::Fill).await.unwrap(),
        Upserted { created: 1, updated: 1 }
    );
    assert_eq!(store.upsert_contacts(team, &[fill, fresh], OnConflict::Overwrite).await.unwrap(), Upserted::default());
    let p1 = NewContact::basic("Renamed", "+14155550901");
    assert_eq!(store.upsert_contacts(team, &[p1], OnConflict::Overwrite).await.unwrap().updated, 1);
    let p1 = store.contact(team, ids[1]).await.unwrap();
    assert_eq!(p1.name, "Renamed");
    assert!(p1.opted_out_at.is_some(), "the opt-out stays");
    let back = NewContact::basic("", "+14155550902");
    assert_eq!(store.upsert_contacts(team, &[back], OnConflict::Skip).await.unwrap().updated, 1);
    assert!(store.contact(team, ids[2]).await.unwrap().deleted_at.is_none());

    // An import's row: a cancel sticks, errors are kept.
    let mut job = store.create_import(team, user, &["phone".into()], 10, OnConflict::Skip).await.unwrap();
    job.processed = 5;
    let err = crate::domain::ImportRowError { row: 2, field: "phone".into(), message: "bad".into(), cells: vec!["x".into()] };
    assert_eq!(store.save_import(&job, std::slice::from_ref(&err), None).await.unwrap().state, ImportState::Running);
    assert_eq!(store.cancel_import(team, job.job_id).await.unwrap().state, ImportState::Canceled);
    let end = store.save_import(&job, &[], Some(ImportState::Done)).await.unwrap();
    assert_eq!((end.state, end.processed), (ImportState::Canceled, 5));
    assert!(end.finished_at.is_some());
    let kept = store.import_errors(team, job.job_id).await.unwrap();
    assert_eq!((kept.len(), kept[0].cells.clone()), (1, vec!["x".to_owned()]));
    assert!(matches!(store.import_job(crate::ids::TeamId::new(), job.job_id).await, Err(DomainError::NotFound(_))));

    // A running import not stored since the cutoff was left by a stopped node: failed, once;
    // a finished one is left alone, and a late save does not bring it back.
    let live = store.create_import(team, user, &["phone".into()], 10, OnConflict::Skip).await.unwrap();
    let an_hour = time::Duration::hours(1);
    assert!(store.fail_stale_imports(crate::clock::now() - an_hour).await.unwrap().is_empty(), "stored just now: alive");
    let failed = store.fail_stale_imports(crate::clock::now() + an_hour).await.unwrap();
    assert_eq!(failed.iter().map(|j| (j.job_id, j.state)).collect::<Vec<_>>(), vec![(live.job_id, ImportState::Failed)]);
    assert!(failed[0].finished_at.is_some());
    assert!(store.fail_stale_imports(crate::clock::now() + an_hour).await.unwrap().is_empty(), "failed once");
    assert_eq!(store.save_import(&live, &[], None).await.unwrap().state, ImportState::Failed);
    assert_eq!(store.import_job(team, job.job_id).await.unwrap().state, ImportState::Canceled);
}

/// Triage: labels (unique names regardless of case, the team's only, deleted off every thread
/// with an audit entry), a thread's labels and priority (replaced, added, bounded, filtered and
/// sorted by), each reader's unread mark, the tabs' counts. `by` is an admin of a team with
/// `thread`, open and unassigned, its only thread.
pub async fn triage(store: &dyn crate::ports::Store, by: &Actor, thread: crate::ids::ThreadId) {
    use crate::domain::{Priority, ThreadStatus};
    use crate::ports::{ThreadChange, ThreadFilter};
    use crate::rules::views::{Sort, View};
    let team = by.team();
    let vip = store.create_label(team, "VIP", "#f59e0b", 200).await.unwrap();
    let bug = store.create_label(team, "Bug", "#dc2626", 200).await.unwrap();
    assert!(matches!(store.create_label(team, "vip", "#000000", 200).await, Err(DomainError::Conflict(_))));
    assert!(matches!(store.create_label(team, "Third", "#000000", 2).await, Err(DomainError::Invalid { field: "labels", .. })));
    let names: Vec<String> = store.labels(team).await.unwrap().into_iter().map(|l| l.name).collect();
    assert_eq!(names, ["Bug", "VIP"]);
    let renamed = store.update_label(team, bug.id, Some("Bugs"), None).await.unwrap();
    assert_eq!((renamed.name.as_str(), renamed.color.as_str()), ("Bugs", "#dc2626"));
    assert!(matches!(store.update_label(team, bug.id, Some("VIP"), None).await, Err(DomainError::Conflict(_))));

    // Replaced, then added to; another team's label or a missing one refused.
    let set = ThreadChange { labels: Some(vec![vip.id]), priority: Some(Priority::High), ..ThreadChange::default() };
    let row = store.update_thread(team, thread, Some(by.user.id), set).await.unwrap();
    assert_eq!((row.value.label_ids.clone(), row.value.priority), (vec![vip.id], Priority::High));
    assert_eq!(row.events[0].data["label_ids"], serde_json::json!([vip.id]));
    let add = ThreadChange { add_labels: vec![bug.id, vip.id], ..ThreadChange::default() };
    let mut both = vec![vip.id, bug.id];
    both.sort();
    assert_eq!(store.update_thread(team, thread, None, add).await.unwrap().value.label_ids, both);
    let missing = ThreadChange { add_labels: vec![crate::ids::LabelId::new()], ..ThreadChange::default() };
    assert!(matches!(store.update_thread(team, thread, None, missing).await, Err(DomainError::Invalid { field: "labels", .. })));
    assert_eq!(store.thread(team, thread).await.unwrap().label_ids, both, "a refused change changes nothing");

    // Filters, the order by priority, the tabs.
    let list = |f: ThreadFilter| async move { store.list_threads(team, &ThreadFilter { limit: 10, ..f }).await.unwrap().items };
    assert_eq!(list(ThreadFilter { label: Some(bug.id), ..Default::default() }).await.len(), 1);
    assert_eq!(list(ThreadFilter { priority: Some(Priority::Low), ..Default::default() }).await.len(), 0);
    assert_eq!(list(ThreadFilter { view: Some(View::Open), sort: Sort::Priority, ..Default::default() }).await.len(), 1);
    assert_eq!(list(ThreadFilter { view: Some(View::Resolved), ..Default::default() }).await.len(), 0);
    let rows = store.status_counts(team).await.unwrap();
    assert_eq!(rows, [crate::ports::StatusCount { status: ThreadStatus::Open, assignee: None, threads: 1 }]);
    let resolve = ThreadChange { status: Some(ThreadStatus::Resolved), assignee: Some(Some(by.user.id)), ..ThreadChange::default() };
    store.update_thread(team, thread, None, resolve).await.unwrap();
    let rows = store.status_counts(team).await.unwrap();
    assert_eq!(rows, [crate::ports::StatusCount { status: ThreadStatus::Resolved, assignee: Some(by.user.id), threads: 1 }]);

    // Each reader's unread mark.
    let unread = |viewer| ThreadFilter { unread: true, viewer: Some(viewer), ..Default::default() };
    let marked = store.mark_unread(team, thread, by.user.id).await.unwrap();
    assert_eq!(marked.marked_unread, Some(true));
    let mine = list(unread(by.user.id)).await;
    assert_eq!((mine.len(), mine[0].marked_unread), (1, Some(true)));
    assert!(list(unread(crate::ids::UserId::new())).await.is_empty(), "not someone else's");
    assert_eq!(store.thread(team, thread).await.unwrap().marked_unread, None, "a shared row never carries it");
    assert_eq!(store.mark_read(team, thread, by.user.id).await.unwrap().marked_unread, Some(false));
    assert!(list(unread(by.user.id)).await.is_empty());

    // A deleted label leaves every thread, with its audit entry.
    let (gone, threads) = store.delete_label(by, vip.id).await.unwrap();
    assert_eq!((gone.id, threads), (vip.id, 1));
    assert_eq!(store.thread(team, thread).await.unwrap().label_ids, vec![bug.id]);
    assert!(matches!(store.delete_label(by, vip.id).await, Err(DomainError::NotFound("label"))));
    let audit = store.audit_log(team, None, 50).await.unwrap().items;
    assert!(audit.iter().any(|e| e.action == "label.deleted" && e.details["name"] == "VIP"), "audited");
    assert!(matches!(store.message(team, crate::ids::MessageId::new()).await, Err(DomainError::NotFound("message"))));
}

/// Calls: voice settings read back as saved; a call is recorded once per CallSid with its
/// `call` event and the thread bumped; the missed-call reply is claimed once per period (a
/// zero period frees it at once). `team` is a fresh team.
pub async fn calls(store: &dyn crate::ports::Store, team: crate::ids::TeamId) {
    use crate::domain::*;
    use crate::ids::ChannelId;
    use crate::ports::*;
    let sid = |n: u8| format!("CA{}", format!("{n:x}").repeat(32).chars().take(32).collect::<String>());
    let channel = store
        .create_channel(
            team,
            NewChannel {
                kind: ChannelKind::Sms,
                number: "+15005550006".into(),
                account_sid: format!("AC{}", "a".repeat(32)),
                auth_token: "b".repeat(32),
                messaging_service_sid: None,
                simulated: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(store.channel_settings(team, channel.id).await.unwrap(), ChannelSettings::default());
    assert!(matches!(store.channel_settings(team, ChannelId::new()).await, Err(DomainError::NotFound(_))));
    let settings = ChannelSettings {
        forward_to: Some("+14155550100".into()),
        ring_seconds: 30,
        greeting: Some("Hello".into()),
        voicemail: true,
        missed_call_reply: Some("Sorry {{contact.first_name}}".into()),
        missed_call_reply_hours: 6,
    };
    assert_eq!(store.set_channel_settings(team, channel.id, &settings).await.unwrap(), settings);
    assert_eq!(store.channel_settings(team, channel.id).await.unwrap(), settings);

    let (thread, _) = store.thread_for_inbound(team, channel.id, "+14155550123", None).await.unwrap();
    let contact = store.thread(team, thread).await.unwrap().contact.id;
    let claim = ReplyClaim { kind: AutoReplyKind::MissedCall, channel: channel.id, contact, period: time::Duration::hours(6) };
    let call = |sid: String, outcome: CallOutcome, reply: Option<ReplyClaim>| NewCall {
        team,
        thread,
        call_sid: sid,
        direction: Direction::Inbound,
        outcome,
        duration: 0,
        recording_url: None,
        raw: serde_json::json!({}),
        reply,
    };
    let first = store.record_call(call(sid(1), CallOutcome::Missed, Some(claim))).await.unwrap().expect("recorded");
    assert!(first.value.reply_claimed);
    assert_eq!(first.value.call.status, CallOutcome::Missed);
    assert_eq!(first.events.len(), 1);
    assert_eq!(first.events[0].kind, event::CALL);
    assert_eq!(first.events[0].data, serde_json::to_value(&first.value.call).unwrap());
    assert_eq!(first.events[0].seq, first.thread.last_seq);
    assert_eq!(first.thread.last_preview, "📞 Missed call");
    assert_eq!(first.thread.unread_count, 1);
    // The same CallSid again: nothing, whatever it says.
    assert!(store.record_call(call(sid(1), CallOutcome::Answered, Some(claim))).await.unwrap().is_none());
    // Another call within the period: recorded, not claimed; with a zero period, claimed again.
    let second = store.record_call(call(sid(2), CallOutcome::Voicemail, Some(claim))).await.unwrap().unwrap();
    assert!(!second.value.reply_claimed);
    assert_eq!(second.thread.unread_count, 2);
    let free = ReplyClaim { period: time::Duration::ZERO, ..claim };
    assert!(store.record_call(call(sid(3), CallOutcome::Missed, Some(free))).await.unwrap().unwrap().value.reply_claimed);
    let answered = store.record_call(call(sid(4), CallOutcome::Answered, None)).await.unwrap().unwrap();
    assert!(!answered.value.reply_claimed);
    assert_eq!(answered.thread.unread_count, 3, "an answered call is not unread");
    let calls = store.calls(team, thread).await.unwrap();
    assert_eq!(calls.iter().map(|c| c.call_sid.clone()).collect::<Vec<_>>(), [sid(1), sid(2), sid(3), sid(4)]);
}
