-- CSV imports of contacts: one row per import (small ones finish inside their request, big ones
-- run as a background job on one node), so any node can answer its progress and summary; and
-- the rows that could not be imported, with their cells, for the "download error rows" CSV.

CREATE TABLE contact_imports (
    id           uuid PRIMARY KEY,
    team_id      uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id      uuid REFERENCES users(id) ON DELETE SET NULL,
    state        text NOT NULL CHECK (state IN ('running', 'done', 'canceled', 'failed')),
    on_conflict  text NOT NULL CHECK (on_conflict IN ('skip', 'fill', 'overwrite')),
    -- The file's header row, so the error rows download with the same columns.
    headers      text[] NOT NULL,
    total        bigint,
    processed    bigint NOT NULL DEFAULT 0,
    created      bigint NOT NULL DEFAULT 0,
    updated      bigint NOT NULL DEFAULT 0,
    skipped      bigint NOT NULL DEFAULT 0,
    errors_count bigint NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
CREATE INDEX contact_imports_team_idx ON contact_imports (team_id, created_at DESC);

-- At most the first 10,000 error rows of an import are kept (errors_count counts them all).
CREATE TABLE contact_import_errors (
    import_id  uuid NOT NULL REFERENCES contact_imports(id) ON DELETE CASCADE,
    -- The data row, 1-based (the header is row 0).
    row_number bigint NOT NULL,
    field      text NOT NULL,
    message    text NOT NULL,
    cells      text[] NOT NULL,
    PRIMARY KEY (import_id, row_number)
);

-- Exports and campaign audiences page through a team's contacts by phone (unique per team,
-- `contacts_team_phone_key`); list membership by contact.
