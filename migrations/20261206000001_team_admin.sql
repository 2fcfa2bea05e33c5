-- Team administration: members can be deactivated (they keep their history but can no longer sign
-- in, and their sessions and tokens are revoked) or removed (deactivated and gone from the team's
-- member list; the address is free to be invited again). Invites can be revoked. The audit log
-- records who did what from where: target, client IP and user agent.
ALTER TABLE users ADD COLUMN deactivated_at timestamptz, ADD COLUMN removed_at timestamptz;
DROP INDEX users_email_key;
CREATE UNIQUE INDEX users_email_key ON users (email) WHERE removed_at IS NULL;

ALTER TABLE invites ADD COLUMN revoked_at timestamptz;

ALTER TABLE audit_log
    ADD COLUMN target_type text,
    ADD COLUMN target_id text,
    ADD COLUMN ip text,
    ADD COLUMN user_agent text;
UPDATE audit_log SET target_id = subject_id::text, target_type = split_part(action, '.', 1);
ALTER TABLE audit_log DROP COLUMN subject_id;
ALTER TABLE audit_log RENAME COLUMN detail TO details;
-- Newest first, keyset on the id (a bigserial, so ids follow insertion order).
DROP INDEX audit_log_team_idx;
CREATE INDEX audit_log_team_idx ON audit_log (team_id, id DESC);
