-- Automation (issue 14, parts 6 and 7): a team's business hours with its two automatic replies,
-- its ordered rules, and each rule's firings. See actors/src/automation.rs.

-- One row per team that set its hours (none: no hours, always open, no replies). The weekly
-- hours are `{"mon": [{"start": "09:00", "end": "17:00"}], …}` (checked by rules::hours).
CREATE TABLE team_business_hours (
    team_id                   uuid PRIMARY KEY REFERENCES teams(id) ON DELETE CASCADE,
    enabled                   boolean NOT NULL DEFAULT false,
    time_zone                 text NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64),
    weekly                    jsonb NOT NULL DEFAULT '{}',
    holidays                  jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_array_length(holidays) <= 200),
    out_of_hours_reply        text CHECK (length(out_of_hours_reply) <= 1600),
    out_of_hours_reply_hours  integer NOT NULL DEFAULT 12 CHECK (out_of_hours_reply_hours BETWEEN 1 AND 720),
    first_message_reply       text CHECK (length(first_message_reply) <= 1600),
    first_message_reply_hours integer NOT NULL DEFAULT 24 CHECK (first_message_reply_hours BETWEEN 1 AND 720),
    updated_at                timestamptz NOT NULL DEFAULT now()
);

-- A team's rules, in `position` order (conditions and actions as rules::automation has them).
CREATE TABLE automation_rules (
    id          uuid PRIMARY KEY,
    team_id     uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    position    integer NOT NULL,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    enabled     boolean NOT NULL DEFAULT true,
    conditions  jsonb NOT NULL,
    actions     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX automation_rules_team_idx ON automation_rules (team_id, position);

-- A rule fires at most once per message: the insert that finds the row (a retried webhook,
-- another node) claims nothing, and only the claimer acts.
CREATE TABLE automation_rule_firings (
    rule_id     uuid NOT NULL REFERENCES automation_rules(id) ON DELETE CASCADE,
    message_id  uuid NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    team_id     uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    thread_id   uuid NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    fired_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rule_id, message_id)
);
CREATE INDEX automation_rule_firings_message_idx ON automation_rule_firings (message_id);
