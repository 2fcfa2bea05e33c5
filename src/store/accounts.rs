//! Teams, users, sessions, API tokens and invites.

use super::{PgStore, StoreError, not_found, op};
use actors::DomainResult;
use actors::domain::{Role, Team, User};
use actors::ids::*;
use actors::ports::{AccountReads, AccountWrites, Invite, NewAccount, Principal};
use async_trait::async_trait;
use sqlx::{Executor, Postgres};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct PrincipalRow {
    user_id: Uuid,
    team_id: Uuid,
    email: String,
    user_name: String,
    #[sqlx(try_from = "String")]
    role: Role,
    team_name: String,
    simulator_mode: bool,
}

impl From<PrincipalRow> for Principal {
    fn from(this: PrincipalRow) -> Principal {
        Principal {
            user: User {
                id: UserId(this.user_id),
                team_id: TeamId(this.team_id),
                email: this.email,
                name: this.user_name,
                role: this.role,
            },
            team: Team { id: TeamId(this.team_id), name: this.team_name, simulator_mode: this.simulator_mode },
        }
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

async fn principal<'c>(db: impl Executor<'c, Database = Postgres>, user: Uuid) -> Result<Principal, StoreError> {
    let row: PrincipalRow = sqlx::query_as(principal_sql!("WHERE u.id = $1")).bind(user).fetch_one(db).await.map_err(not_found("user"))?;
    Ok(row.into())
}

#[async_trait]
impl AccountReads for PgStore {
    async fn credentials(&self, email: &str) -> DomainResult<Option<(Principal, String)>> {
        op(async move {
            let row: Option<(Uuid, String)> =
                sqlx::query_as("SELECT id, password_hash FROM users WHERE email = $1").bind(email).fetch_optional(self.db()).await?;
            match row {
                Some((id, hash)) => Ok(Some((principal(self.db(), id).await?, hash))),
                None => Ok(None),
            }
        })
        .await
    }

    async fn session_principal(&self, id_hash: &[u8]) -> DomainResult<Option<Principal>> {
        op(async move {
            let row: Option<PrincipalRow> = sqlx::query_as(principal_sql!(
                "JOIN auth_sessions s ON s.user_id = u.id
                 WHERE s.id_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()"
            ))
            .bind(id_hash)
            .fetch_optional(self.db())
            .await?;
            Ok(row.map(Principal::from))
        })
        .await
    }

    async fn token_principal(&self, token_hash: &[u8]) -> DomainResult<Option<Principal>> {
        op(async move {
            let row: Option<PrincipalRow> =
                sqlx::query_as(principal_sql!("JOIN api_tokens k ON k.user_id = u.id WHERE k.token_hash = $1 AND k.revoked_at IS NULL"))
                    .bind(token_hash)
                    .fetch_optional(self.db())
                    .await?;
            Ok(row.map(Principal::from))
        })
        .await
    }

    async fn members(&self, team: TeamId) -> DomainResult<Vec<User>> {
        op(async move {
            #[derive(sqlx::FromRow)]
            struct MemberRow {
                id: Uuid,
                email: String,
                name: String,
                #[sqlx(try_from = "String")]
                role: Role,
            }
            let rows: Vec<MemberRow> = sqlx::query_as("SELECT id, email, name, role FROM users WHERE team_id = $1 ORDER BY name, id")
                .bind(team.0)
                .fetch_all(self.db())
                .await?;
            Ok(rows.into_iter().map(|r| User { id: UserId(r.id), team_id: team, email: r.email, name: r.name, role: r.role }).collect())
        })
        .await
    }

