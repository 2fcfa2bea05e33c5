-- Contacts as a first-class part of the product: more fields, team-defined custom fields, a
-- default country for local numbers, soft delete, last activity, and lists (static lists and
-- saved segments: the audiences of campaigns).

ALTER TABLE contacts
    ADD COLUMN first_name       text CHECK (length(first_name) <= 100),
    ADD COLUMN last_name        text CHECK (length(last_name) <= 100),
    ADD COLUMN company          text CHECK (length(company) <= 200),
    ADD COLUMN notes            text CHECK (length(notes) <= 5000),
    ADD COLUMN source           text CHECK (length(source) <= 100),
    -- Values of the team's custom fields (`contact_fields`), by key; strings.
    ADD COLUMN custom_fields    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(custom_fields) = 'object'),
    ADD COLUMN opt_out_reason   text CHECK (length(opt_out_reason) <= 200),
    -- Hidden from lists and search; the contact's threads stay readable. A new inbound message
    -- from the number brings it back. Purging (admins) deletes the row and its history.
    ADD COLUMN deleted_at       timestamptz,
    -- The latest message of any of its threads (kept by the trigger below).
    ADD COLUMN last_activity_at timestamptz;

UPDATE contacts c SET last_activity_at = t.last
FROM (SELECT contact_id, max(last_message_at) AS last FROM threads GROUP BY contact_id) t
WHERE t.contact_id = c.id;

-- The contacts page's orders, live contacts only: by name and by last activity, keyset on id.
CREATE INDEX contacts_team_name_live_idx ON contacts (team_id, lower(name), id) WHERE deleted_at IS NULL;
-- (Never-messaged contacts sort as of the epoch: last.)
CREATE INDEX contacts_team_activity_live_idx ON contacts (team_id, (COALESCE(last_activity_at, 'epoch'::timestamptz)) DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX contacts_tags_idx ON contacts USING gin (tags);

-- A contact's last activity follows its threads' last message (one row write per message:
-- the contacts page sorts by it without scanning threads).
CREATE FUNCTION contacts_touch_activity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE contacts SET last_activity_at = NEW.last_message_at
    WHERE id = NEW.contact_id AND (last_activity_at IS NULL OR last_activity_at < NEW.last_message_at);
    RETURN NULL;
END $$;
CREATE TRIGGER threads_touch_contact AFTER INSERT OR UPDATE OF last_message_at ON threads
    FOR EACH ROW WHEN (NEW.last_message_at IS NOT NULL) EXECUTE FUNCTION contacts_touch_activity();

-- Local numbers ("(415) 555-0100") are read in this country (ISO 3166 alpha-2).
ALTER TABLE teams ADD COLUMN default_country text CHECK (default_country ~ '^[A-Z]{2}$');

-- The team's custom contact fields: a key (used in templates as {{contact.KEY}}) and a label.
CREATE TABLE contact_fields (
    team_id     uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    key         text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{0,39}$'),
    label       text NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
    -- Where the team put it (forms and the import's mapping list them in this order).
    position    integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, key)
);

-- Lists: `static` ones hold members added by hand (or by a filter, once); `segment` ones are
-- a saved filter, evaluated when read.
CREATE TABLE contact_lists (
    id          uuid PRIMARY KEY,
    team_id     uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind        text NOT NULL CHECK (kind IN ('static', 'segment')),
    filter      jsonb,
    created_by  uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'segment') = (filter IS NOT NULL))
);
CREATE UNIQUE INDEX contact_lists_team_name_key ON contact_lists (team_id, lower(name));

CREATE TABLE contact_list_members (
    list_id     uuid NOT NULL REFERENCES contact_lists(id) ON DELETE CASCADE,
    contact_id  uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (list_id, contact_id)
);
CREATE INDEX contact_list_members_contact_idx ON contact_list_members (contact_id);
