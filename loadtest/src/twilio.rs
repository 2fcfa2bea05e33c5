//! Twilio's side of the webhooks, for the direct scenarios (`webhooks --direct`, `status`): the
//! load tool signs each request with the channel's auth token exactly as Twilio does
//! (`X-Twilio-Signature` = base64(HMAC-SHA1(token, URL + every name and value, sorted by name
//! then value, a repeated pair counted once))) and builds the form parameters Twilio documents
//! for an incoming message and for a message status callback. Checked against the official
//! vectors in `loadtest/vectors/twilio_signature.json` (a copy of `tests/vectors/`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// The string Twilio signs: the URL exactly as configured, then each name followed by its value.
pub fn string_to_sign(url: &str, params: &[(String, String)]) -> String {
    let mut pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut s = String::from(url);
    for (k, v) in pairs {
        s.push_str(k);
        s.push_str(v);
    }
    s
}

/// The `X-Twilio-Signature` of a form-encoded request to `url`.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(string_to_sign(url, params).as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// A unique Twilio-shaped sid (`SM` + 32 hex digits) for run `run` and index `n`.
pub fn sid(prefix: &str, run: u64, n: u64) -> String {
    format!("{prefix}{run:016x}{n:016x}")
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// The parameters of Twilio's incoming-message webhook (an SMS without media), as Twilio posts
/// them to a number's messaging webhook.
pub fn inbound_params(account_sid: &str, from: &str, to: &str, message_sid: &str, body: &str) -> Vec<(String, String)> {
    pairs(&[
        ("ToCountry", "US"),
        ("ToState", ""),
        ("SmsMessageSid", message_sid),
        ("NumMedia", "0"),
        ("ToCity", ""),
        ("FromZip", ""),
        ("SmsSid", message_sid),
        ("FromState", ""),
        ("SmsStatus", "received"),
        ("FromCity", ""),
        ("Body", body),
        ("FromCountry", "US"),
        ("To", to),
        ("ToZip", ""),
        ("NumSegments", "1"),
        ("MessageSid", message_sid),
        ("AccountSid", account_sid),
        ("From", from),
        ("ApiVersion", "2010-04-01"),
    ])
}

/// The parameters of Twilio's message status callback: `from` is our number, `to` the contact.
pub fn status_params(account_sid: &str, from: &str, to: &str, message_sid: &str, status: &str) -> Vec<(String, String)> {
    pairs(&[
        ("SmsSid", message_sid),
        ("SmsStatus", status),
        ("MessageStatus", status),
        ("To", to),
        ("MessageSid", message_sid),
        ("AccountSid", account_sid),
        ("From", from),
        ("ApiVersion", "2010-04-01"),
    ])
}

/// A signed form POST to `url` (the public URL the server signs), sent to `base` + its path and
/// query: the server under test may listen elsewhere than its public address.
pub fn signed_post(
    http: &reqwest::Client,
    base: &str,
    url: &str,
    token: &str,
    params: &[(String, String)],
) -> anyhow::Result<reqwest::RequestBuilder> {
    let parsed = reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("{url:?} is not a URL: {e}"))?;
    let path_and_query = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_owned(),
    };
    let body = serde_urlencoded_pairs(params);
    Ok(http
        .post(format!("{}{path_and_query}", base.trim_end_matches('/')))
        .header("X-Twilio-Signature", signature(token, url, params))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body))
}

/// `application/x-www-form-urlencoded` as Twilio sends it (space as `+`).
fn serde_urlencoded_pairs(params: &[(String, String)]) -> String {
    reqwest::Url::parse_with_params("http://x/", params).ok().and_then(|u| u.query().map(str::to_owned)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Value {
        serde_json::from_str(include_str!("../vectors/twilio_signature.json")).expect("the vectors are JSON")
    }

    fn params(v: &Value) -> Vec<(String, String)> {
        let mut out = vec![];
        for (k, v) in v.as_object().expect("params are an object") {
            match v {
                Value::Array(items) => out.extend(items.iter().map(|i| (k.clone(), i.as_str().unwrap().to_owned()))),
                v => out.push((k.clone(), v.as_str().unwrap().to_owned())),
            }
        }
        out
    }

    #[test]
    fn signatures_match_the_official_vectors() {
        let v = vectors();
        let token = v["auth_token"].as_str().unwrap();
        let mut checked = 0;
        for case in v["cases"].as_array().expect("cases") {
            let url = case["url"].as_str().unwrap();
            // A JSON-body request signs the URL alone (its body is hashed into `bodySHA256`).
            let p = if case["body"].is_string() { vec![] } else { params(&case["params"]) };
            assert_eq!(signature(token, url, &p), case["signature"].as_str().unwrap(), "{}", case["name"]);
            checked += 1;
        }
        assert_eq!(checked, 6);
        let first = &v["cases"][0];
        assert_eq!(string_to_sign(first["url"].as_str().unwrap(), &params(&first["params"])), v["string_to_sign_example"]);
    }

    #[test]
    fn the_vectors_are_the_repositorys() {
        let here = include_str!("../vectors/twilio_signature.json");
        let repo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/twilio_signature.json")).unwrap();
        assert_eq!(here, repo, "loadtest/vectors/ is a copy of tests/vectors/");
    }

    #[test]
    fn the_form_posted_is_the_form_signed() {
        let p = inbound_params("AC1", "+14155550100", "+12065550123", &sid("SM", 1, 2), "hello there & more");
        let http = reqwest::Client::new();
        let req = signed_post(&http, "http://127.0.0.1:18080", "https://sb.example/webhooks/twilio/messages?x=1", "tok", &p)
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(req.url().as_str(), "http://127.0.0.1:18080/webhooks/twilio/messages?x=1");
        let body = std::str::from_utf8(req.body().unwrap().as_bytes().unwrap()).unwrap();
        let decoded: Vec<(String, String)> =
            reqwest::Url::parse(&format!("http://x/?{body}")).unwrap().query_pairs().into_owned().collect();
        assert_eq!(decoded, p);
        let sig = req.headers()["x-twilio-signature"].to_str().unwrap();
        assert_eq!(sig, signature("tok", "https://sb.example/webhooks/twilio/messages?x=1", &p));
        assert_eq!(sid("SM", 1, 2).len(), 34);
    }
}
