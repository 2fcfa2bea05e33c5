//! The rules of labels and priority, written once: what a label's name and colour may be, who
//! manages labels (admins: they are the team's vocabulary), how many labels a conversation may
//! carry, and how a priority is spelled. The store's CHECK constraints repeat the shape of a
//! name and a colour so a row that breaks them cannot exist.

use crate::domain::{Priority, Role, User};
use crate::error::{DomainError, DomainResult};
use crate::ids::LabelId;

/// The longest label name.
pub const MAX_NAME_CHARS: usize = 40;
/// The most labels one conversation carries.
pub const MAX_PER_THREAD: usize = 20;
/// The most labels a team defines.
pub const MAX_PER_TEAM: usize = 200;

/// A label's name: plain text, trimmed, 1 to 40 characters.
pub fn name(text: &str) -> DomainResult<String> {
    super::label("name", text, MAX_NAME_CHARS)
}

/// A colour as `#rrggbb` (or `#rgb`), any case; stored as lower-case `#rrggbb`.
pub fn color(text: &str) -> DomainResult<String> {
    let bad = || DomainError::invalid("color", "must be a colour such as #2563eb");
    let hex = text.trim().strip_prefix('#').ok_or_else(bad)?;
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let full: String = match hex.len() {
        6 => hex.to_owned(),
        3 => hex.chars().flat_map(|c| [c, c]).collect(),
        _ => return Err(bad()),
    };
    Ok(format!("#{}", full.to_ascii_lowercase()))
}

/// Only admins create, rename, recolour or delete the team's labels; anyone puts them on
/// conversations.
pub fn may_manage(by: &User) -> DomainResult<()> {
    if by.role != Role::Admin {
        return Err(DomainError::Forbidden("only admins may manage the team’s labels"));
    }
    Ok(())
}

/// A conversation's labels as asked: duplicates dropped (first kept), at most 20. Whether each
/// is one of the team's labels is the store's check (422 `labels`).
pub fn thread_labels(ids: Vec<LabelId>) -> DomainResult<Vec<LabelId>> {
    let mut seen = std::collections::HashSet::new();
    let ids: Vec<LabelId> = ids.into_iter().filter(|id| seen.insert(*id)).collect();
    if ids.len() > MAX_PER_THREAD {
        return Err(DomainError::invalid("labels", format!("at most {MAX_PER_THREAD} labels on a conversation")));
    }
    Ok(ids)
}

/// A priority as spelled on the wire (`none`, `low`, `medium`, `high`, `urgent`).
pub fn priority(text: &str) -> DomainResult<Priority> {
    text.trim().parse().map_err(|_| DomainError::invalid("priority", "must be none, low, medium, high or urgent"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_normalized_or_refused() {
        assert_eq!(color("#2563EB").unwrap(), "#2563eb");
        assert_eq!(color(" #abc ").unwrap(), "#aabbcc");
        for bad in ["", "2563eb", "#12345", "#gggggg", "red", "#1234567", "#ÿÿÿ"] {
            assert!(color(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("  Billing ").unwrap(), "Billing");
        assert!(name("   ").is_err());
        assert!(name(&"x".repeat(41)).is_err());
        assert!(name("a\0b").is_err());
    }

    #[test]
    fn a_thread_carries_at_most_twenty_distinct_labels() {
        let one = LabelId::new();
        assert_eq!(thread_labels(vec![one, one]).unwrap(), vec![one]);
        let many: Vec<LabelId> = (0..21).map(|_| LabelId::new()).collect();
        assert!(thread_labels(many).is_err());
    }

    #[test]
    fn priorities_parse_and_rank() {
        assert_eq!(priority("urgent").unwrap(), Priority::Urgent);
        assert!(priority("critical").is_err());
        for p in Priority::ALL {
            assert_eq!(Priority::from_rank(p.rank()), Some(*p));
        }
        assert!(Priority::Urgent.rank() > Priority::High.rank());
        assert_eq!(Priority::from_rank(5), None);
    }
}
