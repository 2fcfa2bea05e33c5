-- Work an inbound message no longer does (issue 16).
--
-- 1. A contact's last activity is kept to the minute. Every message used to rewrite its
--    contact's row, and since `last_activity_at` is indexed that was never a HOT update: a new
--    entry in each of the contact's nine indexes, four of them GIN (trigrams, tags), per message.
--    Now a conversation moves it at most once a minute; the contacts page still shows the exact
--    time live (it follows the threads' events), and sorts by the stored minute.
CREATE OR REPLACE FUNCTION contacts_touch_activity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE contacts SET last_activity_at = NEW.last_message_at
    WHERE id = NEW.contact_id
      AND (last_activity_at IS NULL OR last_activity_at < NEW.last_message_at - interval '1 minute');
    RETURN NULL;
END $$;

-- 2. A reply looks for the thread's recent campaign messages (to count as replied): through the
--    thread's campaign messages only, not every message of the thread in the last 30 days.
CREATE INDEX messages_thread_campaign_idx ON messages (thread_id, created_at) WHERE campaign_id IS NOT NULL;
