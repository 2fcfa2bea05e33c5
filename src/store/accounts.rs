//! Teams, users, sessions, API tokens and invites.

use super::{PgStore, db, not_found, parse};
use actors::domain::{Role, Team, User};
use actors::ids::*;
use actors::ports::{AccountStore, Invite, NewAccount, Principal};
use actors::{DomainError, DomainResult};
use async_trait::async_trait;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct PrincipalRow {
    user_id: Uuid,
    team_id: Uuid,
    email: String,
    user_name: String,
    role: String,
    team_name: String,
    simulator_mode: bool,
}

impl PrincipalRow {
    fn into_principal(self) -> DomainResult<Principal> {
        Ok(Principal {
            user: User {
                id: UserId(self.user_id),
                team_id: TeamId(self.team_id),
                email: self.email,
                name: self.user_name,
                role: parse(&self.role)?,
            },
            team: Team { id: TeamId(self.team_id), name: self.team_name, simulator_mode: self.simulator_mode },
        })
    }
}

/// The select list every principal lookup shares; the query adds its own FROM tail.
macro_rules! principal_sql {
    ($tail:literal) => {
        concat!(
            "SELECT u.id AS user_id, u.team_id, u.email, u.name AS user_name, u.role, t.name AS team_name,
                NOT EXISTS (SELECT 1 FROM channels c WHERE c.team_id = t.id AND NOT c.simulated AND c.deleted_at IS NULL)
                    AS simulator_mode
             FROM users u JOIN teams t ON t.id = u.team_id ",
            $tail
        )
    };
}

async fn principal(conn: &mut PgConnection, user: Uuid) -> DomainResult<Principal> {
    sqlx::query_as::<_, PrincipalRow>(principal_sql!("WHERE u.id = $1"))
        .bind(user)
        .fetch_one(conn)
        .await
        .map_err(not_found("user"))?
        .into_principal()
}

