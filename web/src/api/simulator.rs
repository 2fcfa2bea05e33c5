//! The simulator's inbound side: a person sends an SMS or WhatsApp message as a contact, and it
//! arrives through the real, signed webhook path.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Json};
use crate::twilio_signature;
use actors::domain::ChannelKind;
use actors::phone;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
pub struct SimulatedInbound {
    from: String,
    channel: ChannelKind,
    #[serde(default)]
    body: String,
    #[serde(default)]
    media_urls: Vec<String>,
    #[serde(default)]
    profile_name: Option<String>,
}

pub async fn inbound(
    State(state): State<AppState>,
    Auth(p): Auth,
    Json(req): Json<SimulatedInbound>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let channels = state.reads.channels(p.team.id).await?;
    if channels.iter().any(|c| !c.simulated) {
        return Err(ApiError::new(StatusCode::CONFLICT, "not_simulated", "the team has real Twilio numbers: the simulator is off"));
    }
    let channel = channels
        .into_iter()
        .find(|c| c.kind == req.channel)
        .ok_or_else(|| ApiError::invalid("channel", format!("the team has no simulated {} number", req.channel)))?;
    let from = phone::normalize(&req.from, None)?;
    if req.body.trim().is_empty() && req.media_urls.is_empty() {
        return Err(ApiError::invalid("body", "a message needs a body or a media URL"));
    }
    if req.body.chars().count() > 1600 || req.media_urls.len() > 10 {
        return Err(ApiError::invalid("body", "at most 1600 characters and 10 media URLs"));
    }
    let prefix = if channel.kind == ChannelKind::Whatsapp { "whatsapp:" } else { "" };
    let sid = format!("SM{}", &crate::api::auth::new_secret()[..32]);
    let mut params = vec![
        ("AccountSid".to_owned(), channel.account_sid.clone()),
        ("ApiVersion".to_owned(), "2010-04-01".to_owned()),
        ("Body".to_owned(), req.body),
        ("From".to_owned(), format!("{prefix}{from}")),
        ("MessageSid".to_owned(), sid.clone()),
        ("SmsMessageSid".to_owned(), sid.clone()),
        ("NumMedia".to_owned(), req.media_urls.len().to_string()),
        ("NumSegments".to_owned(), "1".to_owned()),
        ("To".to_owned(), format!("{prefix}{}", channel.number)),
    ];
    for (i, url) in req.media_urls.iter().enumerate() {
        params.push((format!("MediaUrl{i}"), url.clone()));
        let ct = if url.ends_with(".png") {
            "image/png"
        } else if url.ends_with(".gif") {
            "image/gif"
        } else {
            "image/jpeg"
        };
        params.push((format!("MediaContentType{i}"), ct.to_owned()));
    }
    if let Some(name) = req.profile_name.filter(|n| !n.trim().is_empty()) {
        params.push(("ProfileName".to_owned(), name));
    }
    let path = "/webhooks/twilio/messages";
    let url = format!("{}{path}", state.config.public_base_url.trim_end_matches('/'));
    let signature = twilio_signature::sign(channel.auth_token.expose_secret(), &url, &params);
    let code = state.loopback.post(path, &signature, &params).await.map_err(|e| ApiError::from(actors::DomainError::Internal(e)))?;
    if code != 200 {
        return Err(ApiError::from(actors::DomainError::Internal(format!("the webhook answered {code}"))));
    }
    Ok((StatusCode::ACCEPTED, Json(json!({ "message_sid": sid }))))
}
