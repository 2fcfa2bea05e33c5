//! The traits the core needs from outside: the store (Postgres), the bus (Redis or in-process)
//! and the carrier (Twilio or the simulator). `src/` implements them; tests may too.
//!
//! The store is split by aggregate so each implementation file stays small. Every method is one
//! transaction, and every method that changes a thread returns the events it appended, so the
//! caller can fan out exactly what was committed.

pub use crate::audit::{Actor, Client, NewAuditEntry};
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

/// A channel to add to a team.
#[derive(Debug)]
pub struct NewChannel {
    pub kind: ChannelKind,
    pub number: String,
    pub account_sid: String,
    pub auth_token: String,
    pub messaging_service_sid: Option<String>,
    pub simulated: bool,
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

/// A page of a listing; `next_cursor` is opaque to clients.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A new contact, checked and normalized (by the contacts service).
#[derive(Clone, Debug, Default)]
pub struct NewContact {
    pub name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: String,
    pub email: Option<String>,
    pub tags: Vec<String>,
    pub company: Option<String>,
    pub notes: Option<String>,
    pub source: Option<String>,
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
    pub opted_out: bool,
    pub opt_out_reason: Option<String>,
}

impl NewContact {
    /// A contact with a name and a phone only.
    pub fn basic(name: &str, phone: &str) -> NewContact {
        NewContact { name: name.to_owned(), phone: phone.to_owned(), ..NewContact::default() }
    }
}

/// Changes to a contact; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct ContactPatch {
    pub name: Option<String>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub phone: Option<String>,
    pub email: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub company: Option<Option<String>>,
    pub notes: Option<Option<String>>,
    pub source: Option<Option<String>>,
    /// Replaces every custom field value.
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// Opting out keeps the first time (and sets the reason when given); opting back in
    /// clears both.
    pub opted_out: Option<bool>,
    pub opt_out_reason: Option<Option<String>>,
    /// Soft delete (true) or restore (false).
    pub deleted: Option<bool>,
}

/// How the contacts page orders contacts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactSort {
    /// Newest first.
    #[default]
    Created,
    /// By name, A to Z.
    Name,
    /// Most recent message first; never-messaged contacts last.
    Activity,
}

/// Which contacts a listing shows.
#[derive(Clone, Debug, Default)]
pub struct ContactFilter {
    /// In the name, phone, email or company.
    pub search: Option<String>,
    /// Carrying this tag.
    pub tag: Option<String>,
    pub sort: ContactSort,
    /// The deleted contacts instead of the live ones.
    pub deleted: bool,
    /// In this list (static members, or a segment's filter as it reads now).
    pub list_id: Option<ListId>,
}

/// Reads of a team's contacts.
#[async_trait]
pub trait ContactReads: Send + Sync {
    /// A page of the contacts `filter` selects, in its order (keyset cursor).
    async fn list_contacts(&self, team: TeamId, filter: &ContactFilter, cursor: Option<&str>, limit: i64) -> DomainResult<Page<Contact>>;
    /// One contact of the team (a deleted one too).
    async fn contact(&self, team: TeamId, id: ContactId) -> DomainResult<Contact>;
    /// The threads of a contact.
    async fn contact_threads(&self, team: TeamId, id: ContactId) -> DomainResult<Vec<ThreadId>>;
    /// The team's custom contact fields, by key.
    async fn contact_fields(&self, team: TeamId) -> DomainResult<Vec<crate::domain::ContactField>>;
}

/// Writes to a team's contacts (the contacts service is their one caller).
#[async_trait]
pub trait ContactWrites: Send + Sync {
    /// A new contact; Conflict when the phone is already a contact of this team (a deleted one
    /// too: restore it instead).
    async fn create_contact(&self, team: TeamId, contact: &NewContact) -> DomainResult<Contact>;
    /// Applies a patch; Conflict on a duplicate phone.
    async fn update_contact(&self, team: TeamId, id: ContactId, patch: ContactPatch) -> DomainResult<Contact>;
    /// Deletes a contact for good with its threads; answers the threads that were deleted.
    async fn purge_contact(&self, team: TeamId, id: ContactId) -> DomainResult<Vec<ThreadId>>;
    /// Replaces the team's custom contact fields; values of dropped keys are removed from
    /// every contact.
    async fn set_contact_fields(&self, team: TeamId, fields: &[crate::domain::ContactField]) -> DomainResult<()>;
    /// Sets (or clears) the country local numbers are read in.
    async fn set_default_country(&self, team: TeamId, country: Option<&str>) -> DomainResult<()>;
}

