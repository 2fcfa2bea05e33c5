//! The Twilio REST client: `POST /2010-04-01/Accounts/{sid}/Messages.json`, form-encoded with
//! Basic auth (a template send carries `ContentSid` and `ContentVariables` instead of `Body`). Connection errors and 429/20429 are retried with back-off; other refusals are not
//! (sending twice is worse than failing once).

use actors::domain::ChannelKind;
use actors::ports::{Carrier, CarrierError, CarrierRequest};
use async_trait::async_trait;
use secrecy::ExposeSecret;
use serde::Deserialize;
use std::time::Duration;

/// Sends through Twilio's API at `base` (tests point it at a fake).
pub struct TwilioCarrier {
    http: reqwest::Client,
    base: String,
}

#[derive(Deserialize)]
struct Created {
    sid: String,
}

#[derive(Deserialize)]
struct TwilioError {
    code: Option<i32>,
    message: Option<String>,
}

/// How many times a retryable failure is tried in all.
const ATTEMPTS: u32 = 4;

impl TwilioCarrier {
    pub fn new(http: reqwest::Client, base: &str) -> TwilioCarrier {
        TwilioCarrier { http, base: base.trim_end_matches('/').to_owned() }
    }

    /// The form Twilio expects; WhatsApp addresses carry the `whatsapp:` prefix.
    pub fn form(req: &CarrierRequest) -> Vec<(&'static str, String)> {
        let prefix = if req.channel.kind == ChannelKind::Whatsapp { "whatsapp:" } else { "" };
        let mut form = vec![("To", format!("{prefix}{}", req.to))];
        match &req.channel.messaging_service_sid {
            Some(service) => form.push(("MessagingServiceSid", service.clone())),
            None => form.push(("From", format!("{prefix}{}", req.channel.number))),
        }
        // An approved template: Twilio sends the Content sid's text with the variables filled in
        // (the `Body` we keep is our rendering of it, for the thread, and is not sent).
        match &req.content {
            Some(content) => {
                form.push(("ContentSid", content.sid.clone()));
                if let Some(variables) = content.variables_json() {
                    form.push(("ContentVariables", variables));
                }
            }
            None if !req.body.is_empty() => form.push(("Body", req.body.clone())),
            None => {}
        }
        for url in &req.media_urls {
            form.push(("MediaUrl", url.clone()));
        }
        form.push(("StatusCallback", req.status_callback.clone()));
        form
    }
}

#[async_trait]
impl Carrier for TwilioCarrier {
    async fn send(&self, req: CarrierRequest) -> Result<String, CarrierError> {
        let url = format!("{}/2010-04-01/Accounts/{}/Messages.json", self.base, req.channel.account_sid);
        let form = Self::form(&req);
        let mut delay = Duration::from_millis(250);
        for attempt in 1..=ATTEMPTS {
            let sent = self
                .http
                .post(&url)
                .basic_auth(&req.channel.account_sid, Some(req.channel.auth_token.expose_secret()))
                .form(&form)
                .send()
                .await;
            let (retry, code) = match sent {
                // Only a request that never reached Twilio is safe to send again.
                Err(e) if e.is_connect() => (format!("could not reach Twilio: {e}"), None),
                Err(e) if e.is_timeout() => {
                    let reason = "Twilio did not answer in time; not retried, since it may have sent the message".to_owned();
                    return Err(CarrierError { code: None, reason });
                }
                Err(e) => return Err(CarrierError { code: None, reason: format!("Twilio request failed: {e}") }),
                Ok(res) if res.status().is_success() => {
                    let created: Created =
                        res.json().await.map_err(|e| CarrierError { code: None, reason: format!("unexpected Twilio answer: {e}") })?;
                    return Ok(created.sid);
                }
                Ok(res) => {
                    let status = res.status();
                    let err: TwilioError = res.json().await.unwrap_or(TwilioError { code: None, message: None });
                    let code = err.code;
                    if status.as_u16() == 429 || code == Some(20429) {
                        ("Twilio rate limit (20429)".to_owned(), Some(20429))
                    } else {
                        let reason = match code {
                            Some(c) => actors::domain::twilio_error_reason(c),
                            None => err.message.unwrap_or_else(|| format!("Twilio answered {status}")),
                        };
                        return Err(CarrierError { code, reason });
                    }
                }
            };
            if attempt == ATTEMPTS {
                return Err(CarrierError { code, reason: format!("{retry} (gave up after {ATTEMPTS} tries)") });
            }
            tracing::info!(attempt, %retry, "retrying a Twilio send");
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        unreachable!("the loop returns on its last attempt")
    }
}
