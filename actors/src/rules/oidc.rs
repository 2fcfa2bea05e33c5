//! Sign-in with an OIDC provider: how long a started sign-in lives, whom it may sign in, the
//! name of an account it creates, and when an identity may be unlinked.

use crate::error::{DomainError, DomainResult};

/// Seconds a sign-in started at the provider stays good.
pub const LOGIN_SECS: i64 = 600;

/// Why a sign-in with the provider signs nobody in (the edge shows each as its own message).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The provider did not say the email is verified: nobody is matched by it.
    EmailUnverified,
    /// No linked identity, no account with that email and no invite: nobody to sign in (no
    /// team is ever created by signing in with the provider).
    NoAccount,
    /// The account is deactivated or removed.
    Deactivated,
    /// The invite the sign-in came with is used, revoked, expired or for another email.
    Invite,
}

impl Refusal {
    /// The code the sign-in page maps to a message (`/sign-in?error=`).
    pub fn code(self) -> &'static str {
        match self {
            Refusal::EmailUnverified => "oidc_email_unverified",
            Refusal::NoAccount => "oidc_no_account",
            Refusal::Deactivated => "oidc_deactivated",
            Refusal::Invite => "oidc_invite",
        }
    }
}

/// Only an email the provider verified identifies anyone.
pub fn verified(email_verified: Option<bool>) -> Result<(), Refusal> {
    if email_verified == Some(true) { Ok(()) } else { Err(Refusal::EmailUnverified) }
}

/// Whether an open invite may be accepted by `email`: an invite bound to an address is for
/// that address only.
pub fn invite_for(bound_to: Option<&str>, email: &str) -> Result<(), Refusal> {
    match bound_to {
        Some(bound) if bound != email => Err(Refusal::Invite),
        _ => Ok(()),
    }
}

/// The name of an account created by signing in: the provider's name when it is a good one,
/// else the email's local part.
pub fn account_name(name: Option<&str>, email: &str) -> String {
    name.and_then(|n| super::person_name(n).ok()).unwrap_or_else(|| {
        let local = email.split('@').next().unwrap_or(email);
        super::person_name(local).unwrap_or_else(|_| "New member".to_owned())
    })
}

/// An identity may be unlinked unless it is the user's last way to sign in: no password and
/// no other identity.
pub fn may_unlink(has_password: bool, identities: i64) -> DomainResult<()> {
    if has_password || identities > 1 {
        Ok(())
    } else {
        Err(DomainError::Conflict("this is your only way to sign in: it cannot be unlinked".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_and_names() {
        assert_eq!(verified(Some(false)), Err(Refusal::EmailUnverified));
        assert_eq!(verified(None), Err(Refusal::EmailUnverified));
        assert!(verified(Some(true)).is_ok());
        assert!(invite_for(None, "a@b.test").is_ok());
        assert!(invite_for(Some("a@b.test"), "a@b.test").is_ok());
        assert_eq!(invite_for(Some("x@b.test"), "a@b.test"), Err(Refusal::Invite));
        assert_eq!(account_name(Some(" Ana Lima "), "a@b.test"), "Ana Lima");
        assert_eq!(account_name(Some("  "), "ana@b.test"), "ana");
        assert_eq!(account_name(None, "ana@b.test"), "ana");
        assert!(may_unlink(true, 1).is_ok());
        assert!(may_unlink(false, 2).is_ok());
        assert!(matches!(may_unlink(false, 1), Err(DomainError::Conflict(_))));
    }
}
