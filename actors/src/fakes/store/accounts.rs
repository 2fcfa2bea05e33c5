//! `AccountStore` in memory: teams and users (one account per email), sessions and API tokens
//! kept by the hash of their secret (so router tests can authenticate), invites, members.

use super::{ChannelRow, InviteRow, MemoryStore, SessionRow, TokenRow, UserRow, decode_cursor, encode_cursor, now, page, storable};
use crate::audit::{Actor, AuditEntry, Client, NewAuditEntry};
use crate::domain::{Channel, Role, Team, User};
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::ports::{
    AccountReads, AccountWrites, ApiToken, AuditWrites, Invite, Member, MemberChange, MemberChanged, NewAccount, Page, Principal,
};
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
impl AccountReads for MemoryStore {
    async fn sign_in_blocked_until(&self, email: &str) -> DomainResult<Option<OffsetDateTime>> {
        self.enter("sign_in_blocked_until").await?;
        Ok(self.state().sign_in_failures.get(email).and_then(|(_, until)| *until))
    }

    async fn is_known_device(&self, email: &str, device_hash: &[u8]) -> DomainResult<bool> {
        self.enter("is_known_device").await?;
        let s = self.state();
        let user = s.known_devices.get(device_hash).copied();
        Ok(user.is_some_and(|u| s.users.get(&u).is_some_and(|row| row.user.email == email)))
    }

    async fn credentials(&self, email: &str) -> DomainResult<Option<(Principal, Option<String>)>> {
        self.enter("credentials").await?;
        let s = self.state();
        match s.users.values().find(|u| u.user.email == email && u.deactivated_at.is_none()) {
            Some(u) => Ok(Some((s.principal(u.user.id)?, u.password_hash.clone()))),
            None => Ok(None),
        }
    }

    async fn session_principal(&self, id_hash: &[u8]) -> DomainResult<Option<Principal>> {
        self.enter("session_principal").await?;
        let s = self.state();
        match s.sessions.get(id_hash).filter(|r| !r.revoked && r.expires_at > now()) {
            Some(r) => Ok(s.principal(r.user).ok()),
            None => Ok(None),
        }
    }

    async fn token_principal(&self, token_hash: &[u8]) -> DomainResult<Option<Principal>> {
        self.enter("token_principal").await?;
        let mut s = self.state();
        let now = now();
        let Some(t) = s.tokens.get_mut(token_hash).filter(|t| t.live(now)) else {
            return Ok(None);
        };
        if t.last_used_at.is_none_or(|at| at < now - time::Duration::minutes(1)) {
            t.last_used_at = Some(now);
        }
        let user = t.user;
        Ok(s.principal(user).ok())
    }

