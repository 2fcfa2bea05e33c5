-- API tokens may expire, and are listed per team and per user (issue 11). `last_used_at` and
-- `revoked_at` were in the first schema; `expires_at` is new (NULL: never expires).
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;

-- Listings page newest first by (created_at, id): an agent's own live tokens, or (admins) every
-- token of the team. The team index also serves the team's ON DELETE CASCADE, as the one it
-- replaces did; the per-user one only holds tokens not revoked, the only ones ever listed.
DROP INDEX IF EXISTS api_tokens_team_idx;
CREATE INDEX api_tokens_team_created_idx ON api_tokens (team_id, created_at DESC, id DESC);
CREATE INDEX api_tokens_team_user_idx ON api_tokens (team_id, user_id, created_at DESC, id DESC) WHERE revoked_at IS NULL;
