//! Ports of accounts: users and sessions, API tokens, invites and members, the audit log,
//! two-factor, passwords and linked sign-in identities.

use super::*;
use crate::domain::*;
use crate::error::DomainResult;
use crate::ids::*;
use async_trait::async_trait;
use time::OffsetDateTime;

/// A signed-in user plus their team, as authentication resolves them.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user: User,
    pub team: Team,
    /// The team requires two-factor and this user has not turned it on: a session may reach
    /// only `/api/me` and the enrolment routes until they do (API tokens are not held back).
    pub two_factor_enrollment_due: bool,
}

/// A new team with its first admin, as sign-up creates it.
#[derive(Debug)]
pub struct NewAccount {
    pub team_name: Option<String>,
    /// SHA-256 of the invite token when joining an existing team.
    pub invite_hash: Option<Vec<u8>>,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    /// Simulated channels to give a brand-new team, so it works before any Twilio setup.
    pub simulated_channels: Vec<NewChannel>,
}

/// An invitation as created (the token itself is shown once and not stored).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Invite {
    pub id: InviteId,
    pub team_id: TeamId,
    pub email: Option<String>,
    pub role: Role,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Who made (or last re-sent) it.
    pub created_by: Option<UserId>,
}

/// A member of a team as admins manage them (removed members are not listed).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Member {
    #[serde(flatten)]
    pub user: User,
    /// `false` once deactivated: they cannot sign in, and their history stays readable.
    pub active: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub deactivated_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What an admin changes about a member; `None` leaves it as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemberChange {
    pub role: Option<Role>,
    pub active: Option<bool>,
    /// Removes the member from the team (it also deactivates them).
    pub remove: bool,
}

/// A member change as committed: the member after it, and the role and activity before.
#[derive(Clone, Debug)]
pub struct MemberChanged {
    pub member: Member,
    pub was_role: Role,
    pub was_active: bool,
}

/// An API token as listed (the secret itself is shown once at creation and never stored).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ApiToken {
    pub id: TokenId,
    pub name: String,
    /// Whose token it is: it acts as this user.
    pub user_id: UserId,
    pub user_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last authenticated a request, to the minute (updated at most once a minute).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// When it stops working; `None`: never.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// Reads of accounts, sessions, tokens and teams.
#[async_trait]
pub trait AccountReads: Send + Sync {
    /// The user with this email and their password hash (`None`: the account has no password,
    /// it signs in with its provider only).
    async fn credentials(&self, email: &str) -> DomainResult<Option<(Principal, Option<String>)>>;
    /// Until when sign-in is held back for `email` after failed attempts, if it is.
    async fn sign_in_blocked_until(&self, email: &str) -> DomainResult<Option<OffsetDateTime>>;
    /// Whether `device_hash` is a device the account of `email` has signed in from.
    async fn is_known_device(&self, email: &str, device_hash: &[u8]) -> DomainResult<bool>;
    /// The live session's user.
    async fn session_principal(&self, id_hash: &[u8]) -> DomainResult<Option<Principal>>;
    /// The user of a live token (neither revoked nor expired). The one side effect of a read:
    /// the lookup also stamps the token's `last_used_at`, at most once a minute, in the same
    /// statement (it runs on every request made with a token, so it must stay one round trip).
    async fn token_principal(&self, token_hash: &[u8]) -> DomainResult<Option<Principal>>;
    /// A team's live tokens (neither revoked nor expired), newest first, after an opaque
    /// cursor; only `owner`'s when given.
    async fn list_tokens(&self, team: TeamId, owner: Option<UserId>, cursor: Option<&str>, limit: i64) -> DomainResult<Page<ApiToken>>;
    /// The team's active members, by name (whom threads may be assigned to).
    async fn members(&self, team: TeamId) -> DomainResult<Vec<User>>;
    /// The team's members as admins manage them, deactivated ones included, by name.
    async fn team_members(&self, team: TeamId) -> DomainResult<Vec<Member>>;
    /// The team's open invites (neither accepted nor revoked; expired ones included, they can be
    /// re-sent), newest first, after an opaque cursor.
    async fn invites(&self, team: TeamId, cursor: Option<&str>, limit: i64) -> DomainResult<Page<Invite>>;
    /// The team's audit log, newest first, after an opaque cursor.
    async fn audit_log(&self, team: TeamId, cursor: Option<&str>, limit: i64) -> DomainResult<Page<crate::audit::AuditEntry>>;
    /// The threads of `team` assigned to `user`.
    async fn assigned_threads(&self, team: TeamId, user: UserId) -> DomainResult<Vec<ThreadId>>;
    /// A team.
    async fn team(&self, team: TeamId) -> DomainResult<Team>;
}

