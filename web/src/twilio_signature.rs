//! `X-Twilio-Signature`: base64(HMAC-SHA1(auth_token, url + sorted key/value pairs)), checked as
//! Twilio's own validators do (the URL as received, without its default port, or with it).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The string Twilio signs: the URL, then every parameter name followed by its value, sorted by
/// name then value, repeated values counted once.
pub fn string_to_sign(url: &str, params: &[(String, String)]) -> String {
    let mut pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut s = String::with_capacity(url.len() + pairs.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>());
    s.push_str(url);
    for (k, v) in pairs {
        s.push_str(k);
        s.push_str(v);
    }
    s
}

/// The signature of a request, as Twilio computes it.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(string_to_sign(url, params).as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

fn verify_one(auth_token: &str, url: &str, params: &[(String, String)], signature: &[u8]) -> bool {
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(string_to_sign(url, params).as_bytes());
    mac.verify_slice(signature).is_ok()
}

/// The URL with its default port removed and with it added (`:443` for https, `:80` for http).
/// Twilio signs the URL string exactly as configured, so this edits the string itself: a parser
/// such as `url::Url` would normalize it (drop a default port, re-encode the path) and the
/// signature would no longer match.
fn port_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_owned()];
    let (scheme, default) = if url.starts_with("https://") {
        ("https://", "443")
    } else if url.starts_with("http://") {
        ("http://", "80")
    } else {
        return out;
    };
    let rest = &url[scheme.len()..];
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    // userinfo@host:port — only the host:port part matters.
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (format!("{u}@"), h),
        None => (String::new(), authority),
    };
    let has_port = hostport.rsplit_once(':').is_some_and(|(_, p)| p.chars().all(|c| c.is_ascii_digit()) && !hostport.ends_with(']'));
    if has_port {
        let (host, port) = hostport.rsplit_once(':').expect("checked");
        if port == default {
            out.push(format!("{scheme}{userinfo}{host}{tail}"));
        }
    } else {
        out.push(format!("{scheme}{userinfo}{hostport}:{default}{tail}"));
    }
    out
}

/// Whether `signature` signs a form-encoded request to `url` with `params`.
pub fn validate(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let Ok(sig) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    port_variants(url).iter().any(|u| verify_one(auth_token, u, params, &sig))
}

/// Whether `signature` signs a JSON-body request: the URL carries `bodySHA256`, no parameters
/// are signed, and the body must hash to it.
pub fn validate_body(auth_token: &str, url: &str, body: &[u8], signature: &str) -> bool {
    let Some(query) = url.split_once('?').map(|(_, q)| q) else {
        return false;
    };
    let expected = form_urlencoded_pairs(query).into_iter().find(|(k, _)| k == "bodySHA256").map(|(_, v)| v);
    let Some(expected) = expected else {
        return false;
    };
    if hex::encode(Sha256::digest(body)) != expected.to_lowercase() {
        return false;
    }
    validate(auth_token, url, &[], signature)
}

fn form_urlencoded_pairs(q: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(q).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn params(v: &Value) -> Vec<(String, String)> {
        let mut out = vec![];
        for (k, v) in v.as_object().unwrap() {
            match v {
                Value::Array(items) => out.extend(items.iter().map(|i| (k.clone(), i.as_str().unwrap().to_owned()))),
                v => out.push((k.clone(), v.as_str().unwrap().to_owned())),
            }
        }
        out
    }

    fn vectors() -> Value {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/twilio_signature.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn every_official_vector_passes() {
        let v = vectors();
        let token = v["auth_token"].as_str().unwrap();
        let cases = v["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 6);
        for case in cases {
            let url = case["url"].as_str().unwrap();
            let sig = case["signature"].as_str().unwrap();
            let p = params(&case["params"]);
            if let Some(body) = case["body"].as_str() {
                assert!(validate_body(token, url, body.as_bytes(), sig), "{}", case["name"]);
                assert!(!validate_body(token, url, b"{\"property\": \"tampered\"}", sig));
            } else {
                assert_eq!(sign(token, url, &p), sig, "{}", case["name"]);
                assert!(validate(token, url, &p, sig), "{}", case["name"]);
            }
        }
        let first = &cases[0];
        let example = string_to_sign(first["url"].as_str().unwrap(), &params(&first["params"]));
        assert_eq!(example, v["string_to_sign_example"].as_str().unwrap());
    }

    #[test]
    fn default_port_variants_are_accepted() {
        let v = vectors();
        let token = v["auth_token"].as_str().unwrap();
        let case = &v["cases"][1]; // signed over https://mycompany.com:443/...
        let p = params(&case["params"]);
        let sig = case["signature"].as_str().unwrap();
        assert!(validate(token, "https://mycompany.com/myapp.php?foo=1&bar=2", &p, sig));
        let plain = v["cases"][0]["signature"].as_str().unwrap();
        assert!(validate(token, "https://mycompany.com:443/myapp.php?foo=1&bar=2", &p, plain));
    }

    #[test]
    fn tampering_is_rejected() {
        let v = vectors();
        let token = v["auth_token"].as_str().unwrap();
        let case = &v["cases"][0];
        let url = case["url"].as_str().unwrap();
        let sig = case["signature"].as_str().unwrap();
        let mut p = params(&case["params"]);
        assert!(!validate("wrong-token", url, &p, sig));
        assert!(!validate(token, "https://mycompany.com/myapp.php?foo=1&bar=3", &p, sig));
        assert!(!validate(token, "https://evil.com/myapp.php?foo=1&bar=2", &p, sig));
        assert!(!validate(token, url, &p, "not base64!"));
        p[0].1.push('0');
        assert!(!validate(token, url, &p, sig));
    }
}
