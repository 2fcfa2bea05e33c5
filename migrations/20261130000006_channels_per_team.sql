-- Several teams may configure the same Twilio account and number (nobody proves an AccountSid
-- when adding a channel); webhooks go to the channel whose auth token verifies them. A number is
-- configured once per team, and a duplicate across teams is no longer an error that would tell
-- one tenant what another has configured.
DROP INDEX channels_account_number_key;
CREATE UNIQUE INDEX channels_account_number_key ON channels (team_id, account_sid, number, kind) WHERE deleted_at IS NULL;
CREATE INDEX channels_webhook_idx ON channels (account_sid, number, kind) WHERE deleted_at IS NULL;
