-- Switchboard's whole domain in one first migration.
-- Every enum is a CHECK constraint (cheaper to evolve than a Postgres enum type), every phone is
-- E.164, and every index that serves a team-scoped query starts with team_id.

CREATE TABLE teams (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    team_id        uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    email          text NOT NULL CHECK (email = lower(email) AND email LIKE '%_@_%'),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role           text NOT NULL CHECK (role IN ('admin', 'agent')),
    password_hash  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_team_idx ON users (team_id, name);

-- Browser sessions. Only the SHA-256 of the cookie value is stored, so a database leak does not
-- hand out live sessions.
CREATE TABLE auth_sessions (
    id_hash      bytea PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id);

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    team_id      uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         text NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_team_idx ON api_tokens (team_id, user_id);

CREATE TABLE invites (
    id           uuid PRIMARY KEY,
    team_id      uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    email        text,
    role         text NOT NULL CHECK (role IN ('admin', 'agent')),
    token_hash   bytea NOT NULL UNIQUE,
    created_by   uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz,
    accepted_by  uuid REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX invites_team_idx ON invites (team_id, created_at DESC);

-- A team's Twilio numbers. `simulated` channels go to the built-in simulator carrier.
CREATE TABLE channels (
    id                     uuid PRIMARY KEY,
    team_id                uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    kind                   text NOT NULL CHECK (kind IN ('sms', 'whatsapp')),
    number                 text NOT NULL CHECK (number ~ '^\+[1-9][0-9]{6,14}$'),
    account_sid            text NOT NULL CHECK (account_sid ~ '^AC[0-9a-zA-Z]{32}$'),
    auth_token             text NOT NULL,
    messaging_service_sid  text CHECK (messaging_service_sid ~ '^MG[0-9a-zA-Z]{32}$'),
    simulated              boolean NOT NULL DEFAULT false,
    created_at             timestamptz NOT NULL DEFAULT now(),
    deleted_at             timestamptz
);
-- Inbound webhooks find their channel by (account, number, kind); only live channels count.
CREATE UNIQUE INDEX channels_account_number_key ON channels (account_sid, number, kind) WHERE deleted_at IS NULL;
CREATE INDEX channels_service_idx ON channels (messaging_service_sid) WHERE deleted_at IS NULL;
CREATE INDEX channels_team_idx ON channels (team_id, kind);

CREATE TABLE contacts (
    id            uuid PRIMARY KEY,
    team_id       uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    phone         text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    name          text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    email         text CHECK (email IS NULL OR email LIKE '%_@_%'),
    tags          text[] NOT NULL DEFAULT '{}',
    opted_out_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX contacts_team_phone_key ON contacts (team_id, phone);
CREATE INDEX contacts_team_name_idx ON contacts (team_id, lower(name));

CREATE TABLE threads (
    id               uuid PRIMARY KEY,
    team_id          uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    contact_id       uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    channel_id       uuid NOT NULL REFERENCES channels(id),
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'resolved', 'snoozed')),
    assignee_id      uuid REFERENCES users(id) ON DELETE SET NULL,
    last_message_at  timestamptz,
    last_preview     text NOT NULL DEFAULT '',
    unread_count     integer NOT NULL DEFAULT 0 CHECK (unread_count >= 0),
    -- The per-thread event sequence. Bumped with `UPDATE … RETURNING` inside the transaction that
    -- stores the event, so the row lock orders writers on every node.
    last_seq         bigint NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (team_id, contact_id, channel_id)
);
-- Inbox order: newest activity first, id as the tie breaker for cursor pagination.
CREATE INDEX threads_team_activity_idx ON threads (team_id, (COALESCE(last_message_at, created_at)) DESC, id DESC);
CREATE INDEX threads_team_assignee_idx ON threads (team_id, assignee_id);

CREATE TABLE messages (
    id                    uuid PRIMARY KEY,
    team_id               uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    thread_id             uuid NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    direction             text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    channel_kind          text NOT NULL CHECK (channel_kind IN ('sms', 'whatsapp')),
    body                  text NOT NULL DEFAULT '' CHECK (length(body) <= 1600),
    media                 jsonb NOT NULL DEFAULT '[]',
    status                text NOT NULL CHECK (status IN ('scheduled', 'queued', 'sending', 'sent', 'delivered', 'read',
                                                          'undelivered', 'failed', 'canceled', 'received')),
    provider_sid          text,
    error_code            integer,
    error_reason          text,
    author_id             uuid REFERENCES users(id) ON DELETE SET NULL,
    scheduled_at          timestamptz,
    cancel_on_reply       boolean NOT NULL DEFAULT false,
    claimed_at            timestamptz,
    sent_at               timestamptz,
    delivered_at          timestamptz,
    read_at               timestamptz,
    raw                   jsonb,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'scheduled' OR scheduled_at IS NOT NULL)
);
CREATE UNIQUE INDEX messages_provider_sid_key ON messages (provider_sid) WHERE provider_sid IS NOT NULL;
CREATE INDEX messages_thread_idx ON messages (thread_id, created_at DESC, id DESC);
CREATE INDEX messages_team_idx ON messages (team_id, created_at);
-- The scheduler's hot query: due rows, oldest first.
CREATE INDEX messages_due_idx ON messages (scheduled_at) WHERE status = 'scheduled';
CREATE INDEX messages_sending_idx ON messages (claimed_at) WHERE status = 'sending';

CREATE TABLE notes (
    id          uuid PRIMARY KEY,
    team_id     uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    thread_id   uuid NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    author_id   uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    visibility  text NOT NULL CHECK (visibility IN ('public', 'private')),
    mentions    uuid[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notes_thread_idx ON notes (thread_id, created_at);
CREATE INDEX notes_team_idx ON notes (team_id, created_at);

-- The durable per-thread log that clients catch up from. `audience` limits an event to one user
-- (private notes), so a thread's seq may skip numbers for some readers: clients track the
-- highest seq seen rather than expecting no gaps.
CREATE TABLE thread_events (
    thread_id   uuid NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    seq         bigint NOT NULL CHECK (seq > 0),
    team_id     uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    type        text NOT NULL,
    actor_id    uuid,
    audience    uuid,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (thread_id, seq)
);

-- Who did what, for admins and for debugging.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    team_id     uuid REFERENCES teams(id) ON DELETE CASCADE,
    actor_id    uuid,
    action      text NOT NULL,
    subject_id  uuid,
    detail      jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_team_idx ON audit_log (team_id, created_at DESC);

-- Every verified Twilio webhook exactly as received, kept for replay and for disputes.
CREATE TABLE webhook_receipts (
    id           bigserial PRIMARY KEY,
    team_id      uuid REFERENCES teams(id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('inbound', 'status')),
    message_sid  text,
    params       jsonb NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_receipts_team_idx ON webhook_receipts (team_id, received_at DESC);
CREATE INDEX webhook_receipts_sid_idx ON webhook_receipts (message_sid);
