-- Voice on a team's numbers (issue 14): what a call to a channel does (forward, greet, take a
-- voicemail), the calls themselves (one row per CallSid: the outcome is recorded once, however
-- often Twilio calls back), and the once-per-period rule of automatic replies.

ALTER TABLE channels
    ADD COLUMN forward_to text CHECK (forward_to ~ '^\+[1-9][0-9]{6,14}$'),
    ADD COLUMN ring_seconds integer NOT NULL DEFAULT 20 CHECK (ring_seconds BETWEEN 5 AND 600),
    ADD COLUMN greeting text CHECK (length(greeting) <= 500),
    ADD COLUMN voicemail boolean NOT NULL DEFAULT false,
    ADD COLUMN missed_call_reply text CHECK (length(missed_call_reply) <= 1600),
    ADD COLUMN missed_call_reply_hours integer NOT NULL DEFAULT 12 CHECK (missed_call_reply_hours BETWEEN 1 AND 720);

-- A call's outcome, once: the primary key is Twilio's CallSid, so a retried or repeated callback
-- (on any node) finds the row and records nothing.
CREATE TABLE calls (
    call_sid       text PRIMARY KEY CHECK (call_sid ~ '^CA[0-9a-zA-Z]{32}$'),
    team_id        uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    thread_id      uuid NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    direction      text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    status         text NOT NULL CHECK (status IN ('answered', 'missed', 'voicemail')),
    duration       integer NOT NULL DEFAULT 0 CHECK (duration >= 0),
    recording_url  text CHECK (length(recording_url) <= 2000),
    raw            jsonb,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calls_thread_idx ON calls (thread_id, created_at);

-- When a channel last sent an automatic reply of a kind to a contact: the conditional upsert on
-- this row is how "at most one per period" holds across nodes.
CREATE TABLE auto_replies (
    channel_id    uuid NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    contact_id    uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('missed_call', 'out_of_hours', 'first_message')),
    last_sent_at  timestamptz NOT NULL,
    PRIMARY KEY (channel_id, contact_id, kind)
);
