//! Campaigns, once: their types (a campaign, its audience, its recipients' outcomes and
//! counts), how a campaign's status may move, what may be edited when, what a recipient is
//! skipped for, and how fast a campaign may send on one sender.
//!
//! Status: `draft` → (`scheduled` →) `running` ⇄ `paused` → `done` | `canceled` | `failed`.
//! Only a draft or a scheduled campaign may be edited; a running one may not be deleted.

use crate::domain::Channel;
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::rules::quiet_hours::QuietHours;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use time::OffsetDateTime;

/// A campaign's name: 1 to 200 characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Contacts a campaign may name by id.
pub const MAX_CONTACT_IDS: usize = 10_000;
/// Recipients a preview renders.
pub const PREVIEW_RECIPIENTS: i64 = 5;

macro_rules! word_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)* _ => None }
            }
        }
    };
}

word_enum!(
    /// Where a campaign is in its life.
    CampaignStatus { Draft = "draft", Scheduled = "scheduled", Running = "running", Paused = "paused", Done = "done", Canceled = "canceled", Failed = "failed" }
);

word_enum!(
    /// What happened to one recipient.
    RecipientStatus { Queued = "queued", Sending = "sending", Sent = "sent", Delivered = "delivered", Failed = "failed", Skipped = "skipped" }
);

/// Why a recipient was skipped (stored as text in `campaign_recipients.skip_reason`).
pub mod skip {
    pub const OPTED_OUT: &str = "opted_out";
    pub const INVALID_NUMBER: &str = "invalid_number";
    pub const DUPLICATE: &str = "duplicate";
    pub const OUTSIDE_WINDOW: &str = "outside_whatsapp_window";
    pub const MISSING_VARIABLES: &str = "missing_variables";
    pub const DELETED: &str = "contact_deleted";
    pub const CANCELED: &str = "campaign_canceled";
    pub const FAILED: &str = "campaign_failed";
}

/// Who a campaign goes to: exactly one of a static list, a segment, a tag, or picked contacts.
/// Serialized as the API spells it (`{list_id}`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Audience {
    ListId(ListId),
    SegmentId(ListId),
    Tag(String),
    ContactIds(Vec<ContactId>),
}

/// How the API spells an audience: an object with one of the keys.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudienceInput {
    pub list_id: Option<ListId>,
    pub segment_id: Option<ListId>,
    pub tag: Option<String>,
    pub contact_ids: Option<Vec<ContactId>>,
}

impl Audience {
    /// The API's shape: `{list_id}` | `{segment_id}` | `{tag}` | `{contact_ids}`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Audience::ListId(id) => serde_json::json!({ "list_id": id }),
            Audience::SegmentId(id) => serde_json::json!({ "segment_id": id }),
            Audience::Tag(tag) => serde_json::json!({ "tag": tag }),
            Audience::ContactIds(ids) => serde_json::json!({ "contact_ids": ids }),
        }
    }

    /// Reads the stored (API-shaped) audience.
    pub fn from_json(v: &serde_json::Value) -> DomainResult<Audience> {
        let input: AudienceInput = serde_json::from_value(v.clone()).map_err(|e| DomainError::invalid("audience", e.to_string()))?;
        audience(input)
    }

    /// The list to read members of, when the audience is a list or segment.
    pub fn list(&self) -> Option<ListId> {
        match self {
            Audience::ListId(id) | Audience::SegmentId(id) => Some(*id),
            _ => None,
        }
    }
}

impl Serialize for Audience {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// Exactly one audience key, with a valid value.
pub fn audience(input: AudienceInput) -> DomainResult<Audience> {
    let given = [input.list_id.is_some(), input.segment_id.is_some(), input.tag.is_some(), input.contact_ids.is_some()];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(DomainError::invalid("audience", "give exactly one of list_id, segment_id, tag, contact_ids"));
    }
    Ok(if let Some(id) = input.list_id {
        Audience::ListId(id)
    } else if let Some(id) = input.segment_id {
        Audience::SegmentId(id)
    } else if let Some(tag) = input.tag {
        let tag = tag.trim().to_owned();
        if tag.is_empty() || tag.chars().count() > 50 {
            return Err(DomainError::invalid("audience.tag", "must be 1 to 50 characters"));
        }
        Audience::Tag(tag)
    } else {
        let ids = input.contact_ids.unwrap_or_default();
        if ids.is_empty() || ids.len() > MAX_CONTACT_IDS {
            return Err(DomainError::invalid("audience.contact_ids", format!("must name 1 to {MAX_CONTACT_IDS} contacts")));
        }
        Audience::ContactIds(ids)
    })
}

