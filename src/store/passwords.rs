//! Passwords: a changed password, reset links and sign-ups waiting for their e-mail (both by
//! the hash of their token, expiring, used once), and the purge of what has expired. Each
//! change ends the sessions it must and is audited in its own transaction.

use super::accounts::principal;
use super::members::audit;
use super::{PgStore, StoreError, op};
use actors::DomainResult;
use actors::audit::{Actor, Client};
use actors::ids::UserId;
use actors::ports::{PasswordStore, PendingSignUp, Principal};
use actors::rules::KEEP_DEAD_TOKENS_DAYS;
use async_trait::async_trait;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

/// Ends every live session of `user` but `keep`, in `tx`; answers the ended ones' hashes.
async fn end_sessions(tx: &mut super::Tx<'_>, user: UserId, keep: Option<&[u8]>) -> Result<Vec<Vec<u8>>, StoreError> {
    let ended: Vec<Vec<u8>> = sqlx::query_scalar(
        "UPDATE auth_sessions SET revoked_at = now()
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() AND ($2::bytea IS NULL OR id_hash <> $2)
         RETURNING id_hash",
    )
    .bind(user.0)
    .bind(keep)
    .fetch_all(tx.conn())
    .await?;
    Ok(ended)
}

#[derive(sqlx::FromRow)]
struct PendingRow {
    email: String,
    name: String,
    password_hash: String,
    team_name: Option<String>,
    invite_hash: Option<Vec<u8>>,
}