/// Writes to accounts: sign-up, sessions, tokens, invites.
#[async_trait]
pub trait AccountWrites: Send + Sync {
    /// Creates a team and its admin, or joins the invite's team; fails with Conflict when the
    /// email is taken and NotFound when the invite is unknown, used, revoked or expired.
    /// Records `user.created` (and `invite.accepted`) in the audit log.
    async fn create_account(&self, account: NewAccount, client: &Client) -> DomainResult<Principal>;
    /// Changes a member of `by`'s team as `rules::member_change` allows it (checked under a lock
    /// on the team's members, so two admins cannot demote each other to no admin at all). A
    /// deactivation or removal also revokes the member's sessions and API tokens. Each change
    /// is recorded in the audit log in the same transaction. NotFound for anyone not in the team.
    async fn change_member(&self, by: &Actor, member: UserId, change: MemberChange) -> DomainResult<MemberChanged>;
    /// Revokes an open invite of `by`'s team (audit-logged); NotFound otherwise.
    async fn revoke_invite(&self, by: &Actor, id: InviteId) -> DomainResult<()>;
    /// Gives an open invite a new token and expiry (the old link stops working; audit-logged).
    async fn renew_invite(&self, by: &Actor, id: InviteId, token_hash: &[u8], expires_at: OffsetDateTime) -> DomainResult<Invite>;
    /// Stores a session (by the hash of its id) until `expires_at`.
    async fn create_session(&self, user: UserId, id_hash: &[u8], expires_at: OffsetDateTime) -> DomainResult<()>;
    /// Ends a session.
    async fn revoke_session(&self, id_hash: &[u8]) -> DomainResult<()>;
    /// Counts a failed sign-in for `email` (known or not); answers the failures so far.
    async fn record_sign_in_failure(&self, email: &str) -> DomainResult<i32>;
    /// Holds sign-in back for `email` until `until`.
    async fn block_sign_in(&self, email: &str, until: OffsetDateTime) -> DomainResult<()>;
    /// Forgets the failed attempts of `email` (it signed in).
    async fn clear_sign_in_failures(&self, email: &str) -> DomainResult<()>;
    /// Remembers a device (by the hash of its cookie) the user signed in from.
    async fn remember_device(&self, user: UserId, device_hash: &[u8]) -> DomainResult<()>;
    /// Stores an API token for `by` (by its hash), valid until `expires_at` (`None`: until
    /// revoked), and records `token.created` in the audit log.
    async fn create_token(&self, by: &Actor, name: &str, token_hash: &[u8], expires_at: Option<OffsetDateTime>) -> DomainResult<ApiToken>;
    /// Revokes a token of `by`'s team that is not revoked yet (only one of `owner`'s when given)
    /// and records `token.revoked` in the audit log; NotFound otherwise (missing, another team's,
    /// someone else's, already revoked).
    /// Answers the revoked token's hash (its sockets are closed by it).
    async fn revoke_token(&self, by: &Actor, id: TokenId, owner: Option<UserId>) -> DomainResult<Vec<u8>>;
    /// Creates an invite to `by`'s team (audit-logged).
    async fn create_invite(
        &self,
        by: &Actor,
        email: Option<&str>,
        role: Role,
        token_hash: &[u8],
        expires_at: OffsetDateTime,
    ) -> DomainResult<Invite>;
}

/// The audit log's one write of its own: an entry for an event that changes nothing else (a
/// sign-in, an export) or whose change lives in another aggregate's store. Changes to accounts
/// write their entries in their own transaction instead.
#[async_trait]
pub trait AuditWrites: Send + Sync {
    async fn record_audit(&self, entry: NewAuditEntry) -> DomainResult<()>;
}

/// A user's two-factor sign-in, as the store keeps it (the secret opened: it is sealed at rest).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TwoFactorState {
    /// The TOTP secret (base32), pending or enabled; `None`: never set up, or turned off.
    pub secret: Option<String>,
    /// Whether a code confirmed the secret: sign-in asks for a code from then on.
    pub enabled: bool,
    /// The newest time step accepted: no code of it or an earlier one is good again.
    pub last_step: Option<u64>,
    /// Whether the user's team requires two-factor sign-in.
    pub team_requires: bool,
    /// Recovery codes not used yet.
    pub recovery_codes_left: i64,
}

