//! The automation service: a team's business hours with its two automatic replies, and its
//! ordered rules (admins change them; everyone reads them), the dry run of a rule against the
//! team's last 100 inbound messages, and the per-node cache the thread actors read after each
//! inbound message.
//!
//! The cache holds a team's hours and rules together for `TTL` (a change on this node drops it
//! at once; another node sees it within the TTL). A team with no enabled rule and no automatic
//! reply answers "nothing to do" from the cache: a customer's message costs no statement here.
//! Firing rules is the thread actor's (`thread/automation.rs`): this service only answers what
//! the team has and makes the claims that make a firing happen once.

use crate::audit::{Actor, NewAuditEntry};
use crate::domain::{User, event};
use crate::error::{DomainError, DomainResult};
use crate::fanout::Fanout;
use crate::ids::*;
use crate::ports::{AuditWrites, AutomationStore, InboundSample, ReplyClaim};
use crate::protocol::ChannelName;
use crate::rules::automation::{self as rules, Compiled, Incoming, Rule, RuleDraft};
use crate::rules::hours::{self, HoursSettings, Schedule};
use crate::ttl_cache::TtlCache;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Semaphore;

/// How long a node trusts its copy of a team's automation.
const TTL: Duration = Duration::from_secs(5);
/// Inbound messages whose automation is worked out at once on a node; the others wait.
const CONCURRENT_RUNS: usize = 32;

/// A team's automation, as the thread actors use it.
pub struct TeamAutomation {
    pub hours: HoursSettings,
    pub schedule: Schedule,
    /// Every rule, in order (disabled ones too: they never fire).
    pub rules: Vec<Compiled>,
}

impl TeamAutomation {
    fn new(hours: Option<HoursSettings>, rules: Vec<Rule>) -> DomainResult<TeamAutomation> {
        let hours = hours.unwrap_or_default();
        let schedule = hours::schedule(&hours)?;
        Ok(TeamAutomation { hours, schedule, rules: rules.into_iter().map(Compiled::new).collect() })
    }

    /// Whether an inbound message may have anything to do here (an enabled rule, a reply).
    pub fn acts_on_inbound(&self) -> bool {
        self.rules.iter().any(|r| r.rule.enabled)
            || self.hours.first_message_reply.is_some()
            || (self.hours.enabled && self.hours.out_of_hours_reply.is_some())
    }
}

/// The hours as the API shows them: the setting, whether the team is open now, and when that
/// changes next (the inbox sets a timer for it).
#[derive(Clone, Debug, Serialize)]
pub struct HoursView {
    #[serde(flatten)]
    pub settings: HoursSettings,
    pub open: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_change_at: Option<OffsetDateTime>,
}

/// One message a dry run matched.
#[derive(Clone, Debug, Serialize)]
pub struct DryRunHit {
    #[serde(flatten)]
    pub message: InboundSample,
    /// Whether the team was open when it arrived.
    pub open: bool,
}

/// What a dry run found.
#[derive(Clone, Debug, Serialize)]
pub struct DryRun {
    pub items: Vec<DryRunHit>,
    pub next_cursor: Option<String>,
    /// How many messages were looked at.
    pub scanned: usize,
    /// What the rule would do to each (the same for all).
    pub actions: rules::Actions,
}

/// The service.
pub struct Automation {
    store: Arc<dyn AutomationStore>,
    audit: Arc<dyn AuditWrites>,
    fanout: Arc<Fanout>,
    cache: TtlCache<TeamId, Arc<TeamAutomation>>,
    /// Bounds the inbound messages worked out at once.
    pub(crate) runs: Arc<Semaphore>,
}

impl Automation {
    pub fn new(store: Arc<dyn AutomationStore>, audit: Arc<dyn AuditWrites>, fanout: Arc<Fanout>) -> Arc<Automation> {
        Arc::new(Automation { store, audit, fanout, cache: TtlCache::new(TTL), runs: Arc::new(Semaphore::new(CONCURRENT_RUNS)) })
    }

    /// The team's automation, from this node's copy when fresh.
    pub async fn team(&self, team: TeamId) -> DomainResult<Arc<TeamAutomation>> {
        self.cache
            .get_or_load(team, || async {
                let stored = self.store.automation(team).await?;
                Ok::<_, DomainError>(Arc::new(TeamAutomation::new(stored.hours, stored.rules)?))
            })
            .await
    }

    /// Whether this node knows (from a fresh copy) that the team's inbound messages have nothing
    /// to do here: the thread actor then spawns nothing.
    pub fn known_idle(&self, team: TeamId) -> bool {
        self.cache.fresh(&team).is_some_and(|a| !a.acts_on_inbound())
    }

    /// The team's hours, and whether it is open now.
    pub async fn hours(&self, team: TeamId) -> DomainResult<HoursView> {
        let auto = self.team(team).await?;
        Ok(view(&auto.hours, &auto.schedule))
    }

