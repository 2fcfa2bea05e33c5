//! Phone numbers: everything is stored and compared as E.164.

use crate::error::DomainError;

/// Normalizes a phone number to E.164 (`+14155550100`). A `whatsapp:` prefix (Twilio's WhatsApp
/// addresses) is stripped first. Numbers without a country code are read as `default_region`.
pub fn normalize(raw: &str, default_region: Option<phonenumber::country::Id>) -> Result<String, DomainError> {
    let trimmed = raw.trim();
    let trimmed = trimmed.strip_prefix("whatsapp:").unwrap_or(trimmed).trim();
    if trimmed.is_empty() {
        return Err(DomainError::invalid("phone", "is empty"));
    }
    let parsed = phonenumber::parse(default_region, trimmed)
        .map_err(|e| DomainError::invalid("phone", format!("{trimmed:?} is not a phone number ({e})")))?;
    if !phonenumber::is_valid(&parsed) {
        return Err(DomainError::invalid("phone", format!("{trimmed:?} is not a valid phone number")));
    }
    Ok(parsed.format().mode(phonenumber::Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_to_e164() {
        assert_eq!(normalize("+1 (415) 555-2671", None).unwrap(), "+14155552671");
        assert_eq!(normalize("whatsapp:+447911123456", None).unwrap(), "+447911123456");
        assert_eq!(normalize("415 555 2671", Some(phonenumber::country::Id::US)).unwrap(), "+14155552671");
    }

    #[test]
    fn refuses_nonsense() {
        assert!(normalize("", None).is_err());
        assert!(normalize("hello", None).is_err());
        assert!(normalize("+1 555", None).is_err());
    }
}
