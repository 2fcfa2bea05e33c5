//! The automation contract: a team's hours read back as stored; rules in order, checked against
//! the team's labels and members, deleted with an audit entry; the recent inbound messages with
//! their contact's tags; a rule's firing claimed once per message; an automatic reply claimed
//! once per kind and period.

use crate::audit::Actor;
use crate::domain::*;
use crate::error::DomainError;
use crate::ids::*;
use crate::ports::*;
use crate::rules::automation::{Actions, Assign, Conditions, Rule, RuleDraft};
use crate::rules::hours::{HoursSettings, Week};

pub async fn automation(store: &dyn Store, by: &Actor, thread: ThreadId) {
    let team = by.team();
    let empty = store.automation(team).await.unwrap();
    assert!(empty.hours.is_none() && empty.rules.is_empty());

    let hours = HoursSettings {
        enabled: true,
        time_zone: "Asia/Tokyo".into(),
        weekly: Week::every(&["mon", "fri"], "09:00", "17:00"),
        holidays: vec!["2026-12-25".into()],
        out_of_hours_reply: Some("Closed, {{contact.first_name}}".into()),
        ..HoursSettings::default()
    };
    store.set_business_hours(team, &hours).await.unwrap();
    assert_eq!(store.automation(team).await.unwrap().hours, Some(hours.clone()));

    let vip = store.create_label(team, "VIP", "#ff0000", 200).await.unwrap();
    let draft = |name: &str, actions: Actions| RuleDraft {
        name: name.into(),
        enabled: true,
        conditions: Conditions { keywords: vec!["refund".into()], contact_tag: Some("vip".into()), ..Conditions::default() },
        actions,
    };
    let labels = Actions { add_labels: vec![vip.id], assign: Some(Assign::User { user_id: by.user.id }), ..Actions::default() };
    let first = store.create_rule(team, &draft("Refunds", labels), 100).await.unwrap();
    let second = store.create_rule(team, &draft("Resolve", Actions { resolve: true, ..Actions::default() }), 100).await.unwrap();
    assert_eq!((first.position, second.position), (0, 1));
    let foreign = Actions { add_labels: vec![LabelId::new()], ..Actions::default() };
    let refused = store.create_rule(team, &draft("Foreign", foreign), 100).await;
    assert!(matches!(refused, Err(DomainError::Invalid { field: "actions.add_labels", .. })), "{refused:?}");
    let stranger = Actions { assign: Some(Assign::User { user_id: UserId::new() }), ..Actions::default() };
    assert!(matches!(store.create_rule(team, &draft("Stranger", stranger), 100).await, Err(DomainError::Invalid { .. })));
    assert!(matches!(store.create_rule(team, &draft("Third", Actions::default()), 2).await, Err(DomainError::Invalid { .. })), "bounded");

    store.reorder_rules(team, &[second.id, first.id]).await.unwrap();
    let rules = store.automation(team).await.unwrap().rules;
    assert_eq!(rules.iter().map(|r| r.id).collect::<Vec<_>>(), vec![second.id, first.id]);
    assert_eq!(rules[1], Rule { position: 1, ..first.clone() }, "a rule reads back as stored");
    let renamed = store
        .update_rule(team, first.id, &RuleDraft { name: "Refunds!".into(), enabled: false, ..draft("x", first.actions.clone()) })
        .await
        .unwrap();
    assert_eq!((renamed.name.as_str(), renamed.enabled), ("Refunds!", false));
    let resolve = Actions { resolve: true, ..Actions::default() };
    assert!(
        matches!(store.update_rule(TeamId::new(), first.id, &draft("x", resolve)).await, Err(DomainError::NotFound(_))),
        "another team's"
    );

    // The recent inbound messages, newest first, with their contact's tags.
    let summary = store.thread(team, thread).await.unwrap();
    let tagged = ContactPatch { tags: Some(vec!["VIP".into()]), ..ContactPatch::default() };
    store.update_contact(team, summary.contact.id, tagged).await.unwrap();
    let inbound = |sid: &str, body: &str| NewInbound {
        team,
        thread,
        kind: summary.channel.kind,
        message_sid: sid.into(),
        body: body.into(),
        media: vec![],
        raw: serde_json::json!({}),
        opt_out: None,
    };
    for (sid, body) in [("SMauto1", "first"), ("SMauto2", "I want a refund")] {
        assert!(matches!(store.record_inbound(inbound(sid, body)).await.unwrap(), InboundOutcome::Stored(_)));
    }
    let recent = store.recent_inbound(team, 100).await.unwrap();
    assert_eq!(recent.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), vec!["I want a refund", "first"]);
    assert_eq!(recent[0].channel_id, summary.channel.id);
    assert_eq!(recent[0].contact_tags, vec!["VIP".to_owned()]);
    assert_eq!(store.recent_inbound(team, 1).await.unwrap().len(), 1);

    // Each rule fires once per message, whoever asks again.
    let message = recent[0].message_id;
    let both = [first.id, second.id];
    assert_eq!(store.claim_firings(team, thread, message, &both).await.unwrap(), both.to_vec());
    assert!(store.claim_firings(team, thread, message, &both).await.unwrap().is_empty(), "claimed before");
    assert!(store.claim_firings(TeamId::new(), thread, recent[1].message_id, &both).await.unwrap().is_empty(), "not that team's rules");
    assert_eq!(store.claim_firings(team, thread, recent[1].message_id, &[second.id]).await.unwrap(), vec![second.id]);

    // One automatic reply of a kind per period; kinds do not share it.
    let claim = ReplyClaim {
        kind: AutoReplyKind::OutOfHours,
        channel: summary.channel.id,
        contact: summary.contact.id,
        period: time::Duration::hours(12),
    };
    assert!(store.claim_auto_reply(claim).await.unwrap());
    assert!(!store.claim_auto_reply(claim).await.unwrap(), "within the period");
    assert!(store.claim_auto_reply(ReplyClaim { kind: AutoReplyKind::FirstMessage, ..claim }).await.unwrap());
    assert!(store.claim_auto_reply(ReplyClaim { period: time::Duration::ZERO, ..claim }).await.unwrap(), "the period is over");

    // A deleted label leaves the rules that added it; their other actions stand.
    store.delete_label(by, vip.id).await.unwrap();
    let kept = store.automation(team).await.unwrap().rules.into_iter().find(|r| r.id == first.id).unwrap();
    assert!(kept.actions.add_labels.is_empty(), "{kept:?}");
    assert_eq!(kept.actions.assign, Some(Assign::User { user_id: by.user.id }));

    // A deletion is audited and happens once.
    store.delete_rule(by, first.id).await.unwrap();
    assert!(matches!(store.delete_rule(by, first.id).await, Err(DomainError::NotFound(_))));
    let audit = store.audit_log(team, None, 10).await.unwrap().items;
    assert!(audit.iter().any(|e| e.action == "rule.deleted" && e.target_id.as_deref() == Some(first.id.to_string().as_str())), "{audit:?}");
    assert_eq!(store.automation(team).await.unwrap().rules.len(), 1);
}
