//! Pusher's signatures, for driving any Pusher-protocol server with its app key and secret (the
//! load tool then signs channel auth itself instead of asking Switchboard's `/pusher/auth`, and
//! publishes through the Pusher HTTP API): channel auth `key:hex(HMAC-SHA256(secret,
//! socket_id:channel[:channel_data]))`, and the HTTP API's `auth_signature` over `METHOD\nPATH\n`
//! and the sorted query. Checked against the official vectors in `loadtest/vectors/`.

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;
use std::collections::BTreeMap;

fn hmac_hex(secret: &str, text: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(text.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The signature of a private or presence channel subscription (without the `key:` prefix).
pub fn channel_signature(secret: &str, socket_id: &str, channel: &str, channel_data: Option<&str>) -> String {
    let text = match channel_data {
        Some(data) => format!("{socket_id}:{channel}:{data}"),
        None => format!("{socket_id}:{channel}"),
    };
    hmac_hex(secret, &text)
}

/// The `auth` field of a subscription: `key:signature`.
pub fn channel_auth(key: &str, secret: &str, socket_id: &str, channel: &str, channel_data: Option<&str>) -> String {
    format!("{key}:{}", channel_signature(secret, socket_id, channel, channel_data))
}

/// The query string of a signed HTTP API request: `auth_key`, `auth_timestamp`,
/// `auth_version=1.0`, `body_md5` (when there is a body) and `extra`, sorted by key, then
/// `auth_signature`. Values are not URL-escaped (Pusher signs them as they are; ours are plain).
pub fn api_query(key: &str, secret: &str, method: &str, path: &str, timestamp: u64, body: Option<&[u8]>, extra: &[(&str, &str)]) -> String {
    let mut params: BTreeMap<String, String> = extra.iter().map(|(k, v)| (k.to_lowercase(), (*v).to_owned())).collect();
    params.insert("auth_key".into(), key.into());
    params.insert("auth_timestamp".into(), timestamp.to_string());
    params.insert("auth_version".into(), "1.0".into());
    if let Some(body) = body {
        params.insert("body_md5".into(), hex::encode(Md5::digest(body)));
    }
    let query = params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let signature = hmac_hex(secret, &format!("{method}\n{path}\n{query}"));
    format!("{query}&auth_signature={signature}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Value {
        serde_json::from_str(include_str!("../vectors/pusher_auth.json")).expect("the vectors are JSON")
    }

    #[test]
    fn channel_auth_matches_the_official_vectors() {
        let v = vectors();
        let cases = v["channel_auth"].as_array().expect("channel_auth cases");
        let mut checked = 0;
        for case in cases {
            let (Some(secret), Some(socket_id), Some(channel)) =
                (case["secret"].as_str(), case["socket_id"].as_str(), case["channel"].as_str())
            else {
                continue; // a user sign-in vector: not a channel
            };
            let data = case["channel_data"].as_str();
            assert_eq!(channel_signature(secret, socket_id, channel, data), case["signature"].as_str().unwrap(), "{case}");
            if let Some(key) = case["key"].as_str() {
                assert_eq!(channel_auth(key, secret, socket_id, channel, data), format!("{key}:{}", case["signature"].as_str().unwrap()));
            }
            checked += 1;
        }
        assert!(checked >= 6, "only {checked} channel vectors");
    }

    /// The worked example of Pusher's HTTP API reference ("Worked authentication example"):
    /// event `foo` on `project-3` with data `{"some":"data"}`, app 3.
    #[test]
    fn post_events_matches_the_documented_worked_example() {
        let body = r#"{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}"#;
        let query =
            api_query("278d425bdf160c739803", "7ad3773142a6692b25b8", "POST", "/apps/3/events", 1_353_088_179, Some(body.as_bytes()), &[]);
        assert_eq!(
            query,
            "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f\
             &auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"
        );
    }

    #[test]
    fn api_signatures_match_the_official_vectors() {
        let v = vectors();
        for case in v["http_api"].as_array().expect("http_api cases") {
            let extra: Vec<(String, String)> = case["query"]
                .as_object()
                .map(|q| q.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned())).collect())
                .unwrap_or_default();
            let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let body = case["body"].as_str().map(str::as_bytes);
            let query = api_query(
                "f00d",
                case["secret"].as_str().unwrap(),
                case["method"].as_str().unwrap(),
                case["path"].as_str().unwrap(),
                1_234_567_890,
                body,
                &extra,
            );
            let (signed, signature) = query.rsplit_once("&auth_signature=").unwrap();
            let want = case["string_to_sign"].as_str().unwrap();
            assert_eq!(format!("{}\n{}\n{signed}", case["method"].as_str().unwrap(), case["path"].as_str().unwrap()), want);
            assert_eq!(signature, case["auth_signature"].as_str().unwrap(), "{case}");
        }
    }
}