    async fn list_tokens(&self, team: TeamId, owner: Option<UserId>, cursor: Option<&str>, limit: i64) -> DomainResult<Page<ApiToken>> {
        self.enter("list_tokens").await?;
        let after = cursor.map(decode_cursor).transpose()?;
        let s = self.state();
        let now = now();
        let mut rows: Vec<ApiToken> = s
            .tokens
            .values()
            .filter(|t| t.team == team && owner.is_none_or(|o| t.user == o) && t.live(now))
            .filter(|t| after.is_none_or(|a| (t.created_at, t.id.0) < a))
            .map(|t| ApiToken {
                id: t.id,
                name: t.name.clone(),
                user_id: t.user,
                user_name: s.users.get(&t.user).map(|u| u.user.name.clone()).unwrap_or_default(),
                created_at: t.created_at,
                last_used_at: t.last_used_at,
                expires_at: t.expires_at,
            })
            .collect();
        rows.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id.0)));
        Ok(page(rows, limit, |t| encode_cursor(t.created_at, t.id.0)))
    }

    async fn members(&self, team: TeamId) -> DomainResult<Vec<User>> {
        self.enter("members").await?;
        let s = self.state();
        let mut members: Vec<User> =
            s.users.values().filter(|u| u.user.team_id == team && u.deactivated_at.is_none()).map(|u| u.user.clone()).collect();
        members.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
        Ok(members)
    }

    async fn team_members(&self, team: TeamId) -> DomainResult<Vec<Member>> {
        self.enter("team_members").await?;
        let s = self.state();
        let mut members: Vec<Member> = s.users.values().filter(|u| u.user.team_id == team && !u.removed).map(|u| u.member()).collect();
        members.sort_by(|a, b| (&a.user.name, a.user.id).cmp(&(&b.user.name, b.user.id)));
        Ok(members)
    }

    async fn invites(&self, team: TeamId, cursor: Option<&str>, limit: i64) -> DomainResult<Page<Invite>> {
        self.enter("invites").await?;
        let after = cursor.map(decode_cursor).transpose()?;
        let s = self.state();
        let mut rows: Vec<Invite> = s
            .invites
            .values()
            .filter(|i| i.invite.team_id == team && !i.accepted && !i.revoked)
            .filter(|i| after.is_none_or(|a| (i.invite.created_at, i.invite.id.0) < a))
            .map(|i| i.invite.clone())
            .collect();
        rows.sort_by_key(|i| std::cmp::Reverse((i.created_at, i.id.0)));
        Ok(page(rows, limit, |i| encode_cursor(i.created_at, i.id.0)))
    }

    async fn audit_log(&self, team: TeamId, cursor: Option<&str>, limit: i64) -> DomainResult<Page<AuditEntry>> {
        self.enter("audit_log").await?;
        let after: Option<i64> = match cursor {
            Some(c) => Some(c.parse().map_err(|_| DomainError::invalid("cursor", "is not a cursor this server gave out"))?),
            None => None,
        };
        let s = self.state();
        let team_id = Some(team);
        let mut rows: Vec<AuditEntry> = s
            .audit
            .iter()
            .zip(s.audit_teams.iter())
            .filter(|(e, t)| **t == team_id && after.is_none_or(|a| e.id < a))
            .map(|(e, _)| e.clone())
            .collect();
        rows.sort_by_key(|e| std::cmp::Reverse(e.id));
        Ok(page(rows, limit, |e| e.id.to_string()))
    }

    async fn assigned_threads(&self, team: TeamId, user: UserId) -> DomainResult<Vec<ThreadId>> {
        self.enter("assigned_threads").await?;
        let s = self.state();
        let mut ids: Vec<ThreadId> = s.threads.values().filter(|t| t.team == team && t.assignee == Some(user)).map(|t| t.id).collect();
        ids.sort_by_key(|t| t.0);
        Ok(ids)
    }

    async fn team(&self, team: TeamId) -> DomainResult<Team> {
        self.enter("team").await?;
        self.state().team_row(team)
    }
}

#[async_trait]
impl AccountWrites for MemoryStore {
    async fn record_sign_in_failure(&self, email: &str) -> DomainResult<i32> {
        self.enter("record_sign_in_failure").await?;
        let mut s = self.state();
        let entry = s.sign_in_failures.entry(email.to_owned()).or_insert((0, None));
        entry.0 += 1;
        Ok(entry.0)
    }

    async fn block_sign_in(&self, email: &str, until: OffsetDateTime) -> DomainResult<()> {
        self.enter("block_sign_in").await?;
        if let Some(entry) = self.state().sign_in_failures.get_mut(email) {
            entry.1 = Some(until);
        }
        Ok(())
    }

    async fn clear_sign_in_failures(&self, email: &str) -> DomainResult<()> {
        self.enter("clear_sign_in_failures").await?;
        self.state().sign_in_failures.remove(email);
        Ok(())
    }

    async fn remember_device(&self, user: UserId, device_hash: &[u8]) -> DomainResult<()> {
        self.enter("remember_device").await?;
        let mut s = self.state();
        // A device already known for someone else stays theirs (as the Postgres upsert keeps it).
        s.known_devices.entry(device_hash.to_vec()).or_insert(user);
        Ok(())
    }

    async fn change_member(&self, by: &Actor, member: UserId, change: MemberChange) -> DomainResult<MemberChanged> {
        self.enter("change_member").await?;
        let mut s = self.state();
        let team = by.team();
        let members: Vec<Member> = s.users.values().filter(|u| u.user.team_id == team && !u.removed).map(|u| u.member()).collect();
        crate::rules::member_change(&members, &by.user, member, change)?;
        let row = s.users.get_mut(&member).ok_or(DomainError::NotFound("member"))?;
        let before = row.member();
        let deactivate = change.remove || change.active == Some(false);
        if let Some(role) = change.role {
            row.user.role = role;
        }
        if deactivate {
            row.deactivated_at = row.deactivated_at.or(Some(now()));
        } else if change.active == Some(true) {
            row.deactivated_at = None;
        }
        row.removed |= change.remove;
        let after = row.member();
        if deactivate {
            s.sessions.values_mut().filter(|r| r.user == member).for_each(|r| r.revoked = true);
            s.tokens.values_mut().filter(|t| t.user == member && t.revoked_at.is_none()).for_each(|t| t.revoked_at = Some(now()));
        }
        let target = Some(member.to_string());
        if before.user.role != after.user.role {
            let details = serde_json::json!({ "from": before.user.role, "to": after.user.role });
            s.audit_push(Some(team), Some(by.user.id), "member.role_changed", "user", target.clone(), &by.client, details);
        }
        let action = match (change.remove, before.active, after.active) {
            (true, _, _) => Some("member.removed"),
            (false, true, false) => Some("member.deactivated"),
            (false, false, true) => Some("member.reactivated"),
            _ => None,
        };
        if let Some(action) = action {
            s.audit_push(Some(team), Some(by.user.id), action, "user", target, &by.client, serde_json::json!({}));
        }
        Ok(MemberChanged { was_role: before.user.role, was_active: before.active, member: after })
    }

