//! Accounts: sign-in emails, passwords (length and zxcvbn), reset and confirmation lifetimes,
//! the sign-in back-off, people's and teams' names, API token lifetimes and owners, member
//! changes (the last admin is kept) and invite expiry.

use super::{MAX_NAME_CHARS, plain_text};
use crate::domain::{Role, User};
use crate::error::{DomainError, DomainResult};
use crate::ids::UserId;
use std::time::Duration;
use time::OffsetDateTime;

/// The email an account signs in with: lower-cased, with a domain that has a dot.
pub fn account_email(email: &str) -> DomainResult<String> {
    let email = email.trim().to_lowercase();
    let ok = email.len() <= 254
        && !email.contains(['\0', ' '])
        && email.split_once('@').is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.starts_with('.'));
    if !ok {
        return Err(DomainError::invalid("email", "is not an email address"));
    }
    Ok(email)
}

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// A password: at least 10 characters, at most 1,024 bytes, and not easy to guess. zxcvbn scores
/// it against common passwords, dictionary words, keyboard walks, dates and repeats (and the
/// person's own name and email); a score under 3 ("safely unguessable") is refused with its
/// advice.
pub fn password(password: &str, name: &str, email: &str) -> DomainResult<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > 1024 {
        return Err(DomainError::invalid("password", format!("must be at least {MIN_PASSWORD_CHARS} characters")));
    }
    if password.trim().is_empty() {
        return Err(DomainError::invalid("password", "must not be only spaces"));
    }
    let local = email.split('@').next().unwrap_or_default();
    let joined = name.split_whitespace().collect::<String>().to_lowercase();
    let mut known: Vec<&str> = vec![name, email, local, &joined, "switchboard"];
    known.extend(name.split_whitespace());
    let estimate = zxcvbn::zxcvbn(password, &known);
    if u8::from(estimate.score()) < 3 {
        let advice = estimate
            .feedback()
            .and_then(|f| f.warning().map(|w| w.to_string()).or_else(|| f.suggestions().first().map(|s| s.to_string())))
            .unwrap_or_else(|| "add more words or characters".into());
        return Err(DomainError::invalid("password", format!("is too easy to guess: {advice}")));
    }
    Ok(())
}

/// How long a reset link mailed to its user works.
pub const RESET_LINK_MINUTES: i64 = 60;
/// How long a reset link an admin makes (to hand over without e-mail) works.
pub const ADMIN_RESET_LINK_HOURS: i64 = 24;
/// Reset links per user per hour: more requests get the same answer and mail nothing.
pub const RESET_LINKS_PER_HOUR: i64 = 3;
/// How long a sign-up waits for the link mailed to its address to be opened.
pub const SIGN_UP_CONFIRM_HOURS: i64 = 24;
/// Expired or revoked API tokens are purged this many days later.
pub const KEEP_DEAD_TOKENS_DAYS: i64 = 90;

/// Failed sign-ins an account may have before it is held back.
pub const FREE_SIGN_IN_FAILURES: i32 = 5;

/// How long sign-in is held back after `failures` failed attempts: nothing for the first five,
/// then 1 s, doubling with each further failure, at most 15 minutes. A person who mistypes gets
/// straight back in; a guesser gets a few dozen tries an hour.
pub fn sign_in_backoff(failures: i32) -> Option<Duration> {
    let over = failures - FREE_SIGN_IN_FAILURES;
    if over < 0 {
        return None;
    }
    Some(Duration::from_secs(1u64 << over.min(10) as u32).min(Duration::from_secs(15 * 60)))
}

/// A person's name on an account: 1 to 200 characters.
pub fn person_name(name: &str) -> DomainResult<String> {
    label("name", name, MAX_NAME_CHARS)
}

/// A team's name: 1 to 200 characters.
pub fn team_name(name: &str) -> DomainResult<String> {
    label("team_name", name, MAX_NAME_CHARS)
}

