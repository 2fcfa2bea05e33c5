-- Status receipts: one per (team, message sid, status). A replayed callback adds nothing, and a
-- receipt belongs to the team whose channel verified it (early callbacks are only ever applied
-- to that team's messages).
DELETE FROM webhook_receipts a
 USING webhook_receipts b
 WHERE a.kind = 'status' AND b.kind = 'status'
   AND a.team_id IS NOT DISTINCT FROM b.team_id
   AND a.message_sid IS NOT DISTINCT FROM b.message_sid
   AND (a.params->>'MessageStatus') IS NOT DISTINCT FROM (b.params->>'MessageStatus')
   AND a.id > b.id;

CREATE UNIQUE INDEX webhook_receipts_status_once
    ON webhook_receipts (team_id, message_sid, (params->>'MessageStatus'))
    WHERE kind = 'status';
