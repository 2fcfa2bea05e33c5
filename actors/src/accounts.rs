//! The accounts service: sign-up, sessions, API tokens and invites, with their rules applied
//! once. Secrets reach it only as hashes: the edge makes the random token, hashes it (and the
//! password, off the async threads) and shows the token once.

use crate::audit::{Actor, Client, NewAuditEntry};
use crate::domain::{Role, User};
use crate::error::{DomainError, DomainResult};
use crate::ids::{InviteId, TeamId, TokenId, UserId};
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
    pub async fn sign_up(&self, account: NewAccount, client: &Client) -> DomainResult<Principal> {
        rules::person_name(&account.name)?;
        if let Some(team) = &account.team_name {
            rules::team_name(team)?;
        }
        self.store.create_account(account, client).await.map_err(|e| match e {
            DomainError::NotFound(_) => DomainError::invalid("invite", "is unknown, used, revoked or expired"),
            e => e,
        })
    }

    /// Records an event that changes nothing else (sign-in, sign-out, an export). The event has
    /// happened either way: a store that cannot take the entry is logged, never answered.
    pub async fn record(&self, entry: NewAuditEntry) {
        crate::audit::record(&*self.store, entry).await
    }

    /// Records what `actor` did to a target of their team.
    pub async fn record_by(
        &self,
        actor: &Actor,
        action: &'static str,
        target_type: &'static str,
        target_id: Option<String>,
        details: serde_json::Value,
    ) {
        self.record(NewAuditEntry::by(actor, action, target_type, target_id, details)).await
    }

    /// Records a failed sign-in for `email`: in the account's team when there is one.
    pub async fn record_sign_in_failure(&self, email: &str, team: Option<TeamId>, user: Option<UserId>, client: &Client) {
        self.record(NewAuditEntry {
            team,
            actor: user,
            action: "sign_in.failed",
            target_type: "user",
            target_id: user.map(|u| u.to_string()),
            client: client.clone(),
            details: serde_json::json!({ "email": email }),
        })
        .await
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

    /// Starts the second step of a sign-in (two-factor): a challenge known by its hash.
    /// `first_factor` (how the first step was passed) comes back with the challenge, for the audit.
    pub async fn start_challenge(
        &self,
        user: UserId,
        id_hash: &[u8],
        expires_at: OffsetDateTime,
        first_factor: &serde_json::Value,
    ) -> DomainResult<()> {
        self.store.create_challenge(user, id_hash, expires_at, first_factor).await
    }

    /// Counts a try of a challenge; its user while it is live (see `TwoFactorStore::try_challenge`).
    pub async fn try_challenge(&self, id_hash: &[u8]) -> DomainResult<Option<(Principal, serde_json::Value)>> {
        self.store.try_challenge(id_hash).await
    }

    /// Uses a challenge up; false when another request did first.
    pub async fn finish_challenge(&self, id_hash: &[u8]) -> DomainResult<bool> {
        self.store.finish_challenge(id_hash).await
    }

    /// Uses one of the user's recovery codes (audited); false when unknown or used.
    pub async fn use_recovery_code(&self, user: UserId, client: &Client, hash: &[u8]) -> DomainResult<bool> {
        self.store.use_recovery_code(user, client, hash).await
    }

    /// Ends a session (signing out, or rotating at sign-in).
    pub async fn end_session(&self, id_hash: &[u8]) -> DomainResult<()> {
        self.store.revoke_session(id_hash).await
    }

    /// Stores an API token for `user` under a name of 1 to 100 characters, expiring as asked
    /// (a day to ten years ahead) or never.
    pub async fn create_token(&self, by: &Actor, name: &str, expiry: rules::TokenExpiry, token_hash: &[u8]) -> DomainResult<ApiToken> {
        let name = rules::label("name", name, rules::MAX_TOKEN_NAME_CHARS)?;
        let expires_at = expiry.resolve(crate::clock::now())?;
        self.store.create_token(by, &name, token_hash, expires_at).await
    }

    /// Revokes an API token at once: one of `by`'s own, or (admins) any of the team's. Someone
    /// else's token (for an agent), another team's, a missing or an already revoked one is "token
    /// not found", never saying which.
    /// Answers the token's hash, so its open sockets can be closed.
    pub async fn revoke_token(&self, by: &Actor, id: TokenId) -> DomainResult<Vec<u8>> {
        let owner = rules::token_owner(&by.user, by.user.role == Role::Admin)?;
        self.store.revoke_token(by, id, owner).await.map_err(|e| match e {
            DomainError::NotFound(_) => DomainError::NotFound("token"),
            e => e,
        })
    }

    /// Invites someone (bound to `email` when given) to `by`'s team, open for `days` (see
    /// `rules::invite_days`).
    pub async fn invite(&self, by: &Actor, email: Option<&str>, role: Role, days: Option<i64>, token_hash: &[u8]) -> DomainResult<Invite> {
        by.require_admin("only admins may manage invites")?;
        let email = email.filter(|e| !e.trim().is_empty()).map(rules::account_email).transpose()?;
        let expires_at = crate::clock::now() + time::Duration::days(rules::invite_days(days)?);
        self.store.create_invite(by, email.as_deref(), role, token_hash, expires_at).await
    }

    /// Revokes an open invite: its link stops working at once.
    pub async fn revoke_invite(&self, by: &Actor, id: InviteId) -> DomainResult<()> {
        by.require_admin("only admins may manage invites")?;
        self.store.revoke_invite(by, id).await
    }

    /// Re-sends an open (or expired) invite: a new link, open for `days` again; the old link
    /// stops working.
    pub async fn renew_invite(&self, by: &Actor, id: InviteId, days: Option<i64>, token_hash: &[u8]) -> DomainResult<Invite> {
        by.require_admin("only admins may manage invites")?;
        let expires_at = crate::clock::now() + time::Duration::days(rules::invite_days(days)?);
        self.store.renew_invite(by, id, token_hash, expires_at).await
    }
}
