//! Automation over the fakes, on paused time (the core's clock follows it): the out-of-hours
//! reply is decided by the team's time zone and sent once per period through the normal send
//! path; a matching rule fires once per message through the thread's actor and is logged.

use crate::support::*;
use actors::audit::{Actor, Client};
use actors::domain::{Priority, ThreadStatus};
use actors::ports::{InboundOutcome, ThreadReads};
use actors::rules::automation::{Actions, Assign, Conditions, RuleDraft};
use actors::rules::hours::{HoursSettings, Week};
use std::time::Duration;
use time::macros::{offset, time};

/// Moves the (paused) clock to the next time Tokyo's clocks read `hh:00`.
async fn advance_to_tokyo(hour: u8) {
    let local = actors::clock::now().to_offset(offset!(+9));
    let mut target = local.replace_time(time::Time::from_hms(hour, 0, 0).unwrap());
    if target <= local {
        target += time::Duration::days(1);
    }
    tokio::time::advance(Duration::from_secs_f64((target - local).as_seconds_f64())).await;
}

#[tokio::test(start_paused = true)]
async fn an_out_of_hours_message_gets_one_reply_by_the_team_s_clock() {
    let w = world(|_| {}).await;
    let admin = Actor::new(w.team.admin.clone(), Client::default());
    let every_day = Week::every(&["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "09:00", "17:00");
    let hours = HoursSettings {
        enabled: true,
        time_zone: "Asia/Tokyo".into(),
        weekly: every_day,
        out_of_hours_reply: Some("Sorry {{contact.first_name}}, we are closed. Back at 9.".into()),
        out_of_hours_reply_hours: 12,
        ..HoursSettings::default()
    };
    let agent = Actor::new(w.team.agent.clone(), Client::default());
    assert!(w.core.automation.set_hours(&agent, hours.clone()).await.is_err(), "admins only");
    w.core.automation.set_hours(&admin, hours).await.expect("an admin sets the hours");

    // 20:00 in Tokyo is 11:00 UTC: open by UTC's clock, closed by the team's.
    advance_to_tokyo(20).await;
    let view = w.core.automation.hours(w.team.id).await.unwrap();
    assert!(!view.open, "closed in Tokyo");
    assert_eq!(view.next_change_at.map(|t| t.to_offset(offset!(+9)).time()), Some(time!(09:00)));
    assert!(matches!(inbound(&w, "SM-ooh-1", "hello?").await, InboundOutcome::Stored(_)));
    until("the out-of-hours reply is sent", || w.carrier.count() == 1).await;
    let reply = &w.carrier.requests()[0];
    assert_eq!(reply.body, "Sorry Carol, we are closed. Back at 9.");
    assert_eq!(reply.to, w.contact.phone);

    // Within the period: no second reply; a retried webhook stores nothing and sends nothing.
    inbound(&w, "SM-ooh-2", "anyone?").await;
    assert!(matches!(inbound(&w, "SM-ooh-1", "hello?").await, InboundOutcome::Duplicate));
    tokio::time::sleep(Duration::from_secs(1)).await;
    settle().await;
    assert_eq!(w.carrier.count(), 1, "once per period");

    // Next morning, 10:00 in Tokyo (the period is over, but the team is open): no reply.
    advance_to_tokyo(10).await;
    assert!(w.core.automation.hours(w.team.id).await.unwrap().open);
    inbound(&w, "SM-ooh-3", "good morning").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    settle().await;
    assert_eq!(w.carrier.count(), 1, "open: no out-of-hours reply");
}

#[tokio::test(start_paused = true)]
async fn a_matching_rule_fires_once_through_the_thread_s_actor() {
    let w = world(|_| {}).await;
    let admin = Actor::new(w.team.admin.clone(), Client::default());
    let vip = w.core.labels.create(&w.team.admin, "Refunds", "#ff0000").await.unwrap();
    let draft = RuleDraft {
        name: "Refunds to the agent".into(),
        enabled: true,
        conditions: Conditions { keywords: vec!["refund".into()], ..Conditions::default() },
        actions: Actions {
            assign: Some(Assign::User { user_id: w.team.agent.id }),
            add_labels: vec![vip.id],
            priority: Some(Priority::High),
            ..Actions::default()
        },
    };
    let rule = w.core.automation.create_rule(&admin, draft).await.expect("an admin creates a rule");

    inbound(&w, "SM-rule-0", "hello").await;
    inbound(&w, "SM-rule-1", "I want a REFUND").await;
    until("the rule fired", || w.store.events(w.thread).iter().any(|e| e.kind == "rule.fired")).await;
    let thread = w.store.thread(w.team.id, w.thread).await.unwrap();
    assert_eq!(thread.assignee_id, Some(w.team.agent.id));
    assert_eq!(thread.label_ids, vec![vip.id]);
    assert_eq!(thread.priority, Priority::High);
    assert_eq!(thread.status, ThreadStatus::Open);
    let fired: Vec<_> = w.store.events(w.thread).into_iter().filter(|e| e.kind == "rule.fired").collect();
    assert_eq!(fired.len(), 1, "only the matching message");
    assert_eq!(fired[0].data["rule_id"], rule.id.to_string());
    assert_eq!(fired[0].data["name"], "Refunds to the agent");

    // The same webhook again: a duplicate, nothing fires.
    assert!(matches!(inbound(&w, "SM-rule-1", "I want a REFUND").await, InboundOutcome::Duplicate));
    tokio::time::sleep(Duration::from_secs(1)).await;
    settle().await;
    assert_eq!(w.store.events(w.thread).iter().filter(|e| e.kind == "rule.fired").count(), 1);

    // The dry run finds the matching one among the recent inbound messages.
    let dry = w
        .core
        .automation
        .dry_run(
            &w.team.agent,
            RuleDraft { name: "try".into(), enabled: true, conditions: rule.conditions.clone(), actions: rule.actions.clone() },
        )
        .await
        .unwrap();
    assert_eq!((dry.scanned, dry.items.len()), (2, 1));
    assert_eq!(dry.items[0].message.body, "I want a REFUND");
}
