//! WhatsApp's 24-hour window, written once. A business may send a WhatsApp conversation
//! free-form messages only within 24 hours of the contact's last message; after that, only an
//! approved template (a Twilio Content sid) goes through, and Twilio fails anything else with
//! 63016. The thread actor checks this before it stores a free-form send, the send task checks
//! it again before the carrier (a scheduled message may come due after the window closed), and
//! the simulator plays Twilio's 63016 with the same function.

use crate::domain::ChannelKind;
use crate::error::{DomainError, DomainResult};
use time::{Duration, OffsetDateTime};

/// How long a window stays open after the contact's last message.
pub const WINDOW: Duration = Duration::hours(24);

/// Why a scheduled free-form WhatsApp message that came due outside the window failed (stored
/// as its `error_reason`; nothing reached the carrier).
pub const WINDOW_CLOSED_REASON: &str =
    "window_closed: the WhatsApp 24-hour window closed before this message was due; send an approved template";

/// When the window of a conversation on `kind` closes, as of `now`: 24 hours after the contact's
/// last message, while that is still ahead. `None` when it is closed, when the contact never
/// wrote, and for anything but WhatsApp (SMS has no window).
pub fn window_closes_at(kind: ChannelKind, last_inbound_at: Option<OffsetDateTime>, now: OffsetDateTime) -> Option<OffsetDateTime> {
    if kind != ChannelKind::Whatsapp {
        return None;
    }
    let closes = last_inbound_at? + WINDOW;
    (closes > now).then_some(closes)
}

/// Whether a message may go to a conversation on `kind` now: always with a template (`templated`),
/// always on SMS, and on WhatsApp free-form only inside the window (`WindowClosed` otherwise).
pub fn may_send(kind: ChannelKind, templated: bool, last_inbound_at: Option<OffsetDateTime>, now: OffsetDateTime) -> DomainResult<()> {
    if templated || kind != ChannelKind::Whatsapp || window_closes_at(kind, last_inbound_at, now).is_some() {
        return Ok(());
    }
    Err(DomainError::WindowClosed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-08 12:00 UTC);

    #[test]
    fn the_window_closes_24_hours_after_the_last_inbound_message() {
        let wa = ChannelKind::Whatsapp;
        let an_hour_ago = NOW - Duration::hours(1);
        assert_eq!(window_closes_at(wa, Some(an_hour_ago), NOW), Some(an_hour_ago + Duration::hours(24)));
        let almost = NOW - Duration::hours(24) + Duration::seconds(1);
        assert_eq!(window_closes_at(wa, Some(almost), NOW), Some(NOW + Duration::seconds(1)));
        assert_eq!(window_closes_at(wa, Some(NOW - Duration::hours(24)), NOW), None, "closed on the dot");
        assert_eq!(window_closes_at(wa, Some(NOW - Duration::hours(25)), NOW), None);
        assert_eq!(window_closes_at(wa, None, NOW), None, "a contact who never wrote has no window");
        assert_eq!(window_closes_at(ChannelKind::Sms, Some(an_hour_ago), NOW), None, "SMS has no window");
    }

    #[test]
    fn free_form_whatsapp_needs_an_open_window_and_templates_never_do() {
        let wa = ChannelKind::Whatsapp;
        let old = Some(NOW - Duration::hours(25));
        assert!(matches!(may_send(wa, false, old, NOW), Err(DomainError::WindowClosed)));
        assert!(matches!(may_send(wa, false, None, NOW), Err(DomainError::WindowClosed)));
        assert!(may_send(wa, true, old, NOW).is_ok(), "an approved template goes any time");
        assert!(may_send(wa, false, Some(NOW - Duration::hours(2)), NOW).is_ok());
        assert!(may_send(ChannelKind::Sms, false, None, NOW).is_ok());
    }
}
