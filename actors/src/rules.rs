//! Domain rules, written once: what a valid draft, scheduled time, note and contact look like.
//! The actors and services apply them; the edge only maps the errors they answer.

use crate::domain::User;
use crate::error::{DomainError, DomainResult};
use crate::ids::UserId;
use std::time::Duration;
use time::OffsetDateTime;

/// Twilio's limit for one message body.
pub const MAX_BODY_CHARS: usize = 1600;
/// Media attachments per message (Twilio's limit).
pub const MAX_MEDIA: usize = 10;
/// The longest note.
pub const MAX_NOTE_CHARS: usize = 10_000;
/// The longest contact name.
pub const MAX_NAME_CHARS: usize = 200;

/// Refuses text Postgres cannot store and no person typed: the NUL character.
pub fn plain_text(field: &'static str, text: &str) -> DomainResult<()> {
    if text.contains('\0') {
        return Err(DomainError::invalid(field, "must not contain the NUL character"));
    }
    Ok(())
}

/// Drops NUL characters from text that must be stored as received (a webhook Twilio already
/// delivered: refusing it would lose the customer's message).
pub fn without_nul(text: &str) -> String {
    if text.contains('\0') { text.replace('\0', "") } else { text.to_owned() }
}

/// Strips NUL characters from every string of a JSON value (webhook parameters kept as
/// received: Postgres' JSONB cannot hold `\u0000`). Runs on every webhook, so a value without
/// a NUL (nearly all of them) is handed back untouched, with no copy.
pub fn scrub_json(mut value: serde_json::Value) -> serde_json::Value {
    scrub_in_place(&mut value);
    value
}

fn scrub_in_place(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => *s = s.replace('\0', ""),
        Value::Array(items) => items.iter_mut().for_each(scrub_in_place),
        Value::Object(map) => {
            if map.keys().any(|k| k.contains('\0')) {
                *map = std::mem::take(map).into_iter().map(|(k, v)| (k.replace('\0', ""), v)).collect();
            }
            map.values_mut().for_each(scrub_in_place);
        }
        _ => {}
    }
}

/// Whether an inbound message opts its sender out (`Some(true)`) or back in (`Some(false)`):
/// Twilio's `OptOutType` when it sends one, else the standard keywords. The message itself is
/// stored either way.
pub fn opt_out_intent(opt_out_type: Option<&str>, body: &str) -> Option<bool> {
    match opt_out_type.map(str::to_ascii_uppercase).as_deref() {
        Some("STOP") => return Some(true),
        Some("START") => return Some(false),
        Some(_) => return None,
        None => {}
    }
    match body.trim().to_ascii_uppercase().as_str() {
        "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" | "REVOKE" | "OPTOUT" => Some(true),
        "START" | "YES" | "UNSTOP" => Some(false),
        _ => None,
    }
}

/// An agent's outbound message before it is stored.
#[derive(Clone, Debug, Default)]
pub struct Draft {
    pub body: String,
    pub media_urls: Vec<String>,
    /// Send later at this instant; `None` sends now.
    pub send_at: Option<OffsetDateTime>,
    /// Cancel the scheduled message if the contact writes first.
    pub cancel_on_reply: bool,
    /// Sent with an approved template (its Content sid and variables; `body` is its rendered
    /// text): WhatsApp's 24-hour window does not apply.
    pub content: Option<message_templates::ContentRef>,
}

impl Draft {
    /// Checks the draft: a body or a media URL, Twilio's limits, http(s) media, a send time in
    /// the future and within `horizon`.
    pub fn validate(&self, now: OffsetDateTime, horizon: Duration) -> DomainResult<()> {
        body(&self.body)?;
        if self.body.trim().is_empty() && self.media_urls.is_empty() {
            return Err(DomainError::invalid("body", "a message needs a body or a media URL"));
        }
        media_urls(&self.media_urls)?;
        if let Some(at) = self.send_at {
            send_at(at, now, horizon)?;
        }
        Ok(())
    }
}

