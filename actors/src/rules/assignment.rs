//! Rules of automatic assignment: what a valid setting is, and which conversations it takes.

use crate::domain::{AutoAssignment, ThreadStatus, ThreadSummary};
use crate::error::{DomainError, DomainResult};

/// A team's setting: a cap, when given, of 1 to 1,000 open conversations per agent.
pub fn setting(setting: AutoAssignment) -> DomainResult<AutoAssignment> {
    match setting.max_open_per_agent {
        Some(cap) if !(1..=1000).contains(&cap) => Err(DomainError::invalid("max_open_per_agent", "must be 1 to 1000 (or null: no cap)")),
        _ => Ok(setting),
    }
}

/// Whether a customer's message to this conversation (as it is after the message) should get
/// it an agent: nobody has it and it is open, so the message would otherwise wait unseen.
pub fn wants_agent(thread: &ThreadSummary) -> bool {
    thread.assignee_id.is_none() && matches!(thread.status, ThreadStatus::Open | ThreadStatus::Pending)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cap_is_one_to_a_thousand() {
        let with = |cap| AutoAssignment { enabled: true, max_open_per_agent: cap };
        assert!(setting(with(None)).is_ok());
        assert!(setting(with(Some(1))).is_ok());
        assert!(setting(with(Some(1000))).is_ok());
        for bad in [0, -1, 1001] {
            assert!(matches!(setting(with(Some(bad))), Err(DomainError::Invalid { field: "max_open_per_agent", .. })));
        }
    }
}
