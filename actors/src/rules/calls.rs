//! Rules about calls, once: what Twilio's call words mean for the team (answered, missed), what a
//! valid voice setting of a channel is, which outcomes get the missed-call reply, and how that
//! reply's text is finished when a variable has no value (an unknown caller has no first name:
//! the reply must not show a raw `{{contact.first_name}}`).

use crate::domain::{CallOutcome, ChannelSettings};
use crate::error::{DomainError, DomainResult};
use crate::phone;
use crate::templates::{Rendered, Template};
use time::Duration;

/// The longest greeting said to a caller.
pub const MAX_GREETING_CHARS: usize = 500;
/// The longest call we record a duration for (a day): anything longer is a wrong number.
const MAX_DURATION_SECS: i32 = 86_400;

/// The outcome a `<Dial>` action's `DialCallStatus` decides: `completed`/`answered` is answered;
/// `no-answer`, `busy`, `failed` or `canceled` is missed; anything else decides nothing.
pub fn dial_outcome(dial_call_status: &str) -> Option<CallOutcome> {
    match dial_call_status {
        "completed" | "answered" => Some(CallOutcome::Answered),
        "no-answer" | "busy" | "failed" | "canceled" => Some(CallOutcome::Missed),
        _ => None,
    }
}

/// The outcome a call status callback decides when nothing was recorded for the call before:
/// a final `CallStatus` means nobody answered (an answered forward or a voicemail is recorded by
/// the `<Dial>` or `<Record>` action, which Twilio requests before the call ends). Non-final
/// words (`ringing`, `in-progress`, …) decide nothing.
pub fn status_outcome(call_status: &str) -> Option<CallOutcome> {
    match call_status {
        "no-answer" | "busy" | "failed" | "canceled" | "completed" => Some(CallOutcome::Missed),
        _ => None,
    }
}

/// Whether an outcome gets the missed-call reply and a follow-up: nobody picked up.
pub fn missed(outcome: CallOutcome) -> bool {
    matches!(outcome, CallOutcome::Missed | CallOutcome::Voicemail)
}

/// The inbox preview of a call.
pub fn preview(outcome: CallOutcome, duration: i32) -> String {
    match outcome {
        CallOutcome::Answered => format!("📞 Call ({}:{:02})", duration / 60, duration % 60),
        CallOutcome::Missed => "📞 Missed call".to_owned(),
        CallOutcome::Voicemail => "📞 Voicemail".to_owned(),
    }
}

/// A Twilio CallSid: `CA` and 32 letters or digits.
pub fn call_sid(sid: &str) -> DomainResult<&str> {
    let ok = sid.len() == 34 && sid.starts_with("CA") && sid[2..].chars().all(|c| c.is_ascii_alphanumeric());
    if ok { Ok(sid) } else { Err(DomainError::invalid("CallSid", "is not a Twilio call sid")) }
}

/// A duration in seconds as Twilio writes it; unreadable or negative is 0.
pub fn duration(secs: Option<&str>) -> i32 {
    secs.and_then(|s| s.trim().parse::<i32>().ok()).unwrap_or(0).clamp(0, MAX_DURATION_SECS)
}

/// The once-per-period window of a missed-call reply.
pub fn reply_period(settings: &ChannelSettings) -> Duration {
    Duration::hours(i64::from(settings.missed_call_reply_hours))
}

/// A change to a channel's voice settings; `Some(None)` clears a field.
#[derive(Clone, Debug, Default)]
pub struct SettingsChange {
    pub forward_to: Option<Option<String>>,
    pub ring_seconds: Option<i32>,
    pub greeting: Option<Option<String>>,
    pub voicemail: Option<bool>,
    pub missed_call_reply: Option<Option<String>>,
    pub missed_call_reply_hours: Option<i32>,
}

