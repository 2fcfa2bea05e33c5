//! WhatsApp's 24-hour window in the thread actor (paused time): a free-form message is refused
//! once the contact's last message is a day old, before anything is stored or sent; an approved
//! template goes with its Content sid and variables; a scheduled message that comes due after
//! the window closed fails without a carrier request; the thread row tells when it closes.

use crate::support::*;
use actors::domain::{ChannelKind, MessageStatus};
use actors::error::DomainError;
use actors::ports::{ChannelReads, ThreadReads};
use actors::rules::Draft;
use actors::rules::message_templates::ContentRef;
use actors::threads::InboundMessage;
use std::collections::BTreeMap;
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);

/// A WhatsApp thread whose contact just wrote.
async fn whatsapp_world() -> (World, actors::ids::ThreadId) {
    let w = world(|_| {}).await;
    let channels = w.store.channels(w.team.id).await.expect("channels");
    let wa = channels.iter().find(|c| c.kind == ChannelKind::Whatsapp).expect("a WhatsApp number");
    let inbound = InboundMessage {
        team: w.team.id,
        channel: wa.id,
        kind: ChannelKind::Whatsapp,
        from: "+447911123456".into(),
        profile_name: Some("Kenji".into()),
        message_sid: "SMwa1".into(),
        body: "Hello".into(),
        media: vec![],
        raw: serde_json::json!({}),
        opt_out_type: None,
    };
    let outcome = w.core.threads.inbound(inbound).await.expect("inbound");
    let thread = match outcome {
        actors::ports::InboundOutcome::Stored(c) => c.thread.id,
        other => panic!("{other:?}"),
    };
    (w, thread)
}

fn draft(body: &str) -> Draft {
    Draft { body: body.into(), ..Draft::default() }
}

#[tokio::test(start_paused = true)]
async fn free_form_goes_inside_the_window_and_is_refused_after_it_closes() {
    let (w, thread) = whatsapp_world().await;
    let (team, agent) = (w.team.id, w.team.agent.clone());
    let summary = w.store.thread(team, thread).await.expect("the thread");
    let closes = summary.whatsapp_window_closes_at.expect("open: the contact just wrote");
    assert_eq!(Some(closes), summary.last_inbound_at.map(|at| at + time::Duration::hours(24)));

    tokio::time::advance(23 * HOUR).await;
    w.core.threads.send(team, thread, agent.clone(), draft("Still here?")).await.expect("inside the window");
    until("sent", || w.carrier.count() == 1).await;

    tokio::time::advance(2 * HOUR).await;
    let refused = w.core.threads.send(team, thread, agent.clone(), draft("Hello?")).await;
    assert!(matches!(refused, Err(DomainError::WindowClosed)), "{refused:?}");
    settle().await;
    assert_eq!(w.carrier.count(), 1, "nothing more reached the carrier");
    assert_eq!(w.store.calls("create_outbound"), 1, "nothing was stored");

    // An approved template goes any time, with its sid and variables.
    let content = ContentRef { sid: format!("HX{}", "ab".repeat(16)), variables: BTreeMap::from([("1".into(), "Kenji".into())]) };
    let templated = Draft { body: "Hi Kenji, your order is ready.".into(), content: Some(content.clone()), ..Draft::default() };
    let msg = w.core.threads.send(team, thread, agent, templated).await.expect("a template goes outside the window");
    until("the template is sent", || w.store.message(msg.id).is_some_and(|m| m.status == MessageStatus::Sent)).await;
    let req = w.carrier.requests().last().cloned().expect("a request");
    assert_eq!(req.content, Some(content));
    assert_eq!(req.body, "Hi Kenji, your order is ready.", "the thread's text");
}

#[tokio::test(start_paused = true)]
async fn a_scheduled_free_form_message_due_after_the_window_fails_without_the_carrier() {
    let (w, thread) = whatsapp_world().await;
    let at = actors::clock::now() + time::Duration::hours(25);
    let later = Draft { body: "Tomorrow's reminder".into(), send_at: Some(at), ..Draft::default() };
    let msg = w.core.threads.send(w.team.id, thread, w.team.agent.clone(), later).await.expect("scheduled inside the window");
    tokio::time::advance(26 * HOUR).await;
    until("the scheduled message failed", || w.store.message(msg.id).is_some_and(|m| m.status == MessageStatus::Failed)).await;
    let failed = w.store.message(msg.id).expect("stored");
    assert!(failed.error_reason.as_deref().is_some_and(|r| r.starts_with("window_closed")), "{failed:?}");
    assert_eq!(w.carrier.count(), 0, "Twilio would only have failed it with 63016");
}
