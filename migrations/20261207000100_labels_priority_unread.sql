-- Labels and priority on conversations, and each agent's own "mark unread".
--
-- A label is the team's (admins manage them): a name unique per team regardless of case, and a
-- colour as #rrggbb (rules::labels). A thread has any number of labels (thread_labels); deleting
-- a label takes it off every thread (ON DELETE CASCADE) in the statement that deletes it.
CREATE TABLE labels (
    id          uuid PRIMARY KEY,
    team_id     uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 40),
    color       text NOT NULL CHECK (color ~ '^#[0-9a-f]{6}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX labels_team_name_key ON labels (team_id, lower(name));

CREATE TABLE thread_labels (
    thread_id   uuid NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    label_id    uuid NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
    PRIMARY KEY (thread_id, label_id)
);
-- The inbox filter by label (?label=) walks a label's threads.
CREATE INDEX thread_labels_label_idx ON thread_labels (label_id, thread_id);

-- Priority as its rank (0 none, 1 low, 2 medium, 3 high, 4 urgent), so the inbox sorts by it.
ALTER TABLE threads ADD COLUMN priority smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 4);
CREATE INDEX threads_team_priority_idx ON threads (team_id, priority DESC, (COALESCE(last_message_at, created_at)) DESC, id DESC);

-- The tabs' counts (GET /api/threads/counts) read only these columns: an index-only scan.
CREATE INDEX threads_team_status_assignee_idx ON threads (team_id, status, assignee_id);

-- "Mark unread" is one agent's: a row per (user, thread) until that user reads the thread.
CREATE TABLE thread_unread_marks (
    user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    thread_id   uuid NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, thread_id)
);
CREATE INDEX thread_unread_marks_thread_idx ON thread_unread_marks (thread_id);
