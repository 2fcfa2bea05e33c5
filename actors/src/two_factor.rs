//! The two-factor service: setting TOTP up, confirming it, checking codes (each step once),
//! recovery codes, turning it off, and the team's requirement. The edge makes the random
//! recovery codes and hands over only their hashes; the rules are in `rules::totp`.

use crate::audit::Actor;
use crate::domain::Role;
use crate::error::{DomainError, DomainResult};
use crate::ids::UserId;
use crate::ports::{AccountStore, TwoFactorState};
use crate::rules::totp;
use std::sync::Arc;

/// A new TOTP setup: the secret and the URL an authenticator app scans.
pub struct Setup {
    pub secret: String,
    pub otpauth_url: String,
}

/// Two-factor sign-in.
pub struct TwoFactor {
    store: Arc<dyn AccountStore>,
}

impl TwoFactor {
    /// The service over `store`.
    pub fn new(store: Arc<dyn AccountStore>) -> Self {
        TwoFactor { store }
    }

    /// A user's two-factor state.
    pub async fn state(&self, user: UserId) -> DomainResult<TwoFactorState> {
        self.store.two_factor(user).await
    }

    /// Starts (or restarts) a setup: a new secret, pending until a code confirms it. Conflict
    /// when two-factor is on already.
    pub async fn setup(&self, by: &Actor) -> DomainResult<Setup> {
        let secret = totp::new_secret();
        let otpauth_url = totp::otpauth_url(&secret, &by.user.email)?;
        self.store.begin_two_factor(by.user.id, &secret).await?;
        Ok(Setup { secret, otpauth_url })
    }

    /// Confirms the pending setup with a code from the app: two-factor is on, with these
    /// recovery codes (hashes). A wrong code is an invalid `code`.
    pub async fn confirm(&self, by: &Actor, code: &str, recovery_hashes: &[Vec<u8>]) -> DomainResult<()> {
        let state = self.store.two_factor(by.user.id).await?;
        let secret = state
            .secret
            .filter(|_| !state.enabled)
            .ok_or_else(|| DomainError::Conflict("no two-factor setup is pending: start one first".into()))?;
        let step = totp::accepted_step(&secret, code, unix_now(), None)?.ok_or_else(wrong_code)?;
        self.store.enable_two_factor(by, step, recovery_hashes).await
    }

    /// Whether `code` is a good TOTP code for `user` now, never seen before (the step is used
    /// up by this call). False when two-factor is off.
    pub async fn check_code(&self, user: UserId, code: &str) -> DomainResult<bool> {
        let state = self.store.two_factor(user).await?;
        let Some(secret) = state.secret.filter(|_| state.enabled) else { return Ok(false) };
        match totp::accepted_step(&secret, code, unix_now(), state.last_step)? {
            Some(step) => self.store.accept_step(user, step).await,
            None => Ok(false),
        }
    }

    /// Replaces the recovery codes, proven with a current code (an invalid `code` otherwise).
    pub async fn regenerate_codes(&self, by: &Actor, code: &str, recovery_hashes: &[Vec<u8>]) -> DomainResult<()> {
        if !self.state(by.user.id).await?.enabled {
            return Err(DomainError::Conflict("two-factor sign-in is off".into()));
        }
        if !self.check_code(by.user.id, code).await? {
            return Err(wrong_code());
        }
        self.store.replace_recovery_codes(by, recovery_hashes).await
    }

    /// Turns two-factor off (the edge checked the password); Conflict while the team requires it.
    pub async fn disable(&self, by: &Actor) -> DomainResult<()> {
        self.store.disable_two_factor(by).await
    }

    /// Whether the team requires two-factor of its members (admins only).
    pub async fn require(&self, by: &Actor, required: bool) -> DomainResult<()> {
        if by.user.role != Role::Admin {
            return Err(DomainError::Forbidden("only admins may change this"));
        }
        // Requiring it without having it would lock the admin out of the switch itself.
        if required && !self.store.two_factor(by.user.id).await?.enabled {
            return Err(DomainError::Conflict("turn on two-factor for yourself before requiring it of the team".into()));
        }
        self.store.set_two_factor_required(by, required).await
    }
}

fn wrong_code() -> DomainError {
    DomainError::invalid("code", "is not the current code of your authenticator app")
}

fn unix_now() -> u64 {
    crate::clock::now().unix_timestamp().max(0) as u64
}
