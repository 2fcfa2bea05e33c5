//! The team's automation on a customer's message, in two halves.
//!
//! 1. After the message is stored (and the webhook answered), an owned task works out what is
//!    due (`plan`): the team's automation from the per-node cache (a team with none stops here,
//!    at no statement), the automatic reply (out of hours, or first message) claimed once per
//!    contact, channel and period, and the matching rules claimed once per message (one row per
//!    rule and message: a retry, or another node, claims nothing). Only the claimer goes on.
//! 2. The thread's actor (the one writer) does what was claimed (`ThreadMsg::Automate`): the
//!    reply through the normal send path, then each rule in order: one thread change (assign,
//!    labels, priority, resolve), its `rule.fired` line in the thread's log, its reply.
//!
//! A crash between a claim and its action loses that action rather than doing it twice.

use super::{ThreadMsg, ThreadState};
use crate::domain::*;
use crate::error::DomainResult;
use crate::ports::*;
use crate::rules;
use crate::rules::automation::{Assign, Incoming, Rule};
use crate::templates::{Template, TemplateContext};
use std::sync::Arc;

/// What the actor does after an inbound message: claimed already, so done once.
#[derive(Debug)]
pub struct Automated {
    pub message: crate::ids::MessageId,
    /// The automatic reply claimed (its kind and template).
    pub reply: Option<(AutoReplyKind, String)>,
    /// The rules whose firing was claimed, in the team's order.
    pub rules: Vec<Rule>,
}

/// What a stored inbound message hands to the task.
struct Arrived {
    team: crate::ids::TeamId,
    thread: crate::ids::ThreadId,
    contact: crate::ids::ContactId,
    opted_out: bool,
    channel: ChannelBrief,
    message: crate::ids::MessageId,
    body: String,
}

