//! Sign-in with the OIDC provider: pending logins (by the hash of their state, single use, ten
//! minutes; expired rows are deleted as new ones come), identities linked to users (unique by
//! issuer and subject), and accounts that join an invite without a password.

use super::members::{audit, refused};
use super::{PgStore, StoreError, Tx, op};
use actors::DomainResult;
use actors::audit::{Actor, Client};
use actors::domain::Role;
use actors::ids::{IdentityId, InviteId, TeamId, UserId};
use actors::ports::{FoundUser, Identity, IdentityStore, NewIdentity, OidcLogin, OpenInvite, Principal};
use async_trait::async_trait;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

/// An audit entry made by `user` themselves (signing in: there is no session yet).
#[allow(clippy::too_many_arguments)]
async fn audit_as(
    tx: &mut Tx<'_>,
    team: Uuid,
    user: Uuid,
    client: &Client,
    action: &str,
    target_type: &str,
    target_id: String,
    details: Value,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (team_id, actor_id, action, target_type, target_id, ip, user_agent, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(team)
    .bind(user)
    .bind(action)
    .bind(target_type)
    .bind(target_id)
    .bind(client.ip.as_deref())
    .bind(client.user_agent.as_deref())
    .bind(details)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Links `identity` to `user` of `team` in `tx` (audited), after dropping a removed user's link
/// of the same identity (the person may have been invited again).
async fn insert_identity(tx: &mut Tx<'_>, team: Uuid, user: Uuid, identity: &NewIdentity, client: &Client) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM user_identities i USING users u
         WHERE i.issuer = $1 AND i.subject = $2 AND u.id = i.user_id AND u.removed_at IS NOT NULL",
    )
    .bind(&identity.issuer)
    .bind(&identity.subject)
    .execute(tx.conn())
    .await?;
    let id = IdentityId::new();
    sqlx::query("INSERT INTO user_identities (id, user_id, issuer, subject, email, last_used_at) VALUES ($1, $2, $3, $4, $5, now())")
        .bind(id.0)
        .bind(user)
        .bind(&identity.issuer)
        .bind(&identity.subject)
        .bind(&identity.email)
        .execute(tx.conn())
        .await?;
    let details = json!({ "issuer": identity.issuer, "email": identity.email });
    audit_as(tx, team, user, client, "identity.linked", "identity", id.to_string(), details).await
}

#[derive(sqlx::FromRow)]
struct IdentityRow {
    id: Uuid,
    issuer: String,
    subject: String,
    email: Option<String>,
    created_at: OffsetDateTime,
    last_used_at: Option<OffsetDateTime>,
}

#[async_trait]
impl IdentityStore for PgStore {
    async fn create_oidc_login(&self, login: &OidcLogin) -> DomainResult<()> {
        op(async move {
            let mut tx = self.begin().await?;
            sqlx::query("DELETE FROM oidc_logins WHERE expires_at < now()").execute(tx.conn()).await?;
            sqlx::query(
                "INSERT INTO oidc_logins (state_hash, pkce_verifier, nonce, invite_hash, binding_hash, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&login.state_hash)
            .bind(&login.pkce_verifier)
            .bind(&login.nonce)
            .bind(login.invite_hash.as_deref())
            .bind(&login.binding_hash)
            .bind(login.expires_at)
            .execute(tx.conn())
            .await?;
            tx.commit().await
        })
        .await
    }

    async fn take_oidc_login(&self, state_hash: &[u8]) -> DomainResult<Option<OidcLogin>> {
        op(async move {
            // One conditional update: of two requests with one state, one gets the row.
            let row: Option<(Vec<u8>, String, String, Option<Vec<u8>>, Vec<u8>, OffsetDateTime)> = sqlx::query_as(
                "UPDATE oidc_logins SET used_at = now()
                 WHERE state_hash = $1 AND used_at IS NULL AND expires_at > now()
                 RETURNING state_hash, pkce_verifier, nonce, invite_hash, binding_hash, expires_at",
            )
            .bind(state_hash)
            .fetch_optional(self.db())
            .await?;
            Ok(row.map(|(state_hash, pkce_verifier, nonce, invite_hash, binding_hash, expires_at)| OidcLogin {
                state_hash,
                pkce_verifier,
                nonce,
                invite_hash,
                binding_hash,
                expires_at,
            }))
        })
        .await
    }

    async fn identity_user(&self, issuer: &str, subject: &str) -> DomainResult<Option<(IdentityId, FoundUser)>> {
        op(async move {
            let row: Option<(Uuid, Uuid, Uuid, bool)> = sqlx::query_as(
                "SELECT i.id, u.id, u.team_id, u.deactivated_at IS NULL
                 FROM user_identities i JOIN users u ON u.id = i.user_id
                 WHERE i.issuer = $1 AND i.subject = $2 AND u.removed_at IS NULL",
            )
            .bind(issuer)
            .bind(subject)
            .fetch_optional(self.db())
            .await?;
            Ok(row.map(|(id, user, team, active)| (IdentityId(id), FoundUser { user: UserId(user), team: TeamId(team), active })))
        })
        .await
    }

    async fn user_by_email(&self, email: &str) -> DomainResult<Option<FoundUser>> {
        op(async move {
            let row: Option<(Uuid, Uuid, bool)> =
                sqlx::query_as("SELECT id, team_id, deactivated_at IS NULL FROM users WHERE email = $1 AND removed_at IS NULL")
                    .bind(email)
                    .fetch_optional(self.db())
                    .await?;
            Ok(row.map(|(user, team, active)| FoundUser { user: UserId(user), team: TeamId(team), active }))
        })
        .await
    }

    async fn identity_used(&self, id: IdentityId, email: &str) -> DomainResult<Principal> {
        op(async move {
            let user: Uuid =
                sqlx::query_scalar("UPDATE user_identities SET last_used_at = now(), email = $2 WHERE id = $1 RETURNING user_id")
                    .bind(id.0)
                    .bind(email)
                    .fetch_optional(self.db())
                    .await?
                    .ok_or(StoreError::NotFound("identity"))?;
            super::accounts::principal(self.db(), user).await
        })
        .await
    }

    async fn link_identity(&self, user: UserId, identity: &NewIdentity, client: &Client) -> DomainResult<Principal> {
        op(async move {
            let mut tx = self.begin().await?;
            // Active, and locked: a deactivation waits for the link (or the link sees it).
            let team: Uuid =
                sqlx::query_scalar("SELECT team_id FROM users WHERE id = $1 AND deactivated_at IS NULL AND removed_at IS NULL FOR UPDATE")
                    .bind(user.0)
                    .fetch_optional(tx.conn())
                    .await?
                    .ok_or(StoreError::NotFound("user"))?;
            insert_identity(&mut tx, team, user.0, identity, client).await?;
            let p = super::accounts::principal(tx.conn(), user.0).await?;
            tx.commit().await?;
            Ok(p)
        })
        .await
    }

    async fn open_invite(&self, token_hash: Option<&[u8]>, email: &str) -> DomainResult<Option<OpenInvite>> {
        op(async move {
            let row: Option<(Uuid, Uuid, Option<String>)> = sqlx::query_as(
                "SELECT id, team_id, email FROM invites
                 WHERE accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
                   AND CASE WHEN $1::bytea IS NULL THEN email = $2 ELSE token_hash = $1 END
                 ORDER BY created_at DESC LIMIT 1",
            )
            .bind(token_hash)
            .bind(email)
            .fetch_optional(self.db())
            .await?;
            Ok(row.map(|(id, team, email)| OpenInvite { id: InviteId(id), team: TeamId(team), email }))
        })
        .await
    }

    async fn join_with_identity(&self, invite: InviteId, name: &str, identity: &NewIdentity, client: &Client) -> DomainResult<Principal> {
        op(async move {
            let mut tx = self.begin().await?;
            let (team, role): (Uuid, String) = sqlx::query_as(
                "UPDATE invites SET accepted_at = now()
                 WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
                 RETURNING team_id, role",
            )
            .bind(invite.0)
            .fetch_optional(tx.conn())
            .await?
            .ok_or(StoreError::NotFound("invite"))?;
            let role = Role::try_from(role)?;
            let user = UserId::new();
            // No password: password sign-in fails for this account like a wrong password.
            sqlx::query("INSERT INTO users (id, team_id, email, name, role, password_hash) VALUES ($1, $2, $3, $4, $5, NULL)")
                .bind(user.0)
                .bind(team)
                .bind(&identity.email)
                .bind(name)
                .bind(role.as_str())
                .execute(tx.conn())
                .await?;
            sqlx::query("UPDATE invites SET accepted_by = $1 WHERE id = $2").bind(user.0).bind(invite.0).execute(tx.conn()).await?;
            let details = json!({ "email": identity.email, "method": "oidc" });
            audit_as(&mut tx, team, user.0, client, "user.created", "user", user.to_string(), details.clone()).await?;
            audit_as(&mut tx, team, user.0, client, "invite.accepted", "invite", invite.to_string(), details).await?;
            insert_identity(&mut tx, team, user.0, identity, client).await?;
            let p = super::accounts::principal(tx.conn(), user.0).await?;
            tx.commit().await?;
            Ok(p)
        })
        .await
    }

    async fn identities(&self, user: UserId) -> DomainResult<Vec<Identity>> {
        op(async move {
            let rows: Vec<IdentityRow> = sqlx::query_as(
                "SELECT id, issuer, subject, email, created_at, last_used_at FROM user_identities
                 WHERE user_id = $1 ORDER BY created_at, id",
            )
            .bind(user.0)
            .fetch_all(self.db())
            .await?;
            Ok(rows
                .into_iter()
                .map(|r| Identity {
                    id: IdentityId(r.id),
                    issuer: r.issuer,
                    subject: r.subject,
                    email: r.email,
                    created_at: r.created_at,
                    last_used_at: r.last_used_at,
                })
                .collect())
        })
        .await
    }

    async fn unlink_identity(&self, by: &Actor, id: IdentityId) -> DomainResult<()> {
        op(async move {
            let mut tx = self.begin().await?;
            // The user's row is locked: two unlinks at once cannot both leave them with nothing.
            let (has_password, count): (bool, i64) = sqlx::query_as(
                "SELECT u.password_hash IS NOT NULL, (SELECT count(*) FROM user_identities i WHERE i.user_id = u.id)
                 FROM users u WHERE u.id = $1 FOR UPDATE",
            )
            .bind(by.user.id.0)
            .fetch_one(tx.conn())
            .await?;
            let issuer: String = sqlx::query_scalar("SELECT issuer FROM user_identities WHERE id = $1 AND user_id = $2")
                .bind(id.0)
                .bind(by.user.id.0)
                .fetch_optional(tx.conn())
                .await?
                .ok_or(StoreError::NotFound("identity"))?;
            actors::rules::oidc::may_unlink(has_password, count).map_err(refused)?;
            sqlx::query("DELETE FROM user_identities WHERE id = $1").bind(id.0).execute(tx.conn()).await?;
            audit(&mut tx, by.team(), by, "identity.unlinked", "identity", id.to_string(), json!({ "issuer": issuer })).await?;
            tx.commit().await
        })
        .await
    }
}