/// The draft that retries a failed send: a new message with the failed one's body, media and
/// approved template, if any (the failed one is kept). Only an outbound message that failed or was undelivered can be
/// retried (Conflict otherwise: it was sent, or is still on its way).
pub fn retry_draft(failed: &crate::domain::Message) -> DomainResult<Draft> {
    use crate::domain::{Direction, MessageStatus};
    if failed.direction != Direction::Outbound || !matches!(failed.status, MessageStatus::Failed | MessageStatus::Undelivered) {
        return Err(DomainError::Conflict("only a failed or undelivered message of ours can be retried".into()));
    }
    Ok(Draft {
        body: failed.body.clone(),
        media_urls: failed.media.iter().map(|m| m.url.clone()).collect(),
        send_at: None,
        cancel_on_reply: false,
        content: failed.content.clone(),
    })
}

/// A message body: plain text within Twilio's limit.
pub fn body(text: &str) -> DomainResult<()> {
    plain_text("body", text)?;
    if text.chars().count() > MAX_BODY_CHARS {
        return Err(DomainError::invalid("body", format!("must be at most {MAX_BODY_CHARS} characters (Twilio's limit)")));
    }
    Ok(())
}

/// Media URLs: at most ten, each http(s).
pub fn media_urls(urls: &[String]) -> DomainResult<()> {
    if urls.len() > MAX_MEDIA {
        return Err(DomainError::invalid("media_urls", format!("at most {MAX_MEDIA} media URLs")));
    }
    for u in urls {
        if !is_http_url(u) {
            return Err(DomainError::invalid("media_urls", format!("{:?} is not an http(s) URL", u.chars().take(80).collect::<String>())));
        }
    }
    Ok(())
}

/// Whether `u` is an absolute http(s) URL of reasonable length.
pub fn is_http_url(u: &str) -> bool {
    u.len() <= 2048 && url::Url::parse(u).is_ok_and(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some())
}

/// A scheduled send time: in the future, and not further than `horizon`.
pub fn send_at(at: OffsetDateTime, now: OffsetDateTime, horizon: Duration) -> DomainResult<()> {
    if at <= now {
        return Err(DomainError::invalid("send_at", "must be in the future"));
    }
    if at - now > horizon {
        return Err(DomainError::invalid("send_at", "is too far in the future"));
    }
    Ok(())
}

/// A note body: not empty, plain text, at most 10,000 characters. Answers it trimmed.
pub fn note_body(text: &str) -> DomainResult<String> {
    plain_text("body", text)?;
    let text = text.trim();
    if text.is_empty() {
        return Err(DomainError::invalid("body", "a note needs a body"));
    }
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(DomainError::invalid("body", format!("must be at most {MAX_NOTE_CHARS} characters")));
    }
    Ok(text.to_owned())
}

/// A contact's name, trimmed (it may be empty: the phone number stands in).
pub fn contact_name(name: &str) -> DomainResult<String> {
    plain_text("name", name)?;
    let name = name.trim();
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(DomainError::invalid("name", format!("must be at most {MAX_NAME_CHARS} characters")));
    }
    Ok(name.to_owned())
}

