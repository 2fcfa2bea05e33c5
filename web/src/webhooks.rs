//! Twilio webhooks: inbound messages and delivery status callbacks. Each is verified against the
//! receiving channel's auth token before anything is written, routed to its thread actor, and
//! answered 200 only after the commit. Unknown parameters are kept in the raw receipt.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::twilio_signature;
use actors::domain::{ChannelKind, Media, MessageStatus};
use actors::ids::MessageId;
use actors::ports::InboundOutcome;
use actors::threads::{InboundMessage, StatusCallback};
use actors::{DomainError, phone};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use secrecy::ExposeSecret;
use serde_json::{Map, Value};

/// The webhook routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/twilio/messages", post(inbound))
        .route("/webhooks/twilio/status", post(status))
        .merge(crate::voice::routes())
}

/// The empty TwiML answer: "received, nothing to say".
const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response />";

fn twiml() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], EMPTY_TWIML).into_response()
}

/// The parsed form, in order, with lookups by name.
pub(crate) struct Params(pub(crate) Vec<(String, String)>);

impl Params {
    pub(crate) fn parse(headers: &HeaderMap, body: &[u8]) -> ApiResult<Params> {
        let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !ct.starts_with("application/x-www-form-urlencoded") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected a form-encoded Twilio webhook",
            ));
        }
        // serde_urlencoded decodes leniently (a broken escape stays literal text, bytes that are
        // not UTF-8 become U+FFFD), so a body Twilio could never have sent would be read as
        // something else: refuse it first.
        if !well_formed(body) {
            return Err(ApiError::bad_request("malformed form body: bad percent-encoding or not UTF-8"));
        }
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(body).map_err(|e| ApiError::bad_request(format!("malformed form body: {e}")))?;
        Ok(Params(pairs))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    pub(crate) fn require(&self, name: &'static str) -> ApiResult<&str> {
        self.get(name).ok_or_else(|| ApiError::bad_request(format!("missing parameter {name}")))
    }

    /// Everything as received, for the raw receipt (repeated names become arrays).
    pub(crate) fn to_json(&self) -> Value {
        let mut map = Map::new();
        for (k, v) in &self.0 {
            match map.get_mut(k) {
                Some(Value::Array(a)) => a.push(Value::String(v.clone())),
                Some(existing) => *existing = Value::Array(vec![existing.clone(), Value::String(v.clone())]),
                None => {
                    map.insert(k.clone(), Value::String(v.clone()));
                }
            }
        }
        Value::Object(map)
    }
}

/// Whether `body` is strict `application/x-www-form-urlencoded`: every `%` starts an escape of
/// two hex digits, and every decoded name and value is UTF-8.
fn well_formed(body: &[u8]) -> bool {
    let mut part = Vec::new();
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'%' => match body.get(i + 1..i + 3) {
                Some(hex) if hex.iter().all(u8::is_ascii_hexdigit) => {
                    let hex = std::str::from_utf8(hex).expect("ASCII hex digits");
                    part.push(u8::from_str_radix(hex, 16).expect("two hex digits"));
                    i += 3;
                    continue;
                }
                _ => return false,
            },
            b'&' | b'=' => {
                if std::str::from_utf8(&part).is_err() {
                    return false;
                }
                part.clear();
            }
            b => part.push(b),
        }
        i += 1;
    }
    std::str::from_utf8(&part).is_ok()
}

/// The URL Twilio signed: our public base URL plus the path and query as received.
fn signed_url(state: &AppState, uri: &axum::http::Uri) -> String {
    let pq = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    format!("{}{pq}", state.config.public_base_url.trim_end_matches('/'))
}

fn check_signature(state: &AppState, headers: &HeaderMap, uri: &axum::http::Uri, token: &str, params: &Params) -> ApiResult<()> {
    let sig = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
    if sig.is_empty() || !twilio_signature::validate(token, &signed_url(state, uri), &params.0, sig) {
        return Err(refused());
    }
    Ok(())
}

/// One answer for every webhook we do not accept: a bad signature, an unknown account or number.
/// A different status for "not configured here" would tell a stranger which accounts and
/// numbers our tenants use.
fn refused() -> ApiError {
    metrics::counter!("switchboard_webhook_rejected_total").increment(1);
    ApiError::forbidden("invalid X-Twilio-Signature")
}

/// The channel whose auth token verifies the request. Several teams may have configured the same
/// account and number (nobody proves an AccountSid when adding a channel): a correctly signed
/// webhook goes to the team that holds the real token, whatever the others configured.
pub(crate) fn verified_channel(
    state: &AppState,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    candidates: Vec<actors::domain::Channel>,
    params: &Params,
) -> ApiResult<actors::domain::Channel> {
    candidates.into_iter().find(|c| check_signature(state, headers, uri, c.auth_token.expose_secret(), params).is_ok()).ok_or_else(refused)
}

