//! The simulator's calls: a contact calls the team's simulated number and the call plays out as
//! Twilio would play it, through the real, signed voice webhooks: the incoming-call webhook,
//! then whatever our TwiML answer asks for (the `<Dial>` action with the outcome the person
//! chose, the `<Record>` action with a voicemail), then the call status callback.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Json};
use crate::twilio_signature;
use crate::twiml::{self, Element};
use actors::domain::{CallOutcome, Channel, ChannelKind};
use actors::phone;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatedCall {
    from: String,
    /// How the call goes: someone picks up the forwarded call, nobody does, or the caller
    /// leaves a voicemail (each as far as the channel's settings allow).
    outcome: CallOutcome,
    /// Seconds of conversation or voicemail.
    #[serde(default)]
    duration: Option<u32>,
}

/// `POST /api/simulator/call`: answers `{call_sid}` once the call is over.
pub async fn call(State(state): State<AppState>, Auth(p): Auth, Json(req): Json<SimulatedCall>) -> ApiResult<(StatusCode, Json<Value>)> {
    let channels = state.reads.channels(p.team.id).await?;
    if channels.iter().any(|c| !c.simulated) {
        return Err(ApiError::new(StatusCode::CONFLICT, "not_simulated", "the team has real Twilio numbers: the simulator is off"));
    }
    let channel = channels
        .into_iter()
        .find(|c| c.kind == ChannelKind::Sms)
        .ok_or_else(|| ApiError::invalid("channel", "the team has no simulated phone number"))?;
    let from = phone::normalize(&req.from, None)?;
    let duration = req.duration.unwrap_or(42).clamp(1, 3600).to_string();
    let call_sid = format!("CA{}", &crate::api::auth::new_secret()[..32]);
    let sim = Sim { state: &state, channel: &channel, base: base_params(&channel, &from, &call_sid) };

    let mut answer = sim.post("/webhooks/twilio/voice", &[("CallStatus", "ringing")]).await?;
    let mut status = if req.outcome == CallOutcome::Answered { "completed" } else { "no-answer" };
    if let Some(dial) = answer.iter().find(|v| v.name == "Dial") {
        let action = dial.attr("action").unwrap_or("/webhooks/twilio/voice").to_owned();
        let extra = match req.outcome {
            CallOutcome::Answered => vec![("DialCallStatus", "completed"), ("DialCallDuration", duration.as_str())],
            _ => vec![("DialCallStatus", "no-answer")],
        };
        let dial_sid = format!("CA{}", &crate::api::auth::new_secret()[..32]);
        let mut extra = extra;
        extra.push(("DialCallSid", dial_sid.as_str()));
        extra.push(("CallStatus", "in-progress"));
        answer = sim.post(&action, &extra).await?;
        status = "completed";
    }
    if let Some(record) = answer.iter().find(|v| v.name == "Record") {
        let action = record.attr("action").unwrap_or("/webhooks/twilio/voice").to_owned();
        let recording = format!("{}/static/sim/voicemail.wav", state.config.public_base_url.trim_end_matches('/'));
        let rec_sid = format!("RE{}", &crate::api::auth::new_secret()[..32]);
        let (url, secs) = if req.outcome == CallOutcome::Voicemail { (recording.as_str(), duration.as_str()) } else { ("", "0") };
        let mut extra = vec![("RecordingSid", rec_sid.as_str()), ("RecordingDuration", secs), ("CallStatus", "in-progress")];
        if !url.is_empty() {
            extra.push(("RecordingUrl", url));
        }
        sim.post(&action, &extra).await?;
        status = "completed";
    }
    sim.post("/webhooks/twilio/voice/status", &[("CallStatus", status), ("CallDuration", duration.as_str())]).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "call_sid": call_sid }))))
}

/// The parameters Twilio sends with every request of one incoming call.
fn base_params(channel: &Channel, from: &str, call_sid: &str) -> Vec<(String, String)> {
    [
        ("AccountSid", channel.account_sid.as_str()),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", call_sid),
        ("Called", channel.number.as_str()),
        ("Caller", from),
        ("Direction", "inbound"),
        ("From", from),
        ("To", channel.number.as_str()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

struct Sim<'a> {
    state: &'a AppState,
    channel: &'a Channel,
    base: Vec<(String, String)>,
}

impl Sim<'_> {
    /// Posts one signed request of the call (the base parameters plus `extra`) and reads the
    /// TwiML answer.
    async fn post(&self, path: &str, extra: &[(&str, &str)]) -> ApiResult<Vec<Element>> {
        let mut params = self.base.clone();
        for (k, v) in extra {
            params.retain(|(name, _)| name != k);
            params.push((k.to_string(), v.to_string()));
        }
        let url = format!("{}{path}", self.state.config.public_base_url.trim_end_matches('/'));
        let signature = twilio_signature::sign(self.channel.auth_token.expose_secret(), &url, &params);
        let internal = |e: String| ApiError::from(actors::DomainError::Internal(e));
        let (code, body) = self.state.loopback.post_read(path, &signature, &params).await.map_err(internal)?;
        if code != 200 {
            return Err(internal(format!("the voice webhook {path} answered {code}")));
        }
        twiml::parse(&body).map_err(internal)
    }
}
