//! Teams, users, sessions, API tokens and invites.

use super::contacts::page;
use super::members;
use super::{PgStore, StoreError, cursor, not_found, op};
use actors::DomainResult;
use actors::audit::{Actor, AuditEntry, Client, NewAuditEntry};
use actors::domain::{Role, Team, User};
use actors::ids::*;
use actors::ports::{
    AccountReads, AccountWrites, ApiToken, AuditWrites, Invite, Member, MemberChange, MemberChanged, NewAccount, Page, Principal,
};
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
    default_country: Option<String>,
    two_factor_enrollment_due: bool,
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
            team: Team {
                id: TeamId(this.team_id),
                name: this.team_name,
                simulator_mode: this.simulator_mode,
                default_country: this.default_country,
            },
            two_factor_enrollment_due: this.two_factor_enrollment_due,
        }
    }
}

/// The select list every principal lookup shares; the query adds its own FROM tail (and may
/// put a WITH head before it).
macro_rules! principal_sql {
    ($tail:literal) => {
        principal_sql!("", $tail)
    };
    ($head:literal, $tail:literal) => {
        concat!(
            $head,
            "SELECT u.id AS user_id, u.team_id, u.email, u.name AS user_name, u.role, t.name AS team_name,
                NOT EXISTS (SELECT 1 FROM channels c WHERE c.team_id = t.id AND NOT c.simulated AND c.deleted_at IS NULL)
                    AS simulator_mode, t.default_country,
                (t.two_factor_required AND NOT EXISTS
                    (SELECT 1 FROM two_factor f WHERE f.user_id = u.id AND f.enabled_at IS NOT NULL)) AS two_factor_enrollment_due
             FROM users u JOIN teams t ON t.id = u.team_id AND u.deactivated_at IS NULL ",
            $tail
        )
    };
}

pub(super) async fn principal<'c>(db: impl Executor<'c, Database = Postgres>, user: Uuid) -> Result<Principal, StoreError> {
    let row: PrincipalRow = sqlx::query_as(principal_sql!("WHERE u.id = $1")).bind(user).fetch_one(db).await.map_err(not_found("user"))?;
    Ok(row.into())
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: Uuid,
    name: String,
    user_id: Uuid,
    user_name: String,
    created_at: OffsetDateTime,
    last_used_at: Option<OffsetDateTime>,
    expires_at: Option<OffsetDateTime>,
}

impl From<TokenRow> for ApiToken {
    fn from(r: TokenRow) -> ApiToken {
        ApiToken {
            id: TokenId(r.id),
            name: r.name,
            user_id: UserId(r.user_id),
            user_name: r.user_name,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            expires_at: r.expires_at,
        }
    }
}

/// A page of a team's live tokens, newest first: $1 team, $2 and $3 the cursor, $4 the limit,
/// $5 the owner (used by the `$filter` that narrows to one user, ignored by the other).
macro_rules! token_list_sql {
    ($filter:literal) => {
        concat!(
            "SELECT k.id, k.name, k.user_id, u.name AS user_name, k.created_at, k.last_used_at, k.expires_at
             FROM api_tokens k JOIN users u ON u.id = k.user_id
             WHERE k.team_id = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now()) ",
            $filter,
            " AND ($2::timestamptz IS NULL OR (k.created_at, k.id) < ($2, $3))
             ORDER BY k.created_at DESC, k.id DESC LIMIT $4"
        )
    };
}

#[async_trait]
impl AccountReads for PgStore {
    async fn sign_in_blocked_until(&self, email: &str) -> DomainResult<Option<OffsetDateTime>> {
        op(async move {
            let until: Option<Option<OffsetDateTime>> = sqlx::query_scalar("SELECT blocked_until FROM sign_in_failures WHERE email = $1")
                .bind(email)
                .fetch_optional(self.db())
                .await?;
            Ok(until.flatten())
        })
        .await
    }