/// A canned reply to store, as the rules checked it.
#[derive(Clone, Debug)]
pub struct NewReply {
    pub team: TeamId,
    /// `None`: a team reply.
    pub owner: Option<UserId>,
    pub shortcut: String,
    pub title: String,
    pub body: String,
    pub created_by: UserId,
}

/// Changes to a canned reply, as the rules checked them; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ReplyPatch {
    pub shortcut: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
}

/// Reads of a team's canned replies.
#[async_trait]
pub trait ReplyReads: Send + Sync {
    /// The replies `viewer` sees (the team's and their own personal ones) whose shortcut or
    /// title contains `search`, by shortcut, after an opaque cursor.
    async fn list_replies(
        &self,
        team: TeamId,
        viewer: UserId,
        search: Option<&str>,
        cursor: Option<&str>,
        limit: i64,
    ) -> DomainResult<Page<CannedReply>>;
    /// One reply of the team, whoever owns it (the rules decide who sees it).
    async fn reply(&self, team: TeamId, id: ReplyId) -> DomainResult<CannedReply>;
}

/// Writes to canned replies (the replies service is their one caller).
#[async_trait]
pub trait ReplyWrites: Send + Sync {
    /// A new reply; Conflict when its shortcut is taken in its scope (the team's replies, or
    /// the owner's).
    async fn create_reply(&self, reply: NewReply) -> DomainResult<CannedReply>;
    /// Applies a patch; Conflict on a taken shortcut.
    async fn update_reply(&self, team: TeamId, id: ReplyId, patch: ReplyPatch) -> DomainResult<CannedReply>;
    /// Deletes a reply of `by`'s team and records `reply.deleted` in the audit log, in one
    /// transaction; answers the reply as it was.
    async fn delete_reply(&self, by: &Actor, id: ReplyId) -> DomainResult<CannedReply>;
}

/// A change to a thread's state. A status other than `snoozed` clears the snooze's end;
/// `snoozed_until` goes with `status: snoozed` (checked by `rules::thread_change`).
#[derive(Clone, Copy, Debug, Default)]
pub struct ThreadChange {
    pub status: Option<ThreadStatus>,
    pub snoozed_until: Option<OffsetDateTime>,
    /// `Some(None)` unassigns.
    pub assignee: Option<Option<UserId>>,
}

/// Reads of a team's contact lists (static lists and segments).
#[async_trait]
pub trait ListReads: Send + Sync {
    /// A page of the team's lists by name (keyset), with their member counts.
    async fn lists(&self, team: TeamId, cursor: Option<&str>, limit: i64) -> DomainResult<Page<ContactList>>;
    /// One list of the team.
    async fn list(&self, team: TeamId, id: ListId) -> DomainResult<ContactList>;
    /// The lists a contact is in now (static membership or a segment's filter).
    async fn contact_lists(&self, team: TeamId, contact: ContactId) -> DomainResult<Vec<ContactList>>;
    /// Up to `limit` live contacts `filter` selects (a list of either kind with `list_id`), in
    /// phone order after the phone `after`: exports and campaign audiences walk a team's
    /// contacts with it in constant memory.
    async fn contacts_after(&self, team: TeamId, filter: &ContactFilter, after: Option<&str>, limit: i64) -> DomainResult<Vec<Contact>>;
}

/// A bulk change to contacts picked by id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BulkChange {
    AddTag(String),
    RemoveTag(String),
    AddToList(ListId),
    /// Soft delete.
    Delete,
}

