-- The stale-send sweep runs every second on every node: give it an index it can use, and drop
-- the one no query used.
DROP INDEX IF EXISTS messages_sending_idx;
CREATE INDEX messages_unanswered_idx ON messages (claimed_at)
    WHERE status IN ('queued', 'sending') AND provider_sid IS NULL;