/// A thread change as asked: something must change; a snooze's end goes with `snoozed` (or
/// implies it), lies ahead and within `horizon`.
pub fn thread_change(
    change: crate::ports::ThreadChange,
    now: time::OffsetDateTime,
    horizon: std::time::Duration,
) -> DomainResult<crate::ports::ThreadChange> {
    use crate::domain::ThreadStatus;
    let mut change = change;
    if change.status.is_none()
        && change.assignee.is_none()
        && change.snoozed_until.is_none()
        && change.priority.is_none()
        && change.labels.is_none()
        && change.add_labels.is_empty()
    {
        return Err(DomainError::invalid("status", "send status, snoozed_until, assignee_id, priority and/or labels"));
    }
    if let Some(labels) = change.labels.take() {
        change.labels = Some(labels::thread_labels(labels)?);
    }
    change.add_labels = labels::thread_labels(std::mem::take(&mut change.add_labels))?;
    if let Some(until) = change.snoozed_until {
        match change.status {
            None => change.status = Some(ThreadStatus::Snoozed),
            Some(ThreadStatus::Snoozed) => {}
            Some(_) => return Err(DomainError::invalid("snoozed_until", "goes with status snoozed")),
        }
        if until <= now {
            return Err(DomainError::invalid("snoozed_until", "must be in the future"));
        }
        if until > now + horizon {
            return Err(DomainError::invalid("snoozed_until", "is too far ahead"));
        }
    }
    Ok(change)
}

/// The most conversations one bulk action names.
pub const MAX_BULK_THREADS: usize = 200;

/// The threads of a bulk action: at least one, at most 200, each once (first kept).
pub fn bulk_threads(ids: Vec<crate::ids::ThreadId>) -> DomainResult<Vec<crate::ids::ThreadId>> {
    let mut seen = std::collections::HashSet::new();
    let ids: Vec<_> = ids.into_iter().filter(|id| seen.insert(*id)).collect();
    if ids.is_empty() || ids.len() > MAX_BULK_THREADS {
        return Err(DomainError::invalid("thread_ids", format!("name 1 to {MAX_BULK_THREADS} conversations")));
    }
    Ok(ids)
}

/// Whether a new inbound message opens a conversation again: a resolved or snoozed one does
/// (the customer wrote: someone must see it); open and pending ones stay as they are.
pub fn reopens_on_inbound(status: crate::domain::ThreadStatus) -> bool {
    matches!(status, crate::domain::ThreadStatus::Resolved | crate::domain::ThreadStatus::Snoozed)
}

/// An optional short text of a contact (company, source, a name part, the opt-out reason):
/// plain text, trimmed, at most `max` characters; empty means none.
pub fn contact_text(field: &'static str, text: Option<&str>, max: usize) -> DomainResult<Option<String>> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    plain_text(field, text)?;
    if text.chars().count() > max {
        return Err(DomainError::invalid(field, format!("must be at most {max} characters")));
    }
    Ok(Some(text.to_owned()))
}

/// The name a contact shows: the one entered, or else the first and last names joined.
pub fn display_name(name: &str, first: Option<&str>, last: Option<&str>) -> String {
    let name = name.trim();
    if !name.is_empty() {
        return name.to_owned();
    }
    [first, last].into_iter().flatten().map(str::trim).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ")
}

/// A contact's first and last name parts: at most 100 characters each.
pub const MAX_NAME_PART_CHARS: usize = 100;
/// A contact's notes.
pub const MAX_CONTACT_NOTES_CHARS: usize = 5000;
/// One custom field value.
pub const MAX_CUSTOM_VALUE_CHARS: usize = 1000;
/// Custom fields a team may define.
pub const MAX_CUSTOM_FIELDS: usize = 50;

/// Custom field values checked against the team's fields: every key must be one of them, values
/// are text (numbers and booleans are written as text), at most 1,000 characters; an empty or
/// null value removes the key.
pub fn custom_values(
    values: serde_json::Map<String, serde_json::Value>,
    fields: &[crate::domain::ContactField],
) -> DomainResult<serde_json::Map<String, serde_json::Value>> {
    use serde_json::Value;
    let mut out = serde_json::Map::new();
    for (key, value) in values {
        if !fields.iter().any(|f| f.key == key) {
            return Err(DomainError::invalid("custom_fields", format!("{key:?} is not one of the team's contact fields")));
        }
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err(DomainError::invalid("custom_fields", format!("{key:?} must be text"))),
        };
        if let Some(text) = contact_text("custom_fields", Some(&text), MAX_CUSTOM_VALUE_CHARS)? {
            out.insert(key, Value::String(text));
        }
    }
    Ok(out)
}

