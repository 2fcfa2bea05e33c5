//! Two-factor sign-in: per user a TOTP secret sealed at rest (as the Twilio tokens, see
//! `secrets.rs`), the last accepted step (a replayed code is refused in the statement that
//! accepts it), recovery codes as hashes (each used once); per team the requirement; sign-in
//! challenges by hash. A person's changes are audit-logged in their own transaction.

use super::members::{audit, refused};
use super::{PgStore, StoreError, op};
use actors::DomainResult;
use actors::audit::{Actor, Client};
use actors::ids::UserId;
use actors::ports::{Principal, TwoFactorState, TwoFactorStore};
use actors::rules::totp::CHALLENGE_TRIES;
use async_trait::async_trait;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

/// Inserts `hashes` as the user's recovery codes, in `tx`, after dropping the old ones.
async fn put_codes(tx: &mut super::Tx<'_>, user: UserId, hashes: &[Vec<u8>]) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM two_factor_recovery_codes WHERE user_id = $1").bind(user.0).execute(tx.conn()).await?;
    sqlx::query(
        "INSERT INTO two_factor_recovery_codes (user_id, code_hash) SELECT $1, h FROM unnest($2::bytea[]) AS h ON CONFLICT DO NOTHING",
    )
    .bind(user.0)
    .bind(hashes)
    .execute(tx.conn())
    .await?;
    Ok(())
}

#[async_trait]
impl TwoFactorStore for PgStore {
    async fn two_factor(&self, user: UserId) -> DomainResult<TwoFactorState> {
        op(async move {
            let row: Option<(Option<String>, bool, Option<i64>, bool, i64)> = sqlx::query_as(
                "SELECT f.secret_sealed, f.enabled_at IS NOT NULL, f.last_step, t.two_factor_required,
                    (SELECT count(*) FROM two_factor_recovery_codes r WHERE r.user_id = u.id AND r.used_at IS NULL)
                 FROM users u JOIN teams t ON t.id = u.team_id LEFT JOIN two_factor f ON f.user_id = u.id
                 WHERE u.id = $1",
            )
            .bind(user.0)
            .fetch_optional(self.db())
            .await?;
            let (sealed, enabled, last_step, team_requires, left) = row.ok_or(StoreError::NotFound("user"))?;
            Ok(TwoFactorState {
                secret: sealed.map(|s| self.sealer.open(&s)).transpose()?,
                enabled,
                last_step: last_step.map(|s| s as u64),
                team_requires,
                recovery_codes_left: left,
            })
        })
        .await
    }

