//! Automation rules, once: what a rule is (when an inbound message matches every condition
//! given: channel, keyword or regex, business hours, contact tag → assign, label, prioritise,
//! reply with a template, resolve), what a valid one is, whether a message matches it, and what
//! it would do (the dry run's words). A team's rules run in their order; every enabled rule that
//! matches fires, at most once per message.

use crate::domain::{ChannelKind, Priority};
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::templates::Template;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Rules a team may have.
pub const MAX_RULES: usize = 100;
/// Keywords a rule may list.
pub const MAX_KEYWORDS: usize = 20;
/// The longest regex a rule may have, and the most memory it may compile to.
const MAX_REGEX_CHARS: usize = 200;
const REGEX_SIZE_LIMIT: usize = 256 * 1024;
/// How many recent inbound messages a dry run looks at.
pub const DRY_RUN_MESSAGES: i64 = 100;

/// Business hours as a condition.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Hours {
    Open,
    Closed,
}

/// When a rule fires: every condition given must hold (none given: every inbound message).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Conditions {
    pub channel_kind: Option<ChannelKind>,
    pub channel_id: Option<ChannelId>,
    /// Any of these words or phrases, whole words, case-insensitive.
    pub keywords: Vec<String>,
    /// A regular expression the body matches (add `(?i)` for case-insensitive).
    pub regex: Option<String>,
    pub business_hours: Option<Hours>,
    pub contact_tag: Option<String>,
}

/// Whom a rule assigns.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Assign {
    /// The team's round robin among online agents (automatic assignment's pick).
    RoundRobin,
    User {
        user_id: UserId,
    },
}

/// What a rule does.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Actions {
    pub assign: Option<Assign>,
    pub add_labels: Vec<LabelId>,
    pub priority: Option<Priority>,
    /// A reply template (`{{contact.first_name}}` …) sent through the normal send path.
    pub reply: Option<String>,
    pub resolve: bool,
}

/// A rule as given by an admin.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RuleDraft {
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub conditions: Conditions,
    #[serde(default)]
    pub actions: Actions,
}

fn yes() -> bool {
    true
}

/// A team's rule.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Rule {
    pub id: RuleId,
    pub team_id: TeamId,
    /// Its place in the team's order (0 first).
    pub position: i32,
    pub name: String,
    pub enabled: bool,
    pub conditions: Conditions,
    pub actions: Actions,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Text as matched: lower case, every run of non-alphanumerics one space, padded with spaces.
fn words(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(' ');
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
    out
}

fn compile(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).dfa_size_limit(REGEX_SIZE_LIMIT).build()
}

/// A draft checked and tidied: a name of 1–80 characters, at least one action, keywords of
/// 1–60 characters, a regex that compiles within bounds, a valid tag, at most 20 labels, a
/// valid reply template of at most a message's length.
pub fn draft(mut d: RuleDraft) -> DomainResult<RuleDraft> {
    d.name = super::without_nul(d.name.trim());
    if d.name.is_empty() || d.name.chars().count() > 80 {
        return Err(DomainError::invalid("name", "must be 1 to 80 characters"));
    }
    let c = &mut d.conditions;
    c.keywords = c.keywords.iter().map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()).collect();
    c.keywords.dedup();
    if c.keywords.len() > MAX_KEYWORDS || c.keywords.iter().any(|k| k.chars().count() > 60 || words(k).trim().is_empty()) {
        return Err(DomainError::invalid("conditions.keywords", format!("at most {MAX_KEYWORDS} words or phrases of 1 to 60 characters")));
    }
    c.regex = c.regex.take().filter(|r| !r.trim().is_empty());
    if let Some(r) = &c.regex {
        if r.chars().count() > MAX_REGEX_CHARS {
            return Err(DomainError::invalid("conditions.regex", format!("has at most {MAX_REGEX_CHARS} characters")));
        }
        compile(r).map_err(|e| DomainError::invalid("conditions.regex", format!("is not a valid regular expression: {e}")))?;
    }
    c.contact_tag = c.contact_tag.take().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    if let Some(tag) = &c.contact_tag {
        let tags = super::tags(vec![tag.clone()]).map_err(|_| DomainError::invalid("conditions.contact_tag", "is not a valid tag"))?;
        c.contact_tag = tags.into_iter().next();
    }
    let a = &mut d.actions;
    a.add_labels.dedup();
    if a.add_labels.len() > super::labels::MAX_PER_THREAD {
        return Err(DomainError::invalid("actions.add_labels", format!("at most {}", super::labels::MAX_PER_THREAD)));
    }
    a.reply = a.reply.take().map(|r| super::without_nul(r.trim())).filter(|r| !r.is_empty());
    if let Some(r) = &a.reply {
        if r.chars().count() > super::MAX_BODY_CHARS {
            return Err(DomainError::invalid("actions.reply", format!("has at most {} characters", super::MAX_BODY_CHARS)));
        }
        Template::parse(r).map_err(|e| e.invalid("actions.reply"))?;
    }
    if a.assign.is_none() && a.add_labels.is_empty() && a.priority.is_none() && a.reply.is_none() && !a.resolve {
        return Err(DomainError::invalid("actions", "a rule must do something"));
    }
    Ok(d)
}

/// The new order of a team's rules: every rule of the team named exactly once.
pub fn order(current: &[RuleId], wanted: &[RuleId]) -> DomainResult<()> {
    let mut a = current.to_vec();
    let mut b = wanted.to_vec();
    a.sort();
    b.sort();
    if a != b {
        return Err(DomainError::invalid("ids", "must name every rule of the team exactly once"));
    }
    Ok(())
}

