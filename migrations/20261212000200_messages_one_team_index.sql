-- Every message written updates each of its table's indexes. `messages_team_idx (team_id,
-- created_at)` is a prefix of `messages_team_recent_idx (team_id, created_at DESC, id DESC)`, which
-- serves every query the first one did (a B-tree is read in either direction), so each inbound,
-- outbound and campaign message kept one index entry too many (issue 16).
DROP INDEX messages_team_idx;
