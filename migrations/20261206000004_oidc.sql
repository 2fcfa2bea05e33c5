-- Sign-in with OIDC. An account may have no password (it joined through an invite by signing in
-- with the provider): password sign-in then fails for it like a wrong password.
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;

-- A provider identity linked to a user: (issuer, subject) is who the provider says signed in,
-- matched before any email. `email` is the provider's latest verified email, for display.
CREATE TABLE user_identities (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    issuer        text NOT NULL,
    subject       text NOT NULL,
    email         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    UNIQUE (issuer, subject)
);
CREATE INDEX user_identities_user_idx ON user_identities (user_id, created_at);

-- A sign-in started at the provider and not back yet: found by the hash of its `state`, bound to
-- the browser that started it (the hash of a cookie), single use, ten minutes. The PKCE verifier
-- and nonce are kept as they are (they must be sent and compared); rows die with their expiry.
CREATE TABLE oidc_logins (
    state_hash     bytea PRIMARY KEY,
    pkce_verifier  text NOT NULL,
    nonce          text NOT NULL,
    invite_hash    bytea,
    binding_hash   bytea NOT NULL,
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz
);
CREATE INDEX oidc_logins_expires_idx ON oidc_logins (expires_at);

-- What a two-factor challenge's first factor was (a password, or the provider), for the audit
-- entry of the sign-in it finishes.
ALTER TABLE two_factor_challenges ADD COLUMN first_factor jsonb NOT NULL DEFAULT '{"method": "password"}';
