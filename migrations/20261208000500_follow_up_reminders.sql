-- Follow-up reminders (issue 14, part 3): when a pending follow-up comes due, its assignee (or the
-- thread's) is notified once. `reminded_at` is the scheduler's claim: set by the one node whose
-- UPDATE … FOR UPDATE SKIP LOCKED takes the row, and cleared when the due time changes, so a
-- follow-up moved later is reminded again at its new time.
ALTER TABLE follow_ups ADD COLUMN reminded_at timestamptz;
CREATE INDEX follow_ups_remind_idx ON follow_ups (due_at) WHERE status = 'pending' AND reminded_at IS NULL;
-- Follow-ups that are already overdue now were seen in "My follow-ups": no burst of reminders.
UPDATE follow_ups SET reminded_at = now() WHERE status = 'pending' AND due_at <= now();

ALTER TABLE notifications DROP CONSTRAINT IF EXISTS notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('mention', 'assigned', 'inbound', 'snooze_ended', 'send_failed', 'follow_up_due'));
ALTER TABLE notification_preferences ALTER COLUMN kinds SET DEFAULT '{mention,assigned,inbound,snooze_ended,send_failed,follow_up_due}';
-- A new kind is on for everyone who kept the old default (an explicit choice is left alone).
UPDATE notification_preferences SET kinds = array_append(kinds, 'follow_up_due')
 WHERE kinds @> '{mention,assigned,inbound,snooze_ended,send_failed}' AND NOT kinds @> '{follow_up_due}';