    /// Replaces the team's hours and replies (admins), audited, told on the team channel.
    pub async fn set_hours(&self, by: &Actor, settings: HoursSettings) -> DomainResult<HoursView> {
        by.require_admin("only admins may change business hours")?;
        let (settings, schedule) = hours::settings(settings)?;
        self.store.set_business_hours(by.team(), &settings).await?;
        self.cache.forget(&by.team());
        let details = serde_json::to_value(&settings).unwrap_or_default();
        let entry = NewAuditEntry::by(by, "team.business_hours_changed", "team", Some(by.team().to_string()), details);
        crate::audit::record(&*self.audit, entry).await;
        let view = view(&settings, &schedule);
        self.fanout.publish(ChannelName::Team(by.team()), event::BUSINESS_HOURS_CHANGED, &view);
        Ok(view)
    }

    /// The team's rules, in order (read fresh: the settings page edits them).
    pub async fn rules(&self, by: &User) -> DomainResult<Vec<Rule>> {
        Ok(self.store.automation(by.team_id).await?.rules)
    }

    /// A new rule at the end of the order (admins).
    pub async fn create_rule(&self, by: &Actor, draft: RuleDraft) -> DomainResult<Rule> {
        by.require_admin("only admins may change rules")?;
        let draft = rules::draft(draft)?;
        let rule = self.store.create_rule(by.team(), &draft, rules::MAX_RULES).await?;
        self.changed(by.team()).await;
        Ok(rule)
    }

    /// Changes a rule (admins).
    pub async fn update_rule(&self, by: &Actor, id: RuleId, draft: RuleDraft) -> DomainResult<Rule> {
        by.require_admin("only admins may change rules")?;
        let draft = rules::draft(draft)?;
        let rule = self.store.update_rule(by.team(), id, &draft).await?;
        self.changed(by.team()).await;
        Ok(rule)
    }

    /// Deletes a rule (admins, audit-logged).
    pub async fn delete_rule(&self, by: &Actor, id: RuleId) -> DomainResult<()> {
        by.require_admin("only admins may change rules")?;
        self.store.delete_rule(by, id).await?;
        self.changed(by.team()).await;
        Ok(())
    }

    /// Puts the team's rules in a new order (admins): every rule named once.
    pub async fn reorder(&self, by: &Actor, ids: &[RuleId]) -> DomainResult<Vec<Rule>> {
        by.require_admin("only admins may change rules")?;
        let current: Vec<RuleId> = self.store.automation(by.team()).await?.rules.iter().map(|r| r.id).collect();
        rules::order(&current, ids)?;
        self.store.reorder_rules(by.team(), ids).await?;
        self.changed(by.team()).await;
        self.rules(&by.user).await
    }

    /// Which of the team's last 100 inbound messages `draft` would have fired on (each judged
    /// by the hours at the time it arrived), and what it would have done. Nothing is changed.
    pub async fn dry_run(&self, by: &User, draft: RuleDraft) -> DomainResult<DryRun> {
        let draft = rules::draft(draft)?;
        let auto = self.team(by.team_id).await?;
        let now = crate::clock::now();
        let rule = Compiled::new(Rule {
            id: RuleId::new(),
            team_id: by.team_id,
            position: 0,
            name: draft.name,
            enabled: true,
            conditions: draft.conditions,
            actions: draft.actions.clone(),
            created_at: now,
            updated_at: now,
        });
        let samples = self.store.recent_inbound(by.team_id, rules::DRY_RUN_MESSAGES).await?;
        let scanned = samples.len();
        let items = samples
            .into_iter()
            .filter_map(|m| {
                let open = auto.schedule.is_open(m.created_at);
                let incoming = Incoming { channel_id: m.channel_id, channel_kind: m.channel_kind, body: &m.body, open };
                rule.matches(&incoming, &m.contact_tags).then_some(DryRunHit { message: m, open })
            })
            .collect();
        Ok(DryRun { items, next_cursor: None, scanned, actions: draft.actions })
    }

    /// Claims each rule's firing on `message`; answers those claimed now (see the port).
    pub async fn claim_firings(&self, team: TeamId, thread: ThreadId, message: MessageId, rules: &[RuleId]) -> DomainResult<Vec<RuleId>> {
        if rules.is_empty() {
            return Ok(vec![]);
        }
        self.store.claim_firings(team, thread, message, rules).await
    }

    /// Claims an automatic reply for its period; true when this caller sends it.
    pub async fn claim_auto_reply(&self, claim: ReplyClaim) -> DomainResult<bool> {
        self.store.claim_auto_reply(claim).await
    }

    /// After a change of rules: this node's copy goes, every settings page hears the new list.
    async fn changed(&self, team: TeamId) {
        self.cache.forget(&team);
        match self.store.automation(team).await {
            Ok(stored) => self.fanout.publish(ChannelName::Team(team), event::RULES_CHANGED, &serde_json::json!({ "items": stored.rules })),
            Err(e) => tracing::warn!(%team, error = %e, "could not tell the team its new rules"),
        }
    }
}

fn view(settings: &HoursSettings, schedule: &Schedule) -> HoursView {
    let now = crate::clock::now();
    HoursView { settings: settings.clone(), open: schedule.is_open(now), next_change_at: schedule.next_change(now) }
}
