//! TOTP as RFC 6238 has it and authenticator apps expect: HMAC-SHA1, 6 digits, 30 s steps,
//! one step of skew either way. Secrets, codes and the replay rule; the store keeps the last
//! accepted step.

use crate::error::{DomainError, DomainResult};
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// Who issues the codes, as authenticator apps show it.
pub const ISSUER: &str = "Switchboard";
/// Seconds per step.
pub const STEP_SECS: u64 = 30;
/// A challenge's life, and how many codes may be tried against it.
pub const CHALLENGE_SECS: i64 = 300;
pub const CHALLENGE_TRIES: i32 = 5;
/// Recovery codes given at once.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code (shown as two groups of five).
const RECOVERY_CHARS: usize = 10;
/// Lower-case base32 without the look-alikes of other characters' (no 0, 1, 8, 9).
const RECOVERY_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A fresh random secret (160 bits), base32 as apps take it.
pub fn new_secret() -> String {
    Secret::generate().to_base32()
}

fn totp(secret_b32: &str, account: &str) -> DomainResult<Totp> {
    let secret = Secret::try_from_base32(secret_b32).map_err(|_| DomainError::Internal("a stored TOTP secret is not base32".into()))?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP_SECS)
        .with_secret(secret)
        // The otpauth label is `issuer:account`: a colon in the account would break it.
        .with_account_name(account.replace(':', "_"))
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| DomainError::Internal(format!("TOTP: {e}")))
}

/// The `otpauth://` URL an authenticator app scans.
pub fn otpauth_url(secret_b32: &str, account: &str) -> DomainResult<String> {
    totp(secret_b32, account)?.to_url().map_err(|e| DomainError::Internal(format!("TOTP: {e}")))
}

/// The step a `code` proves at `unix_secs` (one step of skew either way), if it is newer
/// than `last_step`, the newest step accepted before: a code is good once. Spaces are
/// ignored; anything but six digits is simply wrong.
pub fn accepted_step(secret_b32: &str, code: &str, unix_secs: u64, last_step: Option<u64>) -> DomainResult<Option<u64>> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let totp = totp(secret_b32, "user")?;
    let origin = unix_secs / STEP_SECS;
    // Newest first, so that of two matching steps the replay check sees the newer.
    let step = (origin.saturating_sub(1)..=origin + 1).rev().find(|s| totp.generate(s * STEP_SECS).to_string() == code);
    Ok(step.filter(|s| last_step.is_none_or(|last| *s > last)))
}

/// A new recovery code from 10 random bytes: `xxxxx-xxxxx`.
pub fn recovery_code(random: [u8; RECOVERY_CHARS]) -> String {
    let chars: String = random.iter().map(|b| RECOVERY_ALPHABET[(*b as usize) % RECOVERY_ALPHABET.len()] as char).collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// A recovery code as typed, in the one form whose hash is kept (lower case, no spaces or
/// dashes); `None` when it cannot be one.
pub fn normalize_recovery_code(typed: &str) -> Option<String> {
    let code: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_lowercase).collect();
    (code.len() == RECOVERY_CHARS && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))).then_some(code)
}

/// Two-factor may be turned off unless the team requires it.
pub fn may_disable(team_requires: bool) -> DomainResult<()> {
    if team_requires {
        return Err(DomainError::Conflict("your team requires two-factor sign-in: it cannot be turned off".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B's SHA1 secret ("12345678901234567890") in base32.
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    fn code_at(secs: u64) -> String {
        totp(RFC_SECRET, "a@b.test").unwrap().generate(secs).to_string()
    }

    #[test]
    fn codes_follow_rfc_6238() {
        // Appendix B: T = 59 s gives 94287082 on 8 digits; on 6 digits its last six.
        assert_eq!(code_at(59), "287082");
        assert_eq!(code_at(1_111_111_109), "081804");
    }

    #[test]
    fn the_window_is_one_step_either_way() {
        let now = 1_700_000_015; // inside step 56_666_667
        let step = now / STEP_SECS;
        for (offset, accepted) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let at = (now as i64 + offset * STEP_SECS as i64) as u64;
            let got = accepted_step(RFC_SECRET, &code_at(at), now, None).unwrap();
            assert_eq!(got.is_some(), accepted, "offset {offset}");
            if accepted {
                assert_eq!(got, Some((step as i64 + offset) as u64));
            }
        }
        assert_eq!(accepted_step(RFC_SECRET, "12345", now, None).unwrap(), None, "five digits");
        assert_eq!(accepted_step(RFC_SECRET, "abcdef", now, None).unwrap(), None);
        let spaced = code_at(now);
        let spaced = format!("{} {}", &spaced[..3], &spaced[3..]);
        assert!(accepted_step(RFC_SECRET, &spaced, now, None).unwrap().is_some(), "spaces are ignored");
    }

    #[test]
    fn a_code_is_good_once() {
        let now = 1_700_000_015;
        let step = now / STEP_SECS;
        let code = code_at(now);
        assert_eq!(accepted_step(RFC_SECRET, &code, now, Some(step - 1)).unwrap(), Some(step));
        assert_eq!(accepted_step(RFC_SECRET, &code, now, Some(step)).unwrap(), None, "the same step again");
        assert_eq!(accepted_step(RFC_SECRET, &code_at(now - 30), now, Some(step)).unwrap(), None, "an older step");
        assert_eq!(accepted_step(RFC_SECRET, &code_at(now + 30), now, Some(step)).unwrap(), Some(step + 1));
    }

    #[test]
    fn recovery_codes_have_one_form() {
        let code = recovery_code([0, 1, 2, 3, 4, 31, 32, 255, 100, 7]);
        assert_eq!(code, "abcde-7a7eh");
        assert_eq!(normalize_recovery_code(&code).as_deref(), Some("abcde7a7eh"));
        assert_eq!(normalize_recovery_code(" ABCDE 7A7EH ").as_deref(), Some("abcde7a7eh"));
        assert_eq!(normalize_recovery_code("abcde-7a7e"), None, "too short");
        assert_eq!(normalize_recovery_code("abcde-7a7e1"), None, "1 is not in the alphabet");
        assert_eq!(normalize_recovery_code("123456"), None, "a TOTP code is not a recovery code");
    }

    #[test]
    fn secrets_are_random_base32_and_make_an_otpauth_url() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32, "160 bits");
        let url = otpauth_url(&a, "ana:x@acme.test").unwrap();
        assert!(url.starts_with("otpauth://totp/Switchboard:ana_x%40acme.test?"), "{url}");
        assert!(url.contains(&format!("secret={a}")) && url.contains("issuer=Switchboard"), "{url}");
        assert!(may_disable(false).is_ok());
        assert!(matches!(may_disable(true), Err(DomainError::Conflict(_))));
    }
}