/// Writes to a team's lists and bulk changes to its contacts (the lists service is their one
/// caller). Every method is one set-based statement; counts are of rows changed.
#[async_trait]
pub trait ListWrites: Send + Sync {
    /// A new list; Conflict when the team has one of that name (any case).
    async fn create_list(
        &self,
        team: TeamId,
        by: Option<UserId>,
        name: &str,
        kind: ListKind,
        filter: Option<&SegmentFilter>,
    ) -> DomainResult<ContactList>;
    /// Renames a list and/or replaces a segment's filter.
    async fn update_list(&self, team: TeamId, id: ListId, name: Option<&str>, filter: Option<&SegmentFilter>) -> DomainResult<ContactList>;
    async fn delete_list(&self, team: TeamId, id: ListId) -> DomainResult<()>;
    /// Adds the team's live contacts among `ids` to a static list (already members count not).
    async fn add_list_members(&self, team: TeamId, list: ListId, ids: &[ContactId]) -> DomainResult<u64>;
    /// Adds every live contact `filter` (search, tag) selects to a static list, in one statement.
    async fn add_list_members_matching(&self, team: TeamId, list: ListId, filter: &ContactFilter) -> DomainResult<u64>;
    async fn remove_list_members(&self, team: TeamId, list: ListId, ids: &[ContactId]) -> DomainResult<u64>;
    /// Applies a tag change or the soft delete to the team's live contacts among `ids`;
    /// answers the contacts it changed, as they are now (adding to a list is
    /// `add_list_members`).
    async fn bulk_change(&self, team: TeamId, ids: &[ContactId], change: &BulkChange) -> DomainResult<Vec<Contact>>;
}

/// What one batch of an import did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Upserted {
    pub created: u64,
    /// Existing contacts that changed (a restored or newly opted-out one too).
    pub updated: u64,
}

/// Reads of contact imports (any node answers an import's progress).
#[async_trait]
pub trait ImportReads: Send + Sync {
    async fn import_job(&self, team: TeamId, id: ImportId) -> DomainResult<ImportJob>;
    /// The stored error rows of an import, in row order.
    async fn import_errors(&self, team: TeamId, id: ImportId) -> DomainResult<Vec<ImportRowError>>;
}

/// Contact imports: the batches' upserts and the jobs' rows.
#[async_trait]
pub trait ImportStore: Send + Sync {
    /// Inserts or updates a batch by (team, phone) in one statement (phones unique within the
    /// batch). An existing opt-out is never cleared; a deleted contact is restored.
    async fn upsert_contacts(&self, team: TeamId, rows: &[NewContact], on_conflict: OnConflict) -> DomainResult<Upserted>;
    /// A new running import.
    async fn create_import(
        &self,
        team: TeamId,
        user: UserId,
        headers: &[String],
        total: i64,
        on_conflict: OnConflict,
    ) -> DomainResult<ImportJob>;
    /// Stores an import's counts (and new error rows, the first 10,000 kept) while it runs, or
    /// with `finish` its final state; answers the job as stored: `canceled` when someone
    /// canceled it meanwhile (on any node), and then nothing but the errors is changed.
    async fn save_import(&self, job: &ImportJob, errors: &[ImportRowError], finish: Option<ImportState>) -> DomainResult<ImportJob>;
    /// Cancels a running import (a finished one is left as it is); answers it.
    async fn cancel_import(&self, team: TeamId, id: ImportId) -> DomainResult<ImportJob>;
}

/// Inbox filters.
#[derive(Debug, Default, Clone)]
pub struct ThreadFilter {
    pub unread: bool,
    pub scheduled: bool,
    pub channel: Option<ChannelKind>,
    pub status: Option<ThreadStatus>,
    pub assignee: Option<UserId>,
    pub unassigned: bool,
    pub search: Option<String>,
    /// One contact's threads (its conversations across channels).
    pub contact: Option<ContactId>,
    pub cursor: Option<String>,
    pub limit: i64,
}

/// Reads of threads, messages, notes and the event log.
#[async_trait]
pub trait ThreadReads: Send + Sync {
    /// The inbox: newest activity first.
    async fn list_threads(&self, team: TeamId, filter: &ThreadFilter) -> DomainResult<Page<ThreadSummary>>;
    /// One thread of the team.
    async fn thread(&self, team: TeamId, id: ThreadId) -> DomainResult<ThreadSummary>;
    /// Messages of a thread, newest first, before an opaque cursor.
    async fn messages(&self, team: TeamId, thread: ThreadId, cursor: Option<&str>, limit: i64) -> DomainResult<Page<Message>>;
    /// Notes of a thread that `viewer` may see, oldest first.
    async fn notes(&self, team: TeamId, thread: ThreadId, viewer: UserId) -> DomainResult<Vec<Note>>;
    /// Events after `after` that `viewer` may see, at most `limit + 1` so the caller can tell
    /// when there were more.
    async fn events_after(&self, team: TeamId, thread: ThreadId, viewer: UserId, after: i64, limit: i64) -> DomainResult<Vec<ThreadEvent>>;
    /// The thread a message belongs to (within the team).
    async fn message_thread(&self, team: TeamId, message: MessageId) -> DomainResult<ThreadId>;
    /// A thread's inbox row (any team), if the thread exists: what a thread actor starts from.
    async fn load_thread(&self, thread: ThreadId) -> DomainResult<Option<ThreadSummary>>;
}

