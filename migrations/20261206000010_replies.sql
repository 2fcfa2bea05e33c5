-- Canned replies: saved answers an agent inserts with /shortcut. A team reply (owner_id NULL) is
-- managed by admins and seen by everyone in the team; a personal one by its owner alone. The body
-- is a template (actors/src/templates.rs) checked by the service before it is stored. A shortcut
-- is unique among the team's replies, and among each owner's; a personal shortcut may repeat a
-- team one. Deleting is a hard delete, recorded in the audit log in the same transaction.
CREATE TABLE canned_replies (
    id          uuid PRIMARY KEY,
    team_id     uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    owner_id    uuid REFERENCES users(id) ON DELETE CASCADE,
    shortcut    text COLLATE "C" NOT NULL CHECK (shortcut ~ '^[a-z0-9_-]{1,32}$'),
    title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 1600),
    created_by  uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- The listing (team's and one owner's, by shortcut) and the uniqueness of shortcuts per scope.
CREATE UNIQUE INDEX canned_replies_team_shortcut_key ON canned_replies (team_id, shortcut) WHERE owner_id IS NULL;
CREATE UNIQUE INDEX canned_replies_owner_shortcut_key ON canned_replies (team_id, owner_id, shortcut) WHERE owner_id IS NOT NULL;
