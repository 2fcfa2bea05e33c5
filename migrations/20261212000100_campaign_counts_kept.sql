-- Campaign counts kept as the recipients change (issue 15), instead of counted from every
-- recipient row each time they are read. That count ran every half second while a campaign ran
-- (8.4 ms at 20,000 recipients, growing with the audience and with the rows' dead versions) and
-- took a core from the inbox while it did.
--
-- A statement trigger on `campaign_recipients` adds each statement's change to the counts, in the
-- statement's own transaction, so the counts are still the table's whatever writes it (the claim,
-- a skip, the messages' status triggers, a reply, an opt-out, a deleted contact).
--
-- One row per (campaign, outcome key, database backend): a connection only ever adds to rows of
-- its own, so sends of one campaign on different connections never wait on one counter row (nor
-- deadlock over two), and an addition leaves the indexed columns alone (a HOT update). A read
-- sums a campaign's rows: a few dozen, whatever the audience.
CREATE TABLE campaign_counts (
    campaign_id uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    status      text NOT NULL,
    skip_reason text,
    error_code  integer,
    -- A failure's reason when it has no code (its first 80 characters), as the counts group it.
    reason      text,
    backend     integer NOT NULL,
    n           bigint NOT NULL,
    replied     bigint NOT NULL,
    opted_out   bigint NOT NULL
);
CREATE UNIQUE INDEX campaign_counts_key ON campaign_counts (campaign_id, status, skip_reason, error_code, reason, backend)
    NULLS NOT DISTINCT;

-- Recipient rows that left a key count -1 there, rows that came +1; a row whose key did not
-- change cancels out and writes nothing. One function for the three events: each trigger names
-- its transition tables, and a branch only reads the tables of its own event.
CREATE FUNCTION campaign_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO campaign_counts AS k (campaign_id, status, skip_reason, error_code, reason, backend, n, replied, opted_out)
        SELECT campaign_id, status, skip_reason, error_code, CASE WHEN error_code IS NULL THEN left(error_reason, 80) END,
               pg_backend_pid(), count(*), count(replied_at), count(opted_out_at)
        FROM came GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (campaign_id, status, skip_reason, error_code, reason, backend) DO UPDATE
        SET n = k.n + excluded.n, replied = k.replied + excluded.replied, opted_out = k.opted_out + excluded.opted_out;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO campaign_counts AS k (campaign_id, status, skip_reason, error_code, reason, backend, n, replied, opted_out)
        SELECT campaign_id, status, skip_reason, error_code, reason, pg_backend_pid(), sum(n), sum(replied), sum(opted_out)
        FROM (
            SELECT campaign_id, status, skip_reason, error_code, CASE WHEN error_code IS NULL THEN left(error_reason, 80) END AS reason,
                   -1 AS n, -(replied_at IS NOT NULL)::int AS replied, -(opted_out_at IS NOT NULL)::int AS opted_out
            FROM gone
            UNION ALL
            SELECT campaign_id, status, skip_reason, error_code, CASE WHEN error_code IS NULL THEN left(error_reason, 80) END,
                   1, (replied_at IS NOT NULL)::int, (opted_out_at IS NOT NULL)::int
            FROM came
        ) AS change
        GROUP BY 1, 2, 3, 4, 5
        HAVING sum(n) <> 0 OR sum(replied) <> 0 OR sum(opted_out) <> 0
        ON CONFLICT (campaign_id, status, skip_reason, error_code, reason, backend) DO UPDATE
        SET n = k.n + excluded.n, replied = k.replied + excluded.replied, opted_out = k.opted_out + excluded.opted_out;
    ELSE
        -- A deleted contact's recipient rows; not those of a campaign deleted with them (its
        -- counts go with it).
        INSERT INTO campaign_counts AS k (campaign_id, status, skip_reason, error_code, reason, backend, n, replied, opted_out)
        SELECT g.campaign_id, g.status, g.skip_reason, g.error_code, CASE WHEN g.error_code IS NULL THEN left(g.error_reason, 80) END,
               pg_backend_pid(), -count(*), -count(g.replied_at), -count(g.opted_out_at)
        FROM gone g JOIN campaigns c ON c.id = g.campaign_id
        GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (campaign_id, status, skip_reason, error_code, reason, backend) DO UPDATE
        SET n = k.n + excluded.n, replied = k.replied + excluded.replied, opted_out = k.opted_out + excluded.opted_out;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER campaign_recipients_counts_insert AFTER INSERT ON campaign_recipients
    REFERENCING NEW TABLE AS came FOR EACH STATEMENT EXECUTE FUNCTION campaign_counts_follow();
CREATE TRIGGER campaign_recipients_counts_update AFTER UPDATE ON campaign_recipients
    REFERENCING OLD TABLE AS gone NEW TABLE AS came FOR EACH STATEMENT EXECUTE FUNCTION campaign_counts_follow();
CREATE TRIGGER campaign_recipients_counts_delete AFTER DELETE ON campaign_recipients
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION campaign_counts_follow();

-- The campaigns that already have recipients.
INSERT INTO campaign_counts (campaign_id, status, skip_reason, error_code, reason, backend, n, replied, opted_out)
SELECT campaign_id, status, skip_reason, error_code, CASE WHEN error_code IS NULL THEN left(error_reason, 80) END,
       0, count(*), count(replied_at), count(opted_out_at)
FROM campaign_recipients GROUP BY 1, 2, 3, 4, 5;

-- A reply (every inbound message fires this) runs the recipients' UPDATE only when its thread has
-- a recent campaign message: an UPDATE statement now also fires the counts' statement trigger,
-- even when it changes no row, and most inbound messages are in threads no campaign wrote to.
CREATE OR REPLACE FUNCTION campaign_recipient_replied() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    recent uuid[];
BEGIN
    SELECT array_agg(id) INTO recent FROM messages
    WHERE thread_id = NEW.thread_id AND campaign_id IS NOT NULL AND created_at > NEW.created_at - interval '30 days';
    IF recent IS NOT NULL THEN
        UPDATE campaign_recipients SET replied_at = NEW.created_at, updated_at = now()
        WHERE message_id = ANY (recent) AND replied_at IS NULL;
    END IF;
    RETURN NULL;
END $$;
