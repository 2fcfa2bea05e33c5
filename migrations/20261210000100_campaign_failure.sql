-- Campaigns (issue 15): why a campaign failed. A scheduled campaign whose start can never
-- succeed (its approved template changed so the campaign's values no longer fit, its number
-- was removed) or a running one that can no longer be prepared becomes `failed` with this
-- reason, shown on its page, instead of being tried again on every tick.
ALTER TABLE campaigns ADD COLUMN failure text;
