-- Campaigns (issue 15, second part): an approved template (issue 14's `message_templates`, sent
-- with its ContentSid) as a campaign's content, the fixed values the marketer gives for its
-- variables, and optional quiet hours in each contact's time zone.
--
-- `content_template_id`: exactly one of body | template_id (a canned reply) | content_template_id.
-- `content_variables`: {key: value}, the same for every recipient (a variable's default, rendered
-- for each contact, fills the others). `quiet_hours`: {start: "HH:MM", end: "HH:MM"} or NULL.
ALTER TABLE campaigns
    ADD COLUMN content_template_id uuid,
    ADD COLUMN content_variables jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(content_variables) = 'object'),
    ADD COLUMN quiet_hours jsonb;
ALTER TABLE campaigns DROP CONSTRAINT campaigns_check;
-- Like `template_id`, not a foreign key: a deleted template leaves the campaign readable, and
-- its start (or a running campaign's next claim) refuses it (`template` not found).
ALTER TABLE campaigns ADD CONSTRAINT campaigns_content_check
    CHECK (body IS NOT NULL OR template_id IS NOT NULL OR content_template_id IS NOT NULL);

-- A recipient held by quiet hours stays `queued` with `not_before` at the end of its contact's
-- quiet hours; the claim takes only recipients whose `not_before` has passed, in
-- (not_before, id) order from this index, so held rows are never read again until morning.
ALTER TABLE campaign_recipients ADD COLUMN not_before timestamptz NOT NULL DEFAULT '-infinity';
DROP INDEX campaign_recipients_queued_idx;
CREATE INDEX campaign_recipients_queued_idx ON campaign_recipients (campaign_id, not_before, id) WHERE status = 'queued';
