//! Twilio voice webhooks. A call to a channel's number (`/webhooks/twilio/voice`) is verified
//! exactly like a message (the channel by AccountSid and `To`, every candidate's token tried)
//! and answered with TwiML from the channel's settings: forward with `<Dial>` (after an
//! optional `<Say>` greeting), or greet and, with voicemail on, `<Record>`. The outcome comes
//! from the `<Dial>` action (`/voice/dial`), the `<Record>` action (`/voice/recording`) or the
//! number's call status callback (`/voice/status`), whichever decides first: the thread records
//! a CallSid once, so later or retried callbacks change nothing.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::twiml::{self, Verb};
use crate::webhooks::{Params, verified_channel};
use actors::domain::{CallOutcome, Channel, ChannelKind, ChannelSettings, Direction};
use actors::phone;
use actors::rules::calls;
use actors::threads::CallReport;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

/// Where Twilio posts the `<Dial>` outcome (relative: Twilio resolves it against the call's URL).
pub const DIAL_ACTION: &str = "/webhooks/twilio/voice/dial";
/// Where Twilio posts a voicemail.
pub const RECORDING_ACTION: &str = "/webhooks/twilio/voice/recording";
/// The longest voicemail, in seconds.
const VOICEMAIL_MAX_SECS: i32 = 120;
/// Said when the channel has no greeting and nobody will pick up.
const DEFAULT_UNAVAILABLE: &str = "Sorry, nobody can take your call right now.";
const LEAVE_A_MESSAGE: &str = "Please leave a message after the beep.";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/twilio/voice", post(incoming))
        .route(DIAL_ACTION, post(dial))
        .route(RECORDING_ACTION, post(recording))
        .route("/webhooks/twilio/voice/status", post(status))
}

fn answer(verbs: &[Verb]) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], twiml::response(verbs)).into_response()
}

/// A verified voice request: its channel, the caller and the call.
struct VoiceCall {
    channel: Channel,
    from: String,
    call_sid: String,
    params: Params,
}

/// Parses and verifies a voice webhook: the receiving channel is found by account and `To`
/// (voice reaches a number's SMS channel) and must verify the signature before anything else.
async fn verify(state: &AppState, headers: &HeaderMap, uri: &Uri, body: &[u8]) -> ApiResult<VoiceCall> {
    let params = Params::parse(headers, body)?;
    let account = params.require("AccountSid")?;
    let to = phone::normalize(params.require("To")?, None).map_err(|_| ApiError::bad_request("To is not a phone number"))?;
    let candidates = state.reads.channels_for_webhook(account, Some(&to), ChannelKind::Sms, None).await?;
    let channel = verified_channel(state, headers, uri, candidates, &params)?;
    // Verified: from here on the request is Twilio's.
    let call_sid = calls::call_sid(params.require("CallSid")?).map_err(ApiError::from)?.to_owned();
    let from = phone::normalize(params.require("From")?, None).map_err(|_| ApiError::bad_request("From is not a phone number"))?;
    Ok(VoiceCall { channel, from, call_sid, params })
}

/// Records the call's outcome on its thread (once per CallSid).
async fn record(state: &AppState, call: &VoiceCall, outcome: CallOutcome, duration: i32, recording_url: Option<String>) -> ApiResult<()> {
    let direction = match call.params.get("Direction") {
        Some(d) if d.starts_with("outbound") => Direction::Outbound,
        _ => Direction::Inbound,
    };
    let report = CallReport {
        team: call.channel.team_id,
        channel: call.channel.id,
        from: call.from.clone(),
        call_sid: call.call_sid.clone(),
        direction,
        outcome,
        duration,
        recording_url,
        raw: call.params.to_json(),
    };
    if state.core.threads.call(report).await?.is_some() {
        metrics::counter!("switchboard_calls_total", "outcome" => outcome.as_str()).increment(1);
    }
    Ok(())
}

