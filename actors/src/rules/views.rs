//! The inbox's tabs, defined once: which statuses each shows (Open is open and pending: both
//! still need the team; Snoozed; Resolved; All), which tab is the default, and what the counts
//! of "Mine" and "Unassigned" are taken over (the Open tab). The store's filter and counts, the
//! fake's and the web's query parsing all read them from here.

use crate::domain::ThreadStatus;
use crate::error::{DomainError, DomainResult};

/// An inbox tab.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum View {
    /// Open and pending: what the team still has to do. The default tab.
    #[default]
    Open,
    Snoozed,
    Resolved,
    All,
}

impl View {
    /// The statuses this tab shows; empty for All (no status filter).
    pub fn statuses(self) -> &'static [ThreadStatus] {
        match self {
            View::Open => &[ThreadStatus::Open, ThreadStatus::Pending],
            View::Snoozed => &[ThreadStatus::Snoozed],
            View::Resolved => &[ThreadStatus::Resolved],
            View::All => &[],
        }
    }

    /// Whether a thread of `status` is in this tab.
    pub fn shows(self, status: ThreadStatus) -> bool {
        let statuses = self.statuses();
        statuses.is_empty() || statuses.contains(&status)
    }
}

/// The tabs' counts for `viewer` from the team's threads counted by status and assignee:
/// Open, Snoozed, Resolved, All, and of the Open tab, `viewer`'s and the unassigned.
pub fn counts(rows: &[crate::ports::StatusCount], viewer: crate::ids::UserId) -> crate::domain::ThreadCounts {
    let mut c = crate::domain::ThreadCounts::default();
    for row in rows {
        let (n, open) = (row.threads, View::Open.shows(row.status));
        c.all += n;
        c.open += if open { n } else { 0 };
        c.snoozed += if View::Snoozed.shows(row.status) { n } else { 0 };
        c.resolved += if View::Resolved.shows(row.status) { n } else { 0 };
        c.mine += if open && row.assignee == Some(viewer) { n } else { 0 };
        c.unassigned += if open && row.assignee.is_none() { n } else { 0 };
    }
    c
}

/// A tab as the query names it (`open`, `snoozed`, `resolved`, `all`).
pub fn view(text: &str) -> DomainResult<View> {
    Ok(match text.trim() {
        "open" => View::Open,
        "snoozed" => View::Snoozed,
        "resolved" => View::Resolved,
        "all" => View::All,
        _ => return Err(DomainError::invalid("view", "must be open, snoozed, resolved or all")),
    })
}

/// How the inbox is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Sort {
    /// Newest activity first.
    #[default]
    Recent,
    /// Highest priority first, then newest activity.
    Priority,
}

/// An order as the query names it (`recent`, `priority`).
pub fn sort(text: &str) -> DomainResult<Sort> {
    match text.trim() {
        "recent" => Ok(Sort::Recent),
        "priority" => Ok(Sort::Priority),
        _ => Err(DomainError::invalid("sort", "must be recent or priority")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ThreadStatus::*;

    #[test]
    fn open_is_open_and_pending_and_the_default() {
        assert_eq!(View::default(), View::Open);
        assert!(View::Open.shows(Open) && View::Open.shows(Pending));
        assert!(!View::Open.shows(Snoozed) && !View::Open.shows(Resolved));
        assert!(View::All.shows(Resolved) && View::All.shows(Snoozed));
        assert!(View::Snoozed.shows(Snoozed) && !View::Snoozed.shows(Open));
    }

    #[test]
    fn counts_follow_the_tabs() {
        use crate::ids::UserId;
        use crate::ports::StatusCount;
        let (me, other) = (UserId::new(), UserId::new());
        let row = |status, assignee, threads| StatusCount { status, assignee, threads };
        let rows =
            [row(Open, None, 3), row(Pending, Some(me), 2), row(Open, Some(other), 1), row(Snoozed, Some(me), 4), row(Resolved, None, 5)];
        let c = counts(&rows, me);
        assert_eq!((c.open, c.snoozed, c.resolved, c.all, c.mine, c.unassigned), (6, 4, 5, 15, 2, 3));
    }

    #[test]
    fn names_parse() {
        assert_eq!(view("resolved").unwrap(), View::Resolved);
        assert!(view("closed").is_err());
        assert_eq!(sort("priority").unwrap(), Sort::Priority);
        assert!(sort("oldest").is_err());
    }
}
