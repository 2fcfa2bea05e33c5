-- Full-text search over what a team wrote and received: message bodies and notes get a stored
-- tsvector ('simple': no stemming or stop words, so SMS in any language and words like "no" are
-- found as typed) with a GIN index; contacts' name, phone and email get trigram indexes, so a
-- fragment of a number ("5550") or of a name is found without a sequential scan.
-- Results are ordered by recency (team_id, created_at), so a common word is answered by walking
-- the newest rows and a rare one through the GIN index.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE messages ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED;
CREATE INDEX messages_search_idx ON messages USING gin (search_tsv);
CREATE INDEX messages_team_recent_idx ON messages (team_id, created_at DESC, id DESC);

ALTER TABLE notes ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED;
CREATE INDEX notes_search_idx ON notes USING gin (search_tsv);

CREATE INDEX contacts_name_trgm_idx ON contacts USING gin (name gin_trgm_ops);
CREATE INDEX contacts_phone_trgm_idx ON contacts USING gin (phone gin_trgm_ops);
CREATE INDEX contacts_email_trgm_idx ON contacts USING gin (email gin_trgm_ops);
CREATE INDEX notes_team_recent_idx ON notes (team_id, created_at DESC, id DESC);