/// `current` with `change` applied, every value checked: the forwarding number is a phone
/// number (stored E.164), the ring time 5–600 s (Twilio's `<Dial timeout>` range), the greeting
/// at most 500 characters, the reply a valid template of at most 1,600 characters, its period
/// 1–720 hours. Blank text clears a field.
pub fn apply_settings(mut current: ChannelSettings, change: SettingsChange) -> DomainResult<ChannelSettings> {
    let blank_is_none = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    if let Some(forward) = change.forward_to {
        current.forward_to = blank_is_none(forward)
            .map(|n| phone::normalize(&n, None).map_err(|_| DomainError::invalid("forward_to", "is not a phone number")))
            .transpose()?;
    }
    if let Some(secs) = change.ring_seconds {
        if !(5..=600).contains(&secs) {
            return Err(DomainError::invalid("ring_seconds", "must be between 5 and 600"));
        }
        current.ring_seconds = secs;
    }
    if let Some(greeting) = change.greeting {
        let greeting = blank_is_none(greeting).map(|g| super::without_nul(&g));
        if greeting.as_ref().is_some_and(|g| g.chars().count() > MAX_GREETING_CHARS) {
            return Err(DomainError::invalid("greeting", format!("has at most {MAX_GREETING_CHARS} characters")));
        }
        current.greeting = greeting;
    }
    if let Some(voicemail) = change.voicemail {
        current.voicemail = voicemail;
    }
    if let Some(reply) = change.missed_call_reply {
        let reply = blank_is_none(reply).map(|r| super::without_nul(&r));
        if let Some(r) = &reply {
            if r.chars().count() > super::MAX_BODY_CHARS {
                return Err(DomainError::invalid("missed_call_reply", format!("has at most {} characters", super::MAX_BODY_CHARS)));
            }
            Template::parse(r).map_err(|e| e.invalid("missed_call_reply"))?;
        }
        current.missed_call_reply = reply;
    }
    if let Some(hours) = change.missed_call_reply_hours {
        if !(1..=720).contains(&hours) {
            return Err(DomainError::invalid("missed_call_reply_hours", "must be between 1 and 720"));
        }
        current.missed_call_reply_hours = hours;
    }
    Ok(current)
}

/// An automatic reply's text: a variable without a value is left out (with the space before it),
/// never sent as its placeholder; `None` when nothing is left to send.
pub fn auto_reply_text(rendered: Rendered) -> Option<String> {
    let mut text = rendered.text;
    for path in &rendered.missing {
        let placeholder = format!("{{{{{path}}}}}");
        text = text.replace(&format!(" {placeholder}"), "").replace(&placeholder, "");
    }
    let text = text.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::TemplateContext;

    #[test]
    fn twilio_words_decide_outcomes() {
        assert_eq!(dial_outcome("completed"), Some(CallOutcome::Answered));
        for missed in ["no-answer", "busy", "failed", "canceled"] {
            assert_eq!(dial_outcome(missed), Some(CallOutcome::Missed), "{missed}");
            assert_eq!(status_outcome(missed), Some(CallOutcome::Missed), "{missed}");
        }
        assert_eq!(status_outcome("completed"), Some(CallOutcome::Missed));
        assert_eq!(status_outcome("ringing"), None);
        assert_eq!(dial_outcome("in-progress"), None);
        assert!(missed(CallOutcome::Voicemail) && missed(CallOutcome::Missed) && !missed(CallOutcome::Answered));
    }

    #[test]
    fn settings_are_checked() {
        let s = apply_settings(
            ChannelSettings::default(),
            SettingsChange {
                forward_to: Some(Some("+1 415 555 0100".into())),
                missed_call_reply: Some(Some("Sorry we missed you, {{contact.first_name}}!".into())),
                ..SettingsChange::default()
            },
        )
        .unwrap();
        assert_eq!(s.forward_to.as_deref(), Some("+14155550100"));
        let bad = |c: SettingsChange| apply_settings(ChannelSettings::default(), c).unwrap_err();
        assert!(matches!(
            bad(SettingsChange { forward_to: Some(Some("call me".into())), ..Default::default() }),
            DomainError::Invalid { field: "forward_to", .. }
        ));
        assert!(matches!(
            bad(SettingsChange { ring_seconds: Some(4), ..Default::default() }),
            DomainError::Invalid { field: "ring_seconds", .. }
        ));
        assert!(matches!(
            bad(SettingsChange { missed_call_reply: Some(Some("{{ nope }}".into())), ..Default::default() }),
            DomainError::Invalid { field: "missed_call_reply", .. }
        ));
        assert!(matches!(bad(SettingsChange { missed_call_reply_hours: Some(0), ..Default::default() }), DomainError::Invalid { .. }));
        let cleared =
            apply_settings(s, SettingsChange { forward_to: Some(None), missed_call_reply: Some(Some("  ".into())), ..Default::default() })
                .unwrap();
        assert_eq!((cleared.forward_to, cleared.missed_call_reply), (None, None));
    }

    #[test]
    fn a_missing_variable_is_left_out_of_an_auto_reply() {
        let t = Template::parse("Sorry we missed you {{contact.first_name}}, how can we help?").unwrap();
        let rendered = t.render(&TemplateContext::default()).unwrap();
        assert_eq!(auto_reply_text(rendered).unwrap(), "Sorry we missed you, how can we help?");
        let mut ctx = TemplateContext::default();
        ctx.set("contact", "first_name", Some("Ada"));
        assert_eq!(auto_reply_text(t.render(&ctx).unwrap()).unwrap(), "Sorry we missed you Ada, how can we help?");
        assert_eq!(auto_reply_text(Template::parse("{{contact.name}}").unwrap().render(&TemplateContext::default()).unwrap()), None);
    }
}