    async fn is_known_device(&self, email: &str, device_hash: &[u8]) -> DomainResult<bool> {
        op(async move {
            let known: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM known_devices d JOIN users u ON u.id = d.user_id
                 WHERE u.email = $1 AND u.deactivated_at IS NULL AND d.device_hash = $2)",
            )
            .bind(email)
            .bind(device_hash)
            .fetch_one(self.db())
            .await?;
            Ok(known)
        })
        .await
    }

    async fn credentials(&self, email: &str) -> DomainResult<Option<(Principal, Option<String>)>> {
        op(async move {
            let row: Option<(Uuid, Option<String>)> =
                sqlx::query_as("SELECT id, password_hash FROM users WHERE email = $1 AND deactivated_at IS NULL")
                    .bind(email)
                    .fetch_optional(self.db())
                    .await?;
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
            // One statement: the live token's user, and its `last_used_at` stamped when it is
            // older than a minute. The stamp's condition is on the row itself, so concurrent
            // requests with one token write it once: the others, rechecking after the row lock,
            // find it fresh. Every other use within the minute writes nothing.
            let row: Option<PrincipalRow> = sqlx::query_as(principal_sql!(
                "WITH k AS (
                    SELECT id, user_id FROM api_tokens
                    WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
                 ), used AS (
                    UPDATE api_tokens SET last_used_at = now() FROM k
                    WHERE api_tokens.id = k.id
                      AND (api_tokens.last_used_at IS NULL OR api_tokens.last_used_at < now() - interval '1 minute')
                 ) ",
                "JOIN k ON k.user_id = u.id"
            ))
            .bind(token_hash)
            .fetch_optional(self.db())
            .await?;
            Ok(row.map(Principal::from))
        })
        .await
    }

    async fn list_tokens(&self, team: TeamId, owner: Option<UserId>, after: Option<&str>, limit: i64) -> DomainResult<Page<ApiToken>> {
        op(async move {
            let after = after.map(cursor::decode).transpose()?;
            // Newest first, keyset on (created_at, id); each listing has its own team-first index.
            let sql = match owner {
                Some(_) => token_list_sql!("AND k.user_id = $5"),
                None => token_list_sql!("AND $5::uuid IS NULL"),
            };
            let rows: Vec<TokenRow> = sqlx::query_as(sql)
                .bind(team.0)
                .bind(after.map(|a| a.0))
                .bind(after.map(|a| a.1))
                .bind(limit + 1)
                .bind(owner.map(|o| o.0))
                .fetch_all(self.db())
                .await?;
            Ok(page(rows, limit, |r| cursor::encode(r.created_at, r.id)))
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
            let rows: Vec<MemberRow> =
                sqlx::query_as("SELECT id, email, name, role FROM users WHERE team_id = $1 AND deactivated_at IS NULL ORDER BY name, id")
                    .bind(team.0)
                    .fetch_all(self.db())
                    .await?;
            Ok(rows.into_iter().map(|r| User { id: UserId(r.id), team_id: team, email: r.email, name: r.name, role: r.role }).collect())
        })
        .await
    }

    async fn team_members(&self, team: TeamId) -> DomainResult<Vec<Member>> {
        op(members::team_members(self, team)).await
    }

    async fn invites(&self, team: TeamId, cursor: Option<&str>, limit: i64) -> DomainResult<Page<Invite>> {
        op(members::invites(self, team, cursor, limit)).await
    }

    async fn audit_log(&self, team: TeamId, cursor: Option<&str>, limit: i64) -> DomainResult<Page<AuditEntry>> {
        op(members::audit_log(self, team, cursor, limit)).await
    }

    async fn assigned_threads(&self, team: TeamId, user: UserId) -> DomainResult<Vec<ThreadId>> {
        op(members::assigned_threads(self, team, user)).await
    }

    async fn team(&self, team: TeamId) -> DomainResult<Team> {
        op(async move {
            let (name, simulator_mode, default_country): (String, bool, Option<String>) = sqlx::query_as(
                "SELECT t.name, NOT EXISTS (SELECT 1 FROM channels c WHERE c.team_id = t.id AND NOT c.simulated AND c.deleted_at IS NULL),
                    t.default_country
                 FROM teams t WHERE t.id = $1",
            )
            .bind(team.0)
            .fetch_one(self.db())
            .await
            .map_err(not_found("team"))?;
            Ok(Team { id: team, name, simulator_mode, default_country })
        })
        .await
    }
}

#[async_trait]
impl AccountWrites for PgStore {
    async fn record_sign_in_failure(&self, email: &str) -> DomainResult<i32> {
        op(async move {
            let failures: i32 = sqlx::query_scalar(
                "INSERT INTO sign_in_failures AS f (email, failures) VALUES ($1, 1)
                 ON CONFLICT (email) DO UPDATE SET failures = f.failures + 1, updated_at = now()
                 RETURNING failures",
            )
            .bind(email)
            .fetch_one(self.db())
            .await?;
            Ok(failures)
        })
        .await
    }

    async fn block_sign_in(&self, email: &str, until: OffsetDateTime) -> DomainResult<()> {
        op(async move {
            sqlx::query("UPDATE sign_in_failures SET blocked_until = $2, updated_at = now() WHERE email = $1")
                .bind(email)
                .bind(until)
                .execute(self.db())
                .await?;
            Ok(())
        })
        .await
    }

    async fn clear_sign_in_failures(&self, email: &str) -> DomainResult<()> {
        op(async move {
            sqlx::query("DELETE FROM sign_in_failures WHERE email = $1").bind(email).execute(self.db()).await?;
            Ok(())
        })
        .await
    }

    async fn remember_device(&self, user: UserId, device_hash: &[u8]) -> DomainResult<()> {
        op(async move {
            sqlx::query(
                "INSERT INTO known_devices (device_hash, user_id) VALUES ($1, $2)
                 ON CONFLICT (device_hash) DO UPDATE SET last_seen_at = now() WHERE known_devices.user_id = $2",
            )
            .bind(device_hash)
            .bind(user.0)
            .execute(self.db())
            .await?;
            Ok(())
        })
        .await
    }

    async fn change_member(&self, by: &Actor, member: UserId, change: MemberChange) -> DomainResult<MemberChanged> {
        op(members::change_member(self, by, member, change)).await
    }

