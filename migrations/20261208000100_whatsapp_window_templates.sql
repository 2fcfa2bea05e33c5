-- WhatsApp's rules (issue 14, parts 4 and 5).
--
-- The 24-hour window: a WhatsApp conversation may get free-form messages only within 24 hours of
-- the contact's last message. `threads.last_inbound_at` is that instant, written by the inbound
-- statement in the UPDATE of the thread it already makes (no extra statement on the webhook path);
-- the window's rule itself is `actors::rules::whatsapp`. Existing threads take it from their
-- newest inbound message.
ALTER TABLE threads ADD COLUMN last_inbound_at timestamptz;
UPDATE threads t SET last_inbound_at = m.at
FROM (SELECT thread_id, max(created_at) AS at FROM messages WHERE direction = 'inbound' GROUP BY thread_id) m
WHERE m.thread_id = t.id;

-- A message sent with an approved template: the Content API's sid and the variables, as Twilio
-- gets them (`ContentSid`, `ContentVariables`); `body` holds the text rendered for the thread.
-- A scheduled template message keeps them until it is sent.
ALTER TABLE messages
    ADD COLUMN content_sid text CHECK (content_sid ~ '^HX[0-9a-fA-F]{32}$'),
    ADD COLUMN content_variables jsonb,
    ADD CHECK (content_variables IS NULL OR content_sid IS NOT NULL);

-- A team's approved message templates (WhatsApp, and SMS): entered by hand or synced from
-- Twilio's Content API (`content_sid`, unique per team so a sync updates rather than doubles).
-- `body` is Twilio's text with its placeholders ({{1}}, {{name}}); `variables` is a JSON array
-- of {key, example?, default?} (`default` is a template of the one engine, such as
-- {{contact.first_name}}, rendered for the conversation when the sender gives no value).
-- Admins manage them; deletes are hard and audit-logged in the same transaction.
CREATE TABLE message_templates (
    id            uuid PRIMARY KEY,
    team_id       uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    channel_kind  text NOT NULL CHECK (channel_kind IN ('sms', 'whatsapp')),
    content_sid   text CHECK (content_sid ~ '^HX[0-9a-fA-F]{32}$'),
    body          text NOT NULL CHECK (length(body) BETWEEN 1 AND 1600),
    variables     jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(variables) = 'array'),
    created_by    uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- The listing (by name, keyset on (name, id)) and one template per Content sid in a team.
CREATE INDEX message_templates_team_name_idx ON message_templates (team_id, name, id);
CREATE UNIQUE INDEX message_templates_team_content_key ON message_templates (team_id, content_sid) WHERE content_sid IS NOT NULL;