/// What a caller hears when nobody will pick up: the greeting, then the voicemail prompt and
/// `<Record>` when voicemail is on.
fn unattended(settings: &ChannelSettings) -> Vec<Verb> {
    let mut verbs = vec![Verb::Say(settings.greeting.clone().unwrap_or_else(|| DEFAULT_UNAVAILABLE.to_owned()))];
    if settings.voicemail {
        verbs.push(Verb::Say(LEAVE_A_MESSAGE.to_owned()));
        verbs.push(Verb::Record { action: RECORDING_ACTION.to_owned(), max_length: VOICEMAIL_MAX_SECS });
    } else {
        verbs.push(Verb::Hangup);
    }
    verbs
}

/// `POST /webhooks/twilio/voice`: an incoming call.
async fn incoming(State(state): State<AppState>, OriginalUri(uri): OriginalUri, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let call = verify(&state, &headers, &uri, &body).await?;
    let settings = state.reads.channel_settings(call.channel.team_id, call.channel.id).await?;
    if let Some(number) = &settings.forward_to {
        let mut verbs = Vec::new();
        if let Some(greeting) = &settings.greeting {
            verbs.push(Verb::Say(greeting.clone()));
        }
        verbs.push(Verb::Dial { number: number.clone(), timeout: settings.ring_seconds, action: DIAL_ACTION.to_owned() });
        return Ok(answer(&verbs));
    }
    if !settings.voicemail {
        // Nobody can answer and nothing is recorded: the call is missed now.
        record(&state, &call, CallOutcome::Missed, 0, None).await?;
    }
    Ok(answer(&unattended(&settings)))
}

/// `POST /webhooks/twilio/voice/dial`: the forwarded leg ended (`DialCallStatus`).
async fn dial(State(state): State<AppState>, OriginalUri(uri): OriginalUri, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let call = verify(&state, &headers, &uri, &body).await?;
    let Some(outcome) = call.params.get("DialCallStatus").and_then(calls::dial_outcome) else {
        return Ok(answer(&[Verb::Hangup]));
    };
    if outcome == CallOutcome::Missed {
        let settings = state.reads.channel_settings(call.channel.team_id, call.channel.id).await?;
        if settings.voicemail {
            // The caller may still leave a voicemail: the recording (or the end of the call)
            // decides.
            return Ok(answer(&[
                Verb::Say(LEAVE_A_MESSAGE.to_owned()),
                Verb::Record { action: RECORDING_ACTION.to_owned(), max_length: VOICEMAIL_MAX_SECS },
            ]));
        }
    }
    let duration = calls::duration(call.params.get("DialCallDuration"));
    record(&state, &call, outcome, duration, None).await?;
    Ok(answer(&[Verb::Hangup]))
}

/// `POST /webhooks/twilio/voice/recording`: the `<Record>` ended. A recording with sound is a
/// voicemail; an empty one a missed call.
async fn recording(State(state): State<AppState>, OriginalUri(uri): OriginalUri, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let call = verify(&state, &headers, &uri, &body).await?;
    let duration = calls::duration(call.params.get("RecordingDuration"));
    let url = call.params.get("RecordingUrl").map(str::to_owned);
    match url {
        Some(url) if duration > 0 => record(&state, &call, CallOutcome::Voicemail, duration, Some(url)).await?,
        _ => record(&state, &call, CallOutcome::Missed, 0, None).await?,
    }
    Ok(answer(&[Verb::Hangup]))
}

/// `POST /webhooks/twilio/voice/status`: the number's call status callback. A final status for
/// a call nothing decided yet is a missed call.
async fn status(State(state): State<AppState>, OriginalUri(uri): OriginalUri, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let call = verify(&state, &headers, &uri, &body).await?;
    if let Some(outcome) = call.params.get("CallStatus").and_then(calls::status_outcome) {
        record(&state, &call, outcome, 0, None).await?;
    }
    Ok(answer(&[]))
}
