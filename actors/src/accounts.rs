//! The accounts service: sign-up, sessions, API tokens and invites, with their rules applied
//! once. Secrets reach it only as hashes: the edge makes the random token, hashes it (and the
//! password, off the async threads) and shows the token once.

use crate::domain::{Role, User};
use crate::error::{DomainError, DomainResult};
use crate::ids::{TokenId, UserId};
use crate::ports::{AccountStore, ApiToken, Invite, NewAccount, Principal};
use crate::rules;
use std::sync::Arc;
use time::OffsetDateTime;

/// Accounts, sessions, tokens and invites.
pub struct Accounts {
    store: Arc<dyn AccountStore>,
}

impl Accounts {
    /// The service over `store`.
    pub fn new(store: Arc<dyn AccountStore>) -> Self {
        Accounts { store }
    }

    /// Creates a team with its first admin, or joins an invite's team. An unknown, used or
    /// expired invite is an invalid `invite`.
    pub async fn sign_up(&self, account: NewAccount) -> DomainResult<Principal> {
        rules::person_name(&account.name)?;
        if let Some(team) = &account.team_name {
            rules::team_name(team)?;
        }
        self.store.create_account(account).await.map_err(|e| match e {
            DomainError::NotFound(_) => DomainError::invalid("invite", "is unknown, used or expired"),
            e => e,
        })
    }

    /// Starts a session known by the hash of its id.
    pub async fn start_session(&self, user: UserId, id_hash: &[u8], expires_at: OffsetDateTime) -> DomainResult<()> {
        self.store.create_session(user, id_hash, expires_at).await
    }

    /// Whether `email` may try to sign in now: not while it is held back after failed attempts,
    /// unless the request comes from a device the account signed in from before (a stranger
    /// guessing the password never locks the real user out of their own device).
    pub async fn may_try_sign_in(&self, email: &str, device_hash: Option<&[u8]>) -> DomainResult<()> {
        let Some(until) = self.store.sign_in_blocked_until(email).await? else { return Ok(()) };
        let now = crate::clock::now();
        if until <= now {
            return Ok(());
        }
        if let Some(device) = device_hash
            && self.store.is_known_device(email, device).await?
        {
            return Ok(());
        }
        Err(DomainError::TooManyAttempts { retry_after: (until - now).whole_seconds().max(1) as u64 })
    }

    /// Counts a failed sign-in and holds the account back as the rules say.
    pub async fn sign_in_failed(&self, email: &str) -> DomainResult<()> {
        let failures = self.store.record_sign_in_failure(email).await?;
        if let Some(wait) = rules::sign_in_backoff(failures) {
            self.store.block_sign_in(email, crate::clock::now() + wait).await?;
        }
        Ok(())
    }

    /// A successful sign-in: the failures are forgotten and the device remembered.
    pub async fn signed_in(&self, user: &User, device_hash: &[u8]) -> DomainResult<()> {
        self.store.clear_sign_in_failures(&user.email).await?;
        self.store.remember_device(user.id, device_hash).await
    }

    /// Ends a session (signing out, or rotating at sign-in).
    pub async fn end_session(&self, id_hash: &[u8]) -> DomainResult<()> {
        self.store.revoke_session(id_hash).await
    }

    /// Stores an API token for `user` under a name of 1 to 100 characters, expiring as asked
    /// (a day to ten years ahead) or never.
    pub async fn create_token(&self, user: &User, name: &str, expiry: rules::TokenExpiry, token_hash: &[u8]) -> DomainResult<ApiToken> {
        let name = rules::label("name", name, rules::MAX_TOKEN_NAME_CHARS)?;
        let expires_at = expiry.resolve(crate::clock::now())?;
        self.store.create_token(user, &name, token_hash, expires_at).await
    }

    /// Revokes an API token at once: one of `by`'s own, or (admins) any of the team's. Someone
    /// else's token (for an agent), another team's, a missing or an already revoked one is "token
    /// not found", never saying which.
    /// Answers the token's hash, so its open sockets can be closed.
    pub async fn revoke_token(&self, by: &User, id: TokenId) -> DomainResult<Vec<u8>> {
        let owner = rules::token_owner(by, by.role == Role::Admin)?;
        self.store.revoke_token(by, id, owner).await.map_err(|e| match e {
            DomainError::NotFound(_) => DomainError::NotFound("token"),
            e => e,
        })
    }

    /// Invites someone (bound to `email` when given) to `by`'s team.
    pub async fn invite(
        &self,
        by: &User,
        email: Option<&str>,
        role: Role,
        token_hash: &[u8],
        expires_at: OffsetDateTime,
    ) -> DomainResult<Invite> {
        let email = email.filter(|e| !e.trim().is_empty()).map(rules::account_email).transpose()?;
        self.store.create_invite(by, email.as_deref(), role, token_hash, expires_at).await
    }
}
