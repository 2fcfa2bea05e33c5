//! Twilio's Content API client: `GET {base}/v1/Content` with Basic auth (AccountSid:AuthToken),
//! following `meta.next_page_url` to the last page. Each item's text is its first type's body
//! (`twilio/text` first); its `variables` (key → sample) become the template's variables with
//! their examples. The base URL is configurable (`TWILIO_CONTENT_API_BASE`) so tests use a fake.

use actors::message_templates::content_body;
use actors::ports::{ContentApi, ContentApiError, ContentItem};
use actors::rules::message_templates::TemplateVariable;
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeMap;

/// At most this many pages are read in one sync (50,000 templates at Twilio's page size).
const MAX_PAGES: usize = 50;

pub struct ContentApiClient {
    http: reqwest::Client,
    base: String,
}

#[derive(Deserialize)]
struct ListPage {
    #[serde(default)]
    contents: Vec<Content>,
    #[serde(default)]
    meta: Meta,
}

#[derive(Deserialize, Default)]
struct Meta {
    next_page_url: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    sid: String,
    #[serde(default)]
    friendly_name: Option<String>,
    #[serde(default)]
    variables: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    types: serde_json::Value,
}

impl ContentApiClient {
    pub fn new(http: reqwest::Client, base: &str) -> ContentApiClient {
        ContentApiClient { http, base: base.trim_end_matches('/').to_owned() }
    }

    /// The next page's URL, kept on our base: Twilio answers absolute URLs on its own host; a
    /// configured base (a fake, a proxy) keeps only their path and query.
    fn next_url(&self, next: &str) -> String {
        match next.find("/v1/") {
            Some(at) => format!("{}{}", self.base, &next[at..]),
            None => next.to_owned(),
        }
    }
}

#[async_trait]
impl ContentApi for ContentApiClient {
    async fn list(&self, account_sid: &str, auth_token: &SecretString) -> Result<Vec<ContentItem>, ContentApiError> {
        let mut url = format!("{}/v1/Content?PageSize=500", self.base);
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let res = self
                .http
                .get(&url)
                .basic_auth(account_sid, Some(auth_token.expose_secret()))
                .send()
                .await
                .map_err(|e| ContentApiError(format!("could not reach the Content API: {e}")))?;
            let status = res.status();
            if !status.is_success() {
                return Err(ContentApiError(format!("the Content API answered {status}")));
            }
            let page: ListPage = res.json().await.map_err(|e| ContentApiError(format!("unexpected Content API answer: {e}")))?;
            for c in page.contents {
                let Some(body) = content_body(&c.types) else { continue };
                let variables = c
                    .variables
                    .into_iter()
                    .map(|(key, sample)| TemplateVariable {
                        key,
                        example: match sample {
                            serde_json::Value::String(s) => Some(s),
                            serde_json::Value::Null => None,
                            other => Some(other.to_string()),
                        },
                        default: None,
                    })
                    .collect();
                items.push(ContentItem { friendly_name: c.friendly_name.unwrap_or_else(|| c.sid.clone()), sid: c.sid, body, variables });
            }
            match page.meta.next_page_url.filter(|u| !u.is_empty()) {
                Some(next) => url = self.next_url(&next),
                None => return Ok(items),
            }
        }
        tracing::warn!(account = account_sid, "the Content API had more than {MAX_PAGES} pages; the rest was not synced");
        Ok(items)
    }
}
