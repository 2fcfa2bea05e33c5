//! `PasswordStore` in memory, with the Postgres store's semantics: a changed or reset password
//! ends the sessions it must, reset links by hash expire and are used once (using one uses up
//! every open link of the user), at most N links per user per hour, pending sign-ups taken
//! once; changes audit-logged.

use super::{MemoryStore, now};
use crate::audit::{Actor, Client};
use crate::error::{DomainError, DomainResult};
use crate::ids::UserId;
use crate::ports::{PasswordStore, PendingSignUp, Principal};
use async_trait::async_trait;
use serde_json::json;
use time::{Duration, OffsetDateTime};

pub(super) struct ResetRow {
    user: UserId,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    used: bool,
}

impl super::State {
    /// Ends every live session of `user` but `keep`; answers the ended ones' hashes.
    fn end_sessions(&mut self, user: UserId, keep: Option<&[u8]>) -> Vec<Vec<u8>> {
        let now = now();
        let mut ended = vec![];
        for (hash, row) in self.sessions.iter_mut() {
            if row.user == user && !row.revoked && row.expires_at > now && keep != Some(hash.as_slice()) {
                row.revoked = true;
                ended.push(hash.clone());
            }
        }
        ended
    }
}

#[async_trait]
impl PasswordStore for MemoryStore {
    async fn change_password(&self, by: &Actor, password_hash: &str, keep_session: Option<&[u8]>) -> DomainResult<Vec<Vec<u8>>> {
        self.enter("change_password").await?;
        let mut s = self.state();
        let row = s.users.get_mut(&by.user.id).filter(|u| u.deactivated_at.is_none()).ok_or(DomainError::NotFound("user"))?;
        row.password_hash = Some(password_hash.to_owned());
        let ended = s.end_sessions(by.user.id, keep_session);
        let details = json!({ "sessions_ended": ended.len() });
        s.audit_push(Some(by.team()), Some(by.user.id), "password.changed", "user", Some(by.user.id.to_string()), &by.client, details);
        Ok(ended)
    }

    async fn create_password_reset(
        &self,
        user: UserId,
        token_hash: &[u8],
        expires_at: OffsetDateTime,
        by: Option<&Actor>,
        client: &Client,
        max_per_hour: i64,
    ) -> DomainResult<bool> {
        self.enter("create_password_reset").await?;
        let mut s = self.state();
        let team = s.principal(user)?.team.id;
        let hour_ago = now() - Duration::hours(1);
        if s.password_resets.values().filter(|r| r.user == user && r.created_at > hour_ago).count() as i64 >= max_per_hour {
            return Ok(false);
        }
        s.password_resets.insert(token_hash.to_vec(), ResetRow { user, created_at: now(), expires_at, used: false });
        let (actor, action, client) = match by {
            Some(admin) => (admin.user.id, "password.reset_link_created", &admin.client),
            None => (user, "password.reset_requested", client),
        };
        s.audit_push(Some(team), Some(actor), action, "user", Some(user.to_string()), client, json!({ "expires_at": expires_at }));
        Ok(true)
    }

    async fn password_reset_user(&self, token_hash: &[u8]) -> DomainResult<Option<Principal>> {
        self.enter("password_reset_user").await?;
        let s = self.state();
        let live = s.password_resets.get(token_hash).filter(|r| !r.used && r.expires_at > now());
        Ok(live.and_then(|r| s.principal(r.user).ok()))
    }

    async fn reset_password(
        &self,
        token_hash: &[u8],
        password_hash: &str,
        client: &Client,
    ) -> DomainResult<Option<(Principal, Vec<Vec<u8>>)>> {
        self.enter("reset_password").await?;
        let mut s = self.state();
        let Some(user) = s.password_resets.get(token_hash).filter(|r| !r.used && r.expires_at > now()).map(|r| r.user) else {
            return Ok(None);
        };
        let Ok(p) = s.principal(user) else { return Ok(None) };
        s.password_resets.values_mut().filter(|r| r.user == user).for_each(|r| r.used = true);
        if let Some(row) = s.users.get_mut(&user) {
            row.password_hash = Some(password_hash.to_owned());
        }
        let ended = s.end_sessions(user, None);
        s.sign_in_failures.remove(&p.user.email);
        let details = json!({ "sessions_ended": ended.len() });
        s.audit_push(Some(p.team.id), Some(user), "password.reset", "user", Some(user.to_string()), client, details);
        Ok(Some((p, ended)))
    }

    async fn create_pending_sign_up(&self, token_hash: &[u8], sign_up: &PendingSignUp, expires_at: OffsetDateTime) -> DomainResult<()> {
        self.enter("create_pending_sign_up").await?;
        self.state().pending_sign_ups.insert(token_hash.to_vec(), (sign_up.clone(), expires_at));
        Ok(())
    }

    async fn take_pending_sign_up(&self, token_hash: &[u8]) -> DomainResult<Option<PendingSignUp>> {
        self.enter("take_pending_sign_up").await?;
        let taken = self.state().pending_sign_ups.remove(token_hash);
        Ok(taken.filter(|(_, expires_at)| *expires_at > now()).map(|(sign_up, _)| sign_up))
    }

    async fn purge_expired(&self) -> DomainResult<u64> {
        self.enter("purge_expired").await?;
        let mut s = self.state();
        let now = now();
        let before = s.sessions.len() + s.password_resets.len() + s.pending_sign_ups.len() + s.oidc_logins.len();
        s.sessions.retain(|_, r| r.expires_at > now && !r.revoked);
        s.password_resets.retain(|_, r| r.expires_at > now - Duration::days(1));
        s.pending_sign_ups.retain(|_, (_, expires_at)| *expires_at > now);
        s.oidc_logins.retain(|_, (l, _)| l.expires_at > now);
        Ok((before - s.sessions.len() - s.password_resets.len() - s.pending_sign_ups.len() - s.oidc_logins.len()) as u64)
    }
}
