-- Follow-ups (issue 14): a task on a thread (call the customer back, an automatic SMS to check,
-- anything by hand) with a due time, an assignee and a status. A missed call creates one, once
-- per call (`call_sid` unique).

CREATE TABLE follow_ups (
    id            uuid PRIMARY KEY,
    team_id       uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    thread_id     uuid NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('callback', 'auto_sms', 'manual')),
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    due_at        timestamptz NOT NULL,
    assignee_id   uuid REFERENCES users(id) ON DELETE SET NULL,
    note          text NOT NULL DEFAULT '' CHECK (length(note) <= 1000),
    call_sid      text UNIQUE REFERENCES calls(call_sid) ON DELETE SET NULL,
    created_by    uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    completed_by  uuid REFERENCES users(id) ON DELETE SET NULL
);
-- "My follow-ups": an agent's pending ones by due time; a thread's own.
CREATE INDEX follow_ups_assignee_due_idx ON follow_ups (team_id, assignee_id, due_at, id) WHERE status = 'pending';
CREATE INDEX follow_ups_thread_idx ON follow_ups (thread_id, created_at);
