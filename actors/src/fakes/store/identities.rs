//! `IdentityStore` in memory, with the Postgres store's semantics: pending logins by state hash
//! (expired ones dropped on each new one, each used once), identities unique by (issuer,
//! subject), invites accepted once, accounts without a password, the last way to sign in kept.

use super::{MemoryStore, UserRow, now};
use crate::audit::{Actor, Client};
use crate::domain::User;
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::ports::{FoundUser, Identity, IdentityStore, NewIdentity, OidcLogin, OpenInvite, Principal};
use async_trait::async_trait;
use serde_json::json;

impl super::State {
    fn found(&self, user: UserId) -> Option<FoundUser> {
        let row = self.users.get(&user)?;
        Some(FoundUser { user, team: row.user.team_id, active: row.deactivated_at.is_none() && !row.removed })
    }

    fn add_identity(&mut self, user: UserId, identity: &NewIdentity, client: &Client) -> DomainResult<()> {
        // A removed user's link gives way (the person may have joined again).
        let removed: Vec<UserId> = self.users.values().filter(|u| u.removed).map(|u| u.user.id).collect();
        self.identities.retain(|(u, i)| !(i.issuer == identity.issuer && i.subject == identity.subject && removed.contains(u)));
        if self.identities.iter().any(|(_, i)| i.issuer == identity.issuer && i.subject == identity.subject) {
            return Err(DomainError::Conflict("this identity is linked already".into()));
        }
        let id = IdentityId::new();
        let at = now();
        self.identities.push((
            user,
            Identity {
                id,
                issuer: identity.issuer.clone(),
                subject: identity.subject.clone(),
                email: Some(identity.email.clone()),
                created_at: at,
                last_used_at: Some(at),
            },
        ));
        let team = self.users[&user].user.team_id;
        self.audit_push(
            Some(team),
            Some(user),
            "identity.linked",
            "identity",
            Some(id.to_string()),
            client,
            json!({ "issuer": identity.issuer }),
        );
        Ok(())
    }
}

#[async_trait]
impl IdentityStore for MemoryStore {
    async fn create_oidc_login(&self, login: &OidcLogin) -> DomainResult<()> {
        self.enter("create_oidc_login").await?;
        let mut s = self.state();
        let now = now();
        s.oidc_logins.retain(|_, (l, _)| l.expires_at > now);
        s.oidc_logins.insert(login.state_hash.clone(), (login.clone(), false));
        Ok(())
    }

    async fn take_oidc_login(&self, state_hash: &[u8]) -> DomainResult<Option<OidcLogin>> {
        self.enter("take_oidc_login").await?;
        let mut s = self.state();
        let now = now();
        Ok(s.oidc_logins.get_mut(state_hash).filter(|(l, used)| !*used && l.expires_at > now).map(|(l, used)| {
            *used = true;
            l.clone()
        }))
    }

    async fn identity_user(&self, issuer: &str, subject: &str) -> DomainResult<Option<(IdentityId, FoundUser)>> {
        self.enter("identity_user").await?;
        let s = self.state();
        let linked = s.identities.iter().find(|(u, i)| i.issuer == issuer && i.subject == subject && !s.users[u].removed);
        Ok(linked.and_then(|(u, i)| Some((i.id, s.found(*u)?))))
    }

    async fn user_by_email(&self, email: &str) -> DomainResult<Option<FoundUser>> {
        self.enter("user_by_email").await?;
        let s = self.state();
        Ok(s.users.values().find(|u| u.user.email == email && !u.removed).and_then(|u| s.found(u.user.id)))
    }

    async fn identity_used(&self, id: IdentityId, email: &str) -> DomainResult<Principal> {
        self.enter("identity_used").await?;
        let mut s = self.state();
        let (user, identity) = s.identities.iter_mut().find(|(_, i)| i.id == id).ok_or(DomainError::NotFound("identity"))?;
        identity.last_used_at = Some(now());
        identity.email = Some(email.to_owned());
        let user = *user;
        s.principal(user)
    }

    async fn link_identity(&self, user: UserId, identity: &NewIdentity, client: &Client) -> DomainResult<Principal> {
        self.enter("link_identity").await?;
        let mut s = self.state();
        let p = s.principal(user)?;
        s.add_identity(user, identity, client)?;
        Ok(p)
    }

    async fn open_invite(&self, token_hash: Option<&[u8]>, email: &str) -> DomainResult<Option<OpenInvite>> {
        self.enter("open_invite").await?;
        let s = self.state();
        let now = now();
        let open = s.invites.iter().filter(|(_, i)| !i.accepted && !i.revoked && i.invite.expires_at > now);
        let found = match token_hash {
            Some(hash) => open.filter(|(h, _)| h.as_slice() == hash).map(|(_, i)| i).next(),
            None => open.filter(|(_, i)| i.invite.email.as_deref() == Some(email)).map(|(_, i)| i).max_by_key(|i| i.invite.created_at),
        };
        Ok(found.map(|i| OpenInvite { id: i.invite.id, team: i.invite.team_id, email: i.invite.email.clone() }))
    }

    async fn join_with_identity(&self, invite: InviteId, name: &str, identity: &NewIdentity, client: &Client) -> DomainResult<Principal> {
        self.enter("join_with_identity").await?;
        let mut s = self.state();
        if s.users.values().any(|u| u.user.email == identity.email && !u.removed) {
            return Err(DomainError::Conflict("an account with this email already exists".into()));
        }
        let now = now();
        let row = s
            .invites
            .values_mut()
            .find(|i| i.invite.id == invite && !i.accepted && !i.revoked && i.invite.expires_at > now)
            .ok_or(DomainError::NotFound("invite"))?;
        row.accepted = true;
        let (team, role) = (row.invite.team_id, row.invite.role);
        let user = User { id: UserId::new(), team_id: team, email: identity.email.clone(), name: name.to_owned(), role };
        let id = user.id;
        s.users.insert(id, UserRow { user, password_hash: None, created_at: now, deactivated_at: None, removed: false });
        s.audit_push(Some(team), Some(id), "user.created", "user", Some(id.to_string()), client, json!({ "email": identity.email }));
        s.audit_push(
            Some(team),
            Some(id),
            "invite.accepted",
            "invite",
            Some(invite.to_string()),
            client,
            json!({ "email": identity.email }),
        );
        s.add_identity(id, identity, client)?;
        s.principal(id)
    }

    async fn identities(&self, user: UserId) -> DomainResult<Vec<Identity>> {
        self.enter("identities").await?;
        let s = self.state();
        let mut list: Vec<Identity> = s.identities.iter().filter(|(u, _)| *u == user).map(|(_, i)| i.clone()).collect();
        list.sort_by_key(|i| (i.created_at, i.id));
        Ok(list)
    }

    async fn unlink_identity(&self, by: &Actor, id: IdentityId) -> DomainResult<()> {
        self.enter("unlink_identity").await?;
        let mut s = self.state();
        let user = by.user.id;
        let pos = s.identities.iter().position(|(u, i)| *u == user && i.id == id).ok_or(DomainError::NotFound("identity"))?;
        let has_password = s.users.get(&user).is_some_and(|u| u.password_hash.is_some());
        let count = s.identities.iter().filter(|(u, _)| *u == user).count() as i64;
        crate::rules::oidc::may_unlink(has_password, count)?;
        let (_, identity) = s.identities.remove(pos);
        s.audit_push(
            Some(by.team()),
            Some(user),
            "identity.unlinked",
            "identity",
            Some(id.to_string()),
            &by.client,
            json!({ "issuer": identity.issuer }),
        );
        Ok(())
    }
}