/// The team's custom contact fields: keys of a lower-case letter then letters, digits or `_`
/// (at most 40; used as `{{contact.KEY}}`), labels of 1 to 100 characters, keys unique, at most
/// 50 fields; keys that would shadow a built-in field are refused.
pub fn contact_fields(fields: Vec<crate::domain::ContactField>) -> DomainResult<Vec<crate::domain::ContactField>> {
    const BUILT_IN: &[&str] = &[
        "id",
        "name",
        "first_name",
        "last_name",
        "phone",
        "email",
        "tags",
        "company",
        "notes",
        "source",
        "custom_fields",
        "opted_out_at",
        "opt_out_reason",
        "created_at",
    ];
    if fields.len() > MAX_CUSTOM_FIELDS {
        return Err(DomainError::invalid("fields", format!("at most {MAX_CUSTOM_FIELDS} fields")));
    }
    let mut out: Vec<crate::domain::ContactField> = Vec::with_capacity(fields.len());
    for f in fields {
        let key = f.key.trim().to_owned();
        let valid = key.len() <= 40
            && key.starts_with(|c: char| c.is_ascii_lowercase())
            && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid || BUILT_IN.contains(&key.as_str()) {
            return Err(DomainError::invalid("fields", format!("{key:?} is not a usable key (a-z, 0-9, _; not a built-in field)")));
        }
        if out.iter().any(|o| o.key == key) {
            return Err(DomainError::invalid("fields", format!("{key:?} appears twice")));
        }
        let label = label("fields", &f.label, MAX_NAME_PART_CHARS)?;
        out.push(crate::domain::ContactField { key, label });
    }
    Ok(out)
}

/// A country local numbers are read in: an ISO 3166 alpha-2 code the phone library knows.
pub fn country(code: &str) -> DomainResult<String> {
    let code = code.trim().to_uppercase();
    code.parse::<phonenumber::country::Id>()
        .map(|_| code.clone())
        .map_err(|_| DomainError::invalid("default_country", format!("{code:?} is not a country code (ISO 3166, e.g. US, GB, DE)")))
}

/// An email address, lower-cased; empty means none.
pub fn email(email: Option<&str>) -> DomainResult<Option<String>> {
    match email.map(str::trim).filter(|e| !e.is_empty()) {
        None => Ok(None),
        Some(e) if e.len() <= 254 && !e.contains(['\0', ' ']) && e.split_once('@').is_some_and(|(a, b)| !a.is_empty() && !b.is_empty()) => {
            Ok(Some(e.to_lowercase()))
        }
        Some(_) => Err(DomainError::invalid("email", "is not an email address")),
    }
}

// Account rules live in `rules/accounts.rs` (re-exported here, where callers look for them).
pub use accounts::*;

/// What separates tags in one CSV cell (`import::split_tags`, the export's join): a tag cannot
/// hold one, or it would not come back the same from an export.
pub const TAG_SEPARATORS: [char; 3] = [',', ';', '|'];

/// Tags: trimmed, empty ones dropped, at most 50 of at most 50 characters, none holding a
/// separator (`TAG_SEPARATORS`).
pub fn tags(tags: Vec<String>) -> DomainResult<Vec<String>> {
    let tags: Vec<String> = tags.into_iter().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect();
    if tags.len() > 50 || tags.iter().any(|t| t.chars().count() > 50 || t.contains('\0')) {
        return Err(DomainError::invalid("tags", "at most 50 tags of at most 50 characters"));
    }
    if let Some(t) = tags.iter().find(|t| t.contains(TAG_SEPARATORS)) {
        return Err(DomainError::invalid("tags", format!("“{t}”: a tag cannot contain , ; or | (they separate tags in a CSV file)")));
    }
    Ok(tags)
}

