//! The built-in simulator, for teams without Twilio credentials: a carrier that answers like
//! Twilio and then posts signed status callbacks (sent, then delivered) to our own webhook
//! endpoint, and the loopback client that also carries simulated inbound messages. Everything
//! goes through the real, signed webhook path.

use actors::ports::{Carrier, CarrierError, CarrierRequest};
use async_trait::async_trait;
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use web::{WebhookClient, twilio_signature};

/// Posts signed forms to this server over HTTP.
pub struct Loopback {
    pub http: reqwest::Client,
    /// `http://127.0.0.1:{port}`: where this process listens.
    pub local_base: String,
}

#[async_trait]
impl WebhookClient for Loopback {
    async fn post(&self, path: &str, signature: &str, params: &[(String, String)]) -> Result<u16, String> {
        self.post_read(path, signature, params).await.map(|(code, _)| code)
    }

    async fn post_read(&self, path: &str, signature: &str, params: &[(String, String)]) -> Result<(u16, String), String> {
        let res = self
            .http
            .post(format!("{}{path}", self.local_base))
            .header("X-Twilio-Signature", signature)
            .form(params)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let code = res.status().as_u16();
        Ok((code, res.text().await.map_err(|e| e.to_string())?))
    }
}

/// The simulated carrier.
pub struct Simulator {
    pub loopback: Arc<Loopback>,
    /// Our public base URL (what the signature signs).
    pub public_base_url: String,
    /// Pause before each delivery step, like a real network.
    pub delay: Duration,
    /// Owns the callback tasks; they stop at shutdown (our webhook is going away too).
    pub tasks: TaskTracker,
    pub shutdown: CancellationToken,
}

/// A body containing this makes the simulated carrier report the message undelivered, so the
/// failure path can be seen without a real carrier.
pub const FAIL_MARKER: &str = "#fail";

#[async_trait]
impl Carrier for Simulator {
    async fn send(&self, req: CarrierRequest) -> Result<String, CarrierError> {
        let sid = format!("SM{}", hex::encode(rand::random::<[u8; 16]>()));
        let steps = steps(&req, actors::clock::now());
        let loopback = self.loopback.clone();
        // Twilio posts to the request's StatusCallback and signs that URL: so do we.
        let url = req.status_callback.clone();
        let path = match url.strip_prefix(self.public_base_url.trim_end_matches('/')) {
            Some(p) if p.starts_with('/') => p.to_owned(),
            _ => "/webhooks/twilio/status".to_owned(),
        };
        let delay = self.delay;
        let account = req.channel.account_sid.clone();
        let token = req.channel.auth_token.expose_secret().to_owned();
        let from = req.channel.number.clone();
        let to = req.to.clone();
        let callback_sid = sid.clone();
        let shutdown = self.shutdown.clone();
        self.tasks.spawn(async move {
            for (status, error) in steps {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(delay) => {}
                }
                let mut params = vec![
                    ("AccountSid".to_owned(), account.clone()),
                    ("ApiVersion".to_owned(), "2010-04-01".to_owned()),
                    ("From".to_owned(), from.clone()),
                    ("MessageSid".to_owned(), callback_sid.clone()),
                    ("MessageStatus".to_owned(), status.to_owned()),
                    ("SmsSid".to_owned(), callback_sid.clone()),
                    ("SmsStatus".to_owned(), status.to_owned()),
                    ("To".to_owned(), to.clone()),
                ];
                if let Some(code) = error {
                    params.push(("ErrorCode".to_owned(), code.to_owned()));
                }
                let signature = twilio_signature::sign(&token, &url, &params);
                // A callback that beats our record of the sid is kept by the webhook and applied
                // when the sid is recorded, as with real Twilio.
                if let Err(e) = loopback.post(&path, &signature, &params).await {
                    tracing::warn!(error = %e, "simulator could not post a status callback");
                }
            }
        });
        Ok(sid)
    }
}

/// The status callbacks the simulated carrier posts for `req`, in order: like Twilio, a free-form
/// WhatsApp message outside the 24-hour window is accepted and then fails with 63016
/// (`rules::whatsapp`, the rule the thread actor applies first); a body with [`FAIL_MARKER`] is
/// undelivered; the rest is sent, then delivered.
pub fn steps(req: &CarrierRequest, now: time::OffsetDateTime) -> Vec<(&'static str, Option<&'static str>)> {
    let templated = req.content.is_some();
    if actors::rules::whatsapp::may_send(req.channel.kind, templated, req.last_inbound_at, now).is_err() {
        vec![("failed", Some("63016"))]
    } else if req.body.contains(FAIL_MARKER) {
        vec![("sent", None), ("undelivered", Some("30003"))]
    } else {
        vec![("sent", None), ("delivered", None)]
    }
}

/// Picks the carrier by channel: simulated channels go to the simulator, the rest to Twilio.
pub struct Carriers {
    pub twilio: crate::twilio::TwilioCarrier,
    pub simulator: Simulator,
}

#[async_trait]
impl Carrier for Carriers {
    async fn send(&self, req: CarrierRequest) -> Result<String, CarrierError> {
        if req.channel.simulated { self.simulator.send(req).await } else { self.twilio.send(req).await }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actors::domain::{Channel, ChannelKind};
    use actors::ids::{ChannelId, TeamId};
    use actors::rules::message_templates::ContentRef;
    use time::macros::datetime;

    fn request(kind: ChannelKind, last_inbound_at: Option<time::OffsetDateTime>, content: Option<ContentRef>) -> CarrierRequest {
        let channel = Channel {
            id: ChannelId::new(),
            team_id: TeamId::new(),
            kind,
            number: "+15005550006".into(),
            account_sid: "ACsim".into(),
            auth_token: "token".to_owned().into(),
            messaging_service_sid: None,
            simulated: true,
        };
        CarrierRequest {
            channel,
            to: "+447911123456".into(),
            body: "Hello".into(),
            media_urls: vec![],
            status_callback: String::new(),
            content,
            last_inbound_at,
        }
    }

    #[test]
    fn free_form_whatsapp_outside_the_window_fails_with_63016_like_twilio() {
        let now = datetime!(2026-12-08 12:00 UTC);
        let old = Some(now - time::Duration::hours(25));
        assert_eq!(steps(&request(ChannelKind::Whatsapp, old, None), now), vec![("failed", Some("63016"))]);
        assert_eq!(steps(&request(ChannelKind::Whatsapp, None, None), now), vec![("failed", Some("63016"))], "never wrote");
        let delivered = vec![("sent", None), ("delivered", None)];
        let recent = Some(now - time::Duration::hours(1));
        assert_eq!(steps(&request(ChannelKind::Whatsapp, recent, None), now), delivered);
        let template = ContentRef { sid: format!("HX{}", "0".repeat(32)), variables: Default::default() };
        assert_eq!(steps(&request(ChannelKind::Whatsapp, old, Some(template)), now), delivered, "a template goes any time");
        assert_eq!(steps(&request(ChannelKind::Sms, None, None), now), delivered, "SMS has no window");
    }
}
