-- Passwords: reset links and sign-ups waiting for their e-mail to be confirmed.
-- Both are known only by the SHA-256 of their random token (a database leak does not leak
-- working links), expire, and are used once.

CREATE TABLE password_resets (
    token_hash  bytea PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- The admin who made the link to hand over; NULL when the user asked for it by e-mail.
    created_by  uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id, created_at);

-- With SMTP set up, a sign-up answers the same for every address and waits here until the
-- link mailed to the address is opened: nobody learns whether an address has an account.
CREATE TABLE pending_sign_ups (
    token_hash     bytea PRIMARY KEY,
    email          text NOT NULL CHECK (email = lower(email)),
    name           text NOT NULL,
    password_hash  text NOT NULL,
    team_name      text,
    invite_hash    bytea,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL
);
CREATE INDEX pending_sign_ups_expiry_idx ON pending_sign_ups (expires_at);

-- Purging what has expired walks these.
CREATE INDEX auth_sessions_expiry_idx ON auth_sessions (expires_at);
CREATE INDEX sign_in_failures_updated_idx ON sign_in_failures (updated_at);