#[async_trait]
impl PasswordStore for PgStore {
    async fn change_password(&self, by: &Actor, password_hash: &str, keep_session: Option<&[u8]>) -> DomainResult<Vec<Vec<u8>>> {
        op(async move {
            let mut tx = self.begin().await?;
            let done = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1 AND deactivated_at IS NULL")
                .bind(by.user.id.0)
                .bind(password_hash)
                .execute(tx.conn())
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("user"));
            }
            let ended = end_sessions(&mut tx, by.user.id, keep_session).await?;
            let details = json!({ "sessions_ended": ended.len() });
            audit(&mut tx, by.team(), by, "password.changed", "user", by.user.id.to_string(), details).await?;
            tx.commit().await?;
            Ok(ended)
        })
        .await
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
        op(async move {
            let mut tx = self.begin().await?;
            // The user's row, locked: two requests at once count each other's links.
            sqlx::query_scalar::<_, Uuid>("SELECT id FROM users WHERE id = $1 FOR UPDATE").bind(user.0).fetch_one(tx.conn()).await?;
            let p = principal(tx.conn(), user.0).await?;
            let recent: i64 =
                sqlx::query_scalar("SELECT count(*) FROM password_resets WHERE user_id = $1 AND created_at > now() - interval '1 hour'")
                    .bind(user.0)
                    .fetch_one(tx.conn())
                    .await?;
            if recent >= max_per_hour {
                return Ok(false);
            }
            sqlx::query("INSERT INTO password_resets (token_hash, user_id, created_by, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(token_hash)
                .bind(user.0)
                .bind(by.map(|a| a.user.id.0))
                .bind(expires_at)
                .execute(tx.conn())
                .await?;
            let (actor, action) = match by {
                Some(admin) => (admin.clone(), "password.reset_link_created"),
                None => (Actor::new(p.user.clone(), client.clone()), "password.reset_requested"),
            };
            audit(&mut tx, p.team.id, &actor, action, "user", user.to_string(), json!({ "expires_at": expires_at })).await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn password_reset_user(&self, token_hash: &[u8]) -> DomainResult<Option<Principal>> {
        op(async move {
            let user: Option<Uuid> = sqlx::query_scalar(
                "SELECT r.user_id FROM password_resets r JOIN users u ON u.id = r.user_id
                 WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > now() AND u.deactivated_at IS NULL",
            )
            .bind(token_hash)
            .fetch_optional(self.db())
            .await?;
            match user {
                Some(id) => Ok(Some(principal(self.db(), id).await?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn reset_password(
        &self,
        token_hash: &[u8],
        password_hash: &str,
        client: &Client,
    ) -> DomainResult<Option<(Principal, Vec<Vec<u8>>)>> {
        op(async move {
            let mut tx = self.begin().await?;
            // Used in the statement that checks it: of two requests with one link, one resets.
            let user: Option<Uuid> = sqlx::query_scalar(
                "UPDATE password_resets r SET used_at = now() FROM users u
                 WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > now()
                   AND u.id = r.user_id AND u.deactivated_at IS NULL
                 RETURNING r.user_id",
            )
            .bind(token_hash)
            .fetch_optional(tx.conn())
            .await?;
            let Some(user) = user else { return Ok(None) };
            sqlx::query("UPDATE password_resets SET used_at = now() WHERE user_id = $1 AND used_at IS NULL")
                .bind(user)
                .execute(tx.conn())
                .await?;
            sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1").bind(user).bind(password_hash).execute(tx.conn()).await?;
            let p = principal(tx.conn(), user).await?;
            let ended = end_sessions(&mut tx, p.user.id, None).await?;
            // The owner proved they read their mail: a stranger's failed guesses hold them back no more.
            sqlx::query("DELETE FROM sign_in_failures WHERE email = $1").bind(&p.user.email).execute(tx.conn()).await?;
            let actor = Actor::new(p.user.clone(), client.clone());
            let details = json!({ "sessions_ended": ended.len() });
            audit(&mut tx, p.team.id, &actor, "password.reset", "user", user.to_string(), details).await?;
            tx.commit().await?;
            Ok(Some((p, ended)))
        })
        .await
    }

    async fn create_pending_sign_up(&self, token_hash: &[u8], sign_up: &PendingSignUp, expires_at: OffsetDateTime) -> DomainResult<()> {
        op(async move {
            sqlx::query(
                "INSERT INTO pending_sign_ups (token_hash, email, name, password_hash, team_name, invite_hash, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(token_hash)
            .bind(&sign_up.email)
            .bind(&sign_up.name)
            .bind(&sign_up.password_hash)
            .bind(sign_up.team_name.as_deref())
            .bind(sign_up.invite_hash.as_deref())
            .bind(expires_at)
            .execute(self.db())
            .await?;
            Ok(())
        })
        .await
    }

    async fn take_pending_sign_up(&self, token_hash: &[u8]) -> DomainResult<Option<PendingSignUp>> {
        op(async move {
            let row: Option<PendingRow> = sqlx::query_as(
                "DELETE FROM pending_sign_ups WHERE token_hash = $1 AND expires_at > now()
                 RETURNING email, name, password_hash, team_name, invite_hash",
            )
            .bind(token_hash)
            .fetch_optional(self.db())
            .await?;
            Ok(row.map(|r| PendingSignUp {
                email: r.email,
                name: r.name,
                password_hash: r.password_hash,
                team_name: r.team_name,
                invite_hash: r.invite_hash,
            }))
        })
        .await
    }

    async fn purge_expired(&self) -> DomainResult<u64> {
        op(async move {
            let statements = [
                "DELETE FROM auth_sessions WHERE expires_at < now() OR revoked_at IS NOT NULL",
                "DELETE FROM password_resets WHERE expires_at < now() - interval '1 day'",
                "DELETE FROM pending_sign_ups WHERE expires_at < now()",
                "DELETE FROM two_factor_challenges WHERE expires_at < now()",
                "DELETE FROM oidc_logins WHERE expires_at < now()",
                "DELETE FROM sign_in_failures WHERE updated_at < now() - interval '1 day'
                    AND (blocked_until IS NULL OR blocked_until < now())",
            ];
            let mut rows = 0;
            for sql in statements {
                rows += sqlx::query(sql).execute(self.db()).await?.rows_affected();
            }
            rows += sqlx::query("DELETE FROM api_tokens WHERE LEAST(expires_at, revoked_at) < now() - make_interval(days => $1::int)")
                .bind(KEEP_DEAD_TOKENS_DAYS as i32)
                .execute(self.db())
                .await?
                .rows_affected();
            Ok(rows)
        })
        .await
    }
}