/// What a committed change to one thread produced.
#[derive(Clone, Debug)]
pub struct Committed<T> {
    pub value: T,
    pub events: Vec<ThreadEvent>,
    pub thread: ThreadSummary,
}

/// An outbound message to store.
#[derive(Clone, Debug)]
pub struct NewOutbound {
    pub team: TeamId,
    pub thread: ThreadId,
    pub author: Option<UserId>,
    pub body: String,
    pub media_urls: Vec<String>,
    pub send_at: Option<OffsetDateTime>,
    pub cancel_on_reply: bool,
}

/// An inbound message from a verified webhook.
#[derive(Clone, Debug)]
pub struct NewInbound {
    pub team: TeamId,
    pub thread: ThreadId,
    pub kind: ChannelKind,
    pub message_sid: String,
    pub body: String,
    pub media: Vec<Media>,
    pub raw: serde_json::Value,
    /// `Some(true)` opts the contact out, `Some(false)` back in.
    pub opt_out: Option<bool>,
}

/// What storing an inbound message did.
#[derive(Clone, Debug)]
pub enum InboundOutcome {
    /// The MessageSid was seen before: nothing was written.
    Duplicate,
    /// Stored; the events include any scheduled messages canceled because the contact replied.
    Stored(Box<Committed<Message>>),
}

/// A delivery outcome from the carrier.
#[derive(Clone, Debug)]
pub enum SendOutcome {
    /// Accepted by the carrier under this sid.
    Sent { sid: String },
    /// Refused, with the carrier's code when it has one.
    Failed { code: Option<i32>, reason: String },
}

/// A scheduled message claimed for dispatch.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub message: MessageId,
    pub thread: ThreadId,
    pub team: TeamId,
    pub scheduled_at: OffsetDateTime,
}

/// Everything needed to hand one message to the carrier.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub message: Message,
    pub channel: Channel,
    pub to: String,
    pub opted_out: bool,
}

