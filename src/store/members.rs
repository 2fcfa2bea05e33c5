//! Team administration in SQL: members (role, deactivation, removal), open invites, and the
//! audit log. Every change writes its audit entry in the same transaction, with who did it and
//! from where.

use super::contacts::page;
use super::{PgStore, StoreError, Tx};
use actors::DomainError;
use actors::audit::{Actor, AuditEntry, NewAuditEntry};
use actors::domain::{Role, User};
use actors::ids::*;
use actors::ports::{Invite, Member, MemberChange, MemberChanged, Page};
use actors::rules;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct MemberRow {
    id: Uuid,
    team_id: Uuid,
    email: String,
    name: String,
    #[sqlx(try_from = "String")]
    role: Role,
    deactivated_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
}

impl From<MemberRow> for Member {
    fn from(r: MemberRow) -> Member {
        Member {
            user: User { id: UserId(r.id), team_id: TeamId(r.team_id), email: r.email, name: r.name, role: r.role },
            active: r.deactivated_at.is_none(),
            deactivated_at: r.deactivated_at,
            created_at: r.created_at,
        }
    }
}

const MEMBER_COLUMNS: &str = "id, team_id, email, name, role, deactivated_at, created_at";

/// The team's members (removed ones excluded), by name.
pub(super) async fn team_members(store: &PgStore, team: TeamId) -> Result<Vec<Member>, StoreError> {
    let rows: Vec<MemberRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MEMBER_COLUMNS} FROM users WHERE team_id = $1 AND removed_at IS NULL ORDER BY name, id"
    )))
    .bind(team.0)
    .fetch_all(store.db())
    .await?;
    Ok(rows.into_iter().map(Member::from).collect())
}

/// Inserts an audit entry inside `tx`.
pub(super) async fn audit(
    tx: &mut Tx<'_>,
    team: TeamId,
    by: &Actor,
    action: &str,
    target_type: &str,
    target_id: String,
    details: Value,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (team_id, actor_id, action, target_type, target_id, ip, user_agent, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(team.0)
    .bind(by.user.id.0)
    .bind(action)
    .bind(target_type)
    .bind(target_id)
    .bind(by.client.ip.as_deref())
    .bind(by.client.user_agent.as_deref())
    .bind(details)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A rule's refusal, in the store's terms.
pub(super) fn refused(e: DomainError) -> StoreError {
    match e {
        DomainError::NotFound(what) => StoreError::NotFound(what),
        DomainError::Conflict(m) => StoreError::Conflict(m),
        DomainError::Invalid { field, message } => StoreError::Invalid { field, message },
        other => StoreError::internal(other),
    }
}

pub(super) async fn change_member(store: &PgStore, by: &Actor, member: UserId, change: MemberChange) -> Result<MemberChanged, StoreError> {
    let team = by.team();
    let mut tx = store.begin().await?;
    // Every member row of the team, locked: two admins changing each other at once are
    // serialized, so the last-admin rule sees what the other committed.
    let rows: Vec<MemberRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MEMBER_COLUMNS} FROM users WHERE team_id = $1 AND removed_at IS NULL ORDER BY id FOR UPDATE"
    )))
    .bind(team.0)
    .fetch_all(tx.conn())
    .await?;
    let members: Vec<Member> = rows.into_iter().map(Member::from).collect();
    rules::member_change(&members, &by.user, member, change).map_err(refused)?;
    let before = members.into_iter().find(|m| m.user.id == member).ok_or(StoreError::NotFound("member"))?;
    let deactivate = change.remove || change.active == Some(false);
    let row: MemberRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE users SET role = COALESCE($3, role),
                deactivated_at = CASE WHEN $4 THEN COALESCE(deactivated_at, now()) WHEN $5 THEN NULL ELSE deactivated_at END,
                removed_at = CASE WHEN $6 THEN now() ELSE removed_at END
         WHERE team_id = $1 AND id = $2
         RETURNING {MEMBER_COLUMNS}"
    )))
    .bind(team.0)
    .bind(member.0)
    .bind(change.role.map(Role::as_str))
    .bind(deactivate)
    .bind(change.active == Some(true))
    .bind(change.remove)
    .fetch_one(tx.conn())
    .await?;
    let after = Member::from(row);
    let target = member.to_string();
    if after.user.role != before.user.role {
        let details = json!({ "from": before.user.role, "to": after.user.role, "email": after.user.email });
        audit(&mut tx, team, by, "member.role_changed", "user", target.clone(), details).await?;
    }
    if deactivate {
        // Their sessions and tokens end now; reactivating does not bring them back.
        sqlx::query("UPDATE auth_sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL")
            .bind(member.0)
            .execute(tx.conn())
            .await?;
        sqlx::query("UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL")
            .bind(member.0)
            .execute(tx.conn())
            .await?;
    }
    let action = match (change.remove, before.active, after.active) {
        (true, _, _) => Some("member.removed"),
        (false, true, false) => Some("member.deactivated"),
        (false, false, true) => Some("member.reactivated"),
        _ => None,
    };
    if let Some(action) = action {
        audit(&mut tx, team, by, action, "user", target, json!({ "email": after.user.email, "name": after.user.name })).await?;
    }
    tx.commit().await?;
    Ok(MemberChanged { was_role: before.user.role, was_active: before.active, member: after })
}