/// Two-factor sign-in: per user a sealed TOTP secret, the last accepted step and recovery codes
/// (hashes, single use); per team whether it is required; sign-in challenges (by hash, a few
/// tries, single use). Changes a person makes are audit-logged in their own transaction.
#[async_trait]
pub trait TwoFactorStore: Send + Sync {
    /// The user's two-factor state (all off for a user who never set it up).
    async fn two_factor(&self, user: UserId) -> DomainResult<TwoFactorState>;
    /// Stores a new pending secret, sealed, replacing a pending one; Conflict when two-factor
    /// is already enabled.
    async fn begin_two_factor(&self, user: UserId, secret: &str) -> DomainResult<()>;
    /// Enables the pending secret, `step` being the confirmed code's, with new recovery codes
    /// (`two_factor.enabled`); Conflict when nothing is pending.
    async fn enable_two_factor(&self, by: &Actor, step: u64, recovery_hashes: &[Vec<u8>]) -> DomainResult<()>;
    /// Accepts `step` if it is newer than the last accepted one (atomically: of two requests
    /// with one code, one wins); false otherwise.
    async fn accept_step(&self, user: UserId, step: u64) -> DomainResult<bool>;
    /// Replaces every recovery code (`two_factor.recovery_codes_regenerated`).
    async fn replace_recovery_codes(&self, by: &Actor, recovery_hashes: &[Vec<u8>]) -> DomainResult<()>;
    /// Uses a recovery code once (`two_factor.recovery_code_used`); false when it is unknown or
    /// used.
    async fn use_recovery_code(&self, user: UserId, client: &Client, hash: &[u8]) -> DomainResult<bool>;
    /// Turns two-factor off, forgetting the secret and the codes (`two_factor.disabled`);
    /// Conflict while the team requires it (checked in the same transaction).
    async fn disable_two_factor(&self, by: &Actor) -> DomainResult<()>;
    /// Whether `by`'s team requires two-factor (`team.two_factor_required_changed`).
    async fn set_two_factor_required(&self, by: &Actor, required: bool) -> DomainResult<()>;
    /// Stores a sign-in challenge for `user` by the hash of its id; `first_factor` says how the
    /// first step was passed (`{method: "password"}`, `{method: "oidc", issuer}`), for the audit.
    async fn create_challenge(
        &self,
        user: UserId,
        id_hash: &[u8],
        expires_at: OffsetDateTime,
        first_factor: &serde_json::Value,
    ) -> DomainResult<()>;
    /// Counts a try of a challenge and answers its user, while it is live: not expired, not
    /// used, and tried fewer than `rules::totp::CHALLENGE_TRIES` times before.
    /// With the challenge's user comes its `first_factor`.
    async fn try_challenge(&self, id_hash: &[u8]) -> DomainResult<Option<(Principal, serde_json::Value)>>;
    /// Uses a challenge up; false when it was used already (two requests, one sign-in).
    async fn finish_challenge(&self, id_hash: &[u8]) -> DomainResult<bool>;
}

/// A sign-up waiting for its e-mail address to be confirmed (see `PasswordStore`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingSignUp {
    pub email: String,
    pub name: String,
    pub password_hash: String,
    /// A new team's name; `None` with an invite.
    pub team_name: Option<String>,
    pub invite_hash: Option<Vec<u8>>,
}

/// Passwords: changing one, reset links (by hash, expiring, used once) and sign-ups waiting
/// for their e-mail to be confirmed; and purging what has expired. Every change is audited in
/// its own transaction, and ends the sessions it must.
#[async_trait]
pub trait PasswordStore: Send + Sync {
    /// Sets `by`'s password hash and ends every other session of theirs (all of them when
    /// `keep_session` is `None`), audited `password.changed`. Answers the ended sessions' hashes.
    async fn change_password(&self, by: &Actor, password_hash: &str, keep_session: Option<&[u8]>) -> DomainResult<Vec<Vec<u8>>>;
    /// Stores a reset link for `user` by its hash, unless `user` already has `max_per_hour`
    /// links made in the last hour (then false). `by` is the admin who made it to hand over;
    /// `None` when the user asked by e-mail. Audited `password.reset_requested` or
    /// `password.reset_link_created`.
    async fn create_password_reset(
        &self,
        user: UserId,
        token_hash: &[u8],
        expires_at: OffsetDateTime,
        by: Option<&Actor>,
        client: &Client,
        max_per_hour: i64,
    ) -> DomainResult<bool>;
    /// The active user of a live (unused, unexpired) reset link.
    async fn password_reset_user(&self, token_hash: &[u8]) -> DomainResult<Option<Principal>>;
    /// Uses a live reset link: the new hash, every open link of the user used up, every
    /// session ended, failed sign-ins forgotten; audited `password.reset`. Answers the user and
    /// the ended sessions' hashes; `None` for an unknown, used or expired link.
    async fn reset_password(
        &self,
        token_hash: &[u8],
        password_hash: &str,
        client: &Client,
    ) -> DomainResult<Option<(Principal, Vec<Vec<u8>>)>>;
    /// Keeps a sign-up until its link is opened (or it expires).
    async fn create_pending_sign_up(&self, token_hash: &[u8], sign_up: &PendingSignUp, expires_at: OffsetDateTime) -> DomainResult<()>;
    /// Takes a live pending sign-up: it can be taken once.
    async fn take_pending_sign_up(&self, token_hash: &[u8]) -> DomainResult<Option<PendingSignUp>>;
    /// Deletes what can never be used again: expired or ended sessions, reset links, pending
    /// sign-ups, sign-in challenges, pending OIDC logins, failed sign-ins no longer holding anyone back, and API
    /// tokens expired or revoked more than `rules::KEEP_DEAD_TOKENS_DAYS` ago. Answers the
    /// rows deleted.
    async fn purge_expired(&self) -> DomainResult<u64>;
}

