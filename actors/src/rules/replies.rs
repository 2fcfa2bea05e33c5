//! The rules of canned replies, written once: what a shortcut, a title and a body look like, and
//! who may see and change which reply. Team replies are the team's voice, so admins manage them;
//! a personal reply is its owner's alone (to anyone else it does not exist: 404, never 403).

use crate::domain::{CannedReply, ReplyScope, Role, User};
use crate::error::{DomainError, DomainResult};
use crate::ids::UserId;
use crate::templates::Template;

/// The longest shortcut.
pub const MAX_SHORTCUT_CHARS: usize = 32;
/// The longest title.
pub const MAX_TITLE_CHARS: usize = 100;
/// The longest body: one message's limit.
pub const MAX_BODY_CHARS: usize = super::MAX_BODY_CHARS;

/// A shortcut as typed after `/`: trimmed, a leading `/` dropped, lower-cased; then 1 to 32 of
/// `a-z`, `0-9`, `_` and `-`.
pub fn shortcut(text: &str) -> DomainResult<String> {
    let s = text.trim();
    let s = s.strip_prefix('/').unwrap_or(s).to_lowercase();
    let ok = (1..=MAX_SHORTCUT_CHARS).contains(&s.chars().count())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !ok {
        return Err(DomainError::invalid(
            "shortcut",
            format!("must be 1 to {MAX_SHORTCUT_CHARS} of a-z, 0-9, _ and - (such as “thanks” or “refund-policy”)"),
        ));
    }
    Ok(s)
}

/// A title: 1 to 100 characters, trimmed.
pub fn title(text: &str) -> DomainResult<String> {
    super::label("title", text, MAX_TITLE_CHARS)
}

/// A body: not blank, plain text, at most 1,600 characters, and a template that parses (422
/// naming `body` and the position otherwise). Kept as written.
pub fn body(text: &str) -> DomainResult<String> {
    super::plain_text("body", text)?;
    if text.trim().is_empty() {
        return Err(DomainError::invalid("body", "a reply needs a body"));
    }
    if text.chars().count() > MAX_BODY_CHARS {
        return Err(DomainError::invalid("body", format!("must be at most {MAX_BODY_CHARS} characters (one message)")));
    }
    Template::parse(text).map_err(|e| e.invalid("body"))?;
    Ok(text.to_owned())
}

/// The owner a new reply of `scope` by `by` gets: none for a team reply (admins only), `by` for
/// a personal one.
pub fn new_owner(by: &User, scope: ReplyScope) -> DomainResult<Option<UserId>> {
    match scope {
        ReplyScope::Team if by.role != Role::Admin => Err(DomainError::Forbidden("only admins may manage the team’s replies")),
        ReplyScope::Team => Ok(None),
        ReplyScope::Personal => Ok(Some(by.id)),
    }
}

/// Whether `viewer` sees `reply`: every team reply of their team, and their own personal ones.
pub fn visible(viewer: &User, reply: &CannedReply) -> bool {
    reply.team_id == viewer.team_id && (reply.scope == ReplyScope::Team || reply.owner_id == Some(viewer.id))
}

/// Whether `by` may change or delete `reply`: admins the team's, owners their own. A reply they
/// cannot see is "not found".
pub fn may_manage(by: &User, reply: &CannedReply) -> DomainResult<()> {
    if !visible(by, reply) {
        return Err(DomainError::NotFound("reply"));
    }
    if reply.scope == ReplyScope::Team && by.role != Role::Admin {
        return Err(DomainError::Forbidden("only admins may manage the team’s replies"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::*;

    fn user(role: Role, team: TeamId) -> User {
        User { id: UserId::new(), team_id: team, email: "a@b.test".into(), name: "A".into(), role }
    }

    fn reply(team: TeamId, owner: Option<UserId>) -> CannedReply {
        let now = crate::clock::now();
        CannedReply {
            id: ReplyId::new(),
            team_id: team,
            scope: if owner.is_some() { ReplyScope::Personal } else { ReplyScope::Team },
            owner_id: owner,
            shortcut: "hi".into(),
            title: "Hi".into(),
            body: "Hi".into(),
            created_by: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn shortcuts_are_lower_case_words() {
        assert_eq!(shortcut(" /Refund-Policy_2 ").unwrap(), "refund-policy_2");
        for bad in ["", "/", "two words", "émoji", "a.b", &"x".repeat(33)] {
            assert!(shortcut(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bodies_are_checked_templates() {
        assert!(body("Hi {{contact.first_name}}").is_ok());
        assert!(body("   ").is_err());
        assert!(body(&"x".repeat(1601)).is_err());
        let e = body("Hi {{ contact.first_name").unwrap_err();
        assert!(matches!(e, DomainError::Invalid { field: "body", ref message } if message.starts_with("line 1, column")), "{e:?}");
    }

    #[test]
    fn agents_cannot_make_or_change_team_replies() {
        let team = TeamId::new();
        let (admin, agent) = (user(Role::Admin, team), user(Role::Agent, team));
        assert!(matches!(new_owner(&agent, ReplyScope::Team), Err(DomainError::Forbidden(_))));
        assert_eq!(new_owner(&admin, ReplyScope::Team).unwrap(), None);
        assert_eq!(new_owner(&agent, ReplyScope::Personal).unwrap(), Some(agent.id));
        let shared = reply(team, None);
        assert!(visible(&agent, &shared));
        assert!(matches!(may_manage(&agent, &shared), Err(DomainError::Forbidden(_))));
        assert!(may_manage(&admin, &shared).is_ok());
    }

    #[test]
    fn personal_replies_are_their_owners_alone() {
        let team = TeamId::new();
        let (admin, agent, other) = (user(Role::Admin, team), user(Role::Agent, team), user(Role::Agent, team));
        let mine = reply(team, Some(agent.id));
        assert!(visible(&agent, &mine) && may_manage(&agent, &mine).is_ok());
        assert!(!visible(&other, &mine));
        assert!(matches!(may_manage(&other, &mine), Err(DomainError::NotFound(_))));
        assert!(matches!(may_manage(&admin, &mine), Err(DomainError::NotFound(_))), "not even an admin sees it");
        let elsewhere = user(Role::Admin, TeamId::new());
        assert!(matches!(may_manage(&elsewhere, &reply(team, None)), Err(DomainError::NotFound(_))));
    }
}