#[derive(sqlx::FromRow)]
struct InviteRow {
    id: Uuid,
    team_id: Uuid,
    email: Option<String>,
    #[sqlx(try_from = "String")]
    role: Role,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    created_by: Option<Uuid>,
}

impl From<InviteRow> for Invite {
    fn from(r: InviteRow) -> Invite {
        Invite {
            id: InviteId(r.id),
            team_id: TeamId(r.team_id),
            email: r.email,
            role: r.role,
            created_at: r.created_at,
            expires_at: r.expires_at,
            created_by: r.created_by.map(UserId),
        }
    }
}

const INVITE_COLUMNS: &str = "id, team_id, email, role, created_at, expires_at, created_by";

pub(super) async fn create_invite(
    store: &PgStore,
    by: &Actor,
    email: Option<&str>,
    role: Role,
    token_hash: &[u8],
    expires_at: OffsetDateTime,
) -> Result<Invite, StoreError> {
    let mut tx = store.begin().await?;
    let row: InviteRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO invites (id, team_id, email, role, token_hash, created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING {INVITE_COLUMNS}"
    )))
    .bind(InviteId::new().0)
    .bind(by.team().0)
    .bind(email)
    .bind(role.as_str())
    .bind(token_hash)
    .bind(by.user.id.0)
    .bind(expires_at)
    .fetch_one(tx.conn())
    .await?;
    let details = json!({ "email": row.email, "role": row.role, "expires_at": expires_at.unix_timestamp() });
    audit(&mut tx, by.team(), by, "invite.created", "invite", row.id.to_string(), details).await?;
    tx.commit().await?;
    Ok(row.into())
}

/// Open invites: neither accepted nor revoked.
const OPEN_INVITE: &str = "accepted_at IS NULL AND revoked_at IS NULL";

pub(super) async fn revoke_invite(store: &PgStore, by: &Actor, id: InviteId) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let email: Option<Option<String>> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "UPDATE invites SET revoked_at = now() WHERE id = $1 AND team_id = $2 AND {OPEN_INVITE} RETURNING email"
    )))
    .bind(id.0)
    .bind(by.team().0)
    .fetch_optional(tx.conn())
    .await?;
    let email = email.ok_or(StoreError::NotFound("invite"))?;
    audit(&mut tx, by.team(), by, "invite.revoked", "invite", id.to_string(), json!({ "email": email })).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn renew_invite(
    store: &PgStore,
    by: &Actor,
    id: InviteId,
    token_hash: &[u8],
    expires_at: OffsetDateTime,
) -> Result<Invite, StoreError> {
    let mut tx = store.begin().await?;
    let row: Option<InviteRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE invites SET token_hash = $3, expires_at = $4, created_by = $5, created_at = now()
         WHERE id = $1 AND team_id = $2 AND {OPEN_INVITE}
         RETURNING {INVITE_COLUMNS}"
    )))
    .bind(id.0)
    .bind(by.team().0)
    .bind(token_hash)
    .bind(expires_at)
    .bind(by.user.id.0)
    .fetch_optional(tx.conn())
    .await?;
    let row = row.ok_or(StoreError::NotFound("invite"))?;
    let details = json!({ "email": row.email, "expires_at": expires_at.unix_timestamp() });
    audit(&mut tx, by.team(), by, "invite.resent", "invite", id.to_string(), details).await?;
    tx.commit().await?;
    Ok(row.into())
}

