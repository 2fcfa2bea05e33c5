-- Automatic assignment's backlog (issue 13): a customer who wrote while nobody could take the
-- conversation (nobody online, everyone at the cap) gets an agent as soon as one can. Every
-- node looks now and then; `swept_at` lets one node per team look per period (the claim is a
-- conditional update of this row). The index finds a team's waiting conversations, oldest
-- first, without reading the assigned or closed ones.
ALTER TABLE team_auto_assignment ADD COLUMN swept_at timestamptz;
CREATE INDEX threads_waiting_unassigned_idx ON threads (team_id, last_inbound_at, id)
    WHERE assignee_id IS NULL AND status IN ('open', 'pending') AND listed;