/// An inbound message as a rule sees it.
#[derive(Clone, Debug)]
pub struct Incoming<'a> {
    pub channel_id: ChannelId,
    pub channel_kind: ChannelKind,
    pub body: &'a str,
    /// Whether the team was open when it arrived.
    pub open: bool,
}

/// A rule with its regex compiled once.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub rule: Rule,
    regex: Option<regex::Regex>,
}

impl Compiled {
    /// A stored rule (a stored regex that no longer compiles never matches).
    pub fn new(rule: Rule) -> Compiled {
        let regex = rule.conditions.regex.as_deref().and_then(|r| compile(r).ok());
        Compiled { rule, regex }
    }

    /// Whether its contact-tag condition needs the contact's tags.
    pub fn needs_tags(&self) -> bool {
        self.rule.conditions.contact_tag.is_some()
    }

    /// Whether `m` (from a contact with `tags`, when known) meets every condition.
    pub fn matches(&self, m: &Incoming<'_>, tags: &[String]) -> bool {
        let c = &self.rule.conditions;
        if c.channel_kind.is_some_and(|k| k != m.channel_kind) || c.channel_id.is_some_and(|id| id != m.channel_id) {
            return false;
        }
        if let Some(hours) = c.business_hours
            && (hours == Hours::Open) != m.open
        {
            return false;
        }
        if !c.keywords.is_empty() {
            let body = words(m.body);
            if !c.keywords.iter().any(|k| body.contains(&words(k))) {
                return false;
            }
        }
        if c.regex.is_some() && !self.regex.as_ref().is_some_and(|r| r.is_match(m.body)) {
            return false;
        }
        if let Some(tag) = &c.contact_tag
            && !tags.iter().any(|t| t.eq_ignore_ascii_case(tag))
        {
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(conditions: Conditions) -> Compiled {
        let now = OffsetDateTime::UNIX_EPOCH;
        Compiled::new(Rule {
            id: RuleId::new(),
            team_id: TeamId::new(),
            position: 0,
            name: "r".into(),
            enabled: true,
            conditions,
            actions: Actions { resolve: true, ..Actions::default() },
            created_at: now,
            updated_at: now,
        })
    }

    fn msg(body: &str) -> Incoming<'_> {
        Incoming { channel_id: ChannelId::new(), channel_kind: ChannelKind::Sms, body, open: true }
    }

    #[test]
    fn keywords_are_whole_words_in_any_case() {
        let r = rule(Conditions { keywords: vec!["refund".into(), "money back".into()], ..Conditions::default() });
        assert!(r.matches(&msg("I want a REFUND!"), &[]));
        assert!(r.matches(&msg("can I get my money  back?"), &[]));
        assert!(!r.matches(&msg("refunds are slow"), &[]), "a longer word is another word");
        assert!(!r.matches(&msg("hello"), &[]));
    }

    #[test]
    fn every_condition_must_hold() {
        let r = rule(Conditions {
            channel_kind: Some(ChannelKind::Whatsapp),
            regex: Some(r"(?i)order\s+#?\d+".into()),
            business_hours: Some(Hours::Closed),
            contact_tag: Some("vip".into()),
            ..Conditions::default()
        });
        let m = Incoming { channel_kind: ChannelKind::Whatsapp, open: false, ..msg("Where is order #123?") };
        assert!(r.matches(&m, &["VIP".into()]));
        assert!(!r.matches(&m, &[]), "the tag");
        assert!(!r.matches(&Incoming { open: true, ..m.clone() }, &["vip".into()]), "the hours");
        assert!(!r.matches(&Incoming { channel_kind: ChannelKind::Sms, ..m.clone() }, &["vip".into()]), "the channel");
        assert!(!r.matches(&Incoming { body: "where is it", ..m }, &["vip".into()]), "the regex");
        assert!(rule(Conditions::default()).matches(&msg("anything"), &[]), "no condition: every message");
    }

    #[test]
    fn drafts_are_checked() {
        let ok = RuleDraft {
            name: " VIP ".into(),
            enabled: true,
            conditions: Conditions::default(),
            actions: Actions { resolve: true, ..Actions::default() },
        };
        assert_eq!(draft(ok.clone()).unwrap().name, "VIP");
        let bad = |d: RuleDraft| draft(d).unwrap_err();
        assert!(matches!(bad(RuleDraft { name: " ".into(), ..ok.clone() }), DomainError::Invalid { field: "name", .. }));
        assert!(matches!(bad(RuleDraft { actions: Actions::default(), ..ok.clone() }), DomainError::Invalid { field: "actions", .. }));
        let regex = Conditions { regex: Some("(unclosed".into()), ..Conditions::default() };
        assert!(matches!(bad(RuleDraft { conditions: regex, ..ok.clone() }), DomainError::Invalid { field: "conditions.regex", .. }));
        let reply = Actions { reply: Some("Hi {{ nope }}".into()), ..Actions::default() };
        assert!(matches!(bad(RuleDraft { actions: reply, ..ok.clone() }), DomainError::Invalid { field: "actions.reply", .. }));
        let huge = Conditions { regex: Some("a{1000}{1000}".into()), ..Conditions::default() };
        assert!(matches!(bad(RuleDraft { conditions: huge, ..ok }), DomainError::Invalid { field: "conditions.regex", .. }), "bounded");
    }

    #[test]
    fn an_order_names_every_rule_once() {
        let (a, b) = (RuleId::new(), RuleId::new());
        assert!(order(&[a, b], &[b, a]).is_ok());
        assert!(order(&[a, b], &[a]).is_err());
        assert!(order(&[a, b], &[a, a]).is_err());
    }
}
