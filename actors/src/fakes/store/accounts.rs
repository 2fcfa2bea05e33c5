//! `AccountStore` in memory: teams and users (one account per email), sessions and API tokens
//! kept by the hash of their secret (so router tests can authenticate), invites, members.

use super::{ChannelRow, InviteRow, MemoryStore, SessionRow, TokenRow, UserRow, decode_cursor, encode_cursor, now, page, storable};
use crate::domain::{Channel, Role, Team, User};
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::ports::{AccountReads, AccountWrites, ApiToken, Invite, NewAccount, Page, Principal};
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

    async fn credentials(&self, email: &str) -> DomainResult<Option<(Principal, String)>> {
        self.enter("credentials").await?;
        let s = self.state();
        match s.users.values().find(|u| u.user.email == email) {
            Some(u) => Ok(Some((s.principal(u.user.id)?, u.password_hash.clone()))),
            None => Ok(None),
        }
    }

    async fn session_principal(&self, id_hash: &[u8]) -> DomainResult<Option<Principal>> {
        self.enter("session_principal").await?;
        let s = self.state();
        match s.sessions.get(id_hash).filter(|r| !r.revoked && r.expires_at > now()) {
            Some(r) => s.principal(r.user).map(Some),
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
        s.principal(user).map(Some)
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
        let mut members: Vec<User> = s.users.values().filter(|u| u.user.team_id == team).map(|u| u.user.clone()).collect();
        members.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
        Ok(members)
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

    async fn create_account(&self, a: NewAccount) -> DomainResult<Principal> {
        self.enter("create_account").await?;
        for (field, text) in [("email", &a.email), ("name", &a.name)] {
            storable(field, text)?;
        }
        if a.name.is_empty() || a.name.chars().count() > 200 {
            return Err(DomainError::invalid("name", "is not acceptable (users_name_check)"));
        }
        let mut s = self.state();
        if s.users.values().any(|u| u.user.email == a.email) {
            return Err(DomainError::Conflict("an account with this email already exists".into()));
        }
        let (team, role) = match &a.invite_hash {
            Some(hash) => {
                let row = s
                    .invites
                    .get_mut(hash)
                    .filter(|i| !i.accepted && i.invite.expires_at > now())
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
        s.users.insert(id, UserRow { user, password_hash: a.password_hash });
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

    async fn create_token(&self, user: &User, name: &str, token_hash: &[u8], expires_at: Option<OffsetDateTime>) -> DomainResult<ApiToken> {
        self.enter("create_token").await?;
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
        Ok(token)
    }

    async fn revoke_token(&self, by: &User, id: TokenId, owner: Option<UserId>) -> DomainResult<Vec<u8>> {
        self.enter("revoke_token").await?;
        let mut s = self.state();
        let (hash, token) = s
            .tokens
            .iter_mut()
            .find(|(_, t)| t.id == id && t.team == by.team_id && owner.is_none_or(|o| t.user == o) && t.revoked_at.is_none())
            .ok_or(DomainError::NotFound("token"))?;
        token.revoked_at = Some(now());
        Ok(hash.clone())
    }

    async fn create_invite(
        &self,
        by: &User,
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
        let invite = Invite { id: InviteId::new(), team_id: by.team_id, email: email.map(str::to_owned), role, expires_at };
        s.invites.insert(token_hash.to_vec(), InviteRow { invite: invite.clone(), accepted: false });
        Ok(invite)
    }
}