/// A campaign's name, trimmed.
pub fn name(name: &str) -> DomainResult<String> {
    super::plain_text("name", name)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(DomainError::invalid("name", format!("must be 1 to {MAX_NAME_CHARS} characters")));
    }
    Ok(name.to_owned())
}

/// A campaign's body: a message body (rules::body) that parses as a template, not blank.
pub fn body(body: &str) -> DomainResult<String> {
    super::body(body)?;
    if body.trim().is_empty() {
        return Err(DomainError::invalid("body", "must not be empty"));
    }
    crate::templates::Template::parse(body).map_err(|e| e.invalid("body"))?;
    Ok(body.to_owned())
}

/// A campaign as stored.
#[derive(Clone, Debug, Serialize)]
pub struct Campaign {
    pub id: CampaignId,
    pub team_id: TeamId,
    pub name: String,
    pub status: CampaignStatus,
    pub channel_id: ChannelId,
    pub body: Option<String>,
    pub template_id: Option<uuid::Uuid>,
    /// An approved template (`message_templates`), sent with its ContentSid.
    pub content_template_id: Option<TemplateId>,
    /// Fixed values of the approved template's variables, the same for every recipient.
    pub content_variables: BTreeMap<String, String>,
    /// No send while it is quiet in the contact's time zone (`rules::quiet_hours`).
    pub quiet_hours: Option<QuietHours>,
    pub audience: Audience,
    #[serde(with = "time::serde::rfc3339::option")]
    pub send_at: Option<OffsetDateTime>,
    pub created_by: Option<UserId>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// Why a `failed` campaign could not go on (`fails_for_good`).
    pub failure: Option<String>,
}

/// A campaign's counts, from its recipients table. `sent` counts every recipient handed to the
/// carrier (delivered ones included; failed ones the carrier refused later too, when it had a
/// sid).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CampaignCounts {
    pub total: i64,
    pub queued: i64,
    pub sending: i64,
    pub sent: i64,
    pub delivered: i64,
    pub failed: i64,
    pub skipped: i64,
    /// Queued recipients held by quiet hours (counted in `queued` too).
    pub held: i64,
    /// When the last of them is let go.
    #[serde(with = "time::serde::rfc3339::option")]
    pub held_until: Option<OffsetDateTime>,
    pub replied: i64,
    pub opted_out: i64,
    /// Failed recipients by carrier error code (or reason when it has none).
    pub failed_by: BTreeMap<String, i64>,
    /// Skipped recipients by reason.
    pub skipped_by: BTreeMap<String, i64>,
}

/// Rates derived from counts, and an ETA from the configured pace.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CampaignRates {
    pub delivery: f64,
    pub failure: f64,
    pub reply: f64,
    pub opt_out: f64,
    /// Seconds until every queued recipient is handed to the carrier at `per_second`; with
    /// recipients held by quiet hours, no sooner than the last hold ends plus their sends.
    pub eta_seconds: Option<u64>,
    /// Done share of the non-skipped recipients, 0 to 1.
    pub progress: f64,
}

/// Rates of `counts` at `now`; the ETA when the campaign sends `per_second` (None when it is
/// not moving). Recipients held by quiet hours go when their hold ends: the ETA is the later of
/// the others' sends and the last hold's end plus the held recipients' sends (the ones not yet
/// reached are not known to be held until the runner reaches them).
pub fn rates(counts: &CampaignCounts, per_second: Option<f64>, now: OffsetDateTime) -> CampaignRates {
    let ratio = |a: i64, b: i64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    let handed = counts.sent + counts.failed;
    let sendable = counts.total - counts.skipped;
    CampaignRates {
        delivery: ratio(counts.delivered, counts.sent),
        failure: ratio(counts.failed, handed),
        reply: ratio(counts.replied, counts.sent),
        opt_out: ratio(counts.opted_out, counts.sent),
        eta_seconds: per_second.filter(|r| *r > 0.0).map(|r| {
            let now_ready = ((counts.queued - counts.held + counts.sending) as f64 / r).ceil() as u64;
            let held = match counts.held_until {
                Some(until) if counts.held > 0 => (until - now).whole_seconds().max(0) as u64 + (counts.held as f64 / r).ceil() as u64,
                _ => 0,
            };
            now_ready.max(held)
        }),
        progress: if sendable > 0 { ratio(handed, sendable) } else { 1.0 },
    }
}

