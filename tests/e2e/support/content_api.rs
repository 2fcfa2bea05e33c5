//! A fake of Twilio's Content API (`GET /v1/Content`) on a wiremock server: the account's
//! templates over two pages linked by `meta.next_page_url` (an absolute URL on Twilio's own
//! host, as Twilio answers), only for the account's Basic credentials.

use super::twilio::Account;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// One Content API item of type `twilio/text`.
pub(crate) fn text_content(sid: &str, name: &str, body: &str, samples: &[(&str, &str)]) -> Value {
    let variables: serde_json::Map<String, Value> = samples.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    json!({
        "sid": sid, "account_sid": "AC", "friendly_name": name, "language": "en",
        "variables": variables, "types": { "twilio/text": { "body": body } },
        "url": format!("https://content.twilio.com/v1/Content/{sid}"),
        "date_created": "2026-12-01T10:00:00Z", "date_updated": "2026-12-01T10:00:00Z",
    })
}

/// Serves `first` then `second` as the account's two pages.
pub(crate) async fn serves_contents(server: &MockServer, account: &Account, first: Vec<Value>, second: Vec<Value>) {
    let next = "https://content.twilio.com/v1/Content?PageSize=500&Page=1&PageToken=PT1";
    let page = |contents: Vec<Value>, next: Option<&str>| {
        json!({ "contents": contents, "meta": { "page": 0, "page_size": 500, "first_page_url": "https://content.twilio.com/v1/Content?PageSize=500&Page=0",
                 "previous_page_url": null, "next_page_url": next, "url": "https://content.twilio.com/v1/Content", "key": "contents" } })
    };
    Mock::given(method("GET"))
        .and(path("/v1/Content"))
        .and(query_param("PageToken", "PT1"))
        .and(header("authorization", account.basic_auth().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(second, None)))
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/Content"))
        .and(header("authorization", account.basic_auth().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(first, Some(next))))
        .with_priority(2)
        .mount(server)
        .await;
}