async fn inbound(State(state): State<AppState>, OriginalUri(uri): OriginalUri, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let params = Params::parse(&headers, &body)?;
    let account = params.require("AccountSid")?;
    let from_raw = params.require("From")?;
    let sid = params
        .get("MessageSid")
        .or_else(|| params.get("SmsMessageSid"))
        .ok_or_else(|| ApiError::bad_request("missing parameter MessageSid"))?;
    let to_raw = params.get("To");
    let kind = if from_raw.starts_with("whatsapp:") || to_raw.is_some_and(|t| t.starts_with("whatsapp:")) {
        ChannelKind::Whatsapp
    } else {
        ChannelKind::Sms
    };
    let to = to_raw.map(|t| phone::normalize(t, None)).transpose().map_err(|_| ApiError::bad_request("To is not a phone number"))?;
    let service = params.get("MessagingServiceSid");
    if to.is_none() && service.is_none() {
        return Err(ApiError::bad_request("missing parameter To"));
    }
    let candidates = state.reads.channels_for_webhook(account, to.as_deref(), kind, service).await?;
    let channel = verified_channel(&state, &headers, &uri, candidates, &params)?;

    // Verified: from here on the request is Twilio's.
    let from = phone::normalize(from_raw, None).map_err(|_| ApiError::bad_request("From is not a phone number"))?;
    let num_media: usize = params.get("NumMedia").and_then(|n| n.parse().ok()).unwrap_or(0).min(10);
    let media = (0..num_media)
        .filter_map(|i| {
            let url = params.get(&format!("MediaUrl{i}"))?.to_owned();
            Some(Media { url, content_type: params.get(&format!("MediaContentType{i}")).map(str::to_owned) })
        })
        .collect();
    let inbound = InboundMessage {
        team: channel.team_id,
        channel: channel.id,
        kind,
        from,
        profile_name: params.get("ProfileName").map(str::to_owned),
        message_sid: sid.to_owned(),
        body: params.get("Body").unwrap_or("").to_owned(),
        media,
        raw: params.to_json(),
        opt_out_type: params.get("OptOutType").map(str::to_owned),
    };
    let outcome = state.core.threads.inbound(inbound).await?;
    if matches!(outcome, InboundOutcome::Duplicate) {
        tracing::info!(%sid, "duplicate inbound webhook ignored");
    }
    metrics::counter!("switchboard_inbound_messages_total").increment(1);
    Ok(twiml())
}

async fn status(State(state): State<AppState>, OriginalUri(uri): OriginalUri, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let params = Params::parse(&headers, &body)?;
    let sid =
        params.get("MessageSid").or_else(|| params.get("SmsSid")).ok_or_else(|| ApiError::bad_request("missing parameter MessageSid"))?;
    let status_word = params
        .get("MessageStatus")
        .or_else(|| params.get("SmsStatus"))
        .ok_or_else(|| ApiError::bad_request("missing parameter MessageStatus"))?;
    // Our status callback URLs name our message (`?message=`): a callback for a send whose
    // answer was lost can still find it.
    let named: Option<MessageId> = uri.query().and_then(|q| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok()?.into_iter().find(|(k, _)| k == "message")?.1.parse().ok()
    });
    let (channel, current, named) = match state.reads.message_for_sid(sid).await? {
        Some((channel, thread, current)) => (channel, Some((thread, current)), None),
        None => match named {
            Some(message) => match state.reads.message_channel(message).await? {
                Some((channel, thread)) => (channel, None, Some((message, thread))),
                None => (sending_channel(&state, &headers, &uri, &params).await?, None, None),
            },
            // A callback for a sid we have not recorded yet: Twilio can answer the send's HTTP
            // request after its first status callback. It is verified with the sending channel's
            // token (found by account and our number), kept, and applied when the sid is recorded.
            None => (sending_channel(&state, &headers, &uri, &params).await?, None, None),
        },
    };
    if params.get("AccountSid").is_some_and(|a| a != channel.account_sid) {
        return Err(ApiError::forbidden("the account does not own this message"));
    }
    check_signature(&state, &headers, &uri, channel.auth_token.expose_secret(), &params)?;
    let status = MessageStatus::from_twilio(status_word);
    if status.is_none() {
        // A status we do not track is still acknowledged, so Twilio does not retry it.
        tracing::info!(%sid, status = status_word, "unknown message status kept, not applied");
    }
    let callback = StatusCallback {
        team: channel.team_id,
        sid: sid.to_owned(),
        status,
        error_code: params.get("ErrorCode").and_then(|c| c.parse().ok()).filter(|c| *c != 0),
        raw: params.to_json(),
        current,
        named,
    };
    state.core.threads.status(callback).await.map_err(|e| match e {
        DomainError::NotFound(_) => ApiError::not_found("message"),
        e => e.into(),
    })?;
    Ok(twiml())
}

/// The channel that sent a message, from the callback's account and `From` (our number), among
/// those whose token verifies the callback.
async fn sending_channel(
    state: &AppState,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    params: &Params,
) -> ApiResult<actors::domain::Channel> {
    let account = params.get("AccountSid").ok_or_else(refused)?;
    let from = params.get("From");
    let kind = if from.is_some_and(|f| f.starts_with("whatsapp:")) { ChannelKind::Whatsapp } else { ChannelKind::Sms };
    let number = from.and_then(|f| phone::normalize(f, None).ok());
    let candidates = state.reads.channels_for_webhook(account, number.as_deref(), kind, params.get("MessagingServiceSid")).await?;
    verified_channel(state, headers, uri, candidates, params)
}