/// What may be asked of a campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Schedule,
    Start,
    Pause,
    Resume,
    Cancel,
    /// The runner found nothing left to send.
    Finish,
    /// The runner can never start or go on with it (`fails_for_good`).
    Fail,
}

/// The status `action` moves a campaign in `from` to; Conflict when it may not.
pub fn transition(from: CampaignStatus, action: Action) -> DomainResult<CampaignStatus> {
    use CampaignStatus::*;
    let to = match (from, action) {
        (Draft, Action::Schedule) | (Scheduled, Action::Schedule) => Scheduled,
        (Draft | Scheduled, Action::Start) => Running,
        (Running, Action::Pause) => Paused,
        (Paused, Action::Resume) => Running,
        (Draft | Scheduled | Running | Paused, Action::Cancel) => Canceled,
        (Running, Action::Finish) => Done,
        (Scheduled | Running | Paused, Action::Fail) => Failed,
        _ => return Err(DomainError::Conflict(format!("a {} campaign cannot be {}", from.as_str(), action_word(action)))),
    };
    Ok(to)
}

fn action_word(action: Action) -> &'static str {
    match action {
        Action::Schedule => "scheduled",
        Action::Start => "started",
        Action::Pause => "paused",
        Action::Resume => "resumed",
        Action::Cancel => "canceled",
        Action::Finish => "finished",
        Action::Fail => "failed",
    }
}

/// Why a campaign can never start or go on, when the runner's error says so: what it refers to
/// is gone (its number, its template) or no longer fits (the template's variables changed
/// under the campaign's values). Anything else (the store busy or down, another node starting
/// it first) is tried again.
pub fn fails_for_good(e: &DomainError) -> Option<String> {
    match e {
        DomainError::NotFound(_) | DomainError::Invalid { .. } | DomainError::MissingVariables(_) => Some(e.to_string()),
        _ => None,
    }
}

/// The smallest share of its pace a campaign keeps while agents' requests are slow: it never
/// stops, it crawls.
pub const MIN_SHARE: f64 = 0.02;

/// The share of its pace a campaign may use next (`share` now): halved while agents' requests
/// were slow or its own claim was (the box or the database is busy: agents first), and grown
/// back by a fiftieth of the pace per tick while they were not (slowly: what a send costs comes
/// later, with its status callbacks).
pub fn next_share(share: f64, slow: bool) -> f64 {
    if slow { (share * 0.5).max(MIN_SHARE) } else { (share + 0.02).min(1.0) }
}

/// Recipients a campaign may claim in one tick at `per_second` and `share` of it: at least one.
pub fn tick_allowance(per_second: f64, tick: std::time::Duration, share: f64) -> usize {
    ((per_second * tick.as_secs_f64() * share).ceil() as usize).max(1)
}

/// The campaigns that hold their approved template: it may not be deleted under them (a draft
/// does not hold it: its start then asks for another).
pub const HOLDS_TEMPLATE: [CampaignStatus; 3] = [CampaignStatus::Scheduled, CampaignStatus::Running, CampaignStatus::Paused];

/// Whether a campaign's content and audience may still change: only before it starts.
pub fn may_edit(status: CampaignStatus) -> DomainResult<()> {
    match status {
        CampaignStatus::Draft | CampaignStatus::Scheduled => Ok(()),
        s => Err(DomainError::Conflict(format!("a {} campaign cannot be edited: duplicate it instead", s.as_str()))),
    }
}

/// Whether a campaign may be deleted (soft): any time it is not sending.
pub fn may_delete(status: CampaignStatus) -> DomainResult<()> {
    match status {
        CampaignStatus::Running => Err(DomainError::Conflict("a running campaign cannot be deleted: pause or cancel it first".into())),
        _ => Ok(()),
    }
}

/// The kinds of sender a carrier paces differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SenderClass {
    LongCode,
    TollFree,
    ShortCode,
    MessagingService,
    WhatsApp,
}