/// A short label (a name, a token's name): trimmed, 1 to `max` characters of plain text.
pub fn label(field: &'static str, text: &str, max: usize) -> DomainResult<String> {
    plain_text(field, text)?;
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max {
        return Err(DomainError::invalid(field, format!("must be 1 to {max} characters")));
    }
    Ok(text.to_owned())
}

/// The longest an API token may be made to live: ten years.
pub const MAX_TOKEN_DAYS: i64 = 3650;

/// The longest API token name.
pub const MAX_TOKEN_NAME_CHARS: usize = 100;

/// When a new API token expires, as its creator asked: in a number of days, or at an instant,
/// or never (neither given).
#[derive(Clone, Copy, Debug, Default)]
pub struct TokenExpiry {
    pub in_days: Option<i64>,
    pub at: Option<OffsetDateTime>,
}

impl TokenExpiry {
    /// The instant the token stops working: 1 to 3650 days ahead, or an instant in the future
    /// and no further than 3650 days; `None` when neither was asked; not both.
    pub fn resolve(self, now: OffsetDateTime) -> DomainResult<Option<OffsetDateTime>> {
        let longest = time::Duration::days(MAX_TOKEN_DAYS);
        match (self.in_days, self.at) {
            (Some(_), Some(_)) => Err(DomainError::invalid("expires_at", "send expires_in_days or expires_at, not both")),
            (Some(days), None) if !(1..=MAX_TOKEN_DAYS).contains(&days) => {
                Err(DomainError::invalid("expires_in_days", format!("must be 1 to {MAX_TOKEN_DAYS} days")))
            }
            (Some(days), None) => Ok(Some(now + time::Duration::days(days))),
            (None, Some(at)) if at <= now => Err(DomainError::invalid("expires_at", "must be in the future")),
            (None, Some(at)) if at - now > longest => {
                Err(DomainError::invalid("expires_at", format!("must be within {MAX_TOKEN_DAYS} days")))
            }
            (None, at) => Ok(at),
        }
    }
}

/// Whose API tokens `by` may list or revoke: their own (`Some(by)`), or with `whole_team` every
/// token of their team (`None`), which only admins may.
pub fn token_owner(by: &User, whole_team: bool) -> DomainResult<Option<UserId>> {
    match (whole_team, by.role) {
        (false, _) => Ok(Some(by.id)),
        (true, Role::Admin) => Ok(None),
        (true, _) => Err(DomainError::Forbidden("only admins may see or revoke other people's tokens")),
    }
}

/// Whether an admin may make `change` to `target`, given the team's current members (removed
/// ones excluded): `target` must be one of them; nobody deactivates or removes themselves (an
/// admin who could would lock themselves out by a slip); and the team always keeps at least one
/// active admin, so it can never be left without anyone able to administer it.
pub fn member_change(members: &[crate::ports::Member], by: &User, target: UserId, change: crate::ports::MemberChange) -> DomainResult<()> {
    if !members.iter().any(|m| m.user.id == target) {
        return Err(DomainError::NotFound("member"));
    }
    let deactivates = change.remove || change.active == Some(false);
    if deactivates && target == by.id {
        return Err(DomainError::invalid("active", "you cannot deactivate or remove yourself"));
    }
    let admins_after = members
        .iter()
        .filter(|m| {
            let (role, active) = if m.user.id == target {
                (change.role.unwrap_or(m.user.role), !deactivates && change.active.unwrap_or(m.active))
            } else {
                (m.user.role, m.active)
            };
            role == Role::Admin && active
        })
        .count();
    if admins_after == 0 {
        return Err(DomainError::Conflict("the team's last active admin cannot be demoted, deactivated or removed".into()));
    }
    Ok(())
}

/// How long an invite stays open: 7 days unless asked (1 to 30 days).
pub fn invite_days(asked: Option<i64>) -> DomainResult<i64> {
    match asked {
        None => Ok(7),
        Some(days @ 1..=30) => Ok(days),
        Some(_) => Err(DomainError::invalid("expires_in_days", "must be 1 to 30")),
    }
}
