-- Per-account sign-in throttling, shared by every node: failed attempts per email (known or not,
-- so the answer never tells which emails have accounts), and the devices each user has signed in
-- from (a known device is never locked out by a stranger guessing the password).
CREATE TABLE sign_in_failures (
    email          text PRIMARY KEY CHECK (email = lower(email)),
    failures       integer NOT NULL CHECK (failures > 0),
    blocked_until  timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE known_devices (
    device_hash    bytea PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX known_devices_user_idx ON known_devices (user_id);