/// Writes to a thread. Each appends the thread events it causes, with their seq, in the same
/// transaction.
#[async_trait]
pub trait ThreadWrites: Send + Sync {
    /// The thread that `contact` has on the team's `kind` channel, created if missing, and
    /// whether it was created (a get-or-create, correct under concurrency). The channel is
    /// `number` when given (it must be a live `kind` channel of the team: else invalid
    /// `channel_id`), else the team's first live channel of `kind`.
    async fn thread_for_contact(
        &self,
        team: TeamId,
        contact: ContactId,
        kind: ChannelKind,
        number: Option<ChannelId>,
    ) -> DomainResult<(ThreadId, bool)>;
    /// The thread an inbound message from `phone` on `channel` belongs to: upserts the contact
    /// (named from `profile_name` when it has no name) and the thread; says whether the thread
    /// was created.
    async fn thread_for_inbound(
        &self,
        team: TeamId,
        channel: ChannelId,
        phone: &str,
        profile_name: Option<&str>,
    ) -> DomainResult<(ThreadId, bool)>;
    /// Stores an outbound message as queued (or scheduled when `send_at` is set).
    async fn create_outbound(&self, msg: NewOutbound) -> DomainResult<Committed<Message>>;
    /// Takes a message for the carrier: refreshes its claim and loads what the carrier needs in
    /// one step; `None` when it no longer waits for the carrier (the stale sweep failed it, or
    /// it was answered), so it must not be sent.
    async fn begin_send(&self, message: MessageId) -> DomainResult<Option<Outgoing>>;
    /// Records the carrier's answer (queued/sending → sent or failed).
    async fn record_send(&self, message: MessageId, outcome: SendOutcome) -> DomainResult<Option<Committed<Message>>>;
    /// Applies a status callback by provider sid; `None` when it changes nothing (late, unknown).
    async fn apply_status(
        &self,
        sid: &str,
        status: MessageStatus,
        error_code: Option<i32>,
        reason: Option<String>,
        raw: serde_json::Value,
    ) -> DomainResult<Option<Committed<Message>>>;
    /// Stores an inbound message (idempotent by MessageSid), applies opt-out/opt-in, and cancels
    /// the thread's cancel-on-reply scheduled messages.
    async fn record_inbound(&self, msg: NewInbound) -> DomainResult<InboundOutcome>;
    /// Adds a note; private notes' events are for their author alone.
    async fn add_note(
        &self,
        team: TeamId,
        thread: ThreadId,
        author: UserId,
        body: &str,
        visibility: Visibility,
        mentions: &[UserId],
    ) -> DomainResult<Committed<Note>>;
    /// Resets the unread count.
    async fn mark_read(&self, team: TeamId, thread: ThreadId) -> DomainResult<ThreadSummary>;
    /// Changes status, snooze end and/or assignee (see [`ThreadChange`]); `actor` is `None`
    /// when the system does it (an inbound message reopening a resolved thread).
    async fn update_thread(
        &self,
        team: TeamId,
        thread: ThreadId,
        actor: Option<UserId>,
        change: ThreadChange,
    ) -> DomainResult<Committed<ThreadSummary>>;
    /// Opens a snoozed thread whose snooze has ended (`thread.updated`, no actor): `None` when
    /// it is no longer snoozed or not due (another node woke it, or someone changed it).
    async fn wake_thread(&self, thread: ThreadId) -> DomainResult<Option<Committed<ThreadSummary>>>;
    /// Edits a scheduled message; Conflict when it is no longer scheduled.
    async fn edit_scheduled(
        &self,
        team: TeamId,
        message: MessageId,
        actor: UserId,
        body: Option<String>,
        send_at: Option<OffsetDateTime>,
    ) -> DomainResult<Committed<Message>>;
    /// Cancels a scheduled message; Conflict when it is no longer scheduled.
    async fn cancel_scheduled(&self, team: TeamId, message: MessageId, actor: UserId) -> DomainResult<Committed<Message>>;
    /// Fails a send still waiting for the carrier since before `older_than` ("outcome unknown":
    /// never silently sent again); `None` when it has moved on meanwhile.
    async fn fail_unknown(&self, message: MessageId, older_than: OffsetDateTime) -> DomainResult<Option<Committed<Message>>>;
    /// Records a carrier sid learned from a status callback for a send whose answer was lost (its
    /// node died with the request out): the message, still waiting or failed as "outcome
    /// unknown", becomes `sent` with that sid. `None` when it has a sid already or moved on.
    async fn adopt_sid(&self, message: MessageId, sid: &str) -> DomainResult<Option<Committed<Message>>>;
    /// Appends a `contact.updated` event (the contact's new brief) to a thread of the contact.
    async fn record_contact_change(&self, team: TeamId, thread: ThreadId, contact: &Contact) -> DomainResult<Committed<()>>;
}

/// The scheduler's queries.
#[async_trait]
pub trait ScheduleStore: Send + Sync {
    /// Scheduled messages due before `until` (not claimed), soonest first.
    async fn due_before(&self, until: OffsetDateTime, limit: i64) -> DomainResult<Vec<(MessageId, OffsetDateTime)>>;
    /// Atomically moves due rows to `sending` and returns them; rows locked by another node are
    /// skipped, so each row is claimed once.
    async fn claim_due(&self, now: OffsetDateTime, limit: i64) -> DomainResult<Vec<Claimed>>;
    /// Sends left in `sending`/`queued` without a carrier answer since before `older_than`: their
    /// process died. Their threads fail them (`ThreadWrites::fail_unknown`).
    async fn stale_sends(&self, older_than: OffsetDateTime, limit: i64) -> DomainResult<Vec<(ThreadId, MessageId)>>;
    /// Refreshes a send's claim; false when the message is no longer waiting for the carrier
    /// (the stale sweep failed it), so it must not be sent.
    async fn touch_claim(&self, message: MessageId) -> DomainResult<bool>;
    /// Snoozed threads whose snooze has ended, oldest end first.
    async fn due_snoozes(&self, now: OffsetDateTime, limit: i64) -> DomainResult<Vec<ThreadId>>;
    /// Puts a message that never reached the carrier back to `scheduled`, due now at the latest,
    /// for any node to send: its hand-off failed, or its node stopped before sending it.
    async fn unclaim(&self, message: MessageId) -> DomainResult<()>;
}