impl ThreadState {
    /// Starts the automation of a stored inbound message, off the actor.
    pub(super) fn automate(&self, message: &Message) {
        if self.ctx.automation.known_idle(self.summary.team_id) {
            return;
        }
        let arrived = Arrived {
            team: self.summary.team_id,
            thread: self.id,
            contact: self.summary.contact.id,
            opted_out: self.summary.contact.opted_out_at.is_some(),
            channel: self.summary.channel.clone(),
            message: message.id,
            body: message.body.clone(),
        };
        let ctx = self.ctx.clone();
        self.ctx.tasks.spawn(async move {
            let Ok(_permit) = ctx.automation.runs.clone().acquire_owned().await else { return };
            let thread = arrived.thread;
            match plan(&ctx, arrived).await {
                Ok(Some(automated)) => {
                    if let Err(e) = ctx.registry.cast(thread, ThreadMsg::Automate(Box::new(automated))).await {
                        tracing::warn!(%thread, error = %e, "the automation did not reach its thread");
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(%thread, error = %e, "could not run the team's automation"),
            }
        });
    }

    /// Does what `plan` claimed: the automatic reply, then each rule in order.
    pub(super) async fn automated(&mut self, a: Automated) {
        if let Some((kind, template)) = &a.reply
            && let Err(e) = self.auto_reply(template, kind.as_str()).await
        {
            tracing::warn!(thread = %self.id, kind = kind.as_str(), error = %e, "the automatic reply was not sent");
        }
        for rule in a.rules {
            self.fire(rule, a.message).await;
        }
    }

    async fn fire(&mut self, rule: Rule, message: crate::ids::MessageId) {
        let team = self.summary.team_id;
        let actions = &rule.actions;
        let assignee = match actions.assign {
            Some(Assign::RoundRobin) => self.ctx.assign.pick_for_rule(team).await,
            Some(Assign::User { user_id }) => Some(user_id),
            None => None,
        };
        let change = ThreadChange {
            assignee: assignee.map(Some),
            priority: actions.priority,
            add_labels: actions.add_labels.clone(),
            status: actions.resolve.then_some(ThreadStatus::Resolved),
            ..ThreadChange::default()
        };
        let mut error = None;
        if change.assignee.is_some() || change.priority.is_some() || !change.add_labels.is_empty() || change.status.is_some() {
            match self.ctx.store.update_thread(team, self.id, None, change).await {
                Ok(changed) => {
                    self.commit(changed, false, assignee);
                }
                Err(e) => {
                    tracing::warn!(thread = %self.id, rule = %rule.id, error = %e, "a rule could not change the conversation");
                    error = Some(e.to_string());
                }
            }
        }
        let data = serde_json::json!({
            "rule_id": rule.id,
            "name": rule.name,
            "message_id": message,
            "actions": actions,
            "assigned_to": assignee,
            "error": error,
        });
        match self.ctx.store.record_rule_fired(team, self.id, data).await {
            Ok(logged) => self.apply(logged),
            Err(e) => tracing::warn!(thread = %self.id, rule = %rule.id, error = %e, "could not log a rule's firing"),
        }
        metrics::counter!("switchboard_rules_fired_total").increment(1);
        if let Some(template) = &actions.reply
            && let Err(e) = self.auto_reply(template, "rule").await
        {
            tracing::warn!(thread = %self.id, rule = %rule.id, error = %e, "a rule's reply was not sent");
        }
    }

    /// Sends an automatic reply (no author) rendered for the thread's contact, through the
    /// normal send path (opt-out and trial guard, the sender's rate budget, status callbacks).
    pub(super) async fn auto_reply(&mut self, source: &str, kind: &'static str) -> DomainResult<()> {
        let team_id = self.summary.team_id;
        let contact = self.ctx.store.contact(team_id, self.summary.contact.id).await?;
        self.ctx.guard.allows(&contact.phone, contact.opted_out_at.is_some())?;
        let team = self.ctx.store.team(team_id).await?;
        let template = Template::parse(source).map_err(|e| e.invalid("reply"))?;
        let Some(body) = rules::calls::auto_reply_text(template.render(&TemplateContext::for_contact(&contact, &team))?) else {
            return Ok(());
        };
        let outbound = NewOutbound {
            team: team_id,
            thread: self.id,
            author: None,
            body,
            media_urls: vec![],
            send_at: None,
            cancel_on_reply: false,
            content: None,
        };
        let committed = self.ctx.store.create_outbound(outbound).await?;
        let message = self.apply(committed);
        metrics::counter!("switchboard_auto_replies_total", "kind" => kind).increment(1);
        self.spawn_send(message.id, None);
        Ok(())
    }
}

/// What is due for an arrived message, claimed; `None` when nothing is.
async fn plan(ctx: &Arc<super::ThreadCtx>, m: Arrived) -> DomainResult<Option<Automated>> {
    let auto = ctx.automation.team(m.team).await?;
    if !auto.acts_on_inbound() {
        return Ok(None);
    }
    let open = auto.schedule.is_open(crate::clock::now());
    let mut reply = None;
    if !m.opted_out
        && let Some((kind, template, period)) = rules::hours::auto_reply(&auto.hours, open)
        && ctx.automation.claim_auto_reply(ReplyClaim { kind, channel: m.channel.id, contact: m.contact, period }).await?
    {
        reply = Some((kind, template.to_owned()));
    }
    let incoming = Incoming { channel_id: m.channel.id, channel_kind: m.channel.kind, body: &m.body, open };
    let enabled: Vec<_> = auto.rules.iter().filter(|r| r.rule.enabled).collect();
    let tags = if enabled.iter().any(|r| r.needs_tags()) { ctx.store.contact(m.team, m.contact).await?.tags } else { vec![] };
    let matching: Vec<&Rule> = enabled.into_iter().filter(|r| r.matches(&incoming, &tags)).map(|r| &r.rule).collect();
    let ids: Vec<_> = matching.iter().map(|r| r.id).collect();
    let claimed = ctx.automation.claim_firings(m.team, m.thread, m.message, &ids).await?;
    let rules: Vec<Rule> = matching.into_iter().filter(|r| claimed.contains(&r.id)).cloned().collect();
    if reply.is_none() && rules.is_empty() {
        return Ok(None);
    }
    Ok(Some(Automated { message: m.message, reply, rules }))
}
