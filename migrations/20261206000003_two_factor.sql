-- Optional TOTP two-factor sign-in (RFC 6238), enforceable per team.
-- A user's TOTP secret is sealed at rest (AES-256-GCM, as channels' Twilio tokens: `v1:` +
-- base64) and is pending until the user confirms a code (`enabled_at`). `last_step` is the
-- highest time step ever accepted: a code of that step or an earlier one is refused (replay).
CREATE TABLE two_factor (
    user_id        uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret_sealed  text NOT NULL CHECK (secret_sealed LIKE 'v1:%'),
    enabled_at     timestamptz,
    last_step      bigint,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Recovery codes: shown once, kept as SHA-256 hashes, each usable once.
CREATE TABLE two_factor_recovery_codes (
    user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- The second step of a sign-in: the password was right, a code is due. Known by the hash of
-- its random id; short-lived, a few tries, single use.
CREATE TABLE two_factor_challenges (
    id_hash     bytea PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    used_at     timestamptz
);
CREATE INDEX two_factor_challenges_user_idx ON two_factor_challenges (user_id);

ALTER TABLE teams ADD COLUMN two_factor_required boolean NOT NULL DEFAULT false;
