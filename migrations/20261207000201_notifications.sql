-- Notifications, stored per user: a mention, a thread assigned to me, an inbound message on my
-- thread (or, by preference, on an unassigned one), a snoozed thread waking, a failed send of
-- mine. `fact` names what happened (the thread event's seq, or the failed message), and is
-- unique per user: the actor that committed the fact inserts with ON CONFLICT DO NOTHING, so a
-- retried webhook, a repeated wake or a second node never notifies twice.
CREATE TABLE notifications (
    id          uuid PRIMARY KEY,
    team_id     uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('mention', 'assigned', 'inbound', 'snooze_ended', 'send_failed')),
    thread_id   uuid REFERENCES threads(id) ON DELETE CASCADE,
    fact        text NOT NULL,
    actor_id    uuid REFERENCES users(id) ON DELETE SET NULL,
    data        jsonb NOT NULL DEFAULT '{}',
    read_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, fact)
);
-- The bell's list (newest first, keyset) and its unread count.
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at DESC, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (user_id) WHERE read_at IS NULL;

-- Per-user choices; a user without a row has the defaults (every kind, no inbound on unassigned
-- threads, no browser notifications).
CREATE TABLE notification_preferences (
    user_id             uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    team_id             uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    kinds               text[] NOT NULL DEFAULT '{mention,assigned,inbound,snooze_ended,send_failed}',
    inbound_unassigned  boolean NOT NULL DEFAULT false,
    browser             boolean NOT NULL DEFAULT false,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
-- Who wants to hear of inbound messages on a team's unassigned threads.
CREATE INDEX notification_preferences_unassigned_idx ON notification_preferences (team_id) WHERE inbound_unassigned;
