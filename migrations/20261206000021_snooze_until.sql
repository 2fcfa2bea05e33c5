-- Snoozing takes an end time: the scheduler opens the conversation again then, once across
-- nodes (the waking UPDATE is conditional on the row still being snoozed and due).
ALTER TABLE threads ADD COLUMN snoozed_until timestamptz;
CREATE INDEX threads_snooze_due_idx ON threads (snoozed_until) WHERE status = 'snoozed' AND snoozed_until IS NOT NULL;