    async fn revoke_invite(&self, by: &Actor, id: InviteId) -> DomainResult<()> {
        self.enter("revoke_invite").await?;
        let mut s = self.state();
        let row = s
            .invites
            .values_mut()
            .find(|i| i.invite.id == id && i.invite.team_id == by.team() && !i.accepted && !i.revoked)
            .ok_or(DomainError::NotFound("invite"))?;
        row.revoked = true;
        s.audit_push(
            Some(by.team()),
            Some(by.user.id),
            "invite.revoked",
            "invite",
            Some(id.to_string()),
            &by.client,
            serde_json::json!({}),
        );
        Ok(())
    }

    async fn renew_invite(&self, by: &Actor, id: InviteId, token_hash: &[u8], expires_at: OffsetDateTime) -> DomainResult<Invite> {
        self.enter("renew_invite").await?;
        let mut s = self.state();
        let old = s
            .invites
            .iter()
            .find(|(_, i)| i.invite.id == id && i.invite.team_id == by.team() && !i.accepted && !i.revoked)
            .map(|(hash, _)| hash.clone())
            .ok_or(DomainError::NotFound("invite"))?;
        let mut row = s.invites.remove(&old).ok_or(DomainError::NotFound("invite"))?;
        row.invite.expires_at = expires_at;
        row.invite.created_at = now();
        row.invite.created_by = Some(by.user.id);
        let invite = row.invite.clone();
        s.invites.insert(token_hash.to_vec(), row);
        s.audit_push(Some(by.team()), Some(by.user.id), "invite.resent", "invite", Some(id.to_string()), &by.client, serde_json::json!({}));
        Ok(invite)
    }

    async fn create_account(&self, a: NewAccount, client: &Client) -> DomainResult<Principal> {
        self.enter("create_account").await?;
        for (field, text) in [("email", &a.email), ("name", &a.name)] {
            storable(field, text)?;
        }
        if a.name.is_empty() || a.name.chars().count() > 200 {
            return Err(DomainError::invalid("name", "is not acceptable (users_name_check)"));
        }
        let mut s = self.state();
        if s.users.values().any(|u| u.user.email == a.email && !u.removed) {
            return Err(DomainError::Conflict("an account with this email already exists".into()));
        }
        let (team, role) = match &a.invite_hash {
            Some(hash) => {
                let row = s
                    .invites
                    .get_mut(hash)
                    .filter(|i| !i.accepted && !i.revoked && i.invite.expires_at > now())
                    .ok_or(DomainError::NotFound("invite"))?;
                if row.invite.email.as_ref().is_some_and(|e| *e != a.email) {
                    return Err(DomainError::invalid("email", "this invite is for another email address"));
                }
                row.accepted = true;
                (row.invite.team_id, row.invite.role)
            }
            None => {
                let name = a.team_name.clone().unwrap_or_else(|| "My team".into());
                storable("name", &name)?;
                for ch in &a.simulated_channels {
                    let taken = s.channels.values().any(|c| {
                        !c.deleted && c.channel.account_sid == ch.account_sid && c.channel.number == ch.number && c.channel.kind == ch.kind
                    });
                    if taken {
                        return Err(DomainError::Conflict("this number is already configured".into()));
                    }
                }
                let team = TeamId::new();
                s.teams.insert(team, name);
                for ch in &a.simulated_channels {
                    let channel = Channel {
                        id: ChannelId::new(),
                        team_id: team,
                        kind: ch.kind,
                        number: ch.number.clone(),
                        account_sid: ch.account_sid.clone(),
                        auth_token: ch.auth_token.clone().into(),
                        messaging_service_sid: None,
                        simulated: true,
                    };
                    s.channels.insert(channel.id, ChannelRow { channel, created_at: now(), deleted: false });
                }
                (team, Role::Admin)
            }
        };
        let user = User { id: UserId::new(), team_id: team, email: a.email, name: a.name, role };
        let id = user.id;
        s.users.insert(id, UserRow { user, password_hash: Some(a.password_hash), created_at: now(), deactivated_at: None, removed: false });
        s.audit_push(Some(team), Some(id), "user.created", "user", Some(id.to_string()), client, serde_json::json!({}));
        s.principal(id)
    }