    async fn begin_two_factor(&self, user: UserId, secret: &str) -> DomainResult<()> {
        op(async move {
            let done = sqlx::query(
                "INSERT INTO two_factor AS f (user_id, secret_sealed) VALUES ($1, $2)
                 ON CONFLICT (user_id) DO UPDATE SET secret_sealed = $2, last_step = NULL, created_at = now()
                 WHERE f.enabled_at IS NULL",
            )
            .bind(user.0)
            .bind(self.sealer.seal(secret))
            .execute(self.db())
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Conflict("two-factor sign-in is already on".into()));
            }
            Ok(())
        })
        .await
    }

    async fn enable_two_factor(&self, by: &Actor, step: u64, recovery_hashes: &[Vec<u8>]) -> DomainResult<()> {
        op(async move {
            let mut tx = self.begin().await?;
            let done = sqlx::query("UPDATE two_factor SET enabled_at = now(), last_step = $2 WHERE user_id = $1 AND enabled_at IS NULL")
                .bind(by.user.id.0)
                .bind(step as i64)
                .execute(tx.conn())
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Conflict("no two-factor setup is pending".into()));
            }
            put_codes(&mut tx, by.user.id, recovery_hashes).await?;
            audit(&mut tx, by.team(), by, "two_factor.enabled", "user", by.user.id.to_string(), json!({})).await?;
            tx.commit().await
        })
        .await
    }

    async fn accept_step(&self, user: UserId, step: u64) -> DomainResult<bool> {
        op(async move {
            // The condition is rechecked under the row lock: of two requests with one code, one wins.
            let done = sqlx::query("UPDATE two_factor SET last_step = $2 WHERE user_id = $1 AND (last_step IS NULL OR last_step < $2)")
                .bind(user.0)
                .bind(step as i64)
                .execute(self.db())
                .await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    async fn replace_recovery_codes(&self, by: &Actor, recovery_hashes: &[Vec<u8>]) -> DomainResult<()> {
        op(async move {
            let mut tx = self.begin().await?;
            let on: Option<Uuid> =
                sqlx::query_scalar("SELECT user_id FROM two_factor WHERE user_id = $1 AND enabled_at IS NOT NULL FOR UPDATE")
                    .bind(by.user.id.0)
                    .fetch_optional(tx.conn())
                    .await?;
            if on.is_none() {
                return Err(StoreError::Conflict("two-factor sign-in is off".into()));
            }
            put_codes(&mut tx, by.user.id, recovery_hashes).await?;
            audit(&mut tx, by.team(), by, "two_factor.recovery_codes_regenerated", "user", by.user.id.to_string(), json!({})).await?;
            tx.commit().await
        })
        .await
    }

    async fn use_recovery_code(&self, user: UserId, client: &Client, hash: &[u8]) -> DomainResult<bool> {
        op(async move {
            let mut tx = self.begin().await?;
            let team: Option<Uuid> = sqlx::query_scalar(
                "UPDATE two_factor_recovery_codes r SET used_at = now() FROM users u, two_factor f
                 WHERE r.user_id = $1 AND r.code_hash = $2 AND r.used_at IS NULL
                   AND u.id = r.user_id AND f.user_id = r.user_id AND f.enabled_at IS NOT NULL
                 RETURNING u.team_id",
            )
            .bind(user.0)
            .bind(hash)
            .fetch_optional(tx.conn())
            .await?;
            let Some(team) = team else { return Ok(false) };
            sqlx::query(
                "INSERT INTO audit_log (team_id, actor_id, action, target_type, target_id, ip, user_agent, details)
                 VALUES ($1, $2, 'two_factor.recovery_code_used', 'user', $3, $4, $5, '{}')",
            )
            .bind(team)
            .bind(user.0)
            .bind(user.to_string())
            .bind(client.ip.as_deref())
            .bind(client.user_agent.as_deref())
            .execute(tx.conn())
            .await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn disable_two_factor(&self, by: &Actor) -> DomainResult<()> {
        op(async move {
            let mut tx = self.begin().await?;
            // The team's row is locked: an admin requiring two-factor meanwhile waits for this.
            let required: bool = sqlx::query_scalar("SELECT two_factor_required FROM teams WHERE id = $1 FOR SHARE")
                .bind(by.team().0)
                .fetch_one(tx.conn())
                .await?;
            actors::rules::totp::may_disable(required).map_err(refused)?;
            let was_on: Option<bool> = sqlx::query_scalar("DELETE FROM two_factor WHERE user_id = $1 RETURNING enabled_at IS NOT NULL")
                .bind(by.user.id.0)
                .fetch_optional(tx.conn())
                .await?;
            sqlx::query("DELETE FROM two_factor_recovery_codes WHERE user_id = $1").bind(by.user.id.0).execute(tx.conn()).await?;
            if was_on == Some(true) {
                audit(&mut tx, by.team(), by, "two_factor.disabled", "user", by.user.id.to_string(), json!({})).await?;
            }
            tx.commit().await
        })
        .await
    }

    async fn set_two_factor_required(&self, by: &Actor, required: bool) -> DomainResult<()> {
        op(async move {
            let mut tx = self.begin().await?;
            let changed = sqlx::query("UPDATE teams SET two_factor_required = $2 WHERE id = $1 AND two_factor_required <> $2")
                .bind(by.team().0)
                .bind(required)
                .execute(tx.conn())
                .await?;
            if changed.rows_affected() == 1 {
                let details = json!({ "required": required });
                audit(&mut tx, by.team(), by, "team.two_factor_required_changed", "team", by.team().to_string(), details).await?;
            }
            tx.commit().await
        })
        .await
    }

    async fn create_challenge(
        &self,
        user: UserId,
        id_hash: &[u8],
        expires_at: OffsetDateTime,
        first_factor: &serde_json::Value,
    ) -> DomainResult<()> {
        op(async move {
            sqlx::query("DELETE FROM two_factor_challenges WHERE user_id = $1 AND expires_at < now()")
                .bind(user.0)
                .execute(self.db())
                .await?;
            sqlx::query("INSERT INTO two_factor_challenges (id_hash, user_id, expires_at, first_factor) VALUES ($1, $2, $3, $4)")
                .bind(id_hash)
                .bind(user.0)
                .bind(expires_at)
                .bind(first_factor)
                .execute(self.db())
                .await?;
            Ok(())
        })
        .await
    }

    async fn try_challenge(&self, id_hash: &[u8]) -> DomainResult<Option<(Principal, serde_json::Value)>> {
        op(async move {
            let row: Option<(Uuid, serde_json::Value)> = sqlx::query_as(
                "UPDATE two_factor_challenges SET attempts = attempts + 1
                 WHERE id_hash = $1 AND used_at IS NULL AND expires_at > now() AND attempts < $2
                 RETURNING user_id, first_factor",
            )
            .bind(id_hash)
            .bind(CHALLENGE_TRIES)
            .fetch_optional(self.db())
            .await?;
            match row {
                // A user deactivated meanwhile signs in no more.
                Some((user, first_factor)) => match super::accounts::principal(self.db(), user).await {
                    Ok(p) => Ok(Some((p, first_factor))),
                    Err(StoreError::NotFound(_)) => Ok(None),
                    Err(e) => Err(e),
                },
                None => Ok(None),
            }
        })
        .await
    }

    async fn finish_challenge(&self, id_hash: &[u8]) -> DomainResult<bool> {
        op(async move {
            let done = sqlx::query("UPDATE two_factor_challenges SET used_at = now() WHERE id_hash = $1 AND used_at IS NULL")
                .bind(id_hash)
                .execute(self.db())
                .await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }
}
