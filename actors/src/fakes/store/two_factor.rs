//! `TwoFactorStore` in memory, with the Postgres store's semantics: one secret per user (a new
//! setup replaces a pending one, never an enabled one), a step accepted only when newer than the
//! last, recovery codes single use, challenges by hash with a few tries and single use, the
//! team's requirement checked when turning off; changes audit-logged.

use super::{MemoryStore, now};
use crate::audit::{Actor, Client};
use crate::error::{DomainError, DomainResult};
use crate::ids::UserId;
use crate::ports::{Principal, TwoFactorState, TwoFactorStore};
use crate::rules::totp::CHALLENGE_TRIES;
use async_trait::async_trait;
use serde_json::json;
use std::collections::HashMap;
use time::OffsetDateTime;

pub(super) struct TwoFactorRow {
    secret: String,
    enabled: bool,
    last_step: Option<u64>,
    /// Recovery code hash → used.
    codes: HashMap<Vec<u8>, bool>,
}

impl TwoFactorRow {
    pub(super) fn enabled(&self) -> bool {
        self.enabled
    }
}

pub(super) struct ChallengeRow {
    user: UserId,
    expires_at: OffsetDateTime,
    first_factor: serde_json::Value,
    attempts: i32,
    used: bool,
}

fn codes(hashes: &[Vec<u8>]) -> HashMap<Vec<u8>, bool> {
    hashes.iter().map(|h| (h.clone(), false)).collect()
}

#[async_trait]
impl TwoFactorStore for MemoryStore {
    async fn two_factor(&self, user: UserId) -> DomainResult<TwoFactorState> {
        self.enter("two_factor").await?;
        let s = self.state();
        let team = s.users.get(&user).ok_or(DomainError::NotFound("user"))?.user.team_id;
        let row = s.two_factor.get(&user);
        Ok(TwoFactorState {
            secret: row.map(|r| r.secret.clone()),
            enabled: row.is_some_and(|r| r.enabled),
            last_step: row.and_then(|r| r.last_step),
            team_requires: s.two_factor_teams.contains(&team),
            recovery_codes_left: row.map_or(0, |r| r.codes.values().filter(|used| !**used).count() as i64),
        })
    }

    async fn begin_two_factor(&self, user: UserId, secret: &str) -> DomainResult<()> {
        self.enter("begin_two_factor").await?;
        let mut s = self.state();
        if s.two_factor.get(&user).is_some_and(|r| r.enabled) {
            return Err(DomainError::Conflict("two-factor sign-in is already on".into()));
        }
        s.two_factor.insert(user, TwoFactorRow { secret: secret.to_owned(), enabled: false, last_step: None, codes: HashMap::new() });
        Ok(())
    }

    async fn enable_two_factor(&self, by: &Actor, step: u64, recovery_hashes: &[Vec<u8>]) -> DomainResult<()> {
        self.enter("enable_two_factor").await?;
        let mut s = self.state();
        let row = s
            .two_factor
            .get_mut(&by.user.id)
            .filter(|r| !r.enabled)
            .ok_or_else(|| DomainError::Conflict("no two-factor setup is pending".into()))?;
        row.enabled = true;
        row.last_step = Some(step);
        row.codes = codes(recovery_hashes);
        s.audit_push(Some(by.team()), Some(by.user.id), "two_factor.enabled", "user", Some(by.user.id.to_string()), &by.client, json!({}));
        Ok(())
    }

    async fn accept_step(&self, user: UserId, step: u64) -> DomainResult<bool> {
        self.enter("accept_step").await?;
        let mut s = self.state();
        let Some(row) = s.two_factor.get_mut(&user) else { return Ok(false) };
        if row.last_step.is_some_and(|last| last >= step) {
            return Ok(false);
        }
        row.last_step = Some(step);
        Ok(true)
    }

    async fn replace_recovery_codes(&self, by: &Actor, recovery_hashes: &[Vec<u8>]) -> DomainResult<()> {
        self.enter("replace_recovery_codes").await?;
        let mut s = self.state();
        let row = s
            .two_factor
            .get_mut(&by.user.id)
            .filter(|r| r.enabled)
            .ok_or_else(|| DomainError::Conflict("two-factor sign-in is off".into()))?;
        row.codes = codes(recovery_hashes);
        let target = Some(by.user.id.to_string());
        s.audit_push(Some(by.team()), Some(by.user.id), "two_factor.recovery_codes_regenerated", "user", target, &by.client, json!({}));
        Ok(())
    }

    async fn use_recovery_code(&self, user: UserId, client: &Client, hash: &[u8]) -> DomainResult<bool> {
        self.enter("use_recovery_code").await?;
        let mut s = self.state();
        let Some(used) = s.two_factor.get_mut(&user).filter(|r| r.enabled).and_then(|r| r.codes.get_mut(hash)).filter(|used| !**used)
        else {
            return Ok(false);
        };
        *used = true;
        let team = s.users.get(&user).map(|u| u.user.team_id);
        s.audit_push(team, Some(user), "two_factor.recovery_code_used", "user", Some(user.to_string()), client, json!({}));
        Ok(true)
    }

    async fn disable_two_factor(&self, by: &Actor) -> DomainResult<()> {
        self.enter("disable_two_factor").await?;
        let mut s = self.state();
        crate::rules::totp::may_disable(s.two_factor_teams.contains(&by.team()))?;
        if s.two_factor.remove(&by.user.id).is_some_and(|r| r.enabled) {
            s.audit_push(
                Some(by.team()),
                Some(by.user.id),
                "two_factor.disabled",
                "user",
                Some(by.user.id.to_string()),
                &by.client,
                json!({}),
            );
        }
        Ok(())
    }

    async fn set_two_factor_required(&self, by: &Actor, required: bool) -> DomainResult<()> {
        self.enter("set_two_factor_required").await?;
        let mut s = self.state();
        let team = by.team();
        let was = if required { !s.two_factor_teams.insert(team) } else { s.two_factor_teams.remove(&team) };
        if was != required {
            let details = json!({ "required": required });
            s.audit_push(
                Some(team),
                Some(by.user.id),
                "team.two_factor_required_changed",
                "team",
                Some(team.to_string()),
                &by.client,
                details,
            );
        }
        Ok(())
    }

    async fn create_challenge(
        &self,
        user: UserId,
        id_hash: &[u8],
        expires_at: OffsetDateTime,
        first_factor: &serde_json::Value,
    ) -> DomainResult<()> {
        self.enter("create_challenge").await?;
        let row = ChallengeRow { user, expires_at, first_factor: first_factor.clone(), attempts: 0, used: false };
        self.state().challenges.insert(id_hash.to_vec(), row);
        Ok(())
    }

    async fn try_challenge(&self, id_hash: &[u8]) -> DomainResult<Option<(Principal, serde_json::Value)>> {
        self.enter("try_challenge").await?;
        let mut s = self.state();
        let now = now();
        let Some(c) = s.challenges.get_mut(id_hash).filter(|c| !c.used && c.expires_at > now && c.attempts < CHALLENGE_TRIES) else {
            return Ok(None);
        };
        c.attempts += 1;
        let (user, first_factor) = (c.user, c.first_factor.clone());
        Ok(s.principal(user).ok().map(|p| (p, first_factor)))
    }

    async fn finish_challenge(&self, id_hash: &[u8]) -> DomainResult<bool> {
        self.enter("finish_challenge").await?;
        let mut s = self.state();
        let Some(c) = s.challenges.get_mut(id_hash).filter(|c| !c.used) else { return Ok(false) };
        c.used = true;
        Ok(true)
    }
}