/// Finds `@Name` mentions of team members: full name, first name or email local part, any case.
/// The longest match wins so `@Ann Lee` is not read as `@Ann` when both exist.
pub fn resolve_mentions(body: &str, members: &[User], author: UserId) -> Vec<UserId> {
    let lower = body.to_lowercase();
    let mut found = Vec::new();
    for (i, _) in lower.match_indices('@') {
        let rest = &lower[i + 1..];
        let mut best: Option<(usize, UserId)> = None;
        for m in members {
            let full = m.name.to_lowercase();
            let first = full.split_whitespace().next().unwrap_or_default().to_owned();
            let local = m.email.split('@').next().unwrap_or_default().to_lowercase();
            for handle in [full, first, local] {
                if handle.is_empty() || !rest.starts_with(&handle) {
                    continue;
                }
                // The handle must end at a word boundary.
                let next = rest[handle.len()..].chars().next();
                if next.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                if best.is_none_or(|(len, _)| handle.len() > len) {
                    best = Some((handle.len(), m.id));
                }
            }
        }
        if let Some((_, id)) = best
            && id != author
            && !found.contains(&id)
        {
            found.push(id);
        }
    }
    found
}

/// Accounts, passwords, tokens, members and invites.
pub mod accounts;
/// Automatic assignment: its setting, and which conversations want an agent.
pub mod assignment;
/// Automation rules: conditions on an inbound message, actions, matching, dry-run words.
pub mod automation;
/// Calls: their outcome from Twilio's words, channel voice settings, the missed-call reply.
pub mod calls;
/// Campaigns: their types, status moves, edits, skips and pace.
pub mod campaigns;
/// Follow-ups: notes, due times, the callback a missed call leaves.
pub mod follow_ups;
/// Business hours: open at an instant in the team's zone, the next change, the auto-replies.
pub mod hours;
/// CSV imports of contacts.
pub mod import;
/// Labels (names, colours, who manages them) and priority.
pub mod labels;
/// Contact lists and bulk changes.
pub mod lists;
/// Approved message templates (WhatsApp and SMS): their types, fields and who manages them.
pub mod message_templates;
/// Who hears of what: notifications.
pub mod notifications;
/// A campaign's quiet hours in each contact's time zone (the zone from a field or the country).
pub mod quiet_hours;
/// Who may see and change which canned reply.
pub mod replies;
/// Full-text search queries and snippets.
pub mod search;
/// The inbox's tabs and orders.
pub mod views;
/// WhatsApp's 24-hour window.
pub mod whatsapp;

/// TOTP as RFC 6238 has it and authenticator apps expect: HMAC-SHA1, 6 digits, 30 s steps,
/// one step of skew either way.
pub mod totp;

