//! The identities service: signing in with the deployment's OIDC provider, after the edge has
//! verified the ID token (signature, issuer, audience, expiry, nonce). It decides whom the
//! provider's claims sign in, in this order: a linked identity (issuer, subject); else an active
//! user with that verified email (the identity gets linked); else an open invite (the one the
//! sign-in started with, or one bound to that email), which creates an account without a
//! password in the invite's team. Nobody else: signing in with the provider never creates a
//! team. It also lists and unlinks a user's identities.

use crate::audit::{Actor, Client, NewAuditEntry};
use crate::error::{DomainError, DomainResult};
use crate::ids::{IdentityId, UserId};
use crate::ports::{AccountStore, FoundUser, Identity, NewIdentity, OidcLogin, Principal};
use crate::rules;
use crate::rules::oidc::Refusal;
use std::sync::Arc;

/// What the provider's verified ID token says about who signed in.
#[derive(Clone, Debug)]
pub struct ProviderClaims {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
}

/// Sign-in with the provider, and linked identities.
pub struct Identities {
    store: Arc<dyn AccountStore>,
}

impl Identities {
    /// The service over `store`.
    pub fn new(store: Arc<dyn AccountStore>) -> Self {
        Identities { store }
    }

    /// Keeps a sign-in started at the provider until the browser comes back.
    pub async fn begin(&self, login: &OidcLogin) -> DomainResult<()> {
        self.store.create_oidc_login(login).await
    }

    /// Uses a started sign-in up; `None` when it is unknown, expired or used.
    pub async fn take(&self, state_hash: &[u8]) -> DomainResult<Option<OidcLogin>> {
        self.store.take_oidc_login(state_hash).await
    }

    /// Whom `claims` sign in (see the module's header), or why nobody. A refusal of a known user
    /// is audited (`sign_in.failed` with the reason); the success is the edge's to audit, with
    /// the session it starts.
    pub async fn sign_in(
        &self,
        claims: &ProviderClaims,
        invite_hash: Option<&[u8]>,
        client: &Client,
    ) -> DomainResult<Result<Principal, Refusal>> {
        let linked = self.store.identity_user(&claims.issuer, &claims.subject).await?;
        let email = claims.email.as_deref().map(rules::account_email).and_then(Result::ok);
        // No email, or one that is not an address, is as good as an unverified one.
        let email = match (rules::oidc::verified(claims.email_verified), email) {
            (Ok(()), Some(email)) => email,
            _ => {
                let refusal = Refusal::EmailUnverified;
                if let Some((_, user)) = &linked {
                    self.refused(user, refusal, claims, client).await;
                }
                return Ok(Err(refusal));
            }
        };
        let identity = NewIdentity { issuer: claims.issuer.clone(), subject: claims.subject.clone(), email: email.clone() };
        if let Some((id, user)) = linked {
            if !user.active {
                return Ok(Err(self.refused(&user, Refusal::Deactivated, claims, client).await));
            }
            return self.deactivated_meanwhile(&user, self.store.identity_used(id, &email).await, claims, client).await;
        }
        if let Some(user) = self.store.user_by_email(&email).await? {
            if !user.active {
                return Ok(Err(self.refused(&user, Refusal::Deactivated, claims, client).await));
            }
            let linked = self.store.link_identity(user.user, &identity, client).await;
            return self.deactivated_meanwhile(&user, linked, claims, client).await;
        }
        let Some(invite) = self.store.open_invite(invite_hash, &email).await? else {
            return Ok(Err(if invite_hash.is_some() { Refusal::Invite } else { Refusal::NoAccount }));
        };
        if let Err(refusal) = rules::oidc::invite_for(invite.email.as_deref(), &email) {
            return Ok(Err(refusal));
        }
        let name = rules::oidc::account_name(claims.name.as_deref(), &email);
        match self.store.join_with_identity(invite.id, &name, &identity, client).await {
            Ok(p) => Ok(Ok(p)),
            // Used or revoked between the lookup and the join.
            Err(DomainError::NotFound(_)) => Ok(Err(Refusal::Invite)),
            Err(e) => Err(e),
        }
    }

    /// A user found active, then gone from the store's answer (deactivated in between): refused.
    async fn deactivated_meanwhile(
        &self,
        user: &FoundUser,
        found: DomainResult<Principal>,
        claims: &ProviderClaims,
        client: &Client,
    ) -> DomainResult<Result<Principal, Refusal>> {
        match found {
            Ok(p) => Ok(Ok(p)),
            Err(DomainError::NotFound(_)) => Ok(Err(self.refused(user, Refusal::Deactivated, claims, client).await)),
            Err(e) => Err(e),
        }
    }