    async fn revoke_invite(&self, by: &Actor, id: InviteId) -> DomainResult<()> {
        op(members::revoke_invite(self, by, id)).await
    }

    async fn renew_invite(&self, by: &Actor, id: InviteId, token_hash: &[u8], expires_at: OffsetDateTime) -> DomainResult<Invite> {
        op(members::renew_invite(self, by, id, token_hash, expires_at)).await
    }

    async fn create_account(&self, a: NewAccount, client: &Client) -> DomainResult<Principal> {
        op(async move {
            let mut tx = self.begin().await?;
            let user_id = UserId::new();
            let (team_id, role) = match &a.invite_hash {
                Some(hash) => {
                    let row: Option<(Uuid, String, Option<String>)> = sqlx::query_as(
                        "SELECT team_id, role, email FROM invites
                         WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now() FOR UPDATE",
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
            // `user.created`, and `invite.accepted` when it came through one.
            sqlx::query(
                "INSERT INTO audit_log (team_id, actor_id, action, target_type, target_id, ip, user_agent, details)
                 SELECT $1, $2, a.action, a.target_type, COALESCE(i.id::text, $2::text), $3, $4, jsonb_build_object('email', $5::text)
                 FROM (VALUES ('user.created', 'user'), ('invite.accepted', 'invite')) a (action, target_type)
                 LEFT JOIN invites i ON a.action = 'invite.accepted' AND i.token_hash = $6
                 WHERE a.action = 'user.created' OR i.id IS NOT NULL
                 ORDER BY a.action DESC",
            )
            .bind(team_id)
            .bind(user_id.0)
            .bind(client.ip.as_deref())
            .bind(client.user_agent.as_deref())
            .bind(&a.email)
            .bind(a.invite_hash.as_deref())
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

    async fn create_token(&self, by: &Actor, name: &str, token_hash: &[u8], expires_at: Option<OffsetDateTime>) -> DomainResult<ApiToken> {
        let user = &by.user;
        op(async move {
            let id = TokenId::new();
            // The token and its audit entry in one statement.
            // Answered as stored (Postgres keeps microseconds), so it reads as the listing will.
            let (created_at, expires_at): (OffsetDateTime, Option<OffsetDateTime>) = sqlx::query_as(
                "WITH k AS (
                    INSERT INTO api_tokens (id, team_id, user_id, name, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
                    RETURNING id, team_id, user_id, name, created_at, expires_at
                 ), audit AS (
                    INSERT INTO audit_log (team_id, actor_id, action, target_type, target_id, ip, user_agent, details)
                    SELECT team_id, user_id, 'token.created', 'token', id::text, $7, $8,
                           jsonb_build_object('name', name, 'expires_at', expires_at)
                    FROM k
                 )
                 SELECT created_at, expires_at FROM k",
            )
            .bind(id.0)
            .bind(user.team_id.0)
            .bind(user.id.0)
            .bind(name)
            .bind(token_hash)
            .bind(expires_at)
            .bind(by.client.ip.as_deref())
            .bind(by.client.user_agent.as_deref())
            .fetch_one(self.db())
            .await?;
            Ok(ApiToken {
                id,
                name: name.to_owned(),
                user_id: user.id,
                user_name: user.name.clone(),
                created_at,
                last_used_at: None,
                expires_at,
            })
        })
        .await
    }

    async fn revoke_token(&self, by: &Actor, id: TokenId, owner: Option<UserId>) -> DomainResult<Vec<u8>> {
        op(async move {
            // The revocation and its audit entry in one statement; a token that is not there
            // for `by` (missing, another team's, someone else's, revoked already) changes nothing.
            let revoked: Option<Vec<u8>> = sqlx::query_scalar(
                "WITH k AS (
                    UPDATE api_tokens SET revoked_at = now()
                    WHERE id = $1 AND team_id = $2 AND ($3::uuid IS NULL OR user_id = $3) AND revoked_at IS NULL
                    RETURNING id, team_id, user_id, name, token_hash
                 ), audit AS (
                    INSERT INTO audit_log (team_id, actor_id, action, target_type, target_id, ip, user_agent, details)
                    SELECT team_id, $4, 'token.revoked', 'token', id::text, $5, $6, jsonb_build_object('name', name, 'user_id', user_id)
                    FROM k
                 )
                 SELECT token_hash FROM k",
            )
            .bind(id.0)
            .bind(by.team().0)
            .bind(owner.map(|o| o.0))
            .bind(by.user.id.0)
            .bind(by.client.ip.as_deref())
            .bind(by.client.user_agent.as_deref())
            .fetch_optional(self.db())
            .await?;
            revoked.ok_or(StoreError::NotFound("token"))
        })
        .await
    }

    async fn create_invite(
        &self,
        by: &Actor,
        email: Option<&str>,
        role: Role,
        token_hash: &[u8],
        expires_at: OffsetDateTime,
    ) -> DomainResult<Invite> {
        op(members::create_invite(self, by, email, role, token_hash, expires_at)).await
    }
}

#[async_trait]
impl AuditWrites for PgStore {
    async fn record_audit(&self, entry: NewAuditEntry) -> DomainResult<()> {
        op(members::record_audit(self, entry)).await
    }
}