#[async_trait]
impl AccountStore for PgStore {
    async fn create_account(&self, a: NewAccount) -> DomainResult<Principal> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let user_id = UserId::new();
        let (team_id, role) = match &a.invite_hash {
            Some(hash) => {
                let row: Option<(Uuid, String, Option<String>)> = sqlx::query_as(
                    "SELECT team_id, role, email FROM invites
                     WHERE token_hash = $1 AND accepted_at IS NULL AND expires_at > now() FOR UPDATE",
                )
                .bind(hash)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
                let (team, role, email) = row.ok_or(DomainError::NotFound("invite"))?;
                if email.is_some_and(|e| e != a.email) {
                    return Err(DomainError::invalid("email", "this invite is for another email address"));
                }
                sqlx::query("UPDATE invites SET accepted_at = now(), accepted_by = NULL WHERE token_hash = $1")
                    .bind(hash)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                (team, parse::<Role>(&role)?)
            }
            None => {
                let team = TeamId::new();
                let name = a.team_name.as_deref().unwrap_or("My team");
                sqlx::query("INSERT INTO teams (id, name) VALUES ($1, $2)").bind(team.0).bind(name).execute(&mut *tx).await.map_err(db)?;
                for ch in &a.simulated_channels {
                    sqlx::query(
                        "INSERT INTO channels (id, team_id, kind, number, account_sid, auth_token, simulated)
                         VALUES ($1, $2, $3, $4, $5, $6, true)",
                    )
                    .bind(ChannelId::new().0)
                    .bind(team.0)
                    .bind(ch.kind.as_str())
                    .bind(&ch.number)
                    .bind(&ch.account_sid)
                    .bind(&ch.auth_token)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                }
                (team.0, Role::Admin)
            }
        };
        sqlx::query("INSERT INTO users (id, team_id, email, name, role, password_hash) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(user_id.0)
            .bind(team_id)
            .bind(&a.email)
            .bind(&a.name)
            .bind(role.as_str())
            .bind(&a.password_hash)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if let Some(hash) = &a.invite_hash {
            sqlx::query("UPDATE invites SET accepted_by = $1 WHERE token_hash = $2")
                .bind(user_id.0)
                .bind(hash)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        sqlx::query("INSERT INTO audit_log (team_id, actor_id, action, subject_id) VALUES ($1, $2, 'user.created', $2)")
            .bind(team_id)
            .bind(user_id.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let p = principal(&mut tx, user_id.0).await?;
        tx.commit().await.map_err(db)?;
        Ok(p)
    }

    async fn credentials(&self, email: &str) -> DomainResult<Option<(Principal, String)>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let row: Option<(Uuid, String)> = sqlx::query_as("SELECT id, password_hash FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
        match row {
            Some((id, hash)) => Ok(Some((principal(&mut conn, id).await?, hash))),
            None => Ok(None),
        }
    }

    async fn create_session(&self, user: UserId, id_hash: &[u8], expires_at: OffsetDateTime) -> DomainResult<()> {
        sqlx::query("INSERT INTO auth_sessions (id_hash, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(id_hash)
            .bind(user.0)
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn session_principal(&self, id_hash: &[u8]) -> DomainResult<Option<Principal>> {
        sqlx::query_as::<_, PrincipalRow>(principal_sql!(
            "JOIN auth_sessions s ON s.user_id = u.id
             WHERE s.id_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()"
        ))
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(PrincipalRow::into_principal)
        .transpose()
    }

    async fn revoke_session(&self, id_hash: &[u8]) -> DomainResult<()> {
        sqlx::query("UPDATE auth_sessions SET revoked_at = now() WHERE id_hash = $1 AND revoked_at IS NULL")
            .bind(id_hash)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn create_token(&self, user: &User, name: &str, token_hash: &[u8]) -> DomainResult<TokenId> {
        let id = TokenId::new();
        sqlx::query("INSERT INTO api_tokens (id, team_id, user_id, name, token_hash) VALUES ($1, $2, $3, $4, $5)")
            .bind(id.0)
            .bind(user.team_id.0)
            .bind(user.id.0)
            .bind(name)
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(id)
    }

    async fn token_principal(&self, token_hash: &[u8]) -> DomainResult<Option<Principal>> {
        sqlx::query_as::<_, PrincipalRow>(principal_sql!(
            "JOIN api_tokens k ON k.user_id = u.id WHERE k.token_hash = $1 AND k.revoked_at IS NULL"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(PrincipalRow::into_principal)
        .transpose()
    }

    async fn create_invite(
        &self,
        by: &User,
        email: Option<&str>,
        role: Role,
        token_hash: &[u8],
        expires_at: OffsetDateTime,
    ) -> DomainResult<Invite> {
        let id = InviteId::new();
        sqlx::query(
            "INSERT INTO invites (id, team_id, email, role, token_hash, created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.0)
        .bind(by.team_id.0)
        .bind(email)
        .bind(role.as_str())
        .bind(token_hash)
        .bind(by.id.0)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(Invite { id, team_id: by.team_id, email: email.map(str::to_owned), role, expires_at })
    }

    async fn members(&self, team: TeamId) -> DomainResult<Vec<User>> {
        let rows: Vec<(Uuid, String, String, String)> =
            sqlx::query_as("SELECT id, email, name, role FROM users WHERE team_id = $1 ORDER BY name, id")
                .bind(team.0)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        rows.into_iter()
            .map(|(id, email, name, role)| Ok(User { id: UserId(id), team_id: team, email, name, role: parse(&role)? }))
            .collect()
    }

    async fn team(&self, team: TeamId) -> DomainResult<Team> {
        let (name, simulator_mode): (String, bool) = sqlx::query_as(
            "SELECT t.name, NOT EXISTS (SELECT 1 FROM channels c WHERE c.team_id = t.id AND NOT c.simulated AND c.deleted_at IS NULL)
             FROM teams t WHERE t.id = $1",
        )
        .bind(team.0)
        .fetch_one(&self.pool)
        .await
        .map_err(not_found("team"))?;
        Ok(Team { id: team, name, simulator_mode })
    }
}