    async fn create_session(&self, user: UserId, id_hash: &[u8], expires_at: OffsetDateTime) -> DomainResult<()> {
        self.enter("create_session").await?;
        let mut s = self.state();
        if !s.users.contains_key(&user) {
            return Err(DomainError::invalid("request", "is not acceptable (auth_sessions_user_id_fkey)"));
        }
        if s.sessions.contains_key(id_hash) {
            return Err(DomainError::Conflict("this already exists".into()));
        }
        s.sessions.insert(id_hash.to_vec(), SessionRow { user, expires_at, revoked: false });
        Ok(())
    }

    async fn revoke_session(&self, id_hash: &[u8]) -> DomainResult<()> {
        self.enter("revoke_session").await?;
        if let Some(r) = self.state().sessions.get_mut(id_hash) {
            r.revoked = true;
        }
        Ok(())
    }

    async fn create_token(&self, by: &Actor, name: &str, token_hash: &[u8], expires_at: Option<OffsetDateTime>) -> DomainResult<ApiToken> {
        self.enter("create_token").await?;
        let user = &by.user;
        storable("name", name)?;
        let mut s = self.state();
        if !s.users.contains_key(&user.id) {
            return Err(DomainError::invalid("request", "is not acceptable (api_tokens_user_id_fkey)"));
        }
        if s.tokens.contains_key(token_hash) {
            return Err(DomainError::Conflict("this already exists".into()));
        }
        let row = TokenRow {
            id: TokenId::new(),
            team: user.team_id,
            user: user.id,
            name: name.to_owned(),
            created_at: now(),
            last_used_at: None,
            expires_at,
            revoked_at: None,
        };
        let token = ApiToken {
            id: row.id,
            name: row.name.clone(),
            user_id: user.id,
            user_name: user.name.clone(),
            created_at: row.created_at,
            last_used_at: None,
            expires_at,
        };
        s.tokens.insert(token_hash.to_vec(), row);
        let target = Some(token.id.to_string());
        s.audit_push(Some(user.team_id), Some(user.id), "token.created", "token", target, &by.client, serde_json::json!({ "name": name }));
        Ok(token)
    }

    async fn revoke_token(&self, by: &Actor, id: TokenId, owner: Option<UserId>) -> DomainResult<Vec<u8>> {
        self.enter("revoke_token").await?;
        let mut s = self.state();
        let (hash, token) = s
            .tokens
            .iter_mut()
            .find(|(_, t)| t.id == id && t.team == by.team() && owner.is_none_or(|o| t.user == o) && t.revoked_at.is_none())
            .ok_or(DomainError::NotFound("token"))?;
        token.revoked_at = Some(now());
        let hash = hash.clone();
        s.audit_push(Some(by.team()), Some(by.user.id), "token.revoked", "token", Some(id.to_string()), &by.client, serde_json::json!({}));
        Ok(hash)
    }

    async fn create_invite(
        &self,
        by: &Actor,
        email: Option<&str>,
        role: Role,
        token_hash: &[u8],
        expires_at: OffsetDateTime,
    ) -> DomainResult<Invite> {
        self.enter("create_invite").await?;
        if let Some(email) = email {
            storable("email", email)?;
        }
        let mut s = self.state();
        if s.invites.contains_key(token_hash) {
            return Err(DomainError::Conflict("this already exists".into()));
        }
        let invite = Invite {
            id: InviteId::new(),
            team_id: by.team(),
            email: email.map(str::to_owned),
            role,
            created_at: now(),
            expires_at,
            created_by: Some(by.user.id),
        };
        s.invites.insert(token_hash.to_vec(), InviteRow { invite: invite.clone(), accepted: false, revoked: false });
        let target = Some(invite.id.to_string());
        s.audit_push(Some(by.team()), Some(by.user.id), "invite.created", "invite", target, &by.client, serde_json::json!({}));
        Ok(invite)
    }
}

#[async_trait]
impl AuditWrites for MemoryStore {
    async fn record_audit(&self, e: NewAuditEntry) -> DomainResult<()> {
        self.enter("record_audit").await?;
        self.state().audit_push(e.team, e.actor, e.action, e.target_type, e.target_id, &e.client, e.details);
        Ok(())
    }
}
