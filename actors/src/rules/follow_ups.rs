//! Rules about follow-ups, once: what a valid note and due time are, and the callback a missed
//! call leaves behind (due within the hour, for the thread's assignee).

use crate::domain::CallOutcome;
use crate::error::{DomainError, DomainResult};
use time::{Duration, OffsetDateTime};

/// The longest note on a follow-up.
pub const MAX_NOTE_CHARS: usize = 1000;
/// How soon a missed call should be returned.
pub const MISSED_CALL_DUE: Duration = Duration::hours(1);
/// How far from now a due time may be, either way.
const DUE_RANGE: Duration = Duration::days(366);

/// A note as stored: NUL characters dropped, trimmed, at most 1,000 characters.
pub fn note(text: &str) -> DomainResult<String> {
    let text = super::without_nul(text).trim().to_owned();
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(DomainError::invalid("note", format!("has at most {MAX_NOTE_CHARS} characters")));
    }
    Ok(text)
}

/// A due time within a year of `now`, either way.
pub fn due_at(at: OffsetDateTime, now: OffsetDateTime) -> DomainResult<OffsetDateTime> {
    if (at - now).abs() > DUE_RANGE {
        return Err(DomainError::invalid("due_at", "must be within a year of now"));
    }
    Ok(at)
}

/// The note of the callback a missed call creates.
pub fn missed_call_note(outcome: CallOutcome, phone: &str) -> String {
    match outcome {
        CallOutcome::Voicemail => format!("Call back {phone}: they left a voicemail"),
        _ => format!("Call back {phone}: missed call"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_and_due_times_are_checked() {
        assert_eq!(note("  call\0 her  ").unwrap(), "call her");
        assert!(note(&"x".repeat(1001)).is_err());
        let now = OffsetDateTime::now_utc();
        assert!(due_at(now + Duration::days(2), now).is_ok());
        assert!(due_at(now - Duration::hours(2), now).is_ok());
        assert!(matches!(due_at(now + Duration::days(400), now), Err(DomainError::Invalid { field: "due_at", .. })));
        assert_eq!(missed_call_note(CallOutcome::Missed, "+1415"), "Call back +1415: missed call");
    }
}
