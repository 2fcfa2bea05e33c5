-- Automatic assignment (actors/src/assignment.rs): a team may have new conversations assigned
-- round robin among its online agents, each under a cap of open conversations. The pick locks
-- the team's row here, so picks on every node take turns; each agent's last pick orders the
-- round.
CREATE TABLE team_auto_assignment (
    team_id            uuid PRIMARY KEY REFERENCES teams(id) ON DELETE CASCADE,
    enabled            boolean NOT NULL DEFAULT false,
    -- Open (or pending) conversations an agent may hold and still be picked; NULL: no cap.
    max_open_per_agent integer CHECK (max_open_per_agent BETWEEN 1 AND 1000),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE users ADD COLUMN last_auto_assigned_at timestamptz;