/// North American toll-free area codes.
const TOLL_FREE: &[&str] = &["800", "833", "844", "855", "866", "877", "888"];

/// Which kind of sender a channel is, as carriers pace it.
pub fn sender_class(channel: &Channel) -> SenderClass {
    if channel.messaging_service_sid.is_some() {
        return SenderClass::MessagingService;
    }
    if channel.kind == crate::domain::ChannelKind::Whatsapp {
        return SenderClass::WhatsApp;
    }
    let number = channel.number.trim_start_matches('+');
    if !channel.number.starts_with('+') && number.len() <= 6 {
        return SenderClass::ShortCode;
    }
    if number.len() == 11 && number.starts_with('1') && TOLL_FREE.contains(&&number[1..4]) {
        return SenderClass::TollFree;
    }
    SenderClass::LongCode
}

/// Campaign messages per second for each kind of sender (configurable).
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignPace {
    pub long_code: f64,
    pub toll_free: f64,
    pub short_code: f64,
    pub messaging_service: f64,
    pub whatsapp: f64,
    /// The share of a sender's own budget (`SEND_RATE_PER_SECOND`) a campaign may use, so the
    /// agents' own messages on the number are never starved.
    pub share: f64,
}

impl Default for CampaignPace {
    fn default() -> Self {
        CampaignPace { long_code: 1.0, toll_free: 3.0, short_code: 100.0, messaging_service: 100.0, whatsapp: 80.0, share: 0.8 }
    }
}

impl CampaignPace {
    /// Campaign messages per second on `channel` when the sender's whole budget is
    /// `sender_per_second`: the class's rate, capped at `share` of that budget.
    pub fn per_second(&self, channel: &Channel, sender_per_second: f64) -> f64 {
        let class = match sender_class(channel) {
            SenderClass::LongCode => self.long_code,
            SenderClass::TollFree => self.toll_free,
            SenderClass::ShortCode => self.short_code,
            SenderClass::MessagingService => self.messaging_service,
            SenderClass::WhatsApp => self.whatsapp,
        };
        class.min(sender_per_second * self.share.clamp(0.05, 1.0)).max(0.01)
    }