/// A sign-in started at the OIDC provider, kept until the browser comes back (ten minutes,
/// single use). Secrets the server only compares are kept as hashes.
#[derive(Clone, Debug)]
pub struct OidcLogin {
    /// SHA-256 of the `state` sent to the provider.
    pub state_hash: Vec<u8>,
    /// The PKCE verifier, sent with the code at the exchange.
    pub pkce_verifier: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// SHA-256 of the invite token the sign-in started with, if any.
    pub invite_hash: Option<Vec<u8>>,
    /// SHA-256 of the browser-binding cookie: the callback must come from the same browser.
    pub binding_hash: Vec<u8>,
    pub expires_at: OffsetDateTime,
}

/// Who the provider says signed in: the identity to match or link.
#[derive(Clone, Debug)]
pub struct NewIdentity {
    pub issuer: String,
    pub subject: String,
    /// The verified email (lower case).
    pub email: String,
}

/// A linked identity as its owner sees it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Identity {
    pub id: IdentityId,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

/// A user found for a sign-in (by identity or by email), active or not.
#[derive(Clone, Debug)]
pub struct FoundUser {
    pub user: UserId,
    pub team: TeamId,
    /// Deactivated (or removed) users sign in no more.
    pub active: bool,
}

/// An open invite (neither used, revoked nor expired) a sign-in may accept.
#[derive(Clone, Debug)]
pub struct OpenInvite {
    pub id: InviteId,
    pub team: TeamId,
    /// The address it is bound to, if any.
    pub email: Option<String>,
}

/// Sign-in with an OIDC provider: pending logins, and identities linked to users. Links and
/// joins are audit-logged in their own transaction.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Stores a pending login, deleting expired ones first (so the table stays small).
    async fn create_oidc_login(&self, login: &OidcLogin) -> DomainResult<()>;
    /// Uses a pending login up (live, unused) and answers it; `None` when there is none: unknown,
    /// expired or used (of two requests with one state, one gets it).
    async fn take_oidc_login(&self, state_hash: &[u8]) -> DomainResult<Option<OidcLogin>>;
    /// The user an identity is linked to (a removed user's link does not count).
    async fn identity_user(&self, issuer: &str, subject: &str) -> DomainResult<Option<(IdentityId, FoundUser)>>;
    /// The (not removed) user with this email.
    async fn user_by_email(&self, email: &str) -> DomainResult<Option<FoundUser>>;
    /// Stamps a linked identity's use (and the provider's current email); answers its user
    /// (NotFound when deactivated meanwhile).
    async fn identity_used(&self, id: IdentityId, email: &str) -> DomainResult<Principal>;
    /// Links `identity` to an active user (`identity.linked`, by the user); answers the user.
    async fn link_identity(&self, user: UserId, identity: &NewIdentity, client: &Client) -> DomainResult<Principal>;
    /// An open invite: the one with this token when given, else the newest bound to `email`.
    async fn open_invite(&self, token_hash: Option<&[u8]>, email: &str) -> DomainResult<Option<OpenInvite>>;
    /// Accepts an invite (still open, checked under a lock) with a new account that has no
    /// password, linked to `identity` (`user.created`, `invite.accepted`, `identity.linked`).
    /// NotFound when the invite is no longer open; Conflict when the email is taken.
    async fn join_with_identity(&self, invite: InviteId, name: &str, identity: &NewIdentity, client: &Client) -> DomainResult<Principal>;
    /// A user's linked identities, oldest first.
    async fn identities(&self, user: UserId) -> DomainResult<Vec<Identity>>;
    /// Unlinks one of `by`'s identities (`identity.unlinked`), unless it is their last way to
    /// sign in (`rules::oidc::may_unlink`, checked under a lock on the user): Conflict. NotFound
    /// for anyone else's.
    async fn unlink_identity(&self, by: &Actor, id: IdentityId) -> DomainResult<()>;
}