/// Reads of a team's channels, and the lookups of the Twilio webhooks.
#[async_trait]
pub trait ChannelReads: Send + Sync {
    /// The team's live channels.
    async fn channels(&self, team: TeamId) -> DomainResult<Vec<Channel>>;
    /// Every live channel that may receive at `number` for `account_sid` (or through the
    /// messaging service), the number's own first. Several teams may have configured the same
    /// account and number: the webhook goes to the one whose auth token verifies its signature.
    async fn channels_for_webhook(
        &self,
        account_sid: &str,
        number: Option<&str>,
        kind: ChannelKind,
        service_sid: Option<&str>,
    ) -> DomainResult<Vec<Channel>>;
    /// callbacks).
    async fn message_for_sid(&self, sid: &str) -> DomainResult<Option<(Channel, ThreadId, MessageStatus)>>;
    /// The sending channel and thread of an outbound message, by our id (the id our status
    /// callback URL names): how a callback for a send whose answer was lost finds its message.
    async fn message_channel(&self, message: MessageId) -> DomainResult<Option<(Channel, ThreadId)>>;
}

/// Writes to channels, and the raw receipts of verified webhooks.
#[async_trait]
pub trait ChannelWrites: Send + Sync {
    /// Adds a channel (Conflict if that number is already configured).
    async fn create_channel(&self, team: TeamId, ch: NewChannel) -> DomainResult<Channel>;
    /// Removes a channel (soft delete: its threads stay readable).
    async fn delete_channel(&self, team: TeamId, id: ChannelId) -> DomainResult<()>;
    /// Stores a verified webhook exactly as received.
    async fn record_receipt(&self, team: TeamId, kind: &str, sid: Option<&str>, params: serde_json::Value) -> DomainResult<()>;
}

/// One row of the message export.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ExportRow {
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub thread_id: ThreadId,
    pub contact_name: String,
    pub contact_phone: String,
    pub channel: ChannelKind,
    pub direction: Direction,
    pub status: MessageStatus,
    pub body: String,
    pub error_code: Option<i32>,
    pub error_reason: Option<String>,
}

/// Dashboard numbers and exports.
#[async_trait]
pub trait AnalyticsStore: Send + Sync {
    /// The team's dashboard summary as JSON (counts, rates, response times).
    async fn summary(&self, team: TeamId) -> DomainResult<serde_json::Value>;
    /// The team's messages since `since`, oldest first.
    async fn export(&self, team: TeamId, since: OffsetDateTime, limit: i64) -> DomainResult<Vec<ExportRow>>;
}

/// What the thread actors and the threads service use of the store.
pub trait ThreadStore: ThreadReads + ThreadWrites + ScheduleStore + AccountReads + ChannelReads + ChannelWrites {}
impl<T: ThreadReads + ThreadWrites + ScheduleStore + AccountReads + ChannelReads + ChannelWrites> ThreadStore for T {}

/// Every read the edge may make: the web crate holds only this, so it cannot write.
pub trait Reads: ThreadReads + ContactReads + ListReads + ImportReads + AccountReads + ChannelReads + AnalyticsStore {}
impl<T: ThreadReads + ContactReads + ListReads + ImportReads + AccountReads + ChannelReads + AnalyticsStore> Reads for T {}

/// What the contacts service uses.
pub trait ContactStore: ContactReads + ContactWrites {}
impl<T: ContactReads + ContactWrites> ContactStore for T {}

/// What the lists service uses.
pub trait ListStore: ContactReads + ListReads + ListWrites {}
impl<T: ContactReads + ListReads + ListWrites> ListStore for T {}

/// What the imports service uses.
pub trait ImportsStore: ContactReads + ImportReads + ImportStore {}
impl<T: ContactReads + ImportReads + ImportStore> ImportsStore for T {}

/// What the accounts service uses.
pub trait AccountStore: AccountReads + AccountWrites + AuditWrites + TwoFactorStore + PasswordStore + IdentityStore {}
impl<T: AccountReads + AccountWrites + AuditWrites + TwoFactorStore + PasswordStore + IdentityStore> AccountStore for T {}

