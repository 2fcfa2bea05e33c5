//! Twilio auth tokens at rest: sealed with AES-256-GCM under a key that lives outside the
//! database (`SECRET_KEY`, or a key file generated on first run), so a copy of the database
//! (a backup, a replica, a leaked dump) does not hand out every team's Twilio account.
//!
//! A sealed value is `v1:` + base64(nonce ‖ ciphertext); a value without the prefix is a token
//! stored before encryption existed, read as is and sealed at the next start (`seal_legacy`).

use super::StoreError;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::path::Path;

const PREFIX: &str = "v1:";

/// Seals and opens secrets with one key.
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    /// A sealer for a 32-byte key.
    pub fn new(key: &[u8; 32]) -> Sealer {
        Sealer { cipher: Aes256Gcm::new(key.into()) }
    }

    /// A sealer with a fresh random key (tests, and a store built on a bare pool).
    pub fn random() -> Sealer {
        Sealer::new(&rand::random::<[u8; 32]>())
    }

    /// Encrypts `plain` with a fresh nonce.
    pub fn seal(&self, plain: &str) -> String {
        let nonce_bytes = rand::random::<[u8; 12]>();
        let sealed = self.cipher.encrypt(&Nonce::from(nonce_bytes), plain.as_bytes()).expect("AES-GCM encrypts any input");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    /// Decrypts a stored value; a value from before encryption is returned as is.
    pub fn open(&self, stored: &str) -> Result<String, StoreError> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else { return Ok(stored.to_owned()) };
        let wrong = || {
            StoreError::internal("a sealed secret does not open with this key: is SECRET_KEY (or the key file) the one it was sealed with?")
        };
        let raw = STANDARD.decode(encoded).map_err(|_| wrong())?;
        if raw.len() < 12 {
            return Err(wrong());
        }
        let (nonce, sealed) = raw.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| wrong())?;
        let plain = self.cipher.decrypt(&Nonce::from(nonce), sealed).map_err(|_| wrong())?;
        String::from_utf8(plain).map_err(|_| wrong())
    }

    /// Whether a stored value is sealed.
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }
}

/// Why the key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("SECRET_KEY must be 32 bytes, base64 or hex encoded")]
    BadSecretKey,
    #[error("the key file {0} does not hold a 32-byte base64 key")]
    BadKeyFile(String),
    #[error("cannot read or create the key file {0}: {1}")]
    Io(String, std::io::Error),
}

/// The key from `secret_key` (base64 or hex), else from `key_file`, which is created with a new
/// random key (readable by its owner only) when it does not exist.
pub fn load_key(secret_key: Option<&str>, key_file: &Path) -> Result<[u8; 32], KeyError> {
    if let Some(given) = secret_key.map(str::trim).filter(|k| !k.is_empty()) {
        return parse_key(given).ok_or(KeyError::BadSecretKey);
    }
    let shown = key_file.display().to_string();
    match std::fs::read_to_string(key_file) {
        Ok(text) => parse_key(text.trim()).ok_or(KeyError::BadKeyFile(shown)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = rand::random::<[u8; 32]>();
            write_key_file(key_file, &key).map_err(|e| KeyError::Io(shown.clone(), e))?;
            tracing::info!(file = %shown, "generated the key that seals Twilio auth tokens: keep this file (and back it up) or set SECRET_KEY");
            // Several nodes or tests may start at once: whoever wrote first wins, all read it.
            let text = std::fs::read_to_string(key_file).map_err(|e| KeyError::Io(shown.clone(), e))?;
            parse_key(text.trim()).ok_or(KeyError::BadKeyFile(shown))
        }
        Err(e) => Err(KeyError::Io(shown, e)),
    }
}

/// Writes a key file that only its owner may read, without replacing an existing one.
pub fn write_key_file(path: &Path, key: &[u8; 32]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => file.write_all(format!("{}\n", STANDARD.encode(key)).as_bytes()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn parse_key(text: &str) -> Option<[u8; 32]> {
    let bytes = STANDARD.decode(text).ok().filter(|b| b.len() == 32).or_else(|| hex::decode(text).ok().filter(|b| b.len() == 32))?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_tokens_open_with_their_key_only() {
        let sealer = Sealer::random();
        let sealed = sealer.seal("0123456789abcdef0123456789abcdef");
        assert!(Sealer::is_sealed(&sealed));
        assert!(!sealed.contains("0123456789abcdef"));
        assert_ne!(sealed, sealer.seal("0123456789abcdef0123456789abcdef"), "a fresh nonce each time");
        assert_eq!(sealer.open(&sealed).unwrap(), "0123456789abcdef0123456789abcdef");
        assert!(Sealer::random().open(&sealed).is_err(), "another key cannot open it");
        assert_eq!(sealer.open("legacy-plaintext").unwrap(), "legacy-plaintext");
    }

    #[test]
    fn keys_come_from_the_environment_or_a_file_made_once() {
        let dir = std::env::temp_dir().join(format!("sb-key-{}", uuid::Uuid::new_v4().simple()));
        let file = dir.join("secret.key");
        let first = load_key(None, &file).unwrap();
        assert_eq!(load_key(None, &file).unwrap(), first, "the file is reused");
        let hex_key = hex::encode([7u8; 32]);
        assert_eq!(load_key(Some(&hex_key), &file).unwrap(), [7u8; 32], "SECRET_KEY wins");
        assert!(load_key(Some("short"), &file).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