    /// Audits a refused sign-in of a known user, in their team.
    async fn refused(&self, user: &FoundUser, refusal: Refusal, claims: &ProviderClaims, client: &Client) -> Refusal {
        let entry = NewAuditEntry {
            team: Some(user.team),
            actor: Some(user.user),
            action: "sign_in.failed",
            target_type: "user",
            target_id: Some(user.user.to_string()),
            client: client.clone(),
            details: serde_json::json!({ "method": "oidc", "issuer": claims.issuer, "reason": refusal.code() }),
        };
        crate::audit::record(&*self.store, entry).await;
        refusal
    }

    /// A user's linked identities, oldest first.
    pub async fn list(&self, user: UserId) -> DomainResult<Vec<Identity>> {
        self.store.identities(user).await
    }

    /// Unlinks one of `by`'s identities; Conflict when it is their last way to sign in, "identity
    /// not found" for anyone else's.
    pub async fn unlink(&self, by: &Actor, id: IdentityId) -> DomainResult<()> {
        self.store.unlink_identity(by, id).await.map_err(|e| match e {
            DomainError::NotFound(_) => DomainError::NotFound("identity"),
            e => e,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;
    use crate::fakes::MemoryStore;
    use crate::fakes::seed;
    use crate::ports::{AccountWrites, IdentityStore, MemberChange};

    fn claims(subject: &str, email: &str, verified: bool) -> ProviderClaims {
        ProviderClaims {
            issuer: "https://idp.test".into(),
            subject: subject.into(),
            email: Some(email.into()),
            email_verified: Some(verified),
            name: Some("Zoe Lima".into()),
        }
    }

    #[tokio::test]
    async fn matching_order_and_refusals() {
        let store = Arc::new(MemoryStore::new());
        let team = seed::team(&store, "Acme").await;
        let ids = Identities::new(store.clone());
        let client = Client::default();

        // Unverified, even for a known email: refused.
        let refused = ids.sign_in(&claims("s1", "agent@acme.test", false), None, &client).await.unwrap();
        assert_eq!(refused.unwrap_err(), Refusal::EmailUnverified);
        // A known, verified email: signed in and linked; then the subject finds them whatever the email.
        let p = ids.sign_in(&claims("s1", "AGENT@acme.test", true), None, &client).await.unwrap().unwrap();
        assert_eq!(p.user.id, team.agent.id);
        let p = ids.sign_in(&claims("s1", "renamed@elsewhere.test", true), None, &client).await.unwrap().unwrap();
        assert_eq!(p.user.id, team.agent.id);
        let linked = ids.list(team.agent.id).await.unwrap();
        assert_eq!((linked.len(), linked[0].email.as_deref()), (1, Some("renamed@elsewhere.test")));
        // Unknown: nobody, and no invite.
        let refused = ids.sign_in(&claims("s2", "zoe@acme.test", true), None, &client).await.unwrap();
        assert_eq!(refused.unwrap_err(), Refusal::NoAccount);
        // An invite bound to the email: a passwordless account in its team.
        let by = Actor::new(team.admin.clone(), client.clone());
        let expires = crate::clock::now() + time::Duration::days(1);
        store.create_invite(&by, Some("zoe@acme.test"), Role::Agent, b"zoe-invite", expires).await.unwrap();
        let zoe = ids.sign_in(&claims("s2", "zoe@acme.test", true), None, &client).await.unwrap().unwrap();
        assert_eq!((zoe.team.id, zoe.user.name.as_str()), (team.id, "Zoe Lima"));
        // Her only way in cannot be unlinked; the agent (with a password) may unlink his.
        let zoe_actor = Actor::new(zoe.user.clone(), client.clone());
        let only = ids.list(zoe.user.id).await.unwrap()[0].id;
        assert!(matches!(ids.unlink(&zoe_actor, only).await, Err(DomainError::Conflict(_))));
        assert!(matches!(ids.unlink(&zoe_actor, linked[0].id).await, Err(DomainError::NotFound("identity"))));
        ids.unlink(&Actor::new(team.agent.clone(), client.clone()), linked[0].id).await.unwrap();
        // Deactivated: refused.
        store.change_member(&by, zoe.user.id, MemberChange { active: Some(false), ..Default::default() }).await.unwrap();
        let refused = ids.sign_in(&claims("s2", "zoe@acme.test", true), None, &client).await.unwrap();
        assert_eq!(refused.unwrap_err(), Refusal::Deactivated);
        // A used or unknown invite token.
        let refused = ids.sign_in(&claims("s3", "yan@acme.test", true), Some(b"zoe-invite"), &client).await.unwrap();
        assert_eq!(refused.unwrap_err(), Refusal::Invite);
        assert!(store.take_oidc_login(b"nothing").await.unwrap().is_none());
    }
}
