//! The memory store's automation: a team's hours and ordered rules, the recent inbound messages
//! a dry run reads, and the two claims (a rule's firing once per message; an automatic reply
//! once per contact, channel, kind and period), as the Postgres store has them.

use super::{MemoryStore, now};
use crate::audit::Actor;
use crate::domain::*;
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::ports::*;
use crate::rules::automation::{Assign, Rule, RuleDraft};
use crate::rules::hours::HoursSettings;
use async_trait::async_trait;

impl super::State {
    fn team_rules(&self, team: TeamId) -> Vec<Rule> {
        let mut rules: Vec<Rule> = self.rules.values().filter(|r| r.team_id == team).cloned().collect();
        rules.sort_by_key(|r| (r.position, r.id));
        rules
    }

    /// A rule's labels and assignee are the team's (else invalid, as the Postgres store says).
    fn check_rule(&self, team: TeamId, d: &RuleDraft) -> DomainResult<()> {
        if d.actions.add_labels.iter().any(|l| self.labels.get(l).is_none_or(|l| l.team_id != team)) {
            return Err(DomainError::invalid("actions.add_labels", "must be labels of the team"));
        }
        if let Some(Assign::User { user_id }) = d.actions.assign
            && self.users.get(&user_id).is_none_or(|u| u.user.team_id != team || u.removed)
        {
            return Err(DomainError::invalid("actions.assign", "must be a member of the team"));
        }
        Ok(())
    }
}

#[async_trait]
impl AutomationReads for MemoryStore {
    async fn rule_firings(&self, team: TeamId, thread: ThreadId) -> DomainResult<Vec<ThreadEvent>> {
        self.enter("rule_firings").await?;
        let s = self.state();
        let fired: Vec<ThreadEvent> =
            s.events.get(&thread).into_iter().flatten().filter(|e| e.team_id == team && e.kind == event::RULE_FIRED).cloned().collect();
        Ok(fired[fired.len().saturating_sub(100)..].to_vec())
    }
}

#[async_trait]
impl AutomationStore for MemoryStore {
    async fn automation(&self, team: TeamId) -> DomainResult<StoredAutomation> {
        self.enter("automation").await?;
        let s = self.state();
        Ok(StoredAutomation { hours: s.business_hours.get(&team).cloned(), rules: s.team_rules(team) })
    }

    async fn set_business_hours(&self, team: TeamId, hours: &HoursSettings) -> DomainResult<()> {
        self.enter("set_business_hours").await?;
        self.state().business_hours.insert(team, hours.clone());
        Ok(())
    }

    async fn create_rule(&self, team: TeamId, d: &RuleDraft, max: usize) -> DomainResult<Rule> {
        self.enter("create_rule").await?;
        let mut s = self.state();
        s.check_rule(team, d)?;
        let existing = s.team_rules(team);
        if existing.len() >= max {
            return Err(DomainError::invalid("rules", format!("a team has at most {max} rules")));
        }
        let at = now();
        let rule = Rule {
            id: RuleId::new(),
            team_id: team,
            position: existing.last().map_or(0, |r| r.position + 1),
            name: d.name.clone(),
            enabled: d.enabled,
            conditions: d.conditions.clone(),
            actions: d.actions.clone(),
            created_at: at,
            updated_at: at,
        };
        s.rules.insert(rule.id, rule.clone());
        Ok(rule)
    }

    async fn update_rule(&self, team: TeamId, id: RuleId, d: &RuleDraft) -> DomainResult<Rule> {
        self.enter("update_rule").await?;
        let mut s = self.state();
        s.check_rule(team, d)?;
        let rule = s.rules.get_mut(&id).filter(|r| r.team_id == team).ok_or(DomainError::NotFound("rule"))?;
        rule.name = d.name.clone();
        rule.enabled = d.enabled;
        rule.conditions = d.conditions.clone();
        rule.actions = d.actions.clone();
        rule.updated_at = now();
        Ok(rule.clone())
    }

    async fn delete_rule(&self, by: &Actor, id: RuleId) -> DomainResult<Rule> {
        self.enter("delete_rule").await?;
        let mut s = self.state();
        let team = by.team();
        if s.rules.get(&id).is_none_or(|r| r.team_id != team) {
            return Err(DomainError::NotFound("rule"));
        }
        let rule = s.rules.remove(&id).ok_or(DomainError::NotFound("rule"))?;
        s.firings.retain(|(r, _)| *r != id);
        let details = serde_json::json!({ "name": rule.name });
        s.audit_push(Some(team), Some(by.user.id), "rule.deleted", "rule", Some(id.to_string()), &by.client, details);
        Ok(rule)
    }

    async fn reorder_rules(&self, team: TeamId, ids: &[RuleId]) -> DomainResult<()> {
        self.enter("reorder_rules").await?;
        let mut s = self.state();
        for (position, id) in ids.iter().enumerate() {
            if let Some(rule) = s.rules.get_mut(id).filter(|r| r.team_id == team) {
                rule.position = position as i32;
            }
        }
        Ok(())
    }

    async fn recent_inbound(&self, team: TeamId, limit: i64) -> DomainResult<Vec<InboundSample>> {
        self.enter("recent_inbound").await?;
        let s = self.state();
        let mut rows: Vec<&Message> =
            s.messages.values().map(|m| &m.msg).filter(|m| m.team_id == team && m.direction == Direction::Inbound).collect();
        rows.sort_by_key(|m| std::cmp::Reverse((m.created_at, m.id)));
        Ok(rows
            .into_iter()
            .take(limit.max(0) as usize)
            .filter_map(|m| {
                let thread = s.threads.get(&m.thread_id)?;
                let contact = s.contacts.get(&thread.contact)?;
                Some(InboundSample {
                    message_id: m.id,
                    thread_id: m.thread_id,
                    channel_id: thread.channel,
                    channel_kind: m.channel,
                    contact_name: contact.name.clone(),
                    contact_tags: contact.tags.clone(),
                    body: m.body.clone(),
                    created_at: m.created_at,
                })
            })
            .collect())
    }

    async fn claim_firings(&self, team: TeamId, _thread: ThreadId, message: MessageId, rules: &[RuleId]) -> DomainResult<Vec<RuleId>> {
        self.enter("claim_firings").await?;
        let mut s = self.state();
        let mut claimed = vec![];
        for rule in rules {
            if s.rules.get(rule).is_some_and(|r| r.team_id == team) && s.firings.insert((*rule, message)) {
                claimed.push(*rule);
            }
        }
        Ok(claimed)
    }

    async fn claim_auto_reply(&self, claim: ReplyClaim) -> DomainResult<bool> {
        self.enter("claim_auto_reply").await?;
        let mut s = self.state();
        let at = now();
        let key = (claim.channel, claim.contact, claim.kind.as_str());
        let free = s.auto_replies.get(&key).is_none_or(|last| *last <= at - claim.period);
        if free {
            s.auto_replies.insert(key, at);
        }
        Ok(free)
    }
}
