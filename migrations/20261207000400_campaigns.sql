-- Campaigns: one message to an audience (a list, a segment, a tag or picked contacts), fixed
-- into `campaign_recipients` when it starts (one row per contact, with its outcome), sent by any
-- node's scheduler in claimed batches, each recipient at most one carrier request.
--
-- The recipients' outcomes follow their messages: the triggers below copy a campaign message's
-- status into its recipient row in the transaction that changes it (the send path, status
-- callbacks and the stale sweep stay as they are), and mark a recipient replied or opted out in
-- the transaction that stores the reply or the opt-out. So the counts are always the table's.

CREATE TABLE campaigns (
    id           uuid PRIMARY KEY,
    team_id      uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    channel_id   uuid NOT NULL REFERENCES channels(id),
    body         text CHECK (length(body) <= 1600),
    -- A canned reply's id (or a WhatsApp template's, when those exist); its body is copied into
    -- `body` when the campaign starts, so later edits of the reply do not change a running one.
    template_id  uuid,
    -- {list_id} | {segment_id} | {tag} | {contact_ids: [...]}
    audience     jsonb NOT NULL,
    send_at      timestamptz,
    status       text NOT NULL DEFAULT 'draft'
                 CHECK (status IN ('draft', 'scheduled', 'running', 'paused', 'done', 'canceled', 'failed')),
    created_by   uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    deleted_at   timestamptz,
    -- The last time a node published this campaign's metrics (one node per interval does).
    metrics_at   timestamptz NOT NULL DEFAULT 'epoch',
    CHECK (body IS NOT NULL OR template_id IS NOT NULL)
);
CREATE INDEX campaigns_team_idx ON campaigns (team_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX campaigns_active_idx ON campaigns (status) WHERE status IN ('scheduled', 'running', 'paused');

CREATE TABLE campaign_recipients (
    id           bigserial PRIMARY KEY,
    campaign_id  uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    contact_id   uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    phone        text NOT NULL,
    status       text NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'failed', 'skipped')),
    skip_reason  text CHECK ((status = 'skipped') = (skip_reason IS NOT NULL)),
    error_code   integer,
    error_reason text,
    -- Set by each claim; the message is created only under the claim that is current.
    claim_id     uuid,
    claimed_at   timestamptz,
    message_id   uuid REFERENCES messages(id) ON DELETE SET NULL,
    replied_at   timestamptz,
    opted_out_at timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
-- One row per contact (a repeated contact id is a `duplicate` row of its own).
CREATE UNIQUE INDEX campaign_recipients_contact_key ON campaign_recipients (campaign_id, contact_id)
    WHERE skip_reason IS DISTINCT FROM 'duplicate';
-- The claim: queued rows of a campaign in order.
CREATE INDEX campaign_recipients_queued_idx ON campaign_recipients (campaign_id, id) WHERE status = 'queued';
-- The sweep: claims whose node died before the message existed.
CREATE INDEX campaign_recipients_sending_idx ON campaign_recipients (claimed_at) WHERE status = 'sending';
CREATE INDEX campaign_recipients_counts_idx ON campaign_recipients (campaign_id, status);
CREATE INDEX campaign_recipients_message_idx ON campaign_recipients (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX campaign_recipients_contact_idx ON campaign_recipients (contact_id) WHERE message_id IS NOT NULL;

-- A campaign's message names its campaign: the triggers act on these rows only.
ALTER TABLE messages ADD COLUMN campaign_id uuid;

-- A campaign message's status, copied to its recipient row (sent counts everything handed to
-- the carrier; read is delivered; undelivered is failed).
CREATE FUNCTION campaign_recipient_follow_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE campaign_recipients SET
        status = CASE NEW.status
            WHEN 'sent' THEN 'sent'
            WHEN 'delivered' THEN 'delivered'
            WHEN 'read' THEN 'delivered'
            WHEN 'failed' THEN 'failed'
            WHEN 'undelivered' THEN 'failed'
            WHEN 'canceled' THEN 'failed'
            ELSE status END,
        error_code = NEW.error_code,
        error_reason = NEW.error_reason,
        updated_at = now()
    WHERE message_id = NEW.id AND status <> 'skipped';
    RETURN NULL;
END $$;
CREATE TRIGGER messages_campaign_status AFTER UPDATE OF status, error_code ON messages
    FOR EACH ROW WHEN (NEW.campaign_id IS NOT NULL AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.error_code IS DISTINCT FROM NEW.error_code))
    EXECUTE FUNCTION campaign_recipient_follow_message();

-- A reply in a thread whose recent campaign message (30 days) reached the contact counts for
-- that campaign, once.
CREATE FUNCTION campaign_recipient_replied() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE campaign_recipients SET replied_at = NEW.created_at, updated_at = now()
    WHERE message_id IN (SELECT id FROM messages
                         WHERE thread_id = NEW.thread_id AND campaign_id IS NOT NULL
                           AND created_at > NEW.created_at - interval '30 days')
      AND replied_at IS NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER messages_campaign_reply AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.direction = 'inbound') EXECUTE FUNCTION campaign_recipient_replied();

-- A contact who opts out within 30 days of a campaign message counts as opted out for it.
-- (Recipients still queued are skipped by the claim, which reads the contact's opt-out.)
CREATE FUNCTION campaign_recipient_opted_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE campaign_recipients r SET opted_out_at = NEW.opted_out_at, updated_at = now()
    FROM messages m
    WHERE r.contact_id = NEW.id AND r.message_id = m.id AND r.opted_out_at IS NULL
      AND m.created_at > NEW.opted_out_at - interval '30 days';
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_campaign_opt_out AFTER UPDATE OF opted_out_at ON contacts
    FOR EACH ROW WHEN (OLD.opted_out_at IS NULL AND NEW.opted_out_at IS NOT NULL)
    EXECUTE FUNCTION campaign_recipient_opted_out();

-- A thread a campaign created (its contact never wrote) is not listed in the inbox until it has
-- activity: `listed` turns true with the first `last_message_at` (a reply, an agent's message).
-- The inbox reads the partial index, so unlisted threads cost its query nothing.
ALTER TABLE threads ADD COLUMN listed boolean NOT NULL DEFAULT true;
CREATE INDEX threads_team_activity_listed_idx ON threads (team_id, (COALESCE(last_message_at, created_at)) DESC, id DESC) WHERE listed;
CREATE FUNCTION threads_list_on_activity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.listed := true;
    RETURN NEW;
END $$;
CREATE TRIGGER threads_listed_on_activity BEFORE UPDATE OF last_message_at ON threads
    FOR EACH ROW WHEN (NOT NEW.listed AND NEW.last_message_at IS NOT NULL) EXECUTE FUNCTION threads_list_on_activity();