/// What the replies service uses: the replies, and the thread and contact a template is
/// rendered for.
pub trait ReplyStore: ReplyReads + ReplyWrites + ThreadReads + ContactReads {}
impl<T: ReplyReads + ReplyWrites + ThreadReads + ContactReads> ReplyStore for T {}

/// The whole store.
pub trait Store: ThreadStore + Reads + ContactStore + ListStore + ImportsStore + AccountStore + ReplyStore {}
impl<T: ThreadStore + Reads + ContactStore + ListStore + ImportsStore + AccountStore + ReplyStore> Store for T {}

/// What travels between nodes. Every message names the node that sent it (which ignores it).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum BusMessage {
    /// A ready Pusher frame for one channel; the origin already fanned it out locally.
    Frame { origin: String, channel: String, frame: String },
    /// A user's first connection to a presence channel on the origin node opened (`joined`),
    /// or their last one there closed.
    Presence { origin: String, channel: String, user_id: String, user_info: serde_json::Value, joined: bool },
    /// A node started: the others answer with a snapshot of their local members.
    Hello { origin: String },
    /// Every local presence member of the origin node: (channel, user id, user info).
    Snapshot { origin: String, members: Vec<(String, String, serde_json::Value)> },
    /// The origin is alive; a node silent for a while is taken for dead and its members leave.
    Heartbeat { origin: String },
    /// The origin is shutting down: its members leave now.
    Bye { origin: String },
    /// A socket's channels were authorized with this credential (a hash of a session or token):
    /// the node that holds the socket remembers it.
    Credential { origin: String, socket_id: String, credential: String, user: String },
    /// A credential was revoked (sign-out): every node closes the sockets it authorized.
    Revoked { origin: String, credential: String },
}

impl BusMessage {
    /// The node that sent it.
    pub fn origin(&self) -> &str {
        match self {
            BusMessage::Frame { origin, .. }
            | BusMessage::Presence { origin, .. }
            | BusMessage::Hello { origin }
            | BusMessage::Snapshot { origin, .. }
            | BusMessage::Heartbeat { origin }
            | BusMessage::Bye { origin }
            | BusMessage::Credential { origin, .. }
            | BusMessage::Revoked { origin, .. } => origin,
        }
    }
}

/// What the bus hands to this node.
#[derive(Clone, Debug)]
pub enum BusEvent {
    /// A message from another node.
    Message(BusMessage),
    /// The link to the other nodes was lost and is back: messages may have been missed meanwhile.
    Reconnected,
}

/// Carries committed events and presence changes between nodes: a publishing half that never
/// waits (an actor hands the message over and goes on) and a subscribing half the cluster reads.
pub trait Bus: Send + Sync {
    /// Publishes to every other node.
    fn publish(&self, message: BusMessage);

    /// The messages of the other nodes. Called once, by the cluster; the stream ends when the bus
    /// is closed (a single node's bus ends at once).
    fn subscribe(&self) -> tokio::sync::mpsc::Receiver<BusEvent>;

    /// Whether there are other nodes at all (a single node skips building bus messages).
    fn is_shared(&self) -> bool {
        true
    }
}

/// The bus of a single node: there is nobody else to tell.
pub struct LocalBus;

impl Bus for LocalBus {
    fn publish(&self, _message: BusMessage) {}

    fn subscribe(&self) -> tokio::sync::mpsc::Receiver<BusEvent> {
        tokio::sync::mpsc::channel(1).1
    }

    fn is_shared(&self) -> bool {
        false
    }
}

/// A message for the carrier.
#[derive(Clone, Debug)]
pub struct CarrierRequest {
    pub channel: Channel,
    pub to: String,
    pub body: String,
    pub media_urls: Vec<String>,
    pub status_callback: String,
}

/// A carrier refusal.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{reason}")]
pub struct CarrierError {
    pub code: Option<i32>,
    pub reason: String,
}

/// Sends messages: Twilio, or the simulator.
#[async_trait]
pub trait Carrier: Send + Sync {
    /// Sends one message and answers with the provider sid. Retries are the carrier's business.
    async fn send(&self, req: CarrierRequest) -> Result<String, CarrierError>;
}