pub(super) async fn invites(store: &PgStore, team: TeamId, after: Option<&str>, limit: i64) -> Result<Page<Invite>, StoreError> {
    let after = after.map(super::cursor::decode).transpose()?;
    let rows: Vec<InviteRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {INVITE_COLUMNS} FROM invites
         WHERE team_id = $1 AND {OPEN_INVITE}
           AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
         ORDER BY created_at DESC, id DESC LIMIT $4"
    )))
    .bind(team.0)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(limit + 1)
    .fetch_all(store.db())
    .await?;
    Ok(page(rows, limit, |r| super::cursor::encode(r.created_at, r.id)))
}

pub(super) async fn record_audit(store: &PgStore, e: NewAuditEntry) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (team_id, actor_id, action, target_type, target_id, ip, user_agent, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(e.team.map(|t| t.0))
    .bind(e.actor.map(|a| a.0))
    .bind(e.action)
    .bind(e.target_type)
    .bind(e.target_id)
    .bind(e.client.ip)
    .bind(e.client.user_agent)
    .bind(e.details)
    .execute(store.db())
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    action: String,
    actor_id: Option<Uuid>,
    actor_name: Option<String>,
    target_type: Option<String>,
    target_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    created_at: OffsetDateTime,
    details: Value,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> AuditEntry {
        AuditEntry {
            id: r.id,
            action: r.action,
            actor_id: r.actor_id.map(UserId),
            actor_name: r.actor_name,
            target_type: r.target_type,
            target_id: r.target_id,
            ip: r.ip,
            user_agent: r.user_agent,
            created_at: r.created_at,
            details: r.details,
        }
    }
}

/// An audit cursor: the last id seen (ids only grow, so newest first is id descending).
fn audit_cursor(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("a{id}"))
}

fn audit_after(cursor: &str) -> Result<i64, StoreError> {
    let bad = || StoreError::invalid("cursor", "is not a cursor this server gave out");
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    raw.strip_prefix('a').and_then(|n| n.parse::<i64>().ok()).filter(|n| *n > 0).ok_or_else(bad)
}

pub(super) async fn audit_log(store: &PgStore, team: TeamId, after: Option<&str>, limit: i64) -> Result<Page<AuditEntry>, StoreError> {
    let after = after.map(audit_after).transpose()?;
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT a.id, a.action, a.actor_id, u.name AS actor_name, a.target_type, a.target_id, a.ip, a.user_agent,
                a.created_at, a.details
         FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id AND u.team_id = a.team_id
         WHERE a.team_id = $1 AND ($2::bigint IS NULL OR a.id < $2)
         ORDER BY a.id DESC LIMIT $3",
    )
    .bind(team.0)
    .bind(after)
    .bind(limit + 1)
    .fetch_all(store.db())
    .await?;
    Ok(page(rows, limit, |r| audit_cursor(r.id)))
}

pub(super) async fn assigned_threads(store: &PgStore, team: TeamId, user: UserId) -> Result<Vec<ThreadId>, StoreError> {
    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM threads WHERE team_id = $1 AND assignee_id = $2 ORDER BY id")
        .bind(team.0)
        .bind(user.0)
        .fetch_all(store.db())
        .await?;
    Ok(ids.into_iter().map(ThreadId).collect())
}