    /// The interval between two campaign messages at `per_second`.
    pub fn period(per_second: f64) -> Duration {
        Duration::from_secs_f64(1.0 / per_second.max(0.01))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ChannelKind;
    use CampaignStatus::*;

    #[test]
    fn status_moves_only_forward_and_pause_resume_loop() {
        assert_eq!(transition(Draft, Action::Start).unwrap(), Running);
        assert_eq!(transition(Draft, Action::Schedule).unwrap(), Scheduled);
        assert_eq!(transition(Scheduled, Action::Start).unwrap(), Running);
        assert_eq!(transition(Running, Action::Pause).unwrap(), Paused);
        assert_eq!(transition(Paused, Action::Resume).unwrap(), Running);
        assert_eq!(transition(Paused, Action::Cancel).unwrap(), Canceled);
        assert_eq!(transition(Running, Action::Finish).unwrap(), Done);
        for from in [Scheduled, Running, Paused] {
            assert_eq!(transition(from, Action::Fail).unwrap(), Failed);
        }
        for (from, action) in [
            (Draft, Action::Fail),
            (Done, Action::Fail),
            (Canceled, Action::Fail),
            (Running, Action::Start),
            (Paused, Action::Pause),
            (Running, Action::Resume),
            (Done, Action::Cancel),
            (Canceled, Action::Resume),
            (Draft, Action::Pause),
            (Paused, Action::Finish),
        ] {
            assert!(matches!(transition(from, action), Err(DomainError::Conflict(_))), "{from:?} {action:?}");
        }
    }

    #[test]
    fn a_campaign_backs_off_while_agents_are_slowed_and_comes_back_when_they_are_not() {
        let mut share = 1.0;
        for want in [0.5, 0.25, 0.125, 0.0625, 0.03125, MIN_SHARE, MIN_SHARE] {
            share = next_share(share, true);
            assert!((share - want).abs() < 1e-9, "{share} {want}");
        }
        for _ in 0..60 {
            share = next_share(share, false);
        }
        assert_eq!(share, 1.0, "back to its whole pace in 50 quiet ticks, never above");
        let tick = std::time::Duration::from_millis(100);
        assert_eq!(tick_allowance(1000.0, tick, 1.0), 100);
        assert_eq!(tick_allowance(1000.0, tick, MIN_SHARE), 2);
        assert_eq!(tick_allowance(1.0, tick, MIN_SHARE), 1, "never nothing");
    }

    #[test]
    fn a_campaign_fails_for_good_only_when_what_it_refers_to_is_gone_or_no_longer_fits() {
        let gone = fails_for_good(&DomainError::NotFound("channel")).unwrap();
        assert_eq!(gone, "channel not found");
        let unfit = fails_for_good(&DomainError::invalid("content_variables", "9 is not a variable")).unwrap();
        assert!(unfit.starts_with("content_variables: "), "{unfit}");
        for again in [DomainError::Unavailable, DomainError::Busy, DomainError::Conflict("started".into())] {
            assert_eq!(fails_for_good(&again), None, "{again:?}");
        }
    }

    #[test]
    fn edits_only_before_start_and_no_delete_while_running() {
        assert!(may_edit(Draft).is_ok() && may_edit(Scheduled).is_ok());
        for s in [Running, Paused, Done, Canceled, Failed] {
            assert!(may_edit(s).is_err());
        }
        assert!(may_delete(Running).is_err());
        assert!(may_delete(Paused).is_ok() && may_delete(Draft).is_ok());
    }

    #[test]
    fn an_audience_has_exactly_one_key() {
        assert!(audience(AudienceInput::default()).is_err());
        let both = AudienceInput { tag: Some("vip".into()), list_id: Some(ListId::new()), ..Default::default() };
        assert!(audience(both).is_err());
        assert_eq!(audience(AudienceInput { tag: Some(" vip ".into()), ..Default::default() }).unwrap(), Audience::Tag("vip".into()));
        assert!(audience(AudienceInput { contact_ids: Some(vec![]), ..Default::default() }).is_err());
        let a = Audience::SegmentId(ListId::new());
        assert_eq!(Audience::from_json(&a.to_json()).unwrap(), a);
    }

    #[test]
    fn a_body_must_be_a_template() {
        assert!(body("Hi {{contact.first_name}}").is_ok());
        assert!(body("Hi {{contact.first_name").is_err());
        assert!(body("  ").is_err());
    }

    fn channel(number: &str, kind: ChannelKind, service: Option<&str>) -> Channel {
        Channel {
            id: ChannelId::new(),
            team_id: TeamId::new(),
            kind,
            number: number.into(),
            account_sid: "AC1".into(),
            auth_token: String::new().into(),
            messaging_service_sid: service.map(str::to_owned),
            simulated: false,
        }
    }

    #[test]
    fn pace_follows_the_sender_kind_and_leaves_agents_a_share() {
        let pace = CampaignPace::default();
        let long = channel("+14155550100", ChannelKind::Sms, None);
        let free = channel("+18005550100", ChannelKind::Sms, None);
        let service = channel("+14155550100", ChannelKind::Sms, Some("MG1"));
        assert_eq!(sender_class(&long), SenderClass::LongCode);
        assert_eq!(sender_class(&free), SenderClass::TollFree);
        assert_eq!(sender_class(&service), SenderClass::MessagingService);
        // A long code at 1/s of its own budget: the campaign takes 80 %, agents keep the rest.
        assert!((pace.per_second(&long, 1.0) - 0.8).abs() < 1e-9);
        assert!((pace.per_second(&service, 1000.0) - 100.0).abs() < 1e-9);
    }

    #[test]
    fn rates_and_eta() {
        let counts =
            CampaignCounts { total: 10, queued: 4, sent: 4, delivered: 2, failed: 1, skipped: 1, replied: 1, ..Default::default() };
        let now = time::macros::datetime!(2026-01-15 12:00 UTC);
        let r = rates(&counts, Some(2.0), now);
        assert_eq!(r.eta_seconds, Some(2));
        // Two of the queued held until an hour from now: the ETA is then, plus their sends.
        let held = CampaignCounts { held: 2, held_until: Some(now + time::Duration::hours(1)), ..counts.clone() };
        assert_eq!(rates(&held, Some(2.0), now).eta_seconds, Some(3600 + 1));
        assert!((r.delivery - 0.5).abs() < 1e-9);
        assert!((r.progress - 5.0 / 9.0).abs() < 1e-9);
    }
}
