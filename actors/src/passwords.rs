//! The passwords service: changing one's password, reset links (mailed, or made by an admin to
//! hand over), sign-ups waiting for their e-mail to be confirmed, and purging what has expired.
//! As in `accounts`, secrets reach it only as hashes: the edge makes the random tokens, hashes
//! passwords off the async threads, checks the current password and mails the links.

use crate::audit::{Actor, Client};
use crate::domain::Role;
use crate::error::{DomainError, DomainResult};
use crate::ids::UserId;
use crate::ports::{AccountStore, PendingSignUp, Principal};
use crate::rules;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// Passwords and e-mail confirmed sign-ups.
pub struct Passwords {
    store: Arc<dyn AccountStore>,
}

impl Passwords {
    /// The service over `store`.
    pub fn new(store: Arc<dyn AccountStore>) -> Self {
        Passwords { store }
    }

    /// Sets `by`'s new password (its hash; the edge has checked the current one and the policy)
    /// and ends their other sessions. Answers the ended sessions, whose sockets must close.
    pub async fn change(&self, by: &Actor, password_hash: &str, current_session: Option<&[u8]>) -> DomainResult<Vec<Vec<u8>>> {
        self.store.change_password(by, password_hash, current_session).await
    }

    /// A reset link for `user`, who asked for it: answers when it expires, or `None` when the
    /// user has asked too often this hour (nothing is made; the caller answers the same).
    pub async fn request_reset(&self, user: UserId, token_hash: &[u8], client: &Client) -> DomainResult<Option<OffsetDateTime>> {
        let expires_at = crate::clock::now() + Duration::minutes(rules::RESET_LINK_MINUTES);
        let made = self.store.create_password_reset(user, token_hash, expires_at, None, client, rules::RESET_LINKS_PER_HOUR).await?;
        Ok(made.then_some(expires_at))
    }

    /// A reset link an admin makes for a member of their team, to hand over (when no mail is
    /// sent, or it does not arrive). Admins only; another team's user is "member not found".
    pub async fn admin_reset_link(&self, by: &Actor, member: UserId, token_hash: &[u8]) -> DomainResult<OffsetDateTime> {
        if by.user.role != Role::Admin {
            return Err(DomainError::Forbidden("only admins may make reset links"));
        }
        let members = self.store.team_members(by.team()).await?;
        if !members.iter().any(|m| m.user.id == member && m.active) {
            return Err(DomainError::NotFound("member"));
        }
        let expires_at = crate::clock::now() + Duration::hours(rules::ADMIN_RESET_LINK_HOURS);
        if !self.store.create_password_reset(member, token_hash, expires_at, Some(by), &by.client, rules::RESET_LINKS_PER_HOUR).await? {
            return Err(DomainError::TooManyAttempts { retry_after: 3600 });
        }
        Ok(expires_at)
    }

    /// Who a live reset link is for (the reset page names them; the policy needs their name).
    pub async fn reset_user(&self, token_hash: &[u8]) -> DomainResult<Option<Principal>> {
        self.store.password_reset_user(token_hash).await
    }

    /// Uses a reset link: the new password, every session ended, the sign-in hold lifted.
    /// An unknown, used or expired link is an invalid `token`.
    pub async fn reset(&self, token_hash: &[u8], password_hash: &str, client: &Client) -> DomainResult<(Principal, Vec<Vec<u8>>)> {
        self.store
            .reset_password(token_hash, password_hash, client)
            .await?
            .ok_or_else(|| DomainError::invalid("token", "this reset link is unknown, used or expired: ask for a new one"))
    }

    /// Keeps a sign-up until the link mailed to its address is opened.
    pub async fn hold_sign_up(&self, token_hash: &[u8], sign_up: &PendingSignUp) -> DomainResult<()> {
        let expires_at = crate::clock::now() + Duration::hours(rules::SIGN_UP_CONFIRM_HOURS);
        self.store.create_pending_sign_up(token_hash, sign_up, expires_at).await
    }

    /// The sign-up a confirmation link names (once). An unknown, used or expired link is an
    /// invalid `token`.
    pub async fn take_sign_up(&self, token_hash: &[u8]) -> DomainResult<PendingSignUp> {
        self.store
            .take_pending_sign_up(token_hash)
            .await?
            .ok_or_else(|| DomainError::invalid("token", "this confirmation link is unknown, used or expired: sign up again"))
    }

    /// Deletes expired sessions, links, challenges and dead tokens; answers how many rows.
    pub async fn purge_expired(&self) -> DomainResult<u64> {
        self.store.purge_expired().await
    }
}