    async fn team(&self, team: TeamId) -> DomainResult<Team> {
        op(async move {
            let (name, simulator_mode): (String, bool) = sqlx::query_as(
                "SELECT t.name, NOT EXISTS (SELECT 1 FROM channels c WHERE c.team_id = t.id AND NOT c.simulated AND c.deleted_at IS NULL)
                 FROM teams t WHERE t.id = $1",
            )
            .bind(team.0)
            .fetch_one(self.db())
            .await
            .map_err(not_found("team"))?;
            Ok(Team { id: team, name, simulator_mode })
        })
        .await
    }
}

#[async_trait]
impl AccountWrites for PgStore {
    async fn create_account(&self, a: NewAccount) -> DomainResult<Principal> {
        op(async move {
            let mut tx = self.begin().await?;
            let user_id = UserId::new();
            let (team_id, role) = match &a.invite_hash {
                Some(hash) => {
                    let row: Option<(Uuid, String, Option<String>)> = sqlx::query_as(
                        "SELECT team_id, role, email FROM invites
                         WHERE token_hash = $1 AND accepted_at IS NULL AND expires_at > now() FOR UPDATE",
                    )
                    .bind(hash)
                    .fetch_optional(tx.conn())
                    .await?;
                    let (team, role, email) = row.ok_or(StoreError::NotFound("invite"))?;
                    if email.is_some_and(|e| e != a.email) {
                        return Err(StoreError::invalid("email", "this invite is for another email address"));
                    }
                    sqlx::query("UPDATE invites SET accepted_at = now(), accepted_by = NULL WHERE token_hash = $1")
                        .bind(hash)
                        .execute(tx.conn())
                        .await?;
                    (team, Role::try_from(role)?)
                }
                None => {
                    let team = TeamId::new();
                    let name = a.team_name.as_deref().unwrap_or("My team");
                    sqlx::query("INSERT INTO teams (id, name) VALUES ($1, $2)").bind(team.0).bind(name).execute(tx.conn()).await?;
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
                        .bind(self.sealer.seal(&ch.auth_token))
                        .execute(tx.conn())
                        .await?;
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
                .execute(tx.conn())
                .await?;
            if let Some(hash) = &a.invite_hash {
                sqlx::query("UPDATE invites SET accepted_by = $1 WHERE token_hash = $2")
                    .bind(user_id.0)
                    .bind(hash)
                    .execute(tx.conn())
                    .await?;
            }
            sqlx::query("INSERT INTO audit_log (team_id, actor_id, action, subject_id) VALUES ($1, $2, 'user.created', $2)")
                .bind(team_id)
                .bind(user_id.0)
                .execute(tx.conn())
                .await?;
            let p = principal(tx.conn(), user_id.0).await?;
            tx.commit().await?;
            Ok(p)
        })
        .await
    }

    async fn create_session(&self, user: UserId, id_hash: &[u8], expires_at: OffsetDateTime) -> DomainResult<()> {
        op(async move {
            sqlx::query("INSERT INTO auth_sessions (id_hash, user_id, expires_at) VALUES ($1, $2, $3)")
                .bind(id_hash)
                .bind(user.0)
                .bind(expires_at)
                .execute(self.db())
                .await?;
            Ok(())
        })
        .await
    }

    async fn revoke_session(&self, id_hash: &[u8]) -> DomainResult<()> {
        op(async move {
            sqlx::query("UPDATE auth_sessions SET revoked_at = now() WHERE id_hash = $1 AND revoked_at IS NULL")
                .bind(id_hash)
                .execute(self.db())
                .await?;
            Ok(())
        })
        .await
    }

    async fn create_token(&self, user: &User, name: &str, token_hash: &[u8]) -> DomainResult<TokenId> {
        op(async move {
            let id = TokenId::new();
            sqlx::query("INSERT INTO api_tokens (id, team_id, user_id, name, token_hash) VALUES ($1, $2, $3, $4, $5)")
                .bind(id.0)
                .bind(user.team_id.0)
                .bind(user.id.0)
                .bind(name)
                .bind(token_hash)
                .execute(self.db())
                .await?;
            Ok(id)
        })
        .await
    }

    async fn create_invite(
        &self,
        by: &User,
        email: Option<&str>,
        role: Role,
        token_hash: &[u8],
        expires_at: OffsetDateTime,
    ) -> DomainResult<Invite> {
        op(async move {
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
            .execute(self.db())
            .await?;
            Ok(Invite { id, team_id: by.team_id, email: email.map(str::to_owned), role, expires_at })
        })
        .await
    }
}
