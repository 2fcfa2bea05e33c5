-- Campaigns yield to agents across nodes (issue 15): the node whose agents' requests were slow
-- may not be the node sending. Each runner, once a tick, marks this row when its own agents were
-- slow (`slow_until` a tick ahead) and reads whether any node did: every runner then sends less.
-- One row for the whole deployment: the machines and the database are shared by every team.
CREATE TABLE campaign_yield (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    slow_until  timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO campaign_yield DEFAULT VALUES;