/// Sign-in with an OIDC provider: how long a started sign-in lives, whom it may sign in, the
/// name of an account it creates, and when an identity may be unlinked.
pub mod oidc;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;
    use crate::ids::TeamId;

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn drafts_need_content_within_limits() {
        let now = OffsetDateTime::now_utc();
        let ok = Draft { body: "hi".into(), ..Draft::default() };
        assert!(ok.validate(now, DAY).is_ok());
        let empty = Draft { body: "  ".into(), ..Draft::default() };
        assert!(matches!(empty.validate(now, DAY), Err(DomainError::Invalid { field: "body", .. })));
        let nul = Draft { body: "a\0b".into(), ..Draft::default() };
        assert!(matches!(nul.validate(now, DAY), Err(DomainError::Invalid { field: "body", .. })));
        let media = Draft { media_urls: vec!["javascript:alert(1)".into()], ..Draft::default() };
        assert!(matches!(media.validate(now, DAY), Err(DomainError::Invalid { field: "media_urls", .. })));
        let past = Draft { body: "x".into(), send_at: Some(now - time::Duration::seconds(1)), ..Draft::default() };
        assert!(matches!(past.validate(now, DAY), Err(DomainError::Invalid { field: "send_at", .. })));
        let far = Draft { body: "x".into(), send_at: Some(now + time::Duration::days(2)), ..Draft::default() };
        assert!(matches!(far.validate(now, DAY), Err(DomainError::Invalid { field: "send_at", .. })));
    }

    #[test]
    fn passwords_must_be_long_and_hard_to_guess() {
        for weak in ["        ", "12345678", "1234567890", "password123", "qwertyuiop", "aaaaaaaaaaaa", "annlee2024!", "switchboard1"] {
            assert!(password(weak, "Ann Lee", "ann@example.com").is_err(), "{weak:?} is refused");
        }
        for strong in ["correct horse battery", "tangerine-lamp-cobalt-91", "Mj7#qL2v!xR9", "correct-horse-battery-1", "load test password"]
        {
            assert!(password(strong, "Ann Lee", "ann@example.com").is_ok(), "{strong:?} is accepted");
        }
    }

    #[test]
    fn sign_in_backs_off_exponentially_after_five_failures() {
        assert_eq!(sign_in_backoff(4), None);
        assert_eq!(sign_in_backoff(5), Some(Duration::from_secs(1)));
        assert_eq!(sign_in_backoff(6), Some(Duration::from_secs(2)));
        assert_eq!(sign_in_backoff(9), Some(Duration::from_secs(16)));
        assert_eq!(sign_in_backoff(40), Some(Duration::from_secs(15 * 60)));
    }

    #[test]
    fn contact_fields() {
        assert_eq!(contact_name("  Ann ").unwrap(), "Ann");
        assert!(contact_name("A\0").is_err());
        assert_eq!(email(Some(" Ann@X.io ")).unwrap().as_deref(), Some("ann@x.io"));
        assert!(email(Some("nope")).is_err());
        assert_eq!(tags(vec![" vip ".into(), "".into()]).unwrap(), vec!["vip"]);
        for odd in ["a,b", "a;b", "a|b"] {
            assert!(matches!(tags(vec![odd.into()]), Err(DomainError::Invalid { field: "tags", .. })), "{odd}");
        }
        assert_eq!(without_nul("a\0b"), "ab");
        let scrubbed = scrub_json(serde_json::json!({ "Body": "hel\0lo", "Na\0me": ["x\0"], "n": 1 }));
        assert_eq!(scrubbed, serde_json::json!({ "Body": "hello", "Name": ["x"], "n": 1 }));
    }

    fn user(name: &str, email: &str) -> User {
        User { id: UserId::new(), team_id: TeamId::new(), email: email.into(), name: name.into(), role: Role::Agent }
    }

    #[test]
    fn mentions_match_names_and_handles() {
        let ann = user("Ann Lee", "ann@x.io");
        let annie = user("Annie Hall", "annie@x.io");
        let bob = user("Bob Stone", "bstone@x.io");
        let members = vec![ann.clone(), annie.clone(), bob.clone()];
        let got = resolve_mentions("hey @Ann Lee and @annie, also @bstone.", &members, UserId::new());
        assert_eq!(got, vec![ann.id, annie.id, bob.id]);
        assert!(resolve_mentions("mail ann@x.io", &members, UserId::new()).is_empty());
        assert!(resolve_mentions("@Bob", &members, bob.id).is_empty(), "no self-mention");
    }

    #[test]
    fn token_expiry_is_a_day_to_ten_years_ahead() {
        let now = OffsetDateTime::now_utc();
        let days = |d| TokenExpiry { in_days: Some(d), at: None }.resolve(now);
        let at = |at| TokenExpiry { in_days: None, at: Some(at) }.resolve(now);
        assert_eq!(TokenExpiry::default().resolve(now).unwrap(), None, "never, unless asked");
        assert_eq!(days(1).unwrap(), Some(now + time::Duration::days(1)));
        assert_eq!(days(3650).unwrap(), Some(now + time::Duration::days(3650)));
        for bad in [0, -1, 3651, i64::MAX] {
            assert!(matches!(days(bad), Err(DomainError::Invalid { field: "expires_in_days", .. })), "{bad}");
        }
        let soon = now + time::Duration::hours(1);
        assert_eq!(at(soon).unwrap(), Some(soon));
        for bad in [now, now - time::Duration::seconds(1), now + time::Duration::days(3651)] {
            assert!(matches!(at(bad), Err(DomainError::Invalid { field: "expires_at", .. })), "{bad}");
        }
        let both = TokenExpiry { in_days: Some(1), at: Some(soon) }.resolve(now);
        assert!(matches!(both, Err(DomainError::Invalid { field: "expires_at", .. })));
    }

    #[test]
    fn only_admins_reach_other_peoples_tokens() {
        let agent = user("Ann", "ann@x.io");
        let admin = User { role: Role::Admin, ..user("Bo", "bo@x.io") };
        assert_eq!(token_owner(&agent, false).unwrap(), Some(agent.id));
        assert!(matches!(token_owner(&agent, true), Err(DomainError::Forbidden(_))));
        assert_eq!(token_owner(&admin, false).unwrap(), Some(admin.id));
        assert_eq!(token_owner(&admin, true).unwrap(), None);
    }

    fn member(role: Role, active: bool) -> crate::ports::Member {
        let user = User { id: UserId::new(), team_id: TeamId::new(), email: "m@example.com".into(), name: "M".into(), role };
        crate::ports::Member { user, active, deactivated_at: None, created_at: OffsetDateTime::UNIX_EPOCH }
    }

    #[test]
    fn a_team_always_keeps_an_active_admin() {
        use crate::ports::MemberChange;
        let (a, b, agent) = (member(Role::Admin, true), member(Role::Admin, true), member(Role::Agent, true));
        let team = vec![a.clone(), b.clone(), agent.clone()];
        let demote = MemberChange { role: Some(Role::Agent), ..Default::default() };
        let deactivate = MemberChange { active: Some(false), ..Default::default() };
        let remove = MemberChange { remove: true, ..Default::default() };
        assert!(member_change(&team, &a.user, b.user.id, demote).is_ok(), "another admin remains");
        assert!(member_change(&team, &a.user, a.user.id, demote).is_ok(), "demoting oneself while another admin remains");
        assert!(matches!(member_change(&team, &a.user, a.user.id, deactivate), Err(DomainError::Invalid { field: "active", .. })));
        assert!(matches!(member_change(&team, &a.user, a.user.id, remove), Err(DomainError::Invalid { .. })));
        // With b deactivated, a is the last active admin.
        let b_off = crate::ports::Member { active: false, ..b.clone() };
        let team = vec![a.clone(), b_off.clone(), agent.clone()];
        assert!(matches!(member_change(&team, &a.user, a.user.id, demote), Err(DomainError::Conflict(_))));
        assert!(member_change(&team, &a.user, agent.user.id, remove).is_ok());
        assert!(member_change(&team, &a.user, b_off.user.id, MemberChange { active: Some(true), ..Default::default() }).is_ok());
        // Promoting and deactivating at once leaves no new admin.
        let both = MemberChange { role: Some(Role::Admin), active: Some(false), remove: false };
        assert!(member_change(&team, &a.user, agent.user.id, both).is_ok(), "a stays admin");
        assert!(matches!(member_change(&team, &a.user, UserId::new(), demote), Err(DomainError::NotFound("member"))));
    }

    #[test]
    fn invites_last_a_week_unless_asked() {
        assert_eq!(invite_days(None).unwrap(), 7);
        assert_eq!(invite_days(Some(30)).unwrap(), 30);
        assert!(invite_days(Some(0)).is_err());
        assert!(invite_days(Some(31)).is_err());
    }
}
